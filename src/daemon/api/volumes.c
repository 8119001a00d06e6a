/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VolumeList, VolumeCreate, VolumeInspect, VolumeDelete, VolumePrune over
 * volume/volume.c, with dockerd's filters (dangling, name, label, driver;
 * prune: label, label!, all) and its events (create, destroy).
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "daemon.h"
#include "hashmap.h"
#include "strv.h"
#include "volume.h"

static char *join(char **l, const char *sep)
{
	char *out = xstrdup("");
	for (char **p = l; *p; p++) {
		char *n = xasprintf("%s%s%s", out, p == l ? "" : sep, *p);
		free(out);
		out = n;
	}
	return out;
}

static bool truthy(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "1") == 0;
}

static bool one_match(const void *item, const char *k, const char *s, void *ud)
{
	struct daemon *d = ud;
	const struct volume *v = item;
	if (strcmp(k, "name") == 0)
		return strstr(v->name, s) != NULL;
	if (strcmp(k, "driver") == 0)
		return strcmp(v->driver, s) == 0;
	if (strcmp(k, "label") == 0)
		return api_label_match(v->labels, s);
	if (strcmp(k, "dangling") == 0) {
		_cleanup_strv_free_ char **users = volume_users(d, v);
		return truthy(s) == !users[0];
	}
	return false;
}

static bool filters_match(struct daemon *d, json_t *filters, const struct volume *x)
{
	return api_filters_match(filters, one_match, x, d);
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct volume *const *)a)->name, (*(struct volume *const *)b)->name);
}

/* The volumes in name order. Caller frees the array. */
static struct volume **sorted(struct daemon *d, size_t *ret_n)
{
	return (struct volume **)hashmap_values_sorted(d->volumes, by_name, ret_n);
}

void api_volume_list(struct api_ctx *ctx)
{
	static const char *const known[] = { "dangling", "name", "label", "driver", NULL };
	json_t *filters = api_filters(ctx, known);
	if (!filters)
		return;
	json_t *dangling = json_object_get(filters, "dangling");
	for (size_t i = 0; i < json_array_size(dangling); i++) {
		const char *s = json_string_value(json_array_get(dangling, i));
		if (!truthy(s) && strcmp(s, "false") != 0 && strcmp(s, "0") != 0) {
			http_reply_errorf(ctx->conn, 400,
					  "invalid filter 'dangling=%s': a boolean is expected", s);
			json_decref(filters);
			return;
		}
	}
	size_t n;
	struct volume **list = sorted(ctx->d, &n);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		if (filters_match(ctx->d, filters, list[i]))
			json_array_append_new(out, volume_json(ctx->d, list[i], false));
	free(list);
	json_decref(filters);
	http_reply_json(ctx->conn, 200, json_pack("{s:o, s:[]}", "Volumes", out, "Warnings"));
}

void api_volume_create(struct api_ctx *ctx)
{
	json_t *body = api_body_json(ctx, false);
	if (!body)
		return;
	_cleanup_error_ struct arca_error *err = NULL;
	struct volume *v = NULL;
	bool created;
	int r = volume_create(ctx->d, body, &v, &created, &err);
	json_decref(body);
	if (r < 0) {
		api_reply_error(ctx, err);
		return;
	}
	http_reply_json(ctx->conn, 201, volume_json(ctx->d, v, false));
}

void api_volume_inspect(struct api_ctx *ctx)
{
	_cleanup_error_ struct arca_error *err = NULL;
	struct volume *v;
	if (volume_find(ctx->d, ctx->param, &v, &err) < 0) {
		api_reply_error(ctx, err);
		return;
	}
	http_reply_json(ctx->conn, 200, volume_json(ctx->d, v, false));
}

/* 409 while a container references it. */
static int remove_one(struct daemon *d, struct volume *v, struct arca_error **err)
{
	_cleanup_strv_free_ char **users = volume_users(d, v);
	if (users[0]) {
		_cleanup_free_ char *list = join(users, ", ");
		return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT,
				      "remove %s: volume is in use - [%s]", v->name, list);
	}
	return volume_remove(d, v, err);
}

void api_volume_delete(struct api_ctx *ctx)
{
	_cleanup_error_ struct arca_error *err = NULL;
	struct volume *v;
	bool force = http_query_bool(ctx->req, "force", false);
	if (volume_find(ctx->d, ctx->param, &v, &err) < 0) {
		if (force)
			http_reply_empty(ctx->conn, 204); /* as dockerd: nothing to force */
		else
			api_reply_error(ctx, err);
		return;
	}
	if (remove_one(ctx->d, v, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply_empty(ctx->conn, 204);
}

void api_volume_prune(struct api_ctx *ctx)
{
	static const char *const known[] = { "label", "label!", "all", NULL };
	json_t *filters = api_filters(ctx, known);
	if (!filters)
		return;
	/* API 1.42 on: only anonymous volumes, unless all=true. */
	const char *all_s = json_string_value(json_array_get(json_object_get(filters, "all"), 0));
	bool all = ctx->api_minor < 42 || (all_s && truthy(all_s));
	size_t n;
	struct volume **list = sorted(ctx->d, &n);
	json_t *deleted = json_array();
	int64_t reclaimed = 0;
	_cleanup_error_ struct arca_error *err = NULL;
	for (size_t i = 0; i < n && !err; i++) {
		struct volume *v = list[i];
		if (!all && !json_object_get(v->labels, VOLUME_LABEL_ANONYMOUS))
			continue;
		_cleanup_strv_free_ char **users = volume_users(ctx->d, v);
		if (users[0])
			continue;
		size_t k;
		json_t *f;
		bool keep = false;
		json_array_foreach(json_object_get(filters, "label"), k, f) keep |=
		    !api_label_match(v->labels, json_string_value(f) ?: "");
		json_array_foreach(json_object_get(filters, "label!"), k, f) keep |=
		    api_label_match(v->labels, json_string_value(f) ?: "");
		if (keep)
			continue;
		int64_t size = volume_size(v);
		json_t *name = json_string(v->name);
		if (remove_one(ctx->d, v, &err) == 0) {
			json_array_append(deleted, name);
			reclaimed += size;
		}
		json_decref(name);
	}
	free(list);
	json_decref(filters);
	if (err) {
		json_decref(deleted);
		api_reply_error(ctx, err);
		return;
	}
	http_reply_json(ctx->conn, 200,
			json_pack("{s:o, s:I}", "VolumesDeleted", deleted, "SpaceReclaimed",
				  (json_int_t)reclaimed));
}
