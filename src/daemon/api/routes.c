/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one route table (rule N4): every operationId of Engine API v1.51 has
 * a row, served or answered with a Docker-style error that says it is not
 * (unsupported.c). tests/integration/test_api_coverage.py checks the table
 * against the pinned spec.
 *
 * Paths may carry a version prefix (/v1.xx); versions outside
 * [1.24, 1.51] are refused as dockerd does. A {param} takes everything
 * between its literal prefix and suffix ({name} may hold slashes: image
 * references; {id} may not).
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "daemon.h"
#include "log.h"
#include "parse-util.h"
#include "time-util.h"

/*
 * What a route does with its connection beyond a request and a reply. A
 * body is buffered (up to the parser's bound) unless the route streams it.
 */
#define ROUTE_BODY_STREAMED (1u << 0) /* to the handler as it comes: load, cp into */
#define ROUTE_BODY_IMPORT   (1u << 1) /* streamed when it is the image itself (fromSrc=-) */
#define ROUTE_HIJACK	    (1u << 2) /* the connection becomes the client's raw stream */
#define ROUTE_STREAMED	    (1u << 3) /* a chunked reply for as long as it lasts */

struct route {
	const char *method;
	const char *pattern;
	const char *operation;
	api_handler handler;
	unsigned flags;
};

