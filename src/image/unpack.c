/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer application. One struct unpack_ctx per layer owns: the two
 * libarchive readers (outer: decompression to a raw stream; inner: tar on
 * top of our hashing read callback), the set of paths this layer created
 * (for opaque whiteouts), and the directory mtimes to set at the end.
 *
 * All file system access goes through open_dir(), which resolves inside the
 * root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV),
 * followed by *at() calls on a single, cleaned name with no-follow flags.
 */
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "hashmap.h"

#define PATH_LIMIT 4096
#define WHITEOUT   ".wh."
#define OPAQUE	   ".wh..wh..opq"

struct dir_time {
	char *path;
	struct timespec ts[2];
};

struct unpack_ctx {
	int root;
	struct archive *outer;
	struct archive *inner;
	struct sha256 hash;
	uint64_t tar_size;
	uint64_t tar_limit;
	uint64_t bytes;
	uint64_t entries;
	const struct unpack_limits *limits;
	uint8_t buf[1 << 16];
	struct hashmap *created;
	struct dir_time *dir_times;
	size_t n_dir_times;
	bool outer_eof;
	bool padded; /* lenient_end: the missing end was supplied */
	int read_error;
	unpack_progress_fn progress;
	void *userdata;
	int layer_fd;
};

int unpack_clean_path(const char *name, char *out, size_t out_len)
{
	size_t n = 0;
	const char *p = name;

	if (strlen(name) >= PATH_LIMIT)
		return -ENAMETOOLONG;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t len = (size_t)(e - p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (n == 0)
				return -EXDEV; /* above the root */
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--; /* the slash */
		} else {
			if (n + (n ? 1 : 0) + len >= out_len)
				return -ENAMETOOLONG;
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = e;
	}
	out[n] = '\0';
	return 0;
}

static void split(const char *path, char *dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		dir[0] = '\0';
		*base = path;
		return;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*base = slash + 1;
}

/*
 * An O_PATH fd of the directory `path` inside the root, creating the missing
 * ones if asked, shallowest first, in a loop: a name of thousands of
 * components costs no stack.
 */
static int open_dir(struct unpack_ctx *c, const char *path, bool create)
{
	if (path[0] == '\0') {
		int rfd = fcntl(c->root, F_DUPFD_CLOEXEC, 3);
		return rfd < 0 ? -errno : rfd;
	}
	int fd = openat_in_root(c->root, path, O_PATH | O_DIRECTORY);
	if (fd >= 0 || fd != -ENOENT || !create)
		return fd;
	char prefix[PATH_LIMIT];
	size_t len = strlen(path);
	if (len >= sizeof(prefix))
		return -ENAMETOOLONG;
	int pfd = fcntl(c->root, F_DUPFD_CLOEXEC, 3);
	if (pfd < 0)
		return -errno;
	for (size_t start = 0; start < len;) {
		size_t end = start;
		while (end < len && path[end] != '/')
			end++;
		memcpy(prefix, path, end);
		prefix[end] = '\0';
		const char *base = prefix + start;
		int next = openat_in_root(c->root, prefix, O_PATH | O_DIRECTORY);
		if (next == -ENOENT) {
			if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST) {
				next = -errno;
			} else {
				(void)hashmap_put(c->created, prefix, NULL);
				/* Once: a dangling symlink in the way stays an error, not a loop.
				 */
				next = openat_in_root(c->root, prefix, O_PATH | O_DIRECTORY);
			}
		}
		close(pfd);
		if (next < 0)
			return next;
		pfd = next;
		start = end + 1;
	}
	return pfd;
}

static int fail(struct arca_error **err, int r, const char *what, const char *name)
{
	return arca_error_set(err, r < 0 ? -r : EIO, ARCA_ERR_INVALID, "%s `%s`: %s", what, name,
			      strerror(r < 0 ? -r : EIO));
}

/* Removes what is at pfd/base unless it is a directory and keep_dir. 1: a dir was kept. */
static int remove_existing(int pfd, const char *base, bool keep_dir)
{
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir)
			return 1;
		return rm_rf_at(pfd, base);
	}
	return unlinkat(pfd, base, 0) < 0 ? -errno : 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[0].tv_sec =
	    archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
	ts[0].tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : 0;
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
}

