/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON views of a container: ContainerInspect's and ContainerList's shapes. */
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-health.h"
#include "container-mounts.h"
#include "container.h"
#include "sandbox.h"
#include "daemon.h"
#include "hashmap.h"
#include "log-config.h"
#include "network.h"
#include "restart-policy.h"
#include "strv.h"

static json_t *str_or_empty(const char *s)
{
	return json_string(s ? s : "");
}

/* An endpoint as the API shows it: Arca's own keys left out. */
static json_t *public_endpoint(json_t *ep)
{
	json_t *o = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(ep, k, v) if (strncmp(k, "Arca", 4) != 0) json_object_set(o, k, v);
	return o;
}

/* NetworkSettings: the endpoints, the ports, and the default bridge's endpoint on top. */
static json_t *network_settings(struct container *c)
{
	json_t *networks = json_object();
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	    json_object_set_new(networks, k, public_endpoint(ep));
	json_t *bridge = json_object_get(c->networks, "bridge");
	static const char *const top[] = { "EndpointID", "Gateway",	"GlobalIPv6Address",
					   "IPAddress",	 "IPv6Gateway", "MacAddress" };
	bool running = c->sandbox != NULL;
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:i, s:n, s:n}", "Bridge", "",
			      "SandboxID", running ? c->id : "", "SandboxKey", "", "Ports",
			      running ? sandbox_ports_json(c) : json_object(), "HairpinMode", 0,
			      "LinkLocalIPv6Address", "", "LinkLocalIPv6PrefixLen", 0,
			      "SecondaryIPAddresses", "SecondaryIPv6Addresses");
	for (size_t i = 0; i < ELEMENTSOF(top); i++) {
		const char *v = json_string_value(json_object_get(bridge, top[i]));
		json_object_set_new(o, top[i], json_string(v ? v : ""));
	}
	json_object_set_new(
	    o, "GlobalIPv6PrefixLen",
	    json_integer(json_integer_value(json_object_get(bridge, "GlobalIPv6PrefixLen"))));
	json_object_set_new(
	    o, "IPPrefixLen",
	    json_integer(json_integer_value(json_object_get(bridge, "IPPrefixLen"))));
	json_object_set_new(o, "Networks", networks);
	return o;
}

/* The summary's Ports: a binding each, and the exposed ports without one. */
static json_t *summary_ports(struct container *c)
{
	json_t *out = json_array();
	if (!c->sandbox)
		return out;
	json_t *ports = sandbox_ports_json(c);
	const char *key;
	json_t *list;
	json_object_foreach(ports, key, list)
	{
		int port = atoi(key);
		const char *slash = strchr(key, '/');
		const char *proto = slash ? slash + 1 : "tcp";
		if (!json_array_size(list)) {
			json_array_append_new(
			    out, json_pack("{s:i, s:s}", "PrivatePort", port, "Type", proto));
			continue;
		}
		size_t i;
		json_t *b;
		json_array_foreach(list, i, b)
		{
			const char *hp = json_string_value(json_object_get(b, "HostPort"));
			json_array_append_new(out, json_pack("{s:O, s:i, s:i, s:s}", "IP",
							     json_object_get(b, "HostIp"),
							     "PrivatePort", port, "PublicPort",
							     hp ? atoi(hp) : 0, "Type", proto));
		}
	}
	json_decref(ports);
	return out;
}

json_t *container_inspect(struct container *c)
{
	json_t *cfg = json_deep_copy(c->config);
	json_t *path_args = json_array();
	json_t *entry = json_object_get(c->config, "Entrypoint");
	json_t *cmd = json_object_get(c->config, "Cmd");
	size_t i;
	json_t *v;
	json_array_foreach(entry, i, v) json_array_append(path_args, v);
	json_array_foreach(cmd, i, v) json_array_append(path_args, v);
	json_t *path = json_array_size(path_args) ? json_incref(json_array_get(path_args, 0))
						  : json_string("");
	json_array_remove(path_args, 0);

	struct log_config log_cfg;
	if (log_config_parse(json_object_get(c->host_config, "LogConfig"), &log_cfg, NULL) < 0)
		log_cfg.none = false;
	json_t *health = container_health_json(c);
	json_t *state =
	    json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:o, s:s, s:s}", "Status",
		      container_state_name(c->state), "Running",
		      c->state == CONTAINER_RUNNING || c->state == CONTAINER_PAUSED ||
			  c->state == CONTAINER_RESTARTING,
		      "Paused", c->state == CONTAINER_PAUSED, "Restarting",
		      c->state == CONTAINER_RESTARTING, "OOMKilled", 0, "Dead",
		      c->state == CONTAINER_DEAD, "Pid", container_is_running(c) ? (int)c->pid : 0,
		      "ExitCode", c->exit_code, "Error", str_or_empty(c->error), "StartedAt",
		      c->started_at ? c->started_at : "0001-01-01T00:00:00Z", "FinishedAt",
		      c->finished_at ? c->finished_at : "0001-01-01T00:00:00Z");
	if (health)
		json_object_set_new(state, "Health", health);

	json_t *hc = json_deep_copy(c->host_config);
	const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
	if (!mode || !mode[0] || strcmp(mode, "default") == 0)
		json_object_set_new(hc, "NetworkMode", json_string("bridge"));
	if (!json_object_get(hc, "RestartPolicy"))
		json_object_set_new(hc, "RestartPolicy",
				    json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0));
	/* Records from before the default was stored at create. */
	const char *log_type =
	    json_string_value(json_object_get(json_object_get(hc, "LogConfig"), "Type"));
	if (!log_type || !log_type[0])
		json_object_set_new(hc, "LogConfig",
				    json_pack("{s:s, s:{}}", "Type", "json-file", "Config"));
	json_t *o = json_pack(
	    "{s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:o,"
	    " s:o, s:{s:s, s:{s:s}}, s:[], s:o, s:o}",
	    "Id", c->id, "Created", c->created, "Path", path, "Args", path_args, "State", state,
	    "Image", c->image_id, "ResolvConfPath", "", "HostnamePath", "", "HostsPath", "",
	    "LogPath", log_cfg.none ? "" : c->log_path, "RestartCount", c->restart_count, "Driver",
	    "arca-vm", "Platform", "linux", "Name", json_sprintf("/%s", c->name), "HostConfig", hc,
	    "GraphDriver", "Name", "arca-ext4", "Data", "UpperDir", c->rw_disk, "Mounts", "Config",
	    cfg, "NetworkSettings", network_settings(c));
	json_object_set_new(o, "Mounts", container_mounts_json(c));
	/* What its VM booted last (docs/guest-assets.md): a restarted daemon knows it too. */
	json_object_set_new(o, "ArcaGuest", c->guest ? json_incref(c->guest) : json_null());
	return o;
}

