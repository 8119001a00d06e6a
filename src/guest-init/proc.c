/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Processes run for the host: lookup, start (fork/exec with pipes or a pty),
 * exit bookkeeping. A process is reported exactly once, after its stdout and
 * stderr streams have been drained and closed (rule P4), and its record is
 * kept until the host deletes it.
 *
 * Spawning follows rule P2: signals are blocked in PID 1 already; the child
 * restores its mask and dispositions, becomes a session leader, gets its
 * stdio by dup2, enters the root, drops privileges and execs. Exec failures
 * reach the parent through a close-on-exec pipe and end in _exit(127/126).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "init.h"
#include "log.h"
#include "strv.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum spawn_stage {
	STAGE_SETUP,
	STAGE_ROOT,
	STAGE_USER,
	STAGE_RLIMIT,
	STAGE_CGROUP,
	STAGE_CWD,
	STAGE_EXEC,
};

struct spawn_error {
	int stage;
	int error;
};

struct proc *proc_find(struct guest_init *gi, uint32_t id)
{
	for (struct proc *p = gi->procs; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

struct proc *proc_find_pid(struct guest_init *gi, pid_t pid)
{
	for (struct proc *p = gi->procs; p; p = p->next)
		if (p->state == PROC_RUNNING && p->pid == pid)
			return p;
	return NULL;
}

struct proc *proc_find_stream(struct guest_init *gi, uint32_t stream, struct pstream **ret)
{
	for (struct proc *p = gi->procs; p; p = p->next) {
		struct pstream *all[] = { &p->in, &p->out, &p->err };
		for (size_t i = 0; i < ELEMENTSOF(all); i++)
			if (all[i]->id == stream) {
				*ret = all[i];
				return p;
			}
	}
	return NULL;
}

struct proc *proc_free(struct proc *p)
{
	if (!p)
		return NULL;
	pstream_done(&p->in);
	pstream_done(&p->out);
	pstream_done(&p->err);
	buf_done(&p->out.unacked);
	buf_done(&p->err.unacked);
	safe_close(p->pty_master);
	strv_free(p->argv);
	strv_free(p->env);
	strv_free(p->group_add);
	free(p->cwd);
	free(p->user);
	free(p->root);
	free(p->cgroup);
	free(p->rlimits);
	free(p);
	return NULL;
}

void proc_unlink_free(struct guest_init *gi, struct proc *p)
{
	for (struct proc **pp = &gi->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	proc_free(p);
}

static const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

/* In the child: execve argv[0], searching PATH when it has no slash. Returns errno. */
static int exec_search(char *const *argv, char *const *env)
{
	const char *file = argv[0];
	if (strchr(file, '/')) {
		execve(file, argv, env);
		return errno;
	}
	const char *path = env_get(env, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	int saw_eacces = 0;
	char buf[4096];
	while (*path) {
		size_t len = strcspn(path, ":");
		if ((size_t)snprintf(buf, sizeof(buf), "%.*s%s%s", (int)len, path, len ? "/" : "",
				     file) < sizeof(buf)) {
			execve(buf, argv, env);
			if (errno == EACCES)
				saw_eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR)
				return errno;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return saw_eacces ? EACCES : ENOENT;
}

static _Noreturn void child_fail(int errfd, int stage, int error)
{
	struct spawn_error se = { .stage = stage, .error = error };
	(void)!write(errfd, &se, sizeof(se));
	_exit(stage == STAGE_EXEC && error == ENOENT ? 127 : 126);
}

static void child_reset_signals(void)
{
	sigset_t all;
	struct sigaction sa = { .sa_handler = SIG_DFL };
	for (int sig = 1; sig < _NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
}

/* Creates /sys/fs/cgroup/<name> with the memory, cpu and pids controllers on; a
 * failure shows when the child joins it. */
static void cgroup_prepare(const char *name)
{
	char path[128];
	int fd = open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		static const char *const controllers[] = { "+memory", "+cpu", "+pids" };
		for (size_t i = 0; i < ELEMENTSOF(controllers); i++)
			(void)!write(fd, controllers[i], strlen(controllers[i]));
		close(fd);
	}
	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", name);
	(void)mkdir(path, 0755);
}

struct child_fds {
	int in, out, err, tty_slave;
};

static _Noreturn void child_run(struct proc *p, const struct user_ids *ids, char **env,
				const struct child_fds *fds, int errfd)
{
	child_reset_signals();
	if (setsid() < 0)
		child_fail(errfd, STAGE_SETUP, errno);
	if (fds->tty_slave >= 0 && ioctl(fds->tty_slave, TIOCSCTTY, 0) < 0)
		child_fail(errfd, STAGE_SETUP, errno);
	if (dup2(fds->in, 0) < 0 || dup2(fds->out, 1) < 0 || dup2(fds->err, 2) < 0)
		child_fail(errfd, STAGE_SETUP, errno);
	/* The container's cgroup (its memory and CPU limits), joined while /sys is ours. */
	if (p->cgroup) {
		char path[128];
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/cgroup.procs", p->cgroup);
		int cg = open(path, O_WRONLY | O_CLOEXEC);
		if (cg < 0 || write(cg, "0", 1) != 1)
			child_fail(errfd, STAGE_CGROUP, errno);
		close(cg);
	}
	/* The container's network (net.c): its lo and its ethN, not the trunk. */
	if (p->netns && net_enter_container(p->init) < 0)
		child_fail(errfd, STAGE_SETUP, errno);
	/* A tool of ours (busybox) run inside the container's root: opened first. */
	int exe = -1;
	if (p->exec_guest && (exe = open(p->argv[0], O_PATH | O_CLOEXEC)) < 0)
		child_fail(errfd, STAGE_EXEC, errno);
	if (p->root && p->root[0] && (chroot(p->root) < 0 || chdir("/") < 0))
		child_fail(errfd, STAGE_ROOT, errno);
	if (setgroups(ids->n_groups, ids->groups) < 0 || setgid(ids->gid) < 0 ||
	    setuid(ids->uid) < 0)
		child_fail(errfd, STAGE_USER, errno);
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = { .rlim_cur = p->rlimits[i].soft,
				     .rlim_max = p->rlimits[i].hard };
		if (setrlimit((int)p->rlimits[i].resource, &rl) < 0)
			child_fail(errfd, STAGE_RLIMIT, errno);
	}
	if (chdir(p->cwd && p->cwd[0] ? p->cwd : "/") < 0)
		child_fail(errfd, STAGE_CWD, errno);
	if (exe >= 0) {
		syscall(SYS_execveat, exe, "", p->argv, env, AT_EMPTY_PATH);
		child_fail(errfd, STAGE_EXEC, errno);
	}
	child_fail(errfd, STAGE_EXEC, exec_search(p->argv, env));
}

static void describe_failure(const struct proc *p, const struct spawn_error *se, char *buf,
			     size_t len)
{
	const char *what = strerror(se->error);
	switch (se->stage) {
	case STAGE_EXEC:
		if (se->error == ENOENT && !strchr(p->argv[0], '/'))
			snprintf(buf, len, "exec: \"%s\": executable file not found in $PATH",
				 p->argv[0]);
		else
			snprintf(buf, len, "exec: \"%s\": %s", p->argv[0], what);
		break;
	case STAGE_CWD:
		snprintf(buf, len, "chdir to cwd (\"%s\") failed: %s", p->cwd ? p->cwd : "/", what);
		break;
	case STAGE_ROOT: snprintf(buf, len, "enter root `%s`: %s", p->root, what); break;
	case STAGE_USER: snprintf(buf, len, "set user: %s", what); break;
	case STAGE_RLIMIT: snprintf(buf, len, "set rlimits: %s", what); break;
	case STAGE_CGROUP: snprintf(buf, len, "join cgroup `%s`: %s", p->cgroup, what); break;
	default: snprintf(buf, len, "process setup: %s", what);
	}
}

static int open_pty(struct proc *p, int *ret_slave)
{
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (master < 0)
		return -errno;
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return -errno;
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return -errno;
	struct winsize ws = { .ws_row = p->rows ? p->rows : 24, .ws_col = p->cols ? p->cols : 80 };
	(void)ioctl(master, TIOCSWINSZ, &ws);
	*ret_slave = slave;
	return TAKE_FD(master);
}

/* Creates our ends in p->{in,out,err}.fd and the child's ends in *c. */
static int make_stdio(struct proc *p, struct child_fds *c)
{
	int pfd[2];

	*c = (struct child_fds){ -EBADF, -EBADF, -EBADF, -EBADF };
	if (p->tty) {
		int slave = -EBADF;
		int master = open_pty(p, &slave);
		if (master < 0)
			return master;
		p->pty_master = master;
		c->tty_slave = slave;
		c->in = c->out = c->err = slave;
		if (p->out.id)
			p->out.fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
		if (p->in.id)
			p->in.fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
		return 0;
	}

	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	struct {
		struct pstream *s;
		int *child;
		bool input;
	} map[] = { { &p->in, &c->in, true },
		    { &p->out, &c->out, false },
		    { &p->err, &c->err, false } };
	for (size_t i = 0; i < ELEMENTSOF(map); i++) {
		if (!map[i].s->id) {
			*map[i].child = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
			continue;
		}
		if (pipe2(pfd, O_CLOEXEC) < 0) {
			close(devnull);
			return -errno;
		}
		map[i].s->fd = map[i].input ? pfd[1] : pfd[0];
		*map[i].child = map[i].input ? pfd[0] : pfd[1];
		/* Our end never blocks PID 1; the child's end stays blocking. */
		if (fd_set_nonblock(map[i].s->fd, true) < 0) {
			close(devnull);
			return -errno;
		}
	}
	close(devnull);
	return 0;
}

static void close_child_fds(struct child_fds *c)
{
	int fds[] = { c->in, c->out, c->err, c->tty_slave };
	for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= fds[j] == fds[i];
		if (!dup)
			safe_close(fds[i]);
	}
}

/*
 * The guest set's default environment, the caller's env over it (by key),
 * plus HOME (from passwd) when neither set it, as runc does.
 */
static char **build_env(const struct proc *p, const struct user_ids *ids)
{
	char **env = strv_copy(p->env);
	for (char **d = p->init ? p->init->default_env : NULL; d && *d; d++) {
		size_t klen = (size_t)(strchr(*d, '=') - *d);
		_cleanup_free_ char *key = xstrndup(*d, klen);
		if (!env_get(env, key))
			env = strv_append(env, *d);
	}
	if (!env_get(env, "HOME"))
		env = strv_append_take(env, xasprintf("HOME=%s", ids->home));
	return env;
}

int proc_start(struct proc *p, char *errbuf, size_t errlen)
{
	struct user_ids ids = { 0 };
	struct child_fds cfds = { -EBADF, -EBADF, -EBADF, -EBADF };
	int errpipe[2] = { -EBADF, -EBADF };
	char **env = NULL;
	int r;

	r = user_resolve(p->root, p->user, p->group_add, &ids, errbuf, errlen);
	if (r < 0)
		goto out;
	if (p->cgroup)
		cgroup_prepare(p->cgroup);
	if (p->netns)
		net_drop_spare(p->init); /* a link no network took is not the container's */
	r = make_stdio(p, &cfds);
	if (r < 0) {
		snprintf(errbuf, errlen, "set up stdio: %s", strerror(-r));
		goto out;
	}
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	env = build_env(p, &ids);

	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		snprintf(errbuf, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(errpipe[0]);
		child_run(p, &ids, env, &cfds, errpipe[1]);
	}

	p->pid = pid;
	p->state = PROC_RUNNING;
	errpipe[1] = safe_close(errpipe[1]);
	close_child_fds(&cfds);

	r = stdio_setup(p);
	if (r < 0)
		log_warn_errno(r, "proc %u: stdio setup failed: %m, ignoring", p->id);

	/* Wait for exec: EOF means success, a struct means the child failed. */
	struct spawn_error se;
	ssize_t n;
	do
		n = read(errpipe[0], &se, sizeof(se));
	while (n < 0 && errno == EINTR);
	r = 0;
	if (n == (ssize_t)sizeof(se)) {
		describe_failure(p, &se, errbuf, errlen);
		r = -se.error;
	}
	log_debug("proc %u: started pid %d (%s)", p->id, (int)pid, r < 0 ? errbuf : "ok");
out:
	close_child_fds(&cfds);
	safe_close(errpipe[0]);
	safe_close(errpipe[1]);
	strv_free(env);
	user_ids_done(&ids);
	return r;
}

void proc_exited(struct proc *p, int status)
{
	p->state = PROC_EXITED;
	p->exit_status = status;
	log_debug("proc %u: pid %d exited with %d", p->id, (int)p->pid, status);
	/* The process is gone: whatever stdin still holds will never be read. */
	pstream_done(&p->in);
	stdio_drain_after_exit(p);
	proc_check_done(p);
}

void proc_check_done(struct proc *p)
{
	if (p->state != PROC_EXITED || p->exit_reported || !stdio_outputs_done(p))
		return;
	if (rpc_send_event_exit(p->init, p) >= 0)
		p->exit_reported = true;
}
