/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker top and docker stats (see container-observe.h): helpers in the
 * container's VM (busybox ps, /proc readers) and guest-stats.c's parsers.
 * A stats stream samples once a second until the client goes or the
 * container stops.
 */
#include "container-observe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-helper.h"
#include "container.h"
#include "daemon.h"
#include "event.h"
#include "fd-util.h"
#include "guest-stats.h"
#include "names.h"
#include "stream.h"
#include "strv.h"
#include "time-util.h"
#include "vm.h"

#define HELPER_OUTPUT_MAX (4u << 20)

static int check_running(struct container *c, struct arca_error **err)
{
	if (c->state == CONTAINER_PAUSED)
		return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT,
				      "Container %s is paused, unpause the container first", c->id);
	if (!container_is_running(c) || !c->vm)
		return arca_error_set(err, ESRCH, ARCA_ERR_CONFLICT, "Container %s is not running",
				      c->id);
	return 0;
}

/* --- top --- */

struct top_req {
	struct helper *h;
	container_json_fn cb;
	void *ud;
};

static void top_done(struct helper *h, int status, void *userdata)
{
	struct top_req *t = userdata;
	json_t *out = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	if (status != 0)
		arca_error_set(&err, EIO, ARCA_ERR_INTERNAL, "ps: %s",
			       helper_stderr(h)[0] ? helper_stderr(h) : strerror(-status));
	else
		(void)guest_top_parse((const char *)buf_peek(helper_stdout(h)),
				      buf_len(helper_stdout(h)), helper_pid(h), &out, &err);
	t->cb(err, out, t->ud);
	json_decref(out);
	helper_free(t->h);
	free(t);
}

static const struct helper_ops top_ops = { .done = top_done };

