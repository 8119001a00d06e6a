/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.json → struct rt_spec. Field by field, each checked for its type;
 * what arca-runtime cannot honour is refused here, before any VM exists.
 */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "alloc.h"
#include "cleanup.h"
#include "spec.h"
#include "strv.h"

#define MAX_ARGS    65536
#define MAX_STR_LEN 65536

/* fmt is a literal with one %s: the field. */
#define invalid(err, fmt, field) arca_error_set(err, EINVAL, ARCA_ERR_INVALID, fmt, field)

/* An optional string field: NULL when absent; an error when not a string. */
static int get_str(json_t *obj, const char *key, const char *field, char **ret,
		   struct arca_error **err)
{
	json_t *v = json_object_get(obj, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > MAX_STR_LEN ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return invalid(err, "config.json: %s must be a string", field);
	*ret = xstrdup(json_string_value(v));
	return 0;
}

static int get_strv(json_t *obj, const char *key, const char *field, char ***ret,
		    struct arca_error **err)
{
	json_t *arr = json_object_get(obj, key), *v;
	size_t i;
	*ret = strv_copy(NULL);
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > MAX_ARGS)
		return invalid(err, "config.json: %s must be an array of strings", field);
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return invalid(err, "config.json: %s must be an array of strings", field);
		*ret = strv_append(*ret, json_string_value(v));
	}
	return 0;
}

static int get_u32(json_t *obj, const char *key, const char *field, uint32_t *ret,
		   struct arca_error **err)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX)
		return invalid(err, "config.json: %s must be a 32-bit unsigned integer", field);
	*ret = (uint32_t)json_integer_value(v);
	return 0;
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

static int parse_rlimits(json_t *process, struct rt_spec *s, struct arca_error **err)
{
	json_t *arr = json_object_get(process, "rlimits"), *v;
	size_t i;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > RT_MAX_RLIMITS)
		return invalid(err, "config.json: %s must be an array of at most 32 limits",
			       "process.rlimits");
	json_array_foreach(arr, i, v)
	{
		const char *type = json_string_value(json_object_get(v, "type"));
		json_t *soft = json_object_get(v, "soft"), *hard = json_object_get(v, "hard");
		int resource = -1;
		for (size_t k = 0; type && k < ELEMENTSOF(rlimit_names); k++)
			if (strcmp(type, rlimit_names[k].name) == 0)
				resource = rlimit_names[k].resource;
		if (resource < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "config.json: process.rlimits: unknown type `%s`",
					      type ? type : "(none)");
		/* JSON integers are signed: RLIM_INFINITY arrives as -1 or a huge value. */
		if (!json_is_integer(soft) || !json_is_integer(hard))
			return invalid(err, "config.json: %s: soft and hard must be integers",
				       "process.rlimits");
		s->rlimits[s->n_rlimits++] = (struct guest_rlimit){
			.resource = (uint32_t)resource,
			.soft = (uint64_t)json_integer_value(soft),
			.hard = (uint64_t)json_integer_value(hard),
		};
	}
	return 0;
}

static void note_unapplied(struct rt_spec *s, const char *where, const char *field)
{
	char *n = xasprintf("%s%s%s%s", s->not_applied ? s->not_applied : "",
			    s->not_applied ? ", " : "", where, field);
	free(s->not_applied);
	s->not_applied = n;
}

