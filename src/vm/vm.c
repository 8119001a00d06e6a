/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vm: owns the run directory, the VMM process (watched by pidfd),
 * the driver's control connection and the guest client.
 *
 * State machine: STARTING -(HELLO)-> RUNNING -(vm_stop)-> STOPPING -> STOPPED.
 * Any state goes to STOPPED when the VMM process exits; exited() is called
 * once, after the run directory is gone. A boot that does not answer within
 * boot_timeout, or a guest that violates the protocol, gets the VM killed.
 */
#include "vm-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "console.h"
#include "event.h"
#include "fd-util.h"
#include "log.h"
#include "strv.h"
#include "vmm-user.h"
#include "vsock.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define KILL_GRACE_USEC	     (2 * USEC_PER_SEC)
#define DEFAULT_BOOT_TIMEOUT (120 * USEC_PER_SEC)

static int valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return id[0] != '.';
}

static int listen_unix(const char *path, struct arca_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return arca_error_set(err, ENAMETOOLONG, ARCA_ERR_INVALID,
				      "socket path `%s` is too long", path);
	strcpy(sa.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return arca_error_errno(err, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 2) < 0)
		return arca_error_errno(err, errno, "listen on `%s`", path);
	return TAKE_FD(fd);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* An ELF kernel is booted through its PVH entry on microvm; anything else on q35. */
static bool kernel_is_elf(const char *path)
{
	unsigned char magic[4] = { 0 };
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 && read(fd, magic, 4) == 4 && memcmp(magic, "\177ELF", 4) == 0;
}

/* Appends the last lines of a log file to a message, for boot failures. */
static char *tail_of(const char *path, size_t max)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xstrdup("");
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)max ? size - (off_t)max : 0;
	char *s = xmalloc(max + 1);
	ssize_t n = pread(fd, s, max, from);
	s[n > 0 ? n : 0] = '\0';
	return s;
}

static void set_last_error(struct vm *vm, const char *what)
{
	vm_console_drain(vm->console);
	_cleanup_free_ char *qlog = tail_of(vm->qemu_log, 1024);
	_cleanup_free_ char *clog = tail_of(vm->console_log, 1024);
	free(vm->last_error);
	vm->last_error = xasprintf("%s%s%s%s%s", what, qlog[0] ? "\nqemu: " : "", qlog,
				   clog[0] ? "\nconsole: " : "", clog);
}

/* The VM cannot go on: the reason is kept, and it is killed, not asked. */
static void kill_now(struct vm *vm, const char *why)
{
	set_last_error(vm, why);
	vm->state = VM_STOPPING;
	vm->stop_stage = 3;
	if (vm->pidfd >= 0)
		(void)pidfd_send_signal_(vm->pidfd, SIGKILL);
}

static void arm_timer(struct vm *vm, usec_t delay);

static void escalate(struct vm *vm)
{
	/* Stage 1 (shutdown RPC sent) -> 2: QMP quit; no control connection or stage 2 -> kill. */
	if (vm->stop_stage < 2) {
		vm->stop_stage = 2;
		if (vm->driver->quit(vm) >= 0) {
			arm_timer(vm, KILL_GRACE_USEC);
			return;
		}
	}
	vm->stop_stage = 3;
	if (vm->pidfd >= 0)
		(void)pidfd_send_signal_(vm->pidfd, SIGKILL);
}

static int on_timer(struct event_source *s, usec_t now, void *userdata)
{
	struct vm *vm = userdata;
	(void)s;
	(void)now;
	if (vm->state == VM_STARTING) {
		char msg[128];
		snprintf(msg, sizeof(msg), "the guest did not answer within %llu s",
			 (unsigned long long)(vm->boot_timeout / USEC_PER_SEC));
		kill_now(vm, msg);
		return 0;
	}
	if (vm->state == VM_STOPPING)
		escalate(vm);
	return 0;
}

static void arm_timer(struct vm *vm, usec_t delay)
{
	usec_t when = now_usec(CLOCK_MONOTONIC) + delay;
	if (vm->timer)
		(void)event_source_set_time(vm->timer, when);
	else if (event_add_time(vm->event, &vm->timer, when, on_timer, vm) < 0)
		log_debug("vm %s: cannot arm timer", vm->id);
}