static int apply_xattrs(int fd, struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		/* Only what images legitimately carry; the rest is skipped. */
		if (strcmp(name, "security.capability") != 0 && strncmp(name, "user.", 5) != 0)
			continue;
		if (fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP)
			return -errno;
	}
	return 0;
}

/* Ownership, mode, xattrs and (for non-directories) times, on an open fd. */
static int apply_meta_fd(int fd, struct archive_entry *e, bool times)
{
	if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
		return -errno;
	/* After chown, which clears set-id bits. */
	if (fchmod(fd, archive_entry_mode(e) & 07777) < 0)
		return -errno;
	int r = apply_xattrs(fd, e);
	if (r < 0)
		return r;
	if (times) {
		struct timespec ts[2];
		entry_times(e, ts);
		if (futimens(fd, ts) < 0)
			return -errno;
	}
	return 0;
}

static int write_file(struct unpack_ctx *c, int pfd, const char *base, struct archive_entry *e)
{
	_cleanup_close_ int fd =
	    openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (;;) {
		const void *block;
		size_t size;
		la_int64_t offset;
		int k = archive_read_data_block(c->inner, &block, &size, &offset);
		if (k == ARCHIVE_EOF)
			break;
		if (k != ARCHIVE_OK)
			return c->read_error ? c->read_error : -EIO;
		if (offset < 0 || (uint64_t)offset + size > (uint64_t)archive_entry_size(e))
			return -EFBIG;
		const char *p = block;
		while (size > 0) {
			ssize_t n = pwrite(fd, p, size, offset);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			p += n;
			offset += n;
			size -= (size_t)n;
		}
	}
	/* Sparse files end in a hole: make the length right. */
	if (ftruncate(fd, archive_entry_size(e)) < 0)
		return -errno;
	return apply_meta_fd(fd, e, true);
}

static int make_dir(struct unpack_ctx *c, int pfd, const char *base, const char *path,
		    struct archive_entry *e)
{
	int r = remove_existing(pfd, base, true);
	if (r < 0)
		return r;
	if (r == 0 && mkdirat(pfd, base, 0700) < 0)
		return -errno;
	_cleanup_close_ int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = apply_meta_fd(fd, e, false);
	if (r < 0)
		return r;
	c->dir_times = xreallocarray(c->dir_times, c->n_dir_times + 1, sizeof(*c->dir_times));
	struct dir_time *dt = &c->dir_times[c->n_dir_times++];
	dt->path = xstrdup(path);
	entry_times(e, dt->ts);
	return 0;
}

static int make_link(struct unpack_ctx *c, int pfd, const char *base, const char *target,
		     struct arca_error **err)
{
	char clean[PATH_LIMIT], tdir[PATH_LIMIT];
	const char *tbase;
	int r = unpack_clean_path(target, clean, sizeof(clean));
	if (r < 0 || clean[0] == '\0')
		return fail(err, r < 0 ? r : -EINVAL, "hardlink target", target);
	split(clean, tdir, &tbase);
	_cleanup_close_ int tfd = open_dir(c, tdir, false);
	if (tfd < 0)
		return fail(err, tfd, "hardlink target", target);
	struct stat st;
	if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(err, -errno, "hardlink target", target);
	if (S_ISDIR(st.st_mode))
		return fail(err, -EPERM, "hardlink to a directory", target);
	r = remove_existing(pfd, base, false);
	if (r >= 0 && linkat(tfd, tbase, pfd, base, 0) < 0)
		r = -errno;
	return r < 0 ? fail(err, r, "hardlink", target) : 0;
}

