/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Volumes: the records in SQLite, the data directories, dockerd's rules for
 * names and local-driver options, and the Volume JSON shape.
 */
#include "volume.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "events.h"
#include "ext4.h"
#include "fd-util.h"
#include "hashmap.h"
#include "log.h"
#include "names.h"
#include "parse-util.h"
#include "strv.h"
#include "time-util.h"

static const char schema_v1[] = "CREATE TABLE volumes ("
				" name TEXT PRIMARY KEY, body TEXT NOT NULL);";

const struct db_migration volume_migrations[] = {
	{ "volumes", 1, schema_v1 },
};
const size_t volume_n_migrations = ELEMENTSOF(volume_migrations);

struct volume *volume_free(struct volume *v)
{
	if (!v)
		return NULL;
	free(v->name);
	free(v->driver);
	free(v->created);
	json_decref(v->labels);
	json_decref(v->options);
	free(v->mountpoint);
	free(v);
	return NULL;
}

bool volume_name_is_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n < 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

/* A map of strings (Labels, DriverOpts), or absent. */
static int check_strings(json_t *o, const char *what, struct arca_error **err)
{
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be an object", what);
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) if (!json_is_string(v)) return arca_error_set(
	    err, EINVAL, ARCA_ERR_INVALID, "%s: the value of %s must be a string", what, k);
	return 0;
}

/* The block driver's one option: size, as "10g", "512m" (at least 16 MiB). */
static int block_size(json_t *options, uint64_t *ret, struct arca_error **err)
{
	const char *size = json_string_value(json_object_get(options, "size"));
	*ret = VOLUME_BLOCK_DEFAULT_SIZE;
	if (!size)
		return 0;
	if (parse_size(size, ret) < 0 || *ret < (UINT64_C(16) << 20) || *ret > (UINT64_C(1) << 44))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid size %s: a block volume takes 16m to 16t", size);
	return 0;
}

int volume_options_check(const char *driver, json_t *options, struct arca_error **err)
{
	int r = check_strings(options, "DriverOpts", err);
	if (r < 0 || !json_is_object(options))
		return r;
	const char *k;
	json_t *v;
	if (driver && strcmp(driver, VOLUME_DRIVER_BLOCK) == 0) {
		json_object_foreach(options, k, v)
		{
			if (strcmp(k, "size") != 0)
				return arca_error_set(
				    err, EINVAL, ARCA_ERR_INVALID,
				    "invalid option key: \"%s\": the block driver "
				    "takes size",
				    k);
		}
		uint64_t size;
		return block_size(options, &size, err);
	}
	json_object_foreach(options, k, v)
	{
		if (strcmp(k, "type") != 0 && strcmp(k, "device") != 0 && strcmp(k, "o") != 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid option key: \"%s\"", k);
	}
	const char *type = json_string_value(json_object_get(options, "type"));
	const char *device = json_string_value(json_object_get(options, "device"));
	const char *o = json_string_value(json_object_get(options, "o"));
	if (!type && !device && !o)
		return 0;
	if (!type || !type[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "missing required option: \"type\"");
	if (!device || !device[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "missing required option: \"device\"");
	if (strcmp(type, "tmpfs") == 0)
		return 0;
	bool bind = false;
	_cleanup_free_ char *opts = xstrdup(o ? o : "");
	char *save = NULL;
	for (char *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save))
		bind |= strcmp(t, "bind") == 0 || strcmp(t, "rbind") == 0;
	if (strcmp(type, "none") == 0 && bind) {
		if (device[0] != '/')
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid device %s: a bind needs an absolute path",
					      device);
		return 0;
	}
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
			      "volume type %s: Arca's local driver takes type=tmpfs, or type=none "
			      "with o=bind and a host directory as device",
			      type);
}

static struct volume *from_body(struct daemon *d, const char *name, json_t *b)
{
	struct volume *v = xnew0(struct volume, 1);
	v->name = xstrdup(name);
	const char *driver = json_string_value(json_object_get(b, "Driver"));
	v->driver = xstrdup(driver && driver[0] ? driver : "local");
	const char *created = json_string_value(json_object_get(b, "CreatedAt"));
	v->created = created ? xstrdup(created) : time_now_rfc3339();
	json_t *labels = json_object_get(b, "Labels");
	v->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
	json_t *opts = json_object_get(b, "Options");
	v->options = json_is_object(opts) ? json_deep_copy(opts) : json_object();
	v->mountpoint = xasprintf("%s/volumes/%s/%s", d->cfg.root, name,
				  volume_is_block(v) ? VOLUME_BLOCK_FILE : "_data");
	return v;
}

