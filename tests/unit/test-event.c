/* SPDX-License-Identifier: Apache-2.0 */
/* src/common/event.c: io, time, signal and defer sources; freeing inside callbacks. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "event.h"
#include "tap.h"

static int io_calls, time_calls, defer_calls, sig_calls;
static struct event_source *victim;

static int on_io(struct event_source *s, int fd, uint32_t revents, void *ud)
{
	char c;
	io_calls++;
	(void)!read(fd, &c, 1);
	(void)s;
	(void)revents;
	/* Free another source that also has a pending event in this round. */
	if (ud && victim)
		victim = event_source_free(victim);
	return 0;
}

static int on_time(struct event_source *s, usec_t now, void *ud)
{
	(void)s;
	(void)now;
	time_calls++;
	if (ud)
		event_exit(ud, 42);
	return 0;
}

static int on_defer(struct event_source *s, void *ud)
{
	(void)ud;
	defer_calls++;
	return event_source_set_enabled(s, false);
}

static int on_sig(struct event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	(void)s;
	(void)ud;
	sig_calls += si->ssi_signo == SIGUSR1;
	return 0;
}

static int failing(struct event_source *s, usec_t now, void *ud)
{
	(void)s;
	(void)now;
	(void)ud;
	return -EIO;
}

int main(void)
{
	struct event *e = NULL;
	struct event_source *a, *b, *t, *t2, *d, *sig, *f;
	int p1[2], p2[2];

	is_int(event_new(&e), 0, "loop created");
	ok(pipe(p1) == 0 && pipe(p2) == 0, "pipes");

	is_int(event_add_io(e, &a, p1[0], EPOLLIN, on_io, e), 0, "io source a");
	is_int(event_add_io(e, &b, p2[0], EPOLLIN, on_io, NULL), 0, "io source b");
	victim = b;
	(void)!write(p1[1], "x", 1);
	(void)!write(p2[1], "y", 1);
	is_int(event_run(e, 0), 0, "one iteration");
	ok(io_calls >= 1 && io_calls <= 2, "io dispatched; the freed source never runs after free");
	ok(victim == NULL, "source freed from a callback");

	is_int(event_add_defer(e, &d, on_defer, NULL), 0, "defer source");
	event_run(e, 0);
	event_run(e, 0);
	is_int(defer_calls, 1, "defer ran once, then disabled itself");

	is_int(event_add_signal(e, &sig, SIGUSR1, on_sig, NULL), 0, "signal source");
	is_int(event_add_signal(e, &f, SIGUSR1, on_sig, NULL), -EBUSY, "one source per signal");
	kill(getpid(), SIGUSR1);
	event_run(e, 100 * USEC_PER_MSEC);
	is_int(sig_calls, 1, "signal delivered through the signalfd");

	is_int(event_add_time_relative(e, &f, 0, failing, NULL), 0, "failing timer");
	event_run(e, 0);
	ok(!event_source_get_enabled(f), "a failing callback disables its source");

	usec_t start = now_usec(CLOCK_MONOTONIC);
	is_int(event_add_time_relative(e, &t2, 10 * USEC_PER_SEC, on_time, NULL), 0, "far timer");
	is_int(event_add_time_relative(e, &t, 20 * USEC_PER_MSEC, on_time, e), 0, "near timer");
	is_int(event_loop(e), 42, "loop returns the exit code");
	usec_t took = now_usec(CLOCK_MONOTONIC) - start;
	ok(took >= 20 * USEC_PER_MSEC && took < 2 * USEC_PER_SEC, "timer fired on time (%llu us)",
	   (unsigned long long)took);
	is_int(time_calls, 1, "only the due timer fired");

	ok(event_source_free(NULL) == NULL, "event_source_free(NULL)");
	ok(event_free(NULL) == NULL, "event_free(NULL)");
	event_source_free(a);
	event_source_free(t);
	event_source_free(t2);
	event_source_free(d);
	event_source_free(sig);
	event_source_free(f);
	event_free(e);
	return tap_done();
}