static int parse_process(json_t *process, struct rt_spec *s, struct arca_error **err)
{
	json_t *user = json_object_get(process, "user"), *size;
	if (!json_is_object(process))
		return invalid(err, "config.json: %s is missing", "process");
	if (get_strv(process, "args", "process.args", &s->args, err) < 0 ||
	    get_strv(process, "env", "process.env", &s->env, err) < 0 ||
	    get_str(process, "cwd", "process.cwd", &s->cwd, err) < 0)
		return -EINVAL;
	if (!s->args[0] || !s->args[0][0])
		return invalid(err, "config.json: %s must name a program", "process.args");
	if (!s->cwd || s->cwd[0] != '/')
		return invalid(err, "config.json: %s must be an absolute path", "process.cwd");
	for (char **e = s->env; *e; e++)
		if (!strchr(*e, '='))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "config.json: process.env: `%s` is not KEY=VALUE",
					      *e);
	if (user && !json_is_object(user))
		return invalid(err, "config.json: %s must be an object", "process.user");
	if (get_u32(user, "uid", "process.user.uid", &s->uid, err) < 0 ||
	    get_u32(user, "gid", "process.user.gid", &s->gid, err) < 0)
		return -EINVAL;
	if (json_object_get(user, "username"))
		return invalid(err, "config.json: %s is for Windows", "process.user.username");
	json_t *gids = json_object_get(user, "additionalGids"), *g;
	size_t i;
	s->additional_gids = strv_copy(NULL);
	if (gids && (!json_is_array(gids) || json_array_size(gids) > 65536))
		return invalid(err, "config.json: %s must be an array of integers",
			       "process.user.additionalGids");
	json_array_foreach(gids, i, g)
	{
		if (!json_is_integer(g) || json_integer_value(g) < 0 ||
		    json_integer_value(g) > (json_int_t)UINT32_MAX)
			return invalid(err, "config.json: %s must be an array of integers",
				       "process.user.additionalGids");
		s->additional_gids = strv_append_take(
		    s->additional_gids, xasprintf("%lld", (long long)json_integer_value(g)));
	}
	json_t *terminal = json_object_get(process, "terminal");
	if (terminal && !json_is_boolean(terminal))
		return invalid(err, "config.json: %s must be a boolean", "process.terminal");
	s->terminal = json_is_true(terminal);
	if ((size = json_object_get(process, "consoleSize"))) {
		uint32_t h = 0, w = 0;
		if (get_u32(size, "height", "process.consoleSize.height", &h, err) < 0 ||
		    get_u32(size, "width", "process.consoleSize.width", &w, err) < 0)
			return -EINVAL;
		s->rows = h > 65535 ? 65535 : h;
		s->cols = w > 65535 ? 65535 : w;
	}
	static const char *const unapplied[] = { "capabilities", "apparmorProfile", "selinuxLabel",
						 "noNewPrivileges", "oomScoreAdj" };
	for (size_t k = 0; k < ELEMENTSOF(unapplied); k++)
		if (json_object_get(process, unapplied[k]))
			note_unapplied(s, "process.", unapplied[k]);
	return parse_rlimits(process, s, err);
}

