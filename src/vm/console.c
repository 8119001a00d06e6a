/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest's serial console (console.h). QEMU serves it on a socket; what
 * the guest writes is appended to the log by the daemon's event loop, and the
 * log is rotated when it reaches VM_CONSOLE_LOG_MAX. While nobody reads (a
 * daemon restart), QEMU drops the console's output rather than store it.
 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "log.h"

struct vm_console {
	int fd;
	int log_fd;
	off_t size; /* of the log now */
	char *log_path;
	struct event_source *src;
};

static int open_log(struct vm_console *c, bool truncate)
{
	safe_close(c->log_fd);
	c->log_fd =
	    open(c->log_path,
		 O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | (truncate ? O_TRUNC : 0),
		 0600);
	if (c->log_fd < 0)
		return -errno;
	struct stat st;
	c->size = fstat(c->log_fd, &st) == 0 ? st.st_size : 0;
	return 0;
}

/* The full log becomes <log>.1 (replacing the older one); a new log starts. */
static void rotate(struct vm_console *c)
{
	_cleanup_free_ char *old = xasprintf("%s.1", c->log_path);
	if (rename(c->log_path, old) < 0)
		log_debug("console: rename `%s`: %s", c->log_path, strerror(errno));
	if (open_log(c, true) < 0)
		log_debug("console: reopen `%s`: %s", c->log_path, strerror(errno));
}

static void write_log(struct vm_console *c, const char *p, size_t n)
{
	if (c->size + (off_t)n > VM_CONSOLE_LOG_MAX)
		rotate(c);
	if (c->log_fd >= 0 && loop_write(c->log_fd, p, n) == 0)
		c->size += (off_t)n;
}

/* Reads once: 1 when it read some, 0 when there is nothing yet, -1 once the VMM closed. */
static int read_once(struct vm_console *c)
{
	char buf[16384];
	ssize_t n = read(c->fd, buf, sizeof(buf));
	if (n > 0) {
		write_log(c, buf, (size_t)n);
		return 1;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	c->src = event_source_free(c->src);
	c->fd = safe_close(c->fd);
	return -1;
}

static int on_readable(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	(void)s;
	(void)fd;
	(void)revents;
	(void)read_once(userdata);
	return 0;
}

int vm_console_new(struct event *e, int fd, const char *log_path, struct vm_console **ret)
{
	struct vm_console *c = xnew0(struct vm_console, 1);
	c->fd = fd;
	c->log_fd = -EBADF;
	c->log_path = xstrdup(log_path);
	int r = fd_set_nonblock(fd, true);
	if (r >= 0)
		r = open_log(c, false);
	if (r >= 0)
		r = event_add_io(e, &c->src, fd, EPOLLIN, on_readable, c);
	if (r < 0) {
		vm_console_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void vm_console_drain(struct vm_console *c)
{
	/* Bounded: a guest that keeps writing cannot hold the loop here. */
	for (int i = 0; c && c->fd >= 0 && i < VM_CONSOLE_LOG_MAX / 16384; i++)
		if (read_once(c) <= 0)
			break;
}

struct vm_console *vm_console_free(struct vm_console *c)
{
	if (!c)
		return NULL;
	event_source_free(c->src);
	safe_close(c->fd);
	safe_close(c->log_fd);
	free(c->log_path);
	free(c);
	return NULL;
}
