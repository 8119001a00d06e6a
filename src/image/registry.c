/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct registry owns one repository's connection state: the base URL
 * (scheme decided once by a /v2/ ping), the current authorization (a bearer
 * token or basic credentials) and copies of the caller's credentials.
 * Requests are libcurl easy transfers; blob downloads run on a curl multi
 * handle. Not thread-safe: one registry per thread.
 */
#include "registry.h"
#include "registry-parse.h"

#include <ctype.h>
#include <curl/curl.h>
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "cleanup.h"
#include "manifest.h"
#include "strv.h"

#define SMALL_BODY_MAX (1u << 20)
#define USER_AGENT     "arca/" ARCA_VERSION
#define MAX_REDIRS     10L

enum auth_kind {
	AUTH_NONE,
	AUTH_BEARER,
	AUTH_BASIC,
};

struct registry {
	char *host;	 /* host[:port] to contact */
	char *path;	 /* repository path */
	char *base;	 /* scheme://host */
	bool insecure;	 /* may skip TLS verification / use HTTP */
	bool plain_http; /* a mirror given as http://: HTTP only, TLS never tried */
	bool push;
	unsigned max_parallel;
	char *username, *password, *identity_token;
	enum auth_kind auth;
	char *token; /* bearer token in use */
	char *realm, *service;
};

/* One HTTP exchange. */
struct req {
	const char *method;
	char *url;
	const char *accept;
	const char *content_type;
	const void *body; /* PUT/POST body from memory */
	size_t body_len;
	int upload_fd; /* or from a file */
	uint64_t upload_size;
	uint64_t upload_off;
	struct buf out; /* response body (bounded by out_max) */
	size_t out_max;
	bool foreign; /* the URL is on another host than the registry: no credentials */
	/* response */
	long status;
	char *location;
	char *resp_type;
	char *resp_digest;
	char *www_auth;
	bool too_big;
};

static void req_done(struct req *q)
{
	free(q->url);
	buf_done(&q->out);
	free(q->location);
	free(q->resp_type);
	free(q->resp_digest);
	free(q->www_auth);
}

bool registry_host_is_loopback(const char *host)
{
	/* "name[:port]" or "[v6][:port]": the whole name, never a prefix of it. */
	char name[256];
	if (host[0] == '[') {
		const char *end = strchr(host, ']');
		size_t n = end ? (size_t)(end - host - 1) : 0;
		if (!end || n >= sizeof(name) || (end[1] && end[1] != ':'))
			return false;
		memcpy(name, host + 1, n);
		name[n] = '\0';
		struct in6_addr a6;
		return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	size_t n = strcspn(host, ":");
	if (n >= sizeof(name))
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	if (strcasecmp(name, "localhost") == 0)
		return true;
	struct in_addr a4;
	return inet_pton(AF_INET, name, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
	struct req *q = userdata;
	size_t len = size * n;
	char *v;
	/* A new response (after a redirect) replaces what the last one said. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		free(q->location), q->location = NULL;
		free(q->resp_type), q->resp_type = NULL;
		free(q->resp_digest), q->resp_digest = NULL;
		free(q->www_auth), q->www_auth = NULL;
	}
	if ((v = registry_header_value(p, len, "Location")))
		free(q->location), q->location = v;
	else if ((v = registry_header_value(p, len, "Content-Type")))
		free(q->resp_type), q->resp_type = v;
	else if ((v = registry_header_value(p, len, "Docker-Content-Digest")))
		free(q->resp_digest), q->resp_digest = v;
	else if ((v = registry_header_value(p, len, "WWW-Authenticate")))
		free(q->www_auth), q->www_auth = v;
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
	struct req *q = userdata;
	size_t len = size * n;
	if (buf_len(&q->out) + len > q->out_max) {
		q->too_big = true;
		return 0; /* aborts the transfer */
	}
	buf_append(&q->out, p, len);
	return len;
}

static size_t on_upload(char *p, size_t size, size_t n, void *userdata)
{
	struct req *q = userdata;
	size_t want = size * n;
	if (q->upload_off >= q->upload_size)
		return 0;
	want = MIN(want, (size_t)(q->upload_size - q->upload_off));
	ssize_t k = pread(q->upload_fd, p, want, (off_t)q->upload_off);
	if (k <= 0)
		return CURL_READFUNC_ABORT;
	q->upload_off += (uint64_t)k;
	return (size_t)k;
}

static struct curl_slist *auth_headers(struct registry *r, const struct req *q,
				       struct curl_slist *h)
{
	if (q->foreign)
		return h; /* another host: no token of this registry's */
	if (r->auth == AUTH_BEARER && r->token) {
		_cleanup_free_ char *line = xasprintf("Authorization: Bearer %s", r->token);
		h = curl_slist_append(h, line);
	}
	return h;
}

static CURL *easy_new(struct registry *r, bool foreign)
{
	CURL *c = curl_easy_init();
	if (!c)
		abort();
	curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, MAX_REDIRS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* A registry on HTTPS never redirects us (and its tokens) down to HTTP. */
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
			 r->insecure || r->plain_http ? "http,https" : "https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* Abort a transfer stalled below 1 byte/s for 60 s. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	if (r->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (r->auth == AUTH_BASIC && r->username && !foreign) {
		curl_easy_setopt(c, CURLOPT_USERNAME, r->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, r->password ? r->password : "");
	}
	return c;
}

