/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A build's context: the request body (a tar, plain or compressed) unpacked
 * into a directory of the build's, streamed to disk (never held in
 * memory), with the layer unpacker's safety (no entry lands outside it).
 * Then the Dockerfile is found in it, the Dockerfile and .dockerignore are
 * removed when .dockerignore names them (dockerd's only use of it), and
 * COPY/ADD sources are resolved, hashed for the cache and sent to the
 * build VM as a tar. Every path resolves inside the context (openat2
 * RESOLVE_IN_ROOT): a symlink in it never reaches the host's files.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct build_context;

/* Unpacks in_fd into dir (created); 500-kind "unexpected EOF" for a body that is no tar. */
int build_context_unpack(const char *dir, int in_fd, struct build_context **ret,
			 struct arca_error **err);
struct build_context *build_context_free(struct build_context *c);

/*
 * The Dockerfile: name (NULL or "": "Dockerfile", then "dockerfile") read
 * from the context. 500-kind "Cannot locate specified Dockerfile: NAME",
 * 400 for an empty one. *ret_name: the name found.
 */
int build_context_dockerfile(struct build_context *c, const char *name, char **ret_text,
			     size_t *ret_len, char **ret_name, struct arca_error **err);
/* Removes the Dockerfile and .dockerignore when .dockerignore matches them. */
int build_context_apply_ignore(struct build_context *c, const char *dockerfile,
			       struct arca_error **err);

struct build_source {
	char *path;   /* relative to the context, as matched ("" is the root) */
	char *name;   /* its base name: a file lands at dest/<name> in a directory */
	bool dir;     /* its contents are copied */
	bool other;   /* neither a directory nor a regular file: refused */
	bool archive; /* ADD: a tar (maybe compressed) to extract */
	char *url;    /* ADD: fetched by the host into file (then a plain file) */
	char *file;   /* the downloaded file, a host path */
};

/*
 * COPY/ADD sources: patterns (expanded words) matched in the context
 * (* ? [...] per component). Errors as dockerd's ("COPY failed: file not
 * found in build context or excluded by .dockerignore: stat x: file does not
 * exist", "no source files were specified", URL given to COPY).
 */
int build_context_sources(struct build_context *c, const char *cmd, char *const *patterns,
			  struct build_source **ret, size_t *ret_n, struct arca_error **err);
void build_sources_free(struct build_source *s, size_t n);
/* ADD: is this context file a tar archive (plain or compressed)? */
bool build_context_is_archive(struct build_context *c, const char *path);

/*
 * The cache key of the sources, as dockerd spells it: "file:<hex>",
 * "dir:<hex>" or "multi:<hex>", over names, modes, owners, link targets and
 * contents (not times).
 */
int build_context_hash(struct build_context *c, const struct build_source *s, size_t n, char **ret,
		       struct arca_error **err);

/*
 * The sources as a tar into out_fd, each under "s<i>/": a directory's
 * contents, a file as s<i>/<name>, an archive's entries (owners kept).
 * *ret_srcs: the copy helper's arguments ("r:s0/name", "k:s1", ...).
 */
int build_context_tar(struct build_context *c, const struct build_source *s, size_t n, int out_fd,
		      char ***ret_srcs, struct arca_error **err);
