/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's life: boot the VM with the bundle's rootfs shared in, mount
 * the spec's file system in the guest, tell `create` (ready_fd), then wait
 * for `start` on ctl.sock; run the process with the inherited stdio, relay
 * signals to it, and once it exited and its output is written, stop the VM
 * and exit with its status. A signal before `start` ends the container
 * (runc's init dies of it too).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "cgroup.h"
#include "cleanup.h"
#include "console.h"
#include "event.h"
#include "fd-util.h"
#include "guest-setup.h"
#include "monitor-internal.h"
#include "state.h"
#include "stdio-relay.h"
#include "strv.h"
#include "tap.h"
#include "time-util.h"
#include "vm.h"
#include "vsock.h"

#define DEFAULT_MEMORY_MB 256
/* What the VMM and virtiofsd take beyond the guest's RAM (TCG's code buffer, QEMU itself). */
#define VM_OVERHEAD_MB 192

/*
 * The script run in the root before `create` returns (busybox sh; the paths
 * are its arguments, never part of its text): masks the spec's masked paths,
 * makes its read-only paths so, and checks that the program is there and
 * executable, so a missing one fails `create` with the message callers map
 * to 127 (or 126), as runc's does.
 */
static const char paths_script[] =
    "exe=${1#x:}; shift\n"
    "for p; do case $p in\n"
    "m:*) p=${p#m:}; if [ -d \"$p\" ]; then mount -t tmpfs -o ro,nosuid,nodev,noexec tmpfs "
    "\"$p\" || exit 1; elif [ -e \"$p\" ]; then mount --bind /dev/null \"$p\" || exit 1; fi;;\n"
    "r:*) p=${p#r:}; if [ -e \"$p\" ]; then mount --bind \"$p\" \"$p\" && "
    "mount -o remount,bind,ro \"$p\" \"$p\" || exit 1; fi;;\n"
    "esac; done\n"
    "cd \"$CWD\" 2>&-\n"
    "case $exe in\n"
    "*/*) if [ ! -e \"$exe\" ]; then echo \"exec: $exe: no such file or directory\" >&2; exit 127; "
    "fi\n"
    "  if [ -d \"$exe\" ] || [ ! -x \"$exe\" ]; then echo \"exec: $exe: permission denied\" >&2; "
    "exit 126; fi;;\n"
    "*) if [ -z \"$(command -v -- \"$exe\")\" ]; then\n"
    "  echo \"exec: executable file \\`$exe\\` not found in \\$PATH: no such file or directory\" "
    ">&2; "
    "exit 127; fi;;\n"
    "esac\n";

void monitor_write_state(struct monitor *m, const char *status)
{
	free(m->st.status);
	m->st.status = xstrdup(status);
	_cleanup_error_ struct arca_error *err = NULL;
	if (rt_state_write(m->a->dir, &m->st, &err) < 0)
		rt_log(m->a->log, RT_LOG_ERROR, "%s", err->msg);
}

static void tell_create(struct monitor *m, const char *msg)
{
	if (m->ready_fd < 0)
		return;
	(void)loop_write(m->ready_fd, msg, strlen(msg));
	m->ready_fd = safe_close(m->ready_fd);
}

void monitor_finish(struct monitor *m, int code)
{
	if (m->finishing)
		return;
	m->finishing = true;
	m->exit_code = code;
	if (m->relay)
		stdio_relay_stop_input(m->relay);
	/* Closed, not only unwatched: a late `exec` is refused at once, not left waiting. */
	m->listen_src = event_source_free(m->listen_src);
	m->listen_fd = safe_close(m->listen_fd);
	vm_stop(m->vm, 3 * USEC_PER_SEC);
}

void monitor_fail(struct monitor *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	rt_log(m->a->log, RT_LOG_ERROR, "%s", msg);
	_cleanup_free_ char *line = xasprintf("%s\n", msg);
	tell_create(m, line);
	_cleanup_free_ char *answer = xasprintf("error: %s", msg);
	monitor_ctl_answer_start(m, answer);
	monitor_finish(m, 1);
}

/* --- the process --- */

static void on_started(struct stdio_relay *r, int error, const char *message, uint32_t pid,
		       void *userdata)
{
	struct monitor *m = userdata;
	if (error) {
		monitor_fail(m, "start the container's process: %s",
			     message ? message : strerror(error));
		return;
	}
	monitor_write_state(m, "running");
	monitor_ctl_answer_start(m, "ok");
}

static void on_done(struct stdio_relay *r, int status, void *userdata)
{
	struct monitor *m = userdata;
	if (status < 0) {
		rt_log(m->a->log, RT_LOG_ERROR, "lost the connection to the guest");
		status = 255;
	}
	monitor_finish(m, status);
}

static const struct stdio_relay_ops relay_ops = { .started = on_started, .done = on_done };

void monitor_start_process(struct monitor *m)
{
	const struct rt_spec *s = m->a->spec;
	_cleanup_free_ char *user = rt_spec_user(s);
	struct guest_proc_spec spec = {
		.argv = s->args,
		.env = s->env,
		.cwd = s->cwd,
		.user = user,
		.group_add = s->additional_gids,
		.root = GUEST_ROOT,
		.netns = true,
		.rlimits = s->rlimits,
		.n_rlimits = s->n_rlimits,
		.tty = false,
		.attach_stdin = true,
		.attach_stdout = true,
		.attach_stderr = true,
	};
	m->started = true;
	if (m->console_fd >= 0) {
		spec.tty = true;
		if (rt_console_size(m->console_fd, &spec.rows, &spec.cols) < 0 || !spec.rows) {
			spec.rows = s->rows;
			spec.cols = s->cols;
		}
	}
	int in = m->console_fd >= 0 ? m->console_fd : STDIN_FILENO;
	int out = m->console_fd >= 0 ? m->console_fd : STDOUT_FILENO;
	int err = m->console_fd >= 0 ? m->console_fd : STDERR_FILENO;
	m->relay = stdio_relay_new(m->event, in, out, err, &relay_ops, m);
	int r = stdio_relay_spawn(m->relay, vm_guest(m->vm), &spec);
	if (r < 0)
		monitor_fail(m, "start the container's process: %s", strerror(-r));
}

/* --- the VM --- */

static void on_paths_output(struct guest_proc *p, int fd, void *userdata)
{
	/* Kept until the exit: only an error message is ever written, and it is short. */
}

static void on_paths_exited(struct guest_proc *p, int status, void *userdata)
{
	struct monitor *m = userdata;
	const uint8_t *out = NULL;
	size_t n = guest_proc_peek(p, 2, &out);
	_cleanup_free_ char *msg = n ? xstrndup((const char *)out, MIN(n, 1024)) : xstrdup("");
	msg[strcspn(msg, "\n")] = '\0';
	m->paths_proc = guest_proc_free(m->paths_proc);
	if (status != 0) {
		if (msg[0])
			monitor_fail(m, "%s", msg);
		else
			monitor_fail(m, "set up the masked and read-only paths: exit status %d",
				     status);
		return;
	}
	monitor_write_state(m, "created");
	tell_create(m, "ok\n");
}

static const struct guest_proc_ops paths_ops = { .output = on_paths_output,
						 .exited = on_paths_exited };

static void on_mounted(int error, const char *message, void *userdata)
{
	struct monitor *m = userdata;
	if (error) {
		monitor_fail(m, "mount the container's file system: %s", message);
		return;
	}
	const struct rt_spec *s = m->a->spec;
	char **argv = strv_copy(NULL);
	argv = strv_append(argv, "/bin/busybox");
	argv = strv_append(argv, "sh");
	argv = strv_append(argv, "-c");
	argv = strv_append(argv, paths_script);
	argv = strv_append(argv, "sh");
	argv = strv_append_take(argv, xasprintf("x:%s", s->args[0]));
	for (char **p = s->masked_paths; *p; p++)
		argv = strv_append_take(argv, xasprintf("m:%s", *p));
	for (char **p = s->readonly_paths; *p; p++)
		argv = strv_append_take(argv, xasprintf("r:%s", *p));
	/* The process's PATH, which its program is looked up in. */
	char **env = strv_copy(NULL);
	const char *path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char **e = s->env; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e;
	env = strv_append(env, path);
	env = strv_append_take(env, xasprintf("CWD=%s", s->cwd));
	struct guest_proc_spec spec = {
		.argv = argv,
		.env = env,
		.cwd = "/",
		.root = GUEST_ROOT,
		.exec_guest = true,
		.attach_stderr = true,
	};
	int r = guest_proc_spawn(vm_guest(m->vm), &spec, &paths_ops, m, &m->paths_proc);
	strv_free(argv);
	strv_free(env);
	if (r < 0)
		monitor_fail(m, "mask the spec's paths: %s", strerror(-r));
}

static void on_vm_ready(struct vm *vm, void *userdata)
{
	struct monitor *m = userdata;
	if (m->finishing)
		return;
	struct guest_batch *b = guest_batch_new(vm_guest(vm), on_mounted, m);
	rt_net_add_requests(&m->net, b);
	monitor_add_mounts(b, m->a->spec, m->a->bind_sources);
	guest_batch_end(b);
}

static void on_vm_exited(struct vm *vm, int error, void *userdata)
{
	struct monitor *m = userdata;
	if (error < 0 && !m->finishing) {
		monitor_fail(m, "the VM ended: %s",
			     vm_last_error(vm) ? vm_last_error(vm) : "unknown error");
		m->exit_code = 255;
	}
	monitor_write_state(m, "stopped");
	event_exit(m->event, 0);
}

static const struct vm_callbacks vm_cbs = { .ready = on_vm_ready, .exited = on_vm_exited };

static int on_signal(struct event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct monitor *m = userdata;
	int sig = (int)si->ssi_signo;
	struct guest_proc *p = m->relay ? stdio_relay_proc(m->relay) : NULL;
	if (sig == SIGWINCH) { /* the caller resized the terminal's master */
		unsigned rows, cols;
		if (p && m->console_fd >= 0 && rt_console_size(m->console_fd, &rows, &cols) == 0)
			(void)guest_proc_resize(p, rows, cols);
		return 0;
	}
	if (p && !guest_proc_exited(p, NULL)) {
		(void)guest_proc_signal(p, sig);
		return 0;
	}
	if (!m->started) /* created, not started: the container dies of it, as runc's would */
		monitor_finish(m, 128 + sig);
	return 0;
}

static int add_signals(struct monitor *m, struct event_source **srcs, size_t *n)
{
	for (int sig = 1; sig < 32; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGPIPE)
			continue;
		int r = event_add_signal(m->event, &srcs[(*n)++], sig, on_signal, m);
		if (r < 0)
			return r;
	}
	return 0;
}

