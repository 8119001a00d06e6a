/* SPDX-License-Identifier: Apache-2.0 */
/* A container's network while it runs (see sandbox.h). */
#include "sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "dns.h"
#include "firewall.h"
#include "guest-client.h"
#include "guest-setup.h"
#include "hashmap.h"
#include "host-link.h"
#include "log.h"
#include "strv.h"
#include "network.h"
#include "nft.h"
#include "ports.h"
#include "sandbox-internal.h"
#include "tap.h"
#include "trunk.h"
#include "vm.h"
#include "worker.h"

const char *sandbox_ep_str(json_t *ep, const char *key)
{
	const char *s = json_string_value(json_object_get(ep, key));
	return s ? s : "";
}

struct network *sandbox_ep_network(struct container *c, json_t *ep)
{
	return hashmap_get(c->d->networks, sandbox_ep_str(ep, "NetworkID"));
}

static void on_dns(struct guest_client *gc, uint32_t id, bool tcp, const uint8_t *data, size_t len,
		   void *userdata);

/* --- names and ids --- */

static void link_names(const char *endpoint_id, char port[16], char leg[16])
{
	snprintf(port, 16, "avb%.12s", endpoint_id);
	snprintf(leg, 16, "avl%.12s", endpoint_id);
}

static void mac_string(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* --- addresses --- */

struct in_use {
	struct container *self;
	const char *network_id;
	const char *key; /* IPAddress or GlobalIPv6Address */
};

static bool address_in_use(const uint8_t addr[16], void *userdata)
{
	struct in_use *u = userdata;
	char want[INET6_ADDRSTRLEN];
	bool v6 = strcmp(u->key, "GlobalIPv6Address") == 0;
	inet_ntop(v6 ? AF_INET6 : AF_INET, addr, want, sizeof(want));
	struct hashmap *maps[] = { u->self->d->containers, u->self->d->build_vms };
	for (size_t m = 0; m < ELEMENTSOF(maps); m++) {
		size_t it = 0;
		void *v;
		while (maps[m] && hashmap_iter(maps[m], &it, NULL, &v)) {
			struct container *o = v;
			const char *k;
			json_t *ep;
			json_object_foreach(o->networks, k, ep)
			{
				if (strcmp(sandbox_ep_str(ep, "NetworkID"), u->network_id) != 0)
					continue;
				const char *have = sandbox_ep_str(ep, u->key);
				if (have[0] && strcmp(have, want) == 0)
					return true;
			}
		}
	}
	return false;
}

/* One family's address of an endpoint: the one asked for (--ip), or the lowest free. */
static int assign_address(struct container *c, struct network *n, json_t *ep, int family,
			  struct arca_error **err)
{
	const struct ipam_subnet *s = network_subnet(n, family);
	if (!s)
		return 0;
	bool v6 = family == AF_INET6;
	const char *key = v6 ? "GlobalIPv6Address" : "IPAddress";
	struct in_use u = { c, n->id, key };
	json_t *ipam = json_object_get(ep, "IPAMConfig");
	const char *want =
	    json_string_value(json_object_get(ipam, v6 ? "IPv6Address" : "IPv4Address"));
	uint8_t addr[16] = { 0 };
	if (want && want[0]) {
		struct host_prefix p;
		if (ipam_addr_parse(want, &p) < 0 || p.family != family)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid address %s: It does not belong to any of "
					      "this network's subnets",
					      want);
		int r = ipam_check_address(s, p.addr, err);
		if (r < 0)
			return r;
		if (address_in_use(p.addr, &u))
			return arca_error_set(err, EEXIST, ARCA_ERR_FORBIDDEN,
					      "Address already in use: %s", want);
		memcpy(addr, p.addr, 16);
	} else if (ipam_next_address(s, address_in_use, &u, addr) < 0) {
		return arca_error_set(err, ENOSPC, ARCA_ERR_INTERNAL,
				      "no available IPv%c addresses on this network's address "
				      "pools: %s (%s)",
				      v6 ? '6' : '4', n->name, n->id);
	}
	char a[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];
	inet_ntop(family, addr, a, sizeof(a));
	inet_ntop(family, s->gateway, gw, sizeof(gw));
	json_object_set_new(ep, key, json_string(a));
	json_object_set_new(ep, v6 ? "GlobalIPv6PrefixLen" : "IPPrefixLen",
			    json_integer(s->subnet.len));
	json_object_set_new(ep, v6 ? "IPv6Gateway" : "Gateway", json_string(gw));
	return 0;
}

