/* SPDX-License-Identifier: Apache-2.0 */
/* ContainerExec, ExecStart, ExecResize, ExecInspect. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "exec-session.h"
#include "http-stream.h"
#include "parse-util.h"

void api_container_exec(struct api_ctx *ctx)
{
	_cleanup_error_ struct arca_error *err = NULL;
	struct container *c = daemon_find_container(ctx->d, ctx->param, &err);
	if (!c) {
		api_reply_error(ctx, err);
		return;
	}
	json_t *body = api_body_json(ctx, true);
	if (!body)
		return;
	struct exec_session *e = NULL;
	if (exec_create(ctx->d, c, body, &e, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply_json(ctx->conn, 201, json_pack("{s:s}", "Id", e->id));
	json_decref(body);
}

void api_exec_start(struct api_ctx *ctx)
{
	_cleanup_error_ struct arca_error *err = NULL;
	struct exec_session *e = exec_find(ctx->d, ctx->param, &err);
	if (!e) {
		api_reply_error(ctx, err);
		return;
	}
	json_t *body = api_body_json(ctx, false);
	if (!body)
		return;
	bool detach = json_is_true(json_object_get(body, "Detach"));
	/* As dockerd: the start's Tty picks the stream framing; the terminal itself
	 * comes from the exec's create. */
	json_t *tty = json_object_get(body, "Tty");
	e->raw_stream = json_is_boolean(tty) ? json_is_true(tty) : e->tty;
	json_t *size = json_object_get(body, "ConsoleSize");
	unsigned rows = (unsigned)json_integer_value(json_array_get(size, 0));
	unsigned cols = (unsigned)json_integer_value(json_array_get(size, 1));
	json_decref(body);
	if (exec_can_start(e, &err) < 0) {
		api_reply_error(ctx, err);
		return;
	}
	struct stream *s =
	    detach ? NULL : api_stream_hijack(ctx->conn, api_stream_media_type(e->raw_stream));
	int r = exec_start(e, s, rows, cols, &err);
	stream_unref(s);
	if (!detach)
		return; /* the answer went on the stream */
	if (r < 0)
		api_reply_error(ctx, err);
	else
		http_reply(ctx->conn, 200, "application/json", NULL, 0);
}

void api_exec_resize(struct api_ctx *ctx)
{
	_cleanup_error_ struct arca_error *err = NULL;
	struct exec_session *e = exec_find(ctx->d, ctx->param, &err);
	if (!e) {
		api_reply_error(ctx, err);
		return;
	}
	unsigned rows, cols;
	if (!api_resize_params(ctx, &rows, &cols))
		return;
	if (exec_resize(e, rows, cols, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply(ctx->conn, 200, "text/plain", NULL, 0);
}

void api_exec_inspect(struct api_ctx *ctx)
{
	_cleanup_error_ struct arca_error *err = NULL;
	struct exec_session *e = exec_find(ctx->d, ctx->param, &err);
	if (!e) {
		api_reply_error(ctx, err);
		return;
	}
	http_reply_json(ctx->conn, 200, exec_inspect(e));
}
