/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container filesystem over the API: ContainerArchiveInfo (HEAD),
 * ContainerArchive (GET) and PutContainerArchive (docker cp both ways),
 * ContainerExport and ContainerChanges (docker diff).
 *
 * Everything runs as helpers in the container's VM, or in a maintenance VM
 * when it is stopped (container-maint.h): the guest's busybox, executed
 * inside the container's root for cp (so every path and symlink resolves
 * within it, whatever the image holds), over a non-recursive bind of the
 * root for export (no /proc, /sys, /dev contents), and over the overlay's
 * upper directory for diff. Tar streams flow with the protocol's flow
 * control in both directions.
 */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
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
#include "container.h"
#include "daemon.h"
#include "event.h"
#include "fd-util.h"
#include "guest-client.h"
#include "guest-setup.h"
#include "log.h"
#include "strv.h"
#include "time-util.h"
#include "vm.h"

#define STAT_MAX    (64u * 1024u)
#define CHANGES_MAX (16u << 20)

enum fs_op { FS_STAT, FS_GET, FS_PUT, FS_EXPORT, FS_CHANGES };

struct fs_req {
	struct daemon *d;
	struct http_conn *conn;
	enum fs_op op;
	char id[65];
	char *path;	   /* cleaned absolute path in the container */
	bool have_vm;	   /* holds container_vm_acquire() */
	struct helper *h;  /* the current helper */
	json_t *stat;	   /* the path's stat, for the header */
	bool streaming;	   /* a response body has begun */
	bool copy_uid_gid; /* PUT: keep the archive's owners */
	int body_fd;	   /* PUT: the request body's pipe */
	struct event_source *body_src;
	bool body_eof;
	char *mnt; /* export: the bind mount in the guest */
	bool replied;
};

static struct container *req_container(struct fs_req *r)
{
	return daemon_find_container(r->d, r->id, NULL);
}

static void fs_free(struct fs_req *r)
{
	struct container *c = req_container(r);
	if (c) {
		container_vm_cancel(c, r);
		if (r->have_vm)
			container_vm_release(c);
	}
	helper_free(r->h);
	event_source_free(r->body_src);
	safe_close(r->body_fd);
	http_conn_on_close(r->conn, NULL, NULL);
	http_conn_on_drain(r->conn, NULL, NULL);
	http_conn_unref(r->conn);
	json_decref(r->stat);
	free(r->path);
	free(r->mnt);
	free(r);
}

static void fs_fail(struct fs_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Before replying: the connection's callbacks must not free r under the reply. */
static void detach(struct fs_req *r)
{
	http_conn_on_close(r->conn, NULL, NULL);
	http_conn_on_drain(r->conn, NULL, NULL);
}

static void fs_fail(struct fs_req *r, int status, const char *fmt, ...)
{
	detach(r);
	if (r->streaming) {
		http_conn_close(r->conn); /* a truncated tar must not look whole */
	} else if (!r->replied) {
		char msg[1024];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		http_reply_errorf(r->conn, status, "%s", msg);
	}
	fs_free(r);
}

/* "a/../b/", "x" -> "/b", "/x"; keeps a trailing "/." (copy a directory's contents). */
static char *clean_path(const char *p)
{
	_cleanup_strv_free_ char **parts = strv_copy(NULL);
	_cleanup_free_ char *copy = xstrdup(p);
	char *save = NULL;
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			size_t n = strv_length(parts);
			if (n) {
				free(parts[n - 1]);
				parts[n - 1] = NULL;
			}
			continue;
		}
		parts = strv_append(parts, t);
	}
	size_t len = strlen(p);
	bool dot = len >= 2 && strcmp(p + len - 2, "/.") == 0;
	char *out = xstrdup("");
	for (char **t = parts; *t; t++) {
		char *n = xasprintf("%s/%s", out, *t);
		free(out);
		out = n;
	}
	if (!out[0] || dot) {
		char *n = xasprintf("%s%s", out, dot ? "/." : "/");
		free(out);
		out = n;
	}
	return out;
}

/* --- stat: "size|rawmode|mtime|%N" from busybox stat, to Docker's PathStat --- */