static void reap_share(struct vm *vm);

static int on_pidfd(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct vm *vm = userdata;
	siginfo_t si = { 0 };
	(void)revents;

	/* An adopted VMM is not our child: its pidfd turning readable is its exit. */
	if (vm->attached) {
		si.si_code = CLD_KILLED;
		si.si_status = 0;
	} else if (waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) < 0 ||
		   si.si_pid == 0) {
		return 0;
	}
	vm->pid_src = event_source_free(s);
	vm->pidfd = safe_close(vm->pidfd);
	vm->pid = 0;

	int error = 0;
	if (vm->state != VM_STOPPING) {
		char msg[128];
		snprintf(msg, sizeof(msg), "the VM exited unexpectedly (%s %d)",
			 si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
		set_last_error(vm, msg);
		error = -ECHILD;
	} else if (vm->last_error) {
		error = -ETIMEDOUT; /* killed for not booting */
	}
	vm->state = VM_STOPPED;
	vm->timer = event_source_free(vm->timer);
	vm->driver->detach(vm);
	vm->console = vm_console_free(vm->console);
	reap_share(vm); /* it exits as QEMU closes the socket; this makes sure */
	if (vm->dir)
		(void)rm_rf(vm->dir);
	log_debug("vm %s: stopped", vm->id);
	if (vm->cb->exited)
		vm->cb->exited(vm, error, vm->userdata);
	return 0;
}

/* Our virtiofsd is done (or is made to be): reaped, never left a zombie. */
static void reap_share(struct vm *vm)
{
	vm->share_src = event_source_free(vm->share_src);
	if (vm->share_pid > 0) {
		(void)kill(vm->share_pid, SIGKILL);
		(void)waitpid(vm->share_pid, NULL, 0);
		vm->share_pid = 0;
	}
	vm->share_pidfd = safe_close(vm->share_pidfd);
}

/* The sharing process ended while the VM still needs it: the VM cannot work, it goes. */
static int on_share_exit(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct vm *vm = userdata;
	(void)s;
	(void)fd;
	(void)revents;
	_cleanup_free_ char *log_path = xasprintf("%s/virtiofsd.log", vm->dir);
	_cleanup_free_ char *why = tail_of(log_path, 512);
	reap_share(vm);
	if (vm->state == VM_STOPPING || vm->state == VM_STOPPED)
		return 0;
	_cleanup_free_ char *msg =
	    xasprintf("the file sharing process (virtiofsd) exited%s%s", why[0] ? ": " : "", why);
	msg[strcspn(msg, "\n")] = '\0';
	log_warn("vm %s: %s", vm->id, msg);
	kill_now(vm, msg);
	return 0;
}

static void on_guest_hello(struct guest_client *gc, const struct guest_hello *h, void *userdata)
{
	struct vm *vm = userdata;
	vm->hello = *h;
	vm->t_ready = now_usec(CLOCK_MONOTONIC);
	if (vm->state != VM_STARTING)
		return;
	vm->state = VM_RUNNING;
	vm->timer = event_source_free(vm->timer);
	vm->dialer = vsock_dialer_free(vm->dialer);

	/* The guest clock starts from the RTC or zero: give it ours first. */
	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_SET_TIME);
	proto_put_u64(&rq.w, PROTO_T_TIME_NS, now_nsec(CLOCK_REALTIME));
	(void)guest_client_call(gc, &rq, NULL, NULL);

	log_debug("vm %s: guest up after %llu ms (kernel to init %llu ms, init to ready %llu ms)",
		  vm->id, (unsigned long long)((vm->t_ready - vm->t_spawn) / USEC_PER_MSEC),
		  (unsigned long long)(h->boot_ns / 1000000),
		  (unsigned long long)(guest_hello_init_ns(h) / 1000000));
	if (vm->cb->ready)
		vm->cb->ready(vm, vm->userdata);
}

static void on_guest_closed(struct guest_client *gc, int error, void *userdata)
{
	struct vm *vm = userdata;
	if (error < 0 && vm->state != VM_STOPPED) {
		/* A guest that breaks the protocol is not trusted with more time. */
		const char *why = guest_client_refusal(gc);
		log_warn_errno(error, "vm %s: %s: %m, killing the VM", vm->id,
			       why ? why : "guest protocol violation");
		kill_now(vm, why ? why : "the guest violated the channel protocol");
	}
}

