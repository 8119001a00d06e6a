/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The content-addressed blob store: <root>/blobs/sha256/<hex>.
 *
 * Blobs are verified while they stream in: a writer hashes every byte,
 * refuses more than the expected size, and on commit fsyncs, checks the
 * digest and size, renames into place and fsyncs the directory. A blob file
 * under blobs/ is therefore always complete and correct. Downloads of a
 * known digest keep a partial file in <root>/tmp/<hex>.partial so a killed
 * pull can resume (or restart cleanly) next time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

struct blobstore;
struct blob_writer;

int blobstore_open(const char *root, struct blobstore **ret, struct arca_error **err);
struct blobstore *blobstore_free(struct blobstore *bs);
const char *blobstore_tmp_dir(const struct blobstore *bs);

char *blobstore_path(const struct blobstore *bs, const char *digest);
bool blobstore_has(const struct blobstore *bs, const char *digest);
/* Opens a blob read-only (O_CLOEXEC). */
int blobstore_open_blob(const struct blobstore *bs, const char *digest, struct arca_error **err);
/* Reads a small blob whole, checking its digest on the way (max bytes at most). */
int blobstore_read(const struct blobstore *bs, const char *digest, size_t max, char **ret,
		   size_t *ret_len, struct arca_error **err);
int blobstore_put(struct blobstore *bs, const void *p, size_t n, char ret[DIGEST_STR_LEN],
		  struct arca_error **err);
int blobstore_remove(struct blobstore *bs, const char *digest);
/* Re-hashes a blob: 0 when it matches its name. */
int blobstore_verify(const struct blobstore *bs, const char *digest, struct arca_error **err);
/* Calls cb for every blob; stops on a negative return. */
int blobstore_foreach(const struct blobstore *bs, int (*cb)(const char *digest, void *userdata),
		      void *userdata);
/* Removes partial downloads and temporary files (nothing else may be running). */
int blobstore_clean_tmp(struct blobstore *bs);

/*
 * expect_digest NULL: content of unknown digest (import, load); no resume.
 * expect_size < 0: unknown size. With resume, an existing partial file is
 * re-hashed and kept; *ret_offset says how many bytes are already there.
 */
int blob_writer_open(struct blobstore *bs, const char *expect_digest, int64_t expect_size,
		     bool resume, struct blob_writer **ret, uint64_t *ret_offset,
		     struct arca_error **err);
int blob_writer_write(struct blob_writer *w, const void *p, size_t n, struct arca_error **err);
/* Drops what was written so far (the server ignored our range request). */
int blob_writer_restart(struct blob_writer *w, struct arca_error **err);
uint64_t blob_writer_size(const struct blob_writer *w);
/* Verifies and moves the blob into place, then frees w (also on failure). */
int blob_writer_commit(struct blob_writer *w, char ret[DIGEST_STR_LEN], struct arca_error **err);
/* Frees w; keep_partial leaves a resumable partial file behind. NULL-safe. */
struct blob_writer *blob_writer_abort(struct blob_writer *w, bool keep_partial);