static int make_node(int pfd, const char *base, struct archive_entry *e)
{
	mode_t type = archive_entry_filetype(e);
	int r = remove_existing(pfd, base, false);
	if (r < 0)
		return r;
	dev_t dev =
	    type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
	if (mknodat(pfd, base, type | (archive_entry_mode(e) & 07777), dev) < 0)
		return -errno;
	if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
		     AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(pfd, base, archive_entry_mode(e) & 07777, 0) < 0)
		return -errno;
	struct timespec ts[2];
	entry_times(e, ts);
	return utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int make_symlink(int pfd, const char *base, struct archive_entry *e)
{
	const char *target = archive_entry_symlink(e);
	if (!target || strlen(target) >= PATH_LIMIT)
		return -EINVAL;
	int r = remove_existing(pfd, base, false);
	if (r < 0)
		return r;
	/* The target is stored verbatim; it is only ever resolved inside the root. */
	if (symlinkat(target, pfd, base) < 0)
		return -errno;
	if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	struct timespec ts[2];
	entry_times(e, ts);
	return utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* Opaque directory: removes everything below dir that this layer did not create. */
static int remove_lower(struct unpack_ctx *c, int dfd_path, const char *dir, int depth)
{
	if (depth > 256)
		return -ELOOP;
	_cleanup_close_ int dfd = openat(dfd_path, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return -errno;
	int r = 0;
	struct dirent *de;
	while (r >= 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char child[PATH_LIMIT];
		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", dir, dir[0] ? "/" : "",
				     de->d_name) >= sizeof(child)) {
			r = -ENAMETOOLONG;
			break;
		}
		if (!hashmap_contains(c->created, child)) {
			r = rm_rf_at(dirfd(d), de->d_name);
			continue;
		}
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(
			    dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? -errno : remove_lower(c, sub, child, depth + 1);
		}
	}
	closedir(d);
	return r;
}

static int apply_whiteout(struct unpack_ctx *c, const char *dir, const char *base, const char *raw,
			  struct arca_error **err)
{
	if (strcmp(base, OPAQUE) == 0) {
		_cleanup_close_ int dfd = open_dir(c, dir, true);
		if (dfd < 0)
			return fail(err, dfd, "opaque whiteout", raw);
		int r = remove_lower(c, dfd, dir, 0);
		return r < 0 ? fail(err, r, "opaque whiteout", raw) : 0;
	}
	const char *victim = base + strlen(WHITEOUT);
	if (victim[0] == '\0' || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0 ||
	    strncmp(victim, WHITEOUT, strlen(WHITEOUT)) == 0)
		return fail(err, -EINVAL, "invalid whiteout", raw);
	_cleanup_close_ int pfd = open_dir(c, dir, false);
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return 0; /* nothing below to hide */
	if (pfd < 0)
		return fail(err, pfd, "whiteout", raw);
	int r = remove_existing(pfd, victim, false);
	return r < 0 ? fail(err, r, "whiteout", raw) : 0;
}

static int apply_entry(struct unpack_ctx *c, struct archive_entry *e, struct arca_error **err)
{
	const char *raw = archive_entry_pathname(e);
	char path[PATH_LIMIT], dir[PATH_LIMIT];
	const char *base;
	int r;

	if (!raw)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "layer entry without a name");
	r = unpack_clean_path(raw, path, sizeof(path));
	if (r == -EXDEV)
		return arca_error_set(err, EXDEV, ARCA_ERR_INVALID,
				      "layer entry `%s` points outside the root", raw);
	if (r < 0)
		return fail(err, r, "layer entry", raw);

	mode_t type = archive_entry_filetype(e);
	const char *hardlink = archive_entry_hardlink(e);
	if (path[0] == '\0') {
		/* The root itself: only a directory entry, which sets its metadata. */
		if (type != AE_IFDIR || hardlink)
			return 0;
		r = apply_meta_fd(c->root, e, false);
		return r < 0 ? fail(err, r, "layer root", raw) : 0;
	}
	split(path, dir, &base);
	if (strncmp(base, WHITEOUT, strlen(WHITEOUT)) == 0)
		return apply_whiteout(c, dir, base, raw, err);

	if (type == AE_IFREG && !hardlink) {
		uint64_t size = (uint64_t)MAX(archive_entry_size(e), 0);
		if (size > c->limits->max_bytes - c->bytes)
			return arca_error_set(err, EFBIG, ARCA_ERR_INVALID,
					      "layer is too large: `%s` would exceed %llu bytes",
					      raw, (unsigned long long)c->limits->max_bytes);
		c->bytes += size;
	}

	_cleanup_close_ int pfd = open_dir(c, dir, true);
	if (pfd < 0)
		return fail(err, pfd, "parent directory of", raw);
	if (hardlink)
		r = make_link(c, pfd, base, hardlink, err);
	else if (type == AE_IFREG) {
		r = remove_existing(pfd, base, false);
		if (r >= 0)
			r = write_file(c, pfd, base, e);
	} else if (type == AE_IFDIR)
		r = make_dir(c, pfd, base, path, e);
	else if (type == AE_IFLNK)
		r = make_symlink(pfd, base, e);
	else if ((type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO) && c->limits->no_nodes)
		return 0; /* a tree the host reads (a build context): no device of the host's */
	else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO)
		r = make_node(pfd, base, e);
	else
		return 0; /* sockets and unknown types are skipped, as Docker does */
	if (r < 0)
		return (err && *err) ? r : fail(err, r, "unpack", raw);
	(void)hashmap_put(c->created, path, NULL);
	return 0;
}