static int boot(struct monitor *m, struct arca_error **err)
{
	const struct monitor_args *a = m->a;
	_cleanup_free_ char *kernel = NULL, *initramfs = NULL, *vm_id = rt_vm_id(a->root, a->id);
	struct vm_share shares[VM_MAX_SHARES];
	size_t n_shares = monitor_shares(a, shares, VM_MAX_SHARES);
	unsigned memory_mb = rt_spec_vm_memory_mb(a->spec, DEFAULT_MEMORY_MB);
	if (n_shares > VM_MAX_SHARES - 1)
		return arca_error_set(err, E2BIG, ARCA_ERR_INVALID, "more than %d bind mounts",
				      VM_MAX_SHARES - 1);
	if (vm_find_kernel(NULL, &kernel, err) < 0 || vm_find_initramfs(NULL, &initramfs, err) < 0)
		return -ENOENT;
	if (a->spec->memory_limit > 0 &&
	    rt_cgroup_set_memory(a->cgroup, ((uint64_t)memory_mb + VM_OVERHEAD_MB) << 20, err) < 0)
		return -EIO;
	int r = mkdir_p(a->vm_dir, 0700);
	if (r < 0)
		return arca_error_errno(err, -r, "create %s", a->vm_dir);
	struct vm_config cfg = {
		.id = vm_id,
		.runtime_dir = a->vm_dir,
		.kernel = kernel,
		.initramfs = initramfs,
		.memory_mb = memory_mb,
		.cpus = rt_spec_vm_cpus(a->spec),
		.shares = shares,
		.n_shares = n_shares,
		.net_fd = -1,
		.hostname = a->spec->hostname,
		.debug = a->debug,
		.die_with_parent = true,
		.use_vsock = vsock_available(),
	};
	if (m->net.tap_fd >= 0) {
		cfg.net_fd = m->net.tap_fd;
		tap_random_mac(cfg.net_mac); /* the trunk's; each link keeps its own MAC */
		cfg.net_vhost = tap_vhost_available();
	}
	m->st.vm_dir = xasprintf("%s/%s", a->vm_dir, vm_id);
	r = vm_start(m->event, &cfg, &vm_cbs, m, &m->vm, err);
	m->net.tap_fd = safe_close(m->net.tap_fd); /* the VMM has its copy */
	return r;
}

