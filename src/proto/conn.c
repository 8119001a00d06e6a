/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct proto_conn: owns its fd, its io source, a fixed receive buffer of
 * PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD bytes and an output queue.
 *
 * Invariants: ops->closed is called at most once; after it the fd is closed
 * and sends fail with -EPIPE. Freeing from inside a callback is deferred to
 * the end of the dispatch that called it.
 */
#include "conn.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "cleanup.h"
#include "event.h"
#include "fd-util.h"
#include "time-util.h"

#define RX_CAP	  (PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD)
#define RX_BUDGET (1024u * 1024u) /* bytes read per wakeup, so one conn can't starve others */

struct proto_conn {
	int fd;
	struct event_source *src;
	const struct proto_conn_ops *ops;
	void *userdata;
	uint8_t *rx;
	size_t rx_len;
	struct buf tx;
	bool above_high;
	bool closed;
	unsigned depth;
	bool free_pending;
};

static void conn_update_events(struct proto_conn *c)
{
	if (c->closed || !c->src)
		return;
	/* While above high water, keep EPOLLOUT so conn_flush() can call ->writable. */
	uint32_t ev = EPOLLIN | (buf_empty(&c->tx) && !c->above_high ? 0 : EPOLLOUT);
	(void)event_source_set_io_events(c->src, ev);
}

static void conn_close(struct proto_conn *c, int error)
{
	if (c->closed)
		return;
	c->closed = true;
	c->src = event_source_free(c->src);
	c->fd = safe_close(c->fd);
	buf_done(&c->tx);
	if (c->ops->closed)
		c->ops->closed(c, error, c->userdata);
}

static void conn_destroy(struct proto_conn *c)
{
	c->src = event_source_free(c->src);
	safe_close(c->fd);
	buf_done(&c->tx);
	free(c->rx);
	free(c);
}

/* Leave a callback section; returns true if the conn was freed meanwhile. */
static bool conn_leave(struct proto_conn *c)
{
	c->depth--;
	if (c->depth == 0 && c->free_pending) {
		conn_destroy(c);
		return true;
	}
	return false;
}

static int conn_flush(struct proto_conn *c)
{
	if (c->closed)
		return -EPIPE;
	ssize_t n = buf_flush_fd(&c->tx, c->fd);
	if (n < 0)
		return (int)n;
	conn_update_events(c);
	if (c->above_high && buf_len(&c->tx) < PROTO_CONN_TXQ_HIGH) {
		c->above_high = false;
		if (c->ops->writable)
			c->ops->writable(c, c->userdata);
	}
	return 0;
}

static int conn_process_rx(struct proto_conn *c)
{
	size_t off = 0;
	int r = 0;

	while (!c->closed && !c->free_pending) {
		struct proto_frame f;
		ssize_t n = proto_frame_decode(c->rx + off, c->rx_len - off, &f);
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0)
			break;
		r = c->ops->frame(c, &f, c->userdata);
		off += (size_t)n;
		if (r < 0)
			break;
	}
	if (!c->closed && off > 0) {
		memmove(c->rx, c->rx + off, c->rx_len - off);
		c->rx_len -= off;
	}
	return r;
}