static uint32_t go_file_mode(uint32_t m)
{
	uint32_t go = m & 0777;
	switch (m & S_IFMT) {
	case S_IFDIR: go |= 1u << 31; break;
	case S_IFLNK: go |= 1u << 27; break;
	case S_IFIFO: go |= 1u << 25; break;
	case S_IFSOCK: go |= 1u << 24; break;
	case S_IFBLK: go |= 1u << 26; break;
	case S_IFCHR: go |= 1u << 26 | 1u << 21; break;
	default: break;
	}
	if (m & S_ISUID)
		go |= 1u << 23;
	if (m & S_ISGID)
		go |= 1u << 22;
	if (m & S_ISVTX)
		go |= 1u << 20;
	return go;
}

static json_t *parse_stat(const char *path, const char *text, size_t len, uint32_t *ret_mode)
{
	_cleanup_free_ char *s = xstrndup(text, len);
	unsigned long long size, mtime;
	unsigned mode;
	int used = 0;
	if (sscanf(s, "%llu|%x|%llu|%n", &size, &mode, &mtime, &used) != 3 || !used)
		return NULL;
	const char *named = s + used;
	const char *arrow = strstr(named, "' -> '");
	_cleanup_free_ char *target = NULL;
	if (arrow) {
		const char *t = arrow + 6;
		const char *end = strrchr(t, '\'');
		target = end ? xstrndup(t, (size_t)(end - t)) : xstrdup(t);
	}
	_cleanup_free_ char *mt = time_format_rfc3339((nsec_t)mtime * NSEC_PER_SEC);
	const char *base = strrchr(path, '/');
	base = base && base[1] ? base + 1 : "/";
	*ret_mode = mode;
	json_t *st = json_pack("{s:s, s:I, s:I, s:s, s:s}", "name", base, "size", (json_int_t)size,
			       "mode", (json_int_t)go_file_mode(mode), "mtime", mt, "linkTarget",
			       target ? target : "");
	return st;
}

static char *stat_header(json_t *st)
{
	_cleanup_free_ char *js = json_dumps(st, JSON_COMPACT);
	size_t n = strlen(js);
	_cleanup_free_ char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)js, (int)n);
	return xasprintf("X-Docker-Container-Path-Stat: %s\r\n", b64);
}

/* --- the steps --- */

static void start_transfer(struct fs_req *r, uint32_t mode);

static void on_stat_done(struct helper *h, int status, void *userdata)
{
	struct fs_req *r = userdata;
	uint32_t mode = 0;
	if (status != 0) {
		r->h = helper_free(r->h);
		if (status > 0)
			fs_fail(r, 404, "Could not find the file %s in container %s", r->path,
				r->id);
		else
			fs_fail(r, 500, "stat %s in container %s: %s", r->path, r->id,
				strerror(-status));
		return;
	}
	const struct buf *out = helper_stdout(h);
	r->stat = parse_stat(r->path, (const char *)buf_peek(out), buf_len(out), &mode);
	r->h = helper_free(r->h);
	if (!r->stat) {
		fs_fail(r, 500, "cannot read the stat of %s", r->path);
		return;
	}
	start_transfer(r, mode);
}

static const struct helper_ops stat_ops = { .done = on_stat_done };

/* GET and export: the tar goes to the client as it comes. */
static void pump_out(struct fs_req *r)
{
	const uint8_t *p;
	size_t n;
	while (r->h && http_conn_queued(r->conn) < HTTP_STREAM_HIGH &&
	       (n = helper_peek(r->h, &p)) > 0) {
		(void)http_stream_write(r->conn, p, n);
		helper_consume(r->h, n);
	}
}

static void on_tar_output(struct helper *h, void *userdata)
{
	(void)h;
	pump_out(userdata);
}

static void on_drain(struct http_conn *c, void *userdata)
{
	(void)c;
	pump_out(userdata);
}

static void finish_export_mount(struct fs_req *r);

static void on_tar_done(struct helper *h, int status, void *userdata)
{
	struct fs_req *r = userdata;
	if (status != 0) {
		_cleanup_free_ char *why = xstrdup(helper_stderr(h));
		r->h = helper_free(r->h);
		finish_export_mount(r);
		fs_fail(r, 500, "tar in container %s: %s", r->id,
			why[0] ? why : (status < 0 ? strerror(-status) : "failed"));
		return;
	}
	r->h = helper_free(r->h);
	finish_export_mount(r);
	detach(r);
	http_stream_end(r->conn);
	r->replied = true;
	fs_free(r);
}