/* The operational fields of an endpoint, as dockerd clears them when a container stops. */
static void clear_endpoint(json_t *ep)
{
	static const char *const strs[] = { "EndpointID",  "Gateway",		"IPAddress",
					    "IPv6Gateway", "GlobalIPv6Address", "MacAddress" };
	for (size_t i = 0; i < ELEMENTSOF(strs); i++)
		json_object_set_new(ep, strs[i], json_string(""));
	json_object_set_new(ep, "IPPrefixLen", json_integer(0));
	json_object_set_new(ep, "GlobalIPv6PrefixLen", json_integer(0));
	json_object_del(ep, NETWORK_EP_VLAN);
	json_object_del(ep, NETWORK_EP_IFNAME);
	const char *want = json_string_value(json_object_get(ep, NETWORK_EP_DESIRED_MAC));
	if (want)
		json_object_set_new(ep, "MacAddress", json_string(want));
}

/* The lowest VLAN and ethN no other endpoint of c uses. */
static void free_slot(struct container *c, uint16_t *vlan, unsigned *eth)
{
	uint16_t v = 1;
	unsigned e = 0;
	for (bool again = true; again;) {
		again = false;
		const char *k;
		json_t *ep;
		json_object_foreach(c->networks, k, ep)
		{
			char name[16];
			snprintf(name, sizeof(name), "eth%u", e);
			if (json_integer_value(json_object_get(ep, NETWORK_EP_VLAN)) == v) {
				v++;
				again = true;
			}
			if (strcmp(sandbox_ep_str(ep, NETWORK_EP_IFNAME), name) == 0) {
				e++;
				again = true;
			}
		}
	}
	*vlan = v;
	*eth = e;
}

/* Everything an endpoint gets when its container runs on n. */
static int resolve_endpoint(struct container *c, struct network *n, json_t *ep,
			    struct arca_error **err)
{
	clear_endpoint(ep);
	char id[ID_HEX_LEN + 1];
	id_generate(id);
	json_object_set_new(ep, "EndpointID", json_string(id));
	json_object_set_new(ep, "NetworkID", json_string(n->id));
	int r = assign_address(c, n, ep, AF_INET, err);
	if (r >= 0)
		r = assign_address(c, n, ep, AF_INET6, err);
	if (r < 0) {
		clear_endpoint(ep);
		return r;
	}
	if (!sandbox_ep_str(ep, "MacAddress")[0]) {
		uint8_t m[6];
		char buf[18];
		tap_random_mac(m);
		mac_string(m, buf);
		json_object_set_new(ep, "MacAddress", json_string(buf));
	}
	uint16_t vlan;
	unsigned eth;
	free_slot(c, &vlan, &eth);
	char ifname[16];
	snprintf(ifname, sizeof(ifname), "eth%u", eth);
	json_object_set_new(ep, NETWORK_EP_VLAN, json_integer(vlan));
	json_object_set_new(ep, NETWORK_EP_IFNAME, json_string(ifname));
	return 0;
}

/* --- the host side --- */

static struct sb_ep *find_ep(struct sandbox *sb, const char *network_id)
{
	for (size_t i = 0; i < sb->n_eps; i++)
		if (strcmp(sb->eps[i].network_id, network_id) == 0)
			return &sb->eps[i];
	return NULL;
}

/* The TAP's program for the VLANs of every endpoint it has. */
static int update_tap(struct daemon *d, struct sandbox *sb, struct arca_error **err)
{
	struct trunk_vlan v[MAX_ENDPOINTS];
	size_t n = 0;
	for (size_t i = 0; i < sb->n_eps && n < MAX_ENDPOINTS; i++)
		v[n++] = (struct trunk_vlan){ .vid = sb->eps[i].vlan, .leg = sb->eps[i].leg_index };
	return trunk_set_tap(d->nl, sb->tap_index, v, n, err);
}

