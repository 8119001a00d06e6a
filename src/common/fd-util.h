/* SPDX-License-Identifier: Apache-2.0 */
/* File-descriptor helpers. All return 0 / a count on success and -errno on failure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int fd_set_nonblock(int fd, bool nonblock);
int fd_set_cloexec(int fd, bool cloexec);
/* Write all n bytes, retrying on EINTR (and polling on EAGAIN). */
int loop_write(int fd, const void *p, size_t n);
/* Read up to n bytes, retrying on EINTR and short reads until EOF. Returns bytes read. */
ssize_t loop_read(int fd, void *p, size_t n);
/* Read a whole (small) file into a NUL-terminated string, at most max bytes. */
int read_file_at(int dir_fd, const char *path, size_t max, char **ret, size_t *ret_len);
/* Write a string to a file (O_WRONLY|O_TRUNC|O_CLOEXEC, creating it with mode). */
int write_file_at(int dir_fd, const char *path, const void *p, size_t n, int mode);
/* Create a directory and its parents (like mkdir -p). */
int mkdir_p(const char *path, int mode);
/*
 * A directory others cannot tamper with: a real directory (not a symlink),
 * owned by us or root, and writable by no one else unless sticky (as /tmp).
 * -EPERM otherwise; -errno when it cannot be checked.
 */
int dir_is_trusted(const char *path);
/* mkdir_p, then dir_is_trusted on path itself. */
int mkdir_trusted(const char *path, int mode);
/* Remove a directory tree (no symlinks followed); missing is not an error. */
int rm_rf(const char *path);
/* The same for the entry `name` of dir_fd; never follows a symlink. */
int rm_rf_at(int dir_fd, const char *name);
/* Bytes a tree takes on disk (allocated blocks: sparse files count as they are), walked
 * without following symlinks; what cannot be read counts 0. */
int64_t disk_usage_at(int dir_fd, const char *name);
/*
 * openat2 with RESOLVE_IN_ROOT (and no magic links, no mount crossing): path
 * (leading slashes dropped; "" is root itself) resolves as if root were "/",
 * symlinks included. O_CLOEXEC is added. Returns the fd or -errno.
 */
int openat_in_root(int root, const char *path, int flags);
/*
 * A regular file under root (openat_in_root), opened for reading only once
 * it is known to be one: a FIFO never blocks, a device is never opened.
 * -EINVAL for anything else.
 */
int open_regular_in_root(int root, const char *path);
/* Does a glob pattern hold an unescaped * ? or [ ? */
bool glob_has_wildcard(const char *pattern);
/*
 * The paths under root (relative, sorted per directory) whose components
 * match pattern's ("*" and "?" within one component, "[...]", "\" escapes,
 * as Go's filepath.Match), resolved inside root; at most max of them.
 */
char **glob_in_root(int root, const char *pattern, size_t max);