static const struct helper_ops tar_out_ops = { .output = on_tar_output, .done = on_tar_done };

/* PUT: the request body goes to tar's stdin as the guest grants credit. */
static void pump_in(struct fs_req *r)
{
	uint8_t buf[65536];
	while (r->h && !r->body_eof) {
		size_t room = helper_stdin_room(r->h);
		if (!room) {
			(void)event_source_set_enabled(r->body_src, false);
			return; /* stdin_ready resumes */
		}
		ssize_t n = read(r->body_fd, buf, MIN(room, sizeof(buf)));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			(void)event_source_set_enabled(r->body_src, true);
			return;
		}
		if (n <= 0) {
			r->body_eof = true;
			r->body_src = event_source_free(r->body_src);
			(void)helper_close_stdin(r->h);
			return;
		}
		if (helper_write_stdin(r->h, buf, (size_t)n) < 0) {
			r->body_eof = true;
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
	struct fs_req *r = userdata;
	_cleanup_free_ char *why = xstrdup(helper_stderr(h));
	r->h = helper_free(r->h);
	if (status != 0) {
		fs_fail(r, status > 0 ? 400 : 500, "extracting into %s in container %s: %s",
			r->path, r->id, why[0] ? why : "tar failed");
		return;
	}
	detach(r);
	http_reply_empty(r->conn, 200);
	r->replied = true;
	fs_free(r);
}

static const struct helper_ops tar_in_ops = { .stdin_ready = on_stdin_ready,
					      .done = on_extract_done };

static void on_body_done(struct http_conn *c, int error, void *userdata)
{
	(void)c;
	(void)userdata;
	if (error < 0)
		log_debug_errno(error, "archive upload ended early: %m");
}

static int run_helper(struct fs_req *r, const char *const *argv, bool in_container, bool with_stdin,
		      const struct helper_ops *ops, size_t max_collect)
{
	struct container *c = req_container(r);
	if (!c)
		return -ENOENT;
	struct helper_spec spec = { .argv = (char *const *)argv,
				    .in_container = in_container,
				    .busybox = true,
				    .with_stdin = with_stdin,
				    .max_collect = max_collect };
	return helper_start(c, &spec, ops, r, &r->h, NULL);
}

static void start_transfer(struct fs_req *r, uint32_t mode)
{
	if (r->op == FS_STAT) {
		_cleanup_free_ char *hdr = stat_header(r->stat);
		detach(r);
		http_reply_headers(r->conn, 200, "application/json", hdr, NULL, 0);
		r->replied = true;
		fs_free(r);
		return;
	}
	/* The parent, and the name within it ("." for "dir/."). */
	_cleanup_free_ char *dir = xstrdup(r->path);
	char *slash = strrchr(dir, '/');
	_cleanup_free_ char *base = xstrdup(slash[1] ? slash + 1 : ".");
	if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (r->op == FS_GET) {
		const char *argv[] = { "tar", "-C", dir, "-cf", "-", base, NULL };
		if (run_helper(r, argv, true, false, &tar_out_ops, 0) < 0) {
			fs_fail(r, 500, "cannot run tar in container %s", r->id);
			return;
		}
		_cleanup_free_ char *hdr = stat_header(r->stat);
		http_stream_begin(r->conn, 200, "application/x-tar", hdr);
		r->streaming = true;
		http_conn_on_drain(r->conn, on_drain, r);
		return;
	}
	/* PUT: the destination must be a directory. */
	if (!S_ISDIR(mode)) {
		fs_fail(r, 400, "extraction point is not a directory");
		return;
	}
	const char *argv[] = {
		"tar", "-C", r->path, "-xf", "-", r->copy_uid_gid ? NULL : "-o", NULL
	};
	if (run_helper(r, argv, true, true, &tar_in_ops, 0) < 0 ||
	    event_add_io(r->d->event, &r->body_src, r->body_fd, EPOLLIN, on_body_readable, r) < 0) {
		fs_fail(r, 500, "cannot run tar in container %s", r->id);
		return;
	}
	pump_in(r);
}

static void stat_path(struct fs_req *r)
{
	const char *argv[] = { "stat", "-c", "%s|%f|%Y|%N", r->path, NULL };
	if (run_helper(r, argv, true, false, &stat_ops, STAT_MAX) < 0)
		fs_fail(r, 500, "cannot stat %s in container %s", r->path, r->id);
}

/* --- export: tar over a non-recursive bind of the root --- */

static void on_export_mounted(struct guest_client *gc, int error, const char *message,
			      const struct proto_reader *body, void *userdata)
{
	struct fs_req *r = userdata;
	(void)gc;
	(void)body;
	if (error) {
		fs_fail(r, 500, "export container %s: %s", r->id, message);
		return;
	}
	const char *argv[] = { "sh", "-c", helper_tar_dir_script, "sh", r->mnt, NULL };
	if (run_helper(r, argv, false, false, &tar_out_ops, 0) < 0) {
		fs_fail(r, 500, "cannot run tar in container %s", r->id);
		return;
	}
	http_stream_begin(r->conn, 200, "application/x-tar", NULL);
	r->streaming = true;
	http_conn_on_drain(r->conn, on_drain, r);
}

static void start_export(struct fs_req *r)
{
	struct container *c = req_container(r);
	struct vm *vm = c ? container_helper_vm(c) : NULL;
	if (!vm) {
		fs_fail(r, 409, "container %s is not available", r->id);
		return;
	}
	r->mnt = xasprintf("/run/arca/export-%lx", (unsigned long)(uintptr_t)r); /* unique */
	struct guest_request rq;
	guest_req_mkdir(&rq, r->mnt, 0700);
	(void)guest_client_call(vm_guest(vm), &rq, NULL, NULL);
	guest_req_mount(&rq, GUEST_ROOT, r->mnt, "", MS_BIND | MS_RDONLY, NULL);
	if (guest_client_call(vm_guest(vm), &rq, on_export_mounted, r) < 0)
		fs_fail(r, 500, "export container %s: the VM is gone", r->id);
}

static void finish_export_mount(struct fs_req *r)
{
	struct container *c = r->mnt ? req_container(r) : NULL;
	struct vm *vm = c ? container_helper_vm(c) : NULL;
	if (!vm)
		return;
	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_UMOUNT);
	proto_put_str(&rq.w, PROTO_T_TARGET, r->mnt);
	proto_put_u32(&rq.w, PROTO_T_UMOUNT_FLAGS, MNT_DETACH);
	(void)guest_client_call(vm_guest(vm), &rq, NULL, NULL);
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

/* Mount points and files the daemon provides are not the container's changes. */
static bool hidden_change(const char *p)
{
	/* (The init layer's paths: dockerd keeps that layer apart from the container's.) */
	static const char *const hide[] = { "/proc",	    "/sys",	     "/dev",
					    "/dev/console", "/dev/pts",	     "/dev/shm",
					    "/etc/hosts",   "/etc/hostname", "/etc/resolv.conf",
					    "/etc/mtab",    "/.dockerenv" };
	for (size_t i = 0; i < ELEMENTSOF(hide); i++)
		if (strcmp(p, hide[i]) == 0)
			return true;
	return false;
}

static bool has_child(const char *parent, const char *path)
{
	size_t n = strlen(parent);
	return strncmp(path, parent, n) == 0 && path[n] == '/';
}

/* "C /etc" only because of /etc/hosts (ours, hidden) is no change either. */
static void drop_hidden_parents(char **hidden, json_t **items, size_t *n)
{
	size_t out = 0;
	for (size_t i = 0; i < *n; i++) {
		const char *p = json_string_value(json_object_get(items[i], "Path"));
		bool only_hidden = false;
		if (json_integer_value(json_object_get(items[i], "Kind")) == 0) {
			for (char **h = hidden; *h && !only_hidden; h++)
				only_hidden = has_child(p, *h);
			for (size_t k = 0; k < *n && only_hidden; k++)
				if (has_child(p,
					      json_string_value(json_object_get(items[k], "Path"))))
					only_hidden = false;
		}
		if (only_hidden)
			json_decref(items[i]);
		else
			items[out++] = items[i];
	}
	*n = out;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "Path")),
		      json_string_value(json_object_get(*(json_t *const *)b, "Path")));
}

