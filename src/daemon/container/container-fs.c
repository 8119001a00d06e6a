/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's filesystem from the host (see container-fs.h).
 *
 * Everything runs as helpers in the container's VM, or in a maintenance VM
 * when it is stopped (container-maint.h): the guest's busybox, executed
 * inside the container's root for cp (so every path and symlink resolves
 * within it, whatever the image holds), over a non-recursive bind of the
 * root for export (no /proc, /sys, /dev contents), and over the overlay's
 * upper directory for diff. Tar streams flow with the protocol's flow
 * control in both directions.
 */
#include "container-fs.h"
#include "container-fs-parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-helper.h"
#include "container-maint.h"
#include "container-mounts.h"
#include "container.h"
#include "daemon.h"
#include "event.h"
#include "fd-util.h"
#include "guest-client.h"
#include "guest-setup.h"
#include "stream.h"
#include "strv.h"
#include "time-util.h"
#include "vm.h"

#define STAT_MAX    (64u * 1024u)
#define CHANGES_MAX (16u << 20)

struct container_fs {
	struct daemon *d;
	enum container_fs_op op;
	char id[ID_HEX_LEN + 1];
	char *path;	   /* cleaned absolute path in the container */
	bool copy_uid_gid; /* PUT */
	int body_fd;	   /* PUT: the archive */
	struct event_source *body_src;
	bool body_eof;
	struct stream *out; /* GET, EXPORT */
	bool streaming;	    /* the tar has begun to flow to out */
	const struct container_fs_ops *ops;
	void *ud;
	bool have_vm;	    /* holds container_vm_acquire() */
	struct helper *h;   /* the current helper */
	json_t *stat;	    /* the path's PathStat */
	char *mnt;	    /* export: the bind mount in the guest */
	int64_t mount_call; /* export: the MOUNT awaiting the guest's reply (0: none) */
};

static struct container *fs_container(struct container_fs *f)
{
	return daemon_find_container(f->d, f->id, NULL);
}

static void finish_export_mount(struct container_fs *f);

static void fs_free(struct container_fs *f)
{
	finish_export_mount(f);
	struct container *c = fs_container(f);
	if (c) {
		container_vm_cancel(c, f);
		if (f->have_vm)
			container_vm_release(c);
	}
	helper_free(f->h);
	event_source_free(f->body_src);
	safe_close(f->body_fd);
	if (f->out) {
		stream_set_handler(f->out, NULL, NULL);
		stream_unref(f->out);
	}
	json_decref(f->stat);
	free(f->path);
	free(f->mnt);
	free(f);
}

/* The end: the stream ends (or is cut, on an error), the owner hears, f goes. */
static void finish(struct container_fs *f, const struct arca_error *err, json_t *result)
{
	f->h = helper_free(f->h);
	if (f->out && f->streaming) {
		if (err)
			stream_close(f->out);
		else
			stream_end(f->out);
	}
	f->ops->done(err, result, f->ud);
	fs_free(f);
}

static void fail(struct container_fs *f, enum arca_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct container_fs *f, enum arca_error_kind kind, const char *fmt, ...)
{
	_cleanup_error_ struct arca_error *err = NULL;
	va_list ap;
	va_start(ap, fmt);
	arca_error_setv(&err, EIO, kind, fmt, ap);
	va_end(ap);
	finish(f, err, NULL);
}

char *container_fs_clean_path(const char *p)
{
	_cleanup_free_ char *rooted = xasprintf("/%s", p);
	char *out = path_clean(rooted);
	size_t len = strlen(p);
	if (len >= 2 && strcmp(p + len - 2, "/.") == 0) {
		/* "dir/." (the directory's contents) keeps its meaning. */
		char *n = xasprintf("%s/.", strcmp(out, "/") == 0 ? "" : out);
		free(out);
		out = n;
	}
	return out;
}

/* --- the steps --- */

static void start_transfer(struct container_fs *f, uint32_t mode);