static int perform(struct registry *r, struct req *q, struct arca_error **err)
{
	CURL *c = easy_new(r, q->foreign);
	struct curl_slist *h = auth_headers(r, q, NULL);
	_cleanup_free_ char *accept = q->accept ? xasprintf("Accept: %s", q->accept) : NULL;
	_cleanup_free_ char *ctype =
	    q->content_type ? xasprintf("Content-Type: %s", q->content_type) : NULL;
	if (accept)
		h = curl_slist_append(h, accept);
	if (ctype)
		h = curl_slist_append(h, ctype);
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	if (!q->out_max)
		q->out_max = SMALL_BODY_MAX;
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0 && q->upload_fd >= 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(c, CURLOPT_READDATA, q);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->upload_size);
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	}
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (q->too_big)
		return arca_error_set(err, EFBIG, ARCA_ERR_INVALID,
				      "%s %s: the response is larger than %zu bytes", q->method,
				      q->url, q->out_max);
	if (cc != CURLE_OK)
		return arca_error_set(err, EIO, ARCA_ERR_UNAVAILABLE, "%s %s: %s", q->method,
				      q->url, curl_easy_strerror(cc));
	return 0;
}

static char *error_text(const struct req *q)
{
	return registry_error_text((const char *)buf_peek(&q->out), buf_len(&q->out), q->status);
}

static char *url_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *copy = xstrdup(e ? e : "");
	curl_free(e);
	return copy;
}

static int fetch_token(struct registry *r, const char *scope, struct arca_error **err)
{
	_cleanup_free_ char *svc = url_escape(r->service ? r->service : "");
	_cleanup_free_ char *sc = url_escape(scope);
	struct req q = { .upload_fd = -1 };
	enum auth_kind saved = r->auth;
	int rv;

	/* The token endpoint sees our basic credentials, if any, never a stale token. */
	r->auth = r->username && !r->identity_token ? AUTH_BASIC : AUTH_NONE;
	if (r->identity_token) {
		_cleanup_free_ char *rt = url_escape(r->identity_token);
		_cleanup_free_ char *body = xasprintf(
		    "grant_type=refresh_token&refresh_token=%s&service=%s&scope=%s&client_id=arca",
		    rt, svc, sc);
		q.method = "POST";
		q.url = xstrdup(r->realm);
		q.content_type = "application/x-www-form-urlencoded";
		q.body = body;
		q.body_len = strlen(body);
		rv = perform(r, &q, err);
	} else {
		q.method = "GET";
		q.url = xasprintf("%s%sservice=%s%s%s", r->realm, strchr(r->realm, '?') ? "&" : "?",
				  svc, scope[0] ? "&scope=" : "", sc);
		rv = perform(r, &q, err);
	}
	r->auth = saved;
	if (rv < 0)
		goto out;
	if (q.status == 401 || q.status == 403) {
		_cleanup_free_ char *why = error_text(&q);
		rv = arca_error_set(
		    err, EACCES, ARCA_ERR_UNAUTHORIZED, "%s%s",
		    strncmp(why, "unauthorized", 12) == 0 ? "" : "unauthorized: ", why);
		goto out;
	}
	if (q.status != 200) {
		_cleanup_free_ char *why = error_text(&q);
		rv = arca_error_set(err, EIO, ARCA_ERR_UNAVAILABLE, "token server %s: %s", r->realm,
				    why);
		goto out;
	}
	char *tok = registry_token_of((const char *)buf_peek(&q.out), buf_len(&q.out));
	if (!tok) {
		rv = arca_error_set(err, EPROTO, ARCA_ERR_UNAVAILABLE,
				    "token server %s: no usable token in its answer", r->realm);
		goto out;
	}
	free(r->token);
	r->token = tok;
	r->auth = AUTH_BEARER;
	rv = 0;
out:
	req_done(&q);
	return rv;
}

