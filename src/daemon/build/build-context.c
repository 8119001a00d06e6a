/* SPDX-License-Identifier: Apache-2.0 */
/* A build's context directory (see build-context.h). */
#include "build-context.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "digest.h"
#include "dockerignore.h"
#include "fd-util.h"
#include "strv.h"
#include "unpack.h"

#define MAX_DEPTH   1024
#define MAX_MATCHES 100000

struct build_context {
	char *dir;
	int fd;
};

int build_context_unpack(const char *dir, int in_fd, struct build_context **ret,
			 struct arca_error **err)
{
	if (mkdir_p(dir, 0700) < 0)
		return arca_error_errno(err, errno, "create the build context directory");
	struct build_context *c = xnew0(struct build_context, 1);
	c->dir = xstrdup(dir);
	c->fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (c->fd < 0) {
		int e = errno;
		build_context_free(c);
		return arca_error_errno(err, e, "open the build context directory");
	}
	/* An empty body is an empty context (then "Cannot locate specified Dockerfile"). */
	int peek[2];
	if (pipe2(peek, O_CLOEXEC) == 0) {
		ssize_t n = tee(in_fd, peek[1], 1, 0); /* waits for a byte, consumes none */
		close(peek[0]);
		close(peek[1]);
		if (n == 0) {
			*ret = c;
			return 0;
		}
	}
	struct unpack_limits lim = { .max_bytes = UNPACK_DEFAULT_MAX_BYTES,
				     .max_entries = UNPACK_DEFAULT_MAX_ENTRIES,
				     .lenient_end = true,
				     .no_nodes = true };
	struct unpack_result res;
	_cleanup_error_ struct arca_error *uerr = NULL;
	int r = unpack_layer(c->fd, in_fd, &lim, NULL, NULL, &res, &uerr);
	if (r < 0) {
		/* dockerd answers a body that is no tar with Go's "unexpected EOF". */
		arca_error_set(err, EINVAL, ARCA_ERR_INTERNAL, "%s",
			       uerr && strstr(uerr->msg, "Unrecognized archive format")
				   ? "unexpected EOF"
			       : uerr ? uerr->msg
				      : "unexpected EOF");
		build_context_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct build_context *build_context_free(struct build_context *c)
{
	if (!c)
		return NULL;
	safe_close(c->fd);
	free(c->dir);
	free(c);
	return NULL;
}

static int read_at(struct build_context *c, const char *path, size_t max, char **ret,
		   size_t *ret_len)
{
	_cleanup_close_ int fd = openat_in_root(c->fd, path, O_RDONLY);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	char *buf = xmalloc((size_t)st.st_size + 1);
	size_t n = 0;
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*ret = buf;
	*ret_len = n;
	return 0;
}

int build_context_dockerfile(struct build_context *c, const char *name, char **ret_text,
			     size_t *ret_len, char **ret_name, struct arca_error **err)
{
	bool dflt = !name || !name[0];
	const char *tries[] = { dflt ? "Dockerfile" : name, dflt ? "dockerfile" : NULL };
	for (size_t i = 0; i < 2 && tries[i]; i++) {
		char *text = NULL;
		size_t len = 0;
		int r = read_at(c, tries[i], 64u << 20, &text, &len);
		if (r == -ENOENT || r == -EISDIR || r == -ENOTDIR)
			continue;
		if (r == -EFBIG)
			return arca_error_set(err, EFBIG, ARCA_ERR_INVALID,
					      "the Dockerfile (%s) is too large", tries[i]);
		if (r < 0)
			return arca_error_errno(err, -r, "read the Dockerfile");
		if (len == 0) {
			free(text);
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "the Dockerfile (%s) cannot be empty", tries[i]);
		}
		*ret_text = text;
		*ret_len = len;
		*ret_name = xstrdup(tries[i]);
		return 0;
	}
	return arca_error_set(err, ENOENT, ARCA_ERR_INTERNAL,
			      "Cannot locate specified Dockerfile: %s", dflt ? "Dockerfile" : name);
}

int build_context_apply_ignore(struct build_context *c, const char *dockerfile,
			       struct arca_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (read_at(c, ".dockerignore", 16u << 20, &text, &len) < 0)
		return 0; /* none */
	struct dockerignore *di = NULL;
	int r = dockerignore_parse(text, len, &di, err);
	if (r < 0)
		return r;
	char clean[4096];
	const char *names[] = { dockerfile, ".dockerignore" };
	for (size_t i = 0; i < 2; i++) {
		if (unpack_clean_path(names[i], clean, sizeof(clean)) < 0 || !clean[0])
			continue;
		if (dockerignore_excludes(di, clean))
			(void)unlinkat(c->fd, clean, 0);
	}
	dockerignore_free(di);
	return 0;
}

void build_sources_free(struct build_source *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].path);
		free(s[i].name);
		free(s[i].url);
		if (s[i].file)
			(void)unlink(s[i].file);
		free(s[i].file);
	}
	free(s);
}

