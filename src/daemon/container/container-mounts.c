/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's mounts: Binds, Mounts and Config.Volumes as dockerd reads
 * them (volume/mounts/parser_unix.go), resolved into mount points at create.
 */
#include "container-mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "events.h"
#include "fd-util.h"
#include "guest-setup.h"
#include "hashmap.h"
#include "strv.h"
#include "vm.h"
#include "volume.h"

static bool mode_token(const char *t, bool *rw, bool *nocopy)
{
	static const char *const ignored[] = { "z",	     "Z",      "rprivate", "private",
					       "rshared",    "shared", "rslave",   "slave",
					       "consistent", "cached", "delegated" };
	if (strcmp(t, "ro") == 0) {
		*rw = false;
		return true;
	}
	if (strcmp(t, "rw") == 0) {
		*rw = true;
		return true;
	}
	if (strcmp(t, "nocopy") == 0) {
		*nocopy = true;
		return true;
	}
	for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
		if (strcmp(t, ignored[i]) == 0)
			return true;
	return false;
}

static bool dest_ok(const char *d)
{
	return d && d[0] == '/' && d[1] != '\0';
}

/* "/a/b/" -> "/a/b": destinations compare as paths. */
static char *clean_dest(const char *d)
{
	char *s = xstrdup(d);
	size_t n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

static json_t *spec(const char *type, const char *source, const char *dest, bool rw,
		    const char *mode, bool nocopy, bool from_binds)
{
	_cleanup_free_ char *d = clean_dest(dest);
	return json_pack("{s:s, s:s, s:s, s:b, s:s, s:b, s:b}", "Type", type, "Source", source,
			 "Destination", d, "RW", rw, "Mode", mode, "NoCopy", nocopy, "FromBinds",
			 from_binds);
}

static int parse_bind(const char *b, json_t **ret, struct arca_error **err)
{
	_cleanup_strv_free_ char **parts = strv_copy(NULL);
	_cleanup_free_ char *copy = xstrdup(b);
	char *save = NULL;
	for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
		parts = strv_append(parts, t);
	size_t n = strv_length(parts);
	if (n < 2 || n > 3)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid volume specification: '%s'", b);
	const char *src = parts[0], *dst = parts[1];
	if (!dest_ok(dst))
		return arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID,
		    "invalid volume specification: '%s': invalid mount config for "
		    "type \"%s\": invalid mount path: '%s' mount path must be "
		    "absolute",
		    b, src[0] == '/' ? "bind" : "volume", dst);
	bool rw = true, nocopy = false;
	if (n == 3) {
		_cleanup_free_ char *modes = xstrdup(parts[2]);
		char *s2 = NULL;
		for (char *t = strtok_r(modes, ",", &s2); t; t = strtok_r(NULL, ",", &s2))
			if (!mode_token(t, &rw, &nocopy))
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "invalid mode: %s", parts[2]);
	}
	const char *mode = n == 3 ? parts[2] : "";
	if (src[0] == '/') {
		*ret = spec("bind", src, dst, rw, mode, false, true);
		return 0;
	}
	if (!volume_name_is_valid(src))
		return arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID,
		    "create %s: \"%s\" includes invalid characters for a local "
		    "volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. "
		    "If you intended to pass a host directory, use absolute path",
		    src, src);
	*ret = spec("volume", src, dst, rw, mode, nocopy, true);
	return 0;
}

