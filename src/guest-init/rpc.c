/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frame dispatch for arca-init: requests go through one table indexed by
 * op, stream frames go to the owning process's stdio. Every request gets
 * exactly one response: status 0 with result fields, or an errno and a
 * T_MESSAGE text. Malformed input from the host is answered with EPROTO;
 * only a frame the codec itself rejects drops the connection.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "init.h"
#include "log.h"
#include "strv.h"

struct rpc_ctx {
	struct guest_init *gi;
	struct proto_reader req;
	struct proto_writer *resp;
	char err[512];
};

typedef int (*rpc_handler)(struct rpc_ctx *ctx);

static int fail(struct rpc_ctx *ctx, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct rpc_ctx *ctx, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
	return r < 0 ? r : -EIO;
}

static int h_ping(struct rpc_ctx *ctx)
{
	struct proto_field data = { 0 };
	struct proto_field_spec spec[] = { { PROTO_T_DATA, PROTO_F_BYTES, &data, false } };
	int r = proto_parse_fields(&ctx->req, spec, ELEMENTSOF(spec));
	if (r < 0)
		return fail(ctx, r, "malformed ping");
	if (data.len)
		proto_put_bytes(ctx->resp, PROTO_T_DATA, data.val, data.len);
	return 0;
}

static int h_mount(struct rpc_ctx *ctx)
{
	const char *source = NULL, *target = NULL, *fstype = "", *options = "";
	uint64_t flags = 0;
	bool parents = false, netns = false;
	struct proto_field_spec spec[] = {
		{ PROTO_T_SOURCE, PROTO_F_STR, &source, true },
		{ PROTO_T_TARGET, PROTO_F_STR, &target, true },
		{ PROTO_T_FSTYPE, PROTO_F_STR, &fstype, false },
		{ PROTO_T_OPTIONS, PROTO_F_STR, &options, false },
		{ PROTO_T_MOUNT_FLAGS, PROTO_F_U64, &flags, false },
		{ PROTO_T_PARENTS, PROTO_F_BOOL, &parents, false },
		{ PROTO_T_NETNS, PROTO_F_BOOL, &netns, false },
	};
	int r = proto_parse_fields(&ctx->req, spec, ELEMENTSOF(spec));
	if (r < 0)
		return fail(ctx, r, "malformed mount request");
	/* A sysfs shows the links of the namespace it is mounted from. */
	if (netns && (r = net_enter_container(ctx->gi)) < 0)
		return fail(ctx, r, "enter the container's network namespace: %s", strerror(-r));
	r = do_mount(source, target, fstype, (unsigned long)flags, options, parents);
	if (netns && net_leave_container(ctx->gi) < 0)
		log_warn("cannot return to the guest's network namespace: %m");
	if (r < 0)
		return fail(ctx, r, "mount `%s` on `%s` (%s): %s", source, target, fstype,
			    strerror(-r));
	return 0;
}

static int h_umount(struct rpc_ctx *ctx)
{
	const char *target = NULL;
	uint32_t flags = 0;
	struct proto_field_spec spec[] = {
		{ PROTO_T_TARGET, PROTO_F_STR, &target, true },
		{ PROTO_T_UMOUNT_FLAGS, PROTO_F_U32, &flags, false },
	};
	int r = proto_parse_fields(&ctx->req, spec, ELEMENTSOF(spec));
	if (r < 0)
		return fail(ctx, r, "malformed umount request");
	if (umount2(target, (int)flags) < 0)
		return fail(ctx, -errno, "umount `%s`: %m", target);
	return 0;
}

