/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ContainerStart, ContainerStop, ContainerRestart, ContainerKill,
 * ContainerPause, ContainerUnpause, ContainerWait. The slow ones answer from
 * a callback; the connection is held by a reference until then.
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "lifecycle.h"
#include "daemon.h"
#include "parse-util.h"

/* 204 on success; an error in Docker's shape (304 for "already"). */
static void on_done(struct container *c, const struct arca_error *err, void *userdata)
{
	struct http_conn *conn = userdata;
	(void)c;
	if (err && err->kind == ARCA_ERR_NOT_MODIFIED)
		http_reply_empty(conn, 304);
	else if (err)
		http_reply_error(conn, err);
	else
		http_reply_empty(conn, 204);
	http_conn_unref(conn);
}

static bool timeout_param(struct api_ctx *ctx, int *ret)
{
	_cleanup_free_ char *t = http_query_get(ctx->req, "t");
	*ret = -1;
	if (!t || !t[0])
		return true;
	if (safe_atoi(t, ret) < 0) {
		http_reply_errorf(ctx->conn, 400, "invalid timeout `%s`", t);
		return false;
	}
	return true;
}

void api_container_start(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	if (ctx->req->body_len > 0) {
		/* API < 1.24 passed a HostConfig here; Docker now refuses it. */
		json_error_t jerr;
		json_t *b = json_loadb(ctx->req->body, ctx->req->body_len, 0, &jerr);
		bool empty = json_is_null(b) || (json_is_object(b) && json_object_size(b) == 0);
		json_decref(b);
		if (!empty) {
			http_reply_errorf(ctx->conn, 400,
					  "starting container with non-empty request body was "
					  "deprecated since API v1.22 and removed in v1.24");
			return;
		}
	}
	container_start(c, on_done, http_conn_ref(ctx->conn));
}

void api_container_stop(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	int timeout;
	if (!c || !timeout_param(ctx, &timeout))
		return;
	_cleanup_free_ char *sig = http_query_get(ctx->req, "signal");
	container_stop(c, timeout, sig, on_done, http_conn_ref(ctx->conn));
}

void api_container_restart(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	int timeout;
	if (!c || !timeout_param(ctx, &timeout))
		return;
	container_restart(c, timeout, on_done, http_conn_ref(ctx->conn));
}

void api_container_kill(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	_cleanup_free_ char *sig = http_query_get(ctx->req, "signal");
	container_kill(c, sig, on_done, http_conn_ref(ctx->conn));
}

void api_container_pause(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (c)
		container_pause(c, true, on_done, http_conn_ref(ctx->conn));
}

void api_container_unpause(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (c)
		container_pause(c, false, on_done, http_conn_ref(ctx->conn));
}

struct waiting {
	struct container *c;
	struct http_conn *conn;
};

static void on_wait_done(int status, const char *error, void *userdata)
{
	struct waiting *w = userdata;
	json_t *j = json_pack("{s:i}", "StatusCode", status);
	if (error && error[0])
		json_object_set_new(j, "Error", json_pack("{s:s}", "Message", error));
	http_conn_on_close(w->conn, NULL, NULL);
	http_stream_json(w->conn, j);
	http_stream_end(w->conn);
	http_conn_unref(w->conn);
	free(w);
}

static void on_wait_gone(struct http_conn *conn, void *userdata)
{
	struct waiting *w = userdata;
	(void)conn;
	/*
	 * The client left: forget the waiter. The container still exists: its
	 * removal answers (and unregisters) every waiter before it is freed.
	 */
	container_cancel_wait(w->c, w);
	http_conn_unref(w->conn);
	free(w);
}

void api_container_wait(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	_cleanup_free_ char *cond = http_query_get(ctx->req, "condition");
	enum wait_condition wc = WAIT_NOT_RUNNING;
	if (!cond || !cond[0] || strcmp(cond, "not-running") == 0)
		wc = WAIT_NOT_RUNNING;
	else if (strcmp(cond, "next-exit") == 0)
		wc = WAIT_NEXT_EXIT;
	else if (strcmp(cond, "removed") == 0)
		wc = WAIT_REMOVED;
	else {
		http_reply_errorf(ctx->conn, 400, "invalid condition: \"%s\"", cond);
		return;
	}
	/* As dockerd: the status line goes out now, so the client knows the wait is set. */
	http_stream_begin(ctx->conn, 200, "application/json", NULL);
	struct waiting *w = xnew0(struct waiting, 1);
	w->c = c;
	w->conn = http_conn_ref(ctx->conn);
	http_conn_on_close(ctx->conn, on_wait_gone, w);
	container_wait(c, wc, on_wait_done, w);
}
