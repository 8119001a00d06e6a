/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ContainerArchiveInfo (HEAD), ContainerArchive (GET) and
 * PutContainerArchive (docker cp both ways), ContainerExport and
 * ContainerChanges (docker diff): the request's parameters to
 * container_fs_start (container/container-fs.c), its results to HTTP. The
 * path's stat travels as dockerd sends it, base64 JSON in the
 * X-Docker-Container-Path-Stat header.
 */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-fs.h"
#include "container.h"
#include "daemon.h"
#include "http-stream.h"
#include "log.h"

struct fs_call {
	struct http_conn *conn;
	enum container_fs_op op;
	struct stream *out; /* GET, EXPORT */
	struct container_fs *fs;
};

static void call_free(struct fs_call *k)
{
	http_conn_on_close(k->conn, NULL, NULL);
	stream_unref(k->out);
	http_conn_unref(k->conn);
	free(k);
}

static char *stat_header(json_t *st)
{
	_cleanup_free_ char *js = json_dumps(st, JSON_COMPACT);
	size_t n = strlen(js);
	_cleanup_free_ char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)js, (int)n);
	return xasprintf("X-Docker-Container-Path-Stat: %s\r\n", b64);
}

static void on_stat(json_t *stat, void *ud)
{
	struct fs_call *k = ud;
	_cleanup_free_ char *hdr = stat_header(stat);
	api_stream_set_headers(k->out, hdr);
}

static void on_done(const struct arca_error *err, json_t *result, void *ud)
{
	struct fs_call *k = ud;
	k->fs = NULL;
	bool begun = k->out && api_stream_begun(k->out);
	if (k->out) {
		k->out = stream_unref(k->out); /* lets go of the connection's callbacks */
	}
	http_conn_on_close(k->conn, NULL, NULL);
	if (err) {
		if (!begun)
			http_reply_error(k->conn, err);
	} else if (k->op == CONTAINER_FS_STAT) {
		_cleanup_free_ char *hdr = stat_header(result);
		http_reply_headers(k->conn, 200, "application/json", hdr, NULL, 0);
	} else if (k->op == CONTAINER_FS_PUT) {
		http_reply_empty(k->conn, 200);
	} else if (k->op == CONTAINER_FS_CHANGES) {
		http_reply_json(k->conn, 200, json_incref(result));
	}
	call_free(k);
}

static const struct container_fs_ops fs_ops = { .stat = on_stat, .done = on_done };

/* Without a stream, the connection says when the client goes. */
static void on_conn_closed(struct http_conn *conn, void *ud)
{
	struct fs_call *k = ud;
	(void)conn;
	container_fs_cancel(k->fs);
	call_free(k);
}

static void on_body_done(struct http_conn *c, int error, void *ud)
{
	(void)c;
	(void)ud;
	if (error < 0)
		log_debug_errno(error, "archive upload ended early: %m");
}

static void fs_begin(struct api_ctx *ctx, enum container_fs_op op)
{
	struct container *c = api_find_container(ctx);
	if (!c)
		return;
	_cleanup_free_ char *path = http_query_get(ctx->req, "path");
	struct container_fs_request req = {
		.op = op,
		.path = path,
		.copy_uid_gid = http_query_bool(ctx->req, "copyUIDGID", false),
		.body_fd = -EBADF,
	};
	if (op == CONTAINER_FS_PUT) {
		if (!path || !path[0]) {
			http_reply_errorf(ctx->conn, 400, "path is required");
			return;
		}
		int p[2];
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
			http_reply_errorf(ctx->conn, 500, "pipe: %s", strerror(errno));
			return;
		}
		req.body_fd = p[0];
		http_body_to_fd(ctx->conn, p[1], on_body_done, NULL);
	}
	struct fs_call *k = xnew0(struct fs_call, 1);
	k->conn = http_conn_ref(ctx->conn);
	k->op = op;
	if (op == CONTAINER_FS_GET || op == CONTAINER_FS_EXPORT) {
		k->out = api_stream_response(ctx->conn, 200, "application/x-tar");
		req.out = k->out;
	} else {
		http_conn_on_close(ctx->conn, on_conn_closed, k);
	}
	_cleanup_error_ struct arca_error *err = NULL;
	if (container_fs_start(c, &req, &fs_ops, k, &k->fs, &err) < 0) {
		stream_unref(k->out);
		k->out = NULL;
		http_conn_on_close(ctx->conn, NULL, NULL);
		api_reply_error(ctx, err);
		call_free(k);
	}
}

void api_container_archive_info(struct api_ctx *ctx)
{
	fs_begin(ctx, CONTAINER_FS_STAT);
}

void api_container_archive(struct api_ctx *ctx)
{
	fs_begin(ctx, CONTAINER_FS_GET);
}

void api_put_container_archive(struct api_ctx *ctx)
{
	fs_begin(ctx, CONTAINER_FS_PUT);
}

void api_container_export(struct api_ctx *ctx)
{
	fs_begin(ctx, CONTAINER_FS_EXPORT);
}

void api_container_changes(struct api_ctx *ctx)
{
	fs_begin(ctx, CONTAINER_FS_CHANGES);
}
