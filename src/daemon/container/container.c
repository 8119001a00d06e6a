/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container records: creation (with Docker's merge of the image's config),
 * persistence in SQLite, loading at daemon start, rename. The JSON views
 * are in inspect.c, what the record gives its VM in runtime.c.
 */
#include "container.h"
#include "ports.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "container-health.h"
#include "container-maint.h"
#include "container-mounts.h"
#include "log-config.h"
#include "restart-policy.h"
#include "db.h"
#include "ext4.h"
#include "spare-disk.h"
#include "fd-util.h"
#include "hashmap.h"
#include "image.h"
#include "log.h"
#include "names.h"
#include "network.h"
#include "pool.h"
#include "strv.h"
#include "create-options.h"
#include "time-util.h"
#include "vm.h"

static const char schema_v1[] =
    "CREATE TABLE containers ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created TEXT NOT NULL,"
    " image TEXT NOT NULL, image_id TEXT NOT NULL, config TEXT NOT NULL,"
    " host_config TEXT NOT NULL, state TEXT NOT NULL);";

static const char schema_v2[] =
    "ALTER TABLE containers ADD COLUMN networks TEXT NOT NULL DEFAULT '{}';";

const struct db_migration container_migrations[] = {
	{ "containers", 1, schema_v1 },
	{ "containers", 2, schema_v2 },
};
const size_t container_n_migrations = ELEMENTSOF(container_migrations);

static const char *const state_names[_CONTAINER_STATE_MAX] = {
	[CONTAINER_CREATED] = "created", [CONTAINER_RUNNING] = "running",
	[CONTAINER_PAUSED] = "paused",	 [CONTAINER_RESTARTING] = "restarting",
	[CONTAINER_EXITED] = "exited",	 [CONTAINER_REMOVING] = "removing",
	[CONTAINER_DEAD] = "dead",
};

const char *container_state_name(enum container_state s)
{
	return s < _CONTAINER_STATE_MAX ? state_names[s] : "unknown";
}

static json_t *state_json(const struct container *c)
{
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:i, s:i, s:b, s:i, s:s?, s:I, s:[I,I,I,I], "
			 "s:O?, s:O?}",
			 "Status", container_state_name(c->state), "ExitCode", c->exit_code,
			 "Error", c->error ? c->error : "", "StartedAt",
			 c->started_at ? c->started_at : "0001-01-01T00:00:00Z", "FinishedAt",
			 c->finished_at ? c->finished_at : "0001-01-01T00:00:00Z", "RestartCount",
			 c->restart_count, "Pid", (int)c->pid, "ManuallyStopped", c->manual_stop,
			 "VmPid", c->vm_pid, "VmId", c->vm_id, "VsockCid", (json_int_t)c->vsock_cid,
			 "ProcIds", (json_int_t)c->proc_ids[0], (json_int_t)c->proc_ids[1],
			 (json_int_t)c->proc_ids[2], (json_int_t)c->proc_ids[3], "MountPoints",
			 c->mounts, "Guest", c->guest);
}

int container_save(struct container *c, struct arca_error **err)
{
	struct db *db = c->d->db;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	_cleanup_free_ char *cfg = json_dumps(c->config, JSON_COMPACT);
	_cleanup_free_ char *hc = json_dumps(c->host_config, JSON_COMPACT);
	_cleanup_free_ char *nets = json_dumps(c->networks, JSON_COMPACT);
	json_t *st = state_json(c);
	_cleanup_free_ char *state = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	int r = db_prepare(db,
			   "INSERT INTO containers (id, name, created, image, image_id, config,"
			   " host_config, state, networks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
			   " ON CONFLICT(id) DO UPDATE SET name = excluded.name,"
			   " config = excluded.config, host_config = excluded.host_config,"
			   " state = excluded.state, networks = excluded.networks",
			   &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, c->created, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, c->image, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, c->image_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, cfg, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, hc, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, nets ? nets : "{}", -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT || rc == SQLITE_CONSTRAINT_UNIQUE)
		return arca_error_set(err, EEXIST, ARCA_ERR_CONFLICT,
				      "Conflict. The container name \"/%s\" is already in use",
				      c->name);
	return rc == SQLITE_DONE ? 0 : db_error(db, rc, "save container", err);
}

