/* SPDX-License-Identifier: Apache-2.0 */
/* ContainerAttach, ContainerLogs, ContainerResize. */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "container-io.h"
#include "lifecycle.h"
#include "daemon.h"
#include "detach-keys.h"
#include "http-stream.h"
#include "parse-util.h"

void api_container_attach(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	struct attach_opts o = {
		.in = http_query_bool(ctx->req, "stdin", false),
		.out = http_query_bool(ctx->req, "stdout", false),
		.err = http_query_bool(ctx->req, "stderr", false),
		.stream = http_query_bool(ctx->req, "stream", false),
		.logs = http_query_bool(ctx->req, "logs", false),
	};
	_cleanup_free_ char *keys = http_query_get(ctx->req, "detachKeys");
	if (!o.stream && !o.logs) {
		http_reply_errorf(ctx->conn, 400,
				  "Bad parameters: you must choose at least one stream");
	} else if (c->state == CONTAINER_PAUSED) {
		http_reply_errorf(ctx->conn, 409,
				  "You cannot attach to a paused container, unpause it first");
	} else if (!detach_keys_parse(keys, &o.detach)) {
		http_reply_errorf(ctx->conn, 400, "Invalid detach keys (%s) provided", keys);
	} else {
		bool raw = json_is_true(json_object_get(c->config, "Tty"));
		struct stream *s = api_stream_hijack(ctx->conn, api_stream_media_type(raw));
		container_attach(c, s, &o);
		stream_unref(s);
	}
}

void api_container_logs(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	struct logs_opts o = {
		.out = http_query_bool(ctx->req, "stdout", false),
		.err = http_query_bool(ctx->req, "stderr", false),
		.follow = http_query_bool(ctx->req, "follow", false),
		.timestamps = http_query_bool(ctx->req, "timestamps", false),
		.tail = -1,
	};
	if (!o.out && !o.err) {
		http_reply_errorf(ctx->conn, 400,
				  "Bad parameters: you must choose at least one stream");
		return;
	}
	_cleanup_free_ char *since = http_query_get(ctx->req, "since");
	_cleanup_free_ char *until = http_query_get(ctx->req, "until");
	_cleanup_free_ char *tail = http_query_get(ctx->req, "tail");
	if (time_parse_docker(since, now_nsec(CLOCK_REALTIME), &o.since_ns) < 0 ||
	    time_parse_docker(until, now_nsec(CLOCK_REALTIME), &o.until_ns) < 0) {
		http_reply_errorf(ctx->conn, 400, "invalid value for since/until");
		return;
	}
	if (tail && tail[0] && strcmp(tail, "all") != 0) {
		int n;
		if (safe_atoi(tail, &n) < 0) {
			http_reply_errorf(ctx->conn, 400, "invalid value for tail: %s", tail);
			return;
		}
		o.tail = n < 0 ? -1 : n;
	}
	bool raw = json_is_true(json_object_get(c->config, "Tty"));
	struct stream *s = api_stream_response(ctx->conn, 200, api_stream_media_type(raw));
	_cleanup_error_ struct arca_error *err = NULL;
	if (container_logs(c, s, &o, &err) < 0) {
		stream_unref(s);
		api_reply_error(ctx, err);
		return;
	}
	api_stream_begin(s);
	stream_unref(s);
}

void api_container_resize(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	unsigned rows, cols;
	if (!api_resize_params(ctx, &rows, &cols))
		return;
	_cleanup_error_ struct arca_error *err = NULL;
	if (container_resize(c, rows, cols, &err) < 0)
		api_reply_error(ctx, err);
	else
		http_reply(ctx->conn, 200, "text/plain", NULL, 0);
}
