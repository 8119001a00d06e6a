/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's terminal (process.terminal with --console-socket): a host
 * pty whose master goes to the caller over its console socket (SCM_RIGHTS,
 * with the pty's name, as runc sends it) and whose slave the runtime keeps,
 * raw, relaying it to the guest process's own terminal. The caller resizes
 * the master; the slave's owner, whose controlling terminal it is, gets
 * SIGWINCH and passes the size on.
 */
#pragma once

#include <stdbool.h>

#include "error.h"

/* Opens the pty, sends the master to socket_path, makes the slave the calling process's
 * controlling terminal (it must be a session leader without one). Returns the slave
 * (non-blocking), or < 0. rows/cols: an initial size (0: none). */
int rt_console_open(const char *socket_path, unsigned rows, unsigned cols, bool make_ctty,
		    struct arca_error **err);
/* The terminal's size; 0, or < 0 when it has none. */
int rt_console_size(int fd, unsigned *ret_rows, unsigned *ret_cols);
