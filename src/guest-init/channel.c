/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host channel of arca-init: a virtio-serial port named arca.0, or a
 * vsock listener on PROTO_VSOCK_PORT, chosen by arca.channel= on the kernel
 * command line. Owns gi->conn.
 *
 * The host may go away and come back (a daemon restart): a closed serial
 * connection is reopened by a 100 ms timer once the host end is connected
 * again; a vsock listener simply accepts the next connection. Every new
 * connection starts with our HELLO. Processes keep running meanwhile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "cleanup.h"
#include "event.h"
#include "fd-util.h"
#include "init.h"
#include "log.h"

#define RECONNECT_USEC (100 * USEC_PER_MSEC)

#ifndef ARCA_VERSION
#define ARCA_VERSION "dev"
#endif

static int on_frame(struct proto_conn *c, const struct proto_frame *f, void *userdata)
{
	(void)c;
	return rpc_on_frame(userdata, f);
}

static void schedule_reconnect(struct guest_init *gi);

static void on_closed(struct proto_conn *c, int error, void *userdata)
{
	struct guest_init *gi = userdata;
	(void)c;
	if (gi->ephemeral) {
		/* Its VMM no longer dies with the daemon (it runs as another user): it ends here.
		 */
		log_info("host disconnected from an ephemeral VM, halting");
		sync();
		(void)reboot(RB_AUTOBOOT);
	}
	if (error < 0)
		log_warn_errno(error, "host channel failed: %m, waiting for the host");
	else
		log_info("host disconnected, waiting for it to come back");
	gi->conn = proto_conn_free(gi->conn);
	stdio_detach_all(gi); /* what it had not acknowledged waits for the next host */
	if (gi->channel == CHANNEL_SERIAL)
		schedule_reconnect(gi);
}

static void on_writable(struct proto_conn *c, void *userdata)
{
	(void)c;
	stdio_resume_all(userdata);
}

static const struct proto_conn_ops conn_ops = {
	.frame = on_frame,
	.closed = on_closed,
	.writable = on_writable,
};

int channel_send_hello(struct guest_init *gi)
{
	uint8_t buf[256];
	struct proto_writer w;

	proto_writer_init(&w, buf, sizeof(buf));
	proto_put_u32(&w, PROTO_T_VERSION_MAJOR, PROTO_VERSION_MAJOR);
	proto_put_u32(&w, PROTO_T_VERSION_MINOR, PROTO_VERSION_MINOR);
	proto_put_u64(&w, PROTO_T_BOOT_NS, gi->boot_ns);
	proto_put_u64(&w, PROTO_T_READY_NS, gi->ready_ns);
	proto_put_str(&w, PROTO_T_INIT_VERSION, ARCA_VERSION);
	ssize_t n = proto_writer_finish(&w, PROTO_HELLO, 0);
	if (n < 0)
		return (int)n;
	return proto_conn_send(gi->conn, buf, (size_t)n);
}

static int attach_fd(struct guest_init *gi, int fd)
{
	int r = proto_conn_new(gi->event, fd, &conn_ops, gi, &gi->conn);
	if (r < 0)
		return r;
	if (gi->ready_ns == 0)
		gi->ready_ns = now_nsec(CLOCK_BOOTTIME);
	r = channel_send_hello(gi);
	if (r < 0)
		return r;
	/* Exits that happened while the host was away are reported now. */
	for (struct proc *p = gi->procs; p; p = p->next)
		proc_check_done(p);
	stdio_resume_all(gi);
	return 0;
}

static int find_serial_port(char *dev, size_t len)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	if (!d)
		return -errno;
	int r = -ENODEV;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[512];
		_cleanup_free_ char *name = NULL;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
		if (read_file_at(AT_FDCWD, path, 256, &name, NULL) < 0)
			continue;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, PROTO_SERIAL_PORT_NAME) == 0) {
			snprintf(dev, len, "/dev/%s", de->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

/* Opens the port if the host end is connected: 1 attached, 0 not yet, < 0 error. */
static int try_serial(struct guest_init *gi)
{
	char dev[300];
	int r = find_serial_port(dev, sizeof(dev));
	if (r < 0)
		return r;
	_cleanup_close_ int fd = open(dev, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == EBUSY ? 0 : -errno;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, 0) < 0)
		return -errno;
	if (pfd.revents & POLLHUP || !(pfd.revents & POLLOUT))
		return 0; /* host end not connected yet */
	r = attach_fd(gi, TAKE_FD(fd));
	return r < 0 ? r : 1;
}

static int on_reconnect_timer(struct event_source *s, usec_t now, void *userdata)
{
	struct guest_init *gi = userdata;
	int r = try_serial(gi);
	if (r == 0 || (r < 0 && !gi->conn))
		return event_source_set_time(s, now + RECONNECT_USEC);
	if (r > 0)
		log_info("host connected");
	return 0;
}

static void schedule_reconnect(struct guest_init *gi)
{
	usec_t next = now_usec(CLOCK_MONOTONIC) + RECONNECT_USEC;
	if (gi->reconnect_timer)
		(void)event_source_set_time(gi->reconnect_timer, next);
	else if (event_add_time(gi->event, &gi->reconnect_timer, next, on_reconnect_timer, gi) < 0)
		log_error("cannot schedule reconnection to the host");
}

static int on_vsock_accept(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct guest_init *gi = userdata;
	(void)s;
	(void)revents;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (gi->conn) {
		log_info("new host connection replaces the current one");
		gi->conn = proto_conn_free(gi->conn);
	}
	int r = attach_fd(gi, cfd);
	if (r < 0)
		log_warn_errno(r, "host connection setup failed: %m, ignoring");
	return 0;
}

static int open_vsock(struct guest_init *gi)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_port = PROTO_VSOCK_PORT,
		.svm_cid = VMADDR_CID_ANY,
	};
	_cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0)
		return -errno;
	struct event_source *src;
	int r = event_add_io(gi->event, &src, fd, EPOLLIN, on_vsock_accept, gi);
	if (r < 0)
		return r;
	gi->listen_fd = TAKE_FD(fd);
	return 0;
}

int channel_open(struct guest_init *gi)
{
	if (gi->channel == CHANNEL_VSOCK)
		return open_vsock(gi);
	int r = try_serial(gi);
	/* No port yet (a modular kernel may still be probing it): keep trying. */
	if (r == -ENODEV || r == -ENOENT)
		r = 0;
	if (r < 0)
		return r;
	if (r == 0)
		schedule_reconnect(gi);
	return 0;
}

void channel_done(struct guest_init *gi)
{
	gi->conn = proto_conn_free(gi->conn);
	gi->reconnect_timer = event_source_free(gi->reconnect_timer);
	gi->listen_fd = safe_close(gi->listen_fd);
}
