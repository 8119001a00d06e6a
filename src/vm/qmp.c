/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QMP client. Owns the socket, its io source, a bounded line buffer and a
 * FIFO of pending commands (sent in order; QMP answers in order, and each
 * carries our "id" which is checked).
 */
#include "qmp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "cleanup.h"
#include "event.h"
#include "fd-util.h"
#include "log.h"

#define QMP_LINE_MAX (1024 * 1024)

struct qmp_cmd {
	struct qmp_cmd *next;
	uint64_t id;
	char *line;
	qmp_reply_fn cb;
	void *userdata;
	int fd; /* passed with the command (SCM_RIGHTS), owned; -1: none */
	bool sent;
};

struct qmp {
	int fd;
	struct event_source *src;
	struct buf rx;
	struct buf tx;
	struct qmp_cmd *head, *tail;
	uint64_t next_id;
	bool greeted;
	bool ready; /* capabilities negotiated */
	bool closed;
	bool fd_waits; /* the head command's fd waits for the socket to be writable */
	qmp_event_fn on_event;
	qmp_closed_fn on_closed;
	void *userdata;
};

static void cmd_free(struct qmp_cmd *c)
{
	safe_close(c->fd);
	free(c->line);
	free(c);
}

static void update_events(struct qmp *q)
{
	bool out = !buf_empty(&q->tx) || q->fd_waits;
	if (q->src)
		(void)event_source_set_io_events(q->src, EPOLLIN | (out ? EPOLLOUT : 0));
}

/* One sendmsg of p with fd attached (SCM_RIGHTS): bytes sent, or -errno. */
static ssize_t send_with_fd(int sock, const void *p, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static void send_next(struct qmp *q)
{
	struct qmp_cmd *c = q->head;
	if (!c || c->sent || q->closed)
		return;
	/* Before negotiation only qmp_capabilities (id 0) may go out. */
	if (!q->ready && c->id != 0)
		return;
	if (c->fd >= 0) {
		/* Its fd goes with its first byte: what was queued before is out first. */
		if (!buf_empty(&q->tx))
			return;
		_cleanup_free_ char *line = xasprintf("%s\n", c->line);
		size_t len = strlen(line);
		ssize_t n = send_with_fd(q->fd, line, len, c->fd);
		if (n == -EAGAIN) {
			q->fd_waits = true; /* sent again once the socket is writable */
			update_events(q);
			return;
		}
		/* A failed send shows as the socket closing, which ends the commands. */
		if (n > 0)
			buf_append(&q->tx, line + n, len - (size_t)n);
		q->fd_waits = false;
		c->fd = safe_close(c->fd);
		c->sent = true;
		(void)buf_flush_fd(&q->tx, q->fd);
		update_events(q);
		return;
	}
	buf_append(&q->tx, c->line, strlen(c->line));
	buf_append(&q->tx, "\n", 1);
	c->sent = true;
	(void)buf_flush_fd(&q->tx, q->fd);
	update_events(q);
}

static void fail_all(struct qmp *q, const char *why)
{
	while (q->head) {
		struct qmp_cmd *c = q->head;
		q->head = c->next;
		if (c->cb)
			c->cb(q, -EPIPE, why, NULL, c->userdata);
		cmd_free(c);
	}
	q->tail = NULL;
}

static void qmp_close(struct qmp *q)
{
	if (q->closed)
		return;
	q->closed = true;
	q->src = event_source_free(q->src);
	q->fd = safe_close(q->fd);
	fail_all(q, "QMP connection closed");
	if (q->on_closed)
		q->on_closed(q, q->userdata);
}

static void handle_reply(struct qmp *q, json_t *msg)
{
	struct qmp_cmd *c = q->head;
	json_t *id = json_object_get(msg, "id");
	if (!c || !c->sent || !json_is_integer(id) || (uint64_t)json_integer_value(id) != c->id) {
		log_debug("qmp: unexpected reply, ignoring");
		return;
	}
	q->head = c->next;
	if (!q->head)
		q->tail = NULL;

	json_t *err = json_object_get(msg, "error");
	if (c->id == 0)
		q->ready = err == NULL;
	if (c->cb) {
		if (err) {
			const char *desc = json_string_value(json_object_get(err, "desc"));
			c->cb(q, -EIO, desc ? desc : "QMP error", NULL, c->userdata);
		} else {
			c->cb(q, 0, NULL, json_object_get(msg, "return"), c->userdata);
		}
	}
	cmd_free(c);
	send_next(q);
}

static void handle_line(struct qmp *q, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(msg)) {
		log_debug("qmp: malformed message, ignoring");
		json_decref(msg);
		return;
	}
	if (json_object_get(msg, "QMP")) {
		q->greeted = true;
		send_next(q);
	} else if (json_object_get(msg, "event")) {
		const char *name = json_string_value(json_object_get(msg, "event"));
		if (name && q->on_event)
			q->on_event(q, name, json_object_get(msg, "data"), q->userdata);
	} else if (json_object_get(msg, "return") || json_object_get(msg, "error")) {
		handle_reply(q, msg);
	}
	json_decref(msg);
}

