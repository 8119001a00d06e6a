/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client's byte stream, as the domain sees it. Attach, logs, exec and
 * events write their output to a stream and hear of its input, drain and
 * close through a handler; they never see the transport. api/ makes streams
 * from HTTP connections (http-stream.c); a test can make one from a buffer.
 *
 * Ownership: reference-counted. Whoever keeps a stream takes a reference;
 * the last unref lets go of the transport (its callbacks are cleared, the
 * transport finishes flushing on its own). Calls on a stream whose client
 * is gone are harmless no-ops.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output queued before a producer should wait for the drained callback. */
#define STREAM_HIGH (1024u * 1024u)

struct stream;

/* The transport's side: what the stream's maker implements. */
struct stream_transport {
	int (*write)(void *t, const void *p, size_t n);
	size_t (*queued)(const void *t);
	bool (*is_closed)(const void *t);
	void (*pause_read)(void *t, bool pause);
	/* No more output: for a duplex stream a half-close, for a response its end. */
	void (*end)(void *t);
	void (*close)(void *t);	  /* drop the client now */
	void (*release)(void *t); /* the stream is gone: clear callbacks, free t */
};

/* The domain's side: any callback may be NULL. */
struct stream_handler {
	void (*data)(struct stream *s, const uint8_t *p, size_t n, void *ud); /* input */
	void (*eof)(struct stream *s, void *ud);     /* the client is done sending */
	void (*drained)(struct stream *s, void *ud); /* queued output fell below STREAM_HIGH */
	void (*closed)(struct stream *s, void *ud);  /* the client is gone */
};

struct stream *stream_new(const struct stream_transport *t, void *impl);
struct stream *stream_ref(struct stream *s);
struct stream *stream_unref(struct stream *s); /* NULL-safe; returns NULL */

void stream_set_handler(struct stream *s, const struct stream_handler *h, void *ud);

int stream_write(struct stream *s, const void *p, size_t n);
/* One Docker stdcopy frame (stream 1 or 2), or the bytes as they are when raw. */
int stream_write_frame(struct stream *s, bool raw, int fd, const void *p, size_t n);
size_t stream_queued(const struct stream *s);
bool stream_is_closed(const struct stream *s);
bool stream_is_full(const struct stream *s); /* open, with STREAM_HIGH or more queued */
void stream_pause_read(struct stream *s, bool pause);
void stream_end(struct stream *s);
void stream_close(struct stream *s);

/* For the transport: its data when s is one of its streams, else NULL. */
void *stream_transport_data(const struct stream *s, const struct stream_transport *t);

/* For the transport: what the client did. */
void stream_on_data(struct stream *s, const uint8_t *p, size_t n);
void stream_on_eof(struct stream *s);
void stream_on_drained(struct stream *s);
void stream_on_closed(struct stream *s);