static const struct route routes[] = {
	/* containers */
	{ "GET", "/containers/json", "ContainerList", api_container_list, 0 },
	{ "POST", "/containers/create", "ContainerCreate", api_container_create, 0 },
	{ "GET", "/containers/{id}/json", "ContainerInspect", api_container_inspect, 0 },
	{ "GET", "/containers/{id}/top", "ContainerTop", api_container_top, 0 },
	{ "GET", "/containers/{id}/logs", "ContainerLogs", api_container_logs, ROUTE_STREAMED },
	{ "GET", "/containers/{id}/changes", "ContainerChanges", api_container_changes, 0 },
	{ "GET", "/containers/{id}/export", "ContainerExport", api_container_export,
	  ROUTE_STREAMED },
	{ "GET", "/containers/{id}/stats", "ContainerStats", api_container_stats, ROUTE_STREAMED },
	{ "POST", "/containers/{id}/resize", "ContainerResize", api_container_resize, 0 },
	{ "POST", "/containers/{id}/start", "ContainerStart", api_container_start, 0 },
	{ "POST", "/containers/{id}/stop", "ContainerStop", api_container_stop, 0 },
	{ "POST", "/containers/{id}/restart", "ContainerRestart", api_container_restart, 0 },
	{ "POST", "/containers/{id}/kill", "ContainerKill", api_container_kill, 0 },
	{ "POST", "/containers/{id}/update", "ContainerUpdate", api_container_update, 0 },
	{ "POST", "/containers/{id}/rename", "ContainerRename", api_container_rename, 0 },
	{ "POST", "/containers/{id}/pause", "ContainerPause", api_container_pause, 0 },
	{ "POST", "/containers/{id}/unpause", "ContainerUnpause", api_container_unpause, 0 },
	{ "POST", "/containers/{id}/attach", "ContainerAttach", api_container_attach,
	  ROUTE_HIJACK },
	{ "GET", "/containers/{id}/attach/ws", "ContainerAttachWebsocket", api_unsupported, 0 },
	{ "POST", "/containers/{id}/wait", "ContainerWait", api_container_wait, 0 },
	{ "DELETE", "/containers/{id}", "ContainerDelete", api_container_delete, 0 },
	{ "HEAD", "/containers/{id}/archive", "ContainerArchiveInfo", api_container_archive_info,
	  0 },
	{ "GET", "/containers/{id}/archive", "ContainerArchive", api_container_archive,
	  ROUTE_STREAMED },
	{ "PUT", "/containers/{id}/archive", "PutContainerArchive", api_put_container_archive,
	  ROUTE_BODY_STREAMED },
	{ "POST", "/containers/prune", "ContainerPrune", api_container_prune, 0 },
	{ "POST", "/containers/{id}/exec", "ContainerExec", api_container_exec, 0 },
	{ "POST", "/exec/{id}/start", "ExecStart", api_exec_start, ROUTE_HIJACK },
	{ "POST", "/exec/{id}/resize", "ExecResize", api_exec_resize, 0 },
	{ "GET", "/exec/{id}/json", "ExecInspect", api_exec_inspect, 0 },
	/* images */
	{ "GET", "/images/json", "ImageList", api_image_list, 0 },
	{ "POST", "/build", "ImageBuild", api_image_build, ROUTE_BODY_STREAMED | ROUTE_STREAMED },
	{ "POST", "/build/prune", "BuildPrune", api_build_prune, 0 },
	{ "POST", "/images/create", "ImageCreate", api_image_create,
	  ROUTE_BODY_IMPORT | ROUTE_STREAMED },
	{ "GET", "/images/{name}/json", "ImageInspect", api_image_inspect, 0 },
	{ "GET", "/images/{name}/history", "ImageHistory", api_image_history, 0 },
	{ "POST", "/images/{name}/push", "ImagePush", api_image_push, ROUTE_STREAMED },
	{ "POST", "/images/{name}/tag", "ImageTag", api_image_tag, 0 },
	{ "DELETE", "/images/{name}", "ImageDelete", api_image_delete, 0 },
	{ "GET", "/images/search", "ImageSearch", api_unsupported, 0 },
	{ "POST", "/images/prune", "ImagePrune", api_image_prune, 0 },
	{ "POST", "/commit", "ImageCommit", api_image_commit, 0 },
	{ "GET", "/images/{name}/get", "ImageGet", api_image_get, ROUTE_STREAMED },
	{ "GET", "/images/get", "ImageGetAll", api_image_get_all, ROUTE_STREAMED },
	{ "POST", "/images/load", "ImageLoad", api_image_load,
	  ROUTE_BODY_STREAMED | ROUTE_STREAMED },
	{ "GET", "/distribution/{name}/json", "DistributionInspect", api_distribution_inspect, 0 },
	/* system */
	{ "POST", "/auth", "SystemAuth", api_system_auth, 0 },
	{ "GET", "/info", "SystemInfo", api_system_info, 0 },
	{ "GET", "/version", "SystemVersion", api_system_version, 0 },
	{ "GET", "/_ping", "SystemPing", api_system_ping, 0 },
	{ "HEAD", "/_ping", "SystemPingHead", api_system_ping_head, 0 },
	{ "GET", "/events", "SystemEvents", api_system_events, ROUTE_STREAMED },
	{ "GET", "/system/df", "SystemDataUsage", api_system_data_usage, 0 },
	{ "POST", "/session", "Session", api_unsupported, 0 },
	/* volumes */
	{ "GET", "/volumes", "VolumeList", api_volume_list, 0 },
	{ "POST", "/volumes/create", "VolumeCreate", api_volume_create, 0 },
	{ "GET", "/volumes/{name}", "VolumeInspect", api_volume_inspect, 0 },
	{ "PUT", "/volumes/{name}", "VolumeUpdate", api_swarm_unsupported, 0 },
	{ "DELETE", "/volumes/{name}", "VolumeDelete", api_volume_delete, 0 },
	{ "POST", "/volumes/prune", "VolumePrune", api_volume_prune, 0 },
	/* networks */
	{ "GET", "/networks", "NetworkList", api_network_list, 0 },
	{ "GET", "/networks/{id}", "NetworkInspect", api_network_inspect, 0 },
	{ "DELETE", "/networks/{id}", "NetworkDelete", api_network_delete, 0 },
	{ "POST", "/networks/create", "NetworkCreate", api_network_create, 0 },
	{ "POST", "/networks/{id}/connect", "NetworkConnect", api_network_connect, 0 },
	{ "POST", "/networks/{id}/disconnect", "NetworkDisconnect", api_network_disconnect, 0 },
	{ "POST", "/networks/prune", "NetworkPrune", api_network_prune, 0 },
	/* plugins */
	{ "GET", "/plugins", "PluginList", api_unsupported, 0 },
	{ "GET", "/plugins/privileges", "GetPluginPrivileges", api_unsupported, 0 },
	{ "POST", "/plugins/pull", "PluginPull", api_unsupported, 0 },
	{ "GET", "/plugins/{name}/json", "PluginInspect", api_unsupported, 0 },
	{ "DELETE", "/plugins/{name}", "PluginDelete", api_unsupported, 0 },
	{ "POST", "/plugins/{name}/enable", "PluginEnable", api_unsupported, 0 },
	{ "POST", "/plugins/{name}/disable", "PluginDisable", api_unsupported, 0 },
	{ "POST", "/plugins/{name}/upgrade", "PluginUpgrade", api_unsupported, 0 },
	{ "POST", "/plugins/create", "PluginCreate", api_unsupported, 0 },
	{ "POST", "/plugins/{name}/push", "PluginPush", api_unsupported, 0 },
	{ "POST", "/plugins/{name}/set", "PluginSet", api_unsupported, 0 },
	/* swarm: not a swarm manager, as a standalone dockerd says */
	{ "GET", "/nodes", "NodeList", api_swarm_unsupported, 0 },
	{ "GET", "/nodes/{id}", "NodeInspect", api_swarm_unsupported, 0 },
	{ "DELETE", "/nodes/{id}", "NodeDelete", api_swarm_unsupported, 0 },
	{ "POST", "/nodes/{id}/update", "NodeUpdate", api_swarm_unsupported, 0 },
	{ "GET", "/swarm", "SwarmInspect", api_swarm_unsupported, 0 },
	{ "POST", "/swarm/init", "SwarmInit", api_unsupported, 0 },
	{ "POST", "/swarm/join", "SwarmJoin", api_unsupported, 0 },
	{ "POST", "/swarm/leave", "SwarmLeave", api_swarm_unsupported, 0 },
	{ "POST", "/swarm/update", "SwarmUpdate", api_swarm_unsupported, 0 },
	{ "GET", "/swarm/unlockkey", "SwarmUnlockkey", api_swarm_unsupported, 0 },
	{ "POST", "/swarm/unlock", "SwarmUnlock", api_swarm_unsupported, 0 },
	{ "GET", "/services", "ServiceList", api_swarm_unsupported, 0 },
	{ "POST", "/services/create", "ServiceCreate", api_swarm_unsupported, 0 },
	{ "GET", "/services/{id}", "ServiceInspect", api_swarm_unsupported, 0 },
	{ "DELETE", "/services/{id}", "ServiceDelete", api_swarm_unsupported, 0 },
	{ "POST", "/services/{id}/update", "ServiceUpdate", api_swarm_unsupported, 0 },
	{ "GET", "/services/{id}/logs", "ServiceLogs", api_swarm_unsupported, 0 },
	{ "GET", "/tasks", "TaskList", api_swarm_unsupported, 0 },
	{ "GET", "/tasks/{id}", "TaskInspect", api_swarm_unsupported, 0 },
	{ "GET", "/tasks/{id}/logs", "TaskLogs", api_swarm_unsupported, 0 },
	{ "GET", "/secrets", "SecretList", api_swarm_unsupported, 0 },
	{ "POST", "/secrets/create", "SecretCreate", api_swarm_unsupported, 0 },
	{ "GET", "/secrets/{id}", "SecretInspect", api_swarm_unsupported, 0 },
	{ "DELETE", "/secrets/{id}", "SecretDelete", api_swarm_unsupported, 0 },
	{ "POST", "/secrets/{id}/update", "SecretUpdate", api_swarm_unsupported, 0 },
	{ "GET", "/configs", "ConfigList", api_swarm_unsupported, 0 },
	{ "POST", "/configs/create", "ConfigCreate", api_swarm_unsupported, 0 },
	{ "GET", "/configs/{id}", "ConfigInspect", api_swarm_unsupported, 0 },
	{ "DELETE", "/configs/{id}", "ConfigDelete", api_swarm_unsupported, 0 },
	{ "POST", "/configs/{id}/update", "ConfigUpdate", api_swarm_unsupported, 0 },
};

