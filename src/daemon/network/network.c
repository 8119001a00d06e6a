/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Networks: the predefined three, user-defined bridge networks in SQLite,
 * lookup, create, remove, and the JSON shapes of a network and of a
 * container's endpoint on it.
 */
#include "network.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "firewall.h"
#include "hashmap.h"
#include "events.h"
#include "names.h"
#include "network-setup.h"
#include "time-util.h"

static const char schema_v1[] = "CREATE TABLE networks ("
				" id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
				" body TEXT NOT NULL);";

const struct db_migration network_migrations[] = {
	{ "networks", 1, schema_v1 },
};
const size_t network_n_migrations = ELEMENTSOF(network_migrations);

/* Fixed IDs for the predefined networks: stable across restarts, as dockerd's are per host. */
static const struct {
	const char *name, *id, *driver;
} builtins[] = {
	{ "bridge", "b1c4a4a0e5f0b0e4d7d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7", "bridge" },
	{ "host", "a2d5b5b1f6a1c1f5e8e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e", "host" },
	{ "none", "c3e6c6c2a7b2d2a6f9f5e4d3c2b1a0f9e8d7c6b5a49382716050f4e3d2c1b0a9", "null" },
};

struct network *network_free(struct network *n)
{
	if (!n)
		return NULL;
	free(n->name);
	free(n->driver);
	free(n->created);
	json_decref(n->labels);
	json_decref(n->options);
	json_decref(n->ipam);
	free(n->bridge);
	free(n->subnets);
	free(n);
	return NULL;
}

bool network_has_bridge(const struct network *n)
{
	return n->bridge != NULL;
}

const struct ipam_subnet *network_subnet(const struct network *n, int family)
{
	for (size_t i = 0; i < n->n_subnets; i++)
		if (n->subnets[i].subnet.family == family)
			return &n->subnets[i];
	return NULL;
}

static json_t *object_or_empty(json_t *v)
{
	return json_is_object(v) ? json_deep_copy(v) : json_object();
}

static json_t *ipam_normalized(json_t *ipam)
{
	const char *driver = json_string_value(json_object_get(ipam, "Driver"));
	json_t *config = json_object_get(ipam, "Config");
	json_t *opts = json_object_get(ipam, "Options");
	return json_pack("{s:s, s:o, s:o}", "Driver", driver && driver[0] ? driver : "default",
			 "Config", json_is_array(config) ? json_deep_copy(config) : json_array(),
			 "Options", object_or_empty(opts));
}

/* The stored form: the create body's settings, normalized, and what IPAM resolved. */
static json_t *body_of(const struct network *n)
{
	json_t *subnets = json_array();
	for (size_t i = 0; i < n->n_subnets; i++)
		json_array_append_new(subnets, ipam_subnet_to_json(&n->subnets[i]));
	return json_pack("{s:s, s:s, s:b, s:b, s:b, s:O, s:O, s:O, s:o, s:b}", "Driver", n->driver,
			 "Created", n->created, "Internal", n->internal, "Attachable",
			 n->attachable, "EnableIPv6", n->enable_ipv6, "Labels", n->labels,
			 "Options", n->options, "IPAM", n->ipam, "ArcaSubnets", subnets,
			 "ArcaUserSubnets", n->user_subnets);
}

static struct network *from_body(const char *id, const char *name, json_t *b)
{
	struct network *n = xnew0(struct network, 1);
	snprintf(n->id, sizeof(n->id), "%s", id);
	n->name = xstrdup(name);
	const char *driver = json_string_value(json_object_get(b, "Driver"));
	n->driver = xstrdup(driver && driver[0] ? driver : "bridge");
	const char *created = json_string_value(json_object_get(b, "Created"));
	n->created = created ? xstrdup(created) : time_now_rfc3339();
	n->internal = json_is_true(json_object_get(b, "Internal"));
	n->attachable = json_is_true(json_object_get(b, "Attachable"));
	n->enable_ipv6 = json_is_true(json_object_get(b, "EnableIPv6"));
	n->labels = object_or_empty(json_object_get(b, "Labels"));
	n->options = object_or_empty(json_object_get(b, "Options"));
	n->ipam = ipam_normalized(json_object_get(b, "IPAM"));
	/* Stored: the flag; a create body: whether it gives subnets. */
	json_t *us = json_object_get(b, "ArcaUserSubnets");
	n->user_subnets =
	    us ? json_is_true(us) : json_array_size(json_object_get(n->ipam, "Config")) > 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(b, "ArcaSubnets"), i, e)
	{
		struct ipam_subnet sub;
		if (ipam_subnet_from_json(e, &sub, NULL) < 0)
			continue; /* stored by us: only a damaged row lands here */
		n->subnets = xrealloc(n->subnets, (n->n_subnets + 1) * sizeof(*n->subnets));
		n->subnets[n->n_subnets++] = sub;
	}
	network_apply_options(n);
	return n;
}

