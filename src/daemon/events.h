/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's event stream (GET /events): every lifecycle action is
 * recorded as a Docker events.Message, kept in a bounded ring for `since`
 * replays (256, as dockerd keeps), and pushed to every subscriber whose
 * filters match. Events live in memory only, as in dockerd.
 *
 * Ownership: struct events belongs to the daemon. A subscriber belongs to
 * its stream: it is freed when the client goes away, when its `until`
 * passes, or when it falls too far behind (its connection is closed).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct event;
struct stream;
struct events;
struct container;

#define EVENTS_RING 256

struct events *events_new(struct event *loop);
struct events *events_free(struct events *ev);

/*
 * Records one event. attrs (stolen, may be NULL) become Actor.Attributes;
 * from is the legacy "from" field (container events: the image).
 */
void events_emit(struct events *ev, const char *type, const char *action, const char *actor_id,
		 json_t *attrs);

/* A container event with Docker's attributes (image, name, labels) plus extra (stolen). */
void events_container(struct events *ev, struct container *c, const char *action, json_t *extra);

/* Docker's familiar form of an image reference ("busybox:latest", or "busybox"
 * without the tag); a copy of ref when it does not parse. Caller frees. */
char *events_familiar(const char *ref, bool with_tag);

/*
 * Streams matching events on st, one JSON line each: the recorded ones from
 * since_ns (0: none), then live ones until until_ns (0: forever), then ends
 * it. filters: {key: [values]}, stolen. Takes its own reference on st.
 */
void events_subscribe(struct events *ev, struct stream *st, json_t *filters, int64_t since_ns,
		      int64_t until_ns);

/* Pure: does the event (a Message object) pass the filters? (Exposed for tests.) */
bool events_match(json_t *filters, json_t *message);

/* Number of live subscribers. */
size_t events_subscribers(const struct events *ev);