/* The veth pair of one endpoint, in n's bridge, with the leg's program. */
static int plumb_endpoint(struct container *c, struct sandbox *sb, struct network *n, json_t *ep,
			  struct arca_error **err)
{
	struct daemon *d = c->d;
	if (sb->n_eps >= MAX_ENDPOINTS)
		return arca_error_set(err, E2BIG, ARCA_ERR_INVALID,
				      "a container joins at most %d networks", MAX_ENDPOINTS);
	struct sb_ep e = { .vlan =
			       (uint16_t)json_integer_value(json_object_get(ep, NETWORK_EP_VLAN)) };
	snprintf(e.network_id, sizeof(e.network_id), "%s", n->id);
	link_names(sandbox_ep_str(ep, "EndpointID"), e.port, e.leg);
	int r = 0;
	if (!host_link_index(d->nl, e.port))
		r = host_veth_create(d->nl, e.port, e.leg, n->bridge, n->mtu, !n->icc, err);
	e.leg_index = host_link_index(d->nl, e.leg);
	if (r >= 0 && !e.leg_index)
		r = arca_error_set(err, ENODEV, ARCA_ERR_INTERNAL, "veth %s is missing", e.leg);
	if (r >= 0)
		r = trunk_set_leg(d->nl, e.leg_index, e.vlan, sb->tap_index, err);
	if (r < 0) {
		(void)host_link_delete(d->nl, e.port, NULL);
		return r;
	}
	sb->eps = xrealloc(sb->eps, (sb->n_eps + 1) * sizeof(*sb->eps));
	sb->eps[sb->n_eps++] = e;
	return 0;
}

/* The task frees its address: a stopping daemon waits for it but calls no done. */
static int flush_conntrack(void *arg)
{
	nft_conntrack_flush(arg);
	free(arg);
	return 0;
}

/* Undoes an endpoint's host side: its veth pair (named after its EndpointID, so a dead
 * daemon's leftovers go too), and the connections tracked for its addresses. */
static void unplumb_endpoint(struct container *c, struct sandbox *sb, const char *network_id,
			     json_t *ep)
{
	struct sb_ep *e = sb ? find_ep(sb, network_id) : NULL;
	if (e)
		*e = sb->eps[--sb->n_eps];
	const char *eid = sandbox_ep_str(ep, "EndpointID");
	if (eid[0]) {
		char port[16], leg[16];
		link_names(eid, port, leg);
		(void)host_link_delete(c->d->nl, port, NULL); /* the leg and its program go too */
	}
	const char *ips[] = { sandbox_ep_str(ep, "IPAddress"),
			      sandbox_ep_str(ep, "GlobalIPv6Address") };
	for (size_t i = 0; i < ELEMENTSOF(ips); i++) {
		if (!ips[i][0])
			continue;
		/* conntrack(8) runs twice, some 20 ms each: on a worker, not in a stop's way. */
		char *ip = xstrdup(ips[i]);
		if (!c->d->workers ||
		    workers_submit(c->d->workers, flush_conntrack, NULL, ip) < 0) {
			nft_conntrack_flush(ip);
			free(ip);
		}
	}
}

/* The endpoint the default route goes through: the first one of a non-internal network. */
static json_t *gateway_endpoint(struct container *c)
{
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		struct network *n = sandbox_ep_network(c, ep);
		if (n && network_has_bridge(n) && !n->internal &&
		    sandbox_ep_str(ep, NETWORK_EP_IFNAME)[0])
			return ep;
	}
	return NULL;
}

static int bind_ports(struct container *c, struct sandbox *sb, struct arca_error **err)
{
	struct port_spec *specs = NULL;
	size_t n = 0;
	int r = ports_parse(c->config, c->host_config, &specs, &n, err);
	if (r < 0 || !n) {
		free(specs);
		return r;
	}
	json_t *ep = gateway_endpoint(c);
	struct network *net = ep ? sandbox_ep_network(c, ep) : NULL;
	if (!ep || !sandbox_ep_str(ep, "IPAddress")[0]) {
		free(specs);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "published ports need a network with IPv4 and a way out: the "
				      "container has none");
	}
	sb->ports = xnew0(struct sb_port, n);
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct sb_port *p = &sb->ports[i];
		p->spec = specs[i];
		snprintf(p->ctr_ip, sizeof(p->ctr_ip), "%s", sandbox_ep_str(ep, "IPAddress"));
		snprintf(p->bridge, sizeof(p->bridge), "%s", net->bridge);
		r = port_proxy_open(c->d->event, &p->spec, p->ctr_ip, &c->d->port_cursor, &p->proxy,
				    err);
		if (r >= 0)
			sb->n_ports++;
	}
	free(specs);
	if (r < 0)
		arca_error_wrap(err,
				"failed to set up container networking: driver failed programming "
				"external connectivity on endpoint %s (%s)",
				c->name, sandbox_ep_str(ep, "EndpointID"));
	return r;
}

