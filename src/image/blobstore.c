/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct blobstore owns the paths of one store; struct blob_writer owns one
 * temporary file and its running hash. Thread-safe for distinct digests:
 * two writers of the same digest race only on the final rename, which is
 * atomic and installs identical content.
 */
#include "blobstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "reference.h"

struct blobstore {
	char *root;
	char *blobs;
	char *tmp;
};

struct blob_writer {
	struct blobstore *bs;
	int fd;
	char *tmp_path;
	char *expect_digest;
	int64_t expect_size;
	uint64_t size;
	struct sha256 h;
	bool shared;  /* tmp_path is the digest's resumable .partial (locked while open) */
	uint64_t max; /* a blob of unknown size stops here (the disk's room) */
};

static int fsync_dir(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int blobstore_open(const char *root, struct blobstore **ret, struct arca_error **err)
{
	struct blobstore *bs = xnew0(struct blobstore, 1);
	bs->root = xstrdup(root);
	bs->blobs = xasprintf("%s/blobs/sha256", root);
	bs->tmp = xasprintf("%s/tmp", root);
	int r = mkdir_p(bs->blobs, 0700);
	if (r >= 0)
		r = mkdir_p(bs->tmp, 0700);
	if (r < 0) {
		arca_error_errno(err, r, "create blob store in `%s`", root);
		blobstore_free(bs);
		return r;
	}
	*ret = bs;
	return 0;
}

struct blobstore *blobstore_free(struct blobstore *bs)
{
	if (!bs)
		return NULL;
	free(bs->root);
	free(bs->blobs);
	free(bs->tmp);
	free(bs);
	return NULL;
}

const char *blobstore_tmp_dir(const struct blobstore *bs)
{
	return bs->tmp;
}

char *blobstore_path(const struct blobstore *bs, const char *digest)
{
	return xasprintf("%s/%s", bs->blobs, digest + 7);
}

bool blobstore_has(const struct blobstore *bs, const char *digest)
{
	if (!digest_is_valid(digest))
		return false;
	_cleanup_free_ char *p = blobstore_path(bs, digest);
	return access(p, F_OK) == 0;
}

int blobstore_open_blob(const struct blobstore *bs, const char *digest, struct arca_error **err)
{
	if (!digest_is_valid(digest))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid digest `%s`", digest);
	_cleanup_free_ char *p = blobstore_path(bs, digest);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
							"blob `%s` is missing", digest)
				       : arca_error_errno(err, errno, "open blob `%s`", digest);
	return fd;
}