static const struct {
	const char *name;
	unsigned long set, clear;
} mount_flags[] = {
	{ "ro", MS_RDONLY, 0 },
	{ "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },
	{ "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },
	{ "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },
	{ "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 },
	{ "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },
	{ "noatime", MS_NOATIME, 0 },
	{ "atime", 0, MS_NOATIME },
	{ "nodiratime", MS_NODIRATIME, 0 },
	{ "diratime", 0, MS_NODIRATIME },
	{ "relatime", MS_RELATIME, 0 },
	{ "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, 0 },
	{ "nostrictatime", 0, MS_STRICTATIME },
	{ "bind", MS_BIND, 0 },
	{ "rbind", MS_BIND | MS_REC, 0 },
};

/* Propagation inside the VM is the guest's own affair: nothing of it reaches the host. */
static const char *const propagation[] = {
	"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
};

static int parse_mount_options(json_t *opts, struct rt_mount *m, struct arca_error **err)
{
	json_t *v;
	size_t i;
	if (opts && !json_is_array(opts))
		return invalid(err, "config.json: %s must be an array of strings",
			       "mounts[].options");
	json_array_foreach(opts, i, v)
	{
		const char *o = json_string_value(v);
		bool known = false;
		if (!o || strlen(o) != json_string_length(v) || strchr(o, ','))
			return invalid(err, "config.json: %s must be an array of strings",
				       "mounts[].options");
		for (size_t k = 0; k < ELEMENTSOF(mount_flags); k++)
			if (strcmp(o, mount_flags[k].name) == 0) {
				m->flags = (m->flags | mount_flags[k].set) & ~mount_flags[k].clear;
				known = true;
			}
		for (size_t k = 0; k < ELEMENTSOF(propagation); k++)
			known |= strcmp(o, propagation[k]) == 0;
		if (known)
			continue;
		char *d = xasprintf("%s%s%s", m->data ? m->data : "", m->data ? "," : "", o);
		free(m->data);
		m->data = d;
	}
	return 0;
}

static const char *const mount_types[] = {
	"bind", "proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2",
};

static int parse_mount(json_t *j, struct rt_mount *m, struct arca_error **err)
{
	if (!json_is_object(j))
		return invalid(err, "config.json: %s must be objects", "mounts[]");
	if (get_str(j, "destination", "mounts[].destination", &m->destination, err) < 0 ||
	    get_str(j, "type", "mounts[].type", &m->type, err) < 0 ||
	    get_str(j, "source", "mounts[].source", &m->source, err) < 0 ||
	    parse_mount_options(json_object_get(j, "options"), m, err) < 0)
		return -EINVAL;
	if (!m->destination || m->destination[0] != '/')
		return invalid(err, "config.json: %s must be an absolute path",
			       "mounts[].destination");
	char *clean = path_clean(m->destination);
	free(m->destination);
	m->destination = clean;
	if (m->flags & MS_BIND) {
		free(m->type);
		m->type = xstrdup("bind");
	}
	if (!m->type)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "config.json: the mount on %s has no type", m->destination);
	bool known = false;
	for (size_t k = 0; k < ELEMENTSOF(mount_types); k++)
		known |= strcmp(m->type, mount_types[k]) == 0;
	if (!known)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "config.json: the mount on %s has type `%s`, which "
				      "arca-runtime does not mount in a VM",
				      m->destination, m->type);
	if (strcmp(m->type, "bind") == 0) {
		m->flags |= MS_BIND;
		if (!m->source || !m->source[0])
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "config.json: the bind mount on %s has no source",
					      m->destination);
	}
	return 0;
}

static int parse_mounts(json_t *root, struct rt_spec *s, struct arca_error **err)
{
	json_t *arr = json_object_get(root, "mounts"), *v;
	size_t i;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > RT_MAX_MOUNTS)
		return invalid(err, "config.json: %s must be an array of at most 128 mounts",
			       "mounts");
	s->mounts = xnew0(struct rt_mount, json_array_size(arr) + 1);
	json_array_foreach(arr, i, v)
	{
		int r = parse_mount(v, &s->mounts[i], err);
		s->n_mounts = i + 1; /* freed by rt_spec_done even when half parsed */
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_namespaces(json_t *linux_, struct rt_spec *s, struct arca_error **err)
{
	json_t *arr = json_object_get(linux_, "namespaces"), *v;
	size_t i;
	if (arr && !json_is_array(arr))
		return invalid(err, "config.json: %s must be an array", "linux.namespaces");
	json_array_foreach(arr, i, v)
	{
		const char *type = json_string_value(json_object_get(v, "type"));
		_cleanup_free_ char *path = NULL;
		if (!type)
			return invalid(err, "config.json: %s needs a type", "linux.namespaces[]");
		if (get_str(v, "path", "linux.namespaces[].path", &path, err) < 0)
			return -EINVAL;
		if (strcmp(type, "network") == 0) {
			if (path && path[0] != '/')
				return invalid(err, "config.json: %s must be an absolute path",
					       "the network namespace's path");
			s->netns_new = !path;
			s->netns_path = TAKE_PTR(path);
		} else if (strcmp(type, "user") == 0) {
			return invalid(err,
				       "config.json: %s: user namespaces (uid mappings) are "
				       "not supported: the VM is the container's boundary",
				       "linux.namespaces");
		}
		/* pid, ipc, uts, mount, cgroup, time: the VM gives the container its own. */
	}
	if (!s->netns_new && !s->netns_path)
		return invalid(err,
			       "config.json: %s has no network namespace: host networking "
			       "cannot reach into a VM",
			       "linux.namespaces");
	return 0;
}

static int parse_resources(json_t *linux_, struct rt_spec *s, struct arca_error **err)
{
	json_t *res = json_object_get(linux_, "resources");
	json_t *mem = json_object_get(res, "memory"), *cpu = json_object_get(res, "cpu");
	json_t *limit = json_object_get(mem, "limit");
	if (limit && !json_is_null(limit)) {
		if (!json_is_integer(limit))
			return invalid(err, "config.json: %s must be an integer",
				       "linux.resources.memory.limit");
		/* -1: unlimited. */
		s->memory_limit = json_integer_value(limit) > 0 ? json_integer_value(limit) : 0;
	}
	json_t *quota = json_object_get(cpu, "quota"), *period = json_object_get(cpu, "period");
	if (quota && json_is_integer(quota) && json_integer_value(quota) > 0) {
		s->cpu_quota = json_integer_value(quota);
		s->cpu_period = json_is_integer(period) && json_integer_value(period) > 0
				    ? (uint64_t)json_integer_value(period)
				    : 100000;
	}
	return 0;
}

static int parse_linux(json_t *root, struct rt_spec *s, struct arca_error **err)
{
	json_t *linux_ = json_object_get(root, "linux");
	if (!json_is_object(linux_))
		return invalid(
		    err, "config.json: %s is missing: arca-runtime runs Linux containers", "linux");
	if (get_str(linux_, "cgroupsPath", "linux.cgroupsPath", &s->cgroups_path, err) < 0 ||
	    get_strv(linux_, "maskedPaths", "linux.maskedPaths", &s->masked_paths, err) < 0 ||
	    get_strv(linux_, "readonlyPaths", "linux.readonlyPaths", &s->readonly_paths, err) < 0)
		return -EINVAL;
	if (s->cgroups_path && !s->cgroups_path[0]) {
		free(s->cgroups_path);
		s->cgroups_path = NULL;
	}
	json_t *uid_maps = json_object_get(linux_, "uidMappings");
	if (json_array_size(uid_maps) > 0)
		return invalid(err, "config.json: %s: user namespaces are not supported",
			       "linux.uidMappings");
	if (parse_namespaces(linux_, s, err) < 0)
		return -EINVAL;
	static const char *const unapplied[] = { "seccomp", "sysctl", "mountLabel", "intelRdt",
						 "personality" };
	for (size_t i = 0; i < ELEMENTSOF(unapplied); i++)
		if (json_object_get(linux_, unapplied[i]))
			note_unapplied(s, "linux.", unapplied[i]);
	return parse_resources(linux_, s, err);
}

int rt_spec_parse(const char *data, size_t len, struct rt_spec *ret, struct arca_error **err)
{
	struct rt_spec s = { 0 };
	json_error_t jerr;
	int r;
	if (len > RT_SPEC_MAX_BYTES)
		return invalid(err, "config.json: larger than %s", "4 MiB");
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "config.json: %s (line %d)",
				      jerr.text, jerr.line);
	if (!json_is_object(root)) {
		r = invalid(err, "config.json: %s", "not a JSON object");
		goto out;
	}
	json_t *root_obj = json_object_get(root, "root");
	json_t *ro = json_object_get(root_obj, "readonly");
	if ((r = parse_process(json_object_get(root, "process"), &s, err)) < 0 ||
	    (r = get_str(root_obj, "path", "root.path", &s.root_path, err)) < 0 ||
	    (r = get_str(root, "hostname", "hostname", &s.hostname, err)) < 0 ||
	    (r = parse_mounts(root, &s, err)) < 0 || (r = parse_linux(root, &s, err)) < 0)
		goto out;
	if (!s.root_path || !s.root_path[0]) {
		r = invalid(err, "config.json: %s is missing", "root.path");
		goto out;
	}
	if (ro && !json_is_boolean(ro)) {
		r = invalid(err, "config.json: %s must be a boolean", "root.readonly");
		goto out;
	}
	s.root_readonly = json_is_true(ro);
	/* Hooks run on the host, in namespaces the container does not have here. */
	const char *hook;
	json_t *hv;
	json_object_foreach(json_object_get(root, "hooks"), hook, hv) if (json_array_size(hv) > 0)
	{
		r = arca_error_set(err, ENOTSUP, ARCA_ERR_INVALID,
				   "config.json: hooks.%s: OCI hooks are not supported by "
				   "arca-runtime",
				   hook);
		goto out;
	}
	json_t *ann = json_object_get(root, "annotations");
	if (ann && !json_is_object(ann)) {
		r = invalid(err, "config.json: %s must be an object", "annotations");
		goto out;
	}
	s.annotations = ann ? json_incref(ann) : json_object();
	*ret = s;
	s = (struct rt_spec){ 0 };
	r = 0;
out:
	rt_spec_done(&s);
	json_decref(root);
	return r;
}

void rt_spec_done(struct rt_spec *s)
{
	strv_free(s->args);
	strv_free(s->env);
	free(s->cwd);
	free(s->not_applied);
	strv_free(s->additional_gids);
	free(s->root_path);
	free(s->hostname);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].data);
	}
	free(s->mounts);
	strv_free(s->masked_paths);
	strv_free(s->readonly_paths);
	free(s->cgroups_path);
	free(s->netns_path);
	json_decref(s->annotations);
	*s = (struct rt_spec){ 0 };
}