static json_t *body_of(const struct volume *v)
{
	return json_pack("{s:s, s:s, s:O, s:O}", "Driver", v->driver, "CreatedAt", v->created,
			 "Labels", v->labels, "Options", v->options);
}

int volume_load_all(struct daemon *d, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(d->db, "SELECT name, body FROM volumes", &s, err);
	if (r < 0)
		return r;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		json_t *b = json_loads((const char *)sqlite3_column_text(s, 1), 0, NULL);
		if (!volume_name_is_valid(name) || !json_is_object(b)) {
			json_decref(b);
			continue; /* not ours to repair; the rest still load */
		}
		struct volume *v = from_body(d, name, b);
		json_decref(b);
		hashmap_put(d->volumes, v->name, v);
	}
	return rc == SQLITE_DONE ? 0 : db_error(d->db, rc, "load volumes", err);
}

int volume_find(struct daemon *d, const char *name, struct volume **ret, struct arca_error **err)
{
	struct volume *v = name ? hashmap_get(d->volumes, name) : NULL;
	if (!v)
		return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND, "get %s: no such volume",
				      name ? name : "");
	*ret = v;
	return 0;
}

bool volume_is_block(const struct volume *v)
{
	return strcmp(v->driver, VOLUME_DRIVER_BLOCK) == 0;
}

/*
 * <root>/volumes/<name>/_data, each level created without following a
 * symlink; a block volume's is <name>/disk.img, a sparse ext4 file.
 */
static int make_dirs(struct daemon *d, const struct volume *v, struct arca_error **err)
{
	const char *name = v->name;
	_cleanup_free_ char *top = xasprintf("%s/volumes", d->cfg.root);
	if (mkdir(top, 0701) < 0 && errno != EEXIST)
		return arca_error_errno(err, -errno, "create `%s`", top);
	_cleanup_close_ int tfd = open(top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return arca_error_errno(err, -errno, "open `%s`", top);
	if (mkdirat(tfd, name, 0701) < 0 && errno != EEXIST)
		return arca_error_errno(err, -errno, "create the volume %s", name);
	_cleanup_close_ int vfd =
	    openat(tfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (vfd < 0)
		return arca_error_errno(err, -errno, "open the volume %s", name);
	if (!volume_is_block(v)) {
		if (mkdirat(vfd, "_data", 0755) < 0 && errno != EEXIST)
			return arca_error_errno(err, -errno, "create the data of volume %s", name);
		return 0;
	}
	uint64_t size;
	int r = block_size(v->options, &size, err);
	if (r < 0)
		return r;
	/* mkfs's lost+found goes: a new volume is empty, so the image's content is
	 * copied up on its first mount as with any volume. */
	return ext4_create_volume(v->mountpoint, size, err);
}

static int remove_dirs(struct daemon *d, const char *name)
{
	_cleanup_free_ char *top = xasprintf("%s/volumes", d->cfg.root);
	_cleanup_close_ int tfd = open(top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return errno == ENOENT ? 0 : -errno;
	return rm_rf_at(tfd, name);
}

static int save(struct daemon *d, const struct volume *v, struct arca_error **err)
{
	json_t *b = body_of(v);
	_cleanup_free_ char *text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(d->db, "INSERT INTO volumes (name, body) VALUES (?, ?)", &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, v->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : db_error(d->db, rc, "save volume", err);
}

int volume_create(struct daemon *d, json_t *body, struct volume **ret, bool *ret_created,
		  struct arca_error **err)
{
	*ret_created = false;
	if (!json_is_object(body))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "the body must be an object");
	json_t *jname = json_object_get(body, "Name");
	if (jname && !json_is_null(jname) && !json_is_string(jname))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "Name must be a string");
	const char *given = json_string_value(jname);
	char generated[ID_HEX_LEN + 1];
	if (!given || !given[0])
		id_generate(generated);
	const char *name = given && given[0] ? given : generated;
	if (!volume_name_is_valid(name))
		return arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID,
		    "create %s: \"%s\" includes invalid characters for a local "
		    "volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. "
		    "If you intended to pass a host directory, use absolute path",
		    name, name);
	const char *driver = json_string_value(json_object_get(body, "Driver"));
	if (!driver || !driver[0])
		driver = "local";
	if (strcmp(driver, "local") != 0 && strcmp(driver, VOLUME_DRIVER_BLOCK) != 0)
		return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
				      "error looking up volume plugin %s: plugin \"%s\" not found",
				      driver, driver);
	json_t *opts = json_object_get(body, "DriverOpts");
	json_t *labels = json_object_get(body, "Labels");
	int r = check_strings(labels, "Labels", err);
	if (r >= 0)
		r = volume_options_check(driver, opts, err);
	if (r < 0)
		return r;
	struct volume *old = hashmap_get(d->volumes, name);
	if (old) {
		if (strcmp(old->driver, driver) != 0)
			return arca_error_set(
			    err, EEXIST, ARCA_ERR_CONFLICT,
			    "a volume with the name %s already exists with driver "
			    "%s",
			    name, old->driver);
		*ret = old; /* as dockerd: the existing one, its options unchanged */
		return 0;
	}
	json_t *b = json_pack("{s:s, s:O?, s:O?}", "Driver", driver, "Labels",
			      json_is_object(labels) ? labels : NULL, "Options",
			      json_is_object(opts) ? opts : NULL);
	struct volume *v = from_body(d, name, b);
	json_decref(b);
	r = make_dirs(d, v, err);
	if (r >= 0)
		r = save(d, v, err);
	if (r < 0) {
		(void)remove_dirs(d, name);
		volume_free(v);
		return r;
	}
	hashmap_put(d->volumes, v->name, v);
	events_emit(d->events, "volume", "create", v->name,
		    json_pack("{s:s}", "driver", v->driver));
	*ret = v;
	*ret_created = true;
	return 0;
}