struct sandbox *sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return NULL;
	for (size_t i = 0; i < sb->n_ports; i++)
		port_proxy_free(sb->ports[i].proxy);
	free(sb->ports);
	free(sb->eps);
	strv_free(sb->upstreams);
	safe_close(sb->tap_fd);
	free(sb);
	return NULL;
}

/* Makes the host side of every endpoint of c (the TAP exists). */
static int plumb_all(struct container *c, struct sandbox *sb, struct arca_error **err)
{
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		struct network *n = sandbox_ep_network(c, ep);
		if (!n || !network_has_bridge(n))
			continue;
		int r = plumb_endpoint(c, sb, n, ep, err);
		if (r < 0)
			return r;
	}
	return update_tap(c->d, sb, err);
}

bool sandbox_wants_nic(struct container *c)
{
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		struct network *n = sandbox_ep_network(c, ep);
		if (n && network_has_bridge(n))
			return true;
	}
	return false;
}

/* The TAP for c: opened (cfg->net_fd), or a pooled VM's renamed to c's name. */
static int take_tap(struct container *c, struct sandbox *sb, const char *pooled,
		    struct arca_error **err)
{
	struct nl_sock *nl = c->d->nl;
	snprintf(sb->tap, sizeof(sb->tap), "avt%.12s", c->id);
	int r = pooled ? host_link_rename(nl, pooled, sb->tap, err)
		       : (sb->tap_fd = tap_open(sb->tap, err));
	if (r >= 0)
		r = host_link_up(nl, sb->tap, err);
	sb->tap_index = host_link_index(nl, sb->tap);
	return r;
}

static int prepare(struct container *c, struct vm_config *cfg, const char *pooled_tap,
		   struct arca_error **err)
{
	struct daemon *d = c->d;
	if (cfg)
		cfg->net_fd = -1;
	bool any = false;
	const char *k;
	json_t *ep;
	int r = 0;
	json_object_foreach(c->networks, k, ep)
	{
		struct network *n = sandbox_ep_network(c, ep);
		if (!n)
			return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
					      "network %s not found", k);
		if (network_has_bridge(n) && (r = resolve_endpoint(c, n, ep, err)) < 0)
			break;
		any |= network_has_bridge(n);
	}
	struct sandbox *sb = xnew0(struct sandbox, 1);
	sb->tap_fd = -EBADF;
	c->sandbox = sb;
	if (r >= 0 && any) {
		r = take_tap(c, sb, pooled_tap, err);
		if (r >= 0)
			r = plumb_all(c, sb, err);
	}
	if (r >= 0)
		r = bind_ports(c, sb, err);
	if (r < 0) {
		sandbox_release(c);
		return r;
	}
	if (any && cfg) {
		cfg->net_fd = sb->tap_fd;
		tap_random_mac(cfg->net_mac);
		cfg->net_vhost = d->vhost_net;
	}
	firewall_update(d);
	return 0;
}

int sandbox_prepare(struct container *c, struct vm_config *cfg, struct arca_error **err)
{
	return prepare(c, cfg, NULL, err);
}

int sandbox_prepare_pooled(struct container *c, const char *tap, struct arca_error **err)
{
	return prepare(c, NULL, tap, err);
}

void sandbox_vm_started(struct container *c)
{
	if (c->sandbox)
		c->sandbox->tap_fd = safe_close(c->sandbox->tap_fd);
}

void sandbox_release(struct container *c)
{
	struct sandbox *sb = c->sandbox;
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		if (!sb && !sandbox_ep_str(ep, "EndpointID")[0])
			continue;
		unplumb_endpoint(c, sb, sandbox_ep_str(ep, "NetworkID"), ep);
		clear_endpoint(ep);
	}
	if (!sb)
		return;
	c->sandbox = sandbox_free(sb);
	firewall_update(c->d);
}

