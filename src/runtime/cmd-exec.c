/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `exec`: a process more in a running container. The process that runs it
 * here is its proxy: it hands its stdio to the container's monitor (ctl.h),
 * which runs the process in the guest with them; it relays every signal it
 * gets, and exits with the guest process's status. With --detach, `exec`
 * forks the proxy, writes its PID to --pid-file once the process runs, and
 * returns. A killed proxy has its guest process killed by the monitor.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "console.h"
#include "ctl.h"
#include "fd-util.h"
#include "parse-util.h"
#include "runtime.h"
#include "spec.h"
#include "state.h"
#include "strv.h"

struct exec_opts {
	const char *process;
	const char *pid_file;
	const char *cwd;
	const char *user;
	char **env;
	bool detach;
	bool tty;
	const char *console_socket;
	unsigned preserve_fds;
	const char *id;
	char **args;
};

static int parse(struct rt_ctx *ctx, int argc, char **argv, struct exec_opts *o)
{
	static const struct option opts[] = {
		{ "process", required_argument, NULL, 'p' },
		{ "pid-file", required_argument, NULL, 'P' },
		{ "detach", no_argument, NULL, 'd' },
		{ "tty", no_argument, NULL, 't' },
		{ "console-socket", required_argument, NULL, 'c' },
		{ "cwd", required_argument, NULL, 'w' },
		{ "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },
		{ "preserve-fds", required_argument, NULL, 'F' },
		{ "process-label", required_argument, NULL, 'L' },
		{ "apparmor", required_argument, NULL, 'A' },
		{ "no-new-privs", no_argument, NULL, 'N' },
		{ "cap", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	o->env = strv_copy(NULL);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:dte:u:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': o->process = optarg; break;
		case 'P': o->pid_file = optarg; break;
		case 'd': o->detach = true; break;
		case 't': o->tty = true; break;
		case 'c': o->console_socket = optarg; break;
		case 'w': o->cwd = optarg; break;
		case 'e': o->env = strv_append(o->env, optarg); break;
		case 'u': o->user = optarg; break;
		case 'F':
			if (safe_atou32(optarg, &o->preserve_fds) < 0)
				return -EINVAL;
			break;
		case 'L':
		case 'A':
		case 'N':
		case 'C': break; /* labels, capabilities: the VM is the boundary */
		default: rt_log(&ctx->log, RT_LOG_ERROR, "exec: unknown option"); return -EINVAL;
		}
	}
	if (optind >= argc) {
		rt_log(&ctx->log, RT_LOG_ERROR, "exec: usage: exec [OPTIONS] ID [COMMAND...]");
		return -EINVAL;
	}
	o->id = argv[optind];
	o->args = argv + optind + 1;
	if (!o->process && !o->args[0]) {
		rt_log(&ctx->log, RT_LOG_ERROR, "exec: a command or --process is needed");
		return -EINVAL;
	}
	return 0;
}

/* Without --process: the container's own process (config.json) with our args and options. */
static char *process_from_args(struct rt_ctx *ctx, const struct rt_state *st,
			       const struct exec_opts *o)
{
	_cleanup_free_ char *config = xasprintf("%s/config.json", st->bundle);
	_cleanup_free_ char *text = NULL;
	json_t *root = NULL, *proc;
	if (read_file_at(AT_FDCWD, config, RT_SPEC_MAX_BYTES, &text, NULL) >= 0)
		root = json_loads(text, 0, NULL);
	proc = json_object_get(root, "process");
	proc = json_is_object(proc) ? json_deep_copy(proc) : json_object();
	json_decref(root);
	json_t *args = json_array();
	for (char **a = o->args; *a; a++)
		json_array_append_new(args, json_string(*a));
	json_object_set_new(proc, "args", args);
	json_object_set_new(proc, "terminal", json_boolean(o->tty));
	if (o->cwd)
		json_object_set_new(proc, "cwd", json_string(o->cwd));
	if (!json_object_get(proc, "cwd"))
		json_object_set_new(proc, "cwd", json_string("/"));
	json_t *env = json_object_get(proc, "env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(proc, "env", env);
	}
	for (char **e = o->env; *e; e++)
		json_array_append_new(env, json_string(*e));
	if (o->user) {
		uint32_t uid = 0, gid = 0;
		_cleanup_free_ char *u = xstrdup(o->user);
		char *colon = strchr(u, ':');
		if (colon)
			*colon++ = '\0';
		if (safe_atou32(u, &uid) < 0 || (colon && safe_atou32(colon, &gid) < 0)) {
			rt_log(&ctx->log, RT_LOG_ERROR, "--user wants UID[:GID], got `%s`",
			       o->user);
			json_decref(proc);
			return NULL;
		}
		json_object_set_new(
		    proc, "user",
		    json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid));
	}
	char *out = json_dumps(proc, JSON_COMPACT);
	json_decref(proc);
	return out;
}