static int on_io(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct qmp *q = userdata;
	(void)s;

	if (revents & EPOLLOUT) {
		if (buf_flush_fd(&q->tx, fd) < 0) {
			qmp_close(q);
			return 0;
		}
		update_events(q);
		if (buf_empty(&q->tx))
			send_next(q); /* a command with an fd waited for the bytes before it */
	}
	if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return 0;

	uint8_t *p = buf_reserve(&q->rx, 65536);
	ssize_t n = read(fd, p, 65536);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		qmp_close(q);
		return 0;
	}
	buf_commit(&q->rx, (size_t)n);
	for (;;) {
		const char *start = (const char *)buf_peek(&q->rx);
		const char *nl = memchr(start, '\n', buf_len(&q->rx));
		if (!nl)
			break;
		size_t len = (size_t)(nl - start);
		handle_line(q, start, len);
		if (q->closed)
			return 0;
		buf_consume(&q->rx, len + 1);
	}
	if (buf_len(&q->rx) > QMP_LINE_MAX) {
		log_debug("qmp: line over %d bytes, closing", QMP_LINE_MAX);
		qmp_close(q);
	}
	return 0;
}

int qmp_new(struct event *e, int fd, qmp_event_fn on_event, qmp_closed_fn on_closed, void *userdata,
	    struct qmp **ret)
{
	struct qmp *q = xnew0(struct qmp, 1);
	q->fd = fd;
	q->on_event = on_event;
	q->on_closed = on_closed;
	q->userdata = userdata;
	int r = fd_set_nonblock(fd, true);
	if (r >= 0)
		r = event_add_io(e, &q->src, fd, EPOLLIN, on_io, q);
	if (r < 0) {
		qmp_free(q);
		return r;
	}
	/* qmp_capabilities is command id 0, sent right after the greeting. */
	q->next_id = 0;
	r = qmp_execute(q, "qmp_capabilities", NULL, NULL, NULL);
	if (r < 0) {
		qmp_free(q);
		return r;
	}
	*ret = q;
	return 0;
}

struct qmp *qmp_free(struct qmp *q)
{
	if (!q)
		return NULL;
	/* The owner is going away: callbacks only get to release their context. */
	while (q->head) {
		struct qmp_cmd *c = q->head;
		q->head = c->next;
		if (c->cb)
			c->cb(q, -ECANCELED, "cancelled", NULL, c->userdata);
		cmd_free(c);
	}
	q->tail = NULL;
	q->on_closed = NULL;
	qmp_close(q);
	buf_done(&q->rx);
	buf_done(&q->tx);
	free(q);
	return NULL;
}

int qmp_execute(struct qmp *q, const char *command, json_t *args, qmp_reply_fn cb, void *userdata)
{
	return qmp_execute_fd(q, command, args, -EBADF, cb, userdata);
}

int qmp_execute_fd(struct qmp *q, const char *command, json_t *args, int fd, qmp_reply_fn cb,
		   void *userdata)
{
	if (q->closed) {
		json_decref(args);
		safe_close(fd);
		return -EPIPE;
	}
	struct qmp_cmd *c = xnew0(struct qmp_cmd, 1);
	c->fd = fd;
	c->id = q->next_id++;
	c->cb = cb;
	c->userdata = userdata;
	json_t *msg = json_pack("{s:s, s:I}", "execute", command, "id", (json_int_t)c->id);
	if (args)
		json_object_set_new(msg, "arguments", args);
	c->line = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!c->line) {
		cmd_free(c);
		return -ENOMEM;
	}
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	if (q->greeted)
		send_next(q);
	return 0;
}
