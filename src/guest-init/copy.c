/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `/init copy [OPTIONS] DESTROOT DEST SRCROOT SRC...`: a build's COPY and
 * ADD, run by the host in the build VM (docs/build.md), outside the image
 * root so it needs no tool of the image's.
 *
 * Every source is "k:PATH" (keep its owners: ADD of an archive, COPY
 * --from) or "r:PATH" (owned by the --chown user, else 0:0), PATH relative
 * to SRCROOT. A source that is a directory has its contents copied into
 * DEST; a file lands at DEST, or at DEST/<name> when DEST ends in "/" or is
 * a directory. Both sides resolve inside their roots (openat2 with
 * RESOLVE_IN_ROOT): a symlink in the image or the sources never leads out.
 * Below the named paths nothing is followed: entries are created by name
 * under an open parent, and an entry in the way is replaced, as dockerd's
 * untar does.
 *
 * Options: --chown SPEC (user[:group], names from DESTROOT's /etc/passwd
 * and /etc/group, the group defaulting to the user string as dockerd
 * has it), --glob (SRC paths may hold * ? [...], expanded in SRCROOT;
 * COPY --from), --cmd NAME (COPY or ADD, for messages).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "init.h"
#include "strv.h"

#define MAX_DEPTH   4096
#define MAX_LINKS   65536
#define MAX_MATCHES 100000

struct copy {
	const char *cmd;
	bool chown;
	uid_t uid;
	gid_t gid;
	int dest_root;
	int src_root;
	/* Hard links within one source: the first copy of each inode. */
	struct link {
		dev_t dev;
		ino_t ino;
		int dir_fd; /* dup of the directory it was made in */
		char *name;
	} * links;
	size_t n_links;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Opens (creating as needed, 0755) the directory path under root; new ones chowned. */
static int mkdir_in(struct copy *c, const char *path)
{
	int fd = openat_in_root(c->dest_root, path, O_DIRECTORY | O_RDONLY);
	if (fd >= 0 || fd != -ENOENT)
		return fd;
	_cleanup_free_ char *copy = xstrdup(path);
	int cur = fcntl(c->dest_root, F_DUPFD_CLOEXEC, 3);
	for (char *save = NULL, *comp = strtok_r(copy, "/", &save); comp && cur >= 0;
	     comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0)
			continue;
		int next = openat_in_root(cur, comp, O_DIRECTORY | O_RDONLY);
		if (next == -ENOENT) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				next = -errno;
			} else {
				next = openat_in_root(cur, comp, O_DIRECTORY | O_RDONLY);
				if (next >= 0 && fchown(next, c->chown ? c->uid : 0,
							c->chown ? c->gid : 0) < 0) {
					int e = -errno;
					close(next);
					next = e;
				}
			}
		}
		close(cur);
		cur = next;
	}
	return cur;
}

static void copy_xattrs(int from, int to)
{
	char names[8192];
	ssize_t n = flistxattr(from, names, sizeof(names));
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *name = names + i;
		if (strncmp(name, "trusted.overlay.", 16) == 0)
			continue;
		char value[65536];
		ssize_t v = fgetxattr(from, name, value, sizeof(value));
		if (v >= 0)
			(void)fsetxattr(to, name, value, (size_t)v, 0);
	}
}

static int set_owner_at(struct copy *c, int dir, const char *name, const struct stat *st, bool keep)
{
	uid_t u = keep ? st->st_uid : c->chown ? c->uid : 0;
	gid_t g = keep ? st->st_gid : c->chown ? c->gid : 0;
	if (fchownat(dir, name, u, g, AT_SYMLINK_NOFOLLOW) < 0)
		return fail("%s failed: chown %s: %m", c->cmd, name);
	return 0;
}

static void set_times_at(int dir, const char *name, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	(void)utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* Removes whatever is at name in dir unless it is a directory and keep_dir. */
static int clear_at(int dir, const char *name, bool keep_dir)
{
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir)
			return 0;
		/* A directory where a file goes: dockerd's untar removes it, so do we. */
		int fd = openat(dir, name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return -errno;
		}
		int r = 0;
		for (struct dirent *de; r >= 0 && (de = readdir(d));)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				r = clear_at(dirfd(d), de->d_name, false);
		closedir(d);
		if (r < 0)
			return r;
		return unlinkat(dir, name, AT_REMOVEDIR) < 0 ? -errno : 0;
	}
	return unlinkat(dir, name, 0) < 0 ? -errno : 0;
}