static int block_signals(sigset_t *set)
{
	sigfillset(set);
	sigdelset(set, SIGKILL);
	sigdelset(set, SIGSTOP);
	sigdelset(set, SIGCHLD);
	sigdelset(set, SIGPIPE);
	sigdelset(set, SIGSEGV);
	sigdelset(set, SIGBUS);
	sigdelset(set, SIGFPE);
	sigdelset(set, SIGILL);
	if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/*
 * The proxy: asks the monitor to run the process, tells ready_fd (or stderr)
 * how that went, then relays signals until the exit comes. Returns the exit status.
 */
struct proxy_args {
	const char *dir;
	const char *json;
	int ready_fd; /* -1: errors to the log */
	const char *console_socket;
	unsigned rows, cols;
};

/* With a terminal: its pty, whose slave is the process's stdio and our controlling
 * terminal (so the caller's resizes reach us as SIGWINCH). */
static int proxy_console(const struct proxy_args *a, struct arca_error **err)
{
	if (setsid() < 0)
		return arca_error_errno(err, errno, "setsid");
	return rt_console_open(a->console_socket, a->rows, a->cols, true, err);
}

static int proxy(struct rt_ctx *ctx, const struct proxy_args *a)
{
	char buf[1024];
	sigset_t set;
	_cleanup_error_ struct arca_error *err = NULL;
	_cleanup_close_ int sfd = block_signals(&set);
	_cleanup_close_ int console = a->console_socket ? proxy_console(a, &err) : -EBADF;
	_cleanup_close_ int fd = a->console_socket && console < 0 ? -EBADF : rt_ctl_connect(a->dir);
	int stdio[RT_CTL_FDS] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
	if (console >= 0)
		stdio[0] = stdio[1] = stdio[2] = console;
	_cleanup_free_ char *msg = xasprintf("exec\n%s", a->json);
	ssize_t n = -EIO;
	if (fd >= 0 && sfd >= 0 && rt_ctl_send(fd, msg, strlen(msg), stdio, RT_CTL_FDS) == 0)
		n = rt_ctl_recv(fd, buf, sizeof(buf), 120 * 1000, NULL, NULL);
	if (n <= 0 || strncmp(buf, "ok ", 3) != 0) {
		const char *why = n > 0 && strncmp(buf, "error: ", 7) == 0 ? buf + 7
				  : err					   ? err->msg
				  : fd < 0				   ? "container not running"
					   : "the container's monitor did not answer";
		if (a->ready_fd >= 0)
			(void)loop_write(a->ready_fd, why, strlen(why));
		else
			rt_log(&ctx->log, RT_LOG_ERROR, "exec: %s", why);
		return 255;
	}
	if (a->ready_fd >= 0) {
		(void)loop_write(a->ready_fd, "ok", 2);
		close(a->ready_fd);
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 255;
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			char req[64];
			unsigned rows, cols;
			int k = snprintf(req, sizeof(req), "signal %u", si.ssi_signo);
			if (si.ssi_signo == SIGWINCH && console >= 0 &&
			    rt_console_size(console, &rows, &cols) == 0)
				k = snprintf(req, sizeof(req), "resize %u %u", rows, cols);
			else if (si.ssi_signo == SIGWINCH)
				continue;
			(void)rt_ctl_send(fd, req, (size_t)k, NULL, 0);
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = rt_ctl_recv(fd, buf, sizeof(buf), 0, NULL, NULL);
		int status;
		if (n == -EAGAIN || n == -ETIMEDOUT)
			continue;
		if (n <= 0)
			return 128 + SIGKILL; /* the monitor, and with it the VM, is gone */
		if (strncmp(buf, "exit ", 5) == 0 && safe_atoi(buf + 5, &status) == 0)
			return status & 0xff;
	}
}

int rt_cmd_exec(struct rt_ctx *ctx, int argc, char **argv)
{
	struct exec_opts o = { 0 };
	struct rt_state st = { 0 };
	struct rt_spec check = { 0 };
	_cleanup_error_ struct arca_error *err = NULL;
	_cleanup_free_ char *json = NULL, *dir = NULL;
	int code = 1;

	if (parse(ctx, argc, argv, &o) < 0)
		goto out;
	if (o.preserve_fds) {
		rt_log(&ctx->log, RT_LOG_ERROR,
		       "--preserve-fds: passing file descriptors into a VM is not supported");
		goto out;
	}
	if (rt_state_read(ctx->root, o.id, &st, &err) < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "%s", err->msg);
		goto out;
	}
	if (strcmp(rt_state_status(&st), "running") != 0) {
		rt_log(&ctx->log, RT_LOG_ERROR,
		       "cannot exec in a container that is %s: container "
		       "not running",
		       rt_state_status(&st));
		goto out;
	}
	if (o.process) {
		int r = read_file_at(AT_FDCWD, o.process, RT_CTL_MAX - 8, &json, NULL);
		if (r < 0) {
			rt_log(&ctx->log, RT_LOG_ERROR, "read %s: %s", o.process, strerror(-r));
			goto out;
		}
	} else if (!(json = process_from_args(ctx, &st, &o))) {
		goto out;
	}
	/* Checked here too, so a bad one fails `exec` with its message, not a proxy. */
	if (rt_process_parse(json, strlen(json), &check, &err) < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "%s", err->msg);
		goto out;
	}
	if (check.terminal != (o.console_socket != NULL)) {
		rt_log(&ctx->log, RT_LOG_ERROR,
		       check.terminal ? "process.terminal is set: --console-socket is needed"
				      : "--console-socket given, but process.terminal is not set");
		goto out;
	}
	dir = rt_container_dir(ctx->root, o.id);
	struct proxy_args pa = { .dir = dir,
				 .json = json,
				 .ready_fd = -1,
				 .console_socket = o.console_socket,
				 .rows = check.rows,
				 .cols = check.cols };
	/* Without --detach we are the proxy; with a terminal, a child of ours is (it needs a
	 * session of its own), and we exit with its status. */
	if (!o.detach && !o.console_socket) {
		if (o.pid_file && rt_write_pid_file(o.pid_file, getpid(), &err) < 0) {
			rt_log(&ctx->log, RT_LOG_ERROR, "%s", err->msg);
			goto out;
		}
		code = proxy(ctx, &pa);
		goto out;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		pa.ready_fd = pipefd[1];
		exit(proxy(ctx, &pa));
	}
	close(pipefd[1]);
	char buf[1024];
	ssize_t n = pid < 0 ? -1 : loop_read(pipefd[0], buf, sizeof(buf) - 1);
	close(pipefd[0]);
	buf[n > 0 ? n : 0] = '\0';
	if (n == 2 && strcmp(buf, "ok") == 0) {
		if (o.pid_file && rt_write_pid_file(o.pid_file, pid, &err) < 0) {
			rt_log(&ctx->log, RT_LOG_ERROR, "%s", err->msg);
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
		} else if (o.detach) {
			code = 0;
		} else {
			int status = 0;
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
	} else {
		rt_log(&ctx->log, RT_LOG_ERROR, "exec: %s",
		       buf[0]	 ? buf
		       : pid < 0 ? strerror(errno)
				 : "the exec proxy failed");
		if (pid > 0)
			(void)waitpid(pid, NULL, 0);
	}
out:
	rt_spec_done(&check);
	rt_state_done(&st);
	strv_free(o.env);
	return code;
}
