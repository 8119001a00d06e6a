/* SPDX-License-Identifier: Apache-2.0 */
/* Raw mode and window size. */
#include "tty.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tty_make_raw(struct tty_state *t, int fd)
{
	struct termios raw;
	t->fd = fd;
	t->saved = false;
	if (tcgetattr(fd, &t->orig) < 0)
		return -errno;
	raw = t->orig;
	cfmakeraw(&raw);
	/* Keep output post-processing off too: the guest pty does it. */
	if (tcsetattr(fd, TCSADRAIN, &raw) < 0)
		return -errno;
	t->saved = true;
	return 0;
}

void tty_restore(struct tty_state *t)
{
	if (t->saved) {
		(void)tcsetattr(t->fd, TCSADRAIN, &t->orig);
		t->saved = false;
	}
}

int tty_get_size(unsigned *rows, unsigned *cols)
{
	struct winsize ws;
	for (int fd = 0; fd <= 2; fd++)
		if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
			*rows = ws.ws_row;
			*cols = ws.ws_col;
			return 0;
		}
	*rows = *cols = 0;
	return -ENOTTY;
}
