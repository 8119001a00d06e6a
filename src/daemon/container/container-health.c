/* SPDX-License-Identifier: Apache-2.0 */
/* Health checks: probes in the VM, their results, status and events. */
#include "container-health.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-helper.h"
#include "container.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "guest-setup.h"
#include "strv.h"
#include "time-util.h"

#define DEFAULT_INTERVAL  (30 * USEC_PER_SEC)
#define DEFAULT_TIMEOUT	  (30 * USEC_PER_SEC)
#define DEFAULT_RETRIES	  3
#define MIN_DURATION_NS	  1000000 /* 1 ms */
#define LOG_KEEP	  5
#define OUTPUT_MAX	  4096
#define PROBE_COLLECT_MAX (64u * 1024u)

struct health {
	struct container *c;
	const char *status; /* static strings */
	int failing_streak;
	json_t *log;	/* array of {Start, End, ExitCode, Output} */
	usec_t started; /* CLOCK_MONOTONIC of the container's start */
	struct event_source *timer;
	struct event_source *timeout;
	struct helper *probe;
	char *probe_start;
};

static json_int_t ns_field(json_t *hc, const char *key)
{
	return json_integer_value(json_object_get(hc, key));
}

int healthcheck_check(json_t *hc, struct arca_error **err)
{
	if (!hc || json_is_null(hc))
		return 0;
	if (!json_is_object(hc))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "Healthcheck must be an object");
	json_t *test = json_object_get(hc, "Test");
	if (test && !json_is_null(test)) {
		if (!json_is_array(test))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "Healthcheck.Test must be a list of strings");
		size_t i;
		json_t *v;
		json_array_foreach(test, i, v) if (!json_is_string(v)) return arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID, "Healthcheck.Test must be a list of strings");
	}
	static const char *const durations[] = { "Interval", "Timeout", "StartPeriod",
						 "StartInterval" };
	for (size_t i = 0; i < ELEMENTSOF(durations); i++) {
		json_t *v = json_object_get(hc, durations[i]);
		if (v && !json_is_null(v) && !json_is_integer(v))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s in Healthcheck must be a duration in ns",
					      durations[i]);
		json_int_t n = json_integer_value(v);
		if (n != 0 && n < MIN_DURATION_NS)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s in Healthcheck cannot be less than 1ms",
					      durations[i]);
	}
	if (ns_field(hc, "Retries") < 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "Retries in Healthcheck cannot be negative");
	return 0;
}

/* The probe's argv, or NULL when there is no check (none, NONE, empty). */
static char **probe_argv(json_t *hc)
{
	json_t *test = json_object_get(hc, "Test");
	const char *kind = json_string_value(json_array_get(test, 0));
	if (!kind || strcmp(kind, "NONE") == 0 || json_array_size(test) < 2)
		return NULL;
	char **argv = strv_copy(NULL);
	if (strcmp(kind, "CMD-SHELL") == 0) {
		argv = strv_append(argv, "/bin/sh");
		argv = strv_append(argv, "-c");
		argv = strv_append(argv, json_string_value(json_array_get(test, 1)));
	} else if (strcmp(kind, "CMD") == 0) {
		for (size_t i = 1; i < json_array_size(test); i++)
			argv = strv_append(argv, json_string_value(json_array_get(test, i)));
	} else {
		strv_free(argv);
		return NULL;
	}
	return argv;
}

static usec_t duration(json_t *hc, const char *key, usec_t dflt)
{
	json_int_t ns = ns_field(hc, key);
	return ns > 0 ? (usec_t)ns / NSEC_PER_USEC : dflt;
}

static json_t *healthcheck(const struct container *c)
{
	return json_object_get(c->config, "Healthcheck");
}

static void set_status(struct health *h, const char *status)
{
	if (h->status == status)
		return;
	h->status = status;
	_cleanup_free_ char *action = xasprintf("health_status: %s", status);
	events_container(h->c->d->events, h->c, action, NULL);
}

static void schedule(struct health *h);

static void record(struct health *h, int exit_code, const char *output)
{
	json_t *hc = healthcheck(h->c);
	_cleanup_free_ char *end = time_now_rfc3339();
	size_t len = strnlen(output, OUTPUT_MAX);
	json_t *out = json_stringn(output, len);
	json_array_append_new(h->log, json_pack("{s:s, s:s, s:i, s:o}", "Start",
						h->probe_start ? h->probe_start : end, "End", end,
						"ExitCode", exit_code, "Output",
						out ? out : json_string("")));
	while (json_array_size(h->log) > LOG_KEEP)
		json_array_remove(h->log, 0);
	usec_t start_period = duration(hc, "StartPeriod", 0);
	bool in_start_period = now_usec(CLOCK_MONOTONIC) - h->started < start_period;
	json_int_t retries = ns_field(hc, "Retries");
	if (retries <= 0)
		retries = DEFAULT_RETRIES;
	if (exit_code == 0) {
		h->failing_streak = 0;
		set_status(h, "healthy");
	} else if (!in_start_period || strcmp(h->status, "starting") != 0) {
		h->failing_streak++;
		if (h->failing_streak >= retries)
			set_status(h, "unhealthy");
	}
}

