/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Child reaping for PID 1 (rule P3): SIGCHLD arrives on the loop's signalfd;
 * every zombie is collected with waitpid(-1, WNOHANG) until none is left.
 * Orphans are reaped silently; only host-started processes are reported,
 * with WEXITSTATUS or 128 + WTERMSIG.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "event.h"
#include "init.h"
#include "log.h"

void reaper_reap(struct guest_init *gi)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		struct proc *p = proc_find_pid(gi, pid);
		if (!p)
			continue;
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		proc_exited(p, code);
	}
}

static int on_sigchld(struct event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)s;
	(void)si;
	reaper_reap(userdata);
	return 0;
}

int reaper_setup(struct guest_init *gi)
{
	struct event_source *s;
	/* The source lives as long as the loop; event_free() releases it. */
	return event_add_signal(gi->event, &s, SIGCHLD, on_sigchld, gi);
}
