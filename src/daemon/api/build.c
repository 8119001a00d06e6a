/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ImageBuild (POST /build, dockerd's classic builder protocol) and
 * BuildPrune. The request's parameters are checked here (their errors are
 * 400s before the body is read); the build itself runs on a worker thread
 * (build/builder.c) with the context flowing in through one pipe and
 * dockerd's JSON stream coming out through another (worker-stream.c). Errors before the first
 * output are the HTTP status; after it they end the stream as {"errorDetail": ...}, as with
 * dockerd.
 */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "build-net.h"
#include "builder.h"
#include "cleanup.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "fd-util.h"
#include "image.h"
#include "log.h"
#include "manifest.h"
#include "names.h"
#include "reference.h"
#include "strv.h"
#include "worker-stream.h"
#include "worker.h"

struct build {
	struct daemon *d;
	struct http_conn *conn;
	char id[ID_HEX_LEN + 1];
	char *dir;
	struct build_request req;
	struct build_env env;
	struct build_result res;
	struct arca_error *err;
	int result;
	int out_r, out_w, in_r;
	struct worker_stream *ws;
	char *network;	 /* networkmode: NULL when the steps have none */
	char **insecure; /* copies: a reload may replace the daemon's */
	char **mirrors;
	bool cancel; /* atomic: the client went */
	bool eof, done, body_pending;
};

static void build_free(struct build *x)
{
	x->ws = worker_stream_free(x->ws);
	safe_close(x->out_r);
	safe_close(x->out_w);
	safe_close(x->in_r);
	http_conn_unref(x->conn);
	build_request_done(&x->req);
	build_result_done(&x->res);
	arca_error_free(x->err);
	free(x->dir);
	free(x->network);
	strv_free(x->insecure);
	strv_free(x->mirrors);
	free(x);
}

/* --- worker side --- */

static int run(void *arg)
{
	struct build *x = arg;
	int r = build_run(&x->env, &x->req, &x->res, &x->err);
	/* The context, the stage disks: gone with the build. */
	(void)rm_rf(x->dir);
	/* The rest of the body is read (and dropped) before the answer: a client still
	 * sending when it comes may report its failed write instead. */
	char buf[65536];
	while (!__atomic_load_n(&x->cancel, __ATOMIC_RELAXED) &&
	       read(x->in_r, buf, sizeof(buf)) > 0)
		;
	x->result = r;
	x->out_w = safe_close(x->out_w); /* EOF for the loop, after the result is set */
	x->in_r = safe_close(x->in_r);
	return r;
}

/* A build VM on the build's network: the loop thread does it (network/build-net.c). */
static int net_attach(void *userdata, const char *vm_id, struct build_vm_net *ret,
		      struct arca_error **err)
{
	struct build *x = userdata;
	struct build_net_attach *a = xnew0(struct build_net_attach, 1);
	*a = (struct build_net_attach){ .d = x->d,
					.vm_id = vm_id,
					.network = x->network,
					.extra_hosts = x->req.extrahosts,
					.tap_fd = -EBADF };
	int r = workers_call(x->d->workers, build_net_attach, a);
	if (r < 0) {
		if (a->err)
			arca_error_set(err, a->err->code, a->err->kind, "%s", a->err->msg);
		else
			arca_error_errno(err, -r, "put the build on network %s", x->network);
		arca_error_free(a->err);
		free(a);
		return r;
	}
	*ret = (struct build_vm_net){ .tap_fd = a->tap_fd,
				      .vhost = a->vhost,
				      .reqs = a->reqs,
				      .n_reqs = a->n_reqs,
				      .hosts = a->hosts,
				      .resolv = a->resolv,
				      .handle = a };
	memcpy(ret->mac, a->mac, 6);
	return 0;
}

static void net_started(void *userdata, struct build_vm_net *net)
{
	struct build *x = userdata;
	(void)workers_call(x->d->workers, build_net_started, net->handle);
	net->tap_fd = -EBADF;
}

static void net_detach(void *userdata, struct build_vm_net *net)
{
	struct build *x = userdata;
	struct build_net_attach *a = net->handle;
	if (!a)
		return;
	/* A stopping daemon releases what is left itself (daemon_free). */
	(void)workers_call(x->d->workers, build_net_detach, a);
	for (size_t i = 0; i < a->n_reqs; i++)
		guest_request_done(&a->reqs[i]); /* those the VM never got */
	free(a->hosts);
	free(a->resolv);
	arca_error_free(a->err);
	free(a);
	net->handle = NULL;
}