/*
 * The VM's guardian: a child that waits for the monitor's end (EOF on a pipe whose
 * write end only the monitor holds) and then kills what is left in the container's
 * cgroup: QEMU and virtiofsd. They die with the monitor by PR_SET_PDEATHSIG too, but
 * QEMU's -runas changes its user, and the kernel then forgets that setting. Returns
 * the pipe's write end, which the monitor keeps (close-on-exec: no VMM holds it).
 */
static int start_guardian(const char *cgroup, struct arca_error **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return arca_error_errno(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return arca_error_errno(err, errno, "fork the VM's guardian");
	}
	if (pid == 0) {
		/* Not a holder of the container's stdio (its reader waits for EOF), nor of
		 * anything else of the monitor's. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = 0; fd < 3; fd++)
			(void)dup2(null, fd);
		if (dup2(p[0], 3) < 0)
			_exit(1);
		p[0] = 3;
		(void)close_range(4, ~0U, 0);
		char c;
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		rt_cgroup_kill_others(cgroup, 10 * USEC_PER_SEC);
		_exit(0);
	}
	close(p[0]);
	/* Never closed by hand: the kernel closes it as the monitor exits, so the guardian
	 * wakes only once the monitor's exit status is settled. */
	return p[1];
}

int monitor_run(const struct monitor_args *a)
{
	struct monitor m = { .a = a,
			     .ready_fd = a->ready_fd,
			     .listen_fd = -1,
			     .console_fd = -1,
			     .net = { .tap_fd = -1, .gw_link = { -1, -1 } } };
	_cleanup_error_ struct arca_error *err = NULL;
	struct event_source *sigs[32] = { 0 };
	size_t n_sigs = 0;
	int r;

	(void)setsid();
	(void)signal(SIGPIPE, SIG_IGN);
	m.st = (struct rt_state){
		.id = xstrdup(a->id),
		.status = xstrdup("creating"),
		.pid = getpid(),
		.pid_start = rt_proc_start_time(getpid(), NULL),
		.bundle = xstrdup(a->bundle),
		.rootfs = xstrdup(a->rootfs),
		.created = time_now_rfc3339(),
		.owner = xstrdup(""),
		.cgroup = xstrdup(a->cgroup),
		.annotations = json_incref(a->spec->annotations),
	};
	r = rt_cgroup_join(a->cgroup, getpid(), &err);
	if (r >= 0)
		r = start_guardian(a->cgroup, &err);
	if (r >= 0 && a->console_socket) {
		/* Before `create` returns, as the caller expects; we are a new session's
		 * leader, and the slave becomes our controlling terminal (for SIGWINCH). */
		r = m.console_fd =
		    rt_console_open(a->console_socket, a->spec->rows, a->spec->cols, true, &err);
	}
	/* The caller's namespace, links and all (CNI's veths): QEMU is started in it. */
	if (r >= 0 && a->spec->netns_path) {
		r = rt_net_setup(a->spec->netns_path, &m.net, &err);
		m.st.netns = xstrdup(a->spec->netns_path);
		m.st.net_links = strv_copy(NULL);
		for (size_t i = 0; i < m.net.n_links; i++)
			m.st.net_links = strv_append(m.st.net_links, m.net.links[i].name);
	}
	if (r >= 0)
		r = event_new(&m.event);
	if (r >= 0)
		r = add_signals(&m, sigs, &n_sigs);
	if (r >= 0)
		r = monitor_ctl_listen(&m, &err);
	if (r >= 0)
		r = boot(&m, &err);
	if (r < 0) {
		_cleanup_free_ char *line =
		    xasprintf("%s\n", err ? err->msg : "cannot set up the monitor's event loop");
		tell_create(&m, line);
		m.exit_code = 1;
	} else {
		monitor_write_state(&m, "creating");
		(void)event_loop(m.event);
	}
	monitor_ctl_free_all(&m);
	if (m.st.net_links) /* still in the namespace: its links given back */
		rt_net_clear(NULL, m.st.net_links);
	m.relay = stdio_relay_free(m.relay);
	m.paths_proc = guest_proc_free(m.paths_proc);
	m.vm = vm_free(m.vm);
	for (size_t i = 0; i < n_sigs; i++)
		sigs[i] = event_source_free(sigs[i]);
	m.event = event_free(m.event);
	rt_state_done(&m.st);
	safe_close(m.ready_fd);
	safe_close(m.console_fd);
	safe_close(m.net.tap_fd);
	return m.exit_code;
}