int blobstore_read(const struct blobstore *bs, const char *digest, size_t max, char **ret,
		   size_t *ret_len, struct arca_error **err)
{
	_cleanup_close_ int fd = blobstore_open_blob(bs, digest, err);
	if (fd < 0)
		return fd;
	_cleanup_free_ char *s = NULL;
	size_t len = 0;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return arca_error_errno(err, errno, "stat blob `%s`", digest);
	if ((uint64_t)st.st_size > max)
		return arca_error_set(err, EFBIG, ARCA_ERR_INVALID,
				      "blob `%s` is %lld bytes, over the %zu allowed", digest,
				      (long long)st.st_size, max);
	s = xmalloc((size_t)st.st_size + 1);
	ssize_t n = loop_read(fd, s, (size_t)st.st_size);
	if (n != st.st_size)
		return arca_error_errno(err, n < 0 ? (int)-n : EIO, "read blob `%s`", digest);
	len = (size_t)n;
	s[len] = '\0';
	char got[DIGEST_STR_LEN];
	sha256_digest(s, len, got);
	if (strcmp(got, digest) != 0)
		return arca_error_set(err, EIO, ARCA_ERR_INTERNAL,
				      "blob `%s` is corrupt (content hashes to %s)", digest, got);
	*ret = TAKE_PTR(s);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int blobstore_put(struct blobstore *bs, const void *p, size_t n, char ret[DIGEST_STR_LEN],
		  struct arca_error **err)
{
	struct blob_writer *w = NULL;
	char digest[DIGEST_STR_LEN];
	sha256_digest(p, n, digest);
	if (blobstore_has(bs, digest)) {
		memcpy(ret, digest, DIGEST_STR_LEN);
		return 0;
	}
	int r = blob_writer_open(bs, digest, (int64_t)n, false, &w, NULL, err);
	if (r >= 0)
		r = blob_writer_write(w, p, n, err);
	if (r < 0) {
		blob_writer_abort(w, false);
		return r;
	}
	return blob_writer_commit(w, ret, err);
}

int blobstore_remove(struct blobstore *bs, const char *digest)
{
	if (!digest_is_valid(digest))
		return -EINVAL;
	_cleanup_free_ char *p = blobstore_path(bs, digest);
	if (unlink(p) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int blobstore_verify(const struct blobstore *bs, const char *digest, struct arca_error **err)
{
	_cleanup_close_ int fd = blobstore_open_blob(bs, digest, err);
	if (fd < 0)
		return fd;
	char got[DIGEST_STR_LEN];
	int r = sha256_fd(fd, got, NULL);
	if (r < 0)
		return arca_error_errno(err, r, "read blob `%s`", digest);
	if (strcmp(got, digest) != 0)
		return arca_error_set(err, EIO, ARCA_ERR_INTERNAL,
				      "blob `%s` is corrupt (content hashes to %s)", digest, got);
	return 0;
}

int blobstore_foreach(const struct blobstore *bs, int (*cb)(const char *digest, void *userdata),
		      void *userdata)
{
	DIR *d = opendir(bs->blobs);
	if (!d)
		return -errno;
	int r = 0;
	struct dirent *de;
	while (r >= 0 && (de = readdir(d))) {
		if (!is_full_hex_id(de->d_name))
			continue; /* not a blob */
		char digest[DIGEST_STR_LEN];
		snprintf(digest, sizeof(digest), "sha256:%.64s", de->d_name);
		r = cb(digest, userdata);
	}
	closedir(d);
	return r;
}

int blobstore_clean_tmp(struct blobstore *bs)
{
	return rm_rf(bs->tmp) < 0 ? -errno : mkdir_p(bs->tmp, 0700);
}

/*
 * The most a blob may take: the store's free space less a reserve; one of
 * unknown size (a commit's layer, a load's or an import's stream: a guest's
 * or a client's) also at most 64 GiB, so an endless stream never fills the
 * host's disk.
 */
#define BLOB_RESERVE (256ULL << 20)
#define BLOB_MAX     (64ULL << 30)

static uint64_t room_for(int fd, uint64_t cap)
{
	struct statvfs v;
	if (fstatvfs(fd, &v) < 0)
		return cap;
	uint64_t avail = (uint64_t)v.f_bavail * v.f_frsize;
	return MIN(avail > BLOB_RESERVE ? avail - BLOB_RESERVE : 0, cap);
}

int blob_writer_open(struct blobstore *bs, const char *expect_digest, int64_t expect_size,
		     bool resume, struct blob_writer **ret, uint64_t *ret_offset,
		     struct arca_error **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	uint64_t offset = 0;

	if (expect_digest && !digest_is_valid(expect_digest))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid digest `%s`",
				      expect_digest);
	bool shared = false;
	if (expect_digest) {
		/*
		 * The digest's .partial, resumable, is one writer's at a time (flock): a
		 * second transfer of the same digest (a manifest that lists a layer twice,
		 * two pulls) writes a file of its own, so no one's bytes end up under
		 * another's verified name.
		 */
		path = xasprintf("%s/%s.partial", bs->tmp, expect_digest + 7);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
			fd = safe_close(fd);
			free(path);
			path = NULL;
			resume = false;
		} else if (fd >= 0) {
			shared = true;
			if (!resume && ftruncate(fd, 0) < 0) {
				int e = errno;
				return arca_error_errno(err, e, "reset `%s`", path);
			}
		}
	}
	if (!path) {
		path = xasprintf("%s/ingest-XXXXXX", bs->tmp);
		fd = mkostemp(path, O_CLOEXEC);
	}
	if (fd < 0)
		return arca_error_errno(err, errno, "create `%s`", path);
	/* A size the store cannot hold is refused before a byte comes (a registry's 1 PiB). */
	struct stat st;
	uint64_t have = resume && fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (expect_size >= 0 && (uint64_t)expect_size > have + room_for(fd, UINT64_MAX)) {
		if (!shared)
			(void)unlink(path);
		return arca_error_set(
		    err, ENOSPC, ARCA_ERR_INVALID,
		    "blob %s announces %lld bytes, more than the store has room for",
		    expect_digest ? expect_digest : "", (long long)expect_size);
	}

	struct blob_writer *w = xnew0(struct blob_writer, 1);
	sha256_init(&w->h);
	if (resume && expect_digest) {
		/* Re-hash what an earlier, interrupted download left. */
		static __thread unsigned char buf[1 << 16];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			sha256_update(&w->h, buf, (size_t)n);
			offset += (uint64_t)n;
		}
		if (n < 0 || (expect_size >= 0 && offset > (uint64_t)expect_size)) {
			/* Unreadable or too long: start over. */
			if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
				sha256_done(&w->h);
				free(w);
				return arca_error_errno(err, errno, "reset `%s`", path);
			}
			sha256_done(&w->h);
			sha256_init(&w->h);
			offset = 0;
		}
	}
	w->bs = bs;
	w->fd = TAKE_FD(fd);
	w->tmp_path = TAKE_PTR(path);
	w->expect_digest = expect_digest ? xstrdup(expect_digest) : NULL;
	w->expect_size = expect_size;
	w->size = offset;
	w->shared = shared;
	w->max = expect_size < 0 ? room_for(w->fd, BLOB_MAX) : (uint64_t)expect_size;
	*ret = w;
	if (ret_offset)
		*ret_offset = offset;
	return 0;
}

