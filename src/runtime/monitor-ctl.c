/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's end of ctl.sock (ctl.h): `start`, and execs, each a client
 * whose guest process's stdio goes straight to the descriptors its proxy
 * sent, and whose exit status goes back to the proxy. A proxy that goes away
 * has its process killed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "console.h"
#include "ctl.h"
#include "guest-setup.h"
#include "monitor-internal.h"
#include "parse-util.h"
#include "strv.h"

struct ctl_client {
	struct monitor *m;
	struct ctl_client *next;
	int fd;
	struct event_source *src;
	int fds[RT_CTL_FDS]; /* an exec's stdio, -1 when none */
	struct stdio_relay *relay;
	struct rt_spec process;
	bool exited; /* the exec's process is done, and the proxy told */
};

static void client_free(struct ctl_client *c)
{
	struct monitor *m = c->m;
	for (struct ctl_client **p = &m->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	if (m->starter == c)
		m->starter = NULL;
	if (m->pauser == c)
		m->pauser = NULL;
	c->relay = stdio_relay_free(c->relay);
	c->src = event_source_free(c->src);
	safe_close(c->fd);
	for (size_t i = 0; i < RT_CTL_FDS; i++)
		safe_close(c->fds[i]);
	rt_spec_done(&c->process);
	free(c);
}

static void client_send(struct ctl_client *c, const char *msg)
{
	if (c->fd >= 0)
		(void)send(c->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
}

void monitor_ctl_answer_start(struct monitor *m, const char *msg)
{
	struct ctl_client *c = m->starter;
	if (!c)
		return;
	client_send(c, msg);
	client_free(c);
}

/* The VM stopped (QMP stop) or went on: the whole container, as runc's freezer does. */
static void on_paused(struct vm *vm, int error, const char *message, void *userdata)
{
	struct monitor *m = userdata;
	bool pausing = !m->paused;
	char buf[1024];
	if (!error) {
		m->paused = pausing;
		monitor_write_state(m, pausing ? "paused" : "running");
	}
	if (!m->pauser)
		return;
	if (error)
		snprintf(buf, sizeof(buf), "error: %s the VM: %s", pausing ? "pause" : "resume",
			 message ? message : strerror(error));
	client_send(m->pauser, error ? buf : "ok");
	m->pauser = NULL;
}

static void pause_or_resume(struct ctl_client *c, bool pause)
{
	struct monitor *m = c->m;
	if (!m->started || m->finishing || m->pauser) {
		client_send(c, m->pauser ? "error: busy" : "error: container not running");
		return;
	}
	if (m->paused == pause) {
		client_send(c, pause ? "error: container already paused"
				     : "error: container not paused");
		return;
	}
	m->pauser = c;
	int r = pause ? vm_pause(m->vm, on_paused, m) : vm_resume(m->vm, on_paused, m);
	if (r < 0) {
		m->pauser = NULL;
		client_send(c, "error: the VM does not answer");
	}
}

static void exec_started(struct stdio_relay *r, int error, const char *message, uint32_t pid,
			 void *userdata)
{
	struct ctl_client *c = userdata;
	char buf[1024];
	if (error)
		snprintf(buf, sizeof(buf), "error: %s", message ? message : strerror(error));
	else
		snprintf(buf, sizeof(buf), "ok %u", pid);
	client_send(c, buf);
}

static void exec_done(struct stdio_relay *r, int status, void *userdata)
{
	struct ctl_client *c = userdata;
	char buf[32];
	/* A lost guest connection: the VM is going, and its processes are killed with it. */
	snprintf(buf, sizeof(buf), "exit %d", status < 0 ? 128 + SIGKILL : status);
	client_send(c, buf);
	c->exited = true;
	if (c->fd < 0)
		client_free(c);
}

static const struct stdio_relay_ops exec_ops = { .started = exec_started, .done = exec_done };

static void exec_start(struct ctl_client *c, const char *json, size_t len)
{
	struct monitor *m = c->m;
	_cleanup_error_ struct arca_error *err = NULL;
	char buf[1200];
	if (!m->started || m->finishing || !m->relay) {
		client_send(c, "error: container not running");
		return;
	}
	if (rt_process_parse(json, len, &c->process, &err) < 0) {
		snprintf(buf, sizeof(buf), "error: %s", err->msg);
		client_send(c, buf);
		return;
	}
	_cleanup_free_ char *user = rt_spec_user(&c->process);
	struct guest_proc_spec spec = {
		.argv = c->process.args,
		.env = c->process.env,
		.cwd = c->process.cwd,
		.user = user,
		.group_add = c->process.additional_gids,
		.root = GUEST_ROOT,
		.netns = true,
		.rlimits = c->process.rlimits,
		.n_rlimits = c->process.n_rlimits,
		.tty = c->process.terminal,
		.attach_stdin = true,
		.attach_stdout = true,
		.attach_stderr = true,
	};
	/* A terminal's three descriptors are its proxy's pty slave: sized as the caller set it. */
	if (spec.tty && (rt_console_size(c->fds[0], &spec.rows, &spec.cols) < 0 || !spec.rows)) {
		spec.rows = c->process.rows;
		spec.cols = c->process.cols;
	}
	c->relay = stdio_relay_new(m->event, c->fds[0], c->fds[1], c->fds[2], &exec_ops, c);
	int r = stdio_relay_spawn(c->relay, vm_guest(m->vm), &spec);
	if (r < 0) {
		snprintf(buf, sizeof(buf), "error: run the process: %s", strerror(-r));
		client_send(c, buf);
	}
}

static void client_gone(struct ctl_client *c)
{
	struct guest_proc *p = c->relay ? stdio_relay_proc(c->relay) : NULL;
	c->src = event_source_free(c->src);
	c->fd = safe_close(c->fd);
	if (!p || c->exited) {
		client_free(c);
		return;
	}
	/* Its proxy was killed: so is its process; the relay frees the client at the exit. */
	(void)guest_proc_signal(p, SIGKILL);
}

static int on_client(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ctl_client *c = userdata;
	struct monitor *m = c->m;
	_cleanup_free_ char *buf = xmalloc(RT_CTL_MAX + 1);
	int fds[RT_CTL_FDS];
	size_t n_fds = RT_CTL_FDS;
	ssize_t n = rt_ctl_recv(fd, buf, RT_CTL_MAX + 1, 0, fds, &n_fds);
	if (n == -ETIMEDOUT || n == -EAGAIN)
		return 0;
	if (n <= 0) {
		client_gone(c);
		return 0;
	}
	if (strcmp(buf, "start") == 0 && !c->relay && m->starter == NULL) {
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		if (m->started || m->finishing) {
			client_send(c, m->finishing ? "error: container not running"
						    : "error: the container was started already");
			return 0;
		}
		m->starter = c;
		monitor_start_process(m);
		return 0;
	}
	if ((strcmp(buf, "pause") == 0 || strcmp(buf, "resume") == 0) && !c->relay) {
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		pause_or_resume(c, buf[0] == 'p');
		return 0;
	}
	if (strncmp(buf, "exec\n", 5) == 0 && !c->relay && n_fds == RT_CTL_FDS) {
		memcpy(c->fds, fds, sizeof(fds));
		exec_start(c, buf + 5, (size_t)n - 5);
		return 0;
	}
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	int sig;
	if (strncmp(buf, "signal ", 7) == 0 && safe_atoi(buf + 7, &sig) == 0 && sig > 0 &&
	    sig < 65 && c->relay) {
		struct guest_proc *p = stdio_relay_proc(c->relay);
		if (p && !guest_proc_exited(p, NULL))
			(void)guest_proc_signal(p, sig);
		return 0;
	}
	unsigned rows, cols;
	if (sscanf(buf, "resize %u %u", &rows, &cols) == 2 && c->relay && rows < 65536 &&
	    cols < 65536) {
		struct guest_proc *p = stdio_relay_proc(c->relay);
		if (p && !guest_proc_exited(p, NULL))
			(void)guest_proc_resize(p, rows, cols);
		return 0;
	}
	client_send(c, "error: unknown request");
	return 0;
}

static int on_listen(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct monitor *m = userdata;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return 0;
	struct ctl_client *c = xnew0(struct ctl_client, 1);
	*c = (struct ctl_client){ .m = m, .fd = cfd, .next = m->clients };
	for (size_t i = 0; i < RT_CTL_FDS; i++)
		c->fds[i] = -1;
	m->clients = c;
	if (event_add_io(m->event, &c->src, cfd, EPOLLIN, on_client, c) < 0)
		client_free(c);
	return 0;
}

int monitor_ctl_listen(struct monitor *m, struct arca_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/ctl.sock", m->a->dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return arca_error_set(err, ENAMETOOLONG, ARCA_ERR_INVALID,
				      "%s: too long for a socket path (a shorter --root)", path);
	strcpy(sa.sun_path, path);
	m->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int size = (int)RT_CTL_MAX + 4096;
	if (m->listen_fd >= 0)
		(void)setsockopt(m->listen_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (m->listen_fd < 0 || bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(m->listen_fd, 16) < 0)
		return arca_error_errno(err, errno, "listen on %s", path);
	int r = event_add_io(m->event, &m->listen_src, m->listen_fd, EPOLLIN, on_listen, m);
	return r < 0 ? arca_error_errno(err, -r, "watch %s", path) : 0;
}

void monitor_ctl_free_all(struct monitor *m)
{
	while (m->clients) {
		struct ctl_client *c = m->clients;
		if (c->relay && !c->exited)
			client_send(c, "exit 137");
		client_free(c);
	}
	m->listen_src = event_source_free(m->listen_src);
	m->listen_fd = safe_close(m->listen_fd);
}
