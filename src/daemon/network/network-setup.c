/* SPDX-License-Identifier: Apache-2.0 */
/* A network's options, IPAM and Linux bridge (see network-setup.h). */
#include "network-setup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "daemon.h"
#include "fd-util.h"
#include "firewall.h"
#include "hashmap.h"
#include "host-link.h"
#include "log.h"
#include "network.h"
#include "parse-util.h"
#include "strv.h"

#define OPT_BRIDGE_NAME "com.docker.network.bridge.name"
#define OPT_MTU		"com.docker.network.driver.mtu"
#define OPT_ICC		"com.docker.network.bridge.enable_icc"
#define OPT_MASQ	"com.docker.network.bridge.enable_ip_masquerade"
#define BRIDGE_PREFIX	"arca-"

/* Options dockerd's bridge driver takes that Arca keeps (and shows) without applying. */
static const char *const unapplied[] = {
	"com.docker.network.bridge.host_binding_ipv4",
	"com.docker.network.bridge.gateway_mode_ipv4",
	"com.docker.network.bridge.gateway_mode_ipv6",
	"com.docker.network.bridge.inhibit_ipv4",
	"com.docker.network.bridge.trusted_host_interfaces",
	"com.docker.network.container_iface_prefix",
	"com.docker.network.enable_ipv4",
};

static const char *opt(const struct network *n, const char *key)
{
	return json_string_value(json_object_get(n->options, key));
}

void network_apply_options(struct network *n)
{
	bool is_default = n->builtin && strcmp(n->name, "bridge") == 0;
	free(n->bridge);
	n->bridge = NULL;
	if (strcmp(n->driver, "bridge") != 0)
		return;
	const char *name = opt(n, OPT_BRIDGE_NAME);
	n->bridge = is_default	      ? xstrdup(NETWORK_DEFAULT_BRIDGE)
		    : name && name[0] ? xstrdup(name)
				      : xasprintf(BRIDGE_PREFIX "%.10s", n->id);
	uint32_t mtu = 0;
	const char *m = opt(n, OPT_MTU);
	n->mtu = m && safe_atou32(m, &mtu) == 0 && mtu ? mtu : NETWORK_DEFAULT_MTU;
	const char *icc = opt(n, OPT_ICC), *masq = opt(n, OPT_MASQ);
	n->icc = !icc || strcmp(icc, "false") != 0;
	n->masquerade = !masq || strcmp(masq, "false") != 0;
}

static bool bool_string(const char *s)
{
	return strcmp(s, "true") == 0 || strcmp(s, "false") == 0 || strcmp(s, "1") == 0 ||
	       strcmp(s, "0") == 0;
}

int network_check_options(json_t *options, char **ret_warning, struct arca_error **err)
{
	*ret_warning = NULL;
	const char *key;
	json_t *v;
	_cleanup_free_ char *kept = xstrdup("");
	json_object_foreach(options, key, v)
	{
		const char *s = json_string_value(v);
		if (!s)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "driver option %s must be a string", key);
		if (strcmp(key, OPT_BRIDGE_NAME) == 0) {
			size_t len = strlen(s);
			if (!len || len >= IFNAMSIZ || strpbrk(s, "/: \t\n") ||
			    strcmp(s, NETWORK_DEFAULT_BRIDGE) == 0)
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "invalid bridge name %s: 1 to %d characters, "
						      "no '/', ':' or spaces, not %s",
						      s, IFNAMSIZ - 1, NETWORK_DEFAULT_BRIDGE);
		} else if (strcmp(key, OPT_MTU) == 0) {
			uint32_t mtu;
			if (safe_atou32(s, &mtu) < 0 || mtu < 68 || mtu > 65535)
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "invalid MTU %s: from 68 to 65535", s);
		} else if (strcmp(key, OPT_ICC) == 0 || strcmp(key, OPT_MASQ) == 0) {
			if (!bool_string(s))
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "invalid value %s for %s: true or false", s,
						      key);
		} else {
			bool known = false;
			for (size_t i = 0; i < ELEMENTSOF(unapplied); i++)
				known |= strcmp(key, unapplied[i]) == 0;
			char *n = xasprintf("%s%s%s", kept, kept[0] ? ", " : "", key);
			free(kept);
			kept = n;
			(void)
			    known; /* known or not, it is kept and reported, never silently used */
		}
	}
	if (kept[0])
		*ret_warning = xasprintf("driver options not applied by Arca: %s", kept);
	return 0;
}

/* Prefixes a new network's subnet is checked against. */
struct taken {
	struct host_prefix *p;
	size_t n;
};

static void take(struct taken *t, const struct host_prefix *p)
{
	t->p = xrealloc(t->p, (t->n + 1) * sizeof(*t->p));
	t->p[t->n++] = *p;
}