static int h_mkdir(struct rpc_ctx *ctx)
{
	const char *path = NULL;
	uint32_t mode = 0755;
	bool parents = false;
	struct proto_field_spec spec[] = {
		{ PROTO_T_PATH, PROTO_F_STR, &path, true },
		{ PROTO_T_MODE, PROTO_F_U32, &mode, false },
		{ PROTO_T_PARENTS, PROTO_F_BOOL, &parents, false },
	};
	int r = proto_parse_fields(&ctx->req, spec, ELEMENTSOF(spec));
	if (r < 0)
		return fail(ctx, r, "malformed mkdir request");
	r = parents ? mkdir_p(path, (int)(mode & 07777))
		    : (mkdir(path, mode & 07777) < 0 ? -errno : 0);
	if (r < 0)
		return fail(ctx, r, "mkdir `%s`: %s", path, strerror(-r));
	return 0;
}

/* T_PATH becomes a link to T_TARGET; one already there is left as it is. */
static int h_symlink(struct rpc_ctx *ctx)
{
	const char *path = NULL, *target = NULL;
	struct proto_field_spec spec[] = {
		{ PROTO_T_PATH, PROTO_F_STR, &path, true },
		{ PROTO_T_TARGET, PROTO_F_STR, &target, true },
	};
	int r = proto_parse_fields(&ctx->req, spec, ELEMENTSOF(spec));
	if (r < 0)
		return fail(ctx, r, "malformed symlink request");
	if (symlink(target, path) < 0 && errno != EEXIST)
		return fail(ctx, -errno, "symlink `%s`: %m", path);
	return 0;
}

static int h_write_file(struct rpc_ctx *ctx)
{
	const char *path = NULL;
	struct proto_field data = { 0 };
	uint32_t mode = 0644;
	bool append = false, parents = false;
	struct proto_field_spec spec[] = {
		{ PROTO_T_PATH, PROTO_F_STR, &path, true },
		{ PROTO_T_DATA, PROTO_F_BYTES, &data, false },
		{ PROTO_T_MODE, PROTO_F_U32, &mode, false },
		{ PROTO_T_APPEND, PROTO_F_BOOL, &append, false },
		{ PROTO_T_PARENTS, PROTO_F_BOOL, &parents, false },
	};
	int r = proto_parse_fields(&ctx->req, spec, ELEMENTSOF(spec));
	if (r < 0)
		return fail(ctx, r, "malformed write-file request");
	if (parents) {
		_cleanup_free_ char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			(void)mkdir_p(dir, 0755);
		}
	}
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | (append ? O_APPEND : O_TRUNC);
	_cleanup_close_ int fd = open(path, flags, mode & 07777);
	if (fd < 0)
		return fail(ctx, -errno, "open `%s`: %m", path);
	r = loop_write(fd, data.val, data.len);
	if (r < 0)
		return fail(ctx, r, "write `%s`: %s", path, strerror(-r));
	return 0;
}

static int parse_rlimit(const struct proto_field *f, struct rlimit_spec *ret)
{
	if (f->len != 20)
		return -EPROTO;
	struct proto_field part = { .len = 4, .val = f->val };
	int r = proto_field_u32(&part, &ret->resource);
	part = (struct proto_field){ .len = 8, .val = f->val + 4 };
	if (r >= 0)
		r = proto_field_u64(&part, &ret->soft);
	part = (struct proto_field){ .len = 8, .val = f->val + 12 };
	if (r >= 0)
		r = proto_field_u64(&part, &ret->hard);
	return r;
}

