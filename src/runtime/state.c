/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "hashmap.h"
#include "parse-util.h"
#include "state.h"
#include "strv.h"

bool rt_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 128 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_+.-", *p)))
			return false;
	return true;
}

char *rt_container_dir(const char *root, const char *id)
{
	return xasprintf("%s/%s", root, id);
}

char *rt_vm_id(const char *root, const char *id)
{
	/* 64 bits of "<root>/<id>" name a run directory among a host's containers. */
	_cleanup_free_ char *key = rt_container_dir(root, id);
	return xasprintf("%016llx", (unsigned long long)hashmap_hash(key));
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

json_t *rt_state_json(const struct rt_state *st)
{
	json_t *o = json_object();
	const char *status = rt_state_status(st);
	set_str(o, "ociVersion", RT_OCI_VERSION);
	set_str(o, "id", st->id);
	set_str(o, "status", status);
	json_object_set_new(o, "pid", json_integer(strcmp(status, "stopped") == 0 ? 0 : st->pid));
	set_str(o, "bundle", st->bundle);
	set_str(o, "rootfs", st->rootfs);
	set_str(o, "created", st->created);
	set_str(o, "owner", st->owner ? st->owner : "");
	json_object_set_new(o, "annotations",
			    st->annotations ? json_incref(st->annotations) : json_object());
	return o;
}

/* A temporary file beside path, renamed over it: a reader sees all of text or the old file. */
static int write_atomic(const char *path, const char *text, int mode, struct arca_error **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.arca-tmp", path);
	int r = write_file_at(AT_FDCWD, tmp, text, strlen(text), mode);
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return arca_error_errno(err, -r, "write %s", path);
	}
	return 0;
}

int rt_state_write(const char *dir, const struct rt_state *st, struct arca_error **err)
{
	json_t *o = json_object();
	set_str(o, "id", st->id);
	set_str(o, "status", st->status);
	json_object_set_new(o, "pid", json_integer(st->pid));
	json_object_set_new(o, "pid_start", json_integer((json_int_t)st->pid_start));
	set_str(o, "bundle", st->bundle);
	set_str(o, "rootfs", st->rootfs);
	set_str(o, "created", st->created);
	set_str(o, "owner", st->owner);
	set_str(o, "cgroup", st->cgroup);
	set_str(o, "vm_dir", st->vm_dir);
	set_str(o, "netns", st->netns);
	if (st->net_links) {
		json_t *a = json_array();
		for (char **l = st->net_links; *l; l++)
			json_array_append_new(a, json_string(*l));
		json_object_set_new(o, "net_links", a);
	}
	if (st->annotations)
		json_object_set(o, "annotations", st->annotations);
	_cleanup_free_ char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	_cleanup_free_ char *path = xasprintf("%s/state.json", dir);
	return write_atomic(path, text, 0600, err);
}

static char *dup_field(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? xstrdup(v) : NULL;
}

int rt_state_read(const char *root, const char *id, struct rt_state *ret, struct arca_error **err)
{
	if (!rt_id_valid(id))
		return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
				      "container %s does not exist (not a valid id)", id);
	_cleanup_free_ char *dir = rt_container_dir(root, id);
	_cleanup_free_ char *path = xasprintf("%s/state.json", dir);
	_cleanup_free_ char *text = NULL;
	int r = read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL);
	if (r == -ENOENT)
		return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
				      "container %s does not exist", id);
	if (r < 0)
		return arca_error_errno(err, -r, "read %s", path);
	json_t *o = json_loads(text, 0, NULL);
	json_int_t pid = json_integer_value(json_object_get(o, "pid"));
	if (!json_is_object(o) || pid <= 0 || pid > INT32_MAX) {
		json_decref(o);
		return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "%s: not a state file", path);
	}
	*ret = (struct rt_state){
		.id = xstrdup(id),
		.status = dup_field(o, "status"),
		.pid = (pid_t)pid,
		.pid_start = (uint64_t)json_integer_value(json_object_get(o, "pid_start")),
		.bundle = dup_field(o, "bundle"),
		.rootfs = dup_field(o, "rootfs"),
		.created = dup_field(o, "created"),
		.owner = dup_field(o, "owner"),
		.cgroup = dup_field(o, "cgroup"),
		.vm_dir = dup_field(o, "vm_dir"),
		.netns = dup_field(o, "netns"),
		.annotations = json_incref(json_object_get(o, "annotations")),
	};
	json_t *links = json_object_get(o, "net_links"), *l;
	size_t i;
	if (json_is_array(links)) {
		ret->net_links = strv_copy(NULL);
		json_array_foreach(links, i, l) if (json_string_value(l)) ret->net_links =
		    strv_append(ret->net_links, json_string_value(l));
	}
	json_decref(o);
	if (!ret->status)
		ret->status = xstrdup("stopped");
	return 0;
}

void rt_state_done(struct rt_state *st)
{
	free(st->id);
	free(st->status);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->owner);
	free(st->cgroup);
	free(st->vm_dir);
	free(st->netns);
	strv_free(st->net_links);
	json_decref(st->annotations);
	*st = (struct rt_state){ 0 };
}

uint64_t rt_proc_start_time(pid_t pid, bool *ret_zombie)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid);
	_cleanup_free_ char *text = NULL;
	if (ret_zombie)
		*ret_zombie = false;
	if (read_file_at(AT_FDCWD, path, 4096, &text, NULL) < 0)
		return 0;
	/* "pid (comm) S ppid ...": comm may hold anything, so fields count from its last ')'. */
	char *p = strrchr(text, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	if (ret_zombie)
		*ret_zombie = *p == 'Z' || *p == 'X';
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}

const char *rt_state_status(const struct rt_state *st)
{
	bool zombie;
	uint64_t start = rt_proc_start_time(st->pid, &zombie);
	if (start == 0 || zombie || start != st->pid_start)
		return "stopped";
	return st->status;
}

int rt_write_pid_file(const char *path, pid_t pid, struct arca_error **err)
{
	_cleanup_free_ char *text = xasprintf("%d", (int)pid);
	return write_atomic(path, text, 0644, err);
}
