/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pidfd(2) helpers for host code (glibc 2.36 has no wrappers): a process is
 * signalled and waited for through a descriptor, never by a PID that may
 * have been reused meanwhile. Header-only: the static guest init never
 * needs them.
 */
#pragma once

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "time-util.h"

static inline int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static inline int pidfd_send_signal_(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* SIGKILLs the process and waits up to `wait` for it to end (a process that is not our
 * child: no wait(2)). 0 once it is gone, -EBUSY if it is not yet, -errno. */
static inline int pidfd_kill_wait(int pidfd, usec_t wait)
{
	if (pidfd_send_signal_(pidfd, SIGKILL) < 0 && errno != ESRCH)
		return -errno;
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int r;
	while ((r = poll(&p, 1, (int)(wait / 1000))) < 0 && errno == EINTR)
		;
	return r > 0 ? 0 : -EBUSY;
}
