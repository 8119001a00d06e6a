/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "event.h"
#include "fd-util.h"
#include "log.h"
#include "stdio-relay.h"

struct writer {
	struct stdio_relay *relay;
	int fd;
	int which; /* 1 or 2 */
	bool made_nonblock;
	bool broken;
	struct event_source *src;
};

struct stdio_relay {
	struct event *event;
	struct guest_proc *proc;
	int in_fd;
	struct event_source *in_src;
	bool in_done;
	struct writer out, err;
	const struct stdio_relay_ops *ops;
	void *userdata;
	bool done;
	int err_dup; /* err's copy of out's descriptor, or -1 */
	int in_dup;  /* stdin's copy of an output's descriptor (a terminal), or -1 */
};

static void check_done(struct stdio_relay *r)
{
	int status;
	if (r->done || !r->proc || !guest_proc_exited(r->proc, &status) ||
	    !guest_proc_output_done(r->proc, 1) || !guest_proc_output_done(r->proc, 2))
		return;
	r->done = true;
	r->ops->done(r, status, r->userdata);
}

/* Writes what the guest sent on the writer's stream; false once it must wait. */
static bool writer_drain(struct writer *w)
{
	struct stdio_relay *r = w->relay;
	while (r->proc) {
		const uint8_t *p;
		size_t n = guest_proc_peek(r->proc, w->which, &p);
		if (n == 0)
			break;
		if (w->broken) {
			guest_proc_consume(r->proc, w->which, n);
			continue;
		}
		ssize_t k = write(w->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN && w->src) {
			(void)event_source_set_enabled(w->src, true);
			return false;
		}
		if (k < 0) {
			w->broken = true; /* EPIPE and friends: discard the rest */
			continue;
		}
		guest_proc_consume(r->proc, w->which, (size_t)k);
	}
	return true;
}

/* Callers end with check_done(), the last thing they may do: done() may free the relay. */
static void writer_pump(struct writer *w)
{
	if (writer_drain(w) && w->src)
		(void)event_source_set_enabled(w->src, false);
}

static int on_writable(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct writer *w = userdata;
	writer_pump(w);
	check_done(w->relay);
	return 0;
}

static void writer_init(struct stdio_relay *r, struct writer *w, int fd, int which)
{
	struct stat st;
	*w = (struct writer){ .relay = r, .fd = fd, .which = which };
	int fl = fd < 0 ? -1 : fcntl(fd, F_GETFL);
	/* Pipes and sockets, and anything its owner made non-blocking (arca-runtime's pty):
	 * watched. Files and a user's terminal: plain blocking writes. */
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || (fl >= 0 && (fl & O_NONBLOCK))))
		return;
	if (event_add_io(r->event, &w->src, fd, EPOLLOUT, on_writable, w) < 0)
		return;
	(void)event_source_set_enabled(w->src, false);
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0 && !(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0)
		w->made_nonblock = true;
}

static void writer_done(struct writer *w)
{
	w->src = event_source_free(w->src);
	if (w->made_nonblock)
		(void)fd_set_nonblock(w->fd, false);
	w->made_nonblock = false;
}

static void input_update(struct stdio_relay *r)
{
	if (r->in_src)
		(void)event_source_set_enabled(r->in_src,
					       r->proc && guest_proc_stdin_room(r->proc) > 0);
}

static void input_end(struct stdio_relay *r, bool close_guest)
{
	r->in_done = true;
	r->in_src = event_source_free(r->in_src);
	if (close_guest && r->proc)
		(void)guest_proc_close_stdin(r->proc);
}

static void input_pump(struct stdio_relay *r)
{
	uint8_t chunk[PROTO_DATA_CHUNK];
	size_t room = r->proc ? guest_proc_stdin_room(r->proc) : 0;
	if (room == 0 || r->in_done) {
		input_update(r);
		return;
	}
	ssize_t n = read(r->in_fd, chunk, MIN(room, sizeof(chunk)));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		input_end(r, true);
		return;
	}
	if (guest_proc_write_stdin(r->proc, chunk, (size_t)n) < 0) {
		input_end(r, false);
		return;
	}
	input_update(r);
}

