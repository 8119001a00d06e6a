/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker commit (see container-commit.h): the container's writable layer
 * becomes a new image on top of its image. A helper in the container's VM (or its
 * maintenance VM when stopped) tars the overlay's upper directory; the tar
 * streams through a pipe to a worker thread, where image_commit() turns it
 * into an OCI layer and records the image. The new image's config is the
 * container's, with the request body's fields over it and the --change
 * instructions applied, as dockerd does.
 */
#include "container-commit.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "changes.h"
#include "cleanup.h"
#include "container-helper.h"
#include "container-maint.h"
#include "container.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "fd-util.h"
#include "image.h"
#include "strv.h"
#include "worker.h"
#include "names.h"

/* What the daemon put in the root (mount points, /etc files), not the container's work. */
static const char *const daemon_files[] = { "proc",	   "sys",	   "dev",
					    "dev/console", "dev/pts",	   "dev/shm",
					    "etc/hosts",   "etc/hostname", "etc/resolv.conf",
					    "etc/mtab",	   ".dockerenv",   NULL };

/* The fields of a container's config that an image keeps. */
static const char *const image_keys[] = {
	"Hostname",	"Domainname", "User",	     "AttachStdin", "AttachStdout", "AttachStderr",
	"ExposedPorts", "Tty",	      "OpenStdin",   "StdinOnce",   "Env",	    "Cmd",
	"Healthcheck",	"Image",      "Volumes",     "WorkingDir",  "Entrypoint",   "OnBuild",
	"Labels",	"StopSignal", "StopTimeout", "Shell",
};

struct commit {
	struct daemon *d;
	container_commit_fn cb;
	void *ud;
	char id[ID_HEX_LEN + 1];
	char *root;
	struct image_commit_opts opts;
	json_t *config;
	char *ref, *comment, *author, *created_by, *base_id;
	bool have_vm;
	struct helper *h;
	int pipe_w; /* loop side: the changes tar to the worker */
	int pipe_r; /* worker side */
	struct event_source *out_src;
	bool helper_done, worker_done;
	int helper_status;
	int result;
	char *new_id;
	struct arca_error *err;
};

static void commit_free(struct commit *k)
{
	struct container *c = daemon_find_container(k->d, k->id, NULL);
	if (c) {
		container_vm_cancel(c, k);
		if (k->have_vm)
			container_vm_release(c);
	}
	helper_free(k->h);
	event_source_free(k->out_src);
	safe_close(k->pipe_w);
	safe_close(k->pipe_r);
	json_decref(k->config);
	free(k->root);
	free(k->ref);
	free(k->comment);
	free(k->author);
	free(k->created_by);
	free(k->base_id);
	free(k->new_id);
	arca_error_free(k->err);
	free(k);
}

/* The one end: the caller hears, then k goes. */
static void finish(struct commit *k, const struct arca_error *err)
{
	k->cb(err, err ? NULL : k->new_id, k->ud);
	commit_free(k);
}

static void fail(struct commit *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct commit *k, const char *fmt, ...)
{
	_cleanup_error_ struct arca_error *err = NULL;
	va_list ap;
	va_start(ap, fmt);
	arca_error_setv(&err, EIO, ARCA_ERR_INTERNAL, fmt, ap);
	va_end(ap);
	finish(k, err);
}

/* Both the helper and the worker are done. */
static void maybe_finish(struct commit *k)
{
	if (!k->helper_done || !k->worker_done)
		return;
	if (k->helper_status != 0)
		return fail(k, "commit %.12s: reading its changes failed (%d)", k->id,
			    k->helper_status);
	if (k->result < 0)
		return finish(k, k->err);
	struct container *c = daemon_find_container(k->d, k->id, NULL);
	if (c)
		events_container(k->d->events, c, "commit",
				 json_pack("{s:s}", "comment", k->comment ? k->comment : ""));
	finish(k, NULL);
}

/* --- worker --- */

static int run(void *arg)
{
	struct commit *k = arg;
	struct image_store *s = NULL;
	int r = image_store_open(k->root, &s, &k->err);
	if (r >= 0)
		r = image_commit(s, &k->opts, k->pipe_r, &k->new_id, &k->err);
	image_store_close(s);
	/* Drain what is left so the loop side never blocks on a dead reader. */
	char buf[4096];
	while (read(k->pipe_r, buf, sizeof(buf)) > 0)
		;
	k->pipe_r = safe_close(k->pipe_r);
	k->result = r;
	return r;
}

static void on_worker_done(void *arg, int result)
{
	struct commit *k = arg;
	(void)result;
	k->worker_done = true;
	maybe_finish(k);
}

/* --- the helper's tar into the pipe --- */

static void pump(struct commit *k)
{
	const uint8_t *p;
	size_t n;
	while (k->h && k->pipe_w >= 0 && (n = helper_peek(k->h, &p)) > 0) {
		ssize_t w = write(k->pipe_w, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			(void)event_source_set_enabled(k->out_src, true);
			return;
		}
		if (w < 0) {
			k->pipe_w = safe_close(k->pipe_w); /* the worker gave up */
			return;
		}
		helper_consume(k->h, (size_t)w);
	}
	(void)event_source_set_enabled(k->out_src, false);
}

