/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: events_match (src/daemon/events.c), dockerd's event filter
 * rules, and the ring and stream of struct events without subscribers.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "events.h"
#include "tap.h"

static json_t *message(const char *type, const char *action, const char *id, const char *attrs)
{
	return json_pack("{s:s, s:s, s:{s:s, s:o}, s:s}", "Type", type, "Action", action, "Actor",
			 "ID", id, "Attributes", json_loads(attrs, 0, NULL), "scope", "local");
}

static bool match(const char *filters, json_t *m)
{
	json_t *f = json_loads(filters, 0, NULL);
	bool r = events_match(f, m);
	json_decref(f);
	return r;
}

static void test_filters(void)
{
	json_t *die = message("container", "die", "abcdef0123",
			      "{\"name\":\"web\",\"image\":\"busybox:latest\",\"exitCode\":\"3\","
			      "\"team\":\"x\"}");
	json_t *exec = message("container", "exec_start: sh -c true", "abcdef0123",
			       "{\"name\":\"web\",\"image\":\"busybox\"}");
	json_t *tag = message("image", "tag", "sha256:1234", "{\"name\":\"other:1\"}");
	json_t *net = message("network", "connect", "n123", "{\"name\":\"bridge\"}");

	ok(match("{}", die), "no filters: everything");
	ok(match("{\"type\":[\"container\"]}", die) && !match("{\"type\":[\"image\"]}", die),
	   "type is exact");
	ok(match("{\"type\":[\"image\",\"container\"]}", die), "values of one key: any");
	ok(match("{\"event\":[\"die\"]}", die) && !match("{\"event\":[\"di\"]}", die),
	   "event is exact");
	ok(match("{\"event\":[\"exec_start\"]}", exec), "exec_start matches by prefix");
	ok(!match("{\"event\":[\"exec_create\"]}", exec), "but not another action");
	ok(match("{\"container\":[\"web\"]}", die), "container by name");
	ok(match("{\"container\":[\"abc\"]}", die), "container by ID prefix");
	ok(!match("{\"container\":[\"db\"]}", die), "container mismatch");
	ok(!match("{\"container\":[\"web\"]}", tag), "a container filter drops other actors");
	ok(match("{\"image\":[\"busybox\"]}", die), "image without the tag");
	ok(match("{\"image\":[\"busybox:latest\"]}", die), "image with the tag");
	ok(match("{\"image\":[\"sha256:1234\"]}", tag) && match("{\"image\":[\"other\"]}", tag),
	   "image events by ID and name");
	ok(!match("{\"image\":[\"busybox\"]}", net), "an image filter drops networks");
	ok(match("{\"label\":[\"team\"]}", die) && match("{\"label\":[\"team=x\"]}", die),
	   "label key and key=value");
	ok(!match("{\"label\":[\"team=y\"]}", die) && !match("{\"label\":[\"other\"]}", die),
	   "label mismatch");
	ok(match("{\"network\":[\"bridge\"]}", net) && !match("{\"network\":[\"x\"]}", net),
	   "network by name");
	ok(match("{\"scope\":[\"local\"]}", die) && !match("{\"scope\":[\"swarm\"]}", die),
	   "scope");
	json_decref(die);
	json_decref(exec);
	json_decref(tag);
	json_decref(net);
}

static void test_ring_and_names(void)
{
	struct event *loop = NULL;
	ok(event_new(&loop) == 0, "event loop");
	struct events *ev = events_new(loop);
	for (int i = 0; i < EVENTS_RING + 10; i++)
		events_emit(ev, "container", "create", "id",
			    json_pack("{s:s}", "image", "busybox"));
	is_int((int)events_subscribers(ev), 0, "no subscribers");
	events_free(ev);
	event_free(loop);
	char *f = events_familiar("docker.io/library/busybox:latest", true);
	is_str(f, "busybox:latest", "familiar tagged");
	free(f);
	f = events_familiar("127.0.0.1:5000/app:v1", false);
	is_str(f, "127.0.0.1:5000/app", "familiar name");
	free(f);
	f = events_familiar("Not A Ref", true);
	is_str(f, "Not A Ref", "unparsable kept");
	free(f);
}

int main(void)
{
	test_filters();
	test_ring_and_names();
	return tap_done();
}