char *rt_spec_user(const struct rt_spec *s)
{
	return xasprintf("%u:%u", s->uid, s->gid);
}

unsigned rt_spec_vm_memory_mb(const struct rt_spec *s, unsigned default_mb)
{
	if (s->memory_limit <= 0)
		return default_mb;
	/* The limit, rounded up to whole MiB, and never below what a guest boots in. */
	uint64_t mb = ((uint64_t)s->memory_limit + (1u << 20) - 1) >> 20;
	return mb < 128 ? 128 : mb > 65536 ? 65536 : (unsigned)mb;
}

unsigned rt_spec_vm_cpus(const struct rt_spec *s)
{
	if (s->cpu_quota <= 0 || s->cpu_period == 0)
		return 1;
	uint64_t n = ((uint64_t)s->cpu_quota + s->cpu_period - 1) / s->cpu_period;
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

int rt_process_parse(const char *data, size_t len, struct rt_spec *ret, struct arca_error **err)
{
	struct rt_spec s = { 0 };
	json_error_t jerr;
	if (len > RT_SPEC_MAX_BYTES)
		return invalid(err, "process.json: larger than %s", "4 MiB");
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "process.json: %s (line %d)",
				      jerr.text, jerr.line);
	int r = parse_process(root, &s, err);
	json_decref(root);
	if (r < 0) {
		rt_spec_done(&s);
		return r;
	}
	*ret = s;
	return 0;
}