/* Sets up authorization from a 401's challenge. */
static int authenticate(struct registry *r, const char *challenge, struct arca_error **err)
{
	if (!challenge)
		return arca_error_set(
		    err, EACCES, ARCA_ERR_UNAUTHORIZED,
		    "unauthorized: the registry gave no authentication challenge");
	if (strncasecmp(challenge, "Basic", 5) == 0) {
		if (!r->username)
			return arca_error_set(err, EACCES, ARCA_ERR_UNAUTHORIZED,
					      "unauthorized: authentication required");
		r->auth = AUTH_BASIC;
		return 0;
	}
	if (strncasecmp(challenge, "Bearer", 6) != 0)
		return arca_error_set(err, EACCES, ARCA_ERR_UNAUTHORIZED,
				      "unsupported authentication scheme `%.40s`", challenge);
	_cleanup_free_ char *realm = registry_challenge_param(challenge, "realm");
	if (!realm || (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0))
		return arca_error_set(err, EPROTO, ARCA_ERR_UNAVAILABLE,
				      "the registry's bearer challenge has no usable realm");
	if (!registry_realm_allowed(realm, r->insecure || r->plain_http))
		return arca_error_set(err, EPROTO, ARCA_ERR_UNAVAILABLE,
				      "the registry sends its credentials to %s over plain HTTP: "
				      "refused (only a registry allowed HTTP may do that)",
				      realm);
	free(r->realm);
	r->realm = TAKE_PTR(realm);
	free(r->service);
	r->service = registry_challenge_param(challenge, "service");
	_cleanup_free_ char *scope = registry_challenge_param(challenge, "scope");
	if (!scope)
		scope = r->path[0]
			    ? xasprintf("repository:%s:%s", r->path, r->push ? "pull,push" : "pull")
			    : xstrdup(""); /* a login: no repository */
	return fetch_token(r, scope, err);
}

/* perform() with one re-authentication on 401. */
static int request(struct registry *r, struct req *q, struct arca_error **err)
{
	for (int attempt = 0;; attempt++) {
		int rv = perform(r, q, err);
		if (rv < 0 || q->status != 401 || attempt > 0)
			return rv;
		_cleanup_free_ char *ch = q->www_auth ? xstrdup(q->www_auth) : NULL;
		rv = authenticate(r, ch, err);
		if (rv < 0)
			return rv;
		buf_done(&q->out);
		q->upload_off = 0;
	}
}

