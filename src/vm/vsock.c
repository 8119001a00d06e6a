/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vsock_dialer: owns one non-blocking connect attempt at a time and a
 * retry timer. On success it hands the connected fd to the callback and goes
 * idle; the owner frees it.
 */
#include "vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "alloc.h"
#include "cleanup.h"
#include "event.h"

#define RETRY_USEC (50 * USEC_PER_MSEC)

struct vsock_dialer {
	struct event *event;
	uint32_t cid, port;
	int fd;
	struct event_source *io;
	struct event_source *timer;
	vsock_connected_fn cb;
	void *userdata;
};

bool vsock_available(void)
{
	return access("/dev/vhost-vsock", R_OK | W_OK) == 0;
}

uint32_t vsock_random_cid(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	return 3 + v % (1u << 31);
}

static void schedule_retry(struct vsock_dialer *d);

static int on_connected(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct vsock_dialer *d = userdata;
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	(void)revents;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	d->io = event_source_free(s);
	if (soerr != 0) {
		d->fd = safe_close(d->fd);
		schedule_retry(d);
		return 0;
	}
	int cfd = TAKE_FD(d->fd);
	d->cb(cfd, d->userdata);
	return 0;
}

static void attempt(struct vsock_dialer *d)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = d->cid, .svm_port = d->port };
	d->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->fd < 0) {
		schedule_retry(d);
		return;
	}
	if (connect(d->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		d->cb(TAKE_FD(d->fd), d->userdata);
		return;
	}
	if (errno == EINPROGRESS &&
	    event_add_io(d->event, &d->io, d->fd, EPOLLOUT, on_connected, d) >= 0)
		return;
	d->fd = safe_close(d->fd);
	schedule_retry(d);
}

static int on_retry(struct event_source *s, usec_t now, void *userdata)
{
	(void)s;
	(void)now;
	attempt(userdata);
	return 0;
}

static void schedule_retry(struct vsock_dialer *d)
{
	usec_t when = now_usec(CLOCK_MONOTONIC) + RETRY_USEC;
	if (d->timer)
		(void)event_source_set_time(d->timer, when);
	else
		(void)event_add_time(d->event, &d->timer, when, on_retry, d);
}

int vsock_dialer_new(struct event *e, uint32_t cid, uint32_t port, vsock_connected_fn cb,
		     void *userdata, struct vsock_dialer **ret)
{
	struct vsock_dialer *d = xnew0(struct vsock_dialer, 1);
	*d = (struct vsock_dialer){
		.event = e, .cid = cid, .port = port, .fd = -EBADF, .cb = cb, .userdata = userdata
	};
	*ret = d;
	attempt(d);
	return 0;
}

struct vsock_dialer *vsock_dialer_free(struct vsock_dialer *d)
{
	if (!d)
		return NULL;
	d->io = event_source_free(d->io);
	d->timer = event_source_free(d->timer);
	safe_close(d->fd);
	free(d);
	return NULL;
}