int network_load_all(struct daemon *d, struct arca_error **err)
{
	for (size_t i = 0; i < ELEMENTSOF(builtins); i++) {
		json_t *b = json_pack("{s:s, s:s}", "Driver", builtins[i].driver, "Created",
				      "2024-01-01T00:00:00Z");
		if (strcmp(builtins[i].name, "bridge") == 0)
			json_object_set_new(
			    b, "Options",
			    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
				      "com.docker.network.bridge.default_bridge", "true",
				      "com.docker.network.bridge.enable_icc", "true",
				      "com.docker.network.bridge.enable_ip_masquerade", "true",
				      "com.docker.network.bridge.host_binding_ipv4", "0.0.0.0",
				      "com.docker.network.bridge.name", NETWORK_DEFAULT_BRIDGE,
				      "com.docker.network.driver.mtu", "1500"));
		struct network *n = from_body(builtins[i].id, builtins[i].name, b);
		n->builtin = true; /* the default bridge's name is fixed: apply again */
		network_apply_options(n);
		json_decref(b);
		hashmap_put(d->networks, n->id, n);
	}
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(d->db, "SELECT id, name, body FROM networks", &s, err);
	if (r < 0)
		return r;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		const char *name = (const char *)sqlite3_column_text(s, 1);
		json_t *b = json_loads((const char *)sqlite3_column_text(s, 2), 0, NULL);
		if (!id || strlen(id) != 64 || !name || !json_is_object(b)) {
			json_decref(b);
			continue; /* not ours to repair; the rest still load */
		}
		struct network *n = from_body(id, name, b);
		json_decref(b);
		hashmap_put(d->networks, n->id, n);
	}
	if (rc != SQLITE_DONE)
		return db_error(d->db, rc, "load networks", err);
	return network_setup_host(d, err);
}

int network_find(struct daemon *d, const char *ref, struct network **ret, struct arca_error **err)
{
	struct network *prefix = NULL;
	unsigned matches = 0;
	size_t len = strlen(ref), it = 0;
	void *v;
	while (len && hashmap_iter(d->networks, &it, NULL, &v)) {
		struct network *n = v;
		if (strcmp(n->name, ref) == 0 || strcmp(n->id, ref) == 0) {
			*ret = n;
			return 0;
		}
		if (strncmp(n->id, ref, len) == 0) {
			prefix = n;
			matches++;
		}
	}
	if (matches == 1) {
		*ret = prefix;
		return 0;
	}
	if (matches > 1)
		return arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID,
		    "network %s is ambiguous (%u matches found based on ID prefix)", ref, matches);
	return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND, "network %s not found", ref);
}

static int save(struct daemon *d, const struct network *n, struct arca_error **err)
{
	json_t *b = body_of(n);
	_cleanup_free_ char *text = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r =
	    db_prepare(d->db, "INSERT INTO networks (id, name, body) VALUES (?, ?, ?)", &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, n->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, n->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : db_error(d->db, rc, "save network", err);
}

static int check_body(json_t *body, struct arca_error **err)
{
	static const char *const objects[] = { "Labels", "Options", "IPAM" };
	for (size_t i = 0; i < ELEMENTSOF(objects); i++) {
		json_t *v = json_object_get(body, objects[i]);
		if (v && !json_is_null(v) && !json_is_object(v))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be an object",
					      objects[i]);
	}
	json_t *cfg = json_object_get(json_object_get(body, "IPAM"), "Config");
	if (cfg && !json_is_null(cfg) && !json_is_array(cfg))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "IPAM.Config must be a list");
	static const char *const bools[] = { "Internal", "Attachable",	   "EnableIPv6",
					     "Ingress",	 "CheckDuplicate", "ConfigOnly" };
	for (size_t i = 0; i < ELEMENTSOF(bools); i++) {
		json_t *v = json_object_get(body, bools[i]);
		if (v && !json_is_null(v) && !json_is_boolean(v))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be a boolean",
					      bools[i]);
	}
	if (json_is_true(json_object_get(body, "Ingress")))
		return arca_error_set(err, EPERM, ARCA_ERR_FORBIDDEN,
				      "ingress networks need swarm mode");
	return 0;
}