static int parse_mount(json_t *m, json_t **ret, struct arca_error **err)
{
	const char *type = json_string_value(json_object_get(m, "Type"));
	const char *src = json_string_value(json_object_get(m, "Source"));
	const char *dst = json_string_value(json_object_get(m, "Target"));
	bool rw = !json_is_true(json_object_get(m, "ReadOnly"));
	if (!json_is_object(m) || !type)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid mount config: a mount needs a Type");
	if (!dest_ok(dst))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid mount config for type \"%s\": invalid mount path: "
				      "'%s' mount path must be absolute",
				      type, dst ? dst : "");
	if (strcmp(type, "bind") == 0) {
		json_t *bo = json_object_get(m, "BindOptions");
		if (!src || src[0] != '/')
			return arca_error_set(
			    err, EINVAL, ARCA_ERR_INVALID,
			    "invalid mount config for type \"bind\": invalid mount "
			    "path: '%s' mount path must be absolute",
			    src ? src : "");
		struct stat st;
		bool create = json_is_true(json_object_get(bo, "CreateMountpoint"));
		if (!create && stat(src, &st) < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid mount config for type \"bind\": bind source "
					      "path does not exist: %s",
					      src);
		*ret = spec("bind", src, dst, rw, "", false, create);
		return 0;
	}
	if (strcmp(type, "volume") == 0) {
		json_t *vo = json_object_get(m, "VolumeOptions");
		const char *driver =
		    json_string_value(json_object_get(json_object_get(vo, "DriverConfig"), "Name"));
		if (driver && driver[0] && strcmp(driver, "local") != 0)
			return arca_error_set(
			    err, ENOENT, ARCA_ERR_NOT_FOUND,
			    "error looking up volume plugin %s: plugin \"%s\" not "
			    "found",
			    driver, driver);
		if (src && src[0] && !volume_name_is_valid(src))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid mount config for type \"volume\": invalid "
					      "volume name: %s",
					      src);
		*ret = spec("volume", src ? src : "", dst, rw, "",
			    json_is_true(json_object_get(vo, "NoCopy")), false);
		json_t *labels = json_object_get(vo, "Labels");
		if (json_is_object(labels))
			json_object_set(*ret, "Labels", labels);
		return 0;
	}
	if (strcmp(type, "tmpfs") == 0) {
		if (src && src[0])
			return arca_error_set(
			    err, EINVAL, ARCA_ERR_INVALID,
			    "invalid mount config for type \"tmpfs\": source must "
			    "not be specified");
		json_t *to = json_object_get(m, "TmpfsOptions");
		json_int_t size = json_integer_value(json_object_get(to, "SizeBytes"));
		json_int_t mode = json_integer_value(json_object_get(to, "Mode"));
		if (size < 0 || mode < 0 || mode > 07777)
			return arca_error_set(
			    err, EINVAL, ARCA_ERR_INVALID,
			    "invalid mount config for type \"tmpfs\": bad size or "
			    "mode");
		*ret = spec("tmpfs", "", dst, rw, "", false, false);
		json_object_set_new(*ret, "TmpfsSize", json_integer(size));
		json_object_set_new(*ret, "TmpfsMode", json_integer(mode));
		return 0;
	}
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
			      "invalid mount config: mount type \"%s\": Arca mounts bind, volume "
			      "and tmpfs",
			      type);
}

/* Is dest the destination of one of specs (mount specs or mount points)? */
static bool taken(json_t *specs, const char *dest)
{
	_cleanup_free_ char *d = clean_dest(dest);
	size_t i;
	json_t *s;
	json_array_foreach(specs, i, s)
	{
		const char *other = json_string_value(json_object_get(s, "Destination"));
		if (other && strcmp(other, d) == 0)
			return true;
	}
	return false;
}

static int add(json_t *specs, json_t *s, struct arca_error **err)
{
	const char *d = json_string_value(json_object_get(s, "Destination"));
	if (taken(specs, d)) {
		int r =
		    arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "Duplicate mount point: %s", d);
		json_decref(s);
		return r;
	}
	json_array_append_new(specs, s);
	return 0;
}

int container_mounts_parse(json_t *config, json_t *host_config, json_t **ret_specs,
			   struct arca_error **err)
{
	const char *vd = json_string_value(json_object_get(host_config, "VolumeDriver"));
	if (vd && vd[0] && strcmp(vd, "local") != 0)
		return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
				      "error looking up volume plugin %s: plugin \"%s\" not found",
				      vd, vd);
	json_t *specs = json_array();
	int r = 0;
	size_t i;
	json_t *v;
	json_t *binds = json_object_get(host_config, "Binds");
	json_t *mounts = json_object_get(host_config, "Mounts");
	if ((binds && !json_is_null(binds) && !json_is_array(binds)) ||
	    (mounts && !json_is_null(mounts) && !json_is_array(mounts))) {
		json_decref(specs);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "HostConfig.Binds and .Mounts must be lists");
	}
	json_array_foreach(binds, i, v)
	{
		json_t *s = NULL;
		r = json_is_string(v) ? parse_bind(json_string_value(v), &s, err)
				      : arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						       "HostConfig.Binds: a bind is a string");
		if (r >= 0)
			r = add(specs, s, err);
		if (r < 0)
			break;
	}
	json_array_foreach(mounts, i, v)
	{
		if (r < 0)
			break;
		json_t *s = NULL;
		r = parse_mount(v, &s, err);
		if (r >= 0)
			r = add(specs, s, err);
	}
	/* -v /path: an anonymous volume, unless a bind or mount already covers it. */
	const char *path;
	json_object_foreach(json_object_get(config, "Volumes"), path, v)
	{
		if (r < 0)
			break;
		if (!dest_ok(path)) {
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					   "invalid volume specification: '%s'", path);
			break;
		}
		if (!taken(specs, path)) {
			json_t *anon = spec("volume", "", path, true, "", false, false);
			json_object_set_new(anon, "FromConfig", json_true());
			json_array_append_new(specs, anon);
		}
	}
	if (r < 0) {
		json_decref(specs);
		return r;
	}
	*ret_specs = specs;
	return 0;
}

