/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct exec_session owns its guest process and its connection. Output is
 * taken from the guest only while the client has room; the exit code is
 * recorded before the client sees EOF, since `docker exec` asks for it next.
 */
#include "exec-session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "events.h"
#include "create-options.h"
#include "detach-keys.h"
#include "guest-client.h"
#include "guest-setup.h"
#include "hashmap.h"
#include "names.h"
#include "stream.h"
#include "strv.h"
#include "vm.h"

static unsigned count_for(struct daemon *d, const char *container_id)
{
	unsigned n = 0;
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->execs, &it, NULL, &v))
		n += strcmp(((struct exec_session *)v)->container_id, container_id) == 0;
	return n;
}

int exec_config_check(json_t *config, struct arca_error **err)
{
	if (!json_is_object(config))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "the body must be an object");
	json_t *cmd = json_object_get(config, "Cmd");
	if (json_is_string(cmd))
		json_object_set_new(config, "Cmd", json_pack("[O]", cmd));
	cmd = json_object_get(config, "Cmd");
	if (!json_is_array(cmd) || json_array_size(cmd) == 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "No exec command specified");
	size_t i;
	json_t *v;
	json_array_foreach(cmd, i, v) if (!json_is_string(v)) return arca_error_set(
	    err, EINVAL, ARCA_ERR_INVALID, "Cmd must be a list of strings");
	json_t *env = json_object_get(config, "Env");
	if (env && !json_is_null(env) && !json_is_array(env))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "Env must be a list");
	static const char *const bools[] = { "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
					     "Privileged" };
	for (size_t k = 0; k < ELEMENTSOF(bools); k++) {
		json_t *b = json_object_get(config, bools[k]);
		if (b && !json_is_null(b) && !json_is_boolean(b))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be a boolean",
					      bools[k]);
	}
	static const char *const strs[] = { "User", "WorkingDir", "DetachKeys" };
	for (size_t k = 0; k < ELEMENTSOF(strs); k++) {
		json_t *s = json_object_get(config, strs[k]);
		if (s && !json_is_null(s) && !json_is_string(s))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be a string",
					      strs[k]);
	}
	return 0;
}

/*
 * dockerd's exec events: "exec_create: ENTRYPOINT ARGS...", "exec_start: ...",
 * "exec_die" (its format leaves a space after a lone command: "exec_start: true ").
 */
static void emit_event(struct exec_session *e, struct container *c, const char *what, json_t *extra)
{
	_cleanup_free_ char *action = xstrdup(what);
	if (strcmp(what, "exec_die") != 0) {
		json_t *cmd = json_object_get(e->config, "Cmd");
		char *n = xasprintf("%s: %s ", action, json_string_value(json_array_get(cmd, 0)));
		free(action);
		action = n;
		for (size_t i = 1; i < json_array_size(cmd); i++) {
			n = xasprintf("%s%s%s", action, i > 1 ? " " : "",
				      json_string_value(json_array_get(cmd, i)));
			free(action);
			action = n;
		}
	}
	json_t *attrs = json_pack("{s:s}", "execID", e->id);
	if (extra) {
		json_object_update(attrs, extra);
		json_decref(extra);
	}
	events_container(e->d->events, c, action, attrs);
}

int exec_create(struct daemon *d, struct container *c, json_t *config, struct exec_session **ret,
		struct arca_error **err)
{
	if (!container_is_running(c) || !c->vm)
		return arca_error_set(err, ESRCH, ARCA_ERR_CONFLICT, "container %s is not running",
				      c->id);
	if (c->state == CONTAINER_PAUSED)
		return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT,
				      "container %s is paused, unpause the container before exec",
				      c->id);
	int r = exec_config_check(config, err);
	if (r < 0)
		return r;
	struct detach_keys keys;
	const char *spec = json_string_value(json_object_get(config, "DetachKeys"));
	if (!detach_keys_parse(spec, &keys))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "Invalid escape keys (%s) provided", spec);
	if (count_for(d, c->id) >= EXEC_MAX)
		return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT,
				      "container %s has %d exec sessions, the most allowed", c->id,
				      EXEC_MAX);
	struct exec_session *e = xnew0(struct exec_session, 1);
	id_generate(e->id);
	e->d = d;
	memcpy(e->container_id, c->id, sizeof(e->container_id));
	e->config = json_incref(config);
	e->tty = json_is_true(json_object_get(config, "Tty"));
	e->raw_stream = e->tty;
	e->detach = keys;
	e->exit_code = 0;
	hashmap_put(d->execs, e->id, e);
	emit_event(e, c, "exec_create", NULL);
	*ret = e;
	return 0;
}

struct exec_session *exec_free(struct exec_session *e)
{
	if (!e)
		return NULL;
	if (e->stream) {
		stream_close(e->stream);
		e->stream = stream_unref(e->stream);
	}
	e->proc = guest_proc_free(e->proc);
	json_decref(e->config);
	buf_done(&e->pending_in);
	free(e);
	return NULL;
}