int network_create(struct daemon *d, json_t *body, struct network **ret, char **ret_warning,
		   struct arca_error **err)
{
	if (!json_is_object(body))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "the body must be an object");
	const char *name = json_string_value(json_object_get(body, "Name"));
	if (!name || !name[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "network name is required");
	if (!name_is_valid(name) || name[0] == '/')
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] "
				      "are allowed",
				      name);
	int r = check_body(body, err);
	if (r < 0)
		return r;
	const char *driver = json_string_value(json_object_get(body, "Driver"));
	if (driver && driver[0] && strcmp(driver, "bridge") != 0) {
		if (strcmp(driver, "host") == 0 || strcmp(driver, "null") == 0)
			return arca_error_set(err, EPERM, ARCA_ERR_FORBIDDEN,
					      "only one instance of \"%s\" network is allowed",
					      driver);
		return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
				      "plugin \"%s\" not found: Arca has the bridge driver only",
				      driver);
	}
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->networks, &it, NULL, &v))
		if (strcmp(((struct network *)v)->name, name) == 0)
			return arca_error_set(err, EEXIST, ARCA_ERR_CONFLICT,
					      "network with name %s already exists", name);

	if (strcmp(name, "bridge") == 0 || strcmp(name, "host") == 0 || strcmp(name, "none") == 0)
		return arca_error_set(err, EPERM, ARCA_ERR_FORBIDDEN,
				      "operation is not permitted on predefined %s network ", name);
	_cleanup_free_ char *warning = NULL;
	json_t *opts = json_object_get(body, "Options");
	if (json_is_object(opts) && (r = network_check_options(opts, &warning, err)) < 0)
		return r;
	json_t *b = json_deep_copy(body);
	json_object_del(b, "Created");
	json_object_del(b, "ArcaSubnets"); /* ours to fill */
	char id[ID_HEX_LEN + 1];
	id_generate(id);
	struct network *n = from_body(id, name, b);
	json_decref(b);
	const char *bridge = n->bridge;
	it = 0;
	while (bridge && hashmap_iter(d->networks, &it, NULL, &v)) {
		const struct network *o = v;
		if (o->bridge && strcmp(o->bridge, bridge) == 0) {
			r = arca_error_set(err, EEXIST, ARCA_ERR_CONFLICT,
					   "bridge name %s is used by network %s", bridge, o->name);
			network_free(n);
			return r;
		}
	}
	r = network_resolve_ipam(d, n, err);
	if (r >= 0)
		r = network_bridge_up(d, n, err);
	if (r >= 0)
		r = save(d, n, err);
	if (r < 0) {
		network_bridge_down(d, n);
		network_free(n);
		return r;
	}
	hashmap_put(d->networks, n->id, n);
	firewall_update(d);
	events_emit(d->events, "network", "create", n->id,
		    json_pack("{s:s, s:s}", "name", n->name, "type", n->driver));
	*ret = n;
	*ret_warning = TAKE_PTR(warning);
	return 0;
}

unsigned network_users(struct daemon *d, const struct network *n, bool running_only)
{
	unsigned count = 0;
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->containers, &it, NULL, &v)) {
		struct container *c = v;
		if (running_only && !container_is_running(c))
			continue;
		const char *k;
		json_t *ep;
		json_object_foreach(c->networks, k, ep)
		{
			const char *id = json_string_value(json_object_get(ep, "NetworkID"));
			if (id && strcmp(id, n->id) == 0) {
				count++;
				break;
			}
		}
	}
	return count;
}