static la_ssize_t inner_read(struct archive *a, void *userdata, const void **buf)
{
	struct unpack_ctx *c = userdata;
	(void)a;
	if (c->outer_eof)
		return 0;
	la_ssize_t n = archive_read_data(c->outer, c->buf, sizeof(c->buf));
	if (n < 0) {
		c->read_error = -EIO;
		archive_set_error(c->inner, EIO, "decompression: %s",
				  archive_error_string(c->outer));
		return -1;
	}
	if (n == 0 && c->limits->lenient_end && !c->padded) {
		/* A tar cut after its last entry's data: pad it and end it, as Go's reader
		 * takes it (the docker CLI sends its -f context so). */
		c->padded = true;
		size_t pad = (size_t)((512 - c->tar_size % 512) % 512) + 1024;
		memset(c->buf, 0, pad);
		*buf = c->buf;
		return (la_ssize_t)pad;
	}
	if (n == 0) {
		c->outer_eof = true;
		return 0;
	}
	c->tar_size += (uint64_t)n;
	if (c->tar_size > c->tar_limit) {
		c->read_error = -EFBIG;
		archive_set_error(c->inner, EFBIG, "uncompressed layer exceeds %llu bytes",
				  (unsigned long long)c->tar_limit);
		return -1;
	}
	sha256_update(&c->hash, c->buf, (size_t)n);
	if (c->progress) {
		off_t pos = lseek(c->layer_fd, 0, SEEK_CUR);
		c->progress(pos > 0 ? (uint64_t)pos : 0, c->userdata);
	}
	*buf = c->buf;
	return n;
}

static int open_readers(struct unpack_ctx *c, int layer_fd, struct arca_error **err)
{
	c->outer = archive_read_new();
	c->inner = archive_read_new();
	if (!c->outer || !c->inner)
		return arca_error_set(err, ENOMEM, ARCA_ERR_INTERNAL, "libarchive: out of memory");
	/* Only the compressions images use, built into libarchive: never a filter that
	 * runs an external program (lrzip, lzop, grzip, ...) on hostile input. */
	unsigned want = c->limits->compression
			    ? c->limits->compression
			    : UNPACK_GZIP | UNPACK_ZSTD | UNPACK_XZ | UNPACK_BZIP2 | UNPACK_PLAIN;
	if (want & UNPACK_GZIP)
		archive_read_support_filter_gzip(c->outer);
	if (want & UNPACK_ZSTD)
		archive_read_support_filter_zstd(c->outer);
	if (want & UNPACK_XZ)
		archive_read_support_filter_xz(c->outer);
	if (want & UNPACK_BZIP2)
		archive_read_support_filter_bzip2(c->outer);
	archive_read_support_format_raw(c->outer);
	archive_read_support_format_tar(c->inner);
	struct archive_entry *raw_entry;
	if (archive_read_open_fd(c->outer, layer_fd, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(c->outer, &raw_entry) != ARCHIVE_OK)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "layer: %s",
				      archive_error_string(c->outer));
	/* What it is compressed with must be what its media type says. */
	int code = archive_filter_code(c->outer, 0);
	unsigned got = code == ARCHIVE_FILTER_GZIP    ? UNPACK_GZIP
		       : code == ARCHIVE_FILTER_ZSTD  ? UNPACK_ZSTD
		       : code == ARCHIVE_FILTER_XZ    ? UNPACK_XZ
		       : code == ARCHIVE_FILTER_BZIP2 ? UNPACK_BZIP2
		       : code == ARCHIVE_FILTER_NONE  ? UNPACK_PLAIN
						      : 0;
	if (!(got & want))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "layer: compressed with %s, which its media type does not "
				      "allow",
				      archive_filter_name(c->outer, 0));
	if (archive_read_open(c->inner, c, NULL, inner_read, NULL) != ARCHIVE_OK)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "layer: %s",
				      archive_error_string(c->inner));
	return 0;
}