void exec_forget_container(struct daemon *d, const char *container_id)
{
	for (bool again = true; again;) {
		again = false;
		size_t it = 0;
		const char *k;
		void *v;
		while (hashmap_iter(d->execs, &it, &k, &v)) {
			struct exec_session *e = v;
			if (strcmp(e->container_id, container_id) != 0)
				continue;
			hashmap_remove(d->execs, e->id);
			exec_free(e);
			again = true;
			break;
		}
	}
}

struct exec_session *exec_find(struct daemon *d, const char *id, struct arca_error **err)
{
	struct exec_session *e = hashmap_get(d->execs, id);
	if (!e)
		arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND, "No such exec instance: %s", id);
	return e;
}

static void pump_output(struct exec_session *e)
{
	for (int s = 1; s <= 2 && e->proc; s++) {
		for (;;) {
			if (e->stream && stream_is_full(e->stream))
				return;
			const uint8_t *p;
			size_t n = guest_proc_peek(e->proc, s, &p);
			if (n == 0)
				break;
			if (e->stream)
				(void)stream_write_frame(e->stream, e->raw_stream, s, p, n);
			guest_proc_consume(e->proc, s, n);
		}
	}
}

static void push_stdin(struct exec_session *e)
{
	while (e->proc && !buf_empty(&e->pending_in)) {
		size_t room = guest_proc_stdin_room(e->proc);
		if (!room)
			break;
		size_t n = MIN(room, buf_len(&e->pending_in));
		if (guest_proc_write_stdin(e->proc, buf_peek(&e->pending_in), n) < 0) {
			buf_done(&e->pending_in);
			break;
		}
		buf_consume(&e->pending_in, n);
	}
	if (e->stream)
		stream_pause_read(e->stream, buf_len(&e->pending_in) > 64 * 1024);
	/* As dockerd: the client's EOF is the process's, unless it has a terminal. */
	if (e->proc && e->client_eof && buf_empty(&e->pending_in) && !e->tty)
		(void)guest_proc_close_stdin(e->proc);
}

static void on_started(struct guest_proc *p, int error, const char *message, uint32_t pid,
		       void *userdata)
{
	struct exec_session *e = userdata;
	(void)p;
	if (error) {
		/* As dockerd: the message goes to the client's stream; 126/127 follow. */
		if (e->stream) {
			_cleanup_free_ char *m = xasprintf(
			    "OCI runtime exec failed: exec failed: unable to start container "
			    "process: %s: unknown\r\n",
			    message);
			(void)stream_write_frame(e->stream, e->raw_stream, 1, m, strlen(m));
		}
		return;
	}
	e->pid = pid;
}

static void on_output(struct guest_proc *p, int fd, void *userdata)
{
	(void)p;
	(void)fd;
	pump_output(userdata);
}

static void on_stdin_ready(struct guest_proc *p, void *userdata)
{
	(void)p;
	push_stdin(userdata);
}

static void on_exited(struct guest_proc *p, int status, void *userdata)
{
	struct exec_session *e = userdata;
	(void)p;
	/* Everything left goes out before the exit code is known to anyone. */
	if (e->stream) {
		for (int s = 1; s <= 2; s++) {
			const uint8_t *d;
			size_t n;
			while ((n = guest_proc_peek(e->proc, s, &d)) > 0) {
				(void)stream_write_frame(e->stream, e->raw_stream, s, d, n);
				guest_proc_consume(e->proc, s, n);
			}
		}
	}
	e->running = false;
	e->exit_known = true;
	e->exit_code = status < 0 ? 126 : status;
	e->pid = 0;
	if (e->stream) {
		stream_set_handler(e->stream, NULL, NULL);
		stream_end(e->stream);
		e->stream = stream_unref(e->stream);
	}
	struct container *c = daemon_find_container(e->d, e->container_id, NULL);
	if (c && c->execs_running)
		c->execs_running--;
	if (c) {
		char code[16];
		snprintf(code, sizeof(code), "%d", e->exit_code);
		emit_event(e, c, "exec_die", json_pack("{s:s}", "exitCode", code));
	}
}

static const struct guest_proc_ops exec_ops = {
	.started = on_started,
	.output = on_output,
	.stdin_ready = on_stdin_ready,
	.exited = on_exited,
};

static void stream_data(struct stream *s, const uint8_t *p, size_t n, void *ud)
{
	struct exec_session *e = ud;
	(void)s;
	if (!json_is_true(json_object_get(e->config, "AttachStdin")))
		return;
	if (detach_keys_feed(&e->detach, p, n, &e->pending_in)) {
		/* Detached: the client goes, the process runs on (as with dockerd). */
		push_stdin(e);
		stream_close(e->stream);
		return;
	}
	push_stdin(e);
}

static void stream_eof(struct stream *s, void *ud)
{
	struct exec_session *e = ud;
	(void)s;
	e->client_eof = true;
	push_stdin(e);
}

static void stream_drained(struct stream *s, void *ud)
{
	(void)s;
	pump_output(ud);
}

static void stream_closed(struct stream *s, void *ud)
{
	struct exec_session *e = ud;
	(void)s;
	/* The client went away; the process keeps running, as with dockerd. */
	stream_set_handler(e->stream, NULL, NULL);
	e->stream = stream_unref(e->stream);
	pump_output(e);
}