static int conn_read(struct proto_conn *c)
{
	size_t budget = RX_BUDGET;

	while (budget > 0 && !c->closed && !c->free_pending) {
		ssize_t n = read(c->fd, c->rx + c->rx_len, RX_CAP - c->rx_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		c->rx_len += (size_t)n;
		budget -= MIN(budget, (size_t)n);
		int r = conn_process_rx(c);
		if (r < 0)
			return r;
	}
	return 0;
}

static int on_io(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct proto_conn *c = userdata;
	int r = 0;
	(void)s;
	(void)fd;

	c->depth++;
	if (revents & EPOLLIN)
		r = conn_read(c);
	if (r >= 0 && !c->closed && !c->free_pending && (revents & EPOLLOUT))
		r = conn_flush(c);
	if (r >= 0 && !c->closed && !c->free_pending && (revents & (EPOLLHUP | EPOLLERR)) &&
	    !(revents & EPOLLIN))
		r = -ECONNRESET;
	if (r < 0 && !c->free_pending)
		conn_close(c, r == -ECONNRESET ? 0 : r);
	conn_leave(c);
	return 0;
}

int proto_conn_new(struct event *e, int fd, const struct proto_conn_ops *ops, void *userdata,
		   struct proto_conn **ret)
{
	int r = fd_set_nonblock(fd, true);
	if (r < 0) {
		close(fd);
		return r;
	}
	struct proto_conn *c = xnew0(struct proto_conn, 1);
	c->fd = fd;
	c->ops = ops;
	c->userdata = userdata;
	c->rx = xmalloc(RX_CAP);
	r = event_add_io(e, &c->src, fd, EPOLLIN, on_io, c);
	if (r < 0) {
		conn_destroy(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct proto_conn *proto_conn_free(struct proto_conn *c)
{
	if (!c)
		return NULL;
	if (c->depth > 0) {
		/* Inside our own callback: stop everything now, release on the way out. */
		c->free_pending = true;
		c->src = event_source_free(c->src);
		c->closed = true;
		return NULL;
	}
	conn_destroy(c);
	return NULL;
}

int proto_conn_send(struct proto_conn *c, const uint8_t *frame, size_t len)
{
	if (c->closed)
		return -EPIPE;
	if (buf_len(&c->tx) + len > PROTO_CONN_TXQ_MAX)
		return -ENOBUFS;

	bool was_empty = buf_empty(&c->tx);
	buf_append(&c->tx, frame, len);
	if (buf_len(&c->tx) >= PROTO_CONN_TXQ_HIGH)
		c->above_high = true;
	if (!was_empty)
		return 0;
	/* Try to write at once; leftovers go out on EPOLLOUT. */
	ssize_t n = buf_flush_fd(&c->tx, c->fd);
	if (n < 0)
		return (int)n;
	conn_update_events(c);
	return 0;
}

int proto_conn_send_data(struct proto_conn *c, uint32_t stream, const void *p, size_t n)
{
	uint8_t hdr[PROTO_HDR_SIZE];

	if (c->closed)
		return -EPIPE;
	if (n > PROTO_MAX_PAYLOAD || stream == 0)
		return -EINVAL;
	if (buf_len(&c->tx) + n + PROTO_HDR_SIZE > PROTO_CONN_TXQ_MAX)
		return -ENOBUFS;
	proto_frame_encode_header(hdr, PROTO_DATA, 0, stream, (uint32_t)n);
	bool was_empty = buf_empty(&c->tx);
	buf_append(&c->tx, hdr, sizeof(hdr));
	buf_append(&c->tx, p, n);
	if (buf_len(&c->tx) >= PROTO_CONN_TXQ_HIGH)
		c->above_high = true;
	if (!was_empty)
		return 0;
	ssize_t k = buf_flush_fd(&c->tx, c->fd);
	if (k < 0)
		return (int)k;
	conn_update_events(c);
	return 0;
}

int proto_conn_send_credit(struct proto_conn *c, uint32_t stream, uint32_t credit)
{
	uint8_t f[PROTO_HDR_SIZE + 4];
	proto_frame_encode_header(f, PROTO_CREDIT, 0, stream, 4);
	for (int i = 0; i < 4; i++)
		f[PROTO_HDR_SIZE + i] = (uint8_t)(credit >> (8 * i));
	return proto_conn_send(c, f, sizeof(f));
}

int proto_conn_send_close(struct proto_conn *c, uint32_t stream)
{
	uint8_t f[PROTO_HDR_SIZE];
	proto_frame_encode_header(f, PROTO_CLOSE, 0, stream, 0);
	return proto_conn_send(c, f, sizeof(f));
}

int proto_conn_flush_sync(struct proto_conn *c, int timeout_ms)
{
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + (usec_t)timeout_ms * USEC_PER_MSEC;

	while (!c->closed && !buf_empty(&c->tx)) {
		ssize_t n = buf_flush_fd(&c->tx, c->fd);
		if (n < 0)
			return (int)n;
		if (buf_empty(&c->tx))
			break;
		usec_t now = now_usec(CLOCK_MONOTONIC);
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
		(void)poll(&pfd, 1, (int)((deadline - now) / USEC_PER_MSEC) + 1);
	}
	conn_update_events(c);
	return c->closed ? -EPIPE : 0;
}

bool proto_conn_can_send_data(const struct proto_conn *c)
{
	return !c->closed && buf_len(&c->tx) < PROTO_CONN_TXQ_HIGH;
}

size_t proto_conn_queued(const struct proto_conn *c)
{
	return buf_len(&c->tx);
}

bool proto_conn_is_closed(const struct proto_conn *c)
{
	return c->closed;
}

void proto_window_init(struct proto_window *w)
{
	*w = (struct proto_window){ .send = PROTO_INITIAL_WINDOW };
}

int proto_window_on_data(struct proto_window *w, uint32_t n)
{
	if (n > PROTO_INITIAL_WINDOW - w->received)
		return -EPROTO;
	w->received += n;
	return 0;
}

void proto_window_on_consumed(struct proto_window *w, uint32_t n)
{
	w->consumed += n;
	if (w->consumed > w->received)
		w->consumed = w->received;
}

uint32_t proto_window_take_credit(struct proto_window *w, bool force)
{
	if (w->consumed == 0)
		return 0;
	if (!force && w->consumed < PROTO_INITIAL_WINDOW / 4)
		return 0;
	uint32_t credit = w->consumed;
	w->received -= credit;
	w->consumed = 0;
	return credit;
}

int proto_window_on_credit(struct proto_window *w, uint32_t n)
{
	if (n > PROTO_INITIAL_WINDOW - w->send)
		return -EPROTO;
	w->send += n;
	return 0;
}