/* A named volume, made when missing; an anonymous one, made. */
static int volume_for(struct daemon *d, json_t *s, struct volume **ret, struct arca_error **err)
{
	const char *name = json_string_value(json_object_get(s, "Source"));
	if (name[0] && volume_find(d, name, ret, NULL) == 0)
		return 0;
	json_t *labels = json_object_get(s, "Labels");
	json_t *body = json_pack("{s:s, s:o}", "Name", name, "Labels",
				 json_is_object(labels) ? json_deep_copy(labels) : json_object());
	if (!name[0])
		json_object_set_new(json_object_get(body, "Labels"), VOLUME_LABEL_ANONYMOUS,
				    json_string(""));
	bool created;
	int r = volume_create(d, body, ret, &created, err);
	json_decref(body);
	return r;
}

int container_mounts_from(struct daemon *d, json_t *host_config, json_t **ret_from,
			  struct arca_error **err)
{
	json_t *list = json_object_get(host_config, "VolumesFrom");
	json_t *from = json_array();
	size_t i;
	json_t *v;
	if (list && !json_is_null(list) && !json_is_array(list)) {
		json_decref(from);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "HostConfig.VolumesFrom must be a list");
	}
	json_array_foreach(list, i, v)
	{
		const char *entry = json_string_value(v);
		_cleanup_free_ char *id = xstrdup(entry ? entry : "");
		char *mode = strchr(id, ':');
		if (mode)
			*mode++ = '\0';
		bool rw = true, nocopy = false;
		struct container *src = NULL;
		int r = 0;
		if (!id[0] || (mode && (!mode_token(mode, &rw, &nocopy) || nocopy)))
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					   "invalid volumes-from specification: '%s'",
					   entry ? entry : "");
		else if (!(src = daemon_find_container(d, id, err)))
			r = -ENOENT;
		if (r < 0) {
			json_decref(from);
			return r;
		}
		size_t k;
		json_t *m;
		json_array_foreach(src->mounts, k, m)
		{
			const char *dest = json_string_value(json_object_get(m, "Destination"));
			if (!dest || taken(from, dest))
				continue;
			json_t *cp = json_deep_copy(m);
			json_object_set_new(
			    cp, "RW", json_boolean(rw && json_is_true(json_object_get(m, "RW"))));
			json_object_set_new(cp, "NoCopy", json_true()); /* as dockerd: no copy-up */
			json_array_append_new(from, cp);
		}
	}
	*ret_from = from;
	return 0;
}

void container_mounts_release(struct daemon *d, json_t *mounts)
{
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m)
	{
		const char *name = json_string_value(json_object_get(m, "Name"));
		struct volume *v = name ? hashmap_get(d->volumes, name) : NULL;
		if (v && json_object_get(v->labels, VOLUME_LABEL_ANONYMOUS))
			volume_remove_if_unused(d, name);
	}
}