static int copy_entry(struct copy *c, int sdir, const char *sname, int ddir, const char *dname,
		      bool keep, int depth);

static int copy_dir_contents(struct copy *c, int sfd, int dfd, bool keep, int depth)
{
	if (depth > MAX_DEPTH)
		return fail("%s failed: the source is nested too deeply", c->cmd);
	int fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return fail("%s failed: read a directory: %m", c->cmd);
	}
	int r = 0;
	for (struct dirent *de; r >= 0 && (de = readdir(d));) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = copy_entry(c, dirfd(d), de->d_name, dfd, de->d_name, keep, depth + 1);
	}
	closedir(d);
	return r;
}

/*
 * Owner first (a chown clears file capabilities and set-id bits), then the
 * xattrs (capabilities among them), the mode and the times.
 */
static int finish_fd(struct copy *c, int sfd, int dfd, const struct stat *st, bool keep,
		     const char *name)
{
	uid_t u = keep ? st->st_uid : c->chown ? c->uid : 0;
	gid_t g = keep ? st->st_gid : c->chown ? c->gid : 0;
	if (fchown(dfd, u, g) < 0)
		return fail("%s failed: chown %s: %m", c->cmd, name);
	copy_xattrs(sfd, dfd);
	if (fchmod(dfd, st->st_mode & 07777) < 0)
		return fail("%s failed: chmod %s: %m", c->cmd, name);
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	(void)futimens(dfd, ts);
	return 0;
}

static int copy_file(struct copy *c, int sfd, const struct stat *st, int ddir, const char *name,
		     bool keep)
{
	int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return fail("%s failed: create %s: %m", c->cmd, name);
	off_t left = st->st_size;
	int r = 0;
	while (left > 0) {
		ssize_t n = copy_file_range(sfd, NULL, out, NULL, (size_t)MIN(left, 1 << 30), 0);
		if (n < 0 &&
		    (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
			char buf[65536];
			n = read(sfd, buf, sizeof(buf));
			if (n > 0 && loop_write(out, buf, (size_t)n) < 0)
				n = -1;
		}
		if (n < 0) {
			r = fail("%s failed: copy %s: %m", c->cmd, name);
			break;
		}
		if (n == 0)
			break;
		left -= n;
	}
	if (r >= 0)
		r = finish_fd(c, sfd, out, st, keep, name);
	close(out);
	return r;
}

static struct link *find_link(struct copy *c, const struct stat *st)
{
	for (size_t i = 0; i < c->n_links; i++)
		if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino)
			return &c->links[i];
	return NULL;
}