static const struct build_net_ops net_ops = {
	.attach = net_attach,
	.started = net_started,
	.detach = net_detach,
};

/* --- loop side --- */

static void write_line(struct http_conn *c, json_t *msg)
{
	_cleanup_free_ char *s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!s)
		return;
	_cleanup_free_ char *line = xasprintf("%s\r\n", s);
	(void)http_stream_write(c, line, strlen(line));
}

static void maybe_finish(struct build *x)
{
	if (!x->eof || !x->done || x->body_pending)
		return;
	for (char **t = x->res.tagged; t && *t && x->res.image_id; t++) {
		_cleanup_free_ char *name = events_familiar(*t, true);
		events_emit(x->d->events, "image", "tag", x->res.image_id,
			    json_pack("{s:s}", "name", name));
	}
	bool started = worker_stream_started(x->ws);
	x->ws = worker_stream_free(x->ws); /* the connection is ours again */
	if (!http_conn_is_closed(x->conn)) {
		if (!started && x->result < 0) {
			http_reply_error(x->conn, x->err);
		} else {
			if (!started)
				http_stream_begin(x->conn, 200, "application/json", NULL);
			if (x->result < 0) {
				const char *m = x->err ? x->err->msg : "the build failed";
				json_t *detail = json_pack("{s:s}", "message", m);
				if (x->res.exit_code)
					json_object_set_new(detail, "code",
							    json_integer(x->res.exit_code));
				write_line(x->conn, json_pack("{s:o, s:s}", "errorDetail", detail,
							      "error", m));
			}
			http_stream_end(x->conn);
		}
	}
	build_free(x);
}

static void on_eof(void *userdata)
{
	struct build *x = userdata;
	x->eof = true;
	maybe_finish(x);
}

static void on_closed(void *userdata)
{
	struct build *x = userdata;
	/* dockerd cancels a build whose client went: it stops at its next wait. */
	__atomic_store_n(&x->cancel, true, __ATOMIC_RELAXED);
}

static const struct worker_stream_ops stream_ops = { .eof = on_eof, .closed = on_closed };

static void on_done(void *arg, int result)
{
	struct build *x = arg;
	(void)result;
	x->done = true;
	maybe_finish(x);
}

static void on_body_done(struct http_conn *c, int error, void *userdata)
{
	struct build *x = userdata;
	(void)c;
	if (error < 0)
		log_debug_errno(error, "build context ended early: %m");
	x->body_pending = false;
	maybe_finish(x);
}

/* --- parameters --- */

/* dockerd's BoolValue: false only for "", "0", "no", "false", "none". */
static bool bool_value(struct api_ctx *ctx, const char *name)
{
	_cleanup_free_ char *v = http_query_get(ctx->req, name);
	if (!v)
		return false;
	for (char *c = v; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return !(!v[0] || !strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") ||
		 !strcmp(v, "none"));
}

static bool int_value(struct api_ctx *ctx, const char *name, long long *ret)
{
	_cleanup_free_ char *v = http_query_get(ctx->req, name);
	*ret = 0;
	if (!v || !v[0])
		return true;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || *end)
		return false;
	*ret = n;
	return true;
}

/* A JSON parameter of the given type; *ret NULL when absent. false on bad JSON. */
static bool json_param(struct api_ctx *ctx, const char *name, json_type type, json_t **ret,
		       char **ret_msg)
{
	_cleanup_free_ char *v = http_query_get(ctx->req, name);
	*ret = NULL;
	if (!v || !v[0])
		return true;
	json_error_t jerr;
	json_t *j = json_loads(v, JSON_DECODE_ANY, &jerr);
	if (!j || (json_typeof(j) != type && !json_is_null(j))) {
		*ret_msg = xstrdup(j ? "the value has the wrong type" : jerr.text);
		json_decref(j);
		return false;
	}
	if (json_is_null(j)) {
		json_decref(j);
		return true;
	}
	*ret = j;
	return true;
}

