/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: src/daemon/stream.c (the domain's byte stream), with a
 * transport that writes to a buffer; and the event stream (events.c)
 * replaying and ending on such a stream, with no HTTP in sight.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "event.h"
#include "events.h"
#include "stream.h"
#include "tap.h"

struct fake {
	struct buf out;
	bool closed, ended, paused, released;
	size_t queued;
};

static int f_write(void *t, const void *p, size_t n)
{
	struct fake *f = t;
	buf_append(&f->out, p, n);
	return 0;
}
static size_t f_queued(const void *t)
{
	return ((const struct fake *)t)->queued;
}
static bool f_is_closed(const void *t)
{
	return ((const struct fake *)t)->closed;
}
static void f_pause_read(void *t, bool pause)
{
	((struct fake *)t)->paused = pause;
}
static void f_end(void *t)
{
	((struct fake *)t)->ended = true;
}
static void f_close(void *t)
{
	((struct fake *)t)->closed = true;
}
static void f_release(void *t)
{
	((struct fake *)t)->released = true;
}

static const struct stream_transport fake_transport = {
	.write = f_write,
	.queued = f_queued,
	.is_closed = f_is_closed,
	.pause_read = f_pause_read,
	.end = f_end,
	.close = f_close,
	.release = f_release,
};

struct holder {
	struct stream *s;
	size_t got;
	int closed;
};

static void h_data(struct stream *s, const uint8_t *p, size_t n, void *ud)
{
	struct holder *h = ud;
	(void)s;
	(void)p;
	h->got += n;
}

/* Drops its reference from inside the callback, as attach and exec do. */
static void h_closed(struct stream *s, void *ud)
{
	struct holder *h = ud;
	h->closed++;
	stream_set_handler(s, NULL, NULL);
	h->s = stream_unref(h->s);
}

static const struct stream_handler holder_ops = { .data = h_data, .closed = h_closed };

static void test_stream(void)
{
	struct fake f = { 0 };
	struct stream *s = stream_new(&fake_transport, &f);
	ok(stream_write_frame(s, false, 2, "hi", 2) == 0, "framed write");
	const uint8_t want[] = { 2, 0, 0, 0, 0, 0, 0, 2, 'h', 'i' };
	ok(buf_len(&f.out) == sizeof(want) && memcmp(buf_peek(&f.out), want, sizeof(want)) == 0,
	   "stdcopy header then payload");
	ok(stream_write_frame(s, true, 1, "ab", 2) == 0 && buf_len(&f.out) == sizeof(want) + 2,
	   "raw: the bytes as they are");
	ok(!stream_is_full(s), "not full");
	f.queued = STREAM_HIGH;
	ok(stream_is_full(s), "full at STREAM_HIGH");
	stream_pause_read(s, true);
	ok(f.paused, "pause reaches the transport");

	struct holder h = { .s = stream_ref(s) };
	stream_set_handler(s, &holder_ops, &h);
	stream_unref(s); /* the maker's reference: the holder keeps it alive */
	ok(!f.released, "alive while held");
	stream_on_data(h.s, (const uint8_t *)"xyz", 3);
	is_int((int)h.got, 3, "input reaches the handler");
	f.closed = true;
	ok(stream_write(h.s, "x", 1) < 0, "a write to a closed stream fails");
	stream_on_closed(h.s);
	is_int(h.closed, 1, "closed once");
	ok(f.released && !h.s, "the last unref, inside the callback, releases the transport");
	buf_done(&f.out);
}

static void test_events_on_a_stream(void)
{
	struct event *loop = NULL;
	ok(event_new(&loop) == 0, "event loop");
	struct events *ev = events_new(loop);
	events_emit(ev, "container", "create", "c1", json_pack("{s:s}", "name", "one"));
	events_emit(ev, "image", "tag", "i1", NULL);
	struct fake f = { 0 };
	struct stream *s = stream_new(&fake_transport, &f);
	json_t *filters = json_pack("{s:[s]}", "type", "container");
	/* since 1 ns, until 2 ns: a replay that ends at once. */
	events_subscribe(ev, s, filters, 1, 2);
	ok(f.ended, "an until in the past ends the stream");
	is_int((int)events_subscribers(ev), 0, "and keeps no subscriber");
	stream_unref(s);
	ok(f.released, "released");
	buf_done(&f.out);

	struct fake g = { 0 };
	s = stream_new(&fake_transport, &g);
	events_subscribe(ev, s, json_pack("{s:[s]}", "type", "container"), 1, 0);
	stream_unref(s);
	is_int((int)events_subscribers(ev), 1, "a live subscriber holds the stream");
	buf_append(&g.out, "", 1);
	json_t *line = json_loads((const char *)buf_peek(&g.out), JSON_DISABLE_EOF_CHECK, NULL);
	ok(line && strcmp(json_string_value(json_object_get(line, "Action")), "create") == 0,
	   "the replay is one JSON line per event, filtered");
	ok(strchr((const char *)buf_peek(&g.out), '\n') ==
	       strrchr((const char *)buf_peek(&g.out), '\n'),
	   "only the container event");
	json_decref(line);
	events_free(ev);
	ok(g.ended && g.released, "the daemon's end ends and releases the subscriber's stream");
	buf_done(&g.out);
	event_free(loop);
}

int main(void)
{
	test_stream();
	test_events_on_a_stream();
	return tap_done();
}
