/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ImageCreate (pull, import), ImagePush, ImageGet, ImageGetAll, ImageLoad:
 * the slow image operations, each run on a worker thread with its own store
 * handle (rule P1). The worker writes its output (Docker's JSON progress
 * lines, or the tar of a save) into a pipe, which worker-stream.c copies to
 * the client as fast as it reads. Request bodies (load, import) flow the
 * other way through a second pipe.
 *
 * The HTTP status is decided by the first output: an operation that fails
 * before producing any (bad reference, unknown tag, refused credentials)
 * gets its error status, as with dockerd; after that, errors are reported
 * in the stream as {"errorDetail": ...}.
 */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "changes.h"
#include "cleanup.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "fd-util.h"
#include "image.h"
#include "log.h"
#include "strv.h"
#include "worker-stream.h"
#include "worker.h"

struct xfer;
typedef int (*xfer_fn)(struct xfer *x, struct image_store *s, struct arca_error **err);

struct xfer {
	struct daemon *d;
	struct http_conn *conn;
	xfer_fn fn;
	const char *content_type;
	bool raw; /* tar bytes, not JSON lines */
	char *root;
	int out_r, out_w;
	int in_r; /* request body, for load and import */
	struct worker_stream *ws;
	bool eof, done, body_pending;
	int result;
	struct arca_error *err;
	const char *event; /* the image event of a success: pull, push, import */
	char *image_id;	   /* import: the new image, set by the worker */

	/* parameters */
	char *ref;
	char **names;
	char *platform;
	char *message;
	json_t *config; /* import: the --change instructions applied */
	struct api_registry_auth auth;
	char **insecure; /* copies: a reload may replace the daemon's */
	char **mirrors;
	unsigned max_downloads;
};

static void xfer_free(struct xfer *x)
{
	x->ws = worker_stream_free(x->ws);
	safe_close(x->out_r);
	safe_close(x->out_w);
	safe_close(x->in_r);
	http_conn_unref(x->conn);
	arca_error_free(x->err);
	free(x->root);
	free(x->ref);
	free(x->image_id);
	strv_free(x->names);
	free(x->platform);
	free(x->message);
	json_decref(x->config);
	api_registry_auth_done(&x->auth);
	strv_free(x->insecure);
	strv_free(x->mirrors);
	free(x);
}

/* --- worker side --- */

static void write_line(struct xfer *x, json_t *msg)
{
	_cleanup_free_ char *s = json_dumps(msg, JSON_COMPACT);
	if (!s)
		return;
	size_t len = strlen(s);
	s[len] = '\n';
	(void)loop_write(x->out_w, s, len + 1);
}

static void on_progress(json_t *msg, void *userdata)
{
	write_line(userdata, msg);
}

static void remote_opts(struct xfer *x, struct image_remote_opts *o)
{
	*o = (struct image_remote_opts){
		.platform = x->platform,
		.auth = api_registry_auth_view(&x->auth),
		.insecure = x->insecure,
		.mirrors = x->mirrors,
		.max_downloads = x->max_downloads,
		.progress = on_progress,
		.userdata = x,
	};
}

static int run(void *arg)
{
	struct xfer *x = arg;
	struct image_store *s = NULL;
	int r = image_store_open(x->root, &s, &x->err);
	if (r >= 0)
		r = x->fn(x, s, &x->err);
	image_store_close(s);
	/* EOF for the loop: the result is set before the pipe closes. */
	x->result = r;
	x->out_w = safe_close(x->out_w);
	x->in_r = safe_close(x->in_r);
	return r;
}

static int do_pull(struct xfer *x, struct image_store *s, struct arca_error **err)
{
	struct image_remote_opts o;
	remote_opts(x, &o);
	_cleanup_free_ char *id = NULL;
	return image_pull(s, x->ref, &o, &id, err);
}

static int do_push(struct xfer *x, struct image_store *s, struct arca_error **err)
{
	struct image_remote_opts o;
	remote_opts(x, &o);
	return image_push(s, x->ref, &o, err);
}

static int do_save(struct xfer *x, struct image_store *s, struct arca_error **err)
{
	return image_save(s, x->names, x->out_w, err);
}

