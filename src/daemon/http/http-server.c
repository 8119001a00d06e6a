/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct http_server owns the listening socket and the list of connections;
 * struct http_conn owns its socket, its input and output buffers and the
 * current request. One request at a time per connection: pipelined bytes
 * wait in the input buffer until the response is complete.
 *
 * Connection states:
 *   HEAD -> BODY (buffered) -> WAIT (dispatched, response pending) -> HEAD ...
 *   HEAD -> STREAM (body copied to an fd while the handler runs) -> WAIT
 *   WAIT -> HIJACKED (raw bytes both ways, half-close aware)
 * Any state -> CLOSED on error or hang-up; the struct lives while referenced.
 */
#include "http-server.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "cleanup.h"
#include "event.h"
#include "fd-util.h"
#include "http/http-parser.h"
#include "log.h"
#include "strv.h"
#include "time-util.h"

enum conn_state {
	S_HEAD,
	S_BODY,
	S_STREAM,
	S_WAIT,
	S_DISCARD, /* answered early: reading and dropping the rest of the body */
	S_HIJACKED,
	S_CLOSED,
};

/* How often, and how long at most, a hijack waits for its head to be read. */
#define HEAD_POLL_USEC	   (1 * USEC_PER_MSEC)
#define HEAD_WAIT_MAX_USEC (500 * USEC_PER_MSEC)

struct http_server {
	struct event *event;
	int fd;
	struct event_source *src;
	const struct http_handler *handler;
	void *userdata;
	struct http_conn *conns;
	size_t n_conns;
};

struct http_conn {
	struct http_server *srv;
	struct http_conn *prev, *next;
	unsigned refs;
	int fd;
	struct event_source *src;
	enum conn_state state;
	struct buf in;
	struct buf out;
	bool keep_alive;
	bool read_paused;
	bool peer_eof;
	bool close_after_flush;
	bool shut_write_pending;
	bool write_shut;

	/* the current request */
	struct http_request req;
	bool have_req;
	bool chunked;
	uint64_t remaining; /* Content-Length left */
	struct http_chunked dec;
	struct buf body;
	bool body_done;
	uint64_t discarded;
	bool response_started;
	bool response_done;
	int status;	  /* of the response, for the request log */
	usec_t t_request; /* when it was dispatched */
	bool logged;	  /* the request log has its line */
	bool streaming;
	bool upgrade_requested;

	/* a streamed request body */
	int body_fd;
	struct event_source *body_src;
	void (*body_cb)(struct http_conn *, int, void *);
	void *body_ud;

	/* hijack */
	const struct http_hijack_ops *hj;
	void *hj_ud;

	void (*on_close)(struct http_conn *, void *);
	void *on_close_ud;
	void (*on_drain)(struct http_conn *, void *);
	void *on_drain_ud;
	bool above_high;

	/* A hijack's stream waits until the client has read the response head: clients
	 * that read the stream from the raw socket after a buffered HTTP parser took the
	 * head (docker-py) would lose the bytes that came with it. */
	bool head_wait;	    /* holding the stream bytes back */
	size_t head_unsent; /* bytes of the head not yet sent */
	usec_t head_deadline;
	struct event_source *head_timer;
};

static void conn_process(struct http_conn *c);
static void body_finish(struct http_conn *c, int error);
static void conn_update(struct http_conn *c);

/* --- requests --- */

static void request_done(struct http_request *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->header_names[i]);
		free(r->header_values[i]);
	}
	free(r->header_names);
	free(r->header_values);
	free(r->body);
	*r = (struct http_request){ 0 };
}

const char *http_request_header(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->header_names[i], name) == 0)
			return r->header_values[i];
	return NULL;
}

