/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/image/unpack.c: path cleaning, whiteouts (plain and opaque), hardlinks,
 * overwrites, metadata, and the diff ID. Layers are built with libarchive.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fd-util.h"
#include "tap.h"
#include "unpack.h"

#define MT_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

struct ent {
	const char *name;
	int type;	  /* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink */
	const char *data; /* content, or link target */
	int mode;
};

/* Writes a gzip layer to a temp file and returns its fd. */
static int make_layer(const struct ent *e, size_t n)
{
	char path[] = "/tmp/arca-layer-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	archive_write_open_fd(a, fd);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *x = archive_entry_new();
		archive_entry_set_pathname(x, e[i].name);
		archive_entry_set_mtime(x, 1000000000, 0);
		archive_entry_set_perm(x, e[i].mode ? e[i].mode : 0644);
		size_t len = 0;
		switch (e[i].type) {
		case 'd': archive_entry_set_filetype(x, AE_IFDIR); break;
		case 'l':
			archive_entry_set_filetype(x, AE_IFLNK);
			archive_entry_set_symlink(x, e[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(x, AE_IFREG);
			archive_entry_set_hardlink(x, e[i].data);
			break;
		default:
			archive_entry_set_filetype(x, AE_IFREG);
			len = e[i].data ? strlen(e[i].data) : 0;
			archive_entry_set_size(x, (la_int64_t)len);
		}
		archive_write_header(a, x);
		if (len)
			archive_write_data(a, e[i].data, len);
		archive_entry_free(x);
	}
	archive_write_close(a);
	archive_write_free(a);
	return fd;
}

static int apply(int root, const struct ent *e, size_t n, struct unpack_result *res)
{
	int fd = make_layer(e, n);
	struct arca_error *err = NULL;
	int r = unpack_layer(root, fd, NULL, NULL, NULL, res, &err);
	if (r < 0)
		printf("# unpack: %s\n", err->msg);
	arca_error_free(err);
	close(fd);
	return r;
}

static bool exists(int root, const char *p)
{
	struct stat st;
	return fstatat(root, p, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static char *content(int root, const char *p)
{
	static char buf[256];
	int fd = openat(root, p, O_RDONLY);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* A name of about 2,040 components: unpacked on a thread with the daemon's 8 MiB stack. */
struct deep {
	int root;
	int result;
};

static void *unpack_deep(void *arg)
{
	struct deep *d = arg;
	static char name[4096];
	size_t n = 0;
	while (n + 4 < 4070) {
		memcpy(name + n, "a/", 2);
		n += 2;
	}
	memcpy(name + n, "f", 2);
	struct ent e[] = { { name, 'f', "deep", 0 } };
	struct unpack_result res;
	d->result = apply(d->root, e, 1, &res);
	return NULL;
}

int main(void)
{
	char out[4096];
	is_int(unpack_clean_path("./a//b/./c", out, sizeof(out)), 0, "clean");
	is_str(out, "a/b/c", "cleaned");
	unpack_clean_path("/abs/path/", out, sizeof(out));
	is_str(out, "abs/path", "absolute names are relative to the root");
	unpack_clean_path("a/b/../c", out, sizeof(out));
	is_str(out, "a/c", "inner .. resolved");
	is_int(unpack_clean_path("a/../../x", out, sizeof(out)), -EXDEV, "escape detected");
	is_int(unpack_clean_path("..", out, sizeof(out)), -EXDEV, "bare .. escapes");
	unpack_clean_path("./", out, sizeof(out));
	is_str(out, "", "the root itself");

	char dir[] = "/tmp/arca-unpack-XXXXXX";
	ok(mkdtemp(dir) != NULL, "tree");
	int root = open(dir, O_RDONLY | O_DIRECTORY);
	struct unpack_result res;

	const struct ent l1[] = {
		{ "etc/", 'd', NULL, 0755 },
		{ "etc/keep", 'f', "keep\n", 0 },
		{ "etc/gone", 'f', "gone\n", 0 },
		{ "opt/app/old", 'f', "old\n", 0 }, /* parent dirs created implicitly */
		{ "opt/app/sub/older", 'f', "older\n", 0 },
		{ "bin/tool", 'f', "tool\n", 04755 },
		{ "bin/alias", 'h', "bin/tool", 0 },
		{ "lib", 'l', "usr/lib", 0 },
		{ "f2d", 'f', "file that becomes a dir\n", 0 },
	};
	is_int(apply(root, l1, sizeof(l1) / sizeof(l1[0]), &res), 0, "layer 1 applies");
	is_int(res.entries, 9, "entry count");
	struct stat a, b;
	fstatat(root, "bin/tool", &a, 0);
	fstatat(root, "bin/alias", &b, 0);
	ok(a.st_ino == b.st_ino, "hardlink shares the inode");
	ok((a.st_mode & 07777) == 04755, "setuid mode kept (after chown)");

	const struct ent l2[] = {
		{ "etc/.wh.gone", 'f', NULL, 0 },	{ "opt/app/.wh..wh..opq", 'f', NULL, 0 },
		{ "opt/app/sub/new", 'f', "new\n", 0 }, { "f2d/", 'd', NULL, 0755 },
		{ "etc/keep", 'f', "replaced\n", 0 },
	};
	is_int(apply(root, l2, sizeof(l2) / sizeof(l2[0]), &res), 0, "layer 2 applies");
	ok(!exists(root, "etc/gone") && !exists(root, "etc/.wh.gone"),
	   "whiteout removes, leaves no marker");
	ok(!exists(root, "opt/app/old") && !exists(root, "opt/app/sub/older"),
	   "opaque dir hides everything below from lower layers");
	ok(exists(root, "opt/app/sub/new") && !exists(root, "opt/app/.wh..wh..opq"),
	   "entries of the same layer survive the opaque marker");
	is_str(content(root, "etc/keep"), "replaced\n", "later entries replace files");
	struct stat st;
	ok(fstatat(root, "f2d", &st, 0) == 0 && S_ISDIR(st.st_mode), "a file replaced by a dir");
	ok(exists(root, "lib"), "symlink kept verbatim");

	const struct ent bad[] = { { "../x", 'f', "x", 0 } };
	ok(apply(root, bad, 1, &res) < 0, "escaping entry rejects the layer");
	const struct ent badlink[] = { { "y", 'h', "../../etc/passwd", 0 } };
	ok(apply(root, badlink, 1, &res) < 0, "escaping hardlink rejects the layer");

	/* The diff ID is the sha256 of the uncompressed tar. */
	int fd = make_layer(l1, 1);
	lseek(fd, 0, SEEK_SET);
	struct archive *ar = archive_read_new();
	archive_read_support_filter_all(ar);
	archive_read_support_format_raw(ar);
	archive_read_open_fd(ar, fd, 4096);
	struct archive_entry *x;
	archive_read_next_header(ar, &x);
	struct sha256 h;
	sha256_init(&h);
	char buf[4096];
	la_ssize_t n;
	while ((n = archive_read_data(ar, buf, sizeof(buf))) > 0)
		sha256_update(&h, buf, (size_t)n);
	char want[DIGEST_STR_LEN];
	sha256_final(&h, want);
	archive_read_free(ar);
	lseek(fd, 0, SEEK_SET);
	struct arca_error *err = NULL;
	char dir2[] = "/tmp/arca-unpack2-XXXXXX";
	mkdtemp(dir2);
	int root2 = open(dir2, O_RDONLY | O_DIRECTORY);
	is_int(unpack_layer(root2, fd, NULL, NULL, NULL, &res, &err), 0, "unpack for diff id");
	is_str(res.diff_id, want, "diff ID = sha256 of the uncompressed stream");
	close(fd);

	struct unpack_limits tight = { .max_bytes = 3, .max_entries = 100 };
	fd = make_layer(l1, 2);
	ok(unpack_layer(root2, fd, &tight, NULL, NULL, &res, &err) < 0 &&
	       strstr(err->msg, "too large"),
	   "size bound enforced");
	arca_error_free(err);
	err = NULL;
	close(fd);

	/* A layer is compressed as its media type says, or refused. */
	struct ent one[] = { { "x", 'f', "x", 0 } };
	struct unpack_limits zstd_only = { .max_bytes = 1 << 20,
					   .max_entries = 100,
					   .compression = unpack_compression_of(MT_ZSTD) };
	fd = make_layer(one, 1); /* gzip */
	ok(unpack_layer(root2, fd, &zstd_only, NULL, NULL, &res, &err) < 0 &&
	       strstr(err->msg, "does not allow"),
	   "gzip content under a zstd media type is refused");
	arca_error_free(err);
	err = NULL;
	close(fd);
	struct unpack_limits gzip_only = zstd_only;
	gzip_only.compression = unpack_compression_of(MT_GZIP);
	fd = make_layer(one, 1);
	is_int(unpack_layer(root2, fd, &gzip_only, NULL, NULL, &res, &err), 0,
	       "gzip content under a gzip media type unpacks");
	close(fd);
	ok(unpack_compression_of("application/vnd.oci.image.layer.v1.tar") & UNPACK_PLAIN &&
	       !(unpack_compression_of("application/vnd.oci.image.layer.v1.tar") & UNPACK_GZIP),
	   "a plain tar type allows no gzip");

	/* Depth costs no stack (it was a frame of 4 KiB per missing parent), and removal
	 * works at any depth (it stopped at 256). */
	char dir3[] = "/tmp/arca-unpack3-XXXXXX";
	mkdtemp(dir3);
	struct deep dp = { .root = open(dir3, O_RDONLY | O_DIRECTORY) };
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 8u << 20);
	pthread_t th;
	ok(pthread_create(&th, &attr, unpack_deep, &dp) == 0 && pthread_join(th, NULL) == 0 &&
	       dp.result == 0,
	   "a 2,035-level name unpacks on an 8 MiB stack");
	pthread_attr_destroy(&attr);
	close(dp.root);
	is_int(rm_rf(dir3), 0, "rm_rf removes a 2,035-level tree");
	struct stat gone;
	ok(stat(dir3, &gone) < 0 && errno == ENOENT, "nothing of it is left");

	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, dir2);
	(void)!system(cmd);
	return tap_done();
}