/* Matches path against pattern; on a match with a parameter, *ret_param is set (caller frees). */
static bool match(const char *pattern, const char *path, char **ret_param)
{
	const char *open = strchr(pattern, '{');
	if (!open)
		return strcmp(pattern, path) == 0;
	const char *close = strchr(open, '}');
	size_t pre = (size_t)(open - pattern);
	const char *suffix = close + 1;
	size_t plen = strlen(path), slen = strlen(suffix);
	if (plen < pre + slen + 1 || strncmp(path, pattern, pre) != 0 ||
	    strcmp(path + plen - slen, suffix) != 0)
		return false;
	size_t vlen = plen - pre - slen;
	const char *value = path + pre;
	bool slashes = strncmp(open, "{name}", 6) == 0;
	if (!slashes && memchr(value, '/', vlen))
		return false;
	*ret_param = http_percent_decode(value, vlen);
	return (*ret_param)[0] != '\0' || (free(*ret_param), *ret_param = NULL, false);
}

/* Strips /v1.xx; returns the path and the minor version (0 if none), or NULL if bad. */
static const char *strip_version(const char *path, int *ret_minor, int *ret_major)
{
	*ret_minor = 0;
	*ret_major = 1;
	if (path[0] != '/' || path[1] != 'v' || !strchr(path + 2, '/'))
		return path;
	int major, minor, n = 0;
	if (sscanf(path + 2, "%d.%d%n", &major, &minor, &n) != 2 || path[2 + n] != '/')
		return path;
	*ret_major = major;
	*ret_minor = minor;
	return path + 2 + n;
}