static int do_load(struct xfer *x, struct image_store *s, struct arca_error **err)
{
	json_t *out = NULL;
	int r = image_load(s, x->in_r, on_progress, x, &out, err);
	json_decref(out);
	return r;
}

static int do_import(struct xfer *x, struct image_store *s, struct arca_error **err)
{
	_cleanup_free_ char *id = NULL;
	int r = image_import(s, x->in_r, x->ref, x->message, x->config, &id, err);
	if (r >= 0) {
		json_t *m = json_pack("{s:s}", "status", id);
		write_line(x, m);
		json_decref(m);
		x->image_id = TAKE_PTR(id);
	}
	return r;
}

/* --- loop side --- */

static void maybe_finish(struct xfer *x)
{
	if (!x->eof || !x->done || x->body_pending)
		return;
	if (x->result >= 0 && x->event && (x->image_id || x->ref)) {
		/* As dockerd: pull and push name the reference, import the new image. */
		char *tagged = x->ref ? events_familiar(x->ref, true) : xstrdup(x->image_id);
		char *name = x->ref ? events_familiar(x->ref, false) : xstrdup(x->image_id);
		events_emit(x->d->events, "image", x->event, x->image_id ? x->image_id : tagged,
			    json_pack("{s:s}", "name", x->image_id ? x->image_id : name));
		free(tagged);
		free(name);
	}
	bool started = worker_stream_started(x->ws);
	x->ws = worker_stream_free(x->ws); /* the connection is ours again */
	if (!http_conn_is_closed(x->conn)) {
		if (!started) {
			if (x->result < 0)
				http_reply_error(x->conn, x->err);
			else
				http_reply(x->conn, 200, x->content_type, NULL, 0);
		} else {
			if (x->result < 0 && !x->raw) {
				const char *m = x->err ? x->err->msg : "failed";
				http_stream_json(x->conn, json_pack("{s:{s:s}, s:s}", "errorDetail",
								    "message", m, "error", m));
			}
			if (x->result < 0 && x->raw)
				http_conn_close(x->conn); /* a truncated tar must not look whole */
			else
				http_stream_end(x->conn);
		}
	}
	xfer_free(x);
}

static void on_eof(void *userdata)
{
	struct xfer *x = userdata;
	x->eof = true;
	maybe_finish(x);
}

static const struct worker_stream_ops stream_ops = { .eof = on_eof };

static void on_done(void *arg, int result)
{
	struct xfer *x = arg;
	(void)result;
	x->done = true;
	maybe_finish(x);
}

static void on_body_done(struct http_conn *c, int error, void *userdata)
{
	struct xfer *x = userdata;
	(void)c;
	if (error < 0)
		log_debug_errno(error, "request body ended early: %m");
	x->body_pending = false;
	maybe_finish(x);
}