static bool overlaps(const struct taken *t, const struct host_prefix *p)
{
	for (size_t i = 0; i < t->n; i++)
		if (ipam_prefix_overlaps(p, &t->p[i]))
			return true;
	return false;
}

/* The subnets of every other network. */
static void other_networks(struct daemon *d, const struct network *self, struct taken *t)
{
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->networks, &it, NULL, &v)) {
		const struct network *o = v;
		for (size_t i = 0; o != self && i < o->n_subnets; i++)
			take(t, &o->subnets[i].subnet);
	}
}

/* The subnets the host routes to (IPAM skips them); a default route is no subnet. */
static void on_route(const struct host_route *r, void *userdata)
{
	if (r->dst.len)
		take(userdata, &r->dst);
}

/* What the host routes, and its nameservers: a default pool skips them, as dockerd's. */
static void host_reserved(struct daemon *d, struct taken *t)
{
	(void)host_route_list(d->nl, on_route, t, NULL);
	_cleanup_free_ char *conf = NULL;
	if (read_file_at(AT_FDCWD, "/etc/resolv.conf", 64 * 1024, &conf, NULL) < 0)
		return;
	char *save = NULL;
	for (char *l = strtok_r(conf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char ns[64];
		struct host_prefix p;
		if (sscanf(l, " nameserver %63s", ns) == 1 && ipam_addr_parse(ns, &p) == 0)
			take(t, &p);
	}
}

/* The host's ULA /48 for IPv6 networks without a subnet (dockerd derives it per host). */
static void ula_base(struct daemon *d, struct host_prefix *ret)
{
	uint64_t h = hashmap_hash(d->cfg.root); /* of the data root: stable per daemon */
	*ret = (struct host_prefix){ .family = AF_INET6, .len = 48 };
	ret->addr[0] = 0xfd;
	for (int i = 1; i < 6; i++)
		ret->addr[i] = (uint8_t)(h >> (8 * (i - 1)));
}

static int add_subnet(struct network *n, json_t *entry, struct arca_error **err)
{
	struct ipam_subnet s;
	int r = ipam_subnet_from_json(entry, &s, err);
	if (r < 0)
		return r;
	n->subnets = xrealloc(n->subnets, (n->n_subnets + 1) * sizeof(*n->subnets));
	n->subnets[n->n_subnets++] = s;
	return 0;
}

static int add_prefix(struct network *n, const struct host_prefix *p, struct arca_error **err)
{
	char buf[64];
	ipam_prefix_format(p, true, buf, sizeof(buf));
	json_t *entry = json_pack("{s:s}", "Subnet", buf);
	int r = add_subnet(n, entry, err);
	json_decref(entry);
	return r;
}

/* A ULA /64 of the host's /48 that nothing in t overlaps. */
static int pick_ula(struct daemon *d, const struct taken *t, struct host_prefix *ret,
		    struct arca_error **err)
{
	struct host_prefix base;
	ula_base(d, &base);
	for (unsigned k = 0; k < 65536; k++) {
		*ret = base;
		ret->len = 64;
		ret->addr[6] = (uint8_t)(k >> 8);
		ret->addr[7] = (uint8_t)k;
		if (!overlaps(t, ret))
			return 0;
	}
	return arca_error_set(err, ENOSPC, ARCA_ERR_INVALID,
			      "all predefined address pools have been fully subnetted");
}

int network_resolve_ipam(struct daemon *d, struct network *n, struct arca_error **err)
{
	json_t *config = json_object_get(n->ipam, "Config");
	const char *driver = json_string_value(json_object_get(n->ipam, "Driver"));
	if (driver && strcmp(driver, "default") != 0)
		return arca_error_set(
		    err, ENOENT, ARCA_ERR_NOT_FOUND,
		    "plugin \"%s\" not found: Arca has the default IPAM driver only", driver);
	struct taken others = { 0 }, reserved = { 0 };
	other_networks(d, n, &others);
	size_t i;
	json_t *e;
	int r = 0;
	json_array_foreach(config, i, e)
	{
		if (r >= 0)
			r = add_subnet(n, e, err);
		/* A given subnet may overlap a host route, not another network (nor itself). */
		if (r >= 0 && overlaps(&others, &n->subnets[n->n_subnets - 1].subnet))
			r = arca_error_set(err, EEXIST, ARCA_ERR_FORBIDDEN,
					   "invalid pool request: Pool overlaps with other one on "
					   "this address space");
		if (r >= 0)
			take(&others, &n->subnets[n->n_subnets - 1].subnet);
	}
	host_reserved(d, &reserved);
	for (i = 0; i < others.n; i++)
		take(&reserved, &others.p[i]);
	struct host_prefix p;
	if (r >= 0 && !network_subnet(n, AF_INET)) {
		r = ipam_default_subnet(d->cfg.address_pools, d->cfg.n_address_pools, reserved.p,
					reserved.n, &p, err);
		if (r >= 0)
			r = add_prefix(n, &p, err);
	}
	if (r >= 0 && n->enable_ipv6 && !network_subnet(n, AF_INET6)) {
		r = pick_ula(d, &reserved, &p, err);
		if (r >= 0)
			r = add_prefix(n, &p, err);
	}
	free(others.p);
	free(reserved.p);
	if (r < 0)
		return r;
	/* As inspect shows it: the given entries as given, then what was chosen. */
	json_t *shown = json_is_array(config) ? json_deep_copy(config) : json_array();
	for (i = json_array_size(shown); i < n->n_subnets; i++)
		json_array_append_new(shown, ipam_subnet_to_json(&n->subnets[i]));
	json_object_set_new(n->ipam, "Config", shown);
	return 0;
}

int network_bridge_up(struct daemon *d, const struct network *n, struct arca_error **err)
{
	if (!network_has_bridge(n))
		return 0;
	struct host_prefix gw[4];
	size_t k = 0;
	for (size_t i = 0; i < n->n_subnets && k < ELEMENTSOF(gw); i++) {
		gw[k] = n->subnets[i].subnet;
		memcpy(gw[k].addr, n->subnets[i].gateway, 16);
		k++;
	}
	int r = host_bridge_ensure(d->nl, n->bridge, n->mtu, gw, k, err);
	if (r >= 0)
		r = host_enable_forwarding(network_subnet(n, AF_INET6) != NULL, err);
	if (r < 0)
		arca_error_wrap(err, "network %s", n->name);
	return r;
}

void network_bridge_down(struct daemon *d, const struct network *n)
{
	_cleanup_error_ struct arca_error *err = NULL;
	if (network_has_bridge(n) && host_link_delete(d->nl, n->bridge, &err) < 0)
		log_warn("network %s: %s", n->name, err->msg);
}

/* The default bridge's subnet: the one arca0 already has, else the first free pool. */
static int default_bridge_subnet(struct daemon *d, struct network *n, struct arca_error **err)
{
	struct host_prefix have;
	int r;
	if (host_link_address(d->nl, n->bridge, AF_INET, &have) == 0) {
		char sub[64], gw[64];
		struct host_prefix net = have;
		ipam_prefix_mask(&net);
		ipam_prefix_format(&net, true, sub, sizeof(sub));
		ipam_prefix_format(&have, false, gw, sizeof(gw));
		json_t *entry = json_pack("{s:s, s:s}", "Subnet", sub, "Gateway", gw);
		r = add_subnet(n, entry, err);
		json_decref(entry);
	} else {
		struct taken t = { 0 };
		other_networks(d, n, &t);
		host_reserved(d, &t);
		struct host_prefix p;
		r = ipam_default_subnet(d->cfg.address_pools, d->cfg.n_address_pools, t.p, t.n, &p,
					err);
		free(t.p);
		if (r >= 0)
			r = add_prefix(n, &p, err);
	}
	if (r >= 0)
		json_object_set_new(n->ipam, "Config",
				    json_pack("[o]", ipam_subnet_to_json(&n->subnets[0])));
	return r;
}

struct stale {
	struct daemon *d;
	char **names;
};

static void on_arca_bridge(const char *name, void *userdata)
{
	struct stale *s = userdata;
	size_t it = 0;
	void *v;
	while (hashmap_iter(s->d->networks, &it, NULL, &v)) {
		const struct network *n = v;
		if (n->bridge && strcmp(n->bridge, name) == 0)
			return;
	}
	s->names = strv_append(s->names, name);
}

int network_setup_host(struct daemon *d, struct arca_error **err)
{
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->networks, &it, NULL, &v)) {
		struct network *n = v;
		if (n->builtin && n->bridge && !n->n_subnets) {
			int r = default_bridge_subnet(d, n, err);
			if (r < 0)
				return arca_error_wrap(err, "the default bridge network");
		}
	}
	/* Bridges of networks removed while no daemon ran (only the generated names are ours). */
	struct stale s = { d, strv_copy(NULL) };
	(void)host_link_list(d->nl, BRIDGE_PREFIX, on_arca_bridge, &s, NULL);
	for (char **p = s.names; *p; p++) {
		log_info("removing bridge %s: its network is gone", *p);
		(void)host_link_delete(d->nl, *p, NULL);
	}
	strv_free(s.names);
	it = 0;
	while (hashmap_iter(d->networks, &it, NULL, &v)) {
		_cleanup_error_ struct arca_error *e = NULL;
		if (network_bridge_up(d, v, &e) < 0)
			log_error("%s", e->msg); /* its containers will say so when they start */
	}
	return 0;
}
