/* SPDX-License-Identifier: Apache-2.0 */
/* A worker's output pipe copied to a chunked response (see worker-stream.h). */
#include "worker-stream.h"

#include <errno.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "event.h"
#include "fd-util.h"
#include "http-server.h"

struct worker_stream {
	struct http_conn *conn;
	int fd;
	struct event_source *src;
	const char *content_type;
	const struct worker_stream_ops *ops;
	void *userdata;
	bool started;
};

static int on_output(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct worker_stream *ws = userdata;
	char buf[65536];
	(void)s;
	(void)revents;
	for (;;) {
		if (!http_conn_is_closed(ws->conn) &&
		    http_conn_queued(ws->conn) >= HTTP_STREAM_HIGH) {
			(void)event_source_set_enabled(ws->src, false); /* resumed on drain */
			return 0;
		}
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			ws->src = event_source_free(ws->src);
			ws->ops->eof(ws->userdata); /* may free ws */
			return 0;
		}
		if (http_conn_is_closed(ws->conn))
			continue; /* drain and drop: the worker must not block */
		if (!ws->started) {
			ws->started = true;
			http_stream_begin(ws->conn, 200, ws->content_type, NULL);
		}
		(void)http_stream_write(ws->conn, buf, (size_t)n);
	}
}

static void on_drain(struct http_conn *c, void *userdata)
{
	struct worker_stream *ws = userdata;
	(void)c;
	if (ws->src)
		(void)event_source_set_enabled(ws->src, true);
}

static void on_closed(struct http_conn *c, void *userdata)
{
	struct worker_stream *ws = userdata;
	(void)c;
	if (ws->src)
		(void)event_source_set_enabled(ws->src, true); /* keep draining */
	if (ws->ops->closed)
		ws->ops->closed(ws->userdata);
}

int worker_stream_new(struct event *e, struct http_conn *conn, int fd, const char *content_type,
		      const struct worker_stream_ops *ops, void *userdata,
		      struct worker_stream **ret)
{
	struct worker_stream *ws = xnew0(struct worker_stream, 1);
	ws->fd = fd;
	ws->content_type = content_type;
	ws->ops = ops;
	ws->userdata = userdata;
	(void)fd_set_nonblock(fd, true);
	int r = event_add_io(e, &ws->src, fd, EPOLLIN, on_output, ws);
	if (r < 0) {
		safe_close(fd);
		free(ws);
		return r;
	}
	ws->conn = http_conn_ref(conn);
	http_conn_on_drain(conn, on_drain, ws);
	http_conn_on_close(conn, on_closed, ws);
	*ret = ws;
	return 0;
}

struct worker_stream *worker_stream_free(struct worker_stream *ws)
{
	if (!ws)
		return NULL;
	ws->src = event_source_free(ws->src);
	safe_close(ws->fd);
	if (ws->conn) {
		http_conn_on_drain(ws->conn, NULL, NULL);
		http_conn_on_close(ws->conn, NULL, NULL);
		http_conn_unref(ws->conn);
	}
	free(ws);
	return NULL;
}

bool worker_stream_started(const struct worker_stream *ws)
{
	return ws && ws->started;
}