int network_remove(struct daemon *d, struct network *n, struct arca_error **err)
{
	if (n->builtin)
		return arca_error_set(err, EPERM, ARCA_ERR_FORBIDDEN,
				      "%s is a pre-defined network and cannot be removed", n->name);
	if (network_users(d, n, true)) {
		/* dockerd 28: the running containers' names and short IDs */
		_cleanup_free_ char *list = xstrdup("");
		size_t it = 0;
		void *v;
		while (hashmap_iter(d->containers, &it, NULL, &v)) {
			struct container *c = v;
			if (!container_is_running(c) || !json_object_get(c->networks, n->name))
				continue;
			char *l = xasprintf("%s%sname:\"%s\" id:\"%.12s\"", list,
					    list[0] ? ", " : "", c->name, c->id);
			free(list);
			list = l;
		}
		return arca_error_set(err, EBUSY, ARCA_ERR_FORBIDDEN,
				      "error while removing network: network %s has active "
				      "endpoints (%s)",
				      n->name, list);
	}
	/* A build's step VM on it (build-net.h) is an active endpoint too. */
	size_t it = 0;
	void *v;
	while (d->build_vms && hashmap_iter(d->build_vms, &it, NULL, &v)) {
		struct container *c = v;
		if (json_object_get(c->networks, n->name))
			return arca_error_set(err, EBUSY, ARCA_ERR_FORBIDDEN,
					      "error while removing network: network %s has active "
					      "endpoints (a build: %s)",
					      n->name, c->name);
	}
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(d->db, "DELETE FROM networks WHERE id = ?", &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, n->id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return db_error(d->db, rc, "remove network", err);
	hashmap_remove(d->networks, n->id);
	network_bridge_down(d, n);
	firewall_update(d);
	events_emit(d->events, "network", "destroy", n->id,
		    json_pack("{s:s, s:s}", "name", n->name, "type", n->driver));
	network_free(n);
	return 0;
}

json_t *network_json(struct daemon *d, const struct network *n, bool with_containers)
{
	json_t *containers = json_object();
	size_t it = 0;
	void *v;
	while (with_containers && hashmap_iter(d->containers, &it, NULL, &v)) {
		struct container *c = v;
		if (!container_is_running(c))
			continue;
		const char *k;
		json_t *ep;
		json_object_foreach(c->networks, k, ep)
		{
			const char *id = json_string_value(json_object_get(ep, "NetworkID"));
			if (!id || strcmp(id, n->id) != 0)
				continue;
			const char *ip4 = json_string_value(json_object_get(ep, "IPAddress"));
			const char *ip6 =
			    json_string_value(json_object_get(ep, "GlobalIPv6Address"));
			_cleanup_free_ char *a4 =
			    ip4 && ip4[0]
				? xasprintf("%s/%lld", ip4,
					    json_integer_value(json_object_get(ep, "IPPrefixLen")))
				: xstrdup("");
			_cleanup_free_ char *a6 =
			    ip6 && ip6[0] ? xasprintf("%s/%lld", ip6,
						      json_integer_value(json_object_get(
							  ep, "GlobalIPv6PrefixLen")))
					  : xstrdup("");
			json_object_set_new(
			    containers, c->id,
			    json_pack("{s:s, s:O, s:O, s:s, s:s}", "Name", c->name, "EndpointID",
				      json_object_get(ep, "EndpointID"), "MacAddress",
				      json_object_get(ep, "MacAddress"), "IPv4Address", a4,
				      "IPv6Address", a6));
		}
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:O, s:b, s:b, s:b, s:{s:s},"
			 " s:b, s:o, s:O, s:O}",
			 "Name", n->name, "Id", n->id, "Created", n->created, "Scope", "local",
			 "Driver", n->driver, "EnableIPv4", !n->builtin || strcmp(n->name, "none"),
			 "EnableIPv6", n->enable_ipv6, "IPAM", n->ipam, "Internal", n->internal,
			 "Attachable", n->attachable, "Ingress", 0, "ConfigFrom", "Network", "",
			 "ConfigOnly", 0, "Containers", containers, "Options", n->options, "Labels",
			 n->labels);
}

static json_t *string_list(json_t *v)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) if (json_is_string(e)) json_array_append(out, e);
	return out;
}

static bool list_has(json_t *list, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) if (json_is_string(e) &&
					   strcmp(json_string_value(e), s) == 0) return true;
	return false;
}

static int endpoint_invalid(const struct network *n, struct arca_error **err, const char *why)
{
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
			      "invalid config for network %s: invalid endpoint settings:\n%s",
			      n->name, why);
}

