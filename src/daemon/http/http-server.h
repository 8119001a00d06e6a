/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP/1.1 server of arcad, on the daemon's event loop: a unix socket
 * listener, one state machine per connection (keep-alive, fixed and chunked
 * bodies in both directions, streamed request bodies) and connection hijack
 * for attach and exec (101 Upgrade: tcp, or the legacy 200), with half-close.
 *
 * Ownership: the server owns its connections. A handler that answers later
 * takes a reference (http_conn_ref) and drops it when done; replying on a
 * connection the client has closed is a harmless no-op.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct event;
struct http_server;
struct http_conn;

#define HTTP_MAX_HEAD	 (64u * 1024u)
#define HTTP_MAX_HEADERS 100
#define HTTP_MAX_BODY	 (16u * 1024u * 1024u) /* buffered bodies; streamed ones are unbounded */
#define HTTP_MAX_DISCARD (1024ull << 20)       /* body read and dropped after an early answer */
#define HTTP_STREAM_HIGH (1024u * 1024u)       /* output queued before producers should pause */

struct http_request {
	char *method;
	char *path;  /* without the query, percent-encoding kept */
	char *query; /* raw, or "" */
	char **header_names;
	char **header_values;
	size_t n_headers;
	char *body;
	size_t body_len;
	int minor_version;
};

const char *http_request_header(const struct http_request *r, const char *name);
/* Percent-decoded value of a query parameter (first occurrence), or NULL. Caller frees. */
char *http_query_get(const struct http_request *r, const char *name);
bool http_query_has(const struct http_request *r, const char *name);
/* Every value of a repeated query parameter (names=a&names=b); NULL-terminated. */
char **http_query_get_all(const struct http_request *r, const char *name);
/* Docker's booleans: "1", "true", "True" (and a bare key) are true. */
bool http_query_bool(const struct http_request *r, const char *name, bool dflt);
char *http_percent_decode(const char *s, size_t len);

/* How the server hands a request to the application. */
struct http_handler {
	/*
	 * Called with the head parsed. Return true to have the body streamed
	 * (the handler then calls http_body_to_fd), false to have it buffered
	 * into request->body before dispatch is called.
	 */
	bool (*wants_stream)(struct http_conn *c, const struct http_request *r, void *userdata);
	void (*dispatch)(struct http_conn *c, struct http_request *r, void *userdata);
};

int http_server_new(struct event *e, int listen_fd, const struct http_handler *h, void *userdata,
		    struct http_server **ret);
struct http_server *http_server_free(struct http_server *s);
size_t http_server_connections(const struct http_server *s);

struct http_conn *http_conn_ref(struct http_conn *c);
struct http_conn *http_conn_unref(struct http_conn *c);
static inline void http_conn_unrefp(struct http_conn **c)
{
	if (*c)
		*c = http_conn_unref(*c);
}
bool http_conn_is_closed(const struct http_conn *c);
const struct http_request *http_conn_request(const struct http_conn *c);
/* Called once when the connection goes away (client close, error, shutdown). */
void http_conn_on_close(struct http_conn *c, void (*cb)(struct http_conn *c, void *ud), void *ud);
/* Called when queued output drops below HTTP_STREAM_HIGH. */
void http_conn_on_drain(struct http_conn *c, void (*cb)(struct http_conn *c, void *ud), void *ud);
size_t http_conn_queued(const struct http_conn *c);

/* Complete responses. The JSON reference is stolen. */
void http_reply(struct http_conn *c, int status, const char *content_type, const void *body,
		size_t len);
void http_reply_json(struct http_conn *c, int status, json_t *j);
/* http_reply with extra "Name: value\r\n" header lines. */
void http_reply_headers(struct http_conn *c, int status, const char *content_type,
			const char *extra_headers, const void *body, size_t len);
void http_reply_empty(struct http_conn *c, int status);
/* {"message": ...} with the status for the error's kind. */
void http_reply_error(struct http_conn *c, const struct arca_error *err);
void http_reply_errorf(struct http_conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int http_status_for(const struct arca_error *err);

/* A chunked streaming response. extra_headers: "Name: value\r\n" lines, or NULL. */
void http_stream_begin(struct http_conn *c, int status, const char *content_type,
		       const char *extra_headers);
int http_stream_write(struct http_conn *c, const void *p, size_t n);
void http_stream_json(struct http_conn *c, json_t *j); /* one JSON line; stolen */
void http_stream_end(struct http_conn *c);

/*
 * Streams the request body into fd (non-blocking, e.g. a pipe's write end),
 * then closes fd and calls done(c, error, ud): 0, or -EPROTO/-ECONNRESET.
 * Takes ownership of fd.
 */
void http_body_to_fd(struct http_conn *c, int fd,
		     void (*done)(struct http_conn *c, int error, void *ud), void *ud);

/* --- hijack --- */

struct http_hijack_ops {
	/* Bytes from the client. */
	void (*data)(struct http_conn *c, const uint8_t *p, size_t n, void *ud);
	/* The client half-closed its write side (or closed). */
	void (*eof)(struct http_conn *c, void *ud);
};

/*
 * Turns the connection into a raw stream: answers 101 Switching Protocols
 * when the client asked for Upgrade: tcp, else 200 (the legacy hijack), with
 * content_type. Nothing HTTP happens on it afterwards.
 */
void http_hijack(struct http_conn *c, const char *content_type, const struct http_hijack_ops *ops,
		 void *ud);
int http_raw_write(struct http_conn *c, const void *p, size_t n);
/* Stops (or resumes) reading from the client, for backpressure. */
void http_conn_pause_read(struct http_conn *c, bool pause);
/* Half-close: no more output (after the queue drains); the connection closes when both sides are
 * done. */
/*
 * The hijack's owner lets go of the connection: its ops and its close and
 * drain callbacks are cleared, so nothing calls back into an owner that may
 * be freed next; later client bytes are dropped. The connection itself
 * lives on until its output is flushed and the client closes.
 */
void http_hijack_release(struct http_conn *c);
void http_raw_shutdown_write(struct http_conn *c);
void http_conn_close(struct http_conn *c);