/* Collects the repeated fields of PROC_CREATE into p. */
static int proc_collect_lists(struct proc *p, const struct proto_reader *req)
{
	struct proto_reader it = *req;
	struct proto_field f;
	size_t n_argv = 0, n_env = 0, n_groups = 0;
	int k;

	while ((k = proto_reader_next(&it, &f)) > 0) {
		const char *s;
		char ***list = NULL;
		size_t *count = NULL;
		if (f.tag == PROTO_T_ARGV)
			list = &p->argv, count = &n_argv;
		else if (f.tag == PROTO_T_ENV)
			list = &p->env, count = &n_env;
		else if (f.tag == PROTO_T_GROUP_ADD)
			list = &p->group_add, count = &n_groups;
		if (list) {
			if (proto_field_str(&f, &s) < 0 || *count >= PROTO_MAX_STRLIST)
				return -EPROTO;
			*list = strv_append(*list, s);
			(*count)++;
		} else if (f.tag == PROTO_T_RLIMIT) {
			if (p->n_rlimits >= 64)
				return -EPROTO;
			p->rlimits =
			    xreallocarray(p->rlimits, p->n_rlimits + 1, sizeof(*p->rlimits));
			if (parse_rlimit(&f, &p->rlimits[p->n_rlimits]) < 0)
				return -EPROTO;
			p->n_rlimits++;
		}
	}
	if (k < 0 || n_argv == 0)
		return -EPROTO;
	if (!p->env)
		p->env = strv_copy(NULL);
	return 0;
}

/* One path component of letters, digits, '-' and '_': never a way out of /sys/fs/cgroup. */
static bool cgroup_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

static bool stream_in_use(struct guest_init *gi, uint32_t id)
{
	struct pstream *s;
	return id != 0 && proc_find_stream(gi, id, &s) != NULL;
}

static int h_proc_create(struct rpc_ctx *ctx)
{
	uint32_t id = 0, rows = 0, cols = 0, sin = 0, sout = 0, serr = 0;
	const char *cwd = NULL, *user = NULL, *root = NULL;
	const char *cgroup = NULL;
	bool tty = false, exec_guest = false, netns = false;
	struct proto_field_spec spec[] = {
		{ PROTO_T_PROC_ID, PROTO_F_U32, &id, true },
		{ PROTO_T_NETNS, PROTO_F_BOOL, &netns, false },
		{ PROTO_T_CGROUP, PROTO_F_STR, &cgroup, false },
		{ PROTO_T_EXEC_GUEST, PROTO_F_BOOL, &exec_guest, false },
		{ PROTO_T_CWD, PROTO_F_STR, &cwd, false },
		{ PROTO_T_USER, PROTO_F_STR, &user, false },
		{ PROTO_T_ROOT, PROTO_F_STR, &root, false },
		{ PROTO_T_TTY, PROTO_F_BOOL, &tty, false },
		{ PROTO_T_ROWS, PROTO_F_U32, &rows, false },
		{ PROTO_T_COLS, PROTO_F_U32, &cols, false },
		{ PROTO_T_STDIN_STREAM, PROTO_F_U32, &sin, false },
		{ PROTO_T_STDOUT_STREAM, PROTO_F_U32, &sout, false },
		{ PROTO_T_STDERR_STREAM, PROTO_F_U32, &serr, false },
	};
	int r = proto_parse_fields(&ctx->req, spec, ELEMENTSOF(spec));
	if (r < 0)
		return fail(ctx, r, "malformed proc-create request");
	if (id == 0 || proc_find(ctx->gi, id))
		return fail(ctx, -EEXIST, "process id %u already in use", id);
	if (rows > UINT16_MAX || cols > UINT16_MAX)
		return fail(ctx, -EINVAL, "terminal size out of range");
	if (cgroup && !cgroup_name_valid(cgroup))
		return fail(ctx, -EINVAL, "invalid cgroup name");
	uint32_t ids[] = { sin, sout, serr };
	for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
		if (stream_in_use(ctx->gi, ids[i]))
			return fail(ctx, -EEXIST, "stream %u already in use", ids[i]);
		for (size_t j = 0; j < i; j++)
			if (ids[i] && ids[i] == ids[j])
				return fail(ctx, -EINVAL, "stream %u given twice", ids[i]);
	}

	struct proc *p = xnew0(struct proc, 1);
	p->init = ctx->gi;
	p->id = id;
	p->pty_master = -EBADF;
	p->tty = tty;
	p->rows = (uint16_t)rows;
	p->cols = (uint16_t)cols;
	p->cwd = cwd ? xstrdup(cwd) : NULL;
	p->user = user ? xstrdup(user) : NULL;
	p->root = root ? xstrdup(root) : NULL;
	p->exec_guest = exec_guest;
	p->netns = netns;
	p->cgroup = cgroup ? xstrdup(cgroup) : NULL;
	struct pstream *all[] = { &p->in, &p->out, &p->err };
	for (size_t i = 0; i < ELEMENTSOF(all); i++) {
		all[i]->proc = p;
		all[i]->id = ids[i];
		all[i]->fd = -EBADF;
		proto_window_init(&all[i]->win);
	}
	r = proc_collect_lists(p, &ctx->req);
	if (r < 0) {
		proc_free(p);
		return fail(ctx, r, "malformed proc-create request (argv, env, groups or rlimits)");
	}
	p->next = ctx->gi->procs;
	ctx->gi->procs = p;
	return 0;
}

