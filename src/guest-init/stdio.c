/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process stdio <-> channel streams, with credit-based flow control (P4).
 *
 * Output (stdout/stderr): read the pipe or pty only while the host has
 * granted credit and the channel queue is below its high-water mark; on EOF
 * (or EIO from a pty whose slave closed) send CLOSE. After the process exits,
 * a read that finds the pipe empty also ends the stream, so a background
 * child holding the pipe open cannot delay the exit report forever.
 *
 * Input (stdin): DATA is buffered up to the window we granted and written
 * to the pipe as it drains; credit goes back as bytes reach the process.
 * CLOSE from the host closes the pipe once the buffer is empty.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "event.h"
#include "init.h"
#include "log.h"

void pstream_done(struct pstream *s)
{
	s->src = event_source_free(s->src);
	s->fd = safe_close(s->fd);
	buf_done(&s->pending);
}

bool stdio_outputs_done(const struct proc *p)
{
	return p->out.fd < 0 && p->err.fd < 0;
}

static void out_finish(struct pstream *s)
{
	struct proc *p = s->proc;
	if (s->fd < 0)
		return;
	pstream_done(s);
	if (p->init->conn && !s->eof && !s->detached)
		(void)proto_conn_send_close(p->init->conn, s->id);
	s->eof = true; /* a re-attaching host gets the CLOSE then */
	proc_check_done(p);
}

/* Enables reading only when a read could be forwarded. */
static void out_update(struct pstream *s)
{
	struct proto_conn *c = s->proc->init->conn;
	if (!s->src)
		return;
	bool want = c && !s->detached && s->win.send > 0 && proto_conn_can_send_data(c);
	(void)event_source_set_enabled(s->src, want);
}

/* Forwards what can be read now. */
static void out_pump(struct pstream *s)
{
	static uint8_t chunk[PROTO_DATA_CHUNK];
	struct proc *p = s->proc;
	struct proto_conn *c = p->init->conn;

	while (s->fd >= 0 && c && !s->detached && s->win.send > 0 && proto_conn_can_send_data(c)) {
		size_t want = MIN((size_t)s->win.send, sizeof(chunk));
		ssize_t n = read(s->fd, chunk, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (p->state == PROC_EXITED)
				out_finish(s);
			break;
		}
		if (n <= 0) { /* EOF, or EIO: the pty slave is gone */
			out_finish(s);
			break;
		}
		if (proto_conn_send_data(c, s->id, chunk, (size_t)n) < 0) {
			out_finish(s);
			break;
		}
		buf_append(&s->unacked, chunk, (size_t)n);
		s->win.send -= (uint32_t)n;
		/* Yield to the loop after one chunk unless draining an exited process. */
		if (p->state != PROC_EXITED)
			break;
	}
	out_update(s);
}

static int on_out_readable(struct event_source *src, int fd, uint32_t revents, void *userdata)
{
	(void)src;
	(void)fd;
	(void)revents;
	out_pump(userdata);
	return 0;
}

/* Writes buffered stdin to the process; returns credit for what was written. */
static void in_flush(struct pstream *s)
{
	struct proc *p = s->proc;
	size_t before = buf_len(&s->pending);

	if (s->fd >= 0 && before > 0) {
		ssize_t n = buf_flush_fd(&s->pending, s->fd);
		if (n < 0) {
			/* EPIPE: the process closed stdin; discard, as a pipe would. */
			buf_consume(&s->pending, buf_len(&s->pending));
			s->src = event_source_free(s->src);
			s->fd = safe_close(s->fd);
		}
	}
	if (s->fd < 0)
		buf_consume(&s->pending, buf_len(&s->pending));
	size_t written = before - buf_len(&s->pending);
	if (written > 0)
		proto_window_on_consumed(&s->win, (uint32_t)written);

	uint32_t credit = proto_window_take_credit(&s->win, buf_empty(&s->pending));
	if (credit > 0 && p->init->conn)
		(void)proto_conn_send_credit(p->init->conn, s->id, credit);

	if (s->eof && buf_empty(&s->pending) && s->fd >= 0) {
		/* The host closed stdin and all of it was delivered: EOF to the process. */
		s->src = event_source_free(s->src);
		s->fd = safe_close(s->fd);
	}
	if (s->src)
		(void)event_source_set_enabled(s->src, !buf_empty(&s->pending));
}

