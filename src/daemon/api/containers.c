/* SPDX-License-Identifier: Apache-2.0 */
/* ContainerList, ContainerCreate, ContainerInspect, ContainerDelete, ContainerRename,
 * ContainerPrune. */
#include "api.h"

#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-health.h"
#include "container.h"
#include "sandbox.h"
#include "lifecycle.h"
#include "daemon.h"
#include "hashmap.h"
#include "image.h"
#include "parse-util.h"
#include "strv.h"
#include "names.h"

static bool label_match(struct container *c, const char *want)
{
	json_t *labels = json_object_get(c->config, "Labels");
	_cleanup_free_ char *k = xstrndup(want, strcspn(want, "="));
	const char *eq = strchr(want, '=');
	const char *v = json_string_value(json_object_get(labels, k));
	return v && (!eq || strcmp(v, eq + 1) == 0);
}

static bool ancestor_match(struct api_ctx *ctx, struct container *c, const char *want)
{
	_cleanup_free_ char *id = NULL;
	if (strcmp(c->image, want) == 0)
		return true;
	if (image_resolve(ctx->d->images, want, &id, NULL) < 0)
		return false;
	return strcmp(id, c->image_id) == 0;
}

/* On a network given by name, full ID or ID prefix. */
static bool network_match(struct container *c, const char *s)
{
	const char *name;
	json_t *ep;
	json_object_foreach(c->networks, name, ep)
	{
		const char *id = json_string_value(json_object_get(ep, "NetworkID"));
		if (strcmp(name, s) == 0 || (id && s[0] && strncmp(id, s, strlen(s)) == 0))
			return true;
	}
	return false;
}

/* "80" means 80/tcp, as in Docker. */
/* volume=NAME or volume=/destination, as dockerd's ps filter takes either. */
static bool volume_match(struct container *c, const char *s)
{
	size_t i;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		const char *name = json_string_value(json_object_get(m, "Name"));
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		if ((name && strcmp(name, s) == 0) || (dst && strcmp(dst, s) == 0))
			return true;
	}
	return false;
}

/*
 * dockerd's publish and expose filters: "<port>[/<proto>]" or
 * "<from>-<to>[/<proto>]" (tcp when not given), against the running
 * container's ports: the host side for publish, the container side for expose.
 */
static bool port_filter_match(struct container *c, const char *value, bool publish)
{
	char proto[8] = "tcp";
	unsigned lo = 0, hi = 0;
	const char *slash = strchr(value, '/');
	if (slash && snprintf(proto, sizeof(proto), "%s", slash + 1) >= (int)sizeof(proto))
		return false;
	int n = sscanf(value, "%u-%u", &lo, &hi);
	if (n < 1 || lo > 65535)
		return false;
	if (n == 1)
		hi = lo;
	if (!c->sandbox)
		return false;
	json_t *ports = sandbox_ports_json(c);
	bool match = false;
	const char *key;
	json_t *list;
	json_object_foreach(ports, key, list)
	{
		const char *p = strchr(key, '/');
		if (!p || strcmp(p + 1, proto) != 0)
			continue;
		if (!publish) {
			unsigned port = (unsigned)atoi(key);
			match |= port >= lo && port <= hi;
			continue;
		}
		size_t i;
		json_t *b;
		json_array_foreach(list, i, b)
		{
			unsigned hp = (unsigned)atoi(
			    json_string_value(json_object_get(b, "HostPort")) ?: "0");
			match |= hp >= lo && hp <= hi;
		}
	}
	json_decref(ports);
	return match;
}

/* dockerd's health filter values: starting, healthy, unhealthy, none. */
static bool health_match(struct container *c, const char *want)
{
	const char *h = container_health_status(c);
	return strcmp(want, h ? h : "none") == 0;
}

static bool filters_match(struct api_ctx *ctx, struct container *c, json_t *filters)
{
	const char *k;
	json_t *vals;
	json_object_foreach(filters, k, vals)
	{
		bool any = false;
		size_t i;
		json_t *v;
		json_array_foreach(vals, i, v)
		{
			const char *s = json_string_value(v);
			if (!s)
				continue;
			if (strcmp(k, "id") == 0)
				any |= strncmp(c->id, s, strlen(s)) == 0;
			else if (strcmp(k, "name") == 0) {
				/* Docker matches names as regular expressions. */
				regex_t re;
				if (regcomp(&re, s[0] == '/' ? s + 1 : s,
					    REG_EXTENDED | REG_NOSUB) == 0) {
					any |= regexec(&re, c->name, 0, NULL, 0) == 0;
					regfree(&re);
				}
			} else if (strcmp(k, "label") == 0)
				any |= label_match(c, s);
			else if (strcmp(k, "status") == 0)
				any |= strcmp(container_state_name(c->state), s) == 0;
			else if (strcmp(k, "ancestor") == 0)
				any |= ancestor_match(ctx, c, s);
			else if (strcmp(k, "network") == 0)
				any |= network_match(c, s);
			else if (strcmp(k, "health") == 0)
				any |= health_match(c, s);
			else if (strcmp(k, "is-task") == 0)
				any |= strcmp(s, "false") == 0; /* no swarm tasks here */
			else if (strcmp(k, "expose") == 0 || strcmp(k, "publish") == 0)
				any |= port_filter_match(c, s, strcmp(k, "publish") == 0);
			else if (strcmp(k, "volume") == 0)
				any |= volume_match(c, s);
			else if (strcmp(k, "exited") == 0) {
				int code;
				any |= c->state == CONTAINER_EXITED && safe_atoi(s, &code) == 0 &&
				       code == c->exit_code;
			}
		}
		/* label filters are ANDed, others ORed within their key. */
		if (strcmp(k, "label") == 0) {
			json_array_foreach(vals, i, v) if (!label_match(c, json_string_value(v)
									       ?: "")) return false;
			continue;
		}
		if (!any)
			return false;
	}
	return true;
}