static int get_proc(struct rpc_ctx *ctx, const struct proto_field_spec *extra, size_t n_extra,
		    struct proc **ret)
{
	uint32_t id = 0;
	struct proto_field_spec spec[8] = { { PROTO_T_PROC_ID, PROTO_F_U32, &id, true } };
	if (n_extra > ELEMENTSOF(spec) - 1)
		return fail(ctx, -EINVAL, "internal: too many fields");
	memcpy(spec + 1, extra, n_extra * sizeof(*extra));
	int r = proto_parse_fields(&ctx->req, spec, n_extra + 1);
	if (r < 0)
		return fail(ctx, r, "malformed request");
	*ret = proc_find(ctx->gi, id);
	if (!*ret)
		return fail(ctx, -ESRCH, "no such process %u", id);
	return 0;
}

static int h_proc_start(struct rpc_ctx *ctx)
{
	struct proc *p;
	int r = get_proc(ctx, NULL, 0, &p);
	if (r < 0)
		return r;
	if (p->state != PROC_CREATED)
		return fail(ctx, -EALREADY, "process %u already started", p->id);
	char why[sizeof(ctx->err)] = "";
	r = proc_start(p, why, sizeof(why));
	if (p->state == PROC_CREATED) {
		/*
		 * Never forked (unknown user, no fds): it ends here and is reported
		 * like an exit, after this response (handle_request checks).
		 */
		pstream_done(&p->in);
		pstream_done(&p->out);
		pstream_done(&p->err);
		p->state = PROC_EXITED;
		p->exit_status = 126;
	}
	if (p->pid > 0)
		proto_put_u32(ctx->resp, PROTO_T_PID, (uint32_t)p->pid);
	return r < 0 ? fail(ctx, r, "%s", why[0] ? why : strerror(-r)) : 0;
}

static int h_proc_signal(struct rpc_ctx *ctx)
{
	uint32_t sig = 0;
	struct proto_field_spec extra[] = { { PROTO_T_SIGNAL, PROTO_F_U32, &sig, true } };
	struct proc *p;
	int r = get_proc(ctx, extra, ELEMENTSOF(extra), &p);
	if (r < 0)
		return r;
	if (sig == 0 || sig >= _NSIG)
		return fail(ctx, -EINVAL, "invalid signal %u", sig);
	if (p->state != PROC_RUNNING)
		return fail(ctx, -ESRCH, "process %u is not running", p->id);
	if (kill(p->pid, (int)sig) < 0)
		return fail(ctx, -errno, "kill %d: %m", (int)p->pid);
	return 0;
}

