/* SPDX-License-Identifier: Apache-2.0 */
/* Streams over HTTP connections: the adapters between stream.h and http-server.h. */
#include "http-stream.h"

#include <stdlib.h>

#include "alloc.h"
#include "http-server.h"

struct http_stream {
	struct http_conn *conn;
	struct stream *s; /* not a reference: the stream owns this */
	bool hijacked;
	bool begun;
	int status;
	char *content_type;
	char *headers; /* extra head lines, or NULL */
};

static void on_data(struct http_conn *c, const uint8_t *p, size_t n, void *ud)
{
	struct http_stream *hs = ud;
	(void)c;
	stream_on_data(hs->s, p, n);
}

static void on_eof(struct http_conn *c, void *ud)
{
	struct http_stream *hs = ud;
	(void)c;
	stream_on_eof(hs->s);
}

static void on_drain(struct http_conn *c, void *ud)
{
	struct http_stream *hs = ud;
	(void)c;
	stream_on_drained(hs->s);
}

static void on_close(struct http_conn *c, void *ud)
{
	struct http_stream *hs = ud;
	(void)c;
	stream_on_closed(hs->s);
}

static const struct http_hijack_ops hijack_ops = { .data = on_data, .eof = on_eof };

static void begin(struct http_stream *hs)
{
	if (hs->hijacked || hs->begun)
		return;
	hs->begun = true;
	http_stream_begin(hs->conn, hs->status, hs->content_type, hs->headers);
}

static int t_write(void *t, const void *p, size_t n)
{
	struct http_stream *hs = t;
	if (hs->hijacked)
		return http_raw_write(hs->conn, p, n);
	begin(hs);
	return http_stream_write(hs->conn, p, n);
}

static size_t t_queued(const void *t)
{
	const struct http_stream *hs = t;
	return http_conn_queued(hs->conn);
}

static bool t_is_closed(const void *t)
{
	const struct http_stream *hs = t;
	return http_conn_is_closed(hs->conn);
}

static void t_pause_read(void *t, bool pause)
{
	struct http_stream *hs = t;
	http_conn_pause_read(hs->conn, pause);
}

static void t_end(void *t)
{
	struct http_stream *hs = t;
	if (hs->hijacked) {
		http_raw_shutdown_write(hs->conn);
		return;
	}
	begin(hs);
	http_conn_on_close(hs->conn, NULL, NULL);
	http_conn_on_drain(hs->conn, NULL, NULL);
	http_stream_end(hs->conn);
}

static void t_close(void *t)
{
	struct http_stream *hs = t;
	http_conn_close(hs->conn);
}

static void t_release(void *t)
{
	struct http_stream *hs = t;
	if (hs->hijacked) {
		http_hijack_release(hs->conn);
	} else {
		http_conn_on_close(hs->conn, NULL, NULL);
		http_conn_on_drain(hs->conn, NULL, NULL);
	}
	http_conn_unref(hs->conn);
	free(hs->content_type);
	free(hs->headers);
	free(hs);
}

static const struct stream_transport transport = {
	.write = t_write,
	.queued = t_queued,
	.is_closed = t_is_closed,
	.pause_read = t_pause_read,
	.end = t_end,
	.close = t_close,
	.release = t_release,
};

static struct stream *make(struct http_conn *conn, bool hijacked, int status,
			   const char *content_type)
{
	struct http_stream *hs = xnew0(struct http_stream, 1);
	hs->conn = http_conn_ref(conn);
	hs->hijacked = hijacked;
	hs->status = status;
	hs->content_type = xstrdup(content_type);
	hs->s = stream_new(&transport, hs);
	if (hijacked)
		http_hijack(conn, content_type, &hijack_ops, hs);
	http_conn_on_close(conn, on_close, hs);
	http_conn_on_drain(conn, on_drain, hs);
	return hs->s;
}

struct stream *api_stream_hijack(struct http_conn *conn, const char *content_type)
{
	return make(conn, true, 101, content_type);
}

struct stream *api_stream_response(struct http_conn *conn, int status, const char *content_type)
{
	return make(conn, false, status, content_type);
}

void api_stream_set_headers(struct stream *s, const char *lines)
{
	struct http_stream *hs = stream_transport_data(s, &transport);
	if (hs && !hs->begun) {
		free(hs->headers);
		hs->headers = xstrdup(lines);
	}
}

bool api_stream_begun(const struct stream *s)
{
	const struct http_stream *hs = stream_transport_data(s, &transport);
	return hs && (hs->hijacked || hs->begun);
}

void api_stream_begin(struct stream *s)
{
	struct http_stream *hs = stream_transport_data(s, &transport);
	if (hs)
		begin(hs);
}

const char *api_stream_media_type(bool raw)
{
	return raw ? "application/vnd.docker.raw-stream"
		   : "application/vnd.docker.multiplexed-stream";
}
