/* SPDX-License-Identifier: Apache-2.0 */
/* ContainerTop and ContainerStats: the query to container/container-observe.c, results to HTTP. */
#include "api.h"

#include <stdlib.h>

#include "cleanup.h"
#include "container-observe.h"
#include "container.h"
#include "daemon.h"
#include "http-stream.h"

static void reply_json(const struct arca_error *err, json_t *result, void *ud)
{
	struct http_conn *conn = ud;
	if (err)
		http_reply_error(conn, err);
	else
		http_reply_json(conn, 200, json_incref(result));
	http_conn_unref(conn);
}

void api_container_top(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	_cleanup_free_ char *ps_args = http_query_get(ctx->req, "ps_args");
	_cleanup_error_ struct arca_error *err = NULL;
	struct http_conn *conn = http_conn_ref(ctx->conn);
	if (container_top(c, ps_args, reply_json, conn, &err) < 0) {
		http_conn_unref(conn);
		api_reply_error(ctx, err);
	}
}

void api_container_stats(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	bool stream = http_query_bool(ctx->req, "stream", true);
	bool one_shot = http_query_bool(ctx->req, "one-shot", false);
	if (one_shot && stream) {
		http_reply_errorf(ctx->conn, 400, "cannot have stream=true and one-shot=true");
		return;
	}
	_cleanup_error_ struct arca_error *err = NULL;
	if (!stream) {
		struct http_conn *conn = http_conn_ref(ctx->conn);
		if (container_stats(c, NULL, one_shot, reply_json, conn, &err) < 0) {
			http_conn_unref(conn);
			api_reply_error(ctx, err);
		}
		return;
	}
	struct stream *s = api_stream_response(ctx->conn, 200, "application/json");
	int r = container_stats(c, s, false, NULL, NULL, &err);
	if (r < 0) {
		stream_unref(s);
		api_reply_error(ctx, err);
		return;
	}
	stream_unref(s);
}