static const struct guest_client_ops guest_ops = {
	.hello = on_guest_hello,
	.closed = on_guest_closed,
};

static _Noreturn void child_exec(struct vm *vm, char **argv, int qmp_fd, int chan_fd, int con_fd,
				 pid_t parent)
{
	sigset_t all;
	struct sigaction sa = { .sa_handler = SIG_DFL };
	for (int sig = 1; sig < _NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);

	if (vm->die_with_parent) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
	}
	(void)setsid();		     /* terminal signals for our owner must not reach the VMM */
	vmm_pid_write(vm->pid_path); /* found again should its owner die (vm_clear_stale) */
	/* No transparent huge pages for guest RAM (QEMU asks for them): a guest's
	 * scattered first touches would cost 2 MiB each, an idle VM's RSS doubled. */
	(void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if (vm->nice) /* its threads inherit it */
		(void)setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + vm->nice);

	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int log = open(vm->qemu_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	/* Move the sockets above the target numbers first, so dup2 cannot clobber them. */
	int q = fcntl(qmp_fd, F_DUPFD_CLOEXEC, 10);
	int c = chan_fd >= 0 ? fcntl(chan_fd, F_DUPFD_CLOEXEC, 10) : -1;
	int n = vm->net_fd >= 0 ? fcntl(vm->net_fd, F_DUPFD_CLOEXEC, 10) : -1;
	int k = fcntl(con_fd, F_DUPFD_CLOEXEC, 10);
	if (null < 0 || log < 0 || q < 0 || k < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 ||
	    dup2(log, 2) < 0 || dup2(q, 3) < 0 || (c >= 0 && dup2(c, 4) < 0) ||
	    (n >= 0 && dup2(n, VM_NET_FD) < 0) || dup2(k, VM_CONSOLE_FD) < 0)
		_exit(127);
	execvp(argv[0], argv);
	dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static int spawn(struct vm *vm, char **argv, int qmp_fd, int chan_fd, int con_fd,
		 struct arca_error **err)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return arca_error_errno(err, errno, "fork");
	if (pid == 0)
		child_exec(vm, argv, qmp_fd, chan_fd, con_fd, parent);

	vm->pid = pid;
	vm->t_spawn = now_usec(CLOCK_MONOTONIC);
	vm->pidfd = pidfd_open_(pid);
	if (vm->pidfd < 0) {
		int r = -errno;
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		vm->pid = 0;
		return arca_error_errno(err, r, "pidfd_open");
	}
	int r = event_add_io(vm->event, &vm->pid_src, vm->pidfd, EPOLLIN, on_pidfd, vm);
	if (r < 0)
		return arca_error_errno(err, r, "watch VMM process");
	return 0;
}

/* A path, and a serial QEMU takes whole (short, none of its option separators). */
static bool disk_valid(const struct vm_disk *d)
{
	return d->path && d->serial && strlen(d->serial) <= 20 && !strpbrk(d->serial, ",= ");
}