/* IPAMConfig's IPv4Address and IPv6Address: a user-defined network's own subnets only. */
static int check_ipam_config(const struct network *n, json_t *ipam, struct arca_error **err)
{
	static const struct {
		const char *key;
		int family;
	} keys[] = { { "IPv4Address", AF_INET }, { "IPv6Address", AF_INET6 } };
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		const char *a = json_string_value(json_object_get(ipam, keys[i].key));
		if (!a || !a[0])
			continue;
		struct host_prefix p;
		if (ipam_addr_parse(a, &p) < 0 || p.family != keys[i].family) {
			_cleanup_free_ char *why = xasprintf(
			    "invalid IPv%c address: %s", keys[i].family == AF_INET ? '4' : '6', a);
			return endpoint_invalid(n, err, why);
		}
		if (n->builtin)
			return endpoint_invalid(n, err,
						"user specified IP address is supported on user "
						"defined networks only");
		if (!n->user_subnets)
			return endpoint_invalid(
			    n, err,
			    "user specified IP address is supported only when "
			    "connecting to networks with user configured subnets");
		const struct ipam_subnet *sub = network_subnet(n, keys[i].family);
		if (!sub || !ipam_prefix_contains(&sub->subnet, p.addr)) {
			_cleanup_free_ char *why = xasprintf(
			    "no configured subnet or ip-range contain the IP address %s", a);
			return endpoint_invalid(n, err, why);
		}
	}
	return 0;
}

bool network_mac_parse(const char *s, uint8_t ret[6])
{
	unsigned b[6];
	char tail;
	if (!s ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6 ||
	    strlen(s) != 17)
		return false;
	for (int i = 0; i < 6; i++)
		ret[i] = (uint8_t)b[i];
	return !(ret[0] & 1); /* not a multicast address */
}

int network_endpoint(const struct network *n, const struct container *c, json_t *endpoint_config,
		     int api_minor, json_t **ret, struct arca_error **err)
{
	json_t *aliases = json_object_get(endpoint_config, "Aliases");
	if (aliases && !json_is_null(aliases) && !json_is_array(aliases))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "Aliases must be a list");
	bool user_defined = !n->builtin;
	if (!user_defined && json_array_size(aliases))
		return endpoint_invalid(n, err,
					"network-scoped alias is supported only for containers in "
					"user defined networks");
	json_t *ipam = json_object_get(endpoint_config, "IPAMConfig");
	int r = check_ipam_config(n, ipam, err);
	if (r < 0)
		return r;
	const char *mac = json_string_value(json_object_get(endpoint_config, "MacAddress"));
	uint8_t m[6];
	if (mac && mac[0] && !network_mac_parse(mac, m)) {
		_cleanup_free_ char *why = xasprintf("invalid MAC address %s", mac);
		return endpoint_invalid(n, err, why);
	}
	char short_id[13];
	snprintf(short_id, sizeof(short_id), "%.12s", c->id);
	json_t *al = json_null(), *dns = json_null();
	if (user_defined) {
		al = string_list(aliases);
		if (api_minor < 45 && !list_has(al, short_id))
			json_array_append_new(al, json_string(short_id));
		/* dockerd's DNSNames: the name, the aliases, the short ID, the hostname. */
		const char *host = json_string_value(json_object_get(c->config, "Hostname"));
		dns = json_pack("[s]", c->name);
		size_t i;
		json_t *e;
		json_array_foreach(al, i, e) if (!list_has(dns, json_string_value(e)))
		    json_array_append(dns, e);
		if (!list_has(dns, short_id))
			json_array_append_new(dns, json_string(short_id));
		if (host && host[0] && !list_has(dns, host))
			json_array_append_new(dns, json_string(host));
	}
	json_t *links = json_object_get(endpoint_config, "Links");
	json_t *opts = json_object_get(endpoint_config, "DriverOpts");
	*ret = json_pack("{s:o, s:o, s:o, s:s, s:o, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:i,"
			 " s:o}",
			 "IPAMConfig", json_is_object(ipam) ? json_deep_copy(ipam) : json_null(),
			 "Links", json_is_array(links) ? json_deep_copy(links) : json_null(),
			 "Aliases", al, "MacAddress", mac ? mac : "", "DriverOpts",
			 json_is_object(opts) ? json_deep_copy(opts) : json_null(), "GwPriority", 0,
			 "NetworkID", n->id, "EndpointID", "", "Gateway", "", "IPAddress", "",
			 "IPPrefixLen", 0, "IPv6Gateway", "", "GlobalIPv6Address", "",
			 "GlobalIPv6PrefixLen", 0, "DNSNames", dns);
	/* A MAC the client chose is kept across starts; a generated one is not. */
	if (mac && mac[0])
		json_object_set_new(*ret, NETWORK_EP_DESIRED_MAC, json_string(mac));
	return 0;
}
