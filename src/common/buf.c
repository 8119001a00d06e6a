/* SPDX-License-Identifier: Apache-2.0 */
/* struct buf: a byte queue with amortized compaction. */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"

void buf_done(struct buf *b)
{
	free(b->data);
	*b = (struct buf){ 0 };
}

uint8_t *buf_reserve(struct buf *b, size_t n)
{
	if (b->len == 0)
		b->head = 0;
	if (b->head + b->len + n <= b->cap)
		return b->data + b->head + b->len;
	/* Compact before growing when at least half is consumed space. */
	if (b->head > 0 && b->head >= b->cap / 2) {
		memmove(b->data, b->data + b->head, b->len);
		b->head = 0;
		if (b->len + n <= b->cap)
			return b->data + b->len;
	}
	size_t need = b->head + b->len + n;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return b->data + b->head + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(buf_reserve(b, n), p, n);
	buf_commit(b, n);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->head = 0;
		b->len = 0;
		/* Give back large buffers once drained, so idle queues stay small. */
		if (b->cap > 1024 * 1024) {
			free(b->data);
			b->data = NULL;
			b->cap = 0;
		}
		return;
	}
	b->head += n;
	b->len -= n;
}

ssize_t buf_flush_fd(struct buf *b, int fd)
{
	size_t total = 0;
	while (b->len > 0) {
		ssize_t n = write(fd, buf_peek(b), b->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		buf_consume(b, (size_t)n);
		total += (size_t)n;
	}
	return (ssize_t)total;
}
