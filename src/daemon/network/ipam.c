/* SPDX-License-Identifier: Apache-2.0 */
/* IP address management as dockerd's default IPAM driver does it (see ipam.h). */
#include "ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"

static size_t alen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* addr with the bits past len cleared (host = false) or set (host = true). */
static void apply_mask(uint8_t out[16], const struct host_prefix *p, bool host)
{
	memcpy(out, p->addr, 16);
	size_t n = alen(p->family);
	for (size_t i = 0; i < n; i++) {
		int bits = (int)p->len - (int)(i * 8);
		uint8_t keep = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
		out[i] = host ? (uint8_t)(out[i] | ~keep) : (uint8_t)(out[i] & keep);
	}
}

static int cmp(const uint8_t a[16], const uint8_t b[16], size_t n)
{
	return memcmp(a, b, n);
}

static void inc(uint8_t a[16], size_t n)
{
	for (size_t i = n; i-- > 0;)
		if (++a[i])
			return;
}

int ipam_addr_parse(const char *s, struct host_prefix *ret)
{
	*ret = (struct host_prefix){ 0 };
	if (inet_pton(AF_INET, s, ret->addr) == 1) {
		ret->family = AF_INET;
		ret->len = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ret->addr) == 1) {
		ret->family = AF_INET6;
		ret->len = 128;
		return 0;
	}
	return -EINVAL;
}

int ipam_prefix_parse(const char *s, bool loose, struct host_prefix *ret)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || slash == s || strlen(s) > 64)
		return -EINVAL;
	char addr[65];
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - s), s);
	char *end;
	unsigned long len = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || ipam_addr_parse(addr, ret) < 0 || len > alen(ret->family) * 8)
		return -EINVAL;
	ret->len = (uint8_t)len;
	uint8_t masked[16];
	apply_mask(masked, ret, false);
	if (!loose && cmp(masked, ret->addr, 16) != 0)
		return -EINVAL;
	return 0;
}

void ipam_prefix_mask(struct host_prefix *p)
{
	apply_mask(p->addr, p, false);
}

void ipam_prefix_format(const struct host_prefix *p, bool with_len, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "";
	inet_ntop(p->family == AF_INET6 ? AF_INET6 : AF_INET, p->addr, a, sizeof(a));
	if (with_len)
		snprintf(buf, len, "%s/%u", a, p->len);
	else
		snprintf(buf, len, "%s", a);
}

bool ipam_prefix_contains(const struct host_prefix *outer, const uint8_t addr[16])
{
	struct host_prefix in = *outer;
	memcpy(in.addr, addr, 16);
	uint8_t a[16], b[16];
	apply_mask(a, outer, false);
	apply_mask(b, &in, false);
	return cmp(a, b, alen(outer->family)) == 0;
}

bool ipam_prefix_overlaps(const struct host_prefix *a, const struct host_prefix *b)
{
	if (a->family != b->family)
		return false;
	const struct host_prefix *wide = a->len <= b->len ? a : b;
	const struct host_prefix *narrow = wide == a ? b : a;
	return ipam_prefix_contains(wide, narrow->addr);
}

/* Docker's local default pools (libnetwork/ipamutils: localScopeDefaultNetworks). */
static const struct {
	const char *base;
	uint8_t size;
} default_pools[] = {
	{ "172.17.0.0/16", 16 },  { "172.18.0.0/16", 16 }, { "172.19.0.0/16", 16 },
	{ "172.20.0.0/14", 16 },  { "172.24.0.0/14", 16 }, { "172.28.0.0/14", 16 },
	{ "192.168.0.0/16", 20 },
};

/* A pool may hold up to 2^24 subnets: a search of it stays short. */
#define POOL_MAX_BITS 24

int ipam_pool_check(const char *base, long long size, struct ipam_pool *ret,
		    struct arca_error **err)
{
	if (!base || ipam_prefix_parse(base, false, &ret->base) < 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid base pool `%s`: not a network address with its "
				      "prefix length (10.10.0.0/16)",
				      base ? base : "");
	if (ret->base.family != AF_INET)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "base pool `%s`: arcad takes IPv4 pools (IPv6 networks "
				      "get a unique local /64)",
				      base);
	if (size < ret->base.len || size > 30)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid pool size %lld for base pool `%s`: it must be from "
				      "%u to 30",
				      size, base, ret->base.len);
	if (size - ret->base.len > POOL_MAX_BITS)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "base pool `%s` with size %lld makes more than 2^%d "
				      "subnets",
				      base, size, POOL_MAX_BITS);
	ret->size = (unsigned)size;
	return 0;
}