static int by_created_desc(const void *a, const void *b)
{
	const struct container *x = *(struct container *const *)a;
	const struct container *y = *(struct container *const *)b;
	return strcmp(y->created, x->created);
}

void api_container_list(struct api_ctx *ctx)
{
	static const char *const known[] = { "id",     "name",	  "label",  "status",  "ancestor",
					     "exited", "network", "health", "before",  "since",
					     "volume", "is-task", "expose", "publish", NULL };
	json_t *filters = api_filters(ctx, known);
	if (!filters)
		return;
	static const char *const port_keys[] = { "publish", "expose" };
	for (size_t k = 0; k < ELEMENTSOF(port_keys); k++) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(filters, port_keys[k]), i, v)
		{
			const char *s = json_string_value(v);
			if (s && strchr(s, ':')) {
				http_reply_errorf(ctx->conn, 400,
						  "filter for '%s' should not contain "
						  "':': %s",
						  port_keys[k], s);
				json_decref(filters);
				return;
			}
		}
	}
	const char *k;
	json_t *v;
	json_object_foreach(filters, k, v)
	{
		if (strcmp(k, "status") == 0) {
			size_t i;
			json_t *s;
			json_array_foreach(v, i, s)
			{
				const char *st = json_string_value(s);
				bool valid = false;
				for (int j = 0; j < _CONTAINER_STATE_MAX; j++)
					valid |= st && strcmp(st, container_state_name(j)) == 0;
				if (!valid) {
					json_decref(filters);
					http_reply_errorf(ctx->conn, 400,
							  "invalid filter 'status=%s'",
							  st ? st : "");
					return;
				}
			}
		}
	}
	/* before and since name a container: only those created before (after) it. */
	const char *before = NULL, *since = NULL;
	const char *keys[] = { "before", "since" };
	const char **bounds[] = { &before, &since };
	for (size_t b = 0; b < 2; b++) {
		const char *ref =
		    json_string_value(json_array_get(json_object_get(filters, keys[b]), 0));
		if (!ref)
			continue;
		_cleanup_error_ struct arca_error *err = NULL;
		struct container *rc = daemon_find_container(ctx->d, ref, &err);
		if (!rc) {
			json_decref(filters);
			api_reply_error(ctx, err);
			return;
		}
		*bounds[b] = rc->created;
	}
	json_object_del(filters, "before");
	json_object_del(filters, "since");
	bool all = http_query_bool(ctx->req, "all", false);
	bool size = http_query_bool(ctx->req, "size", false);
	_cleanup_free_ char *limit_s = http_query_get(ctx->req, "limit");
	int limit = -1;
	if (limit_s && limit_s[0] && safe_atoi(limit_s, &limit) < 0) {
		json_decref(filters);
		http_reply_errorf(ctx->conn, 400, "invalid limit `%s`", limit_s);
		return;
	}
	size_t n = hashmap_size(ctx->d->containers), k2 = 0;
	struct container **list = xnew0(struct container *, n ? n : 1);
	size_t it = 0;
	void *cv;
	while (hashmap_iter(ctx->d->containers, &it, NULL, &cv))
		list[k2++] = cv;
	qsort(list, k2, sizeof(*list), by_created_desc);
	json_t *out = json_array();
	/* A limit shows the latest containers, stopped ones included. */
	bool show_all = all || limit > 0;
	for (size_t i = 0; i < k2; i++) {
		struct container *c = list[i];
		bool has_status = json_object_get(filters, "status") != NULL;
		if (!show_all && !has_status && !container_is_running(c))
			continue;
		if ((before && strcmp(c->created, before) >= 0) ||
		    (since && strcmp(c->created, since) <= 0))
			continue;
		if (!filters_match(ctx, c, filters))
			continue;
		if (limit > 0 && json_array_size(out) >= (size_t)limit)
			break;
		json_array_append_new(out, container_summary(c, size));
	}
	free(list);
	json_decref(filters);
	http_reply_json(ctx->conn, 200, out);
}