static int on_pipe_writable(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	(void)s;
	(void)fd;
	(void)revents;
	pump(userdata);
	return 0;
}

static void on_output(struct helper *h, void *userdata)
{
	(void)h;
	pump(userdata);
}

static void on_helper_done(struct helper *h, int status, void *userdata)
{
	struct commit *k = userdata;
	(void)h;
	k->h = helper_free(k->h);
	k->out_src = event_source_free(k->out_src);
	k->pipe_w = safe_close(k->pipe_w); /* EOF for the worker */
	k->helper_done = true;
	k->helper_status = status;
	maybe_finish(k);
}

static const struct helper_ops tar_ops = { .output = on_output, .done = on_helper_done };

static void on_vm(struct container *c, const struct arca_error *err, void *userdata)
{
	struct commit *k = userdata;
	if (err)
		return finish(k, err);
	k->have_vm = true;
	/* Whiteouts go as they are: image_commit converts them. */
	const char *argv[] = {
		"sh", "-c", helper_tar_dir_script, "sh", "/run/arca/rw/upper", NULL
	};
	struct helper_spec spec = { .argv = (char *const *)argv, .busybox = true };
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail(k, "pipe: %s", strerror(errno));
	k->pipe_r = p[0];
	k->pipe_w = p[1];
	(void)fd_set_nonblock(k->pipe_w, true);
	if (event_add_io(k->d->event, &k->out_src, k->pipe_w, EPOLLOUT, on_pipe_writable, k) < 0 ||
	    helper_start(c, &spec, &tar_ops, k, &k->h, NULL) < 0 ||
	    workers_submit(k->d->workers, run, on_worker_done, k) < 0)
		return fail(k, "cannot commit container %.12s", k->id);
	(void)event_source_set_enabled(k->out_src, false);
}

/* The container's config, the request's fields over it, then the changes. */
static json_t *commit_config(struct container *c, json_t *over, char **changes,
			     struct arca_error **err)
{
	json_t *cfg = json_object();
	for (size_t i = 0; i < ELEMENTSOF(image_keys); i++) {
		json_t *v = json_object_get(c->config, image_keys[i]);
		if (v && !json_is_null(v))
			json_object_set(cfg, image_keys[i], v);
	}
	json_object_set_new(cfg, "Image", json_string(c->image_id));
	const char *key;
	json_t *v;
	json_object_foreach(over, key, v)
	{
		bool empty = json_is_null(v) || (json_is_string(v) && !json_string_value(v)[0]) ||
			     (json_is_array(v) && !json_array_size(v)) ||
			     (json_is_object(v) && !json_object_size(v)) || json_is_false(v);
		if (!empty)
			json_object_set(cfg, key, v);
	}
	if (image_changes_apply(cfg, changes, err) < 0) {
		json_decref(cfg);
		return NULL;
	}
	return cfg;
}

/* "Entrypoint Cmd", as the image's history shows what made the layer. */
static char *created_by(struct container *c)
{
	char *out = xstrdup("");
	const char *keys[] = { "Entrypoint", "Cmd" };
	size_t words = 0;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		size_t j;
		json_t *v;
		json_array_foreach(json_object_get(c->config, keys[i]), j, v)
		{
			char *n = xasprintf("%s%s%s", out, words++ ? " " : "",
					    json_string_value(v) ?: "");
			free(out);
			out = n;
		}
	}
	return out;
}

int container_commit(struct container *c, const struct container_commit_req *req,
		     container_commit_fn cb, void *ud, struct arca_error **err)
{
	json_t *cfg = commit_config(c, req->config, req->changes, err);
	if (!cfg)
		return -EINVAL;
	struct commit *k = xnew0(struct commit, 1);
	k->d = c->d;
	k->cb = cb;
	k->ud = ud;
	k->pipe_r = k->pipe_w = -EBADF;
	memcpy(k->id, c->id, sizeof(k->id));
	k->root = xstrdup(c->d->cfg.root);
	k->config = cfg;
	if (req->repo && req->repo[0])
		k->ref = req->tag && req->tag[0] ? xasprintf("%s:%s", req->repo, req->tag)
						 : xstrdup(req->repo);
	k->comment = req->comment ? xstrdup(req->comment) : NULL;
	k->author = req->author ? xstrdup(req->author) : NULL;
	k->created_by = created_by(c);
	k->base_id = xstrdup(c->image_id);
	k->opts = (struct image_commit_opts){ .base_id = k->base_id,
					      .config = k->config,
					      .ref = k->ref,
					      .comment = k->comment,
					      .author = k->author,
					      .container_id = k->id,
					      .created_by = k->created_by,
					      .exclude = daemon_files };
	container_vm_acquire(c, on_vm, k); /* may finish at once */
	return 0;
}