static int on_in_writable(struct event_source *src, int fd, uint32_t revents, void *userdata)
{
	(void)src;
	(void)fd;
	(void)revents;
	in_flush(userdata);
	return 0;
}

int stdio_setup(struct proc *p)
{
	struct event *e = p->init->event;
	struct pstream *all[] = { &p->in, &p->out, &p->err };
	int r;

	for (size_t i = 0; i < ELEMENTSOF(all); i++) {
		struct pstream *s = all[i];
		if (!s->id)
			continue;
		if (s->fd < 0) {
			/* A stream with no fd (stderr under a tty): ends at once. */
			if (s != &p->in && p->init->conn)
				(void)proto_conn_send_close(p->init->conn, s->id);
			s->eof = true;
			continue;
		}
		bool input = s == &p->in;
		r = event_add_io(e, &s->src, s->fd, input ? EPOLLOUT : EPOLLIN,
				 input ? on_in_writable : on_out_readable, s);
		if (r < 0)
			return r;
		if (input)
			(void)event_source_set_enabled(s->src, false);
		else
			out_update(s);
	}
	return 0;
}

int stdio_on_data(struct proc *p, struct pstream *s, const uint8_t *data, uint32_t n)
{
	if (s != &p->in || s->eof)
		return -EPROTO;
	int r = proto_window_on_data(&s->win, n);
	if (r < 0)
		return r; /* the host overran the window it was given */
	buf_append(&s->pending, data, n);
	in_flush(s);
	return 0;
}

int stdio_on_close(struct proc *p, struct pstream *s)
{
	if (s != &p->in)
		return 0; /* the host stopped reading an output: nothing to do */
	s->eof = true;
	in_flush(s);
	return 0;
}

int stdio_on_credit(struct proc *p, struct pstream *s, uint32_t n)
{
	if (s == &p->in)
		return -EPROTO;
	int r = proto_window_on_credit(&s->win, n);
	if (r < 0)
		return r;
	buf_consume(&s->unacked, MIN((size_t)n, buf_len(&s->unacked)));
	out_pump(s);
	return 0;
}

/* Sends again what the host never acknowledged, within the fresh window. */
static void out_replay(struct pstream *s)
{
	struct proto_conn *c = s->proc->init->conn;
	s->detached = false;
	proto_window_init(&s->win);
	struct buf old = s->unacked;
	s->unacked = (struct buf){ 0 };
	const uint8_t *p = buf_peek(&old);
	size_t left = buf_len(&old);
	while (c && left > 0 && s->win.send > 0) {
		size_t n = MIN(left, MIN((size_t)PROTO_DATA_CHUNK, (size_t)s->win.send));
		if (proto_conn_send_data(c, s->id, p, n) < 0)
			break;
		buf_append(&s->unacked, p, n);
		s->win.send -= (uint32_t)n;
		p += n;
		left -= n;
	}
	buf_done(&old);
	if (c && s->eof)
		(void)proto_conn_send_close(c, s->id); /* the first CLOSE may have been lost */
	out_update(s);
}

void stdio_detach_all(struct guest_init *gi)
{
	for (struct proc *p = gi->procs; p; p = p->next) {
		p->out.detached = p->out.id != 0;
		p->err.detached = p->err.id != 0;
		out_update(&p->out);
		out_update(&p->err);
	}
}

void stdio_reattach(struct proc *p)
{
	if (p->out.id)
		out_replay(&p->out);
	if (p->err.id)
		out_replay(&p->err);
	if (p->in.id) {
		/* The new host starts with a full window; what we hold still drains. */
		proto_window_init(&p->in.win);
	}
	stdio_resume_all(p->init);
}

void stdio_drain_after_exit(struct proc *p)
{
	if (p->out.fd >= 0)
		out_pump(&p->out);
	if (p->err.fd >= 0)
		out_pump(&p->err);
}

void stdio_resume_all(struct guest_init *gi)
{
	for (struct proc *p = gi->procs; p; p = p->next) {
		if (p->out.fd >= 0)
			out_pump(&p->out);
		if (p->err.fd >= 0)
			out_pump(&p->err);
	}
}