static void on_changes_done(struct helper *h, int status, void *userdata)
{
	struct fs_req *r = userdata;
	if (status != 0) {
		_cleanup_free_ char *why = xstrdup(helper_stderr(h));
		r->h = helper_free(r->h);
		fs_fail(r, 500, "changes of container %s: %s", r->id,
			why[0] ? why : strerror(status < 0 ? -status : EIO));
		return;
	}
	const struct buf *out = helper_stdout(h);
	_cleanup_free_ char *text = xstrndup((const char *)buf_peek(out), buf_len(out));
	r->h = helper_free(r->h);
	size_t n = 0, cap = 64;
	json_t **items = xnew0(json_t *, cap);
	_cleanup_strv_free_ char **hidden = strv_copy(NULL);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strlen(line) < 3 || line[1] != ' ' || line[0] < '0' || line[0] > '2')
			continue;
		if (hidden_change(line + 2)) {
			hidden = strv_append(hidden, line + 2);
			continue;
		}
		json_t *item = json_pack("{s:s, s:i}", "Path", line + 2, "Kind", line[0] - '0');
		if (!item)
			continue; /* not UTF-8 */
		if (n == cap)
			items = xrealloc(items, (cap *= 2) * sizeof(*items));
		items[n++] = item;
	}
	qsort(items, n, sizeof(*items), by_path);
	drop_hidden_parents(hidden, items, &n);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	free(items);
	detach(r);
	http_reply_json(r->conn, 200, arr);
	r->replied = true;
	fs_free(r);
}