static int hexv(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

char *http_percent_decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
			out[o++] = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
			i += 2;
		} else if (s[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* Finds key in the query; returns a pointer to its value (or to "" for a bare key). */
static const char *query_find(const char *q, const char *name, size_t *ret_len)
{
	size_t nl = strlen(name);
	const char *p = q;
	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		_cleanup_free_ char *key = http_percent_decode(p, klen);
		if (strlen(key) == nl && memcmp(key, name, nl) == 0) {
			*ret_len = eq ? len - klen - 1 : 0;
			return eq ? eq + 1 : p + len;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

char *http_query_get(const struct http_request *r, const char *name)
{
	size_t len;
	const char *v = query_find(r->query, name, &len);
	return v ? http_percent_decode(v, len) : NULL;
}

char **http_query_get_all(const struct http_request *r, const char *name)
{
	char **out = strv_copy(NULL);
	const char *q = r->query;
	while (q && *q) {
		size_t len;
		const char *v = query_find(q, name, &len);
		if (!v)
			break;
		out = strv_append_take(out, http_percent_decode(v, len));
		q = strchr(v, '&');
		if (q)
			q++;
	}
	return out;
}

bool http_query_has(const struct http_request *r, const char *name)
{
	size_t len;
	return query_find(r->query, name, &len) != NULL;
}

bool http_query_bool(const struct http_request *r, const char *name, bool dflt)
{
	_cleanup_free_ char *v = http_query_get(r, name);
	if (!v)
		return dflt;
	if (v[0] == '\0')
		return true; /* a bare key, as Docker's boolValue treats it */
	return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0;
}

/* --- connection lifetime --- */

struct http_conn *http_conn_ref(struct http_conn *c)
{
	c->refs++;
	return c;
}

static void conn_free(struct http_conn *c)
{
	buf_done(&c->in);
	buf_done(&c->out);
	buf_done(&c->body);
	request_done(&c->req);
	safe_close(c->body_fd);
	event_source_free(c->head_timer); /* NULL once closed; freed here should it not be */
	free(c);
}

struct http_conn *http_conn_unref(struct http_conn *c)
{
	if (c && --c->refs == 0)
		conn_free(c);
	return NULL;
}

static void conn_close(struct http_conn *c)
{
	if (c->state == S_CLOSED)
		return;
	c->state = S_CLOSED;
	c->src = event_source_free(c->src);
	c->body_src = event_source_free(c->body_src);
	c->head_timer = event_source_free(c->head_timer);
	c->fd = safe_close(c->fd);
	c->body_fd = safe_close(c->body_fd);
	struct http_server *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	if (c->body_cb) {
		void (*cb)(struct http_conn *, int, void *) = c->body_cb;
		c->body_cb = NULL;
		cb(c, -ECONNRESET, c->body_ud);
	}
	if (c->on_close) {
		void (*cb)(struct http_conn *, void *) = c->on_close;
		c->on_close = NULL;
		cb(c, c->on_close_ud);
	}
	http_conn_unref(c); /* the server's reference */
}

void http_conn_close(struct http_conn *c)
{
	conn_close(c);
}

bool http_conn_is_closed(const struct http_conn *c)
{
	return c->state == S_CLOSED;
}

const struct http_request *http_conn_request(const struct http_conn *c)
{
	return &c->req;
}

void http_conn_on_close(struct http_conn *c, void (*cb)(struct http_conn *c, void *ud), void *ud)
{
	c->on_close = cb;
	c->on_close_ud = ud;
}

void http_conn_on_drain(struct http_conn *c, void (*cb)(struct http_conn *c, void *ud), void *ud)
{
	c->on_drain = cb;
	c->on_drain_ud = ud;
}

size_t http_conn_queued(const struct http_conn *c)
{
	return buf_len(&c->out);
}

/* --- output --- */

/* The client has read everything sent (AF_UNIX: nothing left in its receive queue). */
static bool peer_read_all(const struct http_conn *c)
{
	int queued = 0;
	return ioctl(c->fd, SIOCOUTQ, &queued) < 0 || queued == 0;
}

static int on_head_timer(struct event_source *s, usec_t now, void *userdata);

/* true while the stream must wait for the client to read the head. */
static bool head_holding(struct http_conn *c)
{
	if (!c->head_wait || c->head_unsent)
		return false;
	if (peer_read_all(c) || now_usec(CLOCK_MONOTONIC) >= c->head_deadline) {
		c->head_wait = false;
		c->head_timer = event_source_free(c->head_timer);
		return false;
	}
	if (!c->head_timer && event_add_time_relative(c->srv->event, &c->head_timer, HEAD_POLL_USEC,
						      on_head_timer, c) < 0)
		c->head_wait = false; /* no timer: send at once, as before */
	else if (c->head_timer)
		(void)event_source_set_time(c->head_timer,
					    now_usec(CLOCK_MONOTONIC) + HEAD_POLL_USEC);
	return c->head_wait;
}

static void conn_flush(struct http_conn *c)
{
	if (c->state == S_CLOSED)
		return;
	while (!buf_empty(&c->out) && !head_holding(c)) {
		size_t want = buf_len(&c->out);
		if (c->head_wait)
			want = MIN(want, c->head_unsent);
		ssize_t n = send(c->fd, buf_peek(&c->out), want, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_close(c);
			return;
		}
		buf_consume(&c->out, (size_t)n);
		if (c->head_wait)
			c->head_unsent -= (size_t)n;
	}
	if (buf_empty(&c->out)) {
		if (c->close_after_flush) {
			conn_close(c);
			return;
		}
		if (c->shut_write_pending && !c->write_shut) {
			(void)shutdown(c->fd, SHUT_WR);
			c->write_shut = true;
			if (c->peer_eof) {
				conn_close(c);
				return;
			}
		}
	}
	if (c->above_high && buf_len(&c->out) < HTTP_STREAM_HIGH) {
		c->above_high = false;
		if (c->on_drain)
			c->on_drain(c, c->on_drain_ud);
	}
	conn_update(c);
}

static int on_head_timer(struct event_source *s, usec_t now, void *userdata)
{
	struct http_conn *c = userdata;
	(void)s;
	(void)now;
	conn_flush(c);
	return 0;
}

static void queue(struct http_conn *c, const void *p, size_t n)
{
	if (c->state == S_CLOSED || c->write_shut)
		return;
	buf_append(&c->out, p, n);
	if (buf_len(&c->out) >= HTTP_STREAM_HIGH)
		c->above_high = true;
}

static const char *reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Request Entity Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

static void write_head(struct http_conn *c, int status, const char *content_type,
		       const char *framing, const char *extra)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nApi-Version: 1.51\r\nDocker-Experimental: false\r\n"
			 "Ostype: linux\r\nServer: Docker/28.0.0-arca (linux)\r\n%s%s%s%s%s",
			 status, reason(status), content_type ? "Content-Type: " : "",
			 content_type ? content_type : "", content_type ? "\r\n" : "", framing,
			 c->keep_alive ? "" : "Connection: close\r\n");
	queue(c, head, (size_t)MIN(n, (int)sizeof(head) - 1));
	if (extra)
		queue(c, extra, strlen(extra));
	queue(c, "\r\n", 2);
	c->response_started = true;
	c->status = status;
}

/* The request log, at debug level: what users grep when something goes wrong. */
static void log_request(struct http_conn *c)
{
	if (c->logged || log_get_level() < LOG_LEVEL_DEBUG || !c->req.method)
		return;
	c->logged = true;
	log_debug("%s %s%s%s -> %d in %llu ms", c->req.method, c->req.path,
		  c->req.query && c->req.query[0] ? "?" : "", c->req.query ? c->req.query : "",
		  c->status,
		  (unsigned long long)((now_usec(CLOCK_MONOTONIC) - c->t_request) / USEC_PER_MSEC));
}

/* The response is complete: continue with the next request, or close. */
static void response_finished(struct http_conn *c)
{
	c->response_done = true;
	if (c->state == S_CLOSED || c->state == S_HIJACKED)
		return;
	log_request(c);
	if (!c->body_done && (c->state == S_STREAM || c->state == S_WAIT)) {
		/* Answered before the body was read (an early error). Closing now
		 * would reset the connection under a client still sending, which
		 * would never see the answer: read and drop the rest, then close. */
		if (c->body_fd >= 0) {
			body_finish(c, -ECANCELED); /* comes back here in S_WAIT */
			return;
		}
		c->state = S_DISCARD;
		c->keep_alive = false;
		c->read_paused = false;
		c->discarded = 0;
		buf_done(&c->body);
		conn_flush(c);
		if (c->state == S_DISCARD)
			conn_process(c);
		return;
	}
	if (!c->keep_alive || !c->body_done || c->state == S_STREAM)
		c->close_after_flush = true;
	conn_flush(c);
	if (c->state == S_CLOSED || c->close_after_flush)
		return;
	request_done(&c->req);
	c->have_req = false;
	buf_done(&c->body);
	c->state = S_HEAD;
	c->response_started = c->response_done = c->streaming = false;
	c->on_close = NULL;
	c->on_drain = NULL;
	conn_process(c);
}

void http_reply(struct http_conn *c, int status, const char *content_type, const void *body,
		size_t len)
{
	http_reply_headers(c, status, content_type, NULL, body, len);
}

void http_reply_headers(struct http_conn *c, int status, const char *content_type,
			const char *extra_headers, const void *body, size_t len)
{
	if (c->state == S_CLOSED || c->response_started)
		return;
	char framing[64];
	snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", len);
	bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
	write_head(c, status, no_body ? NULL : content_type, no_body ? "" : framing, extra_headers);
	/* A HEAD answer carries the headers of a GET, not its body. */
	if (strcmp(c->req.method ? c->req.method : "", "HEAD") == 0)
		no_body = true;
	if (!no_body && len)
		queue(c, body, len);
	response_finished(c);
}

void http_reply_json(struct http_conn *c, int status, json_t *j)
{
	_cleanup_free_ char *s = j ? json_dumps(j, JSON_COMPACT) : xstrdup("null");
	json_decref(j);
	_cleanup_free_ char *line = xasprintf("%s\n", s ? s : "null");
	http_reply(c, status, "application/json", line, strlen(line));
}

void http_reply_empty(struct http_conn *c, int status)
{
	http_reply(c, status, NULL, NULL, 0);
}

int http_status_for(const struct arca_error *err)
{
	if (!err)
		return 500;
	switch (err->kind) {
	case ARCA_ERR_INVALID: return 400;
	case ARCA_ERR_NOT_FOUND: return 404;
	case ARCA_ERR_CONFLICT: return 409;
	case ARCA_ERR_NOT_MODIFIED: return 304;
	case ARCA_ERR_UNAUTHORIZED: return 401;
	case ARCA_ERR_FORBIDDEN: return 403;
	case ARCA_ERR_UNAVAILABLE: return 503;
	case ARCA_ERR_UNSUPPORTED: return 501;
	default: return 500;
	}
}

void http_reply_error(struct http_conn *c, const struct arca_error *err)
{
	http_reply_json(c, http_status_for(err),
			json_pack("{s:s}", "message", err ? err->msg : "internal error"));
}

void http_reply_errorf(struct http_conn *c, int status, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	http_reply_json(c, status, json_pack("{s:s}", "message", msg ? msg : "error"));
	free(msg);
}

void http_stream_begin(struct http_conn *c, int status, const char *content_type,
		       const char *extra_headers)
{
	if (c->state == S_CLOSED || c->response_started)
		return;
	write_head(c, status, content_type, "Transfer-Encoding: chunked\r\n", extra_headers);
	c->streaming = true;
	conn_flush(c);
}

int http_stream_write(struct http_conn *c, const void *p, size_t n)
{
	if (c->state == S_CLOSED)
		return -EPIPE;
	if (!c->streaming || n == 0)
		return 0;
	char hdr[32];
	int k = snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
	queue(c, hdr, (size_t)k);
	queue(c, p, n);
	queue(c, "\r\n", 2);
	conn_flush(c);
	return c->state == S_CLOSED ? -EPIPE : 0;
}

void http_stream_json(struct http_conn *c, json_t *j)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return;
	_cleanup_free_ char *line = xasprintf("%s\n", s);
	(void)http_stream_write(c, line, strlen(line));
}

void http_stream_end(struct http_conn *c)
{
	if (c->state == S_CLOSED || !c->streaming)
		return;
	queue(c, "0\r\n\r\n", 5);
	c->streaming = false;
	response_finished(c);
}

/* --- hijack --- */

void http_hijack(struct http_conn *c, const char *content_type, const struct http_hijack_ops *ops,
		 void *ud)
{
	if (c->state == S_CLOSED)
		return;
	c->keep_alive = false;
	c->hj = ops;
	c->hj_ud = ud;
	if (c->upgrade_requested)
		write_head(c, 101, content_type, "Connection: Upgrade\r\nUpgrade: tcp\r\n", NULL);
	else
		write_head(c, 200, content_type, "", NULL);
	c->head_wait = true;
	c->head_unsent = buf_len(&c->out);
	c->head_deadline = now_usec(CLOCK_MONOTONIC) + HEAD_WAIT_MAX_USEC;
	/* write_head added "Connection: close" for !keep_alive; harmless for a raw stream. */
	c->state = S_HIJACKED;
	c->response_started = c->response_done = true;
	log_request(c);
	conn_flush(c);
	/* Bytes that came with the request head belong to the stream. */
	if (c->state == S_HIJACKED)
		conn_process(c);
}

int http_raw_write(struct http_conn *c, const void *p, size_t n)
{
	if (c->state != S_HIJACKED || c->write_shut || c->shut_write_pending)
		return -EPIPE;
	queue(c, p, n);
	conn_flush(c);
	return c->state == S_CLOSED ? -EPIPE : 0;
}

void http_conn_pause_read(struct http_conn *c, bool pause)
{
	if (c->read_paused == pause)
		return;
	c->read_paused = pause;
	conn_update(c);
	if (!pause && c->state == S_HIJACKED && !buf_empty(&c->in))
		conn_process(c);
}

void http_hijack_release(struct http_conn *c)
{
	c->hj = NULL;
	c->hj_ud = NULL;
	c->on_close = NULL;
	c->on_drain = NULL;
	if (c->state == S_HIJACKED) {
		buf_done(&c->in); /* nobody reads it any more */
		c->read_paused = false;
		if (c->peer_eof)
			c->close_after_flush = true; /* the client is done too */
		conn_flush(c);
	}
}

void http_raw_shutdown_write(struct http_conn *c)
{
	if (c->state != S_HIJACKED)
		return;
	c->shut_write_pending = true;
	conn_flush(c);
}

/* --- input --- */

static void reply_bad(struct http_conn *c, int status, const char *msg)
{
	c->keep_alive = false;
	http_reply_json(c, status, json_pack("{s:s}", "message", msg));
}

static int build_request(struct http_conn *c, const struct http_request_head *h)
{
	struct http_request *r = &c->req;
	r->method = xstrndup(h->method, h->method_len);
	const char *q = memchr(h->target, '?', h->target_len);
	size_t plen = q ? (size_t)(q - h->target) : h->target_len;
	r->path = xstrndup(h->target, plen);
	r->query = q ? xstrndup(q + 1, h->target_len - plen - 1) : xstrdup("");
	r->minor_version = h->minor_version;
	r->n_headers = h->num_headers;
	r->header_names = xnew0(char *, h->num_headers + 1);
	r->header_values = xnew0(char *, h->num_headers + 1);
	for (size_t i = 0; i < h->num_headers; i++) {
		r->header_names[i] = xstrndup(h->headers[i].name, h->headers[i].name_len);
		r->header_values[i] = xstrndup(h->headers[i].value, h->headers[i].value_len);
	}
	c->have_req = true;

	c->keep_alive = h->minor_version == 1
			    ? !http_header_has_token(h, "Connection", "close")
			    : http_header_has_token(h, "Connection", "keep-alive");
	c->upgrade_requested = http_header_has_token(h, "Connection", "upgrade") &&
			       http_header_has_token(h, "Upgrade", "tcp");
	size_t len;
	const char *te = http_header_get(h, "Transfer-Encoding", &len);
	const char *cl = http_header_get(h, "Content-Length", &len);
	c->chunked = false;
	c->remaining = 0;
	c->dec = (struct http_chunked){ 0 };
	if (te) {
		if (!http_header_has_token(h, "Transfer-Encoding", "chunked") || cl)
			return -EINVAL; /* smuggling-prone or unsupported framing */
		c->chunked = true;
	} else if (cl) {
		char tmp[32];
		if (len == 0 || len >= sizeof(tmp))
			return -EINVAL;
		memcpy(tmp, cl, len);
		tmp[len] = '\0';
		for (size_t i = 0; i < len; i++)
			if (!isdigit((unsigned char)tmp[i]))
				return -EINVAL;
		c->remaining = strtoull(tmp, NULL, 10);
	}
	c->body_done = !c->chunked && c->remaining == 0;
	return 0;
}

/* Moves body bytes from `in` into `body`, decoding the framing. */
static int feed_body(struct http_conn *c)
{
	if (c->body_done || buf_empty(&c->in))
		return 0;
	if (!c->chunked) {
		size_t take = MIN((uint64_t)buf_len(&c->in), c->remaining);
		buf_append(&c->body, buf_peek(&c->in), take);
		buf_consume(&c->in, take);
		c->remaining -= take;
		c->body_done = c->remaining == 0;
		return 0;
	}
	size_t n = buf_len(&c->in);
	char *tmp = xmemdup(buf_peek(&c->in), n);
	size_t len = n;
	ssize_t left = http_chunked_decode(&c->dec, tmp, &len);
	if (left == -1) {
		free(tmp);
		return -EPROTO;
	}
	buf_append(&c->body, tmp, len);
	free(tmp);
	if (left >= 0) {
		c->body_done = true;
		buf_consume(&c->in, n - (size_t)left);
	} else {
		buf_consume(&c->in, n);
	}
	return 0;
}

static void dispatch(struct http_conn *c)
{
	if (c->state == S_BODY)
		c->state = S_WAIT; /* a streamed body keeps S_STREAM until it is all read */
	if (!c->req.body && buf_len(&c->body)) {
		c->req.body_len = buf_len(&c->body);
		c->req.body = xmalloc(c->req.body_len + 1);
		memcpy(c->req.body, buf_peek(&c->body), c->req.body_len);
		c->req.body[c->req.body_len] = '\0';
		buf_done(&c->body);
	}
	http_conn_ref(c);
	c->t_request = now_usec(CLOCK_MONOTONIC);
	c->logged = false;
	c->srv->handler->dispatch(c, &c->req, c->srv->userdata);
	http_conn_unref(c);
}

static void body_stream_flush(struct http_conn *c);

static void conn_process(struct http_conn *c)
{
	http_conn_ref(c);
	while (c->state != S_CLOSED) {
		if (c->state == S_HEAD) {
			if (buf_empty(&c->in))
				break;
			struct http_header headers[HTTP_MAX_HEADERS];
			struct http_request_head h = { .headers = headers };
			ssize_t n = http_parse_request((const char *)buf_peek(&c->in),
						       buf_len(&c->in), &h, HTTP_MAX_HEADERS);
			if (n == -2) {
				if (buf_len(&c->in) > HTTP_MAX_HEAD)
					reply_bad(c, 431, "request header fields too large");
				break;
			}
			if (n < 0) {
				reply_bad(c, 400, "malformed HTTP request");
				break;
			}
			if (build_request(c, &h) < 0) {
				buf_consume(&c->in, (size_t)n);
				reply_bad(c, 400, "invalid request framing");
				break;
			}
			buf_consume(&c->in, (size_t)n);
			const struct http_handler *hd = c->srv->handler;
			if (!c->body_done && hd->wants_stream &&
			    hd->wants_stream(c, &c->req, c->srv->userdata)) {
				c->state = S_STREAM;
				dispatch(c);
				if (c->state == S_STREAM)
					body_stream_flush(c);
				continue;
			}
			c->state = S_BODY;
			continue;
		}
		if (c->state == S_BODY) {
			if (feed_body(c) < 0) {
				reply_bad(c, 400, "malformed chunked body");
				break;
			}
			if (buf_len(&c->body) > HTTP_MAX_BODY) {
				reply_bad(c, 413, "request body too large");
				break;
			}
			if (!c->body_done)
				break;
			dispatch(c);
			continue;
		}
		if (c->state == S_STREAM) {
			body_stream_flush(c);
			break;
		}
		if (c->state == S_DISCARD) {
			if (feed_body(c) < 0) {
				conn_close(c);
				break;
			}
			c->discarded += buf_len(&c->body);
			buf_done(&c->body);
			if (c->discarded > HTTP_MAX_DISCARD) {
				conn_close(c);
				break;
			}
			if (c->body_done) {
				c->close_after_flush = true;
				conn_flush(c);
			}
			break;
		}
		if (c->state == S_HIJACKED) {
			if (!c->hj || !c->hj->data) {
				buf_done(&c->in); /* released, or no reader: dropped */
				break;
			}
			if (!buf_empty(&c->in) && !c->read_paused) {
				size_t n = buf_len(&c->in);
				uint8_t *copy = xmemdup(buf_peek(&c->in), n);
				buf_consume(&c->in, n);
				c->hj->data(c, copy, n, c->hj_ud);
				free(copy);
				continue;
			}
			break;
		}
		break; /* S_WAIT: the next request waits for this response */
	}
	conn_update(c);
	http_conn_unref(c);
}

/* --- streamed request bodies --- */

static void body_finish(struct http_conn *c, int error)
{
	c->body_src = event_source_free(c->body_src);
	c->body_fd = safe_close(c->body_fd);
	if (c->state == S_STREAM)
		c->state = S_WAIT;
	void (*cb)(struct http_conn *, int, void *) = c->body_cb;
	c->body_cb = NULL;
	if (cb)
		cb(c, error, c->body_ud);
	if (c->state != S_CLOSED && c->response_done)
		response_finished(c);
}

static void body_stream_flush(struct http_conn *c)
{
	if (c->body_fd < 0)
		return; /* the handler has not taken the body yet */
	if (feed_body(c) < 0) {
		body_finish(c, -EPROTO);
		return;
	}
	ssize_t n = buf_flush_fd(&c->body, c->body_fd);
	if (n < 0) {
		/* The consumer went away (EPIPE): the rest of the body is dropped. */
		buf_done(&c->body);
		c->keep_alive = false;
		body_finish(c, 0);
		return;
	}
	bool pending = !buf_empty(&c->body);
	if (c->body_src)
		(void)event_source_set_enabled(c->body_src, pending);
	if (!pending && c->body_done) {
		body_finish(c, 0);
		return;
	}
	/* Read more from the client only while the consumer keeps up. */
	c->read_paused = pending && buf_len(&c->body) > HTTP_STREAM_HIGH;
	conn_update(c);
}

static int on_body_fd(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	(void)s;
	(void)fd;
	(void)revents;
	body_stream_flush(userdata);
	return 0;
}

void http_body_to_fd(struct http_conn *c, int fd,
		     void (*done)(struct http_conn *c, int error, void *ud), void *ud)
{
	if (c->state != S_STREAM) {
		safe_close(fd);
		if (done)
			done(c, c->state == S_CLOSED ? -ECONNRESET : 0, ud);
		return;
	}
	(void)fd_set_nonblock(fd, true);
	c->body_fd = fd;
	c->body_cb = done;
	c->body_ud = ud;
	if (event_add_io(c->srv->event, &c->body_src, fd, EPOLLOUT, on_body_fd, c) < 0) {
		body_finish(c, -EIO);
		return;
	}
	(void)event_source_set_enabled(c->body_src, false);
	body_stream_flush(c);
}

/* --- socket events --- */

static void conn_update(struct http_conn *c)
{
	if (c->state == S_CLOSED || !c->src)
		return;
	uint32_t ev = 0;
	bool reading = !c->read_paused && !c->peer_eof;
	/* Don't read ahead more than one head while a response is pending. */
	if (c->state == S_WAIT && buf_len(&c->in) > HTTP_MAX_HEAD)
		reading = false;
	if (reading)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (!buf_empty(&c->out) && !(c->head_wait && !c->head_unsent))
		ev |= EPOLLOUT; /* while holding for the head, the timer flushes */
	(void)event_source_set_io_events(c->src, ev);
}

static void conn_read(struct http_conn *c)
{
	for (int i = 0; i < 16 && !c->read_paused; i++) {
		uint8_t *p = buf_reserve(&c->in, 65536);
		ssize_t n = read(c->fd, p, 65536);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_close(c);
			return;
		}
		if (n == 0) {
			c->peer_eof = true;
			break;
		}
		buf_commit(&c->in, (size_t)n);
		if (c->state == S_HEAD && buf_len(&c->in) > HTTP_MAX_HEAD + 65536)
			break;
	}
	conn_process(c);
	if (c->state == S_CLOSED || !c->peer_eof)
		return;
	/* The client closed its side. */
	if (c->state == S_HIJACKED) {
		if (c->hj && c->hj->eof)
			c->hj->eof(c, c->hj_ud);
		if (c->state == S_CLOSED)
			return;
		if (c->write_shut) {
			conn_close(c);
		} else if (c->hj == NULL) {
			/* Released: nothing more will be written; send what is queued. */
			c->close_after_flush = true;
			conn_flush(c);
		} else {
			conn_update(c);
		}
		return;
	}
	if (c->state == S_STREAM && !c->body_done) {
		body_finish(c, -ECONNRESET);
		conn_close(c);
		return;
	}
	/* Between requests, or with a response pending: the client is gone. */
	conn_close(c);
}