/* Decides HTTPS or HTTP and learns the auth challenge, like Docker's /v2/ ping. */
static int ping(struct registry *r, struct arca_error **err)
{
	const char *schemes[] = { "https", "http" };
	size_t last = r->insecure || r->plain_http ? 2u : 1u;
	for (size_t i = r->plain_http ? 1u : 0u; i < last; i++) {
		struct req q = { .method = "GET", .upload_fd = -1 };
		_cleanup_error_ struct arca_error *e = NULL;
		free(r->base);
		r->base = xasprintf("%s://%s", schemes[i], r->host);
		q.url = xasprintf("%s/v2/", r->base);
		int rv = perform(r, &q, &e);
		if (rv < 0) {
			req_done(&q);
			if (i + 1 < last)
				continue;
			return arca_error_set(err, e->code, e->kind, "%s", e->msg);
		}
		rv = 0;
		if (q.status == 401)
			rv = authenticate(r, q.www_auth, err);
		else if (q.status != 200 && q.status != 404)
			rv = arca_error_set(err, EIO, ARCA_ERR_UNAVAILABLE,
					    "%s does not answer as a registry (HTTP %ld)", r->base,
					    q.status);
		req_done(&q);
		return rv;
	}
	return -EIO;
}

int registry_open(const struct image_ref *ref, const struct registry_opts *opts,
		  struct registry **ret, struct arca_error **err)
{
	static bool curl_ready;
	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
	struct registry *r = xnew0(struct registry, 1);
	const char *mirror = opts ? opts->mirror : NULL;
	if (mirror) {
		/* http(s)://host[:port][/] (checked by its owner): the host serves the path. */
		r->plain_http = strncmp(mirror, "http://", 7) == 0;
		const char *h = mirror + (r->plain_http				? 7
					  : strncmp(mirror, "https://", 8) == 0 ? 8
										: 0);
		r->host = xstrndup(h, strcspn(h, "/"));
	} else {
		r->host = xstrdup(image_ref_registry_host(ref));
	}
	r->path = xstrdup(ref->path);
	r->push = opts && opts->push;
	r->max_parallel = opts && opts->max_parallel ? opts->max_parallel : 3;
	r->insecure = registry_host_is_loopback(r->host);
	for (size_t i = 0; opts && opts->insecure && opts->insecure[i]; i++)
		if (strcmp(opts->insecure[i], r->host) == 0 ||
		    strcmp(opts->insecure[i], ref->domain) == 0)
			r->insecure = true;
	if (opts) {
		const struct registry_auth *a = &opts->auth;
		r->username = a->username ? xstrdup(a->username) : NULL;
		r->password = a->password ? xstrdup(a->password) : NULL;
		r->identity_token =
		    a->identity_token && a->identity_token[0] ? xstrdup(a->identity_token) : NULL;
		if (a->registry_token && a->registry_token[0]) {
			r->token = xstrdup(a->registry_token);
			r->auth = AUTH_BEARER;
		}
	}
	/* With a token given, skip the ping: HTTPS unless the host may use HTTP. */
	if (r->auth == AUTH_BEARER)
		r->base =
		    xasprintf("%s://%s", r->insecure || r->plain_http ? "http" : "https", r->host);
	int rv = r->auth == AUTH_BEARER ? 0 : ping(r, err);
	if (rv < 0) {
		arca_error_wrap(err, "registry `%s`", r->host);
		registry_free(r);
		return rv;
	}
	*ret = r;
	return 0;
}

struct registry *registry_free(struct registry *r)
{
	if (!r)
		return NULL;
	free(r->host);
	free(r->path);
	free(r->base);
	free(r->username);
	free(r->password);
	free(r->identity_token);
	free(r->token);
	free(r->realm);
	free(r->service);
	free(r);
	return NULL;
}

static int status_error(const struct registry *r, const struct req *q, const char *what,
			struct arca_error **err)
{
	_cleanup_free_ char *why = error_text(q);
	enum arca_error_kind kind = q->status == 404			   ? ARCA_ERR_NOT_FOUND
				    : q->status == 401 || q->status == 403 ? ARCA_ERR_UNAUTHORIZED
									   : ARCA_ERR_UNAVAILABLE;
	int code = q->status == 404 ? ENOENT : q->status == 401 || q->status == 403 ? EACCES : EIO;
	return arca_error_set(err, code, kind, "%s %s/%s: %s", what, r->host, r->path, why);
}