json_t *container_summary(struct container *c, bool size)
{
	json_t *names = json_pack("[o]", json_sprintf("/%s", c->name));
	json_t *cmd_parts = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c->config, "Entrypoint"), i, v)
	    json_array_append(cmd_parts, v);
	json_array_foreach(json_object_get(c->config, "Cmd"), i, v) json_array_append(cmd_parts, v);
	size_t len = 0;
	json_array_foreach(cmd_parts, i, v) len += strlen(json_string_value(v)) + 1;
	char *cmd = xmalloc(len + 1);
	cmd[0] = '\0';
	json_array_foreach(cmd_parts, i, v)
	{
		if (i)
			strcat(cmd, " ");
		strcat(cmd, json_string_value(v));
	}
	json_decref(cmd_parts);

	/* Docker's human status: "Up 3 minutes", "Exited (0) 2 seconds ago", "Created". */
	char status[128];
	const char *state = container_state_name(c->state);
	if (c->state == CONTAINER_RUNNING || c->state == CONTAINER_PAUSED) {
		time_t started = (time_t)(time_parse_rfc3339(c->started_at) / 1000000000LL);
		long secs = (long)(time(NULL) - started);
		char age[64];
		time_human_duration(secs, age, sizeof(age));
		const char *health = container_health_status(c);
		char suffix[32] = "";
		if (c->state == CONTAINER_PAUSED)
			snprintf(suffix, sizeof(suffix), " (Paused)");
		else if (health && strcmp(health, "starting") == 0)
			snprintf(suffix, sizeof(suffix), " (health: starting)");
		else if (health)
			snprintf(suffix, sizeof(suffix), " (%s)", health);
		snprintf(status, sizeof(status), "Up %s%s", age, suffix);
	} else if (c->state == CONTAINER_EXITED || c->state == CONTAINER_DEAD) {
		time_t fin = (time_t)(time_parse_rfc3339(c->finished_at) / 1000000000LL);
		long secs = (long)(time(NULL) - fin);
		char age[64];
		time_human_duration(secs, age, sizeof(age));
		snprintf(status, sizeof(status), "Exited (%d) %s ago", c->exit_code, age);
	} else if (c->state == CONTAINER_RESTARTING) {
		snprintf(status, sizeof(status), "Restarting (%d)", c->exit_code);
	} else if (c->state == CONTAINER_REMOVING) {
		snprintf(status, sizeof(status), "Removal In Progress");
	} else {
		snprintf(status, sizeof(status), "Created");
	}
	const char *netmode = json_string_value(json_object_get(c->host_config, "NetworkMode"));
	if (!netmode || !netmode[0] || strcmp(netmode, "default") == 0)
		netmode = "bridge";
	json_t *labels = json_object_get(c->config, "Labels");
	json_t *o = json_pack("{s:s, s:o, s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s, s:{s:s},"
			      " s:{s:{}}, s:[]}",
			      "Id", c->id, "Names", names, "Image", c->image, "ImageID",
			      c->image_id, "Command", cmd, "Created",
			      (json_int_t)(time_parse_rfc3339(c->created) / 1000000000LL), "Ports",
			      summary_ports(c), "Labels",
			      json_is_object(labels) ? json_deep_copy(labels) : json_object(),
			      "State", state, "Status", status, "HostConfig", "NetworkMode",
			      netmode, "NetworkSettings", "Networks", "Mounts");
	json_t *nets = json_object_get(json_object_get(o, "NetworkSettings"), "Networks");
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep) json_object_set_new(nets, k, public_endpoint(ep));
	json_object_set_new(o, "Mounts", container_mounts_json(c));
	if (size) {
		struct stat st;
		json_object_set_new(
		    o, "SizeRw",
		    json_integer(stat(c->rw_disk, &st) == 0 ? (json_int_t)st.st_blocks * 512 : 0));
		json_object_set_new(o, "SizeRootFs", json_integer(0));
	}
	free(cmd);
	return o;
}