int container_persist(struct container *c)
{
	_cleanup_error_ struct arca_error *err = NULL;
	int r = container_save(c, &err);
	if (r < 0)
		log_error("container %.12s: its state (%s) was not written: %s", c->id,
			  container_state_name(c->state), err ? err->msg : strerror(-r));
	return r;
}

struct container *container_free(struct container *c)
{
	if (!c)
		return NULL;
	free(c->name);
	free(c->created);
	free(c->image);
	free(c->image_id);
	json_decref(c->config);
	json_decref(c->host_config);
	json_decref(c->networks);
	json_decref(c->mounts);
	json_decref(c->guest);
	free(c->shares);
	free(c->error);
	free(c->vm_id);
	free(c->pool_error);
	free(c->started_at);
	free(c->finished_at);
	free(c->dir);
	free(c->rw_disk);
	free(c->log_path);
	event_source_free(c->restart_timer);
	health_free(c->health);
	maint_free(c->maint);
	sandbox_free(c->sandbox);
	free(c);
	return NULL;
}

static void set_paths(struct container *c)
{
	c->dir = xasprintf("%s/%s", c->d->containers_dir, c->id);
	c->rw_disk = xasprintf("%s/rw.ext4", c->dir);
	c->log_path = xasprintf("%s/%s-json.log", c->dir, c->id);
}

static bool name_taken(struct daemon *d, const char *name, const char **ret_id)
{
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->containers, &it, NULL, &v)) {
		struct container *o = v;
		if (strcmp(o->name, name) == 0) {
			if (ret_id)
				*ret_id = o->id;
			return true;
		}
	}
	return false;
}

/* Env lists: image's, then the user's, later keys replacing earlier ones. */
static json_t *merge_env(json_t *image_env, json_t *user_env)
{
	json_t *out = json_array();
	json_t *lists[] = { image_env, user_env };
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *v;
		json_array_foreach(lists[l], i, v)
		{
			const char *e = json_string_value(v);
			if (!e)
				continue;
			size_t klen = strcspn(e, "=");
			bool replaced = false;
			size_t k;
			json_t *o;
			json_array_foreach(out, k, o)
			{
				const char *oe = json_string_value(o);
				if (strncmp(oe, e, klen) == 0 &&
				    (oe[klen] == '=' || oe[klen] == '\0')) {
					json_array_set(out, k, v);
					replaced = true;
					break;
				}
			}
			if (!replaced)
				json_array_append(out, v);
		}
	}
	return out;
}

static bool empty_list(json_t *v)
{
	return !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0);
}

/* Docker's merge of the image's config into the container's (daemon/create.go). */
static void merge_image_config(json_t *cfg, json_t *img)
{
	json_t *entry = json_object_get(cfg, "Entrypoint");
	/* --entrypoint "" arrives as [""]: an explicitly empty entrypoint. */
	bool cleared = json_is_array(entry) && json_array_size(entry) == 1 &&
		       json_is_string(json_array_get(entry, 0)) &&
		       !json_string_value(json_array_get(entry, 0))[0];
	if (cleared) {
		json_object_set_new(cfg, "Entrypoint", json_null());
	} else if (empty_list(entry)) {
		if (empty_list(json_object_get(cfg, "Cmd")))
			json_object_set(cfg, "Cmd", json_object_get(img, "Cmd") ?: json_null());
		json_object_set(cfg, "Entrypoint",
				json_object_get(img, "Entrypoint") ?: json_null());
	}
	json_object_set_new(cfg, "Env",
			    merge_env(json_object_get(img, "Env"), json_object_get(cfg, "Env")));
	static const char *const scalars[] = { "WorkingDir", "User", "StopSignal" };
	for (size_t i = 0; i < ELEMENTSOF(scalars); i++) {
		const char *v = json_string_value(json_object_get(cfg, scalars[i]));
		json_t *iv = json_object_get(img, scalars[i]);
		if ((!v || !v[0]) && json_is_string(iv))
			json_object_set(cfg, scalars[i], iv);
	}
	static const char *const maps[] = { "Labels", "ExposedPorts", "Volumes" };
	for (size_t i = 0; i < ELEMENTSOF(maps); i++) {
		json_t *im = json_object_get(img, maps[i]);
		if (!json_is_object(im))
			continue;
		json_t *m = json_object_get(cfg, maps[i]);
		if (!json_is_object(m)) {
			m = json_object();
			json_object_set_new(cfg, maps[i], m);
		}
		const char *k;
		json_t *v;
		json_object_foreach(im, k, v) if (!json_object_get(m, k)) json_object_set(m, k, v);
	}
	if (!json_object_get(cfg, "Healthcheck") && json_object_get(img, "Healthcheck"))
		json_object_set(cfg, "Healthcheck", json_object_get(img, "Healthcheck"));
}

