/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ImageList, ImageInspect, ImageHistory, ImageTag, ImageDelete, ImagePrune:
 * quick store operations, run on the loop's store handle.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "events.h"
#include "hashmap.h"
#include "image.h"

int api_images_counted(struct api_ctx *ctx, const struct image_list_opts *o, json_t **ret,
		       struct arca_error **err)
{
	json_t *list = NULL;
	int r = image_list(ctx->d->images, o, &list, err);
	if (r < 0)
		return r;
	/* Containers per image, as Docker counts them when asked (-1 otherwise). */
	size_t i;
	json_t *img;
	json_array_foreach(list, i, img)
	{
		const char *id = json_string_value(json_object_get(img, "Id"));
		int n = 0;
		size_t it = 0;
		void *v;
		while (hashmap_iter(ctx->d->containers, &it, NULL, &v))
			n += strcmp(((struct container *)v)->image_id, id) == 0;
		json_object_set_new(img, "Containers", json_integer(n));
	}
	*ret = list;
	return 0;
}

void api_image_list(struct api_ctx *ctx)
{
	json_t *filters = api_filters(ctx, NULL); /* image_list checks the keys */
	if (!filters)
		return;
	struct image_list_opts o = {
		.all = http_query_bool(ctx->req, "all", false),
		.digests = http_query_bool(ctx->req, "digests", false),
		.filters = filters,
	};
	json_t *list = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	if (api_images_counted(ctx, &o, &list, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply_json(ctx->conn, 200, list);
	json_decref(filters);
}

void api_image_inspect(struct api_ctx *ctx)
{
	json_t *j = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	if (image_inspect(ctx->d->images, ctx->param, &j, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply_json(ctx->conn, 200, j);
}

void api_image_history(struct api_ctx *ctx)
{
	json_t *j = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	if (image_history(ctx->d->images, ctx->param, &j, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply_json(ctx->conn, 200, j);
}

void api_image_tag(struct api_ctx *ctx)
{
	_cleanup_free_ char *repo = http_query_get(ctx->req, "repo");
	_cleanup_free_ char *tag = http_query_get(ctx->req, "tag");
	if (!repo || !repo[0]) {
		http_reply_errorf(ctx->conn, 400,
				  "repository name must have at least one component");
		return;
	}
	_cleanup_free_ char *target = tag && tag[0] ? xasprintf("%s:%s", repo, tag) : xstrdup(repo);
	_cleanup_error_ struct arca_error *err = NULL;
	_cleanup_free_ char *id = NULL;
	if (image_tag(ctx->d->images, ctx->param, target, &err) < 0 ||
	    image_resolve(ctx->d->images, target, &id, &err) < 0) {
		api_reply_error(ctx, err);
		return;
	}
	_cleanup_free_ char *name = events_familiar(target, true);
	events_emit(ctx->d->events, "image", "tag", id, json_pack("{s:s}", "name", name));
	http_reply_empty(ctx->conn, 201);
}

/* Which container uses an image (for rmi and prune conflicts). */
char *api_image_user(const char *id, bool *running, void *userdata)
{
	struct daemon *d = userdata;
	size_t it = 0;
	void *v;
	char *found = NULL;
	*running = false;
	while (hashmap_iter(d->containers, &it, NULL, &v)) {
		struct container *c = v;
		if (strcmp(c->image_id, id) != 0)
			continue;
		if (container_is_running(c) || c->starting) {
			free(found);
			*running = true;
			return xstrdup(c->id);
		}
		if (!found)
			found = xstrdup(c->id);
	}
	return found;
}

/* dockerd's untag and delete events, from a removal's report. */
static void emit_removed(struct daemon *d, const char *id, json_t *out)
{
	size_t i;
	json_t *e;
	json_array_foreach(out, i, e)
	{
		const char *deleted = json_string_value(json_object_get(e, "Deleted"));
		if (json_object_get(e, "Untagged") && id)
			events_emit(d->events, "image", "untag", id,
				    json_pack("{s:s}", "name", id));
		else if (deleted && strncmp(deleted, "sha256:", 7) == 0)
			events_emit(d->events, "image", "delete", deleted,
				    json_pack("{s:s}", "name", deleted));
	}
}

void api_image_delete(struct api_ctx *ctx)
{
	struct image_users users = { .find = api_image_user, .userdata = ctx->d };
	json_t *out = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	_cleanup_free_ char *id = NULL;
	(void)image_resolve(ctx->d->images, ctx->param, &id, NULL);
	if (image_remove(ctx->d->images, ctx->param, http_query_bool(ctx->req, "force", false),
			 http_query_bool(ctx->req, "noprune", false), &users, &out, &err) < 0)
		api_reply_error(ctx, err);
	else {
		emit_removed(ctx->d, id, out);
		http_reply_json(ctx->conn, 200, out);
	}
}

void api_image_prune(struct api_ctx *ctx)
{
	json_t *filters = api_filters(ctx, NULL); /* image_prune checks the keys */
	if (!filters)
		return;
	struct image_users users = { .find = api_image_user, .userdata = ctx->d };
	json_t *out = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	if (image_prune(ctx->d->images, false, filters, &users, &out, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply_json(ctx->conn, 200, out);
	json_decref(filters);
}
