/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "ctl.h"

int rt_ctl_connect(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/ctl.sock", dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int size = (int)RT_CTL_MAX + 4096;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int rt_ctl_send(int fd, const char *msg, size_t len, const int *fds, size_t n_fds)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int) * RT_CTL_FDS)];
		struct cmsghdr align;
	} u = { 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (len > RT_CTL_MAX || n_fds > RT_CTL_FDS)
		return -EMSGSIZE;
	if (n_fds) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	for (;;) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

ssize_t rt_ctl_recv(int fd, char *buf, size_t max, int timeout_ms, int *fds, size_t *n_fds)
{
	struct iovec iov = { .iov_base = buf, .iov_len = max - 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * RT_CTL_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	size_t want = n_fds ? *n_fds : 0;
	if (n_fds)
		*n_fds = 0;
	if (timeout_ms >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, timeout_ms);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return -errno;
	}
	ssize_t n;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | (timeout_ms >= 0 ? MSG_DONTWAIT : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int got[RT_CTL_FDS * 4];
		memcpy(got, CMSG_DATA(c), MIN(k, ELEMENTSOF(got)) * sizeof(int));
		for (size_t i = 0; i < MIN(k, ELEMENTSOF(got)); i++) {
			if (n_fds && *n_fds < want)
				fds[(*n_fds)++] = got[i];
			else
				close(got[i]);
		}
	}
	if (mh.msg_flags & MSG_TRUNC) {
		for (size_t i = 0; n_fds && i < *n_fds; i++)
			close(fds[i]);
		if (n_fds)
			*n_fds = 0;
		return -EMSGSIZE;
	}
	return n;
}