int sandbox_adopt(struct container *c, struct arca_error **err)
{
	struct daemon *d = c->d;
	struct sandbox *sb = xnew0(struct sandbox, 1);
	sb->tap_fd = -EBADF;
	c->sandbox = sb;
	snprintf(sb->tap, sizeof(sb->tap), "avt%.12s", c->id);
	sb->tap_index = host_link_index(d->nl, sb->tap);
	int r = 0;
	if (sb->tap_index)
		r = plumb_all(c, sb, err); /* kept veths are reused; missing ones made again */
	if (r >= 0)
		r = bind_ports(c, sb, err);
	if (r < 0) {
		c->sandbox = sandbox_free(sb);
		return r;
	}
	/* Its resolver's queries reach this daemon now, with the same upstreams. */
	sandbox_etc_refresh(c);
	if (c->vm && sandbox_etc_internal_resolver(c))
		guest_client_on_dns(vm_guest(c->vm), on_dns, c);
	firewall_update(d);
	return 0;
}

struct orphans {
	struct daemon *d;
	char **names;
};

static void on_arca_veth(const char *name, void *userdata)
{
	struct orphans *o = userdata;
	size_t it = 0;
	void *v;
	while (hashmap_iter(o->d->containers, &it, NULL, &v)) {
		const char *k;
		json_t *ep;
		json_object_foreach(((struct container *)v)->networks, k, ep)
		{
			const char *eid = sandbox_ep_str(ep, "EndpointID");
			if (eid[0] && strncmp(eid, name + 3, 12) == 0)
				return;
		}
	}
	o->names = strv_append(o->names, name);
}

void sandbox_remove_orphans(struct daemon *d)
{
	struct orphans o = { d, strv_copy(NULL) };
	(void)host_link_list(d->nl, "avb", on_arca_veth, &o, NULL);
	for (char **p = o.names; *p; p++) {
		log_info("removing veth %s: no endpoint of a container has it", *p);
		(void)host_link_delete(d->nl, *p, NULL);
	}
	strv_free(o.names);
}

/* --- the guest side --- */

static void put_addr(struct guest_request *rq, uint16_t tag, const char *ip, json_int_t prefix,
		     bool with_prefix)
{
	uint8_t b[18];
	bool v6 = strchr(ip, ':') != NULL;
	b[0] = v6 ? 6 : 4;
	size_t head = with_prefix ? 2 : 1;
	if (with_prefix)
		b[1] = (uint8_t)prefix;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, b + head) != 1)
		return;
	proto_put_bytes(&rq->w, tag, b, head + (v6 ? 16 : 4));
}

static void link_add_request(struct container *c, json_t *ep, struct guest_request *rq)
{
	struct network *n = sandbox_ep_network(c, ep);
	guest_request_init(rq, PROTO_OP_NET_LINK_ADD);
	proto_put_u32(&rq->w, PROTO_T_VLAN,
		      (uint32_t)json_integer_value(json_object_get(ep, NETWORK_EP_VLAN)));
	uint8_t mac[6];
	if (network_mac_parse(sandbox_ep_str(ep, "MacAddress"), mac))
		proto_put_bytes(&rq->w, PROTO_T_MAC, mac, 6);
	proto_put_str(&rq->w, PROTO_T_IFNAME, sandbox_ep_str(ep, NETWORK_EP_IFNAME));
	proto_put_u32(&rq->w, PROTO_T_MTU, n ? n->mtu : NETWORK_DEFAULT_MTU);
	if (sandbox_ep_str(ep, "IPAddress")[0])
		put_addr(rq, PROTO_T_ADDRESS, sandbox_ep_str(ep, "IPAddress"),
			 json_integer_value(json_object_get(ep, "IPPrefixLen")), true);
	if (sandbox_ep_str(ep, "GlobalIPv6Address")[0])
		put_addr(rq, PROTO_T_ADDRESS, sandbox_ep_str(ep, "GlobalIPv6Address"),
			 json_integer_value(json_object_get(ep, "GlobalIPv6PrefixLen")), true);
}

