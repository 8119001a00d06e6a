/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A scripted guest for host-side tests: the test writes frames into one end
 * of a socketpair and reads what the host sent, frame by frame.
 */
#pragma once

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

struct fake {
	int fd; /* non-blocking */
	/* Runs the host side while the socket is full, so one thread can play both. */
	void (*pump)(void *userdata);
	void *pump_userdata;
	uint8_t rx[PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD];
	size_t rx_len;
	uint8_t last[PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD]; /* copy of the last frame read */
	struct proto_frame f;
};

static inline int fake_send(struct fake *g, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(g->fd, p, n);
		if (k < 0 && errno == EAGAIN && g->pump) {
			g->pump(g->pump_userdata);
			continue;
		}
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads the next frame the host sent (waiting up to 2 s). 1 = got one, 0 = none. */
static inline int fake_read(struct fake *g)
{
	for (;;) {
		struct proto_frame f;
		ssize_t n = proto_frame_decode(g->rx, g->rx_len, &f);
		if (n < 0)
			return (int)n;
		if (n > 0) {
			memcpy(g->last, g->rx, (size_t)n);
			g->f = f;
			g->f.payload = g->last + PROTO_HDR_SIZE;
			memmove(g->rx, g->rx + n, g->rx_len - (size_t)n);
			g->rx_len -= (size_t)n;
			return 1;
		}
		struct pollfd pfd = { .fd = g->fd, .events = POLLIN };
		if (poll(&pfd, 1, 2000) <= 0)
			return 0;
		ssize_t k = read(g->fd, g->rx + g->rx_len, sizeof(g->rx) - g->rx_len);
		if (k < 0 && errno == EAGAIN)
			continue;
		if (k <= 0)
			return 0;
		g->rx_len += (size_t)k;
	}
}

static inline int fake_hello(struct fake *g, uint32_t major)
{
	uint8_t b[128];
	struct proto_writer w;
	proto_writer_init(&w, b, sizeof(b));
	proto_put_u32(&w, PROTO_T_VERSION_MAJOR, major);
	proto_put_u32(&w, PROTO_T_VERSION_MINOR, 0);
	proto_put_u64(&w, PROTO_T_BOOT_NS, 123);
	ssize_t n = proto_writer_finish(&w, PROTO_HELLO, 0);
	return fake_send(g, b, (size_t)n);
}