static int copy_config(struct vm *vm, const struct vm_config *cfg, struct arca_error **err)
{
	if (!cfg->id || !valid_id(cfg->id))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid VM id `%s`",
				      cfg->id ? cfg->id : "");
	if (!cfg->runtime_dir || !cfg->kernel || !cfg->initramfs)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "VM config needs a runtime dir, a kernel and an initramfs");
	if (cfg->n_disks > VM_MAX_DISKS)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "too many disks");
	if (cfg->hostname && (strlen(cfg->hostname) > 63 || strpbrk(cfg->hostname, " \t\n=")))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid hostname `%s`",
				      cfg->hostname);

	vm->id = xstrdup(cfg->id);
	vm->dir = xasprintf("%s/%s", cfg->runtime_dir, cfg->id);
	vm->qemu = xstrdup(cfg->qemu ? cfg->qemu : "qemu-system-x86_64");
	vm->kernel = xstrdup(cfg->kernel);
	vm->initramfs = xstrdup(cfg->initramfs);
	vm->hostname = cfg->hostname ? xstrdup(cfg->hostname) : NULL;
	vm->user_console_log = cfg->console_log != NULL;
	vm->console_log =
	    cfg->console_log ? xstrdup(cfg->console_log) : xasprintf("%s/console.log", vm->dir);
	vm->qemu_log = xasprintf("%s/qemu.log", vm->dir);
	vm->qmp_path = xasprintf("%s/qmp.sock", vm->dir);
	vm->pid_path = xasprintf("%s/" VMM_PID_FILE, vm->dir);
	vm->chan_path = xasprintf("%s/chan.sock", vm->dir);
	vm->console_path = xasprintf("%s/console.sock", vm->dir);
	for (size_t i = 0; i < cfg->n_disks; i++) {
		if (!disk_valid(&cfg->disks[i]))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "disk %zu needs a path and a short serial", i);
		vm->disks[i].path = xstrdup(cfg->disks[i].path);
		vm->disks[i].serial = xstrdup(cfg->disks[i].serial);
		vm->disks[i].readonly = cfg->disks[i].readonly;
		vm->disks[i].scsi = cfg->disks[i].scsi;
	}
	vm->n_disks = cfg->n_disks;
	if (cfg->n_shares > VM_MAX_SHARES)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "too many shared paths");
	if (cfg->n_shares) {
		vm->shares = xnew0(struct vm_share, cfg->n_shares);
		for (size_t i = 0; i < cfg->n_shares; i++) {
			vm->shares[i].source = xstrdup(cfg->shares[i].source);
			vm->shares[i].readonly = cfg->shares[i].readonly;
		}
		vm->n_shares = cfg->n_shares;
		vm->fs_path = xasprintf("%s/fs.sock", vm->dir);
	}
	vm->net_fd = cfg->net_fd > 0 ? cfg->net_fd : -1;
	memcpy(vm->net_mac, cfg->net_mac, 6);
	vm->net_vhost = cfg->net_vhost;
	vm->memory_mb = cfg->memory_mb ? cfg->memory_mb : 256;
	vm->cpus = cfg->cpus ? cfg->cpus : 1;
	vm->debug = cfg->debug;
	vm->die_with_parent = cfg->die_with_parent;
	vm->scsi_hotplug = cfg->scsi_hotplug;
	vm->nice = cfg->nice;
	vm->use_vsock = cfg->use_vsock;
	if (vm->use_vsock)
		vm->vsock_cid = cfg->vsock_cid ? cfg->vsock_cid : vsock_random_cid();
	vm->boot_timeout = cfg->boot_timeout ? cfg->boot_timeout : DEFAULT_BOOT_TIMEOUT;
	if (vm->memory_mb < 64 || vm->memory_mb > 1024 * 1024)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "memory %u MiB out of range (64 MiB to 1 TiB)",
				      vm->memory_mb);
	if (vm->cpus > 64)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%u vCPUs is over 64",
				      vm->cpus);
	return 0;
}

static void on_vsock_connected(int fd, void *userdata)
{
	struct vm *vm = userdata;
	int r = guest_client_new(vm->event, fd, &guest_ops, vm, &vm->guest);
	if (r < 0)
		log_warn_errno(r, "vm %s: vsock channel: %m", vm->id);
}

static int connect_channel(struct vm *vm, struct arca_error **err)
{
	int r;
	if (vm->use_vsock) {
		r = vsock_dialer_new(vm->event, vm->vsock_cid, PROTO_VSOCK_PORT, on_vsock_connected,
				     vm, &vm->dialer);
		return r < 0 ? arca_error_errno(err, r, "vsock dial") : 0;
	}
	int fd = connect_unix(vm->chan_path);
	if (fd < 0)
		return arca_error_errno(err, fd, "connect to `%s`", vm->chan_path);
	r = guest_client_new(vm->event, fd, &guest_ops, vm, &vm->guest);
	if (r < 0)
		return arca_error_errno(err, r, "guest channel");
	return 0;
}

static int connect_qmp(struct vm *vm, struct arca_error **err)
{
	int fd = connect_unix(vm->qmp_path);
	if (fd < 0)
		return arca_error_errno(err, fd, "connect to `%s`", vm->qmp_path);
	int r = vm->driver->attach(vm, fd);
	if (r < 0)
		return arca_error_errno(err, r, "attach to the VMM");
	return 0;
}