static int finish_dir_times(struct unpack_ctx *c)
{
	for (size_t i = c->n_dir_times; i > 0; i--) {
		struct dir_time *dt = &c->dir_times[i - 1];
		char dir[PATH_LIMIT];
		const char *base;
		split(dt->path, dir, &base);
		_cleanup_close_ int pfd = open_dir(c, dir, false);
		if (pfd < 0)
			continue; /* removed by a later whiteout */
		(void)utimensat(pfd, base, dt->ts, AT_SYMLINK_NOFOLLOW);
	}
	return 0;
}

static void ctx_done(struct unpack_ctx *c)
{
	if (c->outer)
		archive_read_free(c->outer);
	if (c->inner)
		archive_read_free(c->inner);
	sha256_done(&c->hash);
	hashmap_free(c->created);
	for (size_t i = 0; i < c->n_dir_times; i++)
		free(c->dir_times[i].path);
	free(c->dir_times);
	free(c);
}

int unpack_layer(int root_fd, int layer_fd, const struct unpack_limits *limits,
		 unpack_progress_fn progress, void *userdata, struct unpack_result *ret,
		 struct arca_error **err)
{
	static const struct unpack_limits defaults = { .max_bytes = UNPACK_DEFAULT_MAX_BYTES,
						       .max_entries = UNPACK_DEFAULT_MAX_ENTRIES };
	struct unpack_ctx *c = xnew0(struct unpack_ctx, 1);
	int r;

	c->root = root_fd;
	c->layer_fd = layer_fd;
	c->limits = limits ? limits : &defaults;
	/* Headers and padding on top of the content: at most 3 blocks per entry. */
	c->tar_limit = c->limits->max_bytes + c->limits->max_entries * 1536 + 1024 * 1024;
	c->created = hashmap_new();
	c->progress = progress;
	c->userdata = userdata;
	sha256_init(&c->hash);
	if (lseek(layer_fd, 0, SEEK_SET) < 0 && errno != ESPIPE) { /* a pipe: as it comes */
		r = arca_error_errno(err, errno, "layer");
		goto out;
	}
	r = open_readers(c, layer_fd, err);
	if (r < 0)
		goto out;

	for (;;) {
		struct archive_entry *e;
		int k = archive_read_next_header(c->inner, &e);
		if (k == ARCHIVE_EOF)
			break;
		if (k < ARCHIVE_WARN) {
			r = arca_error_set(err, c->read_error ? -c->read_error : EINVAL,
					   ARCA_ERR_INVALID, "layer: %s",
					   archive_error_string(c->inner));
			goto out;
		}
		if (++c->entries > c->limits->max_entries) {
			r = arca_error_set(err, EFBIG, ARCA_ERR_INVALID,
					   "layer has more than %llu entries",
					   (unsigned long long)c->limits->max_entries);
			goto out;
		}
		r = apply_entry(c, e, err);
		if (r < 0)
			goto out;
	}
	/* The diff ID covers the whole stream, trailing padding included. */
	const void *rest;
	while (inner_read(c->inner, c, &rest) > 0)
		;
	if (c->read_error) {
		r = arca_error_set(err, -c->read_error, ARCA_ERR_INVALID, "layer: %s",
				   archive_error_string(c->inner));
		goto out;
	}
	finish_dir_times(c);
	sha256_final(&c->hash, ret->diff_id);
	ret->tar_size = c->tar_size;
	ret->entries = c->entries;
	r = 0;
out:
	ctx_done(c);
	return r;
}

unsigned unpack_compression_of(const char *media_type)
{
	if (!media_type)
		return 0;
	size_t n = strlen(media_type);
	if ((n > 5 && strcmp(media_type + n - 5, "+gzip") == 0) ||
	    (n > 5 && strcmp(media_type + n - 5, ".gzip") == 0))
		return UNPACK_GZIP;
	if (n > 5 && strcmp(media_type + n - 5, "+zstd") == 0)
		return UNPACK_ZSTD;
	/* A plain tar type: also xz and bzip2, which docker import/load keep under it. */
	if ((n > 4 && strcmp(media_type + n - 4, ".tar") == 0))
		return UNPACK_PLAIN | UNPACK_XZ | UNPACK_BZIP2;
	return 0;
}