static bool pool_subnet(const struct ipam_pool *pool, const struct host_prefix *taken,
			size_t n_taken, struct host_prefix *ret)
{
	uint32_t count = 1u << (pool->size - pool->base.len);
	uint32_t net;
	memcpy(&net, pool->base.addr, 4);
	net = ntohl(net);
	for (uint32_t k = 0; k < count; k++) {
		struct host_prefix cand = { .family = AF_INET, .len = (uint8_t)pool->size };
		uint32_t a = htonl(net + (k << (32 - pool->size)));
		memcpy(cand.addr, &a, 4);
		bool clash = false;
		for (size_t t = 0; !clash && t < n_taken; t++)
			clash = ipam_prefix_overlaps(&cand, &taken[t]);
		if (!clash) {
			*ret = cand;
			return true;
		}
	}
	return false;
}

int ipam_default_subnet(const struct ipam_pool *pools, size_t n_pools,
			const struct host_prefix *taken, size_t n_taken, struct host_prefix *ret,
			struct arca_error **err)
{
	for (size_t i = 0; pools && i < n_pools; i++)
		if (pool_subnet(&pools[i], taken, n_taken, ret))
			return 0;
	for (size_t i = 0; !pools && i < ELEMENTSOF(default_pools); i++) {
		struct ipam_pool p = { .size = default_pools[i].size };
		if (ipam_prefix_parse(default_pools[i].base, false, &p.base) == 0 &&
		    pool_subnet(&p, taken, n_taken, ret))
			return 0;
	}
	return arca_error_set(err, ENOSPC, ARCA_ERR_FORBIDDEN,
			      "all predefined address pools have been fully subnetted");
}

#define bad(err, ...) arca_error_set(err, EINVAL, ARCA_ERR_INVALID, __VA_ARGS__)

int ipam_subnet_from_json(json_t *entry, struct ipam_subnet *ret, struct arca_error **err)
{
	*ret = (struct ipam_subnet){ 0 };
	if (!json_is_object(entry))
		return bad(err, "invalid IPAM config: an entry must be an object");
	const char *subnet = json_string_value(json_object_get(entry, "Subnet"));
	const char *range = json_string_value(json_object_get(entry, "IPRange"));
	const char *gw = json_string_value(json_object_get(entry, "Gateway"));
	if (!subnet || !subnet[0])
		return bad(err, "invalid IPAM config: a subnet is required");
	struct host_prefix loose;
	if (ipam_prefix_parse(subnet, true, &loose) < 0)
		return bad(err, "invalid subnet %s : invalid CIDR address", subnet);
	ret->subnet = loose;
	apply_mask(ret->subnet.addr, &loose, false);
	if (ret->subnet.len > (loose.family == AF_INET ? 30 : 126))
		return bad(err, "invalid subnet %s: it has no room for addresses", subnet);
	ret->range = ret->subnet;
	if (range && range[0]) {
		if (ipam_prefix_parse(range, true, &ret->range) < 0)
			return bad(err, "invalid ip-range %s: invalid CIDR address", range);
		apply_mask(ret->range.addr, &ret->range, false);
		if (ret->range.family != ret->subnet.family || ret->range.len < ret->subnet.len ||
		    !ipam_prefix_contains(&ret->subnet, ret->range.addr))
			return bad(err, "invalid ip-range %s: it must be inside the subnet", range);
	}
	if (gw && gw[0]) {
		struct host_prefix g;
		if (ipam_addr_parse(gw, &g) < 0 || g.family != ret->subnet.family)
			return bad(err, "invalid gateway address %s", gw);
		if (!ipam_prefix_contains(&ret->subnet, g.addr))
			return bad(err, "no matching subnet for gateway %s", gw);
		memcpy(ret->gateway, g.addr, 16);
	} else {
		/* dockerd: the first free address of the ip-range, else of the subnet. */
		memcpy(ret->gateway, ret->range.addr, 16);
		if (cmp(ret->gateway, ret->subnet.addr, 16) == 0)
			inc(ret->gateway, alen(ret->subnet.family));
	}
	const char *name;
	json_t *v;
	json_object_foreach(json_object_get(entry, "AuxiliaryAddresses"), name, v)
	{
		const char *a = json_string_value(v);
		if (ret->n_aux >= ELEMENTSOF(ret->aux) || strlen(name) >= sizeof(ret->aux_name[0]))
			return bad(err,
				   "invalid auxiliary address %s: too many, or too long a name",
				   name);
		if (!a || ipam_addr_parse(a, &ret->aux[ret->n_aux]) < 0 ||
		    ret->aux[ret->n_aux].family != ret->subnet.family)
			return bad(err, "invalid auxiliary address %s", a ? a : name);
		if (!ipam_prefix_contains(&ret->subnet, ret->aux[ret->n_aux].addr))
			return bad(err, "no matching subnet for aux-address %s", a);
		snprintf(ret->aux_name[ret->n_aux], sizeof(ret->aux_name[0]), "%s", name);
		ret->n_aux++;
	}
	return 0;
}