static void route_request(struct container *c, struct guest_request *rq)
{
	json_t *ep = gateway_endpoint(c);
	guest_request_init(rq, PROTO_OP_NET_ROUTE);
	if (!ep)
		return; /* no way out: no default route */
	proto_put_str(&rq->w, PROTO_T_IFNAME, sandbox_ep_str(ep, NETWORK_EP_IFNAME));
	if (sandbox_ep_str(ep, "Gateway")[0])
		put_addr(rq, PROTO_T_GATEWAY, sandbox_ep_str(ep, "Gateway"), 0, false);
	if (sandbox_ep_str(ep, "IPv6Gateway")[0])
		put_addr(rq, PROTO_T_GATEWAY, sandbox_ep_str(ep, "IPv6Gateway"), 0, false);
}

static void dns_request(bool on, struct guest_request *rq)
{
	guest_request_init(rq, PROTO_OP_NET_DNS);
	proto_put_u32(&rq->w, PROTO_T_ENABLE, on);
}

static void on_dns(struct guest_client *gc, uint32_t id, bool tcp, const uint8_t *data, size_t len,
		   void *userdata)
{
	struct container *c = userdata;
	dns_query(c->d, c->id, id, tcp, data, len);
}

/* The default route, the resolver and the /etc files, as the endpoints now are. */
/* The default route and the resolver at 127.0.0.11. */
static void add_routing(struct container *c, struct guest_batch *b, bool initial)
{
	struct guest_request rq;
	route_request(c, &rq);
	guest_batch_add(b, &rq);
	bool resolver = sandbox_etc_internal_resolver(c);
	if (resolver)
		guest_client_on_dns(vm_guest(c->vm), on_dns, c);
	if (resolver || !initial) {
		dns_request(resolver, &rq);
		guest_batch_add(b, &rq);
	}
}

static void add_follow_ups(struct container *c, struct guest_batch *b, bool initial)
{
	add_routing(c, b, initial);
	sandbox_etc_write(c, b, initial);
}

size_t sandbox_build_requests(struct container *c, struct guest_request *reqs, size_t max)
{
	size_t n = 0;
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		if (sandbox_ep_str(ep, NETWORK_EP_IFNAME)[0] && n + 1 < max)
			link_add_request(c, ep, &reqs[n++]);
	}
	if (n < max)
		route_request(c, &reqs[n++]);
	return n;
}

void sandbox_guest_links(struct container *c, struct guest_batch *b)
{
	struct guest_request rq;
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		if (!sandbox_ep_str(ep, NETWORK_EP_IFNAME)[0])
			continue;
		link_add_request(c, ep, &rq);
		guest_batch_add(b, &rq);
	}
	add_routing(c, b, true);
}

void sandbox_guest_files(struct container *c, struct guest_batch *b)
{
	sandbox_etc_write(c, b, true);
}

/* --- connect and disconnect while it runs --- */

struct live_op {
	char id[ID_HEX_LEN + 1];
	struct daemon *d;
	sandbox_done_fn cb;
	void *userdata;
};

static void on_live_done(int error, const char *message, void *userdata)
{
	struct live_op *op = userdata;
	struct container *c = daemon_find_container(op->d, op->id, NULL);
	_cleanup_error_ struct arca_error *err = NULL;
	if (error)
		arca_error_set(&err, error, ARCA_ERR_INTERNAL,
			       "configure the container's network: %s", message);
	if (c)
		op->cb(c, err, op->userdata);
	free(op);
}

static struct live_op *live_op(struct container *c, sandbox_done_fn cb, void *userdata)
{
	struct live_op *op = xnew0(struct live_op, 1);
	memcpy(op->id, c->id, sizeof(op->id));
	op->d = c->d;
	op->cb = cb;
	op->userdata = userdata;
	return op;
}

void sandbox_connect(struct container *c, struct network *n, sandbox_done_fn cb, void *userdata)
{
	json_t *ep = json_object_get(c->networks, n->name);
	struct sandbox *sb = c->sandbox;
	_cleanup_error_ struct arca_error *err = NULL;
	if (!sb || !c->vm || !ep) {
		arca_error_set(&err, EINVAL, ARCA_ERR_CONFLICT, "container %s is not running",
			       c->name);
		return cb(c, err, userdata);
	}
	if (!network_has_bridge(n))
		return cb(c, NULL, userdata);
	if (!sb->tap_index) {
		arca_error_set(
		    &err, EINVAL, ARCA_ERR_CONFLICT,
		    "container %s was started without a network device (--network none): "
		    "it can't join a network until it is restarted",
		    c->name);
		return cb(c, err, userdata);
	}
	int r = resolve_endpoint(c, n, ep, &err);
	if (r >= 0)
		r = plumb_endpoint(c, sb, n, ep, &err);
	if (r >= 0)
		r = update_tap(c->d, sb, &err);
	if (r < 0) {
		unplumb_endpoint(c, sb, n->id, ep);
		clear_endpoint(ep);
		return cb(c, err, userdata);
	}
	struct guest_batch *b =
	    guest_batch_new(vm_guest(c->vm), on_live_done, live_op(c, cb, userdata));
	struct guest_request rq;
	link_add_request(c, ep, &rq);
	guest_batch_add(b, &rq);
	add_follow_ups(c, b, false);
	guest_batch_end(b);
}