static int validate(json_t *cfg, json_t *hc, struct arca_error **err)
{
	if (!json_is_object(cfg))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "config is not an object");
	if (hc && !json_is_object(hc) && !json_is_null(hc))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "HostConfig is not an object");
	static const char *const strlists[] = { "Cmd", "Entrypoint", "Env" };
	for (size_t i = 0; i < ELEMENTSOF(strlists); i++) {
		json_t *v = json_object_get(cfg, strlists[i]);
		if (!v || json_is_null(v))
			continue;
		if (json_is_string(v) && strcmp(strlists[i], "Env") != 0) {
			/* The API allows a single string for Cmd and Entrypoint. */
			json_object_set_new(cfg, strlists[i], json_pack("[O]", v));
			continue;
		}
		if (!json_is_array(v))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be a list",
					      strlists[i]);
		size_t k;
		json_t *e;
		json_array_foreach(v, k, e) if (!json_is_string(e)) return arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID, "%s must be a list of strings", strlists[i]);
	}
	json_t *mem = json_object_get(hc, "Memory");
	if (mem && !json_is_null(mem) &&
	    (!json_is_integer(mem) ||
	     (json_integer_value(mem) != 0 && json_integer_value(mem) < 6 * 1024 * 1024)))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "Minimum memory limit allowed is 6MB");
	json_t *nano = json_object_get(hc, "NanoCpus");
	if (nano && !json_is_null(nano) && (!json_is_integer(nano) || json_integer_value(nano) < 0))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid NanoCpus");
	json_t *tmpfs = json_object_get(hc, "Tmpfs");
	if (tmpfs && !json_is_null(tmpfs)) {
		if (!json_is_object(tmpfs))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "Tmpfs must be a map");
		const char *k;
		json_t *v;
		json_object_foreach(
		    tmpfs, k,
		    v) if (k[0] != '/' || !json_is_string(v) ||
			   strstr(k, "..")) return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
								  "invalid tmpfs mount `%s`", k);
	}
	int r = restart_policy_check(json_object_get(hc, "RestartPolicy"),
				     json_is_true(json_object_get(hc, "AutoRemove")), err);
	if (r < 0)
		return r;
	struct log_config log_cfg;
	r = log_config_parse(json_object_get(hc, "LogConfig"), &log_cfg, err);
	if (r < 0)
		return r;
	r = healthcheck_check(json_object_get(cfg, "Healthcheck"), err);
	if (r < 0)
		return r;
	json_t *mode = json_object_get(hc, "NetworkMode");
	if (mode && !json_is_null(mode) && !json_is_string(mode))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "NetworkMode must be a string");
	/* A VM has its own kernel and network stack: it can't share the host's or another's. */
	const char *m = json_string_value(mode);
	if (m && strcmp(m, "host") == 0)
		return arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID,
		    "network mode \"host\" is not supported by Arca: each container runs in its "
		    "own VM, whose network stack cannot be the host's; publish the ports it "
		    "serves with -p (they are reachable on the host's addresses, 127.0.0.1 "
		    "included)");
	if (m && strncmp(m, "container:", 10) == 0)
		return arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID,
		    "network mode \"%s\" is not supported by Arca: each container runs in its own "
		    "VM, and two VMs cannot share one network stack; put both containers on a "
		    "user-defined network and reach the other by its name",
		    m);
	return 0;
}

