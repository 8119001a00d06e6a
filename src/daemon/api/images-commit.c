/* SPDX-License-Identifier: Apache-2.0 */
/* ImageCommit (docker commit): the query and body to container_commit, its image ID to 201. */
#include "api.h"

#include <stdlib.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-commit.h"
#include "container.h"
#include "daemon.h"
#include "strv.h"

static void on_committed(const struct arca_error *err, const char *image_id, void *ud)
{
	struct http_conn *conn = ud;
	if (err)
		http_reply_error(conn, err);
	else
		http_reply_json(conn, 201, json_pack("{s:s}", "Id", image_id));
	http_conn_unref(conn);
}

void api_image_commit(struct api_ctx *ctx)
{
	_cleanup_free_ char *cref = http_query_get(ctx->req, "container");
	if (!cref || !cref[0]) {
		http_reply_errorf(ctx->conn, 400, "container is required");
		return;
	}
	_cleanup_error_ struct arca_error *err = NULL;
	struct container *c = daemon_find_container(ctx->d, cref, &err);
	if (!c) {
		api_reply_error(ctx, err);
		return;
	}
	json_t *body = NULL;
	if (ctx->req->body_len) {
		body = json_loadb(ctx->req->body, ctx->req->body_len, 0, NULL);
		if (!body || (!json_is_object(body) && !json_is_null(body))) {
			json_decref(body);
			http_reply_errorf(ctx->conn, 400, "invalid JSON in the body");
			return;
		}
	}
	_cleanup_free_ char *repo = http_query_get(ctx->req, "repo");
	_cleanup_free_ char *tag = http_query_get(ctx->req, "tag");
	_cleanup_free_ char *comment = http_query_get(ctx->req, "comment");
	_cleanup_free_ char *author = http_query_get(ctx->req, "author");
	_cleanup_strv_free_ char **changes = http_query_get_all(ctx->req, "changes");
	struct container_commit_req req = {
		.repo = repo,
		.tag = tag,
		.comment = comment,
		.author = author,
		.config = json_is_object(body) ? body : NULL,
		.changes = changes,
	};
	struct http_conn *conn = http_conn_ref(ctx->conn);
	int r = container_commit(c, &req, on_committed, conn, &err);
	json_decref(body);
	if (r < 0) {
		http_reply_errorf(ctx->conn, 400, "%s", err->msg);
		http_conn_unref(conn);
	}
}