/* The console log is best effort: a VM runs on without it (an older arcad's VMM has none). */
static void connect_console(struct vm *vm)
{
	int fd = connect_unix(vm->console_path);
	int r = fd < 0 ? fd : vm_console_new(vm->event, fd, vm->console_log, &vm->console);
	if (r < 0)
		log_debug("vm %s: no console log: %s", vm->id, strerror(-r));
}

static int connect_control(struct vm *vm, struct arca_error **err)
{
	int r = connect_qmp(vm, err);
	return r < 0 ? r : connect_channel(vm, err);
}

static struct vm *vm_new(struct event *e, const struct vm_callbacks *cb, void *userdata)
{
	struct vm *vm = xnew0(struct vm, 1);
	vm->event = e;
	vm->driver = &vm_driver_qemu;
	vm->pidfd = -EBADF;
	vm->share_pidfd = -EBADF;
	vm->cb = cb;
	vm->userdata = userdata;
	vm->state = VM_STARTING;
	return vm;
}

int vm_start(struct event *e, const struct vm_config *cfg, const struct vm_callbacks *cb,
	     void *userdata, struct vm **ret, struct arca_error **err)
{
	struct vm *vm = vm_new(e, cb, userdata);
	_cleanup_close_ int qmp_fd = -EBADF, chan_fd = -EBADF, con_fd = -EBADF;
	_cleanup_strv_free_ char **argv = NULL;
	int r = copy_config(vm, cfg, err);
	if (r < 0)
		goto fail_nodir;
	if (cfg->accel)
		vm->accel = *cfg->accel;
	else
		r = accel_detect(VM_ACCEL_AUTO, NULL, NULL, NULL, &vm->accel);
	if (r < 0) {
		r = arca_error_set(err, -r, ARCA_ERR_UNAVAILABLE, "%s", vm->accel.reason);
		goto fail_nodir;
	}
	vm->microvm = kernel_is_elf(vm->kernel);
	if (access(vm->kernel, R_OK) < 0 || access(vm->initramfs, R_OK) < 0) {
		r = arca_error_errno(err, errno, "guest kernel `%s` or initramfs `%s`", vm->kernel,
				     vm->initramfs);
		goto fail_nodir;
	}
	r = mkdir_trusted(cfg->runtime_dir, 0700);
	if (r < 0) {
		r = arca_error_errno(err, r, "create `%s`", cfg->runtime_dir);
		goto fail_nodir;
	}
	if (mkdir(vm->dir, 0700) < 0) {
		r = errno == EEXIST ? arca_error_set(err, EEXIST, ARCA_ERR_CONFLICT,
						     "VM `%s` already exists", vm->id)
				    : arca_error_errno(err, errno, "create `%s`", vm->dir);
		goto fail_nodir;
	}
	/* As root, the VMM drops to a user of its own once set up (docs/security.md). */
	if (geteuid() == 0) {
		r = vmm_user_claim(cfg->runtime_dir, vm->id, &vm->vmm_uid);
		if (r < 0) {
			r = arca_error_errno(err, r, "record the VMM user of `%s`", vm->id);
			goto fail;
		}
	}

	qmp_fd = listen_unix(vm->qmp_path, err);
	if (qmp_fd < 0) {
		r = qmp_fd;
		goto fail;
	}
	con_fd = listen_unix(vm->console_path, err);
	if (con_fd < 0) {
		r = con_fd;
		goto fail;
	}
	if (!vm->use_vsock) {
		chan_fd = listen_unix(vm->chan_path, err);
		if (chan_fd < 0) {
			r = chan_fd;
			goto fail;
		}
	}
	if (vm->n_shares) {
		/* The sharing process listens before QEMU connects: no race. */
		_cleanup_close_ int fs_fd = listen_unix(vm->fs_path, err);
		_cleanup_free_ char *log = xasprintf("%s/virtiofsd.log", vm->dir);
		r = fs_fd < 0 ? fs_fd
			      : vm_share_spawn(vm->dir, vm->shares, vm->n_shares, fs_fd, log,
					       vm->die_with_parent, &vm->share_pid, err);
		if (r >= 0) {
			vm->share_pidfd = pidfd_open_(vm->share_pid);
			r = vm->share_pidfd < 0
				? arca_error_errno(err, errno, "pidfd_open")
				: event_add_io(vm->event, &vm->share_src, vm->share_pidfd, EPOLLIN,
					       on_share_exit, vm);
			if (r < 0 && err && !*err)
				r = arca_error_errno(err, r, "watch virtiofsd");
		}
		if (r < 0)
			goto fail;
	}
	r = vm->driver->build_argv(vm, &argv, err);
	if (r < 0)
		goto fail;
	r = spawn(vm, argv, qmp_fd, chan_fd, con_fd, err);
	if (r < 0)
		goto fail;
	connect_console(vm);
	/* The listening sockets queue our connections until QEMU accepts them. */
	r = connect_control(vm, err);
	if (r < 0)
		goto fail;
	arm_timer(vm, vm->boot_timeout);
	log_debug("vm %s: spawned %s (pid %d, %s, %s)", vm->id, vm->driver->name, (int)vm->pid,
		  vm->microvm ? "microvm" : "q35", accel_name(vm->accel.accel));
	*ret = vm;
	return 0;

fail:
	arca_error_wrap(err, "start VM `%s`", vm->id);
	vm_free(vm);
	return r;
fail_nodir:
	free(vm->dir);
	vm->dir = NULL;
	vm_free(vm);
	return r;
}

