/* SPDX-License-Identifier: Apache-2.0 */
/* src/common: buf, strv, parse-util, error, fd-util. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "cleanup.h"
#include "error.h"
#include "fd-util.h"
#include "parse-util.h"
#include "strv.h"
#include "tap.h"
#include "time-util.h"

static void test_buf(void)
{
	struct buf b = { 0 };
	char big[10000];
	memset(big, 'a', sizeof(big));
	for (int i = 0; i < 100; i++)
		buf_append(&b, big, sizeof(big));
	is_int(buf_len(&b), 1000000, "appends accumulate");
	buf_consume(&b, 999999);
	is_int(buf_len(&b), 1, "consume");
	buf_append(&b, "b", 1);
	ok(memcmp(buf_peek(&b), "ab", 2) == 0, "order kept across compaction");
	buf_consume(&b, 10);
	ok(buf_empty(&b), "over-consume empties");
	buf_done(&b);
	buf_done(&b);
	ok(b.data == NULL, "buf_done twice is safe");
}

static void test_strv(void)
{
	char **l = NULL;
	l = strv_append(l, "a");
	l = strv_append(l, "b");
	is_int(strv_length(l), 2, "strv_append");
	char **c = strv_copy(l);
	is_str(c[1], "b", "strv_copy");
	ok(strv_free(c) == NULL && strv_free(NULL) == NULL, "strv_free, also of NULL");
	strv_free(l);
	_cleanup_strv_free_ char **empty = strv_copy(NULL);
	is_int(strv_length(empty), 0, "copy of NULL is empty");
}

static void test_parse(void)
{
	uint32_t u;
	uint64_t s;
	int i;
	is_int(safe_atou32("4294967295", &u), 0, "u32 max");
	is_int(safe_atou32("4294967296", &u), -ERANGE, "u32 overflow");
	is_int(safe_atou32("-1", &u), -EINVAL, "negative rejected");
	is_int(safe_atou32("12x", &u), -EINVAL, "trailing garbage rejected");
	is_int(safe_atou32("", &u), -EINVAL, "empty rejected");
	is_int(safe_atoi("-12", &i), 0, "signed");
	is_int(i, -12, "signed value");
	is_int(parse_size("512m", &s), 0, "size with unit");
	ok(s == 512ULL << 20, "512m");
	is_int(parse_size("1GB", &s), 0, "GB suffix");
	ok(s == 1ULL << 30, "1GB");
	is_int(parse_size("1x", &s), -EINVAL, "bad unit");
	is_int(parse_size("99999999999999999999", &s), -ERANGE, "overflow");
}

static void test_error(void)
{
	struct arca_error *err = NULL;
	is_int(arca_error_set(&err, ENOENT, ARCA_ERR_NOT_FOUND, "no such thing `%s`", "x"), -ENOENT,
	       "set returns -code");
	is_int(arca_error_set(&err, EIO, ARCA_ERR_INTERNAL, "second"), -EIO, "second set");
	is_str(err->msg, "no such thing `x`", "first error wins");
	is_int(arca_error_wrap(&err, "outer %d", 1), -ENOENT, "wrap returns -code");
	is_str(err->msg, "outer 1: no such thing `x`", "wrap prefixes context");
	is_int(err->kind, ARCA_ERR_NOT_FOUND, "kind kept");
	err = arca_error_free(err);
	ok(err == NULL && arca_error_free(NULL) == NULL, "free, also of NULL");
	is_int(arca_error_set(NULL, EINVAL, ARCA_ERR_INVALID, "dropped"), -EINVAL,
	       "NULL err is allowed");
	is_int(arca_error_wrap(NULL, "x"), -EIO, "wrap of nothing");
	arca_error_errno(&err, -EACCES, "open `%s`", "f");
	is_str(err->msg, "open `f`: Permission denied", "errno text appended");
	arca_error_free(err);
}

static void test_files(void)
{
	char dir[] = "/tmp/arca-test-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	_cleanup_free_ char *deep = xasprintf("%s/a/b/c", dir);
	is_int(mkdir_p(deep, 0755), 0, "mkdir_p");
	is_int(mkdir_p(deep, 0755), 0, "mkdir_p again");
	_cleanup_free_ char *f = xasprintf("%s/a/b/file", dir);
	is_int(write_file_at(AT_FDCWD, f, "hello", 5, 0600), 0, "write_file_at");
	_cleanup_free_ char *s = NULL;
	size_t len = 0;
	is_int(read_file_at(AT_FDCWD, f, 100, &s, &len), 0, "read_file_at");
	is_str(s, "hello", "content");
	free(s);
	s = NULL;
	is_int(read_file_at(AT_FDCWD, f, 3, &s, &len), -EFBIG, "read limit enforced");
	_cleanup_free_ char *link = xasprintf("%s/a/link", dir);
	ok(symlink("/etc", link) == 0, "symlink to outside");
	/* Globbing and opening inside a root: the link to /etc resolves under dir. */
	_cleanup_free_ char *t1 = xasprintf("%s/a/b/one.txt", dir),
			    *t2 = xasprintf("%s/a/b/two.md", dir);
	is_int(write_file_at(AT_FDCWD, t1, "1", 1, 0600), 0, "file one");
	is_int(write_file_at(AT_FDCWD, t2, "2", 1, 0600), 0, "file two");
	int root = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	char **g = glob_in_root(root, "a/*/*.txt", 100);
	ok(strv_length(g) == 1 && strcmp(g[0], "a/b/one.txt") == 0, "glob_in_root: one match");
	strv_free(g);
	g = glob_in_root(root, "/a/b/*", 100);
	ok(strv_length(g) == 4, "glob_in_root: every entry of a/b, sorted");
	strv_free(g);
	g = glob_in_root(root, "a/link/passwd", 100);
	ok(strv_length(g) == 0, "glob_in_root: a symlink to /etc resolves inside the root");
	strv_free(g);
	int fd = openat_in_root(root, "/a/./b/../b/file", O_RDONLY);
	ok(fd >= 0, "openat_in_root: a path with . and ..");
	if (fd >= 0)
		close(fd);
	ok(openat_in_root(root, "a/link/passwd", O_RDONLY) == -ENOENT,
	   "openat_in_root: /etc/passwd is not reached");
	close(root);
	is_int(rm_rf(dir), 0, "rm_rf");
	struct stat st;
	ok(stat(dir, &st) < 0 && errno == ENOENT, "tree gone");
	ok(stat("/etc/passwd", &st) == 0, "rm_rf did not follow the symlink");
	is_int(rm_rf(dir), 0, "rm_rf of a missing path");
}