int registry_get_manifest(struct registry *r, const char *reference, char **ret_body,
			  size_t *ret_len, char **ret_media_type, char ret_digest[DIGEST_STR_LEN],
			  struct arca_error **err)
{
	struct req q = { .method = "GET",
			 .accept = MANIFEST_ACCEPT,
			 .upload_fd = -1,
			 .out_max = MANIFEST_MAX_BYTES };
	q.url = xasprintf("%s/v2/%s/manifests/%s", r->base, r->path, reference);
	int rv = request(r, &q, err);
	if (rv < 0)
		goto out;
	if (q.status == 404) {
		_cleanup_free_ char *why = error_text(&q);
		rv = arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
				    "manifest for %s/%s:%s not found: %s", r->host, r->path,
				    reference, why);
		goto out;
	}
	if (q.status != 200) {
		rv = status_error(r, &q, "manifest", err);
		goto out;
	}
	char digest[DIGEST_STR_LEN];
	sha256_digest(buf_peek(&q.out), buf_len(&q.out), digest);
	if (strncmp(reference, "sha256:", 7) == 0 && strcmp(reference, digest) != 0) {
		rv = arca_error_set(err, EIO, ARCA_ERR_INVALID,
				    "manifest verification failed for digest %s: got %s", reference,
				    digest);
		goto out;
	}
	size_t len = buf_len(&q.out);
	char *body = xmalloc(len + 1);
	memcpy(body, buf_peek(&q.out), len);
	body[len] = '\0';
	*ret_body = body;
	*ret_len = len;
	*ret_media_type = q.resp_type ? xstrdup(q.resp_type) : NULL;
	memcpy(ret_digest, digest, DIGEST_STR_LEN);
	rv = 0;
out:
	req_done(&q);
	return rv;
}

/* --- blob downloads --- */

struct xfer {
	struct registry *r;
	struct blob_job *job;
	struct blob_writer *w;
	CURL *c;
	struct curl_slist *h;
	uint64_t offset;     /* resumed from */
	bool checked_status; /* first body byte seen */
	bool error_body;     /* the response is an error, not the blob */
	struct buf errbuf;
	struct arca_error *werr;
};

static size_t on_blob(char *p, size_t size, size_t n, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * n;
	if (!x->checked_status) {
		long st = 0;
		curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &st);
		x->checked_status = true;
		if (st == 200 && x->offset > 0) {
			/* The server ignored our range: start the file over. */
			if (blob_writer_restart(x->w, &x->werr) < 0)
				return 0;
			x->job->done = 0;
		} else if (st != 200 && st != 206) {
			x->error_body = true;
		}
	}
	if (x->error_body) {
		if (buf_len(&x->errbuf) + len <= 65536)
			buf_append(&x->errbuf, p, len);
		return len;
	}
	if (blob_writer_write(x->w, p, len, &x->werr) < 0)
		return 0;
	x->job->done += len;
	return len;
}

static int xfer_start(struct registry *r, struct blobstore *bs, struct xfer *x, CURLM *m,
		      struct arca_error **err)
{
	uint64_t offset = 0;
	int rv = blob_writer_open(bs, x->job->digest, x->job->size, true, &x->w, &offset, err);
	if (rv < 0)
		return rv;
	x->offset = offset;
	x->job->done = offset;
	struct req same_host = { .upload_fd = -1 };
	x->c = easy_new(r, false);
	x->h = auth_headers(r, &same_host, NULL);
	_cleanup_free_ char *url = xasprintf("%s/v2/%s/blobs/%s", r->base, r->path, x->job->digest);
	curl_easy_setopt(x->c, CURLOPT_URL, url);
	curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, x->h);
	curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, on_blob);
	curl_easy_setopt(x->c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->c, CURLOPT_PRIVATE, x);
	if (offset > 0)
		curl_easy_setopt(x->c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)offset);
	x->job->state = BLOB_DOWNLOADING;
	curl_multi_add_handle(m, x->c);
	return 0;
}