/*
 * Adopting a paused VM, in steps 300 ms apart: resume it (QMP is negotiated
 * by then); connect the channel and drop it at once, which a running guest
 * sees as its host leaving (the departure of the old one went unnoticed while
 * it was paused); connect again, to be greeted.
 */
static int on_attach_step(struct event_source *s, usec_t now, void *userdata)
{
	struct vm *vm = userdata;
	(void)s;
	vm->timer = event_source_free(vm->timer);
	struct arca_error *err = NULL;
	int stage = vm->attach_stage++;
	int r = 0;
	if (stage == 0) {
		r = vm->driver->resume(vm, NULL, NULL);
	} else if (stage == 1 && !vm->use_vsock) {
		int fd = connect_unix(vm->chan_path);
		r = fd < 0 ? fd : 0;
		safe_close(fd);
	} else {
		if (connect_channel(vm, &err) >= 0)
			return 0;
		r = -EIO;
	}
	if (r >= 0 && event_add_time(vm->event, &vm->timer, now + 300 * USEC_PER_MSEC,
				     on_attach_step, vm) >= 0)
		return 0;
	log_warn("vm %s: cannot re-attach: %s", vm->id, err ? err->msg : strerror(-r));
	set_last_error(vm, err ? err->msg : "cannot re-attach the paused VM");
	arca_error_free(err);
	vm->state = VM_STOPPING;
	vm->stop_stage = 3;
	(void)pidfd_send_signal_(vm->pidfd, SIGKILL);
	return 0;
}

int vm_attach(struct event *e, const struct vm_config *cfg, pid_t pid, bool paused,
	      const struct vm_callbacks *cb, void *userdata, struct vm **ret,
	      struct arca_error **err)
{
	struct vm *vm = vm_new(e, cb, userdata);
	vm->attached = true;
	int r = copy_config(vm, cfg, err);
	if (r < 0)
		goto fail;
	vm->microvm = kernel_is_elf(vm->kernel);
	if (pid <= 0 || !vmm_is_ours(pid, vm->dir)) {
		r = arca_error_set(err, ESRCH, ARCA_ERR_NOT_FOUND, "its VM (pid %d) is gone",
				   (int)pid);
		goto fail;
	}
	vm->pidfd = pidfd_open_(pid);
	if (vm->pidfd < 0) {
		r = arca_error_errno(err, errno, "pidfd_open %d", (int)pid);
		goto fail;
	}
	vm->pid = pid;
	vm->t_spawn = now_usec(CLOCK_MONOTONIC);
	r = event_add_io(vm->event, &vm->pid_src, vm->pidfd, EPOLLIN, on_pidfd, vm);
	if (r < 0) {
		r = arca_error_errno(err, r, "watch VMM process");
		goto fail;
	}
	connect_console(vm);
	if (paused) {
		/*
		 * Paused, the guest cannot see its host go: were we to connect now, it
		 * would take us for the old one and never say HELLO. It runs first,
		 * sees the channel closed, and then meets us.
		 */
		r = connect_qmp(vm, err);
		if (r >= 0 && event_add_time(vm->event, &vm->timer,
					     now_usec(CLOCK_MONOTONIC) + 300 * USEC_PER_MSEC,
					     on_attach_step, vm) < 0)
			r = arca_error_set(err, ENOMEM, ARCA_ERR_INTERNAL, "timer");
	} else {
		r = connect_control(vm, err);
	}
	if (r < 0)
		goto fail;
	log_debug("vm %s: re-attached to pid %d", vm->id, (int)pid);
	*ret = vm;
	return 0;
fail:
	arca_error_wrap(err, "re-attach VM `%s`", cfg->id ? cfg->id : "");
	/* Whatever is left of it must not outlive this: no second owner will come. */
	if (vm->pidfd >= 0)
		(void)pidfd_send_signal_(vm->pidfd, SIGKILL);
	free(vm->dir);
	vm->dir = NULL; /* the caller decides about the directory */
	vm_free(vm);
	return r;
}

