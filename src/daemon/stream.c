/* SPDX-License-Identifier: Apache-2.0 */
/* A client's byte stream: a transport behind an interface (see stream.h). */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>

#include "alloc.h"
#include "stdcopy.h"

struct stream {
	unsigned refs;
	const struct stream_transport *t;
	void *impl; /* NULL once released */
	const struct stream_handler *h;
	void *ud;
};

struct stream *stream_new(const struct stream_transport *t, void *impl)
{
	struct stream *s = xnew0(struct stream, 1);
	s->refs = 1;
	s->t = t;
	s->impl = impl;
	return s;
}

struct stream *stream_ref(struct stream *s)
{
	s->refs++;
	return s;
}

struct stream *stream_unref(struct stream *s)
{
	if (!s || --s->refs > 0)
		return NULL;
	if (s->impl)
		s->t->release(s->impl);
	free(s);
	return NULL;
}

void stream_set_handler(struct stream *s, const struct stream_handler *h, void *ud)
{
	s->h = h;
	s->ud = ud;
}

void *stream_transport_data(const struct stream *s, const struct stream_transport *t)
{
	return s->t == t ? s->impl : NULL;
}

bool stream_is_closed(const struct stream *s)
{
	return !s->impl || s->t->is_closed(s->impl);
}

int stream_write(struct stream *s, const void *p, size_t n)
{
	if (stream_is_closed(s))
		return -EPIPE;
	return s->t->write(s->impl, p, n);
}

int stream_write_frame(struct stream *s, bool raw, int fd, const void *p, size_t n)
{
	if (!raw) {
		uint8_t hdr[8];
		stdcopy_header(hdr, fd, (uint32_t)n);
		int r = stream_write(s, hdr, sizeof(hdr));
		if (r < 0)
			return r;
	}
	return stream_write(s, p, n);
}

size_t stream_queued(const struct stream *s)
{
	return s->impl ? s->t->queued(s->impl) : 0;
}

bool stream_is_full(const struct stream *s)
{
	return !stream_is_closed(s) && stream_queued(s) >= STREAM_HIGH;
}

void stream_pause_read(struct stream *s, bool pause)
{
	if (s->impl)
		s->t->pause_read(s->impl, pause);
}

void stream_end(struct stream *s)
{
	if (s->impl)
		s->t->end(s->impl);
}

void stream_close(struct stream *s)
{
	if (s->impl)
		s->t->close(s->impl);
}

/* The handler may drop its reference from inside a callback: hold one meanwhile. */
#define CALL(s, fn, ...)                                         \
	do {                                                     \
		if ((s)->h && (s)->h->fn) {                      \
			stream_ref(s);                           \
			(s)->h->fn((s), ##__VA_ARGS__, (s)->ud); \
			stream_unref(s);                         \
		}                                                \
	} while (0)

void stream_on_data(struct stream *s, const uint8_t *p, size_t n)
{
	CALL(s, data, p, n);
}

void stream_on_eof(struct stream *s)
{
	CALL(s, eof);
}

void stream_on_drained(struct stream *s)
{
	CALL(s, drained);
}

void stream_on_closed(struct stream *s)
{
	CALL(s, closed);
}
