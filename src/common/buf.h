/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growable byte queue: append at the tail, consume from the head.
 * Used for socket output queues and bounded stream buffers. The owner
 * enforces its own limit with buf_len() before appending.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf {
	uint8_t *data;
	size_t head; /* first unconsumed byte */
	size_t len;  /* bytes from head */
	size_t cap;
};

void buf_done(struct buf *b);
void buf_append(struct buf *b, const void *p, size_t n);
/* Reserve n writable bytes at the tail; commit what was written with buf_commit(). */
uint8_t *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);
void buf_consume(struct buf *b, size_t n);
static inline const uint8_t *buf_peek(const struct buf *b)
{
	return b->data ? b->data + b->head : NULL; /* NULL + 0 is undefined in C */
}
static inline size_t buf_len(const struct buf *b)
{
	return b->len;
}
static inline bool buf_empty(const struct buf *b)
{
	return b->len == 0;
}
/* write(2) as much as possible from the head. Returns bytes written, 0 on EAGAIN, -errno. */
ssize_t buf_flush_fd(struct buf *b, int fd);