static bool is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static void add_source(struct build_source **list, size_t *n, struct build_context *c,
		       const char *path)
{
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	struct build_source *s = &(*list)[(*n)++];
	*s = (struct build_source){ 0 };
	char clean[4096];
	if (unpack_clean_path(path, clean, sizeof(clean)) < 0)
		snprintf(clean, sizeof(clean), "%s", path);
	s->path = xstrdup(clean);
	const char *slash = strrchr(clean, '/');
	s->name = xstrdup(slash ? slash + 1 : clean);
	_cleanup_close_ int fd = openat_in_root(c->fd, clean, O_PATH);
	struct stat st;
	bool ok = fd >= 0 && fstat(fd, &st) == 0;
	s->dir = ok && S_ISDIR(st.st_mode);
	s->other = ok && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode);
}

int build_context_sources(struct build_context *c, const char *cmd, char *const *patterns,
			  struct build_source **ret, size_t *ret_n, struct arca_error **err)
{
	struct build_source *list = NULL;
	size_t n = 0;
	bool add = strcmp(cmd, "ADD") == 0;
	for (char *const *p = patterns; *p; p++) {
		if (is_url(*p)) {
			if (!add) {
				build_sources_free(list, n);
				return arca_error_set(
				    err, EINVAL, ARCA_ERR_INVALID,
				    "COPY failed: source can't be a URL for COPY");
			}
			list = xrealloc(list, (n + 1) * sizeof(*list));
			list[n++] = (struct build_source){ .url = xstrdup(*p) };
			continue;
		}
		char clean[4096];
		int k = unpack_clean_path(*p, clean, sizeof(clean));
		if (k == -EXDEV) {
			build_sources_free(list, n);
			return arca_error_set(
			    err, EPERM, ARCA_ERR_INVALID,
			    "%s failed: forbidden path outside the build context: "
			    "%s ()",
			    cmd, *p);
		}
		if (k < 0) {
			build_sources_free(list, n);
			return arca_error_set(err, -k, ARCA_ERR_INVALID, "%s failed: %s: bad path",
					      cmd, *p);
		}
		if (glob_has_wildcard(clean)) {
			_cleanup_strv_free_ char **found = glob_in_root(c->fd, clean, MAX_MATCHES);
			for (char **f = found; *f; f++)
				add_source(&list, &n, c, *f);
			continue;
		}
		_cleanup_close_ int fd = openat_in_root(c->fd, clean, O_PATH);
		if (fd < 0) {
			build_sources_free(list, n);
			return arca_error_set(
			    err, ENOENT, ARCA_ERR_INVALID,
			    "%s failed: file not found in build context or "
			    "excluded by .dockerignore: stat %s: file does not exist",
			    cmd, clean[0] ? clean : ".");
		}
		add_source(&list, &n, c, clean);
	}
	if (!n) {
		build_sources_free(list, n);
		return arca_error_set(err, ENOENT, ARCA_ERR_INVALID,
				      "%s failed: no source files were specified", cmd);
	}
	for (size_t i = 0; i < n; i++)
		if (list[i].other) {
			int r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					       "%s failed: %s is not a regular file or a directory",
					       cmd, list[i].path);
			build_sources_free(list, n);
			return r;
		}
	if (add)
		for (size_t i = 0; i < n; i++)
			if (!list[i].url && !list[i].dir)
				list[i].archive = build_context_is_archive(c, list[i].path);
	*ret = list;
	*ret_n = n;
	return 0;
}

static la_ssize_t read_cb(struct archive *a, void *userdata, const void **buf)
{
	static __thread char block[65536];
	int fd = *(int *)userdata;
	(void)a;
	*buf = block;
	ssize_t n;
	do
		n = read(fd, block, sizeof(block));
	while (n < 0 && errno == EINTR);
	return n;
}

/* A reader of fd as a tar, plain or compressed; NULL when it is not one. */
static struct archive *open_tar(int *fd)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open(a, fd, NULL, read_cb, NULL) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* A regular file of the context, opened for reading; -EINVAL for anything else. */
static int open_regular(struct build_context *c, const char *path)
{
	return open_regular_in_root(c->fd, path);
}