/* Finishes one transfer; the job ends DONE or FAILED. */
static void xfer_finish(struct registry *r, struct xfer *x, CURLcode cc, CURLM *m)
{
	long st = 0;
	char digest[DIGEST_STR_LEN];
	curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &st);
	curl_multi_remove_handle(m, x->c);
	curl_easy_cleanup(x->c);
	curl_slist_free_all(x->h);
	x->c = NULL;
	x->h = NULL;

	struct blob_job *j = x->job;
	if (x->werr) {
		j->error = TAKE_PTR(x->werr);
		x->w = blob_writer_abort(x->w, false);
	} else if (x->error_body || (st != 200 && st != 206 && !(st == 416 && x->offset > 0))) {
		struct req fake = { .status = st, .out = x->errbuf };
		_cleanup_free_ char *why = error_text(&fake);
		arca_error_set(&j->error, st == 404 ? ENOENT : EIO,
			       st == 401 || st == 403 ? ARCA_ERR_UNAUTHORIZED
						      : ARCA_ERR_UNAVAILABLE,
			       "blob %s: %s", j->digest, why);
		x->w = blob_writer_abort(x->w, false);
	} else if (cc != CURLE_OK) {
		/* Keep what arrived: the next pull resumes from it. */
		arca_error_set(&j->error, EIO, ARCA_ERR_UNAVAILABLE, "blob %s: %s", j->digest,
			       curl_easy_strerror(cc));
		x->w = blob_writer_abort(x->w, true);
	} else if (blob_writer_commit(TAKE_PTR(x->w), digest, &j->error) < 0) {
		/* commit removed the bad file */
	}
	buf_done(&x->errbuf);
	j->state = j->error ? BLOB_FAILED : BLOB_DONE;
	(void)r;
}

int registry_fetch_blobs(struct registry *r, struct blobstore *bs, struct blob_job *jobs, size_t n,
			 registry_progress_fn progress, void *userdata, struct arca_error **err)
{
	CURLM *m = curl_multi_init();
	struct xfer *xs = xnew0(struct xfer, n ? n : 1);
	size_t next = 0, running = 0;
	int rv = 0;

	for (size_t i = 0; i < n; i++) {
		jobs[i].state = blobstore_has(bs, jobs[i].digest) ? BLOB_EXISTS : BLOB_WAITING;
		xs[i].r = r;
		xs[i].job = &jobs[i];
		if (progress)
			progress(jobs, n, i, userdata);
	}
	for (;;) {
		while (running < r->max_parallel && next < n) {
			size_t i = next++;
			if (jobs[i].state != BLOB_WAITING)
				continue;
			if (xfer_start(r, bs, &xs[i], m, &jobs[i].error) < 0) {
				jobs[i].state = BLOB_FAILED;
				continue;
			}
			running++;
		}
		if (running == 0)
			break;
		int still = 0;
		curl_multi_perform(m, &still);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct xfer *x = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			xfer_finish(r, x, msg->data.result, m);
			running--;
			if (progress)
				progress(jobs, n, (size_t)(x->job - jobs), userdata);
		}
		if (progress)
			for (size_t i = 0; i < n; i++)
				if (jobs[i].state == BLOB_DOWNLOADING)
					progress(jobs, n, i, userdata);
		curl_multi_poll(m, NULL, 0, 200, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].state == BLOB_FAILED && rv == 0) {
			rv = arca_error_ret(jobs[i].error);
			if (err && !*err && jobs[i].error) {
				arca_error_set(err, jobs[i].error->code, jobs[i].error->kind, "%s",
					       jobs[i].error->msg);
			}
		}
	}
	free(xs);
	curl_multi_cleanup(m);
	return rv;
}

int registry_blob_exists(struct registry *r, const char *digest, bool *ret, struct arca_error **err)
{
	struct req q = { .method = "HEAD", .upload_fd = -1 };
	q.url = xasprintf("%s/v2/%s/blobs/%s", r->base, r->path, digest);
	int rv = request(r, &q, err);
	if (rv >= 0) {
		if (q.status == 200)
			*ret = true;
		else if (q.status == 404)
			*ret = false;
		else
			rv = status_error(r, &q, "check blob on", err);
	}
	req_done(&q);
	return rv;
}

int registry_push_blob(struct registry *r, struct blobstore *bs, const char *digest,
		       struct arca_error **err)
{
	bool exists = false;
	int rv = registry_blob_exists(r, digest, &exists, err);
	if (rv < 0 || exists)
		return rv;

