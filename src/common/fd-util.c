/* SPDX-License-Identifier: Apache-2.0 */
/* File-descriptor and small file helpers; libc only (linked into arca-init too). */
#include "fd-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "strv.h"

int fd_set_nonblock(int fd, bool nonblock)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return -errno;
	int nflags = nonblock ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	if (nflags != flags && fcntl(fd, F_SETFL, nflags) < 0)
		return -errno;
	return 0;
}

int fd_set_cloexec(int fd, bool cloexec)
{
	int flags = fcntl(fd, F_GETFD);
	if (flags < 0)
		return -errno;
	int nflags = cloexec ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
	if (nflags != flags && fcntl(fd, F_SETFD, nflags) < 0)
		return -errno;
	return 0;
}

int loop_write(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t k = write(fd, c, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };
				(void)poll(&pfd, 1, -1);
				continue;
			}
			return -errno;
		}
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

ssize_t loop_read(int fd, void *p, size_t n)
{
	char *c = p;
	size_t done = 0;
	while (done < n) {
		ssize_t k = read(fd, c + done, n - done);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return done > 0 ? (ssize_t)done : -errno;
		}
		if (k == 0)
			break;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

int read_file_at(int dir_fd, const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	_cleanup_free_ char *s = xmalloc(max + 1);
	ssize_t n = loop_read(fd, s, max + 1);
	if (n < 0)
		return (int)n;
	if ((size_t)n > max)
		return -EFBIG;
	s[n] = '\0';
	if (ret_len)
		*ret_len = (size_t)n;
	*ret = TAKE_PTR(s);
	return 0;
}

int write_file_at(int dir_fd, const char *path, const void *p, size_t n, int mode)
{
	_cleanup_close_ int fd =
	    openat(dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0)
		return -errno;
	int r = loop_write(fd, p, n);
	if (r < 0)
		return r;
	if (close(TAKE_FD(fd)) < 0)
		return -errno;
	return 0;
}

int mkdir_p(const char *path, int mode)
{
	_cleanup_free_ char *p = xstrdup(path);
	size_t len = strlen(p);

	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		p[i] = c;
	}
	return 0;
}

/*
 * Removes parent/name and everything under it, at any depth, in a loop:
 * it goes down into the first directory it meets and up again (through
 * "..") once that one is empty, so it holds two fds and the names on the
 * way, never a stack frame per level. Symlinks are removed, never
 * followed. What cannot be removed is skipped (and reported) without
 * being met again.
 */
struct rm_level {
	char *name;   /* this level's name in its parent (NULL at the top) */
	char **stuck; /* entries here that could not be removed */
};

static bool rm_is_stuck(char **stuck, const char *name)
{
	for (char **s = stuck; s && *s; s++)
		if (strcmp(*s, name) == 0)
			return true;
	return false;
}