static int create_files(struct container *c, struct arca_error **err)
{
	if (mkdir(c->dir, 0700) < 0)
		return arca_error_errno(err, errno, "create `%s`", c->dir);
	int r = spare_disks_take(c->d->spares, c->rw_disk, err);
	c->rw_fresh = r >= 0;
	if (r >= 0) {
		int fd = open(c->log_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			r = arca_error_errno(err, errno, "create `%s`", c->log_path);
		else
			close(fd);
	}
	if (r < 0)
		(void)rm_rf(c->dir);
	return r;
}

int container_config_build(json_t *config, json_t *host_config, json_t *image_config,
			   json_t **ret_config, json_t **ret_host_config, json_t *warnings,
			   struct arca_error **err)
{
	int r = validate(config, host_config, err);
	if (r < 0)
		return r;
	r = create_options_check(config, host_config, warnings, err);
	if (r < 0)
		return r;
	const char *image = json_string_value(json_object_get(config, "Image"));
	if (!image || !image[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "Config.Image is required");
	json_t *cfg = json_deep_copy(config);
	json_t *none = json_object();
	merge_image_config(cfg, json_is_object(image_config) ? image_config : none);
	json_decref(none);
	json_t *cmd = json_object_get(cfg, "Cmd"), *entry = json_object_get(cfg, "Entrypoint");
	if ((!json_is_array(cmd) || !json_array_size(cmd)) &&
	    (!json_is_array(entry) || !json_array_size(entry))) {
		json_decref(cfg);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "No command specified");
	}
	json_t *hc = json_is_object(host_config) ? json_deep_copy(host_config) : json_object();
	/* As dockerd: the daemon's default driver is recorded when none was named. */
	json_t *lc = json_object_get(hc, "LogConfig");
	if (!json_is_object(lc)) {
		lc = json_object();
		json_object_set_new(hc, "LogConfig", lc);
	}
	const char *lt = json_string_value(json_object_get(lc, "Type"));
	if (!lt || !lt[0])
		json_object_set_new(lc, "Type", json_string("json-file"));
	if (!json_is_object(json_object_get(lc, "Config")))
		json_object_set_new(lc, "Config", json_object());
	*ret_config = cfg;
	*ret_host_config = hc;
	return 0;
}

static bool private_mode(const struct network *n)
{
	return n->builtin && (strcmp(n->name, "host") == 0 || strcmp(n->name, "none") == 0);
}

/* The endpoint settings a request gives for n, keyed by its name or ID. */
static json_t *endpoint_config_for(json_t *endpoints, const struct network *n, const char *ref)
{
	json_t *v = json_object_get(endpoints, ref);
	if (!v)
		v = json_object_get(endpoints, n->name);
	if (!v)
		v = json_object_get(endpoints, n->id);
	return v;
}

int container_network_attach(struct container *c, struct network *n, json_t *endpoint_config,
			     int api_minor, struct arca_error **err)
{
	if (json_object_get(c->networks, n->name))
		return arca_error_set(err, EEXIST, ARCA_ERR_FORBIDDEN,
				      "endpoint with name %s already exists in network %s", c->name,
				      n->name);
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		struct network *other = NULL;
		if (network_find(c->d, k, &other, NULL) < 0)
			continue;
		if (private_mode(other) || private_mode(n))
			return arca_error_set(
			    err, EINVAL, ARCA_ERR_INVALID,
			    "container cannot be connected to multiple networks with one of the "
			    "networks in private (none) or host mode");
	}
	json_t *endpoint = NULL;
	int r = network_endpoint(n, c, endpoint_config, api_minor, &endpoint, err);
	if (r < 0)
		return r;
	json_object_set_new(c->networks, n->name, endpoint);
	return 0;
}

