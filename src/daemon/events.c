/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's event stream: the ring of recent events, the subscribers, and
 * dockerd's filter rules (daemon/events/filter.go): type, event (exact, or
 * by prefix for health_status/exec_create/exec_start), container and the
 * other actor kinds (ID prefix or name), image (ID, name, with or without
 * the tag), label (key or key=value on the attributes) and scope.
 */
#include "events.h"

#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "event.h"
#include "log.h"
#include "reference.h"
#include "stream.h"
#include "time-util.h"

/* A subscriber this far behind is cut off rather than buffered without bound. */
#define SUBSCRIBER_MAX_QUEUED (8u * 1024u * 1024u)

struct subscriber {
	struct subscriber *next;
	struct events *ev;
	struct stream *stream;
	json_t *filters;
	struct event_source *until_timer;
};

struct events {
	struct event *loop;
	json_t *ring[EVENTS_RING];
	size_t head, count; /* oldest at head */
	struct subscriber *subs;
	int64_t last_ns; /* timeNano is strictly increasing */
};

struct events *events_new(struct event *loop)
{
	struct events *ev = xnew0(struct events, 1);
	ev->loop = loop;
	return ev;
}

static void subscriber_free(struct subscriber *s)
{
	struct subscriber **p = &s->ev->subs;
	while (*p && *p != s)
		p = &(*p)->next;
	if (*p)
		*p = s->next;
	s->until_timer = event_source_free(s->until_timer);
	stream_unref(s->stream);
	json_decref(s->filters);
	free(s);
}

struct events *events_free(struct events *ev)
{
	if (!ev)
		return NULL;
	while (ev->subs) {
		struct subscriber *s = ev->subs;
		stream_end(s->stream);
		subscriber_free(s);
	}
	for (size_t i = 0; i < ev->count; i++)
		json_decref(ev->ring[(ev->head + i) % EVENTS_RING]);
	free(ev);
	return NULL;
}

size_t events_subscribers(const struct events *ev)
{
	size_t n = 0;
	for (const struct subscriber *s = ev->subs; s; s = s->next)
		n++;
	return n;
}

/* --- filters --- */

static bool has_key(json_t *filters, const char *key)
{
	return json_array_size(json_object_get(filters, key)) > 0;
}

static bool exact(json_t *filters, const char *key, const char *value)
{
	json_t *vals = json_object_get(filters, key);
	if (json_array_size(vals) == 0)
		return true;
	size_t i;
	json_t *v;
	json_array_foreach(vals, i,
			   v) if (value && strcmp(json_string_value(v), value) == 0) return true;
	return false;
}

/* Exact, or the filter value is a prefix of value (an ID prefix). */
static bool fuzzy(json_t *filters, const char *key, const char *value)
{
	json_t *vals = json_object_get(filters, key);
	if (json_array_size(vals) == 0)
		return true;
	size_t i;
	json_t *v;
	json_array_foreach(vals, i, v)
	{
		const char *f = json_string_value(v);
		if (value && f[0] && strncmp(value, f, strlen(f)) == 0)
			return true;
	}
	return false;
}

static bool fuzzy_name(json_t *filters, const char *key, json_t *message)
{
	json_t *actor = json_object_get(message, "Actor");
	const char *id = json_string_value(json_object_get(actor, "ID"));
	const char *name =
	    json_string_value(json_object_get(json_object_get(actor, "Attributes"), "name"));
	if (!has_key(filters, key))
		return true;
	return fuzzy(filters, key, id) || fuzzy(filters, key, name);
}

static bool match_event(json_t *filters, const char *action)
{
	static const char *const prefixed[] = { "health_status", "exec_create", "exec_start" };
	json_t *vals = json_object_get(filters, "event");
	size_t i;
	json_t *v;
	json_array_foreach(vals, i, v) for (size_t k = 0; k < ELEMENTSOF(prefixed);
					    k++) if (strcmp(json_string_value(v), prefixed[k]) ==
						     0) return fuzzy(filters, "event", action);
	return exact(filters, "event", action);
}

/* "busybox:latest" -> "busybox"; digests and untagged names stay. */
static char *strip_tag(const char *ref)
{
	if (!ref)
		return NULL;
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(slash ? slash : ref, ':');
	if (strchr(ref, '@') || !colon)
		return xstrdup(ref);
	return xstrndup(ref, (size_t)(colon - ref));
}

static bool match_image(json_t *filters, json_t *message)
{
	if (!has_key(filters, "image"))
		return true;
	json_t *actor = json_object_get(message, "Actor");
	const char *type = json_string_value(json_object_get(message, "Type"));
	const char *id = json_string_value(json_object_get(actor, "ID"));
	const char *name = json_string_value(json_object_get(
	    json_object_get(actor, "Attributes"), strcmp(type, "image") == 0 ? "name" : "image"));
	char *sid = strip_tag(id), *sname = strip_tag(name);
	bool ok = exact(filters, "image", id) || exact(filters, "image", name) ||
		  exact(filters, "image", sid) || exact(filters, "image", sname);
	free(sid);
	free(sname);
	return ok;
}

static bool match_labels(json_t *filters, json_t *message)
{
	json_t *attrs = json_object_get(json_object_get(message, "Actor"), "Attributes");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(filters, "label"), i, v)
	{
		const char *f = json_string_value(v);
		const char *eq = strchr(f, '=');
		char *key = eq ? xstrndup(f, (size_t)(eq - f)) : xstrdup(f);
		const char *have = json_string_value(json_object_get(attrs, key));
		free(key);
		if (!have || (eq && strcmp(have, eq + 1) != 0))
			return false;
	}
	return true;
}