void sandbox_disconnect(struct container *c, struct network *n, sandbox_done_fn cb, void *userdata)
{
	json_t *ep = json_object_get(c->networks, n->name);
	struct sandbox *sb = c->sandbox;
	if (!sb || !c->vm || !ep || !sandbox_ep_str(ep, NETWORK_EP_IFNAME)[0]) {
		json_object_del(c->networks, n->name);
		return cb(c, NULL, userdata);
	}
	_cleanup_free_ char *ifname = xstrdup(sandbox_ep_str(ep, NETWORK_EP_IFNAME));
	unplumb_endpoint(c, sb, n->id, ep);
	json_object_del(c->networks, n->name);
	_cleanup_error_ struct arca_error *err = NULL;
	if (update_tap(c->d, sb, &err) < 0)
		log_warn("container %.12s: %s", c->id, err->msg);
	struct guest_batch *b =
	    guest_batch_new(vm_guest(c->vm), on_live_done, live_op(c, cb, userdata));
	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_NET_LINK_DEL);
	proto_put_str(&rq.w, PROTO_T_IFNAME, ifname);
	guest_batch_add(b, &rq);
	add_follow_ups(c, b, false);
	guest_batch_end(b);
	firewall_update(c->d);
}

/* --- what others read --- */

json_t *sandbox_ports_json(struct container *c)
{
	json_t *out = json_object();
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(c->config, "ExposedPorts"), key, v)
	{
		char k[32];
		snprintf(k, sizeof(k), "%s%s", key, strchr(key, '/') ? "" : "/tcp");
		json_object_set_new(out, k, json_null());
	}
	struct sandbox *sb = c->sandbox;
	for (size_t i = 0; sb && i < sb->n_ports; i++) {
		struct sb_port *p = &sb->ports[i];
		char k[32], hp[8];
		snprintf(k, sizeof(k), "%u/%s", p->spec.ctr_port, p->spec.proto);
		snprintf(hp, sizeof(hp), "%u", port_proxy_host_port(p->proxy));
		json_t *list = json_object_get(out, k);
		if (!json_is_array(list)) {
			list = json_array();
			json_object_set_new(out, k, list);
		}
		const char *ip = p->spec.host_ip[0] ? p->spec.host_ip : "0.0.0.0";
		json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", ip, "HostPort", hp));
		if (!p->spec.host_ip[0] && port_proxy_has_ipv6(p->proxy))
			json_array_append_new(
			    list, json_pack("{s:s, s:s}", "HostIp", "::", "HostPort", hp));
	}
	return out;
}

size_t sandbox_nft_ports(struct daemon *d, struct nft_port **ret)
{
	size_t n = 0, it = 0;
	void *v;
	struct nft_port *out = NULL;
	while (hashmap_iter(d->containers, &it, NULL, &v)) {
		struct sandbox *sb = ((struct container *)v)->sandbox;
		for (size_t i = 0; sb && i < sb->n_ports; i++) {
			struct sb_port *p = &sb->ports[i];
			if (strchr(p->spec.host_ip, ':'))
				continue; /* an IPv6 host address: the proxy alone serves it */
			out = xrealloc(out, (n + 1) * sizeof(*out));
			out[n++] = (struct nft_port){
				.bridge = p->bridge,
				.host_ip = p->spec.host_ip[0] ? xstrdup(p->spec.host_ip) : NULL,
				.proto = p->spec.proto,
				.host_port = port_proxy_host_port(p->proxy),
				.ctr_ip = xstrdup(p->ctr_ip),
				.ctr_port = p->spec.ctr_port,
			};
		}
	}
	*ret = out;
	return n;
}