int volume_remove(struct daemon *d, struct volume *v, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(d->db, "DELETE FROM volumes WHERE name = ?", &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, v->name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return db_error(d->db, rc, "remove volume", err);
	hashmap_remove(d->volumes, v->name);
	events_emit(d->events, "volume", "destroy", v->name,
		    json_pack("{s:s}", "driver", v->driver));
	r = remove_dirs(d, v->name);
	if (r < 0) /* the record is gone: what is left is only disk space */
		arca_error_errno(err, r, "remove the data of volume %s", v->name);
	volume_free(v);
	return r < 0 ? r : 0;
}

/* Is v one of the container's mount points? */
static bool references(const struct container *c, const char *name)
{
	size_t i;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *n = json_string_value(json_object_get(m, "Name"));
		if (type && n && strcmp(type, "volume") == 0 && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

char **volume_users(struct daemon *d, const struct volume *v)
{
	char **ids = strv_copy(NULL);
	size_t it = 0;
	void *c;
	while (hashmap_iter(d->containers, &it, NULL, &c))
		if (references(c, v->name))
			ids = strv_append(ids, ((struct container *)c)->id);
	return ids;
}

int64_t volume_size(const struct volume *v)
{
	struct stat st;
	if (volume_is_block(v)) /* what the sparse file takes, not its size */
		return stat(v->mountpoint, &st) < 0 ? -1 : (int64_t)st.st_blocks * 512;
	return disk_usage_at(AT_FDCWD, v->mountpoint);
}

json_t *volume_json(struct daemon *d, const struct volume *v, bool with_usage)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:O}", "Name", v->name, "Driver",
			      v->driver, "Mountpoint", v->mountpoint, "CreatedAt", v->created,
			      "Labels", v->labels, "Scope", "local", "Options", v->options);
	if (with_usage) {
		_cleanup_strv_free_ char **users = volume_users(d, v);
		json_object_set_new(o, "UsageData",
				    json_pack("{s:I, s:I}", "Size", (json_int_t)volume_size(v),
					      "RefCount", (json_int_t)strv_length(users)));
	}
	return o;
}

void volume_remove_if_unused(struct daemon *d, const char *name)
{
	struct volume *v;
	if (volume_find(d, name, &v, NULL) < 0)
		return;
	_cleanup_strv_free_ char **users = volume_users(d, v);
	_cleanup_error_ struct arca_error *err = NULL;
	if (!users[0] && volume_remove(d, v, &err) < 0)
		log_warn("volume %s: %s", name, err ? err->msg : "not removed");
}