json_t *ipam_subnet_to_json(const struct ipam_subnet *s)
{
	char buf[64];
	ipam_prefix_format(&s->subnet, true, buf, sizeof(buf));
	json_t *o = json_pack("{s:s}", "Subnet", buf);
	struct host_prefix g = { .family = s->subnet.family, .len = s->subnet.len };
	memcpy(g.addr, s->gateway, 16);
	ipam_prefix_format(&g, false, buf, sizeof(buf));
	json_object_set_new(o, "Gateway", json_string(buf));
	if (s->range.len != s->subnet.len) {
		ipam_prefix_format(&s->range, true, buf, sizeof(buf));
		json_object_set_new(o, "IPRange", json_string(buf));
	}
	if (s->n_aux) {
		json_t *aux = json_object();
		for (size_t i = 0; i < s->n_aux; i++) {
			ipam_prefix_format(&s->aux[i], false, buf, sizeof(buf));
			json_object_set_new(aux, s->aux_name[i], json_string(buf));
		}
		json_object_set_new(o, "AuxiliaryAddresses", aux);
	}
	return o;
}

static bool reserved(const struct ipam_subnet *s, const uint8_t a[16])
{
	size_t n = alen(s->subnet.family);
	uint8_t net[16], brd[16];
	apply_mask(net, &s->subnet, false);
	apply_mask(brd, &s->subnet, true);
	if (cmp(a, net, n) == 0 || cmp(a, s->gateway, n) == 0 ||
	    (s->subnet.family == AF_INET && cmp(a, brd, n) == 0))
		return true;
	for (size_t i = 0; i < s->n_aux; i++)
		if (cmp(a, s->aux[i].addr, n) == 0)
			return true;
	return false;
}

int ipam_next_address(const struct ipam_subnet *s, bool (*in_use)(const uint8_t addr[16], void *),
		      void *userdata, uint8_t ret[16])
{
	size_t n = alen(s->subnet.family);
	uint8_t a[16], hi[16];
	apply_mask(a, &s->range, false);
	apply_mask(hi, &s->range, true);
	/* Reserved and used addresses are few: this ends well before a big range does. */
	for (unsigned long steps = 0; steps < (1ul << 24); steps++) {
		if (!reserved(s, a) && !(in_use && in_use(a, userdata))) {
			memcpy(ret, a, 16);
			return 0;
		}
		if (cmp(a, hi, n) >= 0)
			break;
		inc(a, n);
	}
	return -ENOSPC;
}

int ipam_check_address(const struct ipam_subnet *s, const uint8_t addr[16], struct arca_error **err)
{
	struct host_prefix p = { .family = s->subnet.family, .len = alen(s->subnet.family) * 8 };
	memcpy(p.addr, addr, 16);
	char buf[64];
	ipam_prefix_format(&p, false, buf, sizeof(buf));
	if (!ipam_prefix_contains(&s->subnet, addr))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "no configured subnet or ip-range contain the IP address %s",
				      buf);
	if (reserved(s, addr))
		return arca_error_set(err, EEXIST, ARCA_ERR_FORBIDDEN,
				      "Address already in use: %s is reserved", buf);
	return 0;
}