uint32_t vm_vsock_cid(const struct vm *vm)
{
	return vm->use_vsock ? vm->vsock_cid : 0;
}

void vm_stop(struct vm *vm, usec_t grace)
{
	if (vm->state == VM_STOPPED || vm->state == VM_STOPPING)
		return;
	vm->state = VM_STOPPING;
	if (guest_client_is_up(vm->guest)) {
		struct guest_request rq;
		guest_request_init(&rq, PROTO_OP_SHUTDOWN);
		if (guest_client_call(vm->guest, &rq, NULL, NULL) >= 0) {
			vm->stop_stage = 1;
			arm_timer(vm, grace);
			return;
		}
	}
	escalate(vm);
}

void vm_kill(struct vm *vm)
{
	if (vm->state == VM_STOPPED)
		return;
	if (vm->state == VM_STOPPING && vm->stop_stage >= 2)
		return; /* already told to quit, or killed */
	vm->state = VM_STOPPING;
	vm->timer = event_source_free(vm->timer);
	/* No QMP quit: QEMU would flush disks whose content nobody wants. */
	vm->stop_stage = 2;
	escalate(vm);
}

/* Paused when adopted, a VM stays STARTING until resumed: QMP still works. */
static bool controllable(const struct vm *vm)
{
	return vm->state == VM_RUNNING || (vm->attached && vm->state == VM_STARTING);
}

void vm_size(const struct vm *vm, unsigned *ret_memory_mb, unsigned *ret_cpus)
{
	*ret_memory_mb = vm->memory_mb;
	*ret_cpus = vm->cpus;
}

int vm_pause(struct vm *vm, vm_done_fn cb, void *userdata)
{
	if (!controllable(vm))
		return -ESRCH;
	return vm->driver->pause(vm, cb, userdata);
}

int vm_resume(struct vm *vm, vm_done_fn cb, void *userdata)
{
	if (!controllable(vm))
		return -ESRCH;
	return vm->driver->resume(vm, cb, userdata);
}

static struct vm *vm_free_struct(struct vm *vm, bool kill_it);

struct vm *vm_free(struct vm *vm)
{
	return vm_free_struct(vm, true);
}

struct vm *vm_release(struct vm *vm)
{
	if (vm)
		log_debug("vm %s: released, pid %d goes on", vm->id, (int)vm->pid);
	return vm_free_struct(vm, false);
}

