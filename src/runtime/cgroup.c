/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cgroup.h"
#include "cleanup.h"
#include "fd-util.h"
#include "parse-util.h"
#include "strv.h"

#define MAX_HIERARCHIES 32

/* The mount points of the cgroup hierarchies, from mountinfo; *ret_v2 if / is cgroup2. */
static char **hierarchies(bool *ret_v2)
{
	_cleanup_free_ char *text = NULL;
	char **out = strv_copy(NULL);
	*ret_v2 = false;
	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", 4 << 20, &text, NULL) < 0)
		return out;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* id parent maj:min root mountpoint opts ... - fstype source superopts */
		char *sep = strstr(line, " - ");
		char *f[5] = { 0 };
		char *p = line;
		for (int i = 0; i < 5 && p; i++) {
			f[i] = p;
			p = strchr(p, ' ');
			if (p)
				*p++ = '\0';
		}
		if (!sep || !f[4] || strcmp(f[3], "/") != 0 ||
		    strncmp(f[4], "/sys/fs/cgroup", 14) != 0 || strv_length(out) >= MAX_HIERARCHIES)
			continue;
		if (strncmp(sep + 3, "cgroup2 ", 8) == 0) {
			if (strcmp(f[4], "/sys/fs/cgroup") == 0)
				*ret_v2 = true;
			out = strv_append(out, f[4]);
		} else if (strncmp(sep + 3, "cgroup ", 7) == 0) {
			out = strv_append(out, f[4]);
		}
	}
	return out;
}

/* "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice" ("-.slice": the root). */
static int expand_slice(const char *slice, char **ret)
{
	size_t n = strlen(slice);
	if (n < 6 || strcmp(slice + n - 6, ".slice") != 0 || strchr(slice, '/'))
		return -EINVAL;
	char *out = xstrdup("");
	if (strcmp(slice, "-.slice") == 0) {
		*ret = out;
		return 0;
	}
	const char *name_end = slice + n - 6;
	for (const char *p = slice; p <= name_end; p++) {
		if (p != name_end && *p != '-')
			continue;
		if (p == slice || p[-1] == '-') { /* "-a", "a--b": not a slice name */
			free(out);
			return -EINVAL;
		}
		strappendf(&out, "/%.*s.slice", (int)(p - slice), slice);
	}
	*ret = out;
	return 0;
}

int rt_cgroup_path(const char *spec_path, const char *id, char **ret, struct arca_error **err)
{
	_cleanup_free_ char *raw = NULL;
	if (!spec_path) {
		raw = xasprintf("/arca-runtime/%s", id);
	} else if (spec_path[0] != '/' && strchr(spec_path, ':')) {
		_cleanup_free_ char *copy = xstrdup(spec_path), *slice_path = NULL;
		char *prefix = strchr(copy, ':');
		*prefix++ = '\0';
		char *name = strchr(prefix, ':');
		if (!name || strchr(name + 1, ':') ||
		    expand_slice(copy[0] ? copy : "system.slice", &slice_path) < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "linux.cgroupsPath `%s`: not slice:prefix:name",
					      spec_path);
		*name++ = '\0';
		raw = name[0] && strlen(name) > 6 && strcmp(name + strlen(name) - 6, ".slice") == 0
			  ? xasprintf("%s/%s", slice_path, name)
			  : xasprintf("%s/%s%s%s.scope", slice_path, prefix, prefix[0] ? "-" : "",
				      name);
	} else {
		raw = xasprintf("/%s", spec_path);
	}
	char *clean = path_clean(raw);
	/* Lexically cleaned: a `..` stops at the root, which itself is no container's. */
	if (strcmp(clean, "/") == 0) {
		free(clean);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "linux.cgroupsPath `%s`: not a cgroup below the root",
				      spec_path);
	}
	*ret = clean;
	return 0;
}

/* v2: the controllers the cgroup's parents delegate, so memory.max exists in it. */
static void enable_controllers(const char *mount, const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	for (char *slash = copy; (slash = strchr(slash + 1, '/'));) {
		*slash = '\0';
		_cleanup_free_ char *ctl =
		    xasprintf("%s%s/cgroup.subtree_control", mount, copy[0] ? copy : "");
		*slash = '/';
		(void)write_file_at(AT_FDCWD, ctl, "+memory +pids +cpu", 18, 0644);
	}
	_cleanup_free_ char *root_ctl = xasprintf("%s/cgroup.subtree_control", mount);
	(void)write_file_at(AT_FDCWD, root_ctl, "+memory +pids +cpu", 18, 0644);
}

/* v1 cpuset: a new cgroup has no CPUs or memory nodes until given its parent's (as runc does). */
static void cpuset_inherit(const char *mount, const char *path)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	_cleanup_free_ char *copy = xstrdup(path);
	for (char *slash = copy; slash;) {
		slash = strchr(slash + 1, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < ELEMENTSOF(files); i++) {
			_cleanup_free_ char *mine = xasprintf("%s%s/%s", mount, copy, files[i]);
			_cleanup_free_ char *parent_dir = xasprintf("%s%s", mount, copy);
			*strrchr(parent_dir, '/') = '\0';
			_cleanup_free_ char *parent = xasprintf("%s/%s", parent_dir, files[i]);
			_cleanup_free_ char *have = NULL, *want = NULL;
			if (read_file_at(AT_FDCWD, mine, 4096, &have, NULL) < 0 ||
			    have[strspn(have, " \n")] != '\0' ||
			    read_file_at(AT_FDCWD, parent, 4096, &want, NULL) < 0)
				continue;
			(void)write_file_at(AT_FDCWD, mine, want, strlen(want), 0644);
		}
		if (slash)
			*slash = '/';
	}
}

