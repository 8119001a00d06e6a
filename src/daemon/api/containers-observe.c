/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ContainerTop and ContainerStats: helpers in the container's VM (busybox ps,
 * /proc readers) and guest-stats.c's parsers. A stats stream samples once a
 * second until the client goes or the container stops.
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-helper.h"
#include "container.h"
#include "daemon.h"
#include "event.h"
#include "guest-stats.h"
#include "strv.h"
#include "time-util.h"

#define HELPER_OUTPUT_MAX (4u << 20)

static bool check_running(struct api_ctx *ctx, struct container *c)
{
	if (c->state == CONTAINER_PAUSED) {
		http_reply_errorf(ctx->conn, 409,
				  "Container %s is paused, unpause the container first", c->id);
		return false;
	}
	if (!container_is_running(c) || !c->vm) {
		http_reply_errorf(ctx->conn, 409, "Container %s is not running", c->id);
		return false;
	}
	return true;
}

/* --- top --- */

struct top_req {
	struct http_conn *conn;
	struct helper *h;
};

static void top_done(struct helper *h, int status, void *userdata)
{
	struct top_req *t = userdata;
	json_t *out = NULL;
	struct arca_error *err = NULL;
	if (status != 0)
		http_reply_errorf(t->conn, 500, "ps: %s",
				  helper_stderr(h)[0] ? helper_stderr(h) : strerror(-status));
	else if (guest_top_parse((const char *)buf_peek(helper_stdout(h)),
				 buf_len(helper_stdout(h)), helper_pid(h), &out, &err) < 0)
		http_reply_errorf(t->conn, 500, "%s", err->msg);
	else
		http_reply_json(t->conn, 200, out);
	arca_error_free(err);
	helper_free(t->h);
	http_conn_unref(t->conn);
	free(t);
}

static const struct helper_ops top_ops = { .done = top_done };