static struct vm *vm_free_struct(struct vm *vm, bool kill_it)
{
	if (!vm)
		return NULL;
	if (!kill_it) {
		/* Its VMM and sharing process go on, reparented; the run directory stays. */
		vm->pid = 0;
		vm->pidfd = safe_close(vm->pidfd);
		vm->share_pid = 0;
		free(vm->dir);
		vm->dir = NULL;
	}
	if (vm->pidfd >= 0 && vm->attached) {
		(void)pidfd_kill_wait(vm->pidfd, 5 * USEC_PER_SEC); /* not our child: no wait() */
	} else if (vm->pidfd >= 0) {
		siginfo_t si;
		(void)pidfd_send_signal_(vm->pidfd, SIGKILL);
		(void)waitid((idtype_t)P_PIDFD, (id_t)vm->pidfd, &si, WEXITED);
	} else if (vm->pid > 0) {
		(void)kill(vm->pid, SIGKILL);
		(void)waitpid(vm->pid, NULL, 0);
	}
	vm->pid_src = event_source_free(vm->pid_src);
	vm->pidfd = safe_close(vm->pidfd);
	vm->timer = event_source_free(vm->timer);
	reap_share(vm);
	if (vm->driver)
		vm->driver->detach(vm);
	vm->dialer = vsock_dialer_free(vm->dialer);
	vm->guest = guest_client_free(vm->guest);
	vm->console = vm_console_free(vm->console);
	if (vm->dir)
		(void)rm_rf(vm->dir);
	free(vm->id);
	free(vm->dir);
	free(vm->qemu);
	free(vm->kernel);
	free(vm->initramfs);
	free(vm->hostname);
	free(vm->console_log);
	free(vm->qemu_log);
	free(vm->qmp_path);
	free(vm->pid_path);
	free(vm->chan_path);
	free(vm->console_path);
	for (size_t i = 0; i < vm->n_disks; i++) {
		free((char *)vm->disks[i].path);
		free((char *)vm->disks[i].serial);
	}
	for (size_t i = 0; i < vm->n_shares; i++)
		free((char *)vm->shares[i].source);
	free(vm->shares);
	free(vm->fs_path);
	free(vm->last_error);
	free(vm);
	return NULL;
}

enum vm_state vm_get_state(const struct vm *vm)
{
	return vm->state;
}

struct guest_client *vm_guest(struct vm *vm)
{
	return vm->guest;
}

const struct guest_hello *vm_hello(const struct vm *vm)
{
	return &vm->hello;
}

const struct accel_choice *vm_accel(const struct vm *vm)
{
	return &vm->accel;
}

pid_t vm_pid(const struct vm *vm)
{
	return vm->pid;
}

const char *vm_id(const struct vm *vm)
{
	return vm->id;
}

int vm_set_nice(struct vm *vm, int nice, struct arca_error **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)vm->pid);
	/* Twice: a thread made during the first pass by one not yet changed kept the old value. */
	for (int pass = 0; pass < 2; pass++) {
		DIR *dir = vm->pid > 0 ? opendir(path) : NULL;
		if (!dir)
			return arca_error_errno(err, vm->pid > 0 ? errno : ESRCH, "VM `%s`: %s",
						vm->id, path);
		for (struct dirent *de; (de = readdir(dir));) {
			char *end;
			long tid = strtol(de->d_name, &end, 10);
			/* A thread that ended since is no error. */
			if (tid > 0 && !*end && setpriority(PRIO_PROCESS, (id_t)tid, nice) < 0 &&
			    errno != ESRCH) {
				int r = errno;
				closedir(dir);
				return arca_error_errno(err, r, "VM `%s`: renice thread %ld",
							vm->id, tid);
			}
		}
		closedir(dir);
	}
	return 0;
}

void vm_set_owner(struct vm *vm, const struct vm_callbacks *cb, void *userdata)
{
	vm->cb = cb;
	vm->userdata = userdata;
}

int vm_add_disk(struct vm *vm, const struct vm_disk *disk, vm_done_fn cb, void *userdata,
		struct arca_error **err)
{
	if (vm->state != VM_RUNNING || !vm->scsi_hotplug)
		return arca_error_set(err, EINVAL, ARCA_ERR_INTERNAL, "VM `%s` takes no disk now",
				      vm->id);
	if (!disk_valid(disk))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "a disk needs a path and a short serial");
	int fd = open(disk->path, (disk->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return arca_error_errno(err, errno, "open `%s`", disk->path);
	int r = vm->driver->add_disk(vm, disk, fd, cb, userdata);
	if (r < 0)
		return arca_error_errno(err, r, "add disk `%s` to VM `%s`", disk->serial, vm->id);
	return 0;
}

const char *vm_run_dir(const struct vm *vm)
{
	return vm->dir;
}

const char *vm_last_error(const struct vm *vm)
{
	return vm->last_error;
}

usec_t vm_boot_usec(const struct vm *vm)
{
	return vm->t_ready ? vm->t_ready - vm->t_spawn : 0;
}