/* Published ports are well formed and have a network; links name existing containers. */
static int check_ports_and_links(struct container *c, bool no_network, struct arca_error **err)
{
	struct port_spec *ports = NULL;
	size_t n = 0;
	int r = ports_parse(c->config, c->host_config, &ports, &n, err);
	free(ports);
	if (r < 0)
		return r;
	if (n && no_network)
		return arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID,
		    "conflicting options: port publishing and the network mode "
		    "none: a container without a network has no ports to publish");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c->host_config, "Links"), i, v)
	{
		const char *s = json_string_value(v);
		_cleanup_free_ char *name = xstrdup(s ? (s[0] == '/' ? s + 1 : s) : "");
		char *colon = strchr(name, ':');
		if (colon)
			*colon = '\0';
		if (!name[0])
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid link specification: %s", s ? s : "");
		if (!daemon_find_container(c->d, name, NULL))
			return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
					      "could not get container for %s: No such container: "
					      "%s",
					      name, name);
	}
	return 0;
}

/* dockerd's rules: NetworkMode names the first network; EndpointsConfig may add more. */
static int attach_networks(struct container *c, const struct container_create_req *req,
			   struct arca_error **err)
{
	const char *given = json_string_value(json_object_get(c->host_config, "NetworkMode"));
	const char *mode = given && given[0] && strcmp(given, "default") != 0 ? given : "bridge";
	/* Config.NetworkDisabled: no network at all, loopback only (dockerd's none). */
	if (json_is_true(json_object_get(c->config, "NetworkDisabled")))
		mode = "none";
	json_t *endpoints = json_object_get(req->networking, "EndpointsConfig");
	if (endpoints && !json_is_null(endpoints) && !json_is_object(endpoints))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "NetworkingConfig.EndpointsConfig must be a map");
	struct network *primary = NULL;
	int r = network_find(c->d, mode, &primary, err);
	if (r < 0)
		return r;
	json_t *primary_config = endpoint_config_for(endpoints, primary, given ? given : mode);
	/* The deprecated Config.MacAddress is the primary network's, as dockerd reads it. */
	const char *mac = json_string_value(json_object_get(c->config, "MacAddress"));
	json_t *with_mac = NULL;
	if (mac && mac[0] && !json_object_get(primary_config, "MacAddress")) {
		with_mac =
		    json_is_object(primary_config) ? json_deep_copy(primary_config) : json_object();
		json_object_set_new(with_mac, "MacAddress", json_string(mac));
	}
	r = container_network_attach(c, primary, with_mac ? with_mac : primary_config,
				     req->api_minor, err);
	json_decref(with_mac);
	const char *k;
	json_t *v;
	json_object_foreach(endpoints, k, v)
	{
		struct network *n = NULL;
		if (v == primary_config)
			continue; /* also under "default", as the CLI sends it */
		if (r >= 0)
			r = network_find(c->d, k, &n, err);
		if (r < 0)
			return r;
		if (n == primary)
			continue;
		r = container_network_attach(c, n, v, req->api_minor, err);
	}
	if (r >= 0)
		r = check_ports_and_links(c, !network_has_bridge(primary), err);
	return r;
}

int container_networks_check(struct container *c, struct arca_error **err)
{
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		struct network *n = NULL;
		const char *id = json_string_value(json_object_get(ep, "NetworkID"));
		if (network_find(c->d, id ? id : k, &n, NULL) < 0)
			return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
					      "network %s not found", k);
	}
	return 0;
}