	struct req start = { .method = "POST", .upload_fd = -1 };
	start.url = xasprintf("%s/v2/%s/blobs/uploads/", r->base, r->path);
	rv = request(r, &start, err);
	if (rv >= 0 && (start.status != 202 || !start.location))
		rv = status_error(r, &start, "start upload to", err);
	if (rv < 0) {
		req_done(&start);
		return rv;
	}
	_cleanup_close_ int fd = blobstore_open_blob(bs, digest, err);
	if (fd < 0) {
		req_done(&start);
		return fd;
	}
	struct req put = { .method = "PUT",
			   .upload_fd = fd,
			   .content_type = "application/octet-stream" };
	put.upload_size = (uint64_t)lseek(fd, 0, SEEK_END);
	put.url = registry_upload_url(r->base, start.location, digest);
	/* An upload sent to another host gets none of this registry's credentials. */
	put.foreign = !registry_same_host(r->base, put.url);
	req_done(&start);
	rv = request(r, &put, err);
	if (rv >= 0 && put.status != 201)
		rv = status_error(r, &put, "upload blob to", err);
	req_done(&put);
	return rv;
}

int registry_put_manifest(struct registry *r, const char *tag, const char *media_type,
			  const char *body, size_t len, struct arca_error **err)
{
	struct req q = { .method = "PUT",
			 .upload_fd = -1,
			 .content_type = media_type,
			 .body = body,
			 .body_len = len };
	q.url = xasprintf("%s/v2/%s/manifests/%s", r->base, r->path, tag);
	int rv = request(r, &q, err);
	if (rv >= 0 && q.status != 201 && q.status != 200)
		rv = status_error(r, &q, "push manifest to", err);
	req_done(&q);
	return rv;
}

int registry_login(const char *server, const struct registry_auth *auth, char *const *insecure,
		   struct arca_error **err)
{
	/* "https://index.docker.io/v1/", "registry:5000", "http://host/" -> a host. */
	const char *h = server && server[0] ? server : "docker.io";
	if (strncmp(h, "https://", 8) == 0)
		h += 8;
	else if (strncmp(h, "http://", 7) == 0)
		h += 7;
	_cleanup_free_ char *host = xstrndup(h, strcspn(h, "/"));
	if (strcmp(host, "index.docker.io") == 0 || strcmp(host, "docker.io") == 0) {
		free(host);
		host = xstrdup("registry-1.docker.io");
	}
	struct image_ref ref = { .domain = host, .path = (char *)"" };
	struct registry_opts opts = { .auth = *auth, .insecure = insecure };
	struct registry *r = NULL;
	int rv = registry_open(&ref, &opts, &r, err);
	if (rv < 0)
		return rv;
	if (r->auth == AUTH_BASIC || r->auth == AUTH_NONE) {
		/* Basic auth is only checked by an authenticated request. */
		struct req q = { .method = "GET", .upload_fd = -1 };
		q.url = xasprintf("%s/v2/", r->base);
		rv = perform(r, &q, err);
		if (rv >= 0 && q.status == 401)
			rv = arca_error_set(err, EACCES, ARCA_ERR_UNAUTHORIZED,
					    "unauthorized: incorrect username or password");
		req_done(&q);
	}
	registry_free(r);
	return rv;
}

bool registry_realm_allowed(const char *realm, bool insecure)
{
	return strncmp(realm, "https://", 8) == 0 ||
	       (insecure && strncmp(realm, "http://", 7) == 0);
}

/* "scheme://host[:port]" of a URL, lower-cased, into buf. */
static void url_origin(const char *url, char *buf, size_t len)
{
	const char *p = strstr(url, "://");
	size_t n = p ? (size_t)(p - url) + 3 + strcspn(p + 3, "/?#") : strlen(url);
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)url[i]);
	buf[n] = '\0';
}

bool registry_same_host(const char *a, const char *b)
{
	char x[512], y[512];
	url_origin(a, x, sizeof(x));
	url_origin(b, y, sizeof(y));
	return strcmp(x, y) == 0;
}
