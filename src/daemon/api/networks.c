/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NetworkList, NetworkInspect, NetworkCreate, NetworkDelete, NetworkConnect,
 * NetworkDisconnect and NetworkPrune over network.c. Networks are
 * bookkeeping until virtual networking lands: guests have loopback only.
 */
#include "api.h"

#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "container-network.h"
#include "daemon.h"
#include "hashmap.h"
#include "network.h"
#include "time-util.h"

static bool one_match(const void *item, const char *k, const char *s, void *ud)
{
	struct daemon *d = ud;
	const struct network *n = item;
	if (strcmp(k, "name") == 0)
		return strstr(n->name, s) != NULL;
	if (strcmp(k, "id") == 0)
		return strncmp(n->id, s, strlen(s)) == 0;
	if (strcmp(k, "driver") == 0)
		return strcmp(n->driver, s) == 0;
	if (strcmp(k, "type") == 0)
		return strcmp(s, n->builtin ? "builtin" : "custom") == 0;
	if (strcmp(k, "scope") == 0)
		return strcmp(s, "local") == 0;
	if (strcmp(k, "label") == 0)
		return api_label_match(n->labels, s);
	if (strcmp(k, "dangling") == 0) {
		bool dangling = !n->builtin && network_users(d, n, false) == 0;
		return (strcmp(s, "true") == 0 || strcmp(s, "1") == 0) == dangling;
	}
	return false;
}

static bool filters_match(struct daemon *d, json_t *filters, const struct network *x)
{
	return api_filters_match(filters, one_match, x, d);
}

static int by_name(const void *a, const void *b)
{
	const struct network *x = *(struct network *const *)a;
	const struct network *y = *(struct network *const *)b;
	return strcmp(x->name, y->name);
}

/* The networks in name order, as dockerd lists them. Caller frees the array. */
static struct network **sorted(struct daemon *d, size_t *ret_n)
{
	return (struct network **)hashmap_values_sorted(d->networks, by_name, ret_n);
}

void api_network_list(struct api_ctx *ctx)
{
	static const char *const known[] = { "name",  "id",    "driver",   "type",
					     "scope", "label", "dangling", NULL };
	json_t *filters = api_filters(ctx, known);
	if (!filters)
		return;
	size_t n;
	struct network **list = sorted(ctx->d, &n);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		if (filters_match(ctx->d, filters, list[i]))
			json_array_append_new(out, network_json(ctx->d, list[i], false));
	free(list);
	json_decref(filters);
	http_reply_json(ctx->conn, 200, out);
}

static struct network *find_or_reply(struct api_ctx *ctx)
{
	struct network *n = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	if (network_find(ctx->d, ctx->param, &n, &err) < 0)
		api_reply_error(ctx, err);
	return n;
}

void api_network_inspect(struct api_ctx *ctx)
{
	struct network *n = find_or_reply(ctx);
	if (n)
		http_reply_json(ctx->conn, 200, network_json(ctx->d, n, true));
}

void api_network_create(struct api_ctx *ctx)
{
	json_t *body = api_body_json(ctx, true);
	if (!body)
		return;
	struct network *n = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	_cleanup_free_ char *warning = NULL;
	if (network_create(ctx->d, body, &n, &warning, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply_json(
		    ctx->conn, 201,
		    json_pack("{s:s, s:s}", "Id", n->id, "Warning", warning ? warning : ""));
	json_decref(body);
}

void api_network_delete(struct api_ctx *ctx)
{
	struct network *n = find_or_reply(ctx);
	_cleanup_error_ struct arca_error *err = NULL;
	if (!n)
		return;
	if (network_remove(ctx->d, n, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply_empty(ctx->conn, 204);
}

/* Connect and disconnect: the body names the container. */
static struct container *body_container(struct api_ctx *ctx, json_t *body)
{
	const char *ref = json_string_value(json_object_get(body, "Container"));
	if (!ref || !ref[0]) {
		http_reply_errorf(ctx->conn, 400, "Container is required");
		return NULL;
	}
	_cleanup_error_ struct arca_error *err = NULL;
	struct container *c = daemon_find_container(ctx->d, ref, &err);
	if (!c)
		api_reply_error(ctx, err);
	return c;
}

static void on_connected(struct container *c, const struct arca_error *err, void *userdata)
{
	struct http_conn *conn = userdata;
	(void)c;
	if (err)
		http_reply_error(conn, err);
	else
		http_reply(conn, 200, "text/plain", NULL, 0);
	http_conn_unref(conn);
}

static void connect_or_disconnect(struct api_ctx *ctx, bool connect)
{
	struct network *n = find_or_reply(ctx);
	if (!n)
		return;
	json_t *body = api_body_json(ctx, true);
	if (!body)
		return;
	struct container *c = body_container(ctx, body);
	if (c) {
		http_conn_ref(ctx->conn);
		if (connect)
			container_network_connect(c, n, json_object_get(body, "EndpointConfig"),
						  ctx->api_minor, on_connected, ctx->conn);
		else
			container_network_disconnect(c, n, on_connected, ctx->conn);
	}
	json_decref(body);
}

void api_network_connect(struct api_ctx *ctx)
{
	connect_or_disconnect(ctx, true);
}

void api_network_disconnect(struct api_ctx *ctx)
{
	connect_or_disconnect(ctx, false);
}

void api_network_prune(struct api_ctx *ctx)
{
	int64_t until;
	json_t *filters = api_prune_filters(ctx, &until);
	if (!filters)
		return;
	size_t n;
	struct network **list = sorted(ctx->d, &n);
	json_t *deleted = json_array();
	_cleanup_error_ struct arca_error *err = NULL;
	for (size_t i = 0; i < n && !err; i++) {
		struct network *net = list[i];
		if (net->builtin || network_users(ctx->d, net, false))
			continue;
		if (until && time_parse_rfc3339(net->created) >= until)
			continue;
		size_t k;
		json_t *v;
		bool keep = false;
		json_array_foreach(json_object_get(filters, "label"), k, v) keep |=
		    !api_label_match(net->labels, json_string_value(v) ?: "");
		json_array_foreach(json_object_get(filters, "label!"), k, v) keep |=
		    api_label_match(net->labels, json_string_value(v) ?: "");
		if (keep)
			continue;
		json_t *name = json_string(net->name);
		if (network_remove(ctx->d, net, &err) == 0)
			json_array_append(deleted, name);
		json_decref(name);
	}
	free(list);
	json_decref(filters);
	if (err) {
		json_decref(deleted);
		api_reply_error(ctx, err);
		return;
	}
	http_reply_json(ctx->conn, 200, json_pack("{s:o}", "NetworksDeleted", deleted));
}