/* The request's parameters; false with *status and *msg when one is refused. */
static bool parse_params(struct api_ctx *ctx, struct build_request *req, char **network,
			 int *status, char **msg)
{
	_cleanup_free_ char *version = http_query_get(ctx->req, "version");
	_cleanup_free_ char *remote = http_query_get(ctx->req, "remote");
	_cleanup_free_ char *isolation = http_query_get(ctx->req, "isolation");
	_cleanup_free_ char *netmode = http_query_get(ctx->req, "networkmode");
	_cleanup_free_ char *platform = http_query_get(ctx->req, "platform");
	_cleanup_strv_free_ char **secopt = http_query_get_all(ctx->req, "securityopt");
	*status = 400;
	if (version && version[0] && strcmp(version, "1") != 0) {
		*msg = strcmp(version, "2") == 0
			   ? xstrdup("buildkit is not enabled on daemon: Arca builds with the "
				     "classic builder (DOCKER_BUILDKIT=0, docs/build.md)")
			   : xasprintf("invalid version \"%s\"", version);
		return false;
	}
	if (bool_value(ctx, "squash")) {
		*msg = xstrdup("squash is only supported with experimental mode");
		return false;
	}
	if (remote && remote[0]) {
		*status = 501;
		*msg =
		    xasprintf("remote build contexts are not supported by Arca (remote=%s): send "
			      "the context as the request body",
			      remote);
		return false;
	}
	if (isolation && isolation[0] && strcmp(isolation, "default") != 0) {
		*msg = xasprintf("unsupported isolation: \"%s\"", isolation);
		return false;
	}
	if (secopt[0]) {
		*msg = xstrdup("security options are not supported on linux");
		return false;
	}
	/* The CLI sends "default" without --network: as "none", a build has no network. */
	if (netmode && netmode[0] && strcmp(netmode, "default") != 0 &&
	    strcmp(netmode, "none") != 0) {
		_cleanup_error_ struct arca_error *err = NULL;
		if (build_net_check(ctx->d, netmode, &err) < 0) {
			*status = err->kind == ARCA_ERR_NOT_FOUND ? 404 : 400;
			*msg = xstrdup(err->msg);
			return false;
		}
		*network = xstrdup(netmode);
	}
	if (platform && platform[0]) {
		struct platform host;
		platform_host(&host);
		_cleanup_free_ char *want = xasprintf("linux/%s", host.arch);
		bool ok = strcasecmp(platform, want) == 0 || strcasecmp(platform, "linux") == 0 ||
			  (strncasecmp(platform, want, strlen(want)) == 0 &&
			   platform[strlen(want)] == '/');
		platform_done(&host);
		if (!ok) {
			*msg = xasprintf("\"%s\": this daemon builds only for %s", platform, want);
			return false;
		}
		req->platform = xstrdup(platform);
	}
	char *jmsg = NULL;
	if (!json_param(ctx, "buildargs", JSON_OBJECT, &req->buildargs, &jmsg)) {
		*msg = xasprintf("error reading build args: %s", jmsg);
		free(jmsg);
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(req->buildargs, key, v)
	{
		if (!json_is_string(v) && !json_is_null(v)) {
			*msg = xasprintf("error reading build args: %s is not a string", key);
			return false;
		}
	}
	if (!json_param(ctx, "labels", JSON_OBJECT, &req->labels, &jmsg)) {
		*msg = xasprintf("error reading labels: %s", jmsg);
		free(jmsg);
		return false;
	}
	json_object_foreach(req->labels, key, v)
	{
		if (!json_is_string(v)) {
			*msg = xasprintf("error reading labels: %s is not a string", key);
			return false;
		}
	}
	json_t *cachefrom = NULL;
	if (!json_param(ctx, "cachefrom", JSON_ARRAY, &cachefrom, &jmsg)) {
		*msg = xasprintf("error reading cache-from: %s", jmsg);
		free(jmsg);
		return false;
	}
	if (cachefrom) {
		req->cachefrom = strv_copy(NULL);
		size_t i;
		json_array_foreach(cachefrom, i, v)
		{
			if (json_is_string(v) && json_string_value(v)[0])
				req->cachefrom = strv_append(req->cachefrom, json_string_value(v));
		}
		json_decref(cachefrom);
	}
	long long n;
	if (!int_value(ctx, "shmsize", &n) || n < 0) {
		*msg = xstrdup("invalid shmsize");
		return false;
	}
	/* dockerd reads the resource limits leniently: garbage is 0. */
	long long memory = 0;
	(void)int_value(ctx, "memory", &memory);
	if (memory > 0) {
		req->memory_mb = (unsigned)MIN(memory >> 20, 65536LL);
		if (req->memory_mb < 64) {
			*msg =
			    xstrdup("Minimum memory limit allowed is 6MB; a build VM needs 64MB");
			return false;
		}
	}
	/* What a build VM does not apply is said in the stream, never dropped quietly. */
	req->warnings = strv_copy(NULL);
	static const char *const ints[] = { "memswap", "cpushares", "cpuperiod", "cpuquota",
					    "shmsize" };
	for (size_t i = 0; i < ELEMENTSOF(ints); i++) {
		long long val = 0;
		(void)int_value(ctx, ints[i], &val);
		if (val != 0 && !(strcmp(ints[i], "memswap") == 0 && val == -1))
			req->warnings = strv_append_take(
			    req->warnings,
			    xasprintf("%s is not applied by Arca's builder: each build "
				      "stage is a VM sized by memory",
				      ints[i]));
	}
	static const char *const strs[] = { "cpusetcpus", "cpusetmems", "cgroupparent", "ulimits" };
	for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
		_cleanup_free_ char *val = http_query_get(ctx->req, strs[i]);
		if (val && val[0] && strcmp(val, "null") != 0 && strcmp(val, "[]") != 0)
			req->warnings = strv_append_take(
			    req->warnings,
			    xasprintf("%s is not applied by Arca's builder: each build "
				      "stage is a VM sized by memory",
				      strs[i]));
	}
	req->extrahosts = http_query_get_all(ctx->req, "extrahosts");
	for (char **h = req->extrahosts; *h; h++)
		if (!strchr(*h, ':')) {
			*msg = xasprintf("invalid extra host: %s", *h);
			return false;
		}
	_cleanup_strv_free_ char **tags = http_query_get_all(ctx->req, "t");
	req->tags = strv_copy(NULL);
	for (char **t = tags; *t; t++) {
		if (!(*t)[0])
			continue;
		struct image_ref ref = { 0 };
		_cleanup_error_ struct arca_error *err = NULL;
		if (image_ref_parse(*t, false, &ref, &err) < 0) {
			*msg = xstrdup(err->msg);
			return false;
		}
		if (ref.digest) {
			image_ref_done(&ref);
			*msg = xstrdup("build tag cannot contain a digest");
			return false;
		}
		_cleanup_free_ char *name = image_ref_name(&ref);
		_cleanup_free_ char *full = xasprintf("%s:%s", name, ref.tag);
		image_ref_done(&ref);
		bool dup = false;
		for (char **have = req->tags; *have; have++)
			dup |= strcmp(*have, full) == 0;
		if (!dup)
			req->tags = strv_append(req->tags, full);
	}
	_cleanup_free_ char *dockerfile = http_query_get(ctx->req, "dockerfile");
	req->dockerfile = dockerfile && dockerfile[0] ? xstrdup(dockerfile) : NULL;
	_cleanup_free_ char *target = http_query_get(ctx->req, "target");
	req->target = target && target[0] ? xstrdup(target) : NULL;
	req->nocache = bool_value(ctx, "nocache");
	req->pull = bool_value(ctx, "pull");
	req->quiet = bool_value(ctx, "q");
	req->aux = ctx->api_minor >= 30;
	/* X-Registry-Config: {registry: auth}; bad input is none, as with dockerd. */
	req->registry_auth = api_base64_json(http_request_header(ctx->req, "X-Registry-Config"));
	return true;
}