bool build_context_is_archive(struct build_context *c, const char *path)
{
	int fd = open_regular(c, path);
	if (fd < 0)
		return false;
	struct archive *a = open_tar(&fd);
	struct archive_entry *e;
	bool ok = a && archive_read_next_header(a, &e) == ARCHIVE_OK;
	if (a)
		archive_read_free(a);
	close(fd);
	return ok;
}

/* --- walking a source --- */

typedef int (*visit_fn)(int dir, const char *name, const char *rel, const struct stat *st,
			void *userdata);

static int walk(int dir, const char *rel, visit_fn fn, void *ud, int depth)
{
	if (depth > MAX_DEPTH)
		return -ELOOP;
	int fd = fcntl(dir, F_DUPFD_CLOEXEC, 3);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	_cleanup_strv_free_ char **names = strv_copy(NULL);
	for (struct dirent *de; (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names = strv_append(names, de->d_name);
	strv_sort(names);
	int r = 0;
	for (char **nm = names; r >= 0 && *nm; nm++) {
		struct stat st;
		if (fstatat(dirfd(d), *nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		_cleanup_free_ char *p = rel[0] ? xasprintf("%s/%s", rel, *nm) : xstrdup(*nm);
		r = fn(dirfd(d), *nm, p, &st, ud);
		if (r >= 0 && S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub =
			    openat(dirfd(d), *nm, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				r = walk(sub, p, fn, ud, depth + 1);
		}
	}
	closedir(d);
	return r;
}

/* --- hashing (dockerd's tarsum of each entry, without times) --- */

static void hash_header(struct sha256 *h, const char *name, const struct stat *st, const char *link)
{
	char buf[256];
	sha256_update(h, "name", 4);
	sha256_update(h, name, strlen(name));
	int n = snprintf(buf, sizeof(buf), "mode%o uid%u gid%u size%lld type%o",
			 st->st_mode & 07777, st->st_uid, st->st_gid,
			 S_ISREG(st->st_mode) ? (long long)st->st_size : 0, st->st_mode & S_IFMT);
	sha256_update(h, buf, (size_t)n);
	if (link) {
		sha256_update(h, "linkname", 8);
		sha256_update(h, link, strlen(link));
	}
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		n = snprintf(buf, sizeof(buf), "dev%llu", (unsigned long long)st->st_rdev);
		sha256_update(h, buf, (size_t)n);
	}
}

static int hash_entry(int dir, const char *name, const char *rel, const struct stat *st,
		      char out[DIGEST_STR_LEN])
{
	struct sha256 h;
	sha256_init(&h);
	char link[4096];
	ssize_t ln = -1;
	if (S_ISLNK(st->st_mode)) {
		ln = readlinkat(dir, name, link, sizeof(link) - 1);
		if (ln >= 0)
			link[ln] = '\0';
	}
	hash_header(&h, rel, st, ln >= 0 ? link : NULL);
	if (S_ISREG(st->st_mode)) {
		_cleanup_close_ int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			sha256_done(&h);
			return -errno;
		}
		char buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			sha256_update(&h, buf, (size_t)n);
		if (n < 0) {
			sha256_done(&h);
			return -errno;
		}
	}
	sha256_final(&h, out);
	return 0;
}

struct hash_walk {
	char **sums;
};

static int hash_visit(int dir, const char *name, const char *rel, const struct stat *st,
		      void *userdata)
{
	struct hash_walk *w = userdata;
	char d[DIGEST_STR_LEN];
	int r = hash_entry(dir, name, rel, st, d);
	if (r >= 0)
		w->sums = strv_append(w->sums, d + 7);
	return r;
}

static int hash_one(struct build_context *c, const struct build_source *s, char **ret)
{
	char d[DIGEST_STR_LEN];
	if (s->file) { /* a download: its content only, as dockerd keys it */
		_cleanup_close_ int fd = open(s->file, O_RDONLY | O_CLOEXEC);
		uint64_t size;
		int r = fd < 0 ? -errno : sha256_fd(fd, d, &size);
		if (r < 0)
			return r;
		*ret = xstrdup(d + 7);
		return 0;
	}
	_cleanup_close_ int fd = s->dir ? openat_in_root(c->fd, s->path, O_DIRECTORY | O_RDONLY)
					: open_regular(c, s->path);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!s->dir) {
		/* The named file itself (a symlink to it was followed, in the context). */
		struct sha256 h;
		sha256_init(&h);
		hash_header(&h, s->name, &st, NULL);
		char buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			sha256_update(&h, buf, (size_t)n);
		sha256_final(&h, d);
		if (n < 0)
			return -errno;
		*ret = xasprintf("file:%s", d + 7);
		return 0;
	}
	struct hash_walk w = { .sums = strv_copy(NULL) };
	struct sha256 h;
	sha256_init(&h);
	hash_header(&h, ".", &st, NULL);
	sha256_final(&h, d);
	w.sums = strv_append(w.sums, d + 7);
	int r = walk(fd, "", hash_visit, &w, 0);
	if (r >= 0) {
		strv_sort(w.sums);
		sha256_init(&h);
		for (char **sum = w.sums; *sum; sum++) {
			if (sum != w.sums)
				sha256_update(&h, ",", 1);
			sha256_update(&h, *sum, strlen(*sum));
		}
		sha256_final(&h, d);
		*ret = xasprintf("dir:%s", d + 7);
	}
	strv_free(w.sums);
	return r;
}

int build_context_hash(struct build_context *c, const struct build_source *s, size_t n, char **ret,
		       struct arca_error **err)
{
	_cleanup_strv_free_ char **each = strv_copy(NULL);
	for (size_t i = 0; i < n; i++) {
		char *one = NULL;
		int r = hash_one(c, &s[i], &one);
		if (r < 0)
			return arca_error_errno(err, -r, "read %s",
						s[i].path ? s[i].path : s[i].url);
		each = strv_append_take(each, one);
	}
	if (n == 1) {
		*ret = xstrdup(each[0]);
		return 0;
	}
	struct sha256 h;
	char d[DIGEST_STR_LEN];
	sha256_init(&h);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sha256_update(&h, ",", 1);
		sha256_update(&h, each[i], strlen(each[i]));
	}
	sha256_final(&h, d);
	*ret = xasprintf("multi:%s", d + 7);
	return 0;
}

/* --- the tar for the build VM --- */

struct tar_walk {
	struct archive *a;
	const char *prefix;
	struct arca_error **err;
	bool reported; /* the error is in err */
};

static int write_entry(struct archive *a, const char *path, const struct stat *st, const char *link,
		       int data_fd, struct arca_error **err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_copy_stat(e, st);
	archive_entry_set_pathname(e, path);
	archive_entry_set_uname(e, "");
	archive_entry_set_gname(e, "");
	if (!S_ISREG(st->st_mode))
		archive_entry_set_size(e, 0);
	if (link)
		archive_entry_set_symlink(e, link);
	int r = 0;
	if (archive_write_header(a, e) != ARCHIVE_OK)
		r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write the copy: %s",
				   archive_error_string(a));
	if (r >= 0 && S_ISREG(st->st_mode) && data_fd >= 0) {
		char buf[65536];
		ssize_t n;
		int64_t left = st->st_size;
		while (left > 0 &&
		       (n = read(data_fd, buf, (size_t)MIN(left, (int64_t)sizeof(buf)))) > 0) {
			if (archive_write_data(a, buf, (size_t)n) != n) {
				r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL,
						   "write the copy: %s", archive_error_string(a));
				break;
			}
			left -= n;
		}
		if (r >= 0 && left > 0)
			r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL,
					   "%s changed while it was copied", path);
	}
	archive_entry_free(e);
	return r;
}

