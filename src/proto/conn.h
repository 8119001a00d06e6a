/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A framed connection over one non-blocking byte-stream fd, driven by the
 * event loop. Used by both ends: arca-init (serving) and the host (calling).
 *
 * Reading: bytes accumulate in a fixed receive buffer sized for the largest
 * legal frame; each complete, header-valid frame is handed to ops->frame.
 * Writing: frames are queued and flushed as the fd accepts them. The queue
 * is bounded (PROTO_CONN_TXQ_MAX); producers of stream data check
 * proto_conn_can_send_data() and resume from ops->writable.
 *
 * Per-stream flow control lives in struct proto_window: the receiver grants
 * credit as its sink consumes, and a sender never exceeds the credit it holds.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct event;
struct proto_conn;

#define PROTO_CONN_TXQ_HIGH (1024u * 1024u)	  /* stop producing data above this */
#define PROTO_CONN_TXQ_MAX  (16u * 1024u * 1024u) /* a peer this far behind is broken */

struct proto_conn_ops {
	/* One complete frame; payload valid during the call. < 0 closes the connection. */
	int (*frame)(struct proto_conn *c, const struct proto_frame *f, void *userdata);
	/* The connection ended: error < 0, or 0 when the peer hung up. Called once. */
	void (*closed)(struct proto_conn *c, int error, void *userdata);
	/* The output queue fell below PROTO_CONN_TXQ_HIGH after being above it. Optional. */
	void (*writable)(struct proto_conn *c, void *userdata);
};

/* Takes ownership of fd (made non-blocking). */
int proto_conn_new(struct event *e, int fd, const struct proto_conn_ops *ops, void *userdata,
		   struct proto_conn **ret);
/* Safe inside any callback of this connection. NULL-safe. */
struct proto_conn *proto_conn_free(struct proto_conn *c);
static inline void proto_conn_freep(struct proto_conn **c)
{
	if (*c)
		*c = proto_conn_free(*c);
}

/* Queue one encoded frame (header included). -ENOBUFS if the queue is full, -EPIPE if closed. */
int proto_conn_send(struct proto_conn *c, const uint8_t *frame, size_t len);
int proto_conn_send_data(struct proto_conn *c, uint32_t stream, const void *p, size_t n);
int proto_conn_send_credit(struct proto_conn *c, uint32_t stream, uint32_t credit);
int proto_conn_send_close(struct proto_conn *c, uint32_t stream);
/* Write out the queue synchronously (bounded by timeout); used before poweroff. */
int proto_conn_flush_sync(struct proto_conn *c, int timeout_ms);

bool proto_conn_can_send_data(const struct proto_conn *c);
size_t proto_conn_queued(const struct proto_conn *c);
bool proto_conn_is_closed(const struct proto_conn *c);

/* Credit accounting for one direction pair of a stream. */
struct proto_window {
	uint32_t send;	   /* bytes we may still send */
	uint32_t received; /* bytes received and not yet credited back */
	uint32_t consumed; /* of those, bytes our sink has consumed */
};

void proto_window_init(struct proto_window *w);
/* Peer sent n bytes: -EPROTO if that exceeds the credit we granted. */
int proto_window_on_data(struct proto_window *w, uint32_t n);
void proto_window_on_consumed(struct proto_window *w, uint32_t n);
/* Credit to grant now (0: nothing due yet). force grants whatever was consumed. */
uint32_t proto_window_take_credit(struct proto_window *w, bool force);
/* Peer granted n bytes: -EPROTO if that exceeds the window. */
int proto_window_on_credit(struct proto_window *w, uint32_t n);