bool events_match(json_t *filters, json_t *message)
{
	if (!json_is_object(filters) || json_object_size(filters) == 0)
		return true;
	static const char *const actor_kinds[] = { "container", "daemon",  "plugin",
						   "volume",	"network", "node",
						   "service",	"secret",  "config" };
	if (!exact(filters, "scope", json_string_value(json_object_get(message, "scope"))) ||
	    !exact(filters, "type", json_string_value(json_object_get(message, "Type"))) ||
	    !match_event(filters, json_string_value(json_object_get(message, "Action"))) ||
	    !match_image(filters, message) || !match_labels(filters, message))
		return false;
	for (size_t i = 0; i < ELEMENTSOF(actor_kinds); i++)
		if (!fuzzy_name(filters, actor_kinds[i], message))
			return false;
	return true;
}

/* --- emitting and streaming --- */

static bool deliver(struct subscriber *s, json_t *message)
{
	if (!events_match(s->filters, message))
		return true;
	if (stream_queued(s->stream) > SUBSCRIBER_MAX_QUEUED) {
		log_warn("events: dropping a subscriber that stopped reading");
		stream_close(s->stream);
		return false;
	}
	_cleanup_free_ char *j = json_dumps(message, JSON_COMPACT);
	if (j) {
		_cleanup_free_ char *line = xasprintf("%s\n", j);
		(void)stream_write(s->stream, line, strlen(line));
	}
	return true;
}

void events_emit(struct events *ev, const char *type, const char *action, const char *actor_id,
		 json_t *attrs)
{
	int64_t ns = (int64_t)now_nsec(CLOCK_REALTIME);
	if (ns <= ev->last_ns)
		ns = ev->last_ns + 1;
	ev->last_ns = ns;
	json_t *m = json_object();
	bool legacy = strcmp(type, "container") == 0 || strcmp(type, "image") == 0;
	if (legacy) {
		/* The pre-1.22 fields dockerd still sends for these two types. */
		json_object_set_new(m, "status", json_string(action));
		json_object_set_new(m, "id", json_string(actor_id));
		const char *from = json_string_value(json_object_get(attrs, "image"));
		if (from)
			json_object_set_new(m, "from", json_string(from));
	}
	json_t *actor = json_object();
	json_object_set_new(actor, "ID", json_string(actor_id ? actor_id : ""));
	json_object_set_new(actor, "Attributes", attrs ? attrs : json_object());
	json_object_set_new(m, "Type", json_string(type));
	json_object_set_new(m, "Action", json_string(action));
	json_object_set_new(m, "Actor", actor);
	json_object_set_new(m, "scope", json_string("local"));
	json_object_set_new(m, "time", json_integer(ns / 1000000000));
	json_object_set_new(m, "timeNano", json_integer(ns));

	if (ev->count == EVENTS_RING) {
		json_decref(ev->ring[ev->head]);
		ev->ring[ev->head] = m;
		ev->head = (ev->head + 1) % EVENTS_RING;
	} else {
		ev->ring[(ev->head + ev->count++) % EVENTS_RING] = m;
	}
	for (struct subscriber *s = ev->subs, *next; s; s = next) {
		next = s->next;
		(void)deliver(s, m);
	}
}

void events_container(struct events *ev, struct container *c, const char *action, json_t *extra)
{
	json_t *attrs = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(c->config, "Labels"), k, v) if (json_is_string(v))
	    json_object_set(attrs, k, v);
	json_object_set_new(attrs, "image", json_string(c->image ? c->image : ""));
	json_object_set_new(attrs, "name", json_string(c->name));
	if (extra)
		json_object_update(attrs, extra);
	json_decref(extra);
	events_emit(ev, "container", action, c->id, attrs);
}

char *events_familiar(const char *ref, bool with_tag)
{
	struct image_ref r;
	if (image_ref_parse(ref, false, &r, NULL) < 0)
		return xstrdup(ref);
	char *out = with_tag && r.tag ? image_ref_familiar_tagged(&r) : image_ref_familiar(&r);
	image_ref_done(&r);
	return out;
}

static void on_subscriber_closed(struct stream *st, void *userdata)
{
	struct subscriber *s = userdata;
	(void)st;
	subscriber_free(s);
}

static const struct stream_handler subscriber_handler = { .closed = on_subscriber_closed };

static int on_until(struct event_source *src, usec_t now, void *userdata)
{
	struct subscriber *s = userdata;
	(void)src;
	(void)now;
	stream_end(s->stream);
	subscriber_free(s);
	return 0;
}

void events_subscribe(struct events *ev, struct stream *st, json_t *filters, int64_t since_ns,
		      int64_t until_ns)
{
	int64_t now = (int64_t)now_nsec(CLOCK_REALTIME);
	struct subscriber *s = xnew0(struct subscriber, 1);
	s->ev = ev;
	s->stream = stream_ref(st);
	s->filters = filters;
	/* Recorded events are replayed when a time bound is given (until alone: all before it). */
	for (size_t i = 0; (since_ns || until_ns) && i < ev->count; i++) {
		json_t *m = ev->ring[(ev->head + i) % EVENTS_RING];
		int64_t t = json_integer_value(json_object_get(m, "timeNano"));
		if (t >= since_ns && (!until_ns || t <= until_ns))
			(void)deliver(s, m);
	}
	if ((until_ns && until_ns <= now) || stream_is_closed(st)) {
		stream_end(st);
		stream_unref(s->stream);
		json_decref(s->filters);
		free(s);
		return;
	}
	s->next = ev->subs;
	ev->subs = s;
	stream_set_handler(st, &subscriber_handler, s);
	if (until_ns) {
		usec_t when = now_usec(CLOCK_MONOTONIC) + (usec_t)(until_ns - now) / NSEC_PER_USEC;
		(void)event_add_time(ev->loop, &s->until_timer, when, on_until, s);
	}
}