void api_container_create(struct api_ctx *ctx)
{
	_cleanup_free_ char *name = http_query_get(ctx->req, "name");
	json_t *body = api_body_json(ctx, true);
	if (!body)
		return;
	json_t *config = json_deep_copy(body);
	json_object_del(config, "HostConfig");
	json_object_del(config, "NetworkingConfig");
	struct container_create_req req = {
		.name = name,
		.config = config,
		.host_config = json_object_get(body, "HostConfig"),
		.networking = json_object_get(body, "NetworkingConfig"),
		.api_minor = ctx->api_minor,
	};
	struct container *c = NULL;
	json_t *warnings = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	if (container_create(ctx->d, &req, &c, &warnings, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply_json(ctx->conn, 201,
				json_pack("{s:s, s:o}", "Id", c->id, "Warnings", warnings));
	json_decref(config);
	json_decref(body);
}

void api_container_inspect(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	json_t *j = container_inspect(c);
	if (http_query_bool(ctx->req, "size", false)) {
		json_t *s = container_summary(c, true);
		json_object_set(j, "SizeRw", json_object_get(s, "SizeRw"));
		json_object_set(j, "SizeRootFs", json_object_get(s, "SizeRootFs"));
		json_decref(s);
	}
	http_reply_json(ctx->conn, 200, j);
}

static void on_removed(struct container *c, const struct arca_error *err, void *userdata)
{
	struct http_conn *conn = userdata;
	(void)c;
	if (err)
		http_reply_error(conn, err);
	else
		http_reply_empty(conn, 204);
	http_conn_unref(conn);
}

void api_container_delete(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	bool force = http_query_bool(ctx->req, "force", false);
	if (http_query_bool(ctx->req, "link", false)) {
		http_reply_errorf(ctx->conn, 400, "legacy links are not supported");
		return;
	}
	bool volumes = http_query_bool(ctx->req, "v", false);
	container_remove(c, force, volumes, on_removed, http_conn_ref(ctx->conn));
}

void api_container_rename(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	_cleanup_free_ char *name = http_query_get(ctx->req, "name");
	_cleanup_error_ struct arca_error *err = NULL;
	if (!name || !name[0])
		http_reply_errorf(ctx->conn, 400, "Neither old nor new names may be empty");
	else if (container_rename(c, name, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply_empty(ctx->conn, 204);
}

static void on_updated(struct container *c, const struct arca_error *err, json_t *warnings,
		       void *userdata)
{
	struct http_conn *conn = userdata;
	(void)c;
	if (err)
		http_reply_error(conn, err);
	else
		http_reply_json(conn, 200, json_pack("{s:O}", "Warnings", warnings));
	http_conn_unref(conn);
}

void api_container_update(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	json_t *body = api_body_json(ctx, true);
	if (!body)
		return;
	container_update(c, body, on_updated, http_conn_ref(ctx->conn));
	json_decref(body);
}

void api_container_prune(struct api_ctx *ctx)
{
	int64_t until;
	json_t *filters = api_prune_filters(ctx, &until);
	if (!filters)
		return;
	json_t *deleted = json_array();
	size_t n = hashmap_size(ctx->d->containers), m = 0;
	int64_t reclaimed = 0;
	struct container **list = xnew0(struct container *, n ? n : 1);
	size_t it = 0;
	void *cv;
	while (hashmap_iter(ctx->d->containers, &it, NULL, &cv))
		list[m++] = cv;
	for (size_t i = 0; i < m; i++) {
		struct container *c = list[i];
		if (container_is_running(c) || c->starting || c->vm)
			continue;
		if (until && time_parse_rfc3339(c->created) >= until)
			continue;
		bool ok = true;
		size_t j;
		json_t *l;
		json_array_foreach(json_object_get(filters, "label"), j, l) ok &=
		    label_match(c, json_string_value(l) ?: "");
		json_array_foreach(json_object_get(filters, "label!"), j, l) ok &=
		    !label_match(c, json_string_value(l) ?: "");
		if (!ok)
			continue;
		char id[ID_HEX_LEN + 1];
		memcpy(id, c->id, sizeof(id));
		int64_t size = container_disk_usage(c);
		container_remove(c, false, false, NULL, NULL); /* stopped: completes at once */
		if (!hashmap_contains(ctx->d->containers, id)) {
			json_array_append_new(deleted, json_string(id));
			reclaimed += size;
		}
	}
	free(list);
	json_decref(filters);
	http_reply_json(ctx->conn, 200,
			json_pack("{s:o, s:I}", "ContainersDeleted", deleted, "SpaceReclaimed",
				  (json_int_t)reclaimed));
}