/*
 * A refusal before the body was read. The answer goes out once the client
 * has sent all of it: a client still writing when the answer comes (the
 * docker CLI) may report its failed write instead of the answer.
 */
struct refusal {
	struct http_conn *conn;
	int status;
	char *msg;
	int drain_fd; /* the pipe's read end: what the client sends goes nowhere */
	struct event_source *src;
};

static int on_refused_data(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	char buf[65536];
	(void)s;
	(void)revents;
	(void)userdata;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return 0;
}

static void on_refused_body(struct http_conn *c, int error, void *userdata)
{
	struct refusal *f = userdata;
	(void)error;
	if (!http_conn_is_closed(c))
		http_reply_errorf(c, f->status, "%s", f->msg);
	f->src = event_source_free(f->src);
	safe_close(f->drain_fd);
	http_conn_unref(f->conn);
	free(f->msg);
	free(f);
}

static void refuse(struct api_ctx *ctx, int status, char *msg)
{
	int p[2];
	struct refusal *f = xnew0(struct refusal, 1);
	f->status = status;
	f->msg = msg;
	f->drain_fd = -EBADF;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (f->drain_fd = p[0],
	     event_add_io(ctx->d->event, &f->src, p[0], EPOLLIN, on_refused_data, f)) < 0) {
		if (f->drain_fd >= 0)
			safe_close(p[1]);
		http_reply_errorf(ctx->conn, status, "%s", msg); /* the server drops the rest */
		safe_close(f->drain_fd);
		free(msg);
		free(f);
		return;
	}
	f->conn = http_conn_ref(ctx->conn);
	http_body_to_fd(ctx->conn, p[1], on_refused_body, f);
}