static const struct helper_ops changes_ops = { .done = on_changes_done };

/* --- entry points --- */

static void on_vm(struct container *c, const struct arca_error *err, void *userdata)
{
	struct fs_req *r = userdata;
	(void)c;
	if (err) {
		fs_fail(r, http_status_for(err), "%s", err->msg);
		return;
	}
	r->have_vm = true;
	if (r->op == FS_EXPORT) {
		start_export(r);
	} else if (r->op == FS_CHANGES) {
		const char *argv[] = { "sh", "-c", changes_script, NULL };
		if (run_helper(r, argv, false, false, &changes_ops, CHANGES_MAX) < 0)
			fs_fail(r, 500, "cannot list the changes of container %s", r->id);
	} else {
		stat_path(r);
	}
}

static void on_conn_closed(struct http_conn *conn, void *userdata)
{
	(void)conn;
	struct fs_req *r = userdata;
	finish_export_mount(r);
	fs_free(r);
}

static void fs_begin(struct api_ctx *ctx, enum fs_op op)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	struct fs_req *r = xnew0(struct fs_req, 1);
	r->d = ctx->d;
	r->op = op;
	r->body_fd = -EBADF;
	memcpy(r->id, c->id, sizeof(r->id));
	if (op == FS_STAT || op == FS_GET || op == FS_PUT) {
		_cleanup_free_ char *path = http_query_get(ctx->req, "path");
		if (!path || !path[0]) {
			free(r);
			http_reply_errorf(ctx->conn, 400, "path is required");
			return;
		}
		r->path = clean_path(path);
		r->copy_uid_gid = http_query_bool(ctx->req, "copyUIDGID", false);
	}
	r->conn = http_conn_ref(ctx->conn);
	if (op == FS_PUT) {
		int p[2];
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
			fs_fail(r, 500, "pipe: %s", strerror(errno));
			return;
		}
		r->body_fd = p[0];
		http_body_to_fd(ctx->conn, p[1], on_body_done, r);
	}
	http_conn_on_close(ctx->conn, on_conn_closed, r);
	container_vm_acquire(c, on_vm, r);
}

void api_container_archive_info(struct api_ctx *ctx)
{
	fs_begin(ctx, FS_STAT);
}

void api_container_archive(struct api_ctx *ctx)
{
	fs_begin(ctx, FS_GET);
}

void api_put_container_archive(struct api_ctx *ctx)
{
	fs_begin(ctx, FS_PUT);
}

void api_container_export(struct api_ctx *ctx)
{
	fs_begin(ctx, FS_EXPORT);
}

void api_container_changes(struct api_ctx *ctx)
{
	fs_begin(ctx, FS_CHANGES);
}

bool api_archive_put_streams(const struct http_request *r)
{
	const char *p = r->path;
	if (p[0] == '/' && p[1] == 'v')
		p = strchr(p + 1, '/') ?: p;
	size_t n = strlen(p);
	return strcmp(r->method, "PUT") == 0 && strncmp(p, "/containers/", 12) == 0 && n > 8 &&
	       strcmp(p + n - 8, "/archive") == 0;
}