static void test_time(void)
{
	const int64_t t0 = 1700000000LL * 1000000000LL; /* 2023-11-14T22:13:20Z */
	_cleanup_free_ char *f = time_format_rfc3339(t0 + 5);
	is_str(f, "2023-11-14T22:13:20.000000005Z", "RFC 3339 with nanoseconds");
	is_int(time_parse_rfc3339(f), t0 + 5, "and back");
	is_int(time_parse_rfc3339("2023-11-15T00:13:20+02:00"), t0, "an offset");
	is_int(time_parse_rfc3339("yesterday"), 0, "not a time");
	int64_t v;
	const int64_t now = t0 + 7200LL * 1000000000LL;
	ok(time_parse_docker("1700000000", now, &v) == 0 && v == t0, "epoch seconds");
	ok(time_parse_docker("1700000000.5", now, &v) == 0 && v == t0 + 500000000,
	   "with a fraction");
	ok(time_parse_docker("2h", now, &v) == 0 && v == t0, "a duration before now");
	ok(time_parse_docker("1h30m", now, &v) == 0 && v == t0 + 1800LL * 1000000000LL,
	   "a compound duration");
	ok(time_parse_docker("", now, &v) == 0 && v == 0, "empty: no bound");
	ok(time_parse_docker("0", now, &v) == 0 && v == 0, "0: no bound");
	ok(time_parse_docker("nanh", now, &v) < 0, "NaN refused");
	ok(time_parse_docker("-5m", now, &v) < 0, "negative refused");
	ok(time_parse_docker("5parsecs", now, &v) < 0, "unknown unit");
	ok(time_parse_docker("12abc", now, &v) < 0, "trailing junk");
	char buf[64];
	time_human_duration(3, buf, sizeof(buf));
	is_str(buf, "3 seconds", "human: seconds");
	time_human_duration(3700, buf, sizeof(buf));
	is_str(buf, "About an hour", "human: about an hour");
	ok(time_parse_duration("1m30s", &v) == 0 && v == 90LL * 1000000000LL, "a Go duration");
	ok(time_parse_duration("0", &v) == 0 && v == 0, "0 alone is a duration");
	ok(time_parse_duration("250\u00b5s", &v) == 0 && v == 250000, "microseconds");
	ok(time_parse_duration("-1s", &v) < 0 && time_parse_duration("5", &v) < 0,
	   "no sign, no missing unit");
}

static void test_path_clean(void)
{
	struct {
		const char *in, *out;
	} c[] = { { "/a/./b/../c//", "/a/c" },
		  { "/../x", "/x" },
		  { "a/../../b", "../b" },
		  { "", "." },
		  { "./", "." },
		  { "/", "/" },
		  { "a/b/..", "a" } };
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		_cleanup_free_ char *p = path_clean(c[i].in);
		is_str(p, c[i].out, "path_clean(\"%s\")", c[i].in);
	}
}

int main(void)
{
	test_time();
	test_path_clean();
	test_buf();
	test_strv();
	test_parse();
	test_error();
	test_files();
	return tap_done();
}
