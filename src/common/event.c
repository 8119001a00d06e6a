/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The epoll event loop. Owns: the epoll fd, one timerfd (armed with the
 * earliest enabled deadline), one signalfd (all signals registered with
 * event_add_signal) and every source, kept on one list.
 *
 * Invariants: a source is on the list until it is reaped; a freed source is
 * marked dead, removed from epoll at once, and reaped when no dispatch is in
 * progress (dispatch may nest when a caller runs the loop from a callback).
 * Not thread-safe: one loop per thread, used by its thread only.
 */
#include "event.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "log.h"

enum source_type {
	SOURCE_IO,
	SOURCE_TIME,
	SOURCE_SIGNAL,
	SOURCE_DEFER,
};

struct event_source {
	struct event *event;
	enum source_type type;
	bool enabled;
	bool dead;
	bool in_epoll;
	void *userdata;
	struct event_source *prev, *next;
	struct event_source *next_garbage;
	union {
		struct {
			int fd;
			uint32_t events;
			event_io_fn cb;
		} io;
		struct {
			usec_t next;
			event_time_fn cb;
		} time;
		struct {
			int sig;
			event_signal_fn cb;
		} signal;
		struct {
			event_defer_fn cb;
		} defer;
	};
};

struct event {
	int epfd;
	int timerfd;
	int signalfd;
	sigset_t sigmask;
	usec_t armed;
	struct event_source *sources;
	struct event_source *garbage;
	struct event_source *by_signal[_NSIG];
	unsigned depth;
	bool exiting;
	int exit_code;
};

int event_new(struct event **ret)
{
	struct event *e = xnew0(struct event, 1);

	e->signalfd = -EBADF;
	e->armed = USEC_INFINITY;
	sigemptyset(&e->sigmask);
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0)
		goto fail;
	e->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->timerfd < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &e->timerfd };
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->timerfd, &ev) < 0)
		goto fail;
	*ret = e;
	return 0;
fail:;
	int r = -errno;
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->timerfd >= 0)
		close(e->timerfd);
	free(e);
	return r;
}