int container_create(struct daemon *d, const struct container_create_req *req,
		     struct container **ret, json_t **ret_warnings, struct arca_error **err)
{
	const char *name = req->name;
	json_t *config = req->config, *host_config = req->host_config;
	_cleanup_free_ char *image_id = NULL, *gen = NULL;
	json_t *img = NULL, *merged = NULL, *hc = NULL;
	int r = validate(config, host_config, err);
	if (r < 0)
		return r;
	const char *image = json_string_value(json_object_get(config, "Image"));
	if (!image || !image[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "Config.Image is required");
	if (name && name[0] && !name_is_valid(name))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
				      "are allowed",
				      name);
	const char *clean = name && name[0] ? (name[0] == '/' ? name + 1 : name) : NULL;
	const char *owner;
	if (clean && name_taken(d, clean, &owner))
		return arca_error_set(err, EEXIST, ARCA_ERR_CONFLICT,
				      "Conflict. The container name \"/%s\" is already in use by "
				      "container \"%s\". You have to remove (or rename) that "
				      "container to be able to reuse that name.",
				      clean, owner);
	if (image_resolve(d->images, image, &image_id, err) < 0 ||
	    image_config(d->images, image_id, &img, err) < 0)
		return arca_error_ret(err ? *err : NULL);
	json_t *warnings = json_array();
	r = container_config_build(config, host_config, img, &merged, &hc, warnings, err);
	json_decref(img);
	json_t *specs = NULL, *from = NULL;
	/* The merged config: the image's VOLUMEs become anonymous volumes too. */
	if (r >= 0)
		r = container_mounts_parse(merged, host_config, &specs, err);
	if (r >= 0)
		r = container_mounts_from(d, host_config, &from, err);
	if (r < 0) {
		json_decref(specs);
		json_decref(merged);
		json_decref(hc);
		json_decref(warnings);
		return r;
	}
	log_config_apply_default(hc, d->log_default);

	struct container *c = xnew0(struct container, 1);
	c->d = d;
	id_generate(c->id);
	for (unsigned i = 0; !clean && i < 10; i++) {
		free(gen);
		gen = name_generate(i);
		if (!name_taken(d, gen, NULL))
			clean = gen;
	}
	c->name = xstrdup(clean);
	c->created = time_now_rfc3339();
	c->image = xstrdup(image);
	c->image_id = xstrdup(image_id);
	c->config = merged;
	c->host_config = hc;
	const char *hostname = json_string_value(json_object_get(c->config, "Hostname"));
	if (!hostname || !hostname[0])
		json_object_set_new(c->config, "Hostname", json_stringn(c->id, 12));
	c->state = CONTAINER_CREATED;
	c->networks = json_object();
	set_paths(c);

	r = container_mounts_resolve(d, specs, from, &c->mounts, err);
	json_decref(specs);
	json_decref(from);
	if (r >= 0)
		r = attach_networks(c, req, err);
	if (r < 0) {
		container_mounts_release(d, c->mounts);
		container_free(c);
		json_decref(warnings);
		return r;
	}
	r = create_files(c, err);
	if (r >= 0)
		r = container_save(c, err);
	if (r < 0) {
		(void)rm_rf(c->dir);
		container_mounts_release(d, c->mounts);
		container_free(c);
		json_decref(warnings);
		return r;
	}
	hashmap_put(d->containers, c->id, c);
	events_container(d->events, c, "create", NULL);
	*ret = c;
	if (ret_warnings)
		*ret_warnings = warnings;
	else
		json_decref(warnings);
	return 0;
}

static enum container_state state_from(const char *s)
{
	for (int i = 0; i < _CONTAINER_STATE_MAX; i++)
		if (s && strcmp(s, state_names[i]) == 0)
			return (enum container_state)i;
	return CONTAINER_DEAD;
}

static char *dup_or_null(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v && v[0] && strncmp(v, "0001-", 5) != 0 ? xstrdup(v) : NULL;
}