static const struct stream_handler stream_ops = {
	.data = stream_data,
	.eof = stream_eof,
	.drained = stream_drained,
	.closed = stream_closed,
};

int exec_can_start(struct exec_session *e, struct arca_error **err)
{
	struct container *c = daemon_find_container(e->d, e->container_id, NULL);
	if (e->started)
		return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT,
				      "Exec command %s has already run", e->id);
	if (!c || !container_is_running(c) || !c->vm)
		return arca_error_set(err, ESRCH, ARCA_ERR_CONFLICT, "container %s is not running",
				      e->container_id);
	return 0;
}

int exec_start(struct exec_session *e, struct stream *s, unsigned rows, unsigned cols,
	       struct arca_error **err)
{
	int r = exec_can_start(e, err);
	if (r < 0) {
		if (s)
			stream_end(s);
		return r;
	}
	struct container *c = daemon_find_container(e->d, e->container_id, NULL);
	e->started = true;
	e->running = true;
	e->rows = rows;
	e->cols = cols;
	c->execs_running++;
	emit_event(e, c, "exec_start", NULL);

	json_t *cfg = e->config;
	_cleanup_strv_free_ char **argv = strv_copy(NULL);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(cfg, "Cmd"), i, v) argv =
	    strv_append(argv, json_string_value(v));
	_cleanup_strv_free_ char **env = container_runtime_env(c, json_object_get(cfg, "Env"));
	_cleanup_strv_free_ char **groups = container_group_add(c);
	size_t n_rlimits = 0;
	_cleanup_free_ struct guest_rlimit *rlimits =
	    create_options_rlimits(c->host_config, &n_rlimits);
	const char *user = json_string_value(json_object_get(cfg, "User"));
	const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
	const char *cuser = json_string_value(json_object_get(c->config, "User"));
	const char *cwd = json_string_value(json_object_get(c->config, "WorkingDir"));
	bool attach = s != NULL;
	struct guest_proc_spec spec = {
		.argv = argv,
		.env = env,
		.cwd = wd && wd[0] ? wd : (cwd && cwd[0] ? cwd : "/"),
		.user = user && user[0] ? user : (cuser && cuser[0] ? cuser : NULL),
		.group_add = groups,
		.rlimits = rlimits,
		.cgroup = CONTAINER_CGROUP,
		.netns = true,
		.n_rlimits = n_rlimits,
		.root = GUEST_ROOT,
		.tty = e->tty,
		.rows = rows,
		.cols = cols,
		.attach_stdin = attach && json_is_true(json_object_get(cfg, "AttachStdin")),
		.attach_stdout = attach,
		.attach_stderr = attach,
	};
	if (attach) {
		e->stream = stream_ref(s);
		stream_set_handler(s, &stream_ops, e);
	}
	r = guest_proc_spawn(vm_guest(c->vm), &spec, &exec_ops, e, &e->proc);
	if (r < 0) {
		e->running = false;
		e->exit_known = true;
		e->exit_code = 126;
		c->execs_running--;
		if (e->stream) {
			stream_set_handler(e->stream, NULL, NULL);
			stream_end(e->stream);
			e->stream = stream_unref(e->stream);
		}
		return arca_error_errno(err, r, "exec");
	}
	return 0;
}

int exec_resize(struct exec_session *e, unsigned rows, unsigned cols, struct arca_error **err)
{
	e->rows = rows;
	e->cols = cols;
	if (!e->running || !e->proc)
		return arca_error_set(err, ESRCH, ARCA_ERR_CONFLICT, "exec %s is not running",
				      e->id);
	int r = guest_proc_resize(e->proc, rows, cols);
	return r < 0 ? arca_error_errno(err, r, "resize") : 0;
}

json_t *exec_inspect(struct exec_session *e)
{
	json_t *cmd = json_object_get(e->config, "Cmd");
	json_t *args = json_deep_copy(cmd);
	json_array_remove(args, 0);
	const char *user = json_string_value(json_object_get(e->config, "User"));
	json_t *o = json_pack(
	    "{s:s, s:b, s:o, s:{s:b, s:s, s:o, s:b, s:s}, s:b, s:b, s:b, s:b, s:s, s:s, s:i}", "ID",
	    e->id, "Running", e->running, "ExitCode",
	    e->exit_known ? json_integer(e->exit_code) : json_null(), "ProcessConfig", "tty",
	    e->tty, "entrypoint", json_string_value(json_array_get(cmd, 0)), "arguments", args,
	    "privileged", json_is_true(json_object_get(e->config, "Privileged")), "user",
	    user ? user : "", "OpenStdin", json_is_true(json_object_get(e->config, "AttachStdin")),
	    "OpenStderr", json_is_true(json_object_get(e->config, "AttachStderr")), "OpenStdout",
	    json_is_true(json_object_get(e->config, "AttachStdout")), "CanRemove", 0, "ContainerID",
	    e->container_id, "DetachKeys",
	    json_string_value(json_object_get(e->config, "DetachKeys")) ?: "", "Pid", (int)e->pid);
	return o;
}