static void source_unlink(struct event_source *s)
{
	struct event *e = s->event;
	if (s->prev)
		s->prev->next = s->next;
	else
		e->sources = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

static void reap_garbage(struct event *e)
{
	while (e->garbage) {
		struct event_source *s = e->garbage;
		e->garbage = s->next_garbage;
		source_unlink(s);
	}
}

struct event *event_free(struct event *e)
{
	if (!e)
		return NULL;
	/* Sources still owned by callers become dangling; callers free theirs first. */
	while (e->sources) {
		struct event_source *s = e->sources;
		if (s->type == SOURCE_SIGNAL)
			e->by_signal[s->signal.sig] = NULL;
		if (s->in_epoll)
			(void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, s->io.fd, NULL);
		source_unlink(s);
	}
	e->garbage = NULL;
	safe_close(e->epfd);
	safe_close(e->timerfd);
	safe_close(e->signalfd);
	if (!sigisemptyset(&e->sigmask))
		(void)sigprocmask(SIG_UNBLOCK, &e->sigmask, NULL);
	free(e);
	return NULL;
}

static struct event_source *source_new(struct event *e, enum source_type type, void *userdata)
{
	struct event_source *s = xnew0(struct event_source, 1);
	s->event = e;
	s->type = type;
	s->enabled = true;
	s->userdata = userdata;
	s->next = e->sources;
	if (e->sources)
		e->sources->prev = s;
	e->sources = s;
	return s;
}

static int io_sync(struct event_source *s)
{
	struct event *e = s->event;
	bool want = s->enabled && !s->dead;

	if (!want) {
		if (s->in_epoll && epoll_ctl(e->epfd, EPOLL_CTL_DEL, s->io.fd, NULL) < 0 &&
		    errno != EBADF && errno != ENOENT)
			return -errno;
		s->in_epoll = false;
		return 0;
	}
	struct epoll_event ev = { .events = s->io.events, .data.ptr = s };
	if (epoll_ctl(e->epfd, s->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->io.fd, &ev) < 0)
		return -errno;
	s->in_epoll = true;
	return 0;
}

int event_add_io(struct event *e, struct event_source **ret, int fd, uint32_t events,
		 event_io_fn cb, void *userdata)
{
	struct event_source *s = source_new(e, SOURCE_IO, userdata);
	s->io.fd = fd;
	s->io.events = events;
	s->io.cb = cb;
	int r = io_sync(s);
	if (r < 0) {
		source_unlink(s);
		return r;
	}
	*ret = s;
	return 0;
}

int event_add_time(struct event *e, struct event_source **ret, usec_t usec, event_time_fn cb,
		   void *userdata)
{
	struct event_source *s = source_new(e, SOURCE_TIME, userdata);
	s->time.next = usec;
	s->time.cb = cb;
	*ret = s;
	return 0;
}

int event_add_time_relative(struct event *e, struct event_source **ret, usec_t usec,
			    event_time_fn cb, void *userdata)
{
	usec_t now = now_usec(CLOCK_MONOTONIC);
	return event_add_time(e, ret, usec >= USEC_INFINITY - now ? USEC_INFINITY : now + usec, cb,
			      userdata);
}

int event_add_signal(struct event *e, struct event_source **ret, int sig, event_signal_fn cb,
		     void *userdata)
{
	if (sig <= 0 || sig >= _NSIG)
		return -EINVAL;
	if (e->by_signal[sig])
		return -EBUSY;

	sigset_t mask = e->sigmask;
	sigaddset(&mask, sig);
	int fd = signalfd(e->signalfd >= 0 ? e->signalfd : -1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (e->signalfd < 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &e->signalfd };
		if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
		e->signalfd = fd;
	}
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	e->sigmask = mask;

	struct event_source *s = source_new(e, SOURCE_SIGNAL, userdata);
	s->signal.sig = sig;
	s->signal.cb = cb;
	e->by_signal[sig] = s;
	*ret = s;
	return 0;
}

int event_add_defer(struct event *e, struct event_source **ret, event_defer_fn cb, void *userdata)
{
	struct event_source *s = source_new(e, SOURCE_DEFER, userdata);
	s->defer.cb = cb;
	*ret = s;
	return 0;
}

struct event_source *event_source_free(struct event_source *s)
{
	if (!s || s->dead)
		return NULL;
	struct event *e = s->event;

	s->dead = true;
	s->enabled = false;
	if (s->type == SOURCE_IO)
		(void)io_sync(s);
	if (s->type == SOURCE_SIGNAL) {
		/* The signal stays blocked: unblocking could kill us on a pending one. */
		e->by_signal[s->signal.sig] = NULL;
	}
	if (e->depth > 0) {
		s->next_garbage = e->garbage;
		e->garbage = s;
	} else {
		source_unlink(s);
	}
	return NULL;
}

int event_source_set_io_events(struct event_source *s, uint32_t events)
{
	if (s->type != SOURCE_IO)
		return -EINVAL;
	if (s->io.events == events)
		return 0;
	s->io.events = events;
	return io_sync(s);
}

uint32_t event_source_get_io_events(const struct event_source *s)
{
	return s->type == SOURCE_IO ? s->io.events : 0;
}

int event_source_set_time(struct event_source *s, usec_t usec)
{
	if (s->type != SOURCE_TIME)
		return -EINVAL;
	s->time.next = usec;
	s->enabled = !s->dead;
	return 0;
}

int event_source_set_enabled(struct event_source *s, bool enabled)
{
	if (s->dead)
		return enabled ? -ESTALE : 0;
	if (s->enabled == enabled)
		return 0;
	s->enabled = enabled;
	return s->type == SOURCE_IO ? io_sync(s) : 0;
}

bool event_source_get_enabled(const struct event_source *s)
{
	return s->enabled;
}

struct event *event_source_get_event(const struct event_source *s)
{
	return s->event;
}

void event_source_set_userdata(struct event_source *s, void *userdata)
{
	s->userdata = userdata;
}

static void source_failed(struct event_source *s, int r)
{
	log_debug_errno(r, "event source callback failed, disabling source: %m");
	(void)event_source_set_enabled(s, false);
}

static int arm_timer(struct event *e, bool *ret_have_defer)
{
	usec_t earliest = USEC_INFINITY;
	bool defer = false;

	for (struct event_source *s = e->sources; s; s = s->next) {
		if (!s->enabled || s->dead)
			continue;
		if (s->type == SOURCE_TIME && s->time.next < earliest)
			earliest = s->time.next;
		if (s->type == SOURCE_DEFER)
			defer = true;
	}
	*ret_have_defer = defer;
	if (earliest == e->armed)
		return 0;

	struct itimerspec its = { 0 };
	if (earliest != USEC_INFINITY) {
		/* 0 would disarm: an already-due deadline fires in 1 ns. */
		if (earliest == 0)
			its.it_value.tv_nsec = 1;
		else
			usec_to_timespec(&its.it_value, earliest);
	}
	if (timerfd_settime(e->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	e->armed = earliest;
	return 0;
}

static void dispatch_timers(struct event *e)
{
	usec_t now = now_usec(CLOCK_MONOTONIC);

	for (struct event_source *s = e->sources; s; s = s->next) {
		if (s->type != SOURCE_TIME || !s->enabled || s->dead || s->time.next > now)
			continue;
		s->enabled = false; /* one-shot; the callback may re-arm */
		int r = s->time.cb(s, now, s->userdata);
		if (r < 0)
			source_failed(s, r);
		if (e->exiting)
			return;
	}
}

static void dispatch_signals(struct event *e)
{
	struct signalfd_siginfo si;

	for (;;) {
		ssize_t n = read(e->signalfd, &si, sizeof(si));
		if (n != (ssize_t)sizeof(si))
			return;
		if (si.ssi_signo >= _NSIG)
			continue;
		struct event_source *s = e->by_signal[si.ssi_signo];
		if (!s || !s->enabled)
			continue;
		int r = s->signal.cb(s, &si, s->userdata);
		if (r < 0)
			source_failed(s, r);
	}
}

static void dispatch_defer(struct event *e)
{
	for (struct event_source *s = e->sources; s; s = s->next) {
		if (s->type != SOURCE_DEFER || !s->enabled || s->dead)
			continue;
		int r = s->defer.cb(s, s->userdata);
		if (r < 0)
			source_failed(s, r);
		if (e->exiting)
			return;
	}
}

int event_run(struct event *e, usec_t timeout)
{
	struct epoll_event evs[64];
	bool have_defer;
	int r;

	if (e->exiting)
		return 0;
	r = arm_timer(e, &have_defer);
	if (r < 0)
		return r;

	int ms;
	if (have_defer)
		ms = 0;
	else if (timeout == USEC_INFINITY)
		ms = -1;
	else
		ms = (int)MIN((timeout + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (usec_t)INT32_MAX);

	int n = epoll_wait(e->epfd, evs, (int)ELEMENTSOF(evs), ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;

	e->depth++;
	for (int i = 0; i < n && !e->exiting; i++) {
		void *p = evs[i].data.ptr;
		if (p == &e->timerfd) {
			uint64_t ticks;
			(void)!read(e->timerfd, &ticks, sizeof(ticks));
			e->armed = USEC_INFINITY; /* fired: re-arm on the next round */
			continue;
		}
		if (p == &e->signalfd) {
			dispatch_signals(e);
			continue;
		}
		struct event_source *s = p;
		if (s->dead || !s->enabled)
			continue;
		r = s->io.cb(s, s->io.fd, evs[i].events, s->userdata);
		if (r < 0)
			source_failed(s, r);
	}
	if (!e->exiting)
		dispatch_timers(e);
	if (!e->exiting)
		dispatch_defer(e);
	e->depth--;
	if (e->depth == 0)
		reap_garbage(e);
	return 0;
}

int event_loop(struct event *e)
{
	while (!e->exiting) {
		int r = event_run(e, USEC_INFINITY);
		if (r < 0)
			return r;
	}
	return e->exit_code;
}

void event_exit(struct event *e, int code)
{
	e->exiting = true;
	e->exit_code = code;
}

bool event_exiting(const struct event *e)
{
	return e->exiting;
}