int container_top(struct container *c, const char *ps_args, container_json_fn cb, void *ud,
		  struct arca_error **err)
{
	int r = check_running(c, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *args = ps_args ? xstrdup(ps_args) : NULL;
	_cleanup_strv_free_ char **argv = strv_copy(NULL);
	argv = strv_append(argv, "/bin/sh");
	argv = strv_append(argv, "-c");
	argv = strv_append(argv, guest_top_script);
	argv = strv_append(argv, "--");
	if (args && args[0]) {
		char *save = NULL;
		for (char *w = strtok_r(args, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
			argv = strv_append(argv, w);
	} else {
		argv = strv_append(argv, "-o");
		argv = strv_append(argv, "user,pid,ppid,stat,vsz,rss,tty,args");
	}
	struct top_req *t = xnew0(struct top_req, 1);
	t->cb = cb;
	t->ud = ud;
	struct helper_spec spec = { .argv = argv, .max_collect = HELPER_OUTPUT_MAX };
	r = helper_start(c, &spec, &top_ops, t, &t->h, err);
	if (r < 0)
		free(t);
	return r;
}

/* --- stats --- */

struct stats_session {
	struct daemon *d;
	char id[ID_HEX_LEN + 1];
	struct stream *out; /* streaming; else one sample to cb */
	container_json_fn cb;
	void *ud;
	bool one_shot;
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
	if (s->out) {
		stream_set_handler(s->out, NULL, NULL);
		stream_unref(s->out);
	}
	free(s);
}

/* The end: a stream ends, a single sample's caller hears why there is none. */
static void stats_end(struct stats_session *s, const struct arca_error *err)
{
	if (s->out)
		stream_end(s->out);
	else
		s->cb(err, NULL, s->ud);
	stats_free(s);
}

static void write_line(struct stream *out, json_t *j)
{
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return;
	_cleanup_free_ char *line = xasprintf("%s\n", text);
	(void)stream_write(out, line, strlen(line));
}

static int sample(struct stats_session *s);

static int on_tick(struct event_source *src, usec_t now, void *userdata)
{
	struct stats_session *s = userdata;
	(void)src;
	(void)now;
	s->timer = event_source_free(s->timer);
	if (sample(s) < 0)
		stats_end(s, NULL);
	return 0;
}

static void next_tick(struct stats_session *s)
{
	if (event_add_time(s->d->event, &s->timer, now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC,
			   on_tick, s) < 0)
		stats_end(s, NULL);
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
		_cleanup_error_ struct arca_error *err = NULL;
		arca_error_set(&err, EIO, ARCA_ERR_INTERNAL, "cannot sample container %s: %s",
			       s->id, status ? strerror(-status) : "unreadable /proc");
		return stats_end(s, err);
	}
	/* The host's side of memory: the VMM's own accounting, read here, not the guest's. */
	pid_t vmm = c->vm ? vm_pid(c->vm) : 0;
	_cleanup_free_ char *path = xasprintf("/proc/%d/smaps_rollup", (int)vmm);
	_cleanup_free_ char *rollup = NULL;
	size_t rollup_len = 0;
	if (vmm > 0 && read_file_at(AT_FDCWD, path, 8192, &rollup, &rollup_len) == 0)
		(void)host_memory_parse(rollup, rollup_len, &got.host_bytes);
	s->pre = s->cur;
	s->pre_ns = s->cur_ns;
	s->cur = got;
	s->cur_ns = (int64_t)now_nsec(CLOCK_REALTIME);
	if (!s->out && !s->one_shot && !s->has_pre) {
		/* As dockerd: a single sample comes with its precpu, taken a second before. */
		s->has_pre = true;
		return next_tick(s);
	}
	json_t *j = guest_stats_json(s->id, c->name, &s->cur, s->has_pre ? &s->pre : NULL,
				     container_memory_bytes(c), s->cur_ns, s->pre_ns);
	s->has_pre = true;
	if (!s->out) {
		s->cb(NULL, j, s->ud);
		json_decref(j);
		stats_free(s);
		return;
	}
	write_line(s->out, j);
	next_tick(s);
}

static const struct helper_ops stats_ops = { .done = stats_done };

static int sample(struct stats_session *s)
{
	struct container *c = daemon_find_container(s->d, s->id, NULL);
	if (!c || !container_is_running(c) || !c->vm || c->state == CONTAINER_PAUSED)
		return -ESRCH;
	/* In the container's network namespace: /proc/net/dev lists its ethN. */
	struct helper_spec spec = { .argv = (char *const *)guest_stats_argv,
				    .netns = true,
				    .max_collect = HELPER_OUTPUT_MAX };
	return helper_start(c, &spec, &stats_ops, s, &s->h, NULL);
}

static void on_out_closed(struct stream *st, void *userdata)
{
	(void)st;
	stats_free(userdata);
}

static const struct stream_handler out_handler = { .closed = on_out_closed };

int container_stats(struct container *c, struct stream *out, bool one_shot, container_json_fn cb,
		    void *ud, struct arca_error **err)
{
	if (!container_is_running(c) || !c->vm) {
		/* A stopped container: one sample of zeros, as dockerd sends. */
		json_t *j = guest_stats_json(c->id, c->name, NULL, NULL, 0,
					     (int64_t)now_nsec(CLOCK_REALTIME), 0);
		if (out) {
			write_line(out, j);
			stream_end(out);
		} else {
			cb(NULL, j, ud);
			json_decref(j);
		}
		return 0;
	}
	struct stats_session *s = xnew0(struct stats_session, 1);
	s->d = c->d;
	memcpy(s->id, c->id, sizeof(s->id));
	s->one_shot = one_shot;
	s->cb = cb;
	s->ud = ud;
	if (c->state == CONTAINER_PAUSED || sample(s) < 0) {
		free(s);
		return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT, "Container %s is %s", c->id,
				      c->state == CONTAINER_PAUSED ? "paused" : "not running");
	}
	if (out) {
		s->out = stream_ref(out);
		stream_set_handler(out, &out_handler, s);
	}
	return 0;
}