static void on_stat_done(struct helper *h, int status, void *userdata)
{
	struct container_fs *f = userdata;
	uint32_t mode = 0;
	if (status > 0)
		return fail(f, ARCA_ERR_NOT_FOUND, "Could not find the file %s in container %s",
			    f->path, f->id);
	if (status < 0)
		return fail(f, ARCA_ERR_INTERNAL, "stat %s in container %s: %s", f->path, f->id,
			    strerror(-status));
	const struct buf *out = helper_stdout(h);
	f->stat =
	    container_fs_parse_stat(f->path, (const char *)buf_peek(out), buf_len(out), &mode);
	f->h = helper_free(f->h);
	if (!f->stat)
		return fail(f, ARCA_ERR_INTERNAL, "cannot read the stat of %s", f->path);
	start_transfer(f, mode);
}

static const struct helper_ops stat_ops = { .done = on_stat_done };

/* GET and export: the tar goes to the client as it comes. */
static void pump_out(struct container_fs *f)
{
	const uint8_t *p;
	size_t n;
	while (f->h && !stream_is_full(f->out) && (n = helper_peek(f->h, &p)) > 0) {
		(void)stream_write(f->out, p, n);
		helper_consume(f->h, n);
	}
}

static void on_tar_output(struct helper *h, void *userdata)
{
	(void)h;
	pump_out(userdata);
}

static void on_out_drained(struct stream *s, void *userdata)
{
	(void)s;
	pump_out(userdata);
}

static void on_out_closed(struct stream *s, void *userdata)
{
	struct container_fs *f = userdata;
	(void)s;
	fail(f, ARCA_ERR_INTERNAL, "the client of container %s's archive went away", f->id);
}

static const struct stream_handler out_handler = { .drained = on_out_drained,
						   .closed = on_out_closed };

static void on_tar_done(struct helper *h, int status, void *userdata)
{
	struct container_fs *f = userdata;
	if (status != 0) {
		_cleanup_free_ char *why = xstrdup(helper_stderr(h));
		return fail(f, ARCA_ERR_INTERNAL, "tar in container %s: %s", f->id,
			    why[0] ? why : (status < 0 ? strerror(-status) : "failed"));
	}
	finish(f, NULL, NULL);
}

static const struct helper_ops tar_out_ops = { .output = on_tar_output, .done = on_tar_done };

/* PUT: the archive goes to tar's stdin as the guest grants credit. */
static void pump_in(struct container_fs *f)
{
	uint8_t buf[65536];
	while (f->h && !f->body_eof) {
		size_t room = helper_stdin_room(f->h);
		if (!room) {
			(void)event_source_set_enabled(f->body_src, false);
			return; /* stdin_ready resumes */
		}
		ssize_t n = read(f->body_fd, buf, MIN(room, sizeof(buf)));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			(void)event_source_set_enabled(f->body_src, true);
			return;
		}
		if (n <= 0) {
			f->body_eof = true;
			f->body_src = event_source_free(f->body_src);
			(void)helper_close_stdin(f->h);
			return;
		}
		if (helper_write_stdin(f->h, buf, (size_t)n) < 0) {
			f->body_eof = true;
			return;
		}
	}
}

static int on_body_readable(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	(void)s;
	(void)fd;
	(void)revents;
	pump_in(userdata);
	return 0;
}

static void on_stdin_ready(struct helper *h, void *userdata)
{
	(void)h;
	pump_in(userdata);
}

static void on_extract_done(struct helper *h, int status, void *userdata)
{
	struct container_fs *f = userdata;
	if (status != 0) {
		_cleanup_free_ char *why = xstrdup(helper_stderr(h));
		return fail(f, status > 0 ? ARCA_ERR_INVALID : ARCA_ERR_INTERNAL,
			    "extracting into %s in container %s: %s", f->path, f->id,
			    why[0] ? why : "tar failed");
	}
	finish(f, NULL, NULL);
}

static const struct helper_ops tar_in_ops = { .stdin_ready = on_stdin_ready,
					      .done = on_extract_done };

static int run_helper(struct container_fs *f, const char *const *argv, bool in_container,
		      bool with_stdin, const struct helper_ops *ops, size_t max_collect)
{
	struct container *c = fs_container(f);
	if (!c)
		return -ENOENT;
	struct helper_spec spec = { .argv = (char *const *)argv,
				    .in_container = in_container,
				    .busybox = true,
				    .with_stdin = with_stdin,
				    .max_collect = max_collect };
	return helper_start(c, &spec, ops, f, &f->h, NULL);
}

