/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's control socket, <dir>/ctl.sock (SOCK_SEQPACKET, 0600): one
 * message per request or answer, in text.
 *
 *   client → monitor:  "start", "pause", "resume"
 *                      "exec\n<process.json>" with the exec's stdin, stdout and
 *                      stderr as SCM_RIGHTS (with a terminal: its pty's slave, three
 *                      times); then any number of "signal N" and "resize ROWS COLS"
 *   monitor → client:  "ok" (start), "ok PID" (exec), "error: MESSAGE",
 *                      "exit STATUS" (exec: its guest process ended)
 *
 * An exec client that goes away (its proxy killed) has its guest process
 * killed.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#define RT_CTL_MAX (128u << 10) /* one message, process.json included */
#define RT_CTL_FDS 3

/* Connects to the container's monitor; -errno. */
int rt_ctl_connect(const char *dir);
/* Sends one message, with n_fds descriptors attached. */
int rt_ctl_send(int fd, const char *msg, size_t len, const int *fds, size_t n_fds);
/* One message into buf (NUL-terminated), waiting up to timeout_ms (-1: forever); with
 * fds/n_fds, up to *n_fds descriptors it carried (others are closed). 0 at EOF. */
ssize_t rt_ctl_recv(int fd, char *buf, size_t max, int timeout_ms, int *fds, size_t *n_fds);
