/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest's stat and changes outputs (container-fs-parse.h). Both are
 * fuzzed (tests/fuzz/fuzz-fs-parse.c); the changes of a hostile guest cost
 * O(n log n) whatever their number.
 */
#include "container-fs-parse.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "cleanup.h"
#include "time-util.h"

#define MTIME_MAX 253402300799ull /* 9999-12-31T23:59:59Z */

/* --- stat: "size|rawmode|mtime|%N" from busybox stat, to Docker's PathStat --- */

static uint32_t go_file_mode(uint32_t m)
{
	uint32_t go = m & 0777;
	switch (m & S_IFMT) {
	case S_IFDIR: go |= 1u << 31; break;
	case S_IFLNK: go |= 1u << 27; break;
	case S_IFIFO: go |= 1u << 25; break;
	case S_IFSOCK: go |= 1u << 24; break;
	case S_IFBLK: go |= 1u << 26; break;
	case S_IFCHR: go |= 1u << 26 | 1u << 21; break;
	default: break;
	}
	if (m & S_ISUID)
		go |= 1u << 23;
	if (m & S_ISGID)
		go |= 1u << 22;
	if (m & S_ISVTX)
		go |= 1u << 20;
	return go;
}

json_t *container_fs_parse_stat(const char *path, const char *text, size_t len, uint32_t *ret_mode)
{
	_cleanup_free_ char *s = xstrndup(text, len);
	unsigned long long size, mtime;
	unsigned mode;
	int used = 0;
	if (sscanf(s, "%llu|%x|%llu|%n", &size, &mode, &mtime, &used) != 3 || !used)
		return NULL;
	if (size > INT64_MAX)
		return NULL;
	const char *named = s + used;
	const char *arrow = strstr(named, "' -> '");
	_cleanup_free_ char *target = NULL;
	if (arrow) {
		const char *t = arrow + 6;
		const char *end = strrchr(t, '\'');
		target = end ? xstrndup(t, (size_t)(end - t)) : xstrdup(t);
	}
	_cleanup_free_ char *mt =
	    time_format_rfc3339((nsec_t)(mtime < MTIME_MAX ? mtime : MTIME_MAX) * NSEC_PER_SEC);
	const char *base = strrchr(path, '/');
	base = base && base[1] ? base + 1 : "/";
	/* NULL when a name is not UTF-8: the caller reports it. */
	json_t *st = json_pack("{s:s, s:I, s:I, s:s, s:s}", "name", base, "size", (json_int_t)size,
			       "mode", (json_int_t)go_file_mode(mode), "mtime", mt, "linkTarget",
			       target ? target : "");
	if (st)
		*ret_mode = mode;
	return st;
}

/* --- changes: the upper directory against the image --- */

struct change {
	const char *path; /* into the caller's copy of the text */
	int kind;
};

/* Mount points and files the daemon provides are not the container's changes. */
static bool hidden_change(const char *p)
{
	/* (The init layer's paths: dockerd keeps that layer apart from the container's.) */
	static const char *const hide[] = { "/proc",	    "/sys",	     "/dev",
					    "/dev/console", "/dev/pts",	     "/dev/shm",
					    "/etc/hosts",   "/etc/hostname", "/etc/resolv.conf",
					    "/etc/mtab",    "/.dockerenv" };
	for (size_t i = 0; i < ELEMENTSOF(hide); i++)
		if (strcmp(p, hide[i]) == 0)
			return true;
	return false;
}

static bool has_child(const char *parent, const char *path)
{
	size_t n = strlen(parent);
	return strncmp(path, parent, n) == 0 && path[n] == '/';
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

/* Does any of the n sorted changes lie below parent? (A binary search for "parent/".) */
static bool any_child(const struct change *c, size_t n, const char *parent)
{
	_cleanup_free_ char *prefix = xasprintf("%s/", parent);
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(c[mid].path, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && has_child(parent, c[lo].path);
}

json_t *container_fs_parse_changes(const char *data, size_t len)
{
	_cleanup_free_ char *text = xstrndup(data, len);
	size_t n = 0, cap = 64;
	_cleanup_free_ struct change *c = xnew0(struct change, cap);
	const char *hidden[16];
	size_t n_hidden = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strlen(line) < 3 || line[1] != ' ' || line[0] < '0' || line[0] > '2')
			continue;
		const char *p = line + 2;
		if (hidden_change(p)) {
			bool seen = false;
			for (size_t i = 0; i < n_hidden && !seen; i++)
				seen = strcmp(hidden[i], p) == 0;
			if (!seen && n_hidden < ELEMENTSOF(hidden))
				hidden[n_hidden++] = p;
			continue;
		}
		if (n == cap)
			c = xreallocarray(c, cap *= 2, sizeof(*c));
		c[n++] = (struct change){ .path = p, .kind = line[0] - '0' };
	}
	qsort(c, n, sizeof(*c), by_path);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		/* "C /etc" only because of /etc/hosts (ours, hidden) is no change either. */
		if (c[i].kind == 0) {
			bool only_hidden = false;
			for (size_t h = 0; h < n_hidden && !only_hidden; h++)
				only_hidden = has_child(c[i].path, hidden[h]);
			if (only_hidden && !any_child(c, n, c[i].path))
				continue;
		}
		json_t *item = json_pack("{s:s, s:i}", "Path", c[i].path, "Kind", c[i].kind);
		if (item) /* NULL: not UTF-8 */
			json_array_append_new(arr, item);
	}
	return arr;
}
