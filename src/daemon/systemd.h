/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two parts of systemd's service protocol arcad speaks, without
 * libsystemd: socket activation (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS,
 * the socket at fd 3) and readiness (sd_notify(3): a datagram to
 * NOTIFY_SOCKET). Both are no-ops when systemd (or systemd-socket-activate)
 * did not start arcad.
 */
#pragma once

#include "error.h"

/* The listening unix socket systemd passed (its variables then unset), -1 if none;
 * an error when what was passed is not one. */
int systemd_listen_fd(struct arca_error **err);
/* Sends state ("READY=1", "STOPPING=1", "STATUS=...") to the service manager, if any. */
void systemd_notify(const char *state);