int rt_cgroup_join(const char *path, pid_t pid, struct arca_error **err)
{
	bool v2;
	_cleanup_(strv_freep) char **mounts = hierarchies(&v2);
	char pidbuf[16];
	int n = snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	if (!mounts[0])
		return arca_error_set(err, ENOENT, ARCA_ERR_INTERNAL,
				      "no cgroup hierarchy is mounted under /sys/fs/cgroup");
	for (char **m = mounts; *m; m++) {
		_cleanup_free_ char *dir = xasprintf("%s%s", *m, path);
		_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
		if (v2)
			enable_controllers(*m, path);
		int r = mkdir_p(dir, 0755);
		if (r < 0)
			return arca_error_errno(err, -r, "create cgroup %s", dir);
		if (!v2 && strcmp(strrchr(*m, '/'), "/cpuset") == 0)
			cpuset_inherit(*m, path);
		r = write_file_at(AT_FDCWD, procs, pidbuf, (size_t)n, 0644);
		if (r < 0)
			return arca_error_errno(err, -r, "join cgroup %s", dir);
	}
	return 0;
}

int rt_cgroup_set_memory(const char *path, uint64_t bytes, struct arca_error **err)
{
	bool v2;
	_cleanup_(strv_freep) char **mounts = hierarchies(&v2);
	_cleanup_free_ char *value = xasprintf("%llu", (unsigned long long)bytes);
	for (char **m = mounts; *m; m++) {
		const char *base = strrchr(*m, '/') + 1;
		_cleanup_free_ char *file = v2 ? xasprintf("%s%s/memory.max", *m, path)
					       : xasprintf("%s%s/memory.limit_in_bytes", *m, path);
		if (!v2 && strcmp(base, "memory") != 0)
			continue;
		int r = write_file_at(AT_FDCWD, file, value, strlen(value), 0644);
		if (r < 0)
			return arca_error_errno(err, -r, "set %s", file);
		return 0;
	}
	return arca_error_set(err, ENOENT, ARCA_ERR_INTERNAL,
			      "no memory cgroup controller to limit the VM with");
}

static pid_t *read_pids(const char *file, size_t *ret_n)
{
	_cleanup_free_ char *text = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	*ret_n = 0;
	if (read_file_at(AT_FDCWD, file, 1 << 20, &text, NULL) < 0)
		return NULL;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		int pid;
		if (safe_atoi(l, &pid) < 0 || pid <= 0)
			continue;
		pids = xreallocarray(pids, n + 1, sizeof(*pids));
		pids[n++] = pid;
	}
	*ret_n = n;
	return pids;
}

pid_t *rt_cgroup_pids(const char *path, size_t *ret_n)
{
	bool v2;
	_cleanup_(strv_freep) char **mounts = hierarchies(&v2);
	*ret_n = 0;
	if (!mounts[0])
		return NULL;
	_cleanup_free_ char *file = xasprintf("%s%s/cgroup.procs", mounts[0], path);
	return read_pids(file, ret_n);
}

/* SIGKILLs everything in the cgroup but `except` until nothing else is left; -EBUSY at the
 * deadline. */
static int kill_all(char *const *mounts, const char *path, pid_t except, usec_t deadline)
{
	for (;;) {
		bool any = false;
		for (char *const *m = mounts; *m; m++) {
			_cleanup_free_ char *file = xasprintf("%s%s/cgroup.procs", *m, path);
			size_t n;
			_cleanup_free_ pid_t *pids = read_pids(file, &n);
			for (size_t i = 0; i < n; i++) {
				if (pids[i] == except)
					continue;
				(void)kill(pids[i], SIGKILL);
				any = true;
			}
		}
		if (!any)
			return 0;
		if (now_usec(CLOCK_MONOTONIC) >= deadline)
			return -EBUSY;
		usleep(10 * 1000);
	}
}

void rt_cgroup_kill_others(const char *path, usec_t wait)
{
	bool v2;
	_cleanup_(strv_freep) char **mounts = hierarchies(&v2);
	(void)kill_all(mounts, path, getpid(), now_usec(CLOCK_MONOTONIC) + wait);
}

int rt_cgroup_destroy(const char *path, usec_t wait, struct arca_error **err)
{
	bool v2;
	_cleanup_(strv_freep) char **mounts = hierarchies(&v2);
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + wait;
	if (kill_all(mounts, path, 0, deadline) < 0)
		return arca_error_set(err, EBUSY, ARCA_ERR_INTERNAL,
				      "cgroup %s: processes still in it after SIGKILL", path);
	for (char **m = mounts; *m; m++) {
		_cleanup_free_ char *dir = xasprintf("%s%s", *m, path);
		/* An emptied cgroup may still be busy for a moment (its last exits being reaped).
		 */
		while (rmdir(dir) < 0 && errno == EBUSY && now_usec(CLOCK_MONOTONIC) < deadline)
			usleep(10 * 1000);
	}
	return 0;
}