int blob_writer_write(struct blob_writer *w, const void *p, size_t n, struct arca_error **err)
{
	if (w->expect_size < 0 && w->size + n > w->max)
		return arca_error_set(err, ENOSPC, ARCA_ERR_INVALID,
				      "the data is larger than the store has room for (%llu bytes)",
				      (unsigned long long)w->max);
	if (w->expect_size >= 0 && w->size + n > (uint64_t)w->expect_size)
		return arca_error_set(
		    err, EFBIG, ARCA_ERR_INVALID, "blob %s is larger than the %lld bytes announced",
		    w->expect_digest ? w->expect_digest : "", (long long)w->expect_size);
	int r = loop_write(w->fd, p, n);
	if (r < 0)
		return arca_error_errno(err, r, "write `%s`", w->tmp_path);
	sha256_update(&w->h, p, n);
	w->size += n;
	return 0;
}

int blob_writer_restart(struct blob_writer *w, struct arca_error **err)
{
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return arca_error_errno(err, errno, "reset `%s`", w->tmp_path);
	sha256_done(&w->h);
	sha256_init(&w->h);
	w->size = 0;
	return 0;
}

uint64_t blob_writer_size(const struct blob_writer *w)
{
	return w->size;
}

int blob_writer_commit(struct blob_writer *w, char ret[DIGEST_STR_LEN], struct arca_error **err)
{
	char got[DIGEST_STR_LEN];
	int r = 0;

	sha256_final(&w->h, got);
	if (w->expect_size >= 0 && w->size != (uint64_t)w->expect_size)
		r = arca_error_set(err, EIO, ARCA_ERR_INVALID,
				   "blob %s is %llu bytes, %lld were announced",
				   w->expect_digest ? w->expect_digest : got,
				   (unsigned long long)w->size, (long long)w->expect_size);
	else if (w->expect_digest && strcmp(got, w->expect_digest) != 0)
		r = arca_error_set(err, EIO, ARCA_ERR_INVALID,
				   "digest mismatch: expected %s, the content hashes to %s",
				   w->expect_digest, got);
	else if (fsync(w->fd) < 0)
		r = arca_error_errno(err, errno, "fsync `%s`", w->tmp_path);
	if (r < 0) {
		/* Bad content is never kept, not even as a partial. */
		(void)unlink(w->tmp_path);
		blob_writer_abort(w, false);
		return r;
	}
	_cleanup_free_ char *dest = blobstore_path(w->bs, got);
	if (rename(w->tmp_path, dest) < 0) {
		r = arca_error_errno(err, errno, "install blob %s", got);
		blob_writer_abort(w, false);
		return r;
	}
	(void)fsync_dir(w->bs->blobs);
	memcpy(ret, got, DIGEST_STR_LEN);
	w->fd = safe_close(w->fd);
	free(w->tmp_path);
	free(w->expect_digest);
	free(w);
	return 0;
}

struct blob_writer *blob_writer_abort(struct blob_writer *w, bool keep_partial)
{
	if (!w)
		return NULL;
	if (w->fd >= 0 && keep_partial && w->shared)
		(void)fsync(w->fd);
	else if (w->tmp_path)
		(void)unlink(w->tmp_path);
	safe_close(w->fd);
	sha256_done(&w->h);
	free(w->tmp_path);
	free(w->expect_digest);
	free(w);
	return NULL;
}
