/* SPDX-License-Identifier: Apache-2.0 */
/* src/image/blobstore.c: verify-while-writing, bounds, resume, and nothing half-written kept. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blobstore.h"
#include "tap.h"

static int count(const char *digest, void *ud)
{
	(void)digest;
	(*(int *)ud)++;
	return 0;
}

int main(void)
{
	char root[] = "/tmp/arca-blobs-XXXXXX";
	struct blobstore *bs = NULL;
	struct arca_error *err = NULL;
	char d[DIGEST_STR_LEN], want[DIGEST_STR_LEN];

	ok(mkdtemp(root) != NULL, "root");
	is_int(blobstore_open(root, &bs, &err), 0, "open");
	is_int(blobstore_put(bs, "hello", 5, d, &err), 0, "put");
	sha256_digest("hello", 5, want);
	is_str(d, want, "digest of the content");
	ok(blobstore_has(bs, d), "has");
	char *s = NULL;
	size_t len;
	is_int(blobstore_read(bs, d, 100, &s, &len, &err), 0, "read");
	ok(len == 5 && memcmp(s, "hello", 5) == 0, "content");
	free(s);
	is_int(blobstore_read(bs, d, 3, &s, &len, &err), -EFBIG, "read bound");
	err = arca_error_free(err);

	/* A writer with the wrong digest installs nothing. */
	struct blob_writer *w = NULL;
	char other[DIGEST_STR_LEN];
	sha256_digest("other", 5, other);
	is_int(blob_writer_open(bs, other, 5, false, &w, NULL, &err), 0, "writer");
	blob_writer_write(w, "wrong", 5, &err);
	ok(blob_writer_commit(w, d, &err) < 0 && strstr(err->msg, "digest mismatch"),
	   "digest mismatch refused");
	err = arca_error_free(err);
	ok(!blobstore_has(bs, other), "nothing installed");

	/* More than announced is refused as it streams. */
	is_int(blob_writer_open(bs, other, 3, false, &w, NULL, &err), 0, "writer");
	ok(blob_writer_write(w, "other", 5, &err) < 0 && strstr(err->msg, "larger"),
	   "oversize refused while streaming");
	err = arca_error_free(err);
	blob_writer_abort(w, false);

	/* Resume: a partial is re-hashed and continued. */
	uint64_t off = 99;
	is_int(blob_writer_open(bs, other, 5, true, &w, &off, &err), 0, "writer for resume");
	is_int(off, 0, "nothing yet");
	blob_writer_write(w, "oth", 3, &err);
	blob_writer_abort(w, true);
	is_int(blob_writer_open(bs, other, 5, true, &w, &off, &err), 0, "resume");
	is_int(off, 3, "three bytes kept");
	blob_writer_write(w, "er", 2, &err);
	is_int(blob_writer_commit(w, d, &err), 0, "resumed blob verifies");
	is_str(d, other, "digest");
	is_int(blobstore_verify(bs, other, &err), 0, "verify");

	/*
	 * Two transfers of one digest at once (a layer listed twice, a hostile
	 * registry): the second's bytes never end up under the first's verified name.
	 */
	char dup[DIGEST_STR_LEN];
	sha256_digest("twice", 5, dup);
	struct blob_writer *a = NULL, *b = NULL;
	is_int(blob_writer_open(bs, dup, 5, true, &a, NULL, &err), 0, "first transfer");
	is_int(blob_writer_open(bs, dup, 5, true, &b, NULL, &err), 0, "second transfer");
	blob_writer_write(a, "twice", 5, &err);
	blob_writer_write(b, "EVIL!", 5, &err);
	is_int(blob_writer_commit(a, d, &err), 0, "the good one commits");
	ok(blob_writer_commit(b, d, &err) < 0, "the bad one is refused");
	err = arca_error_free(err);
	is_int(blobstore_verify(bs, dup, &err), 0, "what is installed hashes to its name");

	/* Corruption on disk is found. */
	char *p = blobstore_path(bs, other);
	FILE *f = fopen(p, "w");
	fputs("OTHER", f);
	fclose(f);
	free(p);
	ok(blobstore_verify(bs, other, &err) < 0 && strstr(err->msg, "corrupt"),
	   "corruption found");
	err = arca_error_free(err);
	int n = 0;
	blobstore_foreach(bs, count, &n);
	is_int(n, 3, "foreach");
	is_int(blobstore_clean_tmp(bs), 0, "clean tmp");
	ok(blob_writer_abort(NULL, false) == NULL && blobstore_free(NULL) == NULL, "NULL-safe");
	blobstore_free(bs);
	char cmd[100];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	(void)!system(cmd);
	return tap_done();
}
