/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A worker thread's output pipe, copied to a client as a chunked response
 * (the slow image operations, docker build). The pipe is read only while
 * the client keeps up, so a slow client slows the worker instead of filling
 * memory. The first byte begins the response (200, content_type); until
 * then the owner may still answer with an error status. A client that goes
 * does not stop the copy: the pipe is drained to its end, so the worker
 * never blocks on it.
 */
#pragma once

#include <stdbool.h>

struct event;
struct http_conn;
struct worker_stream;

struct worker_stream_ops {
	void (*eof)(void *userdata);	/* the worker closed its end; all was copied */
	void (*closed)(void *userdata); /* the client went (optional) */
};

/* Takes fd (the pipe's read end, made non-blocking); takes a reference on conn. */
int worker_stream_new(struct event *e, struct http_conn *conn, int fd, const char *content_type,
		      const struct worker_stream_ops *ops, void *userdata,
		      struct worker_stream **ret);
struct worker_stream *worker_stream_free(struct worker_stream *ws);
/* Output went out: the status is 200 and an error must go in the stream. */
bool worker_stream_started(const struct worker_stream *ws);