static int rm_rf_loop(int parent, const char *name)
{
	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	int cur = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	struct rm_level *lv = xnew0(struct rm_level, 1);
	size_t depth = 0, cap = 1;
	int r = 0;
	for (;;) {
		int dup_fd = fcntl(cur, F_DUPFD_CLOEXEC, 3);
		DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
		if (!d) {
			if (dup_fd >= 0)
				close(dup_fd);
			r = r ? r : -errno;
			break;
		}
		char *down = NULL;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
			    rm_is_stuck(lv[depth].stuck, de->d_name))
				continue;
			if (unlinkat(cur, de->d_name, 0) == 0 || errno == ENOENT)
				continue;
			int next = errno == EISDIR || errno == EPERM
				       ? openat(cur, de->d_name,
						O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
				       : -1;
			if (next >= 0) {
				close(cur);
				cur = next;
				down = xstrdup(de->d_name);
				break;
			}
			r = r ? r : -errno;
			lv[depth].stuck = strv_append(lv[depth].stuck, de->d_name);
		}
		closedir(d);
		if (down) {
			if (depth + 1 >= cap) {
				cap *= 2;
				lv = xrealloc(lv, cap * sizeof(*lv));
			}
			lv[++depth] = (struct rm_level){ .name = down };
			continue;
		}
		/* cur is as empty as it gets: up one, and remove it there. */
		if (depth == 0)
			break;
		int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (up < 0) {
			r = r ? r : -errno;
			break;
		}
		close(cur);
		cur = up;
		struct rm_level done = lv[depth--];
		if (unlinkat(cur, done.name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
			r = r ? r : -errno;
			lv[depth].stuck = strv_append(lv[depth].stuck, done.name);
		}
		free(done.name);
		strv_free(done.stuck);
	}
	close(cur);
	for (size_t i = 0; i <= depth; i++) {
		free(lv[i].name);
		strv_free(lv[i].stuck);
	}
	free(lv);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

static int64_t usage_depth(int parent, const char *name, int depth)
{
	struct stat st;
	if (depth > 256 || fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	int64_t total = (int64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode))
		return total;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return total;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return total;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			total += usage_depth(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	return total;
}

int64_t disk_usage_at(int dir_fd, const char *name)
{
	return usage_depth(dir_fd, name, 0);
}

int rm_rf_at(int dir_fd, const char *name)
{
	return rm_rf_loop(dir_fd, name);
}

int rm_rf(const char *path)
{
	return rm_rf_loop(AT_FDCWD, path);
}

int openat_in_root(int root, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC,
				.resolve =
				    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
	while (*path == '/')
		path++;
	int fd;
	do
		fd = (int)syscall(SYS_openat2, root, path[0] ? path : ".", &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
}

int dir_is_trusted(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return -EPERM;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return -EPERM;
	return 0;
}

int mkdir_trusted(const char *path, int mode)
{
	int r = mkdir_p(path, mode);
	return r < 0 ? r : dir_is_trusted(path);
}

int open_regular_in_root(int root, const char *path)
{
	int p = openat_in_root(root, path, O_PATH);
	if (p < 0)
		return p;
	struct stat st;
	if (fstat(p, &st) < 0) {
		int r = -errno;
		close(p);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(p);
		return -EINVAL;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p);
	int fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int r = fd < 0 ? -errno : fd;
	close(p);
	return r;
}

bool glob_has_wildcard(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			continue;
		}
		if (*s == '*' || *s == '?' || *s == '[')
			return true;
	}
	return false;
}

#define GLOB_MAX_DEPTH 256

static void glob_dir(int dir, const char *prefix, char **comps, size_t n, char ***out, size_t max,
		     int depth)
{
	if (depth > GLOB_MAX_DEPTH || strv_length(*out) >= max)
		return;
	_cleanup_strv_free_ char **names = strv_copy(NULL);
	if (!glob_has_wildcard(comps[0])) {
		_cleanup_free_ char *lit = xstrdup(comps[0]);
		char *o = lit;
		for (const char *c = comps[0]; *c; c++) {
			if (*c == '\\' && c[1])
				c++;
			*o++ = *c;
		}
		*o = '\0';
		names = strv_append(names, lit);
	} else {
		int fd = fcntl(dir, F_DUPFD_CLOEXEC, 3);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d) {
			if (fd >= 0)
				close(fd);
			return;
		}
		for (struct dirent *de; (de = readdir(d));)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			    fnmatch(comps[0], de->d_name, 0) == 0)
				names = strv_append(names, de->d_name);
		closedir(d);
		strv_sort(names);
	}
	for (char **nm = names; *nm && strv_length(*out) < max; nm++) {
		_cleanup_free_ char *p = prefix[0] ? xasprintf("%s/%s", prefix, *nm) : xstrdup(*nm);
		if (n == 1) {
			_cleanup_close_ int there = openat_in_root(dir, *nm, O_PATH);
			if (there >= 0)
				*out = strv_append(*out, p);
			continue;
		}
		_cleanup_close_ int sub = openat_in_root(dir, *nm, O_DIRECTORY | O_RDONLY);
		if (sub >= 0)
			glob_dir(sub, p, comps + 1, n - 1, out, max, depth + 1);
	}
}

char **glob_in_root(int root, const char *pattern, size_t max)
{
	_cleanup_free_ char *copy = xstrdup(pattern);
	_cleanup_strv_free_ char **comps = strv_copy(NULL);
	for (char *save = NULL, *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
		if (strcmp(t, ".") != 0)
			comps = strv_append(comps, t);
	char **out = strv_copy(NULL);
	if (comps[0])
		glob_dir(root, "", comps, strv_length(comps), &out, max, 0);
	return out;
}