void api_container_top(struct api_ctx *ctx)
{
	struct container *c = api_find_container(ctx);
	if (!c || !check_running(ctx, c))
		return;
	_cleanup_free_ char *ps_args = http_query_get(ctx->req, "ps_args");
	_cleanup_strv_free_ char **argv = strv_copy(NULL);
	argv = strv_append(argv, "/bin/sh");
	argv = strv_append(argv, "-c");
	argv = strv_append(argv, guest_top_script);
	argv = strv_append(argv, "--");
	if (ps_args && ps_args[0]) {
		char *save = NULL;
		for (char *w = strtok_r(ps_args, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
			argv = strv_append(argv, w);
	} else {
		argv = strv_append(argv, "-o");
		argv = strv_append(argv, "user,pid,ppid,stat,vsz,rss,tty,args");
	}
	struct top_req *t = xnew0(struct top_req, 1);
	struct helper_spec spec = { .argv = argv, .max_collect = HELPER_OUTPUT_MAX };
	_cleanup_error_ struct arca_error *err = NULL;
	if (helper_start(c, &spec, &top_ops, t, &t->h, &err) < 0) {
		free(t);
		api_reply_error(ctx, err);
		return;
	}
	t->conn = http_conn_ref(ctx->conn);
}

/* --- stats --- */

struct stats_session {
	struct daemon *d;
	struct http_conn *conn;
	char id[65];
	bool stream, one_shot, streaming;
	struct helper *h;
	struct event_source *timer;
	struct guest_sample cur, pre;
	int64_t cur_ns, pre_ns;
	bool has_pre;
};

static void stats_free(struct stats_session *s)
{
	helper_free(s->h);
	event_source_free(s->timer);
	http_conn_on_close(s->conn, NULL, NULL);
	http_conn_unref(s->conn);
	free(s);
}

static void stats_end(struct stats_session *s)
{
	if (s->streaming)
		http_stream_end(s->conn);
	stats_free(s);
}

static void stats_emit(struct stats_session *s, json_t *j)
{
	if (!s->stream) {
		http_reply_json(s->conn, 200, j);
		return;
	}
	if (!s->streaming) {
		http_stream_begin(s->conn, 200, "application/json", NULL);
		s->streaming = true;
	}
	http_stream_json(s->conn, j);
}

static int sample(struct stats_session *s);

static int on_tick(struct event_source *src, usec_t now, void *userdata)
{
	struct stats_session *s = userdata;
	(void)src;
	(void)now;
	s->timer = event_source_free(s->timer);
	if (sample(s) < 0)
		stats_end(s);
	return 0;
}

static void stats_done(struct helper *h, int status, void *userdata)
{
	struct stats_session *s = userdata;
	struct container *c = daemon_find_container(s->d, s->id, NULL);
	struct guest_sample got;
	int r = status == 0 && c ? guest_stats_parse((const char *)buf_peek(helper_stdout(h)),
						     buf_len(helper_stdout(h)), helper_pid(h), &got)
				 : -ESRCH;
	s->h = helper_free(s->h);
	if (r < 0) {
		/* The container stopped (or the guest printed nonsense): the stream ends. */
		if (!s->streaming && !s->stream)
			http_reply_errorf(s->conn, 500, "cannot sample container %s: %s", s->id,
					  status ? strerror(-status) : "unreadable /proc");
		stats_end(s);
		return;
	}
	s->pre = s->cur;
	s->pre_ns = s->cur_ns;
	s->cur = got;
	s->cur_ns = (int64_t)now_nsec(CLOCK_REALTIME);
	if (!s->stream && !s->one_shot && !s->has_pre) {
		/* As dockerd: a single sample comes with its precpu, taken a second before. */
		s->has_pre = true;
		if (event_add_time(s->d->event, &s->timer, now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC,
				   on_tick, s) < 0)
			stats_end(s);
		return;
	}
	json_t *j = guest_stats_json(s->id, c->name, &s->cur, s->has_pre ? &s->pre : NULL,
				     container_memory_bytes(c), s->cur_ns, s->pre_ns);
	s->has_pre = true;
	stats_emit(s, j);
	if (!s->stream) {
		stats_free(s);
		return;
	}
	if (event_add_time(s->d->event, &s->timer, now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC,
			   on_tick, s) < 0)
		stats_end(s);
}

static const struct helper_ops stats_ops = { .done = stats_done };

static int sample(struct stats_session *s)
{
	struct container *c = daemon_find_container(s->d, s->id, NULL);
	if (!c || !container_is_running(c) || !c->vm || c->state == CONTAINER_PAUSED)
		return -ESRCH;
	struct helper_spec spec = { .argv = (char *const *)guest_stats_argv,
				    .max_collect = HELPER_OUTPUT_MAX };
	return helper_start(c, &spec, &stats_ops, s, &s->h, NULL);
}

static void on_stats_closed(struct http_conn *conn, void *userdata)
{
	(void)conn;
	stats_free(userdata);
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
	if (!container_is_running(c) || !c->vm) {
		/* A stopped container: one sample of zeros, as dockerd sends. */
		json_t *j = guest_stats_json(c->id, c->name, NULL, NULL, 0,
					     (int64_t)now_nsec(CLOCK_REALTIME), 0);
		if (stream) {
			http_stream_begin(ctx->conn, 200, "application/json", NULL);
			http_stream_json(ctx->conn, j);
			http_stream_end(ctx->conn);
		} else {
			http_reply_json(ctx->conn, 200, j);
		}
		return;
	}
	struct stats_session *s = xnew0(struct stats_session, 1);
	s->d = ctx->d;
	s->conn = http_conn_ref(ctx->conn);
	memcpy(s->id, c->id, sizeof(s->id));
	s->stream = stream;
	s->one_shot = one_shot;
	if (c->state == CONTAINER_PAUSED || sample(s) < 0) {
		http_reply_errorf(ctx->conn, 409, "Container %s is %s", c->id,
				  c->state == CONTAINER_PAUSED ? "paused" : "not running");
		stats_free(s);
		return;
	}
	http_conn_on_close(ctx->conn, on_stats_closed, s);
}