static int h_proc_resize(struct rpc_ctx *ctx)
{
	uint32_t rows = 0, cols = 0;
	struct proto_field_spec extra[] = {
		{ PROTO_T_ROWS, PROTO_F_U32, &rows, true },
		{ PROTO_T_COLS, PROTO_F_U32, &cols, true },
	};
	struct proc *p;
	int r = get_proc(ctx, extra, ELEMENTSOF(extra), &p);
	if (r < 0)
		return r;
	if (rows > UINT16_MAX || cols > UINT16_MAX)
		return fail(ctx, -EINVAL, "terminal size out of range");
	p->rows = (uint16_t)rows;
	p->cols = (uint16_t)cols;
	if (p->pty_master < 0)
		return p->tty ? 0 : fail(ctx, -ENOTTY, "process %u has no terminal", p->id);
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	if (ioctl(p->pty_master, TIOCSWINSZ, &ws) < 0)
		return fail(ctx, -errno, "resize: %m");
	return 0;
}

/*
 * A host that lost its connection (a daemon restart) adopts a process: its
 * output not yet acknowledged is sent again, a lost CLOSE and exit event
 * too, and the reply tells it the ids still in use.
 */
static int h_proc_attach(struct rpc_ctx *ctx)
{
	struct proc *p;
	int r = get_proc(ctx, NULL, 0, &p);
	if (r < 0)
		return r;
	uint32_t next_proc = 1, next_stream = 1;
	for (struct proc *q = ctx->gi->procs; q; q = q->next) {
		next_proc = MAX(next_proc, q->id + 1);
		next_stream = MAX(next_stream, MAX(q->in.id, MAX(q->out.id, q->err.id)) + 1);
	}
	proto_put_u32(ctx->resp, PROTO_T_PID, p->pid > 0 ? (uint32_t)p->pid : 0);
	proto_put_u32(ctx->resp, PROTO_T_NEXT_PROC, next_proc);
	proto_put_u32(ctx->resp, PROTO_T_NEXT_STREAM, next_stream);
	if (p->state == PROC_EXITED)
		proto_put_u32(ctx->resp, PROTO_T_EXIT_STATUS, (uint32_t)p->exit_status);
	stdio_reattach(p);
	p->exit_reported = false; /* said again once the output is through */
	proc_check_done(p);
	return 0;
}

static int h_proc_delete(struct rpc_ctx *ctx)
{
	struct proc *p;
	int r = get_proc(ctx, NULL, 0, &p);
	if (r < 0)
		return r;
	if (p->state == PROC_RUNNING)
		return fail(ctx, -EBUSY, "process %u is running", p->id);
	proc_unlink_free(ctx->gi, p);
	return 0;
}

static int h_set_time(struct rpc_ctx *ctx)
{
	uint64_t ns = 0;
	struct proto_field_spec spec[] = { { PROTO_T_TIME_NS, PROTO_F_U64, &ns, true } };
	int r = proto_parse_fields(&ctx->req, spec, ELEMENTSOF(spec));
	if (r < 0)
		return fail(ctx, r, "malformed set-time request");
	struct timespec ts = { .tv_sec = (time_t)(ns / NSEC_PER_SEC),
			       .tv_nsec = (long)(ns % NSEC_PER_SEC) };
	if (clock_settime(CLOCK_REALTIME, &ts) < 0)
		return fail(ctx, -errno, "clock_settime: %m");
	return 0;
}

static int h_set_hostname(struct rpc_ctx *ctx)
{
	const char *name = NULL;
	struct proto_field_spec spec[] = { { PROTO_T_HOSTNAME, PROTO_F_STR, &name, true } };
	int r = proto_parse_fields(&ctx->req, spec, ELEMENTSOF(spec));
	if (r < 0)
		return fail(ctx, r, "malformed set-hostname request");
	if (sethostname(name, strlen(name)) < 0)
		return fail(ctx, -errno, "sethostname `%s`: %m", name);
	return 0;
}

static int h_sync(struct rpc_ctx *ctx)
{
	(void)ctx;
	sync();
	return 0;
}

static void kill_everything(struct guest_init *gi)
{
	(void)kill(-1, SIGKILL);
	/* Give the kernel a moment to tear the processes down, reaping as we go. */
	for (int i = 0; i < 100; i++) {
		reaper_reap(gi);
		if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			break;
		usleep(10000);
	}
}