static int on_conn_io(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct http_conn *c = userdata;
	(void)s;
	(void)fd;
	http_conn_ref(c);
	if (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		conn_read(c);
	if (c->state != S_CLOSED && (revents & EPOLLOUT))
		conn_flush(c);
	http_conn_unref(c);
	return 0;
}

static int on_accept(struct event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct http_server *s = userdata;
	(void)src;
	(void)revents;
	for (int i = 0; i < 64; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn_errno(errno, "accept: %m, ignoring");
			return 0;
		}
		struct http_conn *c = xnew0(struct http_conn, 1);
		c->srv = s;
		c->fd = cfd;
		c->body_fd = -EBADF;
		c->refs = 1; /* the server's */
		c->keep_alive = true;
		if (event_add_io(s->event, &c->src, cfd, EPOLLIN | EPOLLRDHUP, on_conn_io, c) < 0) {
			close(cfd);
			free(c);
			continue;
		}
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->n_conns++;
	}
	return 0;
}

int http_server_new(struct event *e, int listen_fd, const struct http_handler *h, void *userdata,
		    struct http_server **ret)
{
	struct http_server *s = xnew0(struct http_server, 1);
	s->event = e;
	s->fd = listen_fd;
	s->handler = h;
	s->userdata = userdata;
	int r = fd_set_nonblock(listen_fd, true);
	if (r >= 0)
		r = event_add_io(e, &s->src, listen_fd, EPOLLIN, on_accept, s);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct http_server *http_server_free(struct http_server *s)
{
	if (!s)
		return NULL;
	while (s->conns)
		conn_close(s->conns);
	s->src = event_source_free(s->src);
	safe_close(s->fd);
	free(s);
	return NULL;
}

size_t http_server_connections(const struct http_server *s)
{
	return s->n_conns;
}