static void start_transfer(struct container_fs *f, uint32_t mode)
{
	if (f->op == CONTAINER_FS_STAT)
		return finish(f, NULL, f->stat);
	/* The parent, and the name within it ("." for "dir/."). */
	_cleanup_free_ char *dir = xstrdup(f->path);
	char *slash = strrchr(dir, '/');
	_cleanup_free_ char *base = xstrdup(slash[1] ? slash + 1 : ".");
	if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (f->op == CONTAINER_FS_GET) {
		const char *argv[] = { "tar", "-C", dir, "-cf", "-", base, NULL };
		if (run_helper(f, argv, true, false, &tar_out_ops, 0) < 0)
			return fail(f, ARCA_ERR_INTERNAL, "cannot run tar in container %s", f->id);
		if (f->ops->stat)
			f->ops->stat(f->stat, f->ud);
		f->streaming = true;
		return;
	}
	/* PUT: the destination must be a directory. */
	if (!S_ISDIR(mode))
		return fail(f, ARCA_ERR_INVALID, "extraction point is not a directory");
	const char *argv[] = {
		"tar", "-C", f->path, "-xf", "-", f->copy_uid_gid ? NULL : "-o", NULL
	};
	if (run_helper(f, argv, true, true, &tar_in_ops, 0) < 0 ||
	    event_add_io(f->d->event, &f->body_src, f->body_fd, EPOLLIN, on_body_readable, f) < 0)
		return fail(f, ARCA_ERR_INTERNAL, "cannot run tar in container %s", f->id);
	pump_in(f);
}

static void stat_path(struct container_fs *f)
{
	const char *argv[] = { "stat", "-c", "%s|%f|%Y|%N", f->path, NULL };
	if (run_helper(f, argv, true, false, &stat_ops, STAT_MAX) < 0)
		fail(f, ARCA_ERR_INTERNAL, "cannot stat %s in container %s", f->path, f->id);
}

/* --- export: tar over a non-recursive bind of the root --- */

static void on_export_mounted(struct guest_client *gc, int error, const char *message,
			      const struct proto_reader *body, void *userdata)
{
	struct container_fs *f = userdata;
	(void)gc;
	(void)body;
	f->mount_call = 0;
	if (error)
		return fail(f, ARCA_ERR_INTERNAL, "export container %s: %s", f->id, message);
	const char *argv[] = { "sh", "-c", helper_tar_dir_script, "sh", f->mnt, NULL };
	if (run_helper(f, argv, false, false, &tar_out_ops, 0) < 0)
		return fail(f, ARCA_ERR_INTERNAL, "cannot run tar in container %s", f->id);
	f->streaming = true;
}

static void start_export(struct container_fs *f)
{
	struct container *c = fs_container(f);
	struct vm *vm = c ? container_helper_vm(c) : NULL;
	if (!vm)
		return fail(f, ARCA_ERR_CONFLICT, "container %s is not available", f->id);
	f->mnt = xasprintf("/run/arca/export-%lx", (unsigned long)(uintptr_t)f); /* unique */
	struct guest_request rq;
	guest_req_mkdir(&rq, f->mnt, 0700);
	(void)guest_client_call(vm_guest(vm), &rq, NULL, NULL);
	guest_req_mount(&rq, GUEST_ROOT, f->mnt, "", MS_BIND | MS_RDONLY, NULL);
	int64_t id = guest_client_call(vm_guest(vm), &rq, on_export_mounted, f);
	if (id < 0)
		return fail(f, ARCA_ERR_INTERNAL, "export container %s: the VM is gone", f->id);
	f->mount_call = id;
}