static int h_shutdown(struct rpc_ctx *ctx)
{
	ctx->gi->shutting_down = true;
	kill_everything(ctx->gi);
	sync();
	mount_teardown();
	sync();
	return 0;
}

/* --- the container's network (net.c, dns-relay.c) --- */

/* A PROTO_T_ADDRESS (with_prefix) or PROTO_T_GATEWAY value. */
static int parse_addr(const struct proto_field *f, bool with_prefix, struct net_addr *ret)
{
	size_t head = with_prefix ? 2 : 1;
	if (f->len < head)
		return -EPROTO;
	uint8_t fam = f->val[0];
	size_t alen = fam == 4 ? 4 : fam == 6 ? 16 : 0;
	if (!alen || f->len != head + alen)
		return -EPROTO;
	*ret = (struct net_addr){ .family = fam == 4 ? AF_INET : AF_INET6,
				  .prefix = with_prefix ? f->val[1] : 0 };
	if (ret->prefix > (fam == 4 ? 32 : 128))
		return -EPROTO;
	memcpy(ret->addr, f->val + head, alen);
	return 0;
}

static bool ifname_valid(const char *n)
{
	size_t len = strlen(n);
	if (!len || len >= 16 || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return false;
	for (const char *p = n; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			return false;
	return true;
}

static int h_net_link_add(struct rpc_ctx *ctx)
{
	struct net_link_spec spec = { 0 };
	uint32_t vlan = 0, mtu = 0;
	struct proto_field mac = { 0 };
	struct proto_field_spec fs[] = {
		{ PROTO_T_VLAN, PROTO_F_U32, &vlan, true },
		{ PROTO_T_MAC, PROTO_F_BYTES, &mac, true },
		{ PROTO_T_IFNAME, PROTO_F_STR, &spec.ifname, true },
		{ PROTO_T_MTU, PROTO_F_U32, &mtu, false },
	};
	int r = proto_parse_fields(&ctx->req, fs, ELEMENTSOF(fs));
	if (r < 0)
		return fail(ctx, r, "malformed net-link-add request");
	if (vlan < 1 || vlan > 4094 || mac.len != 6 || !ifname_valid(spec.ifname) ||
	    (mtu && (mtu < 68 || mtu > 65535)))
		return fail(ctx, -EINVAL, "invalid VLAN, MAC, interface name or MTU");
	spec.vlan = (uint16_t)vlan;
	spec.mtu = mtu;
	memcpy(spec.mac, mac.val, 6);
	struct proto_reader it = ctx->req;
	struct proto_field f;
	while ((r = proto_reader_next(&it, &f)) > 0) {
		if (f.tag != PROTO_T_ADDRESS)
			continue;
		if (spec.n_addrs >= NET_MAX_ADDRS)
			return fail(ctx, -E2BIG, "too many addresses");
		if (parse_addr(&f, true, &spec.addrs[spec.n_addrs++]) < 0)
			return fail(ctx, -EPROTO, "malformed address");
	}
	if (r < 0)
		return fail(ctx, r, "malformed net-link-add request");
	return net_link_add(ctx->gi, &spec, ctx->err, sizeof(ctx->err));
}

static int h_net_link_del(struct rpc_ctx *ctx)
{
	const char *name = NULL;
	struct proto_field_spec fs[] = { { PROTO_T_IFNAME, PROTO_F_STR, &name, true } };
	int r = proto_parse_fields(&ctx->req, fs, ELEMENTSOF(fs));
	if (r < 0 || !ifname_valid(name))
		return fail(ctx, r < 0 ? r : -EINVAL, "malformed net-link-del request");
	return net_link_del(ctx->gi, name, ctx->err, sizeof(ctx->err));
}

static int h_net_route(struct rpc_ctx *ctx)
{
	const char *name = "";
	struct proto_field_spec fs[] = { { PROTO_T_IFNAME, PROTO_F_STR, &name, false } };
	int r = proto_parse_fields(&ctx->req, fs, ELEMENTSOF(fs));
	if (r < 0)
		return fail(ctx, r, "malformed net-route request");
	struct net_addr gw[2];
	bool have[2] = { false, false };
	struct proto_reader it = ctx->req;
	struct proto_field f;
	while ((r = proto_reader_next(&it, &f)) > 0) {
		struct net_addr a;
		if (f.tag != PROTO_T_GATEWAY)
			continue;
		if (parse_addr(&f, false, &a) < 0)
			return fail(ctx, -EPROTO, "malformed gateway");
		size_t k = a.family == AF_INET6;
		if (have[k])
			return fail(ctx, -EINVAL, "two gateways of one family");
		gw[k] = a;
		have[k] = true;
	}
	if (r < 0)
		return fail(ctx, r, "malformed net-route request");
	if ((have[0] || have[1]) && !ifname_valid(name))
		return fail(ctx, -EINVAL, "a gateway needs an interface");
	return net_route(ctx->gi, name, have[0] ? &gw[0] : NULL, have[1] ? &gw[1] : NULL, ctx->err,
			 sizeof(ctx->err));
}

static int h_net_dns(struct rpc_ctx *ctx)
{
	bool on = false;
	struct proto_field_spec fs[] = { { PROTO_T_ENABLE, PROTO_F_BOOL, &on, true } };
	int r = proto_parse_fields(&ctx->req, fs, ELEMENTSOF(fs));
	if (r < 0)
		return fail(ctx, r, "malformed net-dns request");
	return dns_relay_enable(ctx->gi, on, ctx->err, sizeof(ctx->err));
}

static int h_dns_reply(struct rpc_ctx *ctx)
{
	uint32_t id = 0;
	struct proto_field data = { 0 };
	struct proto_field_spec fs[] = {
		{ PROTO_T_DNS_ID, PROTO_F_U32, &id, true },
		{ PROTO_T_DATA, PROTO_F_BYTES, &data, true },
	};
	int r = proto_parse_fields(&ctx->req, fs, ELEMENTSOF(fs));
	if (r < 0)
		return fail(ctx, r, "malformed dns-reply request");
	return dns_relay_reply(ctx->gi, id, data.val, data.len);
}

static const rpc_handler handlers[_PROTO_OP_MAX] = {
	[PROTO_OP_PING] = h_ping,
	[PROTO_OP_MOUNT] = h_mount,
	[PROTO_OP_UMOUNT] = h_umount,
	[PROTO_OP_MKDIR] = h_mkdir,
	[PROTO_OP_WRITE_FILE] = h_write_file,
	[PROTO_OP_PROC_CREATE] = h_proc_create,
	[PROTO_OP_PROC_START] = h_proc_start,
	[PROTO_OP_PROC_SIGNAL] = h_proc_signal,
	[PROTO_OP_PROC_RESIZE] = h_proc_resize,
	[PROTO_OP_PROC_DELETE] = h_proc_delete,
	[PROTO_OP_SET_TIME] = h_set_time,
	[PROTO_OP_SYNC] = h_sync,
	[PROTO_OP_SHUTDOWN] = h_shutdown,
	[PROTO_OP_SET_HOSTNAME] = h_set_hostname,
	[PROTO_OP_PROC_ATTACH] = h_proc_attach,
	[PROTO_OP_SYMLINK] = h_symlink,
	[PROTO_OP_NET_LINK_ADD] = h_net_link_add,
	[PROTO_OP_NET_LINK_DEL] = h_net_link_del,
	[PROTO_OP_NET_ROUTE] = h_net_route,
	[PROTO_OP_NET_DNS] = h_net_dns,
	[PROTO_OP_DNS_REPLY] = h_dns_reply,
};

static int handle_request(struct guest_init *gi, const struct proto_frame *f)
{
	static uint8_t out[PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD];
	struct proto_writer w;
	struct rpc_ctx ctx = { .gi = gi };
	uint32_t id;
	uint16_t op;

	if (proto_request_parse(f, &id, &op, &ctx.req) < 0)
		return -EPROTO;

	/* Results go after an 8-byte response prefix that is filled in last. */
	proto_writer_init(&w, out, sizeof(out));
	proto_begin_response(&w, id, 0);
	ctx.resp = &w;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r =
	    handlers[op] ? handlers[op](&ctx) : fail(&ctx, -EOPNOTSUPP, "unsupported op %u", op);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug("rpc %s id=%u: %s in %ld us", proto_op_name(op), id, r < 0 ? ctx.err : "ok",
		  (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
	if (r < 0 || w.overflow) {
		proto_writer_init(&w, out, sizeof(out));
		proto_begin_response(&w, id, (uint32_t)(r < 0 ? -r : EMSGSIZE));
		proto_put_str(&w, PROTO_T_MESSAGE, r < 0 ? ctx.err : "response too large");
	}
	ssize_t n = proto_writer_finish(&w, PROTO_RESPONSE, 0);
	if (n < 0)
		return (int)n;
	r = proto_conn_send(gi->conn, out, (size_t)n);
	if (op == PROTO_OP_PROC_START)
		for (struct proc *p = gi->procs; p; p = p->next)
			proc_check_done(p);
	if (op == PROTO_OP_SHUTDOWN) {
		(void)proto_conn_flush_sync(gi->conn, 1000);
		log_info("shutting down");
		(void)reboot(RB_AUTOBOOT);
	}
	return r;
}

int rpc_send_event_exit(struct guest_init *gi, const struct proc *p)
{
	uint8_t buf[64];
	struct proto_writer w;

	if (!gi->conn)
		return -ENOTCONN;
	proto_writer_init(&w, buf, sizeof(buf));
	proto_begin_event(&w, PROTO_EV_PROC_EXIT);
	proto_put_u32(&w, PROTO_T_PROC_ID, p->id);
	proto_put_u32(&w, PROTO_T_EXIT_STATUS, (uint32_t)p->exit_status);
	ssize_t n = proto_writer_finish(&w, PROTO_EVENT, 0);
	if (n < 0)
		return (int)n;
	return proto_conn_send(gi->conn, buf, (size_t)n);
}

int rpc_on_frame(struct guest_init *gi, const struct proto_frame *f)
{
	struct pstream *s;
	struct proc *p;
	uint32_t credit;

	switch (f->type) {
	case PROTO_HELLO: {
		uint32_t major = 0;
		struct proto_reader r;
		struct proto_field_spec spec[] = { { PROTO_T_VERSION_MAJOR, PROTO_F_U32, &major,
						     true } };
		proto_reader_init(&r, f->payload, f->len);
		if (proto_parse_fields(&r, spec, ELEMENTSOF(spec)) < 0 ||
		    major != PROTO_VERSION_MAJOR) {
			log_error("host speaks protocol %u, we speak %u", major,
				  PROTO_VERSION_MAJOR);
			return -EPROTONOSUPPORT;
		}
		return 0;
	}
	case PROTO_REQUEST: return handle_request(gi, f);
	case PROTO_DATA:
		p = proc_find_stream(gi, f->stream, &s);
		if (!p)
			return 0; /* data for a stream that ended: drop */
		return stdio_on_data(p, s, f->payload, f->len);
	case PROTO_CREDIT:
		if (proto_credit_parse(f, &credit) < 0)
			return -EPROTO;
		p = proc_find_stream(gi, f->stream, &s);
		return p ? stdio_on_credit(p, s, credit) : 0;
	case PROTO_CLOSE:
		p = proc_find_stream(gi, f->stream, &s);
		return p ? stdio_on_close(p, s) : 0;
	default: log_debug("ignoring frame type %u from the host", f->type); return 0;
	}
}