static int on_input(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	input_pump(userdata);
	return 0;
}

static int on_input_defer(struct event_source *s, void *userdata)
{
	input_pump(userdata);
	return 0;
}

static void input_setup(struct stdio_relay *r)
{
	int e = event_add_io(r->event, &r->in_src, r->in_fd, EPOLLIN, on_input, r);
	if (e == -EPERM) /* a regular file or /dev/null: always readable */
		e = event_add_defer(r->event, &r->in_src, on_input_defer, r);
	if (e < 0) {
		log_debug("cannot watch the stdin fd: %s", strerror(-e));
		input_end(r, true);
		return;
	}
	input_update(r);
}

static void on_proc_started(struct guest_proc *p, int error, const char *message, uint32_t pid,
			    void *userdata)
{
	struct stdio_relay *r = userdata;
	if (r->ops->started)
		r->ops->started(r, error, message, pid, r->userdata);
}

static void on_proc_output(struct guest_proc *p, int fd, void *userdata)
{
	struct stdio_relay *r = userdata;
	writer_pump(fd == 2 ? &r->err : &r->out);
	check_done(r);
}

static void on_proc_stdin_ready(struct guest_proc *p, void *userdata)
{
	input_update(userdata);
}

static void on_proc_exited(struct guest_proc *p, int status, void *userdata)
{
	struct stdio_relay *r = userdata;
	r->in_src = event_source_free(r->in_src);
	/* Flush what is buffered; check_done() reports once it is written. */
	writer_pump(&r->out);
	writer_pump(&r->err);
	check_done(r);
}

static const struct guest_proc_ops relay_proc_ops = {
	.started = on_proc_started,
	.output = on_proc_output,
	.stdin_ready = on_proc_stdin_ready,
	.exited = on_proc_exited,
};

struct stdio_relay *stdio_relay_new(struct event *e, int in_fd, int out_fd, int err_fd,
				    const struct stdio_relay_ops *ops, void *userdata)
{
	struct stdio_relay *r = xnew0(struct stdio_relay, 1);
	r->event = e;
	r->err_dup = r->in_dup = -1;
	r->in_done = in_fd < 0;
	r->ops = ops;
	r->userdata = userdata;
	/* One descriptor for two streams (a terminal is all three): the others get copies of
	 * it, since the event loop watches a descriptor once. */
	if (err_fd >= 0 && err_fd == out_fd)
		err_fd = r->err_dup = fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
	if (in_fd >= 0 && (in_fd == out_fd || in_fd == err_fd))
		in_fd = r->in_dup = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
	r->in_fd = in_fd;
	writer_init(r, &r->out, out_fd, 1);
	writer_init(r, &r->err, err_fd, 2);
	return r;
}

int stdio_relay_spawn(struct stdio_relay *r, struct guest_client *gc,
		      const struct guest_proc_spec *spec)
{
	struct guest_proc_spec s = *spec;
	s.attach_stdin = spec->attach_stdin && r->in_fd >= 0;
	int e = guest_proc_spawn(gc, &s, &relay_proc_ops, r, &r->proc);
	if (e < 0)
		return e;
	if (s.attach_stdin)
		input_setup(r);
	return 0;
}

struct guest_proc *stdio_relay_proc(const struct stdio_relay *r)
{
	return r->proc;
}

void stdio_relay_stop_input(struct stdio_relay *r)
{
	r->in_src = event_source_free(r->in_src);
	r->in_done = true;
}

struct stdio_relay *stdio_relay_free(struct stdio_relay *r)
{
	if (!r)
		return NULL;
	r->in_src = event_source_free(r->in_src);
	r->proc = guest_proc_free(r->proc);
	writer_done(&r->out);
	writer_done(&r->err);
	if (r->err_dup >= 0)
		close(r->err_dup);
	if (r->in_dup >= 0)
		close(r->in_dup);
	free(r);
	return NULL;
}