static void finish_export_mount(struct container_fs *f)
{
	struct container *c = f->mnt ? fs_container(f) : NULL;
	struct vm *vm = c ? container_helper_vm(c) : NULL;
	if (!vm)
		return;
	/*
	 * The MOUNT may still be waiting for the guest (the client went first): its
	 * reply must not reach f, which goes now. f holds the VM (container_vm_acquire),
	 * so this is the guest client the call went to.
	 */
	if (f->mount_call > 0)
		guest_client_cancel(vm_guest(vm), f->mount_call);
	f->mount_call = 0;
	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_UMOUNT);
	proto_put_str(&rq.w, PROTO_T_TARGET, f->mnt);
	proto_put_u32(&rq.w, PROTO_T_UMOUNT_FLAGS, MNT_DETACH);
	(void)guest_client_call(vm_guest(vm), &rq, NULL, NULL);
	free(f->mnt);
	f->mnt = NULL;
}

/* --- changes: the upper directory against the image --- */

static const char changes_script[] =
    "cd /run/arca/rw/upper || exit 0\n"
    "find . -mindepth 1 | while IFS= read -r f; do\n"
    "  p=${f#.}\n"
    "  if [ -c \"$f\" ] && [ \"$(stat -c %t:%T \"$f\")\" = 0:0 ]; then echo \"2 $p\"\n"
    "  elif [ -e \"/run/arca/lower$p\" ] || [ -L \"/run/arca/lower$p\" ]; then echo \"0 $p\"\n"
    "  else echo \"1 $p\"; fi\n"
    "done\n";

static void on_changes_done(struct helper *h, int status, void *userdata)
{
	struct container_fs *f = userdata;
	if (status != 0) {
		_cleanup_free_ char *why = xstrdup(helper_stderr(h));
		return fail(f, ARCA_ERR_INTERNAL, "changes of container %s: %s", f->id,
			    why[0] ? why : strerror(status < 0 ? -status : EIO));
	}
	const struct buf *out = helper_stdout(h);
	json_t *arr = container_fs_parse_changes((const char *)buf_peek(out), buf_len(out));
	f->h = helper_free(f->h);
	finish(f, NULL, arr);
	json_decref(arr);
}

static const struct helper_ops changes_ops = { .done = on_changes_done };

/* --- entry points --- */

static void on_vm(struct container *c, const struct arca_error *err, void *userdata)
{
	struct container_fs *f = userdata;
	const char *held;
	if (err)
		return finish(f, err, NULL);
	f->have_vm = true;
	if (f->op == CONTAINER_FS_EXPORT) {
		start_export(f);
	} else if (f->op == CONTAINER_FS_CHANGES) {
		const char *argv[] = { "sh", "-c", changes_script, NULL };
		if (run_helper(f, argv, false, false, &changes_ops, CHANGES_MAX) < 0)
			fail(f, ARCA_ERR_INTERNAL, "cannot list the changes of container %s",
			     f->id);
	} else if ((held = container_maint_missing(c, f->path))) {
		/* A block volume attached to another container's VM: not reachable here. */
		fail(f, ARCA_ERR_CONFLICT,
		     "cannot copy %s of stopped container %s: it is in the block volume at %s, "
		     "which another running container holds",
		     f->path, c->name, held);
	} else {
		stat_path(f);
	}
}

int container_fs_start(struct container *c, const struct container_fs_request *req,
		       const struct container_fs_ops *ops, void *ud, struct container_fs **ret,
		       struct arca_error **err)
{
	bool with_path = req->op == CONTAINER_FS_STAT || req->op == CONTAINER_FS_GET ||
			 req->op == CONTAINER_FS_PUT;
	if (with_path && (!req->path || !req->path[0])) {
		safe_close(req->body_fd);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "path is required");
	}
	_cleanup_free_ char *clean = with_path ? container_fs_clean_path(req->path) : NULL;
	struct container_fs *f = xnew0(struct container_fs, 1);
	f->d = c->d;
	f->op = req->op;
	memcpy(f->id, c->id, sizeof(f->id));
	f->path = TAKE_PTR(clean);
	f->copy_uid_gid = req->copy_uid_gid;
	f->body_fd = req->body_fd;
	f->ops = ops;
	f->ud = ud;
	if (req->out) {
		f->out = stream_ref(req->out);
		stream_set_handler(f->out, &out_handler, f);
	}
	*ret = f;
	container_vm_acquire(c, on_vm, f); /* may finish at once */
	return 0;
}

void container_fs_cancel(struct container_fs *f)
{
	if (f)
		fs_free(f);
}