void api_image_build(struct api_ctx *ctx)
{
	struct build *x = xnew0(struct build, 1);
	x->d = ctx->d;
	x->out_r = x->out_w = x->in_r = -EBADF;
	int status = 400;
	char *msg = NULL;
	if (!parse_params(ctx, &x->req, &x->network, &status, &msg)) {
		build_free(x);
		refuse(ctx, status, msg);
		return;
	}
	id_generate(x->id);
	x->dir = xasprintf("%s/build/%.32s", ctx->d->cfg.root, x->id);
	int out[2], in[2];
	if (pipe2(out, O_CLOEXEC) < 0) {
		build_free(x);
		refuse(ctx, 500, xasprintf("cannot start the build: %s", strerror(errno)));
		return;
	}
	x->out_r = out[0];
	x->out_w = out[1];
	if (pipe2(in, O_CLOEXEC) < 0) {
		build_free(x);
		refuse(ctx, 500, xasprintf("cannot start the build: %s", strerror(errno)));
		return;
	}
	x->in_r = in[0];
	(void)fd_set_nonblock(x->out_w, true);
	x->conn = http_conn_ref(ctx->conn);
	x->insecure = strv_copy(ctx->d->cfg.insecure_registries);
	x->mirrors = strv_copy(ctx->d->cfg.registry_mirrors);
	x->env = (struct build_env){
		.id = x->id,
		.root = ctx->d->cfg.root,
		.dir = x->dir,
		.run_dir = ctx->d->cfg.run_dir,
		.kernel = ctx->d->guest.kernel,
		.initramfs = ctx->d->guest.initramfs,
		.default_memory_mb = ctx->d->cfg.default_memory_mb,
		.use_vsock = ctx->d->use_vsock,
		.accel = &ctx->d->accel,
		.insecure = x->insecure,
		.mirrors = x->mirrors,
		.max_downloads = ctx->d->cfg.max_downloads,
		.in_fd = x->in_r,
		.out_fd = x->out_w,
		.cancel = &x->cancel,
		.stopping = &ctx->d->stopping,
		.net = x->network ? &net_ops : NULL,
		.net_userdata = x,
	};
	int r = worker_stream_new(ctx->d->event, ctx->conn, x->out_r, "application/json",
				  &stream_ops, x, &x->ws);
	x->out_r = -EBADF; /* the stream's now, or closed */
	if (r < 0 || workers_submit(ctx->d->workers, run, on_done, x) < 0) {
		safe_close(in[1]);
		build_free(x);
		refuse(ctx, 500, xstrdup("cannot start the build"));
		return;
	}
	x->body_pending = true;
	http_body_to_fd(ctx->conn, in[1], on_body_done, x);
}

void api_build_prune(struct api_ctx *ctx)
{
	_cleanup_error_ struct arca_error *err = NULL;
	json_t *deleted = NULL;
	int64_t reclaimed = 0;
	struct image_users users = { .find = api_image_user, .userdata = ctx->d };
	if (image_cache_prune(ctx->d->images, &users, &deleted, &reclaimed, &err) < 0) {
		api_reply_error(ctx, err);
		return;
	}
	json_t *reply = json_pack("{s:o, s:I}", "CachesDeleted", deleted, "SpaceReclaimed",
				  (json_int_t)reclaimed);
	_cleanup_free_ char *space = xasprintf("%lld", (long long)reclaimed);
	events_emit(ctx->d->events, "builder", "prune", "", json_pack("{s:s}", "reclaimed", space));
	_cleanup_free_ char *body = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	http_reply(ctx->conn, 200, "application/json", body, strlen(body));
}
