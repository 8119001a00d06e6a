/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DistributionInspect (GET /distribution/{name}/json): the registry is asked
 * on a worker thread (it blocks); the reply is dockerd's descriptor and
 * platforms, or the registry's error (401, 404, ...).
 */
#include "api.h"

#include <stdlib.h>

#include "alloc.h"
#include "daemon.h"
#include "http-server.h"
#include "image.h"
#include "strv.h"
#include "worker.h"

struct dist {
	struct http_conn *conn;
	char *root, *name;
	char **insecure; /* a copy: a reload may replace the daemon's */
	struct api_registry_auth auth;
	json_t *result;
	struct arca_error *err;
};

static int run(void *arg)
{
	struct dist *q = arg;
	struct image_store *s = NULL;
	struct image_remote_opts o = {
		.auth = api_registry_auth_view(&q->auth),
		.insecure = q->insecure,
	};
	int r = image_store_open(q->root, &s, &q->err);
	if (r >= 0)
		r = image_distribution_inspect(s, q->name, &o, &q->result, &q->err);
	image_store_close(s);
	return r;
}

static void dist_free(struct dist *q)
{
	http_conn_unref(q->conn);
	api_registry_auth_done(&q->auth);
	arca_error_free(q->err);
	free(q->root);
	free(q->name);
	strv_free(q->insecure);
	free(q);
}

static void on_done(void *arg, int result)
{
	struct dist *q = arg;
	if (result < 0)
		http_reply_error(q->conn, q->err);
	else
		http_reply_json(q->conn, 200, q->result);
	dist_free(q);
}

void api_distribution_inspect(struct api_ctx *ctx)
{
	struct dist *q = xnew0(struct dist, 1);
	q->root = xstrdup(ctx->d->cfg.root);
	q->name = xstrdup(ctx->param);
	q->insecure = strv_copy(ctx->d->cfg.insecure_registries);
	api_registry_auth_parse(http_request_header(ctx->req, "X-Registry-Auth"), &q->auth);
	q->conn = http_conn_ref(ctx->conn);
	if (workers_submit(ctx->d->workers, run, on_done, q) < 0) {
		http_reply_errorf(ctx->conn, 500, "cannot start the registry request");
		dist_free(q);
	}
}
