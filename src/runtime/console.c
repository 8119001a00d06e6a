/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "console.h"
#include "ctl.h"

static int send_master(const char *socket_path, int master, const char *name,
		       struct arca_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return arca_error_set(err, ENAMETOOLONG, ARCA_ERR_INVALID,
				      "--console-socket %s: path too long", socket_path);
	strcpy(sa.sun_path, socket_path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return arca_error_errno(err, errno, "connect to --console-socket %s", socket_path);
	int r = rt_ctl_send(fd, name, strlen(name), &master, 1);
	if (r < 0)
		return arca_error_errno(err, -r, "send the terminal to %s", socket_path);
	return 0;
}

int rt_console_open(const char *socket_path, unsigned rows, unsigned cols, bool make_ctty,
		    struct arca_error **err)
{
	char name[64];
	_cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, name, sizeof(name)) != 0)
		return arca_error_errno(err, errno, "open a pseudo-terminal");
	_cleanup_close_ int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios t;
	if (slave < 0 || tcgetattr(slave, &t) < 0)
		return arca_error_errno(err, errno, "open %s", name);
	/* Raw: the guest's own pty does the line discipline, once. */
	cfmakeraw(&t);
	if (tcsetattr(slave, TCSANOW, &t) < 0)
		return arca_error_errno(err, errno, "make %s raw", name);
	if (rows && cols) {
		struct winsize ws = { .ws_row = (unsigned short)rows,
				      .ws_col = (unsigned short)cols };
		(void)ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (make_ctty && ioctl(slave, TIOCSCTTY, 0) < 0)
		return arca_error_errno(err, errno, "make %s the controlling terminal", name);
	int r = send_master(socket_path, master, name, err);
	if (r < 0)
		return r;
	int flags = fcntl(slave, F_GETFL);
	if (flags < 0 || fcntl(slave, F_SETFL, flags | O_NONBLOCK) < 0)
		return arca_error_errno(err, errno, "make %s non-blocking", name);
	return TAKE_FD(slave);
}

int rt_console_size(int fd, unsigned *ret_rows, unsigned *ret_cols)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
		return -errno;
	*ret_rows = ws.ws_row;
	*ret_cols = ws.ws_col;
	return 0;
}
