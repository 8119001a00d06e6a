/* SPDX-License-Identifier: Apache-2.0 */
/* Terminal handling for the CLI: raw mode with guaranteed restore, window size. */
#pragma once

#include <stdbool.h>
#include <termios.h>

struct tty_state {
	int fd;
	bool saved;
	struct termios orig;
};

/* Puts fd into raw mode, remembering the old settings. */
int tty_make_raw(struct tty_state *t, int fd);
void tty_restore(struct tty_state *t);
/* Window size of the first terminal among stdin/stdout/stderr; 0 when none. */
int tty_get_size(unsigned *rows, unsigned *cols);
