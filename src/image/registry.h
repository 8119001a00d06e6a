/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An OCI distribution (registry API v2) client on libcurl.
 *
 * Transport: HTTPS with the system CAs. Hosts that are loopback or listed
 * as insecure are tried over HTTPS without verification, then plain HTTP,
 * as Docker does. Authentication: anonymous or credentialed bearer tokens
 * (WWW-Authenticate: Bearer realm, service, scope), OAuth2 refresh with an
 * identity token, and HTTP basic. Everything the registry returns is
 * untrusted: bodies are bounded, manifests are checked against their digest,
 * blobs stream through the blob store's verifying writer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blobstore.h"
#include "error.h"
#include "reference.h"

struct registry;

struct registry_auth {
	const char *username;
	const char *password;
	const char *identity_token; /* OAuth2 refresh token (Docker's IdentityToken) */
	const char *registry_token; /* a bearer token to send as is */
};

struct registry_opts {
	struct registry_auth auth;
	char *const *insecure; /* "host:port" entries allowed over HTTP; NULL-terminated */
	bool push;	       /* ask for push as well as pull */
	unsigned max_parallel; /* concurrent blob downloads, default 3 */
	const char *mirror;    /* http(s)://host[:port]: ask it instead of ref's registry */
};

/*
 * Loopback registries may use plain HTTP, as with Docker: "localhost" and
 * 127.0.0.0/8 and ::1, with any port; a name that only starts like one
 * ("localhost.example.com", "127.0.0.1.nip.io") is not.
 */
bool registry_host_is_loopback(const char *host);
/* A token realm the registry may send us (and our credentials) to: HTTPS, or HTTP for an
 * insecure registry. */
bool registry_realm_allowed(const char *realm, bool insecure);
/* Same scheme, host and port: a registry's token goes to no other origin. */
bool registry_same_host(const char *url_a, const char *url_b);

int registry_open(const struct image_ref *ref, const struct registry_opts *opts,
		  struct registry **ret, struct arca_error **err);
struct registry *registry_free(struct registry *r);
static inline void registry_freep(struct registry **r)
{
	if (*r)
		*r = registry_free(*r);
}

/*
 * Fetches a manifest by tag or digest. ret_digest is the digest of the bytes
 * received; when reference is a digest, the bytes must hash to it.
 */
int registry_get_manifest(struct registry *r, const char *reference, char **ret_body,
			  size_t *ret_len, char **ret_media_type, char ret_digest[DIGEST_STR_LEN],
			  struct arca_error **err);

enum blob_state {
	BLOB_WAITING,
	BLOB_DOWNLOADING,
	BLOB_DONE,
	BLOB_EXISTS,
	BLOB_FAILED,
};

struct blob_job {
	const char *digest;
	int64_t size;
	/* filled in */
	enum blob_state state;
	uint64_t done;
	struct arca_error *error;
};

typedef void (*registry_progress_fn)(struct blob_job *jobs, size_t n, size_t changed,
				     void *userdata);

/*
 * Downloads the blobs not already in the store, max_parallel at a time,
 * resuming partial files. Each job ends DONE, EXISTS or FAILED (with its
 * error); returns the first failure.
 */
int registry_fetch_blobs(struct registry *r, struct blobstore *bs, struct blob_job *jobs, size_t n,
			 registry_progress_fn progress, void *userdata, struct arca_error **err);

int registry_blob_exists(struct registry *r, const char *digest, bool *ret,
			 struct arca_error **err);
/* Uploads a blob from the store (monolithic POST + PUT). */
int registry_push_blob(struct registry *r, struct blobstore *bs, const char *digest,
		       struct arca_error **err);
/* Checks credentials against a registry (docker login): 0, or an UNAUTHORIZED error. */
int registry_login(const char *server, const struct registry_auth *auth, char *const *insecure,
		   struct arca_error **err);
int registry_put_manifest(struct registry *r, const char *tag, const char *media_type,
			  const char *body, size_t len, struct arca_error **err);