static const struct route *find(const char *method, const char *path, char **ret_param,
				bool *ret_path_known)
{
	*ret_path_known = false;
	/* Literal routes win over parameterized ones. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
			const struct route *rt = &routes[i];
			bool literal = !strchr(rt->pattern, '{');
			if ((pass == 0) != literal)
				continue;
			char *param = NULL;
			if (!match(rt->pattern, path, &param))
				continue;
			*ret_path_known = true;
			if (strcmp(rt->method, method) != 0) {
				free(param);
				continue;
			}
			*ret_param = param;
			return rt;
		}
	return NULL;
}

bool api_wants_stream(struct http_conn *c, const struct http_request *r, void *userdata)
{
	(void)c;
	(void)userdata;
	int minor, major;
	const char *path = strip_version(r->path, &minor, &major);
	_cleanup_free_ char *param = NULL;
	bool known;
	const struct route *rt = find(r->method, path, &param, &known);
	if (rt && (rt->flags & ROUTE_BODY_IMPORT)) {
		_cleanup_free_ char *src = http_query_get(r, "fromSrc");
		return src && strcmp(src, "-") == 0;
	}
	return rt && (rt->flags & ROUTE_BODY_STREAMED);
}

void api_dispatch(struct http_conn *c, struct http_request *r, void *userdata)
{
	struct daemon *d = userdata;
	int minor, major;
	const char *path = strip_version(r->path, &minor, &major);
	if (path != r->path) {
		if (major != 1 || minor > API_VERSION_MAX_MINOR) {
			http_reply_errorf(c, 400,
					  "client version %d.%d is too new. Maximum supported API "
					  "version is 1.%d",
					  major, minor, API_VERSION_MAX_MINOR);
			return;
		}
		if (minor < API_VERSION_MIN_MINOR) {
			http_reply_errorf(c, 400,
					  "client version %d.%d is too old. Minimum supported API "
					  "version is 1.%d, please upgrade your client to a newer "
					  "version",
					  major, minor, API_VERSION_MIN_MINOR);
			return;
		}
	}
	char *param = NULL;
	bool known;
	const struct route *rt = find(r->method, path, &param, &known);
	if (!rt) {
		if (known)
			http_reply_errorf(c, 405, "method %s not allowed for %s", r->method, path);
		else
			http_reply_errorf(c, 404, "page not found");
		return;
	}
	struct api_ctx ctx = {
		.d = d,
		.conn = c,
		.req = r,
		.api_minor = minor ? minor : API_VERSION_MAX_MINOR,
		.param = param,
		.op = rt->operation,
	};
	log_debug("%s %s -> %s", r->method, r->path, rt->operation);
	rt->handler(&ctx);
	free(param);
}

json_t *api_body_json(struct api_ctx *ctx, bool required)
{
	const struct http_request *r = ctx->req;
	if (!r->body || r->body_len == 0) {
		if (required) {
			http_reply_errorf(ctx->conn, 400, "request body is required");
			return NULL;
		}
		return json_object();
	}
	json_error_t jerr;
	json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		http_reply_errorf(ctx->conn, 400, "invalid JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		http_reply_errorf(ctx->conn, 400, "invalid JSON: the body must be an object");
		return NULL;
	}
	return j;
}

json_t *api_filters(struct api_ctx *ctx, const char *const *known)
{
	_cleanup_free_ char *raw = http_query_get(ctx->req, "filters");
	if (!raw || !raw[0])
		return json_object();
	json_error_t jerr;
	json_t *j = json_loads(raw, 0, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		http_reply_errorf(ctx->conn, 400, "invalid filter: %s", jerr.text);
		return NULL;
	}
	/* Docker accepts {"key": ["v"]} and the older {"key": {"v": true}}. */
	const char *k;
	json_t *v;
	json_t *norm = json_object();
	json_object_foreach(j, k, v)
	{
		json_t *arr = json_array();
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) if (json_is_string(e))
			    json_array_append(arr, e);
		} else if (json_is_object(v)) {
			const char *vk;
			json_t *vv;
			json_object_foreach(v, vk, vv) if (json_is_true(vv))
			    json_array_append_new(arr, json_string(vk));
		} else {
			json_decref(arr);
			json_decref(norm);
			json_decref(j);
			http_reply_errorf(ctx->conn, 400, "invalid filter '%s'", k);
			return NULL;
		}
		json_object_set_new(norm, k, arr);
	}
	json_decref(j);
	const char *bad = NULL;
	json_object_foreach(norm, k, v)
	{
		bool ok = !known;
		for (size_t i = 0; known && known[i]; i++)
			ok |= strcmp(k, known[i]) == 0;
		if (!ok) {
			bad = k;
			break;
		}
	}
	if (bad) {
		http_reply_errorf(ctx->conn, 400, "invalid filter '%s'", bad);
		json_decref(norm);
		return NULL;
	}
	return norm;
}