int container_load_all(struct daemon *d, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(d->db,
			   "SELECT id, name, created, image, image_id, config, host_config, state,"
			   " networks FROM containers",
			   &s, err);
	if (r < 0)
		return r;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_error_t jerr;
		struct container *c = xnew0(struct container, 1);
		c->d = d;
		snprintf(c->id, sizeof(c->id), "%s", (const char *)sqlite3_column_text(s, 0));
		c->name = xstrdup((const char *)sqlite3_column_text(s, 1));
		c->created = xstrdup((const char *)sqlite3_column_text(s, 2));
		c->image = xstrdup((const char *)sqlite3_column_text(s, 3));
		c->image_id = xstrdup((const char *)sqlite3_column_text(s, 4));
		c->config = json_loads((const char *)sqlite3_column_text(s, 5), 0, &jerr);
		c->host_config = json_loads((const char *)sqlite3_column_text(s, 6), 0, &jerr);
		json_t *st = json_loads((const char *)sqlite3_column_text(s, 7), 0, &jerr);
		c->networks = json_loads((const char *)sqlite3_column_text(s, 8), 0, &jerr);
		if (!json_is_object(c->networks)) {
			json_decref(c->networks);
			c->networks = json_object();
		}
		if (!c->config)
			c->config = json_object();
		if (!c->host_config)
			c->host_config = json_object();
		c->state = state_from(json_string_value(json_object_get(st, "Status")));
		c->exit_code = (int)json_integer_value(json_object_get(st, "ExitCode"));
		c->error = dup_or_null(st, "Error");
		c->started_at = dup_or_null(st, "StartedAt");
		c->finished_at = dup_or_null(st, "FinishedAt");
		c->restart_count = (int)json_integer_value(json_object_get(st, "RestartCount"));
		c->manual_stop = json_is_true(json_object_get(st, "ManuallyStopped"));
		json_t *mounts = json_object_get(st, "MountPoints");
		c->mounts = json_is_array(mounts) ? json_incref(mounts) : json_array();
		c->pid = (uint32_t)json_integer_value(json_object_get(st, "Pid"));
		c->vm_pid = (int)json_integer_value(json_object_get(st, "VmPid"));
		c->vm_id = dup_or_null(st, "VmId");
		if (c->vm_id && !pool_vm_id_valid(c->vm_id)) {
			free(c->vm_id); /* it names a run directory: only a pool's */
			c->vm_id = NULL;
		}
		c->vsock_cid = (uint32_t)json_integer_value(json_object_get(st, "VsockCid"));
		json_t *guest = json_object_get(st, "Guest");
		c->guest = json_is_object(guest) ? json_incref(guest) : NULL;
		for (size_t k = 0; k < 4; k++)
			c->proc_ids[k] = (uint32_t)json_integer_value(
			    json_array_get(json_object_get(st, "ProcIds"), k));
		json_decref(st);
		set_paths(c);
		if (json_object_size(c->networks) == 0) {
			/* A record from before networks were kept: its network mode. */
			struct container_create_req req = { .api_minor = 51 };
			(void)attach_networks(c, &req, NULL);
		}
		hashmap_put(d->containers, c->id, c);
	}
	return rc == SQLITE_DONE ? 0 : db_error(d->db, rc, "load containers", err);
}

int container_rename(struct container *c, const char *new_name, struct arca_error **err)
{
	if (!name_is_valid(new_name))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
				      "are allowed",
				      new_name);
	const char *clean = new_name[0] == '/' ? new_name + 1 : new_name;
	if (strcmp(clean, c->name) == 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "Renaming a container with the same name as its current "
				      "name");
	const char *owner;
	if (name_taken(c->d, clean, &owner))
		return arca_error_set(err, EEXIST, ARCA_ERR_CONFLICT,
				      "Conflict. The container name \"/%s\" is already in use by "
				      "container \"%s\". You have to remove (or rename) that "
				      "container to be able to reuse that name.",
				      clean, owner);
	char *old = c->name;
	c->name = xstrdup(clean);
	int r = container_save(c, err);
	if (r < 0) {
		free(c->name);
		c->name = old;
		return r;
	}
	events_container(c->d->events, c, "rename", json_pack("{s:s+}", "oldName", "/", old));
	free(old);
	return 0;
}