static int copy_entry(struct copy *c, int sdir, const char *sname, int ddir, const char *dname,
		      bool keep, int depth)
{
	struct stat st;
	if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail("%s failed: stat %s: %m", c->cmd, sname);
	if (S_ISDIR(st.st_mode)) {
		int r = clear_at(ddir, dname, true);
		if (r < 0)
			return fail("%s failed: replace %s: %s", c->cmd, dname, strerror(-r));
		bool existed = faccessat(ddir, dname, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		if (!existed && mkdirat(ddir, dname, 0700) < 0)
			return fail("%s failed: mkdir %s: %m", c->cmd, dname);
		_cleanup_close_ int s =
		    openat(sdir, sname, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int d =
		    openat(ddir, dname, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return fail("%s failed: open %s: %m", c->cmd, sname);
		r = copy_dir_contents(c, s, d, keep, depth);
		if (r < 0)
			return r;
		return finish_fd(c, s, d, &st, keep, dname);
	}
	int r = clear_at(ddir, dname, false);
	if (r < 0)
		return fail("%s failed: replace %s: %s", c->cmd, dname, strerror(-r));
	if (st.st_nlink > 1 && !S_ISDIR(st.st_mode)) {
		struct link *l = find_link(c, &st);
		if (l) {
			if (linkat(l->dir_fd, l->name, ddir, dname, 0) < 0)
				return fail("%s failed: link %s: %m", c->cmd, dname);
			return 0;
		}
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int s = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0)
			return fail("%s failed: open %s: %m", c->cmd, sname);
		if (copy_file(c, s, &st, ddir, dname, keep) < 0)
			return -1;
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(sdir, sname, target, sizeof(target) - 1);
		if (n < 0)
			return fail("%s failed: readlink %s: %m", c->cmd, sname);
		target[n] = '\0';
		if (symlinkat(target, ddir, dname) < 0)
			return fail("%s failed: symlink %s: %m", c->cmd, dname);
	} else if (mknodat(ddir, dname, st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0) {
		return fail("%s failed: mknod %s: %m", c->cmd, dname);
	}
	if (!S_ISREG(st.st_mode)) {
		if (set_owner_at(c, ddir, dname, &st, keep) < 0)
			return -1;
		if (!S_ISLNK(st.st_mode) && fchmodat(ddir, dname, st.st_mode & 07777, 0) < 0)
			return fail("%s failed: chmod %s: %m", c->cmd, dname);
		set_times_at(ddir, dname, &st);
	}
	if (st.st_nlink > 1 && c->n_links < MAX_LINKS) {
		c->links = xrealloc(c->links, (c->n_links + 1) * sizeof(*c->links));
		c->links[c->n_links++] = (struct link){ .dev = st.st_dev,
							.ino = st.st_ino,
							.dir_fd = fcntl(ddir, F_DUPFD_CLOEXEC, 3),
							.name = xstrdup(dname) };
	}
	return 0;
}

/* dirname and basename of an absolute path without a trailing slash. */
static void split_path(const char *path, char **dir, char **base)
{
	_cleanup_free_ char *p = xstrdup(path);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	char *slash = strrchr(p, '/');
	if (!slash) {
		*dir = xstrdup("/");
		*base = xstrdup(p);
	} else {
		*base = xstrdup(slash + 1);
		*slash = '\0';
		*dir = xstrdup(p[0] ? p : "/");
	}
}

static int copy_one(struct copy *c, const char *src, bool keep, const char *dest, bool dest_dir)
{
	_cleanup_close_ int sfd = openat_in_root(c->src_root, src, O_PATH);
	if (sfd < 0) {
		errno = -sfd;
		return fail("%s failed: stat %s: file does not exist", c->cmd, src);
	}
	struct stat st;
	if (fstat(sfd, &st) < 0)
		return fail("%s failed: stat %s: %m", c->cmd, src);
	if (S_ISDIR(st.st_mode)) {
		/* A directory's contents go into dest. */
		_cleanup_close_ int d = mkdir_in(c, dest);
		if (d < 0) {
			errno = -d;
			return fail("%s failed: mkdir %s: %m", c->cmd, dest);
		}
		_cleanup_close_ int s = openat_in_root(c->src_root, src, O_DIRECTORY | O_RDONLY);
		if (s < 0)
			return fail("%s failed: open %s: %s", c->cmd, src, strerror(-s));
		return copy_dir_contents(c, s, d, keep, 0);
	}
	/* A file: dest/<name> when dest is a directory, else dest itself. */
	_cleanup_free_ char *sdir = NULL, *sbase = NULL;
	split_path(src, &sdir, &sbase); /* the name as given, not its symlink's target's */
	_cleanup_free_ char *target = NULL;
	if (!dest_dir) {
		_cleanup_close_ int t = openat_in_root(c->dest_root, dest, O_PATH);
		struct stat tst;
		dest_dir = t >= 0 && fstat(t, &tst) == 0 && S_ISDIR(tst.st_mode);
	}
	if (dest_dir)
		target = xasprintf("%s/%s", dest, sbase);
	else
		target = xstrdup(dest);
	_cleanup_free_ char *tdir = NULL, *tbase = NULL;
	split_path(target, &tdir, &tbase);
	_cleanup_close_ int d = mkdir_in(c, tdir);
	if (d < 0) {
		errno = -d;
		return fail("%s failed: mkdir %s: %m", c->cmd, tdir);
	}
	int r = clear_at(d, tbase, false);
	if (r < 0)
		return fail("%s failed: replace %s: %s", c->cmd, target, strerror(-r));
	if (S_ISREG(st.st_mode)) {
		/* The named source itself was followed (in its root); below, nothing is. */
		_cleanup_close_ int sreal = openat_in_root(c->src_root, src, O_RDONLY);
		if (sreal < 0)
			return fail("%s failed: open %s: %s", c->cmd, src, strerror(-sreal));
		return copy_file(c, sreal, &st, d, tbase, keep);
	}
	if (S_ISLNK(st.st_mode))
		return fail("%s failed: %s: too many levels of symbolic links", c->cmd, src);
	if (mknodat(d, tbase, st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0)
		return fail("%s failed: mknod %s: %m", c->cmd, target);
	if (set_owner_at(c, d, tbase, &st, keep) < 0)
		return -1;
	if (fchmodat(d, tbase, st.st_mode & 07777, 0) < 0)
		return fail("%s failed: chmod %s: %m", c->cmd, target);
	set_times_at(d, tbase, &st);
	return 0;
}

int copy_main(int argc, char **argv)
{
	struct copy c = { .cmd = "COPY", .dest_root = -1, .src_root = -1 };
	const char *chown_spec = NULL;
	bool glob = false;
	int i = 2;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--glob") == 0)
			glob = true;
		else if (strcmp(argv[i], "--chown") == 0 && i + 1 < argc)
			chown_spec = argv[++i];
		else if (strcmp(argv[i], "--cmd") == 0 && i + 1 < argc)
			c.cmd = argv[++i];
		else
			return fail("copy: unknown option %s", argv[i]), 2;
	}
	if (argc - i < 4)
		return fail("usage: %s copy [--chown SPEC] [--glob] DESTROOT DEST SRCROOT SRC...",
			    argv[0]),
		       2;
	const char *dest_root = argv[i], *dest = argv[i + 1], *src_root = argv[i + 2];
	char **srcs = argv + i + 3;
	if (chown_spec) {
		char msg[512];
		if (user_chown_ids(dest_root, chown_spec, &c.uid, &c.gid, msg, sizeof(msg)) < 0)
			return fail("%s failed: unable to convert uid/gid chown string to host "
				    "mapping: %s",
				    c.cmd, msg),
			       1;
		c.chown = true;
	}
	c.dest_root = open(dest_root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	c.src_root = open(src_root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (c.dest_root < 0 || c.src_root < 0)
		return fail("copy: open the roots: %m"), 1;

	_cleanup_strv_free_ char **list = NULL; /* "k:path" / "r:path", expanded */
	for (char **s = srcs; *s; s++) {
		if ((*s)[0] != 'k' && (*s)[0] != 'r')
			return fail("copy: bad source %s", *s), 2;
		if (!glob || !glob_has_wildcard(*s + 2)) {
			list = strv_append(list, *s);
			continue;
		}
		_cleanup_strv_free_ char **found = glob_in_root(c.src_root, *s + 2, MAX_MATCHES);
		for (char **f = found; f && *f; f++) {
			_cleanup_free_ char *e = xasprintf("%c:%s", (*s)[0], *f);
			list = strv_append(list, e);
		}
	}
	if (!list || !list[0])
		return fail("%s failed: no source files were specified", c.cmd), 1;
	size_t dl = strlen(dest);
	bool dest_dir = dl > 0 && dest[dl - 1] == '/';
	if (strv_length(list) > 1 && !dest_dir)
		return fail("When using %s with more than one source file, the destination must be "
			    "a directory and end with a /",
			    c.cmd),
		       1;
	int r = 0;
	for (char **s = list; r >= 0 && *s; s++) {
		r = copy_one(&c, *s + 2, (*s)[0] == 'k', dest, dest_dir);
		for (size_t k = 0; k < c.n_links; k++) {
			close(c.links[k].dir_fd);
			free(c.links[k].name);
		}
		c.n_links = 0;
	}
	free(c.links);
	close(c.dest_root);
	close(c.src_root);
	return r < 0 ? 1 : 0;
}