json_t *api_prune_filters(struct api_ctx *ctx, int64_t *until)
{
	static const char *const known[] = { "until", "label", "label!", NULL };
	json_t *filters = api_filters(ctx, known);
	*until = 0;
	if (!filters)
		return NULL;
	const char *u = json_string_value(json_array_get(json_object_get(filters, "until"), 0));
	if (u && time_parse_docker(u, now_nsec(CLOCK_REALTIME), until) < 0) {
		http_reply_errorf(ctx->conn, 400, "invalid until filter `%s`", u);
		json_decref(filters);
		return NULL;
	}
	return filters;
}

bool api_filters_match(json_t *filters, api_filter_fn one, const void *item, void *ud)
{
	const char *k;
	json_t *vals;
	json_object_foreach(filters, k, vals)
	{
		size_t i;
		json_t *v;
		bool any = false, all = true;
		json_array_foreach(vals, i, v)
		{
			bool m = json_is_string(v) && one(item, k, json_string_value(v), ud);
			any |= m;
			all &= m;
		}
		/* Labels must all match; other keys need one value to. */
		if (strcmp(k, "label") == 0 ? !all : !any)
			return false;
	}
	return true;
}

bool api_label_match(json_t *labels, const char *spec)
{
	const char *eq = strchr(spec, '=');
	_cleanup_free_ char *key = eq ? xstrndup(spec, (size_t)(eq - spec)) : xstrdup(spec);
	const char *have = json_string_value(json_object_get(labels, key));
	return have && (!eq || strcmp(have, eq + 1) == 0);
}

void api_reply_error(struct api_ctx *ctx, const struct arca_error *err)
{
	http_reply_error(ctx->conn, err);
}

struct container *api_find_container(struct api_ctx *ctx)
{
	_cleanup_error_ struct arca_error *err = NULL;
	struct container *c = daemon_find_container(ctx->d, ctx->param, &err);
	if (!c)
		http_reply_error(ctx->conn, err);
	return c;
}

bool api_resize_params(struct api_ctx *ctx, unsigned *rows, unsigned *cols)
{
	_cleanup_free_ char *h = http_query_get(ctx->req, "h");
	_cleanup_free_ char *w = http_query_get(ctx->req, "w");
	uint32_t r, c;
	if (!h || !w || safe_atou32(h, &r) < 0 || safe_atou32(w, &c) < 0 || r > 65535 ||
	    c > 65535) {
		http_reply_errorf(ctx->conn, 400, "invalid height or width");
		return false;
	}
	*rows = r;
	*cols = c;
	return true;
}
