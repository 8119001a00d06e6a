/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mkfs.ext4 -d populates a new filesystem from a directory (libext2fs's
 * populate_fs): owners, modes, xattrs, device nodes, hardlinks and sparse
 * files are copied as they are. The image is sized from the tree with room
 * to spare (it is sparse, so spare room costs nothing on disk) and built
 * again at twice the size if mkfs still runs out of space.
 */
#include "ext4.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "exec-util.h"

#define MIB (1024ULL * 1024ULL)

struct tree_usage {
	uint64_t bytes;
	uint64_t inodes;
};

/* Sums what the tree below dirfd will need: data blocks and inodes. Never follows links. */
static int tree_usage(int dir_fd, struct tree_usage *u, int depth)
{
	if (depth > 512)
		return -ELOOP;
	DIR *d = fdopendir(dir_fd);
	if (!d) {
		close(dir_fd);
		return -errno;
	}
	int r = 0;
	struct dirent *de;
	while (r >= 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		u->inodes++;
		if (S_ISREG(st.st_mode))
			u->bytes += ((uint64_t)st.st_blocks * 512 + 4095) / 4096 * 4096;
		else if (S_ISLNK(st.st_mode) && st.st_size > 59)
			u->bytes += 4096;
		else if (S_ISDIR(st.st_mode)) {
			u->bytes += 4096;
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? -errno : tree_usage(sub, u, depth + 1);
		}
	}
	closedir(d);
	return r;
}

static void uuid_from_seed(const char *seed, char out[37])
{
	/* 8-4-4-4-12 from the first 32 hex digits, with RFC 4122 version/variant bits. */
	char h[33] = "00000000000000000000000000000000";
	size_t n = seed ? strlen(seed) : 0;
	memcpy(h, seed ? seed : h, MIN(n, (size_t)32));
	h[12] = '4';
	h[16] = "89ab"[(h[16] >= 'a' ? h[16] - 'a' + 10 : h[16] - '0') & 3];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static int mkfs(const char *tree, const char *out, uint64_t size, uint64_t inodes, const char *seed,
		char **ret_stderr)
{
	char uuid[37], sizearg[32], inodearg[32], hashseed[64];
	uuid_from_seed(seed, uuid);
	snprintf(sizearg, sizeof(sizearg), "%lluk", (unsigned long long)(size / 1024));
	snprintf(inodearg, sizeof(inodearg), "%llu", (unsigned long long)inodes);
	snprintf(hashseed, sizeof(hashseed), "hash_seed=%s", uuid);
	const char *argv[] = {
		"mkfs.ext4", "-q",	   "-F",     "-t",  "ext4",
		"-b",	     "4096",	   "-I",     "256", "-m",
		"0",	     "-N",	   inodearg, "-O",  "^has_journal,^resize_inode",
		"-L",	     "arca-image", "-U",     uuid,  "-E",
		hashseed,    "-d",	   tree,     out,   sizearg,
		NULL,
	};
	/* Fixed superblock times: the same tree gives the same image. */
	const char *env[] = { "E2FSPROGS_FAKE_TIME=1", NULL };
	return run_command(argv, env, ret_stderr);
}

/*
 * mkfs.ext4 always makes /lost+found; a container's root should show only
 * what its image holds, as on dockerd. Removed unless the image has one.
 * Cosmetic, so a failure is ignored (fsck-style tools do not need it on a
 * read-only image).
 */
static void drop_lost_found(const char *tree, const char *image)
{
	_cleanup_free_ char *own = xasprintf("%s/lost+found", tree);
	if (faccessat(AT_FDCWD, own, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return;
	const char *argv[] = { "debugfs", "-w", "-R", "rmdir /lost+found", image, NULL };
	const char *env[] = { "E2FSPROGS_FAKE_TIME=1", NULL };
	_cleanup_free_ char *msg = NULL;
	(void)run_command(argv, env, &msg);
}

int ext4_build_image(const char *tree, const char *out_path, const char *seed, uint64_t *ret_size,
		     struct arca_error **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp", out_path);
	struct tree_usage u = { 0 };
	int dfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dfd < 0 ? -errno : tree_usage(dfd, &u, 0);
	if (r < 0)
		return arca_error_errno(err, r, "scan `%s`", tree);

	uint64_t inodes = u.inodes + u.inodes / 4 + 256;
	uint64_t size = u.bytes + u.bytes / 4 + inodes * 256 + 32 * MIB;
	size = (size + MIB - 1) / MIB * MIB;
	for (int attempt = 0; attempt < 3; attempt++, size *= 2) {
		_cleanup_free_ char *msg = NULL;
		(void)unlink(tmp);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			return arca_error_errno(err, errno, "create `%s`", tmp);
		close(fd);
		int st = mkfs(tree, tmp, size, inodes, seed, &msg);
		if (st < 0)
			return arca_error_errno(err, st, "run mkfs.ext4");
		if (st != 0) {
			bool space = msg && (strstr(msg, "No space") || strstr(msg, "allocate"));
			if (space && attempt < 2)
				continue;
			(void)unlink(tmp);
			return arca_error_set(err, EIO, ARCA_ERR_INTERNAL,
					      "mkfs.ext4 failed (status %d): %s", st,
					      msg ? msg : "");
		}
		drop_lost_found(tree, tmp);
		fd = open(tmp, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			(void)unlink(tmp);
			return arca_error_errno(err, e, "fsync `%s`", tmp);
		}
		close(fd);
		if (rename(tmp, out_path) < 0) {
			int e = errno;
			(void)unlink(tmp);
			return arca_error_errno(err, e, "install `%s`", out_path);
		}
		if (ret_size)
			*ret_size = size;
		return 0;
	}
	(void)unlink(tmp);
	return arca_error_set(err, ENOSPC, ARCA_ERR_INTERNAL, "mkfs.ext4 ran out of space");
}

/* Runs an e2fsprogs tool on the disk at path; the disk goes when it fails. */
static int run_on(const char *const *argv, const char *path, struct arca_error **err)
{
	_cleanup_free_ char *msg = NULL;
	int st = run_command(argv, NULL, &msg);
	if (st == 0)
		return 0;
	(void)unlink(path);
	return st < 0 ? arca_error_errno(err, st, "run %s", argv[0])
		      : arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "%s failed (status %d): %s",
				       argv[0], st, msg);
}

static int create_sparse(const char *path, uint64_t size, const char *label,
			 struct arca_error **err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return arca_error_errno(err, errno, "create `%s`", path);
	if (ftruncate(fd, (off_t)size) < 0) {
		int r = errno;
		(void)unlink(path);
		return arca_error_errno(err, r, "size `%s`", path);
	}
	const char *argv[] = { "mkfs.ext4",
			       "-q",
			       "-F",
			       "-t",
			       "ext4",
			       "-m",
			       "0",
			       "-L",
			       label,
			       "-E",
			       "lazy_itable_init=1,lazy_journal_init=1",
			       path,
			       NULL };
	return run_on(argv, path, err);
}

int ext4_create_writable(const char *path, uint64_t size, struct arca_error **err)
{
	return create_sparse(path, size, "arca-rw", err);
}

int ext4_create_volume(const char *path, uint64_t size, struct arca_error **err)
{
	int r = create_sparse(path, size, "arca-volume", err);
	if (r < 0)
		return r;
	const char *argv[] = { "debugfs", "-w", "-R", "rmdir /lost+found", path, NULL };
	return run_on(argv, path, err);
}