int container_mounts_resolve(struct daemon *d, json_t *specs, json_t *from, json_t **ret_mounts,
			     struct arca_error **err)
{
	json_t *out = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(specs, i, s)
	{
		const char *type = json_string_value(json_object_get(s, "Type"));
		const char *src = json_string_value(json_object_get(s, "Source"));
		const char *dst = json_string_value(json_object_get(s, "Destination"));
		const char *mode = json_string_value(json_object_get(s, "Mode"));
		bool rw = json_is_true(json_object_get(s, "RW"));
		json_t *mp = NULL;
		if (strcmp(type, "bind") == 0) {
			struct stat st;
			/* -v of a missing host directory makes it, as dockerd does. */
			if (json_is_true(json_object_get(s, "FromBinds")) && stat(src, &st) < 0) {
				int r = mkdir_p(src, 0755);
				if (r < 0) {
					container_mounts_release(d, out);
					json_decref(out);
					return arca_error_errno(err, r,
								"create the bind source `%s`", src);
				}
			}
			mp = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source",
				       src, "Destination", dst, "Mode", mode, "RW", rw,
				       "Propagation", "rprivate");
		} else if (strcmp(type, "volume") == 0) {
			const char *dst0 = json_string_value(json_object_get(s, "Destination"));
			/* The image's and Config's anonymous volumes yield to --volumes-from. */
			if (json_is_true(json_object_get(s, "FromConfig")) && taken(from, dst0))
				continue;
			struct volume *v;
			if (volume_for(d, s, &v, err) < 0) {
				container_mounts_release(d, out);
				json_decref(out);
				return -EINVAL;
			}
			/* The local driver's options: a tmpfs each time it is mounted, or a
			 * host directory bound in place of the volume's own. */
			const char *vtype = json_string_value(json_object_get(v->options, "type"));
			const char *device =
			    json_string_value(json_object_get(v->options, "device"));
			const char *o = json_string_value(json_object_get(v->options, "o"));
			bool tmpfs = vtype && strcmp(vtype, "tmpfs") == 0;
			bool bind = vtype && strcmp(vtype, "none") == 0 && device;
			mp = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "Type",
				       "volume", "Name", v->name, "Source",
				       bind ? device : v->mountpoint, "Destination", dst, "Driver",
				       v->driver, "Mode", mode[0] ? mode : "z", "RW", rw,
				       "Propagation", "", "NoCopy",
				       tmpfs || json_is_true(json_object_get(s, "NoCopy")));
			if (tmpfs)
				json_object_set_new(mp, "TmpfsData", json_string(o ? o : ""));
		} else {
			mp = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:O, s:O}", "Type", "tmpfs",
				       "Source", "", "Destination", dst, "Mode", "", "RW", rw,
				       "Propagation", "", "TmpfsSize",
				       json_object_get(s, "TmpfsSize"), "TmpfsMode",
				       json_object_get(s, "TmpfsMode"));
		}
		json_array_append_new(out, mp);
	}
	json_array_foreach(from, i, s)
	{
		if (!taken(out, json_string_value(json_object_get(s, "Destination"))))
			json_array_append(out, s);
	}
	size_t blocks = 0;
	json_array_foreach(out, i, s) blocks += container_mount_is_block(s);
	if (blocks > CONTAINER_MAX_BLOCKS) {
		container_mounts_release(d, out);
		json_decref(out);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "a container mounts at most %d block volumes",
				      CONTAINER_MAX_BLOCKS);
	}
	*ret_mounts = out;
	return 0;
}

bool container_mount_is_block(json_t *m)
{
	const char *driver = json_string_value(json_object_get(m, "Driver"));
	return driver && strcmp(driver, VOLUME_DRIVER_BLOCK) == 0;
}

bool container_mount_is_shared(json_t *m)
{
	const char *type = json_string_value(json_object_get(m, "Type"));
	return type && strcmp(type, "tmpfs") != 0 && !json_object_get(m, "TmpfsData") &&
	       !container_mount_is_block(m);
}

json_t *container_mounts_json(const struct container *c)
{
	json_t *out = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		json_t *v = json_deep_copy(m);
		json_object_del(v, "TmpfsSize");
		json_object_del(v, "TmpfsMode");
		json_object_del(v, "NoCopy");
		json_object_del(v, "TmpfsData");
		json_array_append_new(out, v);
	}
	return out;
}

char **container_mounts_anonymous(const struct container *c)
{
	char **out = strv_copy(NULL);
	size_t i;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		const char *name = json_string_value(json_object_get(m, "Name"));
		struct volume *v = name ? hashmap_get(c->d->volumes, name) : NULL;
		if (v && json_object_get(v->labels, VOLUME_LABEL_ANONYMOUS))
			out = strv_append(out, name);
	}
	return out;
}

void container_mounts_emit(struct container *c, const char *action)
{
	bool mount = strcmp(action, "mount") == 0;
	size_t i;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		const char *name = json_string_value(json_object_get(m, "Name"));
		const char *driver = json_string_value(json_object_get(m, "Driver"));
		if (!name || !driver)
			continue; /* binds and tmpfs are not volumes */
		json_t *attrs = json_pack("{s:s, s:s}", "container", c->id, "driver", driver);
		if (mount) {
			json_object_set(attrs, "destination", json_object_get(m, "Destination"));
			json_object_set(attrs, "propagation", json_object_get(m, "Propagation"));
			json_object_set_new(
			    attrs, "read/write",
			    json_string(json_is_true(json_object_get(m, "RW")) ? "true" : "false"));
		}
		events_emit(c->d->events, "volume", action, name, attrs);
	}
}