static int tar_visit(int dir, const char *name, const char *rel, const struct stat *st,
		     void *userdata)
{
	struct tar_walk *w = userdata;
	w->reported = true; /* every failure below sets err */
	_cleanup_free_ char *path = xasprintf("%s/%s", w->prefix, rel);
	char link[4096];
	const char *l = NULL;
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(dir, name, link, sizeof(link) - 1);
		if (n < 0)
			return arca_error_errno(w->err, errno, "read link %s", rel);
		link[n] = '\0';
		l = link;
	}
	if (!S_ISREG(st->st_mode))
		return write_entry(w->a, path, st, l, -1, w->err);
	_cleanup_close_ int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(w->err, errno, "open %s", rel);
	return write_entry(w->a, path, st, NULL, fd, w->err);
}

/* An archive's entries, re-rooted under prefix, with their owners. */
static int tar_archive(struct archive *out, int fd, const char *prefix, struct arca_error **err)
{
	struct archive *in = open_tar(&fd);
	if (!in)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "ADD failed: read the archive");
	struct archive_entry *e;
	int r = 0, k;
	char clean[4096];
	while (r >= 0 && (k = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		if (unpack_clean_path(archive_entry_pathname(e), clean, sizeof(clean)) < 0)
			continue; /* a name that climbs out: dropped, as an untar in place would */
		_cleanup_free_ char *path = xasprintf("%s/%s", prefix, clean);
		archive_entry_set_pathname(e, path);
		const char *hl = archive_entry_hardlink(e);
		if (hl) {
			char hclean[4096];
			if (unpack_clean_path(hl, hclean, sizeof(hclean)) < 0)
				continue;
			_cleanup_free_ char *h = xasprintf("%s/%s", prefix, hclean);
			archive_entry_set_hardlink(e, h);
		}
		archive_entry_set_uname(e, "");
		archive_entry_set_gname(e, "");
		if (archive_write_header(out, e) != ARCHIVE_OK) {
			r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write the copy: %s",
					   archive_error_string(out));
			break;
		}
		const void *buf;
		size_t size;
		la_int64_t off;
		while ((k = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
			if (archive_write_data(out, buf, size) != (la_ssize_t)size) {
				r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write the copy");
				break;
			}
		if (r >= 0 && k != ARCHIVE_EOF)
			r = arca_error_set(err, EIO, ARCA_ERR_INVALID, "ADD failed: %s",
					   archive_error_string(in));
	}
	if (r >= 0 && k != ARCHIVE_EOF)
		r = arca_error_set(err, EIO, ARCA_ERR_INVALID, "ADD failed: %s",
				   archive_error_string(in));
	archive_read_free(in);
	return r;
}

static int tar_one(struct build_context *c, struct archive *a, const struct build_source *s,
		   size_t i, char ***srcs, struct arca_error **err)
{
	_cleanup_free_ char *prefix = xasprintf("s%zu", i);
	struct stat dst = { .st_mode = S_IFDIR | 0755, .st_mtime = time(NULL) };
	int r = write_entry(a, prefix, &dst, NULL, -1, err);
	if (r < 0)
		return r;
	if (s->file) { /* a download: mode 0600, its Last-Modified time */
		_cleanup_close_ int fd = open(s->file, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			return arca_error_errno(err, errno, "read the download");
		st.st_mode = S_IFREG | 0600;
		st.st_uid = st.st_gid = 0;
		_cleanup_free_ char *p = xasprintf("%s/%s", prefix, s->name);
		*srcs = strv_append_take(*srcs, xasprintf("r:%s", p));
		return write_entry(a, p, &st, NULL, fd, err);
	}
	_cleanup_close_ int fd = s->dir ? openat_in_root(c->fd, s->path, O_DIRECTORY | O_RDONLY)
					: open_regular(c, s->path);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return arca_error_errno(err, fd < 0 ? -fd : errno, "read %s", s->path);
	if (s->archive) {
		*srcs = strv_append_take(*srcs, xasprintf("k:%s", prefix));
		return tar_archive(a, fd, prefix, err);
	}
	if (s->dir) {
		*srcs = strv_append_take(*srcs, xasprintf("r:%s", prefix));
		struct tar_walk w = { .a = a, .prefix = prefix, .err = err };
		r = walk(fd, "", tar_visit, &w, 0);
		if (r < 0 && !w.reported)
			r = arca_error_errno(err, -r, "read %s", s->path);
		return r;
	}
	if (!S_ISREG(st.st_mode))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s is not a file or a directory", s->path);
	_cleanup_free_ char *p = xasprintf("%s/%s", prefix, s->name);
	*srcs = strv_append_take(*srcs, xasprintf("r:%s", p));
	return write_entry(a, p, &st, NULL, fd, err);
}

int build_context_tar(struct build_context *c, const struct build_source *s, size_t n, int out_fd,
		      char ***ret_srcs, struct arca_error **err)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, out_fd) != ARCHIVE_OK) {
		int r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write the copy: %s",
				       archive_error_string(a));
		archive_write_free(a);
		return r;
	}
	char **srcs = strv_copy(NULL);
	int r = 0;
	for (size_t i = 0; r >= 0 && i < n; i++)
		r = tar_one(c, a, &s[i], i, &srcs, err);
	if (archive_write_close(a) != ARCHIVE_OK && r >= 0)
		r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write the copy: %s",
				   archive_error_string(a));
	archive_write_free(a);
	if (r < 0) {
		strv_free(srcs);
		return r;
	}
	*ret_srcs = srcs;
	return 0;
}