static void probe_finished(struct health *h)
{
	h->probe = helper_free(h->probe);
	h->timeout = event_source_free(h->timeout);
	free(h->probe_start);
	h->probe_start = NULL;
	schedule(h);
}

static void on_probe_done(struct helper *p, int status, void *userdata)
{
	struct health *h = userdata;
	const struct buf *out = helper_stdout(p);
	_cleanup_free_ char *text = NULL;
	if (status < 0) {
		/* -E2BIG: more output than kept; anything else: the probe did not run. */
		if (status == -E2BIG)
			record(h, 1, "health check output too long");
		else
			return (void)(h->probe = helper_free(h->probe)); /* the VM is going */
	} else {
		const char *err = helper_stderr(p);
		text = xasprintf("%.*s%s", (int)MIN(buf_len(out), (size_t)OUTPUT_MAX),
				 buf_len(out) ? (const char *)buf_peek(out) : "",
				 buf_len(out) ? "" : err);
		record(h, status, text);
	}
	probe_finished(h);
}

static const struct helper_ops probe_ops = { .done = on_probe_done };

static int on_timeout(struct event_source *s, usec_t now, void *userdata)
{
	struct health *h = userdata;
	(void)s;
	(void)now;
	h->timeout = event_source_free(h->timeout);
	h->probe = helper_free(h->probe); /* killed; it reports nothing more */
	usec_t t = duration(healthcheck(h->c), "Timeout", DEFAULT_TIMEOUT);
	_cleanup_free_ char *text =
	    xasprintf("Health check exceeded timeout (%gs)", (double)t / (double)USEC_PER_SEC);
	record(h, -1, text);
	probe_finished(h);
	return 0;
}

static int on_probe_time(struct event_source *s, usec_t now, void *userdata)
{
	struct health *h = userdata;
	(void)s;
	h->timer = event_source_free(h->timer);
	struct container *c = h->c;
	json_t *hc = healthcheck(c);
	_cleanup_strv_free_ char **argv = probe_argv(hc);
	_cleanup_strv_free_ char **env = container_runtime_env(c, NULL);
	struct helper_spec spec = {
		.argv = argv,
		.env = env,
		.in_container = true,
		.max_collect = PROBE_COLLECT_MAX,
	};
	if (!argv || helper_start(c, &spec, &probe_ops, h, &h->probe, NULL) < 0) {
		schedule(h); /* paused or between states: try at the next interval */
		return 0;
	}
	h->probe_start = time_now_rfc3339();
	usec_t timeout = duration(hc, "Timeout", DEFAULT_TIMEOUT);
	(void)event_add_time(c->d->event, &h->timeout, now + timeout, on_timeout, h);
	return 0;
}

static void schedule(struct health *h)
{
	json_t *hc = healthcheck(h->c);
	usec_t interval = duration(hc, "Interval", DEFAULT_INTERVAL);
	usec_t start_interval = duration(hc, "StartInterval", 0);
	usec_t start_period = duration(hc, "StartPeriod", 0);
	usec_t now = now_usec(CLOCK_MONOTONIC);
	if (start_interval && strcmp(h->status, "starting") == 0 && now - h->started < start_period)
		interval = start_interval;
	(void)event_add_time(h->c->d->event, &h->timer, now + interval, on_probe_time, h);
}

void container_health_start(struct container *c)
{
	_cleanup_strv_free_ char **argv = probe_argv(healthcheck(c));
	if (!argv)
		return;
	struct health *h = c->health;
	if (!h) {
		h = c->health = xnew0(struct health, 1);
		h->c = c;
		h->log = json_array();
	}
	h->timer = event_source_free(h->timer);
	h->failing_streak = 0;
	h->status = "starting"; /* no event: dockerd sends them for probe results only */
	h->started = now_usec(CLOCK_MONOTONIC);
	schedule(h);
}

void container_health_stop(struct container *c)
{
	struct health *h = c->health;
	if (!h)
		return;
	h->timer = event_source_free(h->timer);
	h->timeout = event_source_free(h->timeout);
	h->probe = helper_free(h->probe);
	free(h->probe_start);
	h->probe_start = NULL;
}

struct health *health_free(struct health *h)
{
	if (!h)
		return NULL;
	h->timer = event_source_free(h->timer);
	h->timeout = event_source_free(h->timeout);
	helper_free(h->probe);
	free(h->probe_start);
	json_decref(h->log);
	free(h);
	return NULL;
}

const char *container_health_status(const struct container *c)
{
	return c->health ? c->health->status : NULL;
}

json_t *container_health_json(const struct container *c)
{
	if (!c->health)
		return NULL;
	return json_pack("{s:s, s:i, s:O}", "Status", c->health->status, "FailingStreak",
			 c->health->failing_streak, "Log", c->health->log);
}
