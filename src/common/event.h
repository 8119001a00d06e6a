/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A single-threaded epoll event loop (rule P1), shaped like sd-event and
 * sized like Redis ae. Everything is an fd:
 *   - io sources watch an fd (pidfds are io sources too: EPOLLIN = exited);
 *   - time sources are one-shot deadlines on CLOCK_MONOTONIC, multiplexed
 *     onto one timerfd;
 *   - signal sources share one signalfd (event_add_signal blocks the signal);
 *   - defer sources run once per iteration while enabled.
 *
 * A callback returning < 0 disables its source (logged at debug level).
 * Freeing a source inside any callback is safe: its memory is released after
 * the current dispatch round.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include "time-util.h"

struct event;
struct event_source;

typedef int (*event_io_fn)(struct event_source *s, int fd, uint32_t revents, void *userdata);
typedef int (*event_time_fn)(struct event_source *s, usec_t now, void *userdata);
typedef int (*event_signal_fn)(struct event_source *s, const struct signalfd_siginfo *si,
			       void *userdata);
typedef int (*event_defer_fn)(struct event_source *s, void *userdata);

int event_new(struct event **ret);
struct event *event_free(struct event *e);

int event_add_io(struct event *e, struct event_source **ret, int fd, uint32_t events,
		 event_io_fn cb, void *userdata);
/* usec is an absolute CLOCK_MONOTONIC deadline; the source fires once, then is disabled. */
int event_add_time(struct event *e, struct event_source **ret, usec_t usec, event_time_fn cb,
		   void *userdata);
/* Convenience: a deadline `usec` from now. */
int event_add_time_relative(struct event *e, struct event_source **ret, usec_t usec,
			    event_time_fn cb, void *userdata);
int event_add_signal(struct event *e, struct event_source **ret, int sig, event_signal_fn cb,
		     void *userdata);
int event_add_defer(struct event *e, struct event_source **ret, event_defer_fn cb, void *userdata);

/* Removes the source from the loop and frees it (deferred while dispatching). NULL-safe. */
struct event_source *event_source_free(struct event_source *s);
static inline void event_source_freep(struct event_source **s)
{
	if (*s)
		*s = event_source_free(*s);
}
#define _cleanup_event_source_ __attribute__((cleanup(event_source_freep)))
static inline void event_freep(struct event **e)
{
	if (*e)
		*e = event_free(*e);
}

int event_source_set_io_events(struct event_source *s, uint32_t events);
uint32_t event_source_get_io_events(const struct event_source *s);
/* Re-arms a time source (enables it) with a new absolute deadline. */
int event_source_set_time(struct event_source *s, usec_t usec);
int event_source_set_enabled(struct event_source *s, bool enabled);
bool event_source_get_enabled(const struct event_source *s);
struct event *event_source_get_event(const struct event_source *s);
void event_source_set_userdata(struct event_source *s, void *userdata);

/* One iteration: waits up to timeout (USEC_INFINITY = forever), dispatches. */
int event_run(struct event *e, usec_t timeout);
/* Iterates until event_exit(); returns the exit code given to it. */
int event_loop(struct event *e);
void event_exit(struct event *e, int code);
bool event_exiting(const struct event *e);