json_t *api_base64_json(const char *header)
{
	if (!header || !header[0])
		return NULL;
	size_t n = strlen(header);
	_cleanup_free_ char *std = xmalloc(n + 4);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		std[k++] = header[i] == '-' ? '+' : header[i] == '_' ? '/' : header[i];
	while (k % 4)
		std[k++] = '=';
	std[k] = '\0';
	_cleanup_free_ unsigned char *out = xmalloc(k / 4 * 3 + 1);
	int len = EVP_DecodeBlock(out, (const unsigned char *)std, (int)k);
	if (len < 0)
		return NULL;
	while (len > 0 && out[len - 1] == '\0')
		len--; /* the padding decodes to NULs */
	json_t *j = json_loadb((const char *)out, (size_t)len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

void api_registry_auth_parse(const char *header, struct api_registry_auth *ret)
{
	*ret = (struct api_registry_auth){ 0 };
	json_t *j = api_base64_json(header);
	const char *u = json_string_value(json_object_get(j, "username"));
	const char *p = json_string_value(json_object_get(j, "password"));
	const char *t = json_string_value(json_object_get(j, "identitytoken"));
	const char *rt = json_string_value(json_object_get(j, "registrytoken"));
	ret->user = u && u[0] ? xstrdup(u) : NULL;
	ret->pass = p && p[0] ? xstrdup(p) : NULL;
	ret->token = t && t[0] ? xstrdup(t) : NULL;
	ret->regtoken = rt && rt[0] ? xstrdup(rt) : NULL;
	json_decref(j);
}

void api_registry_auth_done(struct api_registry_auth *a)
{
	free(a->user);
	free(a->pass);
	free(a->token);
	free(a->regtoken);
	*a = (struct api_registry_auth){ 0 };
}

struct registry_auth api_registry_auth_view(const struct api_registry_auth *a)
{
	return (struct registry_auth){ .username = a->user,
				       .password = a->pass,
				       .identity_token = a->token,
				       .registry_token = a->regtoken };
}

static struct xfer *xfer_new(struct api_ctx *ctx, xfer_fn fn, const char *content_type)
{
	struct xfer *x = xnew0(struct xfer, 1);
	int p[2];
	x->d = ctx->d;
	x->fn = fn;
	x->content_type = content_type;
	x->root = xstrdup(ctx->d->cfg.root);
	x->insecure = strv_copy(ctx->d->cfg.insecure_registries);
	x->mirrors = strv_copy(ctx->d->cfg.registry_mirrors);
	x->max_downloads = ctx->d->cfg.max_downloads;
	x->out_r = x->out_w = x->in_r = -EBADF;
	x->conn = http_conn_ref(ctx->conn);
	if (pipe2(p, O_CLOEXEC) < 0) {
		xfer_free(x);
		return NULL;
	}
	x->out_r = p[0];
	x->out_w = p[1];
	api_registry_auth_parse(http_request_header(ctx->req, "X-Registry-Auth"), &x->auth);
	return x;
}

/* Starts the worker; on failure answers with an error and frees x (after the body, if any). */
static void xfer_go(struct api_ctx *ctx, struct xfer *x)
{
	int r = worker_stream_new(ctx->d->event, ctx->conn, x->out_r, x->content_type, &stream_ops,
				  x, &x->ws);
	x->out_r = -EBADF; /* the stream's now, or closed */
	if (r >= 0 && workers_submit(ctx->d->workers, run, on_done, x) >= 0)
		return;
	/*
	 * No worker: the answer is an error, but a request body may already flow
	 * into x (load, import). Its end, at once now that nothing reads it, is
	 * what frees x; never before, so its callback never sees freed memory.
	 */
	x->ws = worker_stream_free(x->ws);
	x->result =
	    arca_error_set(&x->err, EAGAIN, ARCA_ERR_INTERNAL, "cannot start the image operation");
	x->done = x->eof = true;
	x->in_r = safe_close(x->in_r);
	maybe_finish(x);
}

/* fromImage plus tag, as dockerd combines them. */
static char *pull_reference(const char *image, const char *tag)
{
	if (!tag || !tag[0])
		return xstrdup(image);
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(slash ? slash : image, ':');
	const char *at = strchr(image, '@');
	size_t base = at ? (size_t)(at - image) : colon ? (size_t)(colon - image) : strlen(image);
	return xasprintf("%.*s%s%s", (int)base, image, strncmp(tag, "sha256:", 7) == 0 ? "@" : ":",
			 tag);
}

void api_image_create(struct api_ctx *ctx)
{
	_cleanup_free_ char *from_image = http_query_get(ctx->req, "fromImage");
	_cleanup_free_ char *from_src = http_query_get(ctx->req, "fromSrc");
	_cleanup_free_ char *tag = http_query_get(ctx->req, "tag");
	if (from_src && from_src[0]) {
		if (strcmp(from_src, "-") != 0) {
			http_reply_errorf(ctx->conn, 501,
					  "importing from a URL is not supported by Arca; use -");
			return;
		}
		_cleanup_free_ char *repo = http_query_get(ctx->req, "repo");
		_cleanup_strv_free_ char **changes = http_query_get_all(ctx->req, "changes");
		json_t *config = json_object();
		struct arca_error *err = NULL;
		if (image_changes_apply(config, changes, &err) < 0) {
			json_decref(config);
			http_reply_errorf(ctx->conn, 400, "%s", err->msg);
			arca_error_free(err);
			return;
		}
		struct xfer *x = xfer_new(ctx, do_import, "application/json");
		if (x)
			x->config = config;
		else
			json_decref(config);
		int p[2];
		if (!x || pipe2(p, O_CLOEXEC) < 0) {
			http_reply_errorf(ctx->conn, 500, "cannot import: %m");
			if (x)
				xfer_free(x);
			return;
		}
		x->in_r = p[0];
		x->ref = repo && repo[0] ? pull_reference(repo, tag) : NULL;
		_cleanup_free_ char *msg = http_query_get(ctx->req, "message");
		x->message = msg && msg[0] ? xstrdup(msg) : xstrdup("Imported from -");
		x->event = "import";
		x->body_pending = true;
		http_body_to_fd(ctx->conn, p[1], on_body_done, x);
		xfer_go(ctx, x);
		return;
	}
	if (!from_image || !from_image[0]) {
		http_reply_errorf(ctx->conn, 400, "fromImage or fromSrc is required");
		return;
	}
	struct xfer *x = xfer_new(ctx, do_pull, "application/json");
	if (!x) {
		http_reply_errorf(ctx->conn, 500, "cannot pull: %m");
		return;
	}
	x->ref = pull_reference(from_image, tag);
	x->event = "pull";
	_cleanup_free_ char *platform = http_query_get(ctx->req, "platform");
	x->platform = platform && platform[0] ? xstrdup(platform) : NULL;
	xfer_go(ctx, x);
}

void api_image_push(struct api_ctx *ctx)
{
	_cleanup_free_ char *tag = http_query_get(ctx->req, "tag");
	struct xfer *x = xfer_new(ctx, do_push, "application/json");
	if (!x) {
		http_reply_errorf(ctx->conn, 500, "cannot push: %m");
		return;
	}
	x->ref = pull_reference(ctx->param, tag && tag[0] ? tag : NULL);
	x->event = "push";
	/* No X-Registry-Auth is an anonymous push, as with dockerd (docker-py sends none).
	 * An image we don't have is a 404 before any progress goes out. */
	_cleanup_free_ char *id = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	if (image_resolve(ctx->d->images, x->ref, &id, &err) < 0) {
		if (err->kind == ARCA_ERR_NOT_FOUND)
			http_reply_errorf(ctx->conn, 404,
					  "An image does not exist locally with the tag: %s",
					  x->ref);
		else
			api_reply_error(ctx, err);
		xfer_free(x);
		return;
	}
	xfer_go(ctx, x);
}

static void save(struct api_ctx *ctx, char **names)
{
	struct xfer *x = xfer_new(ctx, do_save, "application/x-tar");
	if (!x) {
		strv_free(names);
		http_reply_errorf(ctx->conn, 500, "cannot save: %m");
		return;
	}
	/* Unknown names are refused before any byte of tar goes out. */
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *id = NULL;
		_cleanup_error_ struct arca_error *err = NULL;
		if (image_resolve(ctx->d->images, *n, &id, &err) < 0) {
			api_reply_error(ctx, err);
			strv_free(names);
			xfer_free(x);
			return;
		}
	}
	x->names = names;
	x->raw = true;
	xfer_go(ctx, x);
}

void api_image_get(struct api_ctx *ctx)
{
	save(ctx, strv_append(NULL, ctx->param));
}

void api_image_get_all(struct api_ctx *ctx)
{
	char **names = http_query_get_all(ctx->req, "names");
	if (!names[0]) {
		strv_free(names);
		http_reply_errorf(ctx->conn, 400, "at least one image name is required");
		return;
	}
	save(ctx, names);
}

void api_image_load(struct api_ctx *ctx)
{
	struct xfer *x = xfer_new(ctx, do_load, "application/json");
	int p[2];
	if (!x || pipe2(p, O_CLOEXEC) < 0) {
		http_reply_errorf(ctx->conn, 500, "cannot load: %m");
		if (x)
			xfer_free(x);
		return;
	}
	x->in_r = p[0];
	x->body_pending = true;
	http_body_to_fd(ctx->conn, p[1], on_body_done, x);
	xfer_go(ctx, x);
}
