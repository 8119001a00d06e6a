/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: dockerd's IPAM (network/ipam.c): pools, subnets, addresses. */
#include <arpa/inet.h>
#include <jansson.h>
#include <string.h>

#include "ipam.h"
#include "tap.h"

static struct host_prefix P(const char *s) {
	struct host_prefix p;
	if (ipam_prefix_parse(s, true, &p) < 0)
		memset(&p, 0, sizeof(p));
	return p;
}

static const char *
fmt(const struct host_prefix *p, bool len)
{
	static char buf[64];
	ipam_prefix_format(p, len, buf, sizeof(buf));
	return buf;
}

static int subnet(const char *json, struct ipam_subnet *s)
{
	json_t *o = json_loads(json, 0, NULL);
	struct arca_error *err = NULL;
	int r = ipam_subnet_from_json(o, s, &err);
	arca_error_free(err);
	json_decref(o);
	return r;
}

struct used {
	const char *ips[8];
};

static bool in_use(const uint8_t addr[16], void *userdata)
{
	struct used *u = userdata;
	char buf[64];
	inet_ntop(AF_INET, addr, buf, sizeof(buf));
	for (int i = 0; i < 8 && u->ips[i]; i++)
		if (strcmp(u->ips[i], buf) == 0)
			return true;
	return false;
}

static const char *next(const struct ipam_subnet *s, struct used *u)
{
	static char buf[64];
	uint8_t a[16];
	if (ipam_next_address(s, in_use, u, a) < 0)
		return "full";
	inet_ntop(AF_INET, a, buf, sizeof(buf));
	return buf;
}

int main(void)
{
	struct host_prefix p;
	ok(ipam_prefix_parse("172.18.0.0/16", false, &p) == 0 && p.len == 16, "a subnet");
	ok(ipam_prefix_parse("172.18.0.1/16", false, &p) < 0, "host bits refused when strict");
	ok(ipam_prefix_parse("172.18.0.0/33", true, &p) < 0 &&
	       ipam_prefix_parse("x/8", true, &p) < 0 &&
	       ipam_prefix_parse("10.0.0.0", true, &p) < 0 && ipam_prefix_parse("/8", true, &p) < 0,
	   "bad prefixes");
	ok(ipam_prefix_parse("fd00:1::/64", false, &p) == 0 && p.family == AF_INET6, "IPv6");
	struct host_prefix a = P("10.0.0.0/8"), b = P("10.5.0.0/16"), c = P("11.0.0.0/8");
	ok(ipam_prefix_overlaps(&a, &b) && ipam_prefix_overlaps(&b, &a) &&
	       !ipam_prefix_overlaps(&a, &c),
	   "overlap both ways");

	/* Docker's default pools, in order, skipping what is taken. */
	struct host_prefix taken[3] = { P("172.17.0.0/16"), P("172.18.5.0/24"),
					P("172.19.0.1/32") };
	ok(ipam_default_subnet(NULL, 0, NULL, 0, &p, NULL) == 0, "a first pool");
	is_str(fmt(&p, true), "172.17.0.0/16", "the default bridge's");
	ok(ipam_default_subnet(NULL, 0, taken, 3, &p, NULL) == 0, "the next free pool");
	is_str(fmt(&p, true), "172.20.0.0/16", "skips taken and routed subnets");
	struct host_prefix all[16];
	for (int i = 0; i < 15; i++) {
		char s[32];
		snprintf(s, sizeof(s), "172.%d.0.0/16", 17 + i);
		all[i] = P(s);
	}
	all[15] = P("192.168.0.0/20");
	ok(ipam_default_subnet(NULL, 0, all, 16, &p, NULL) == 0, "then 192.168/16 in /20s");
	is_str(fmt(&p, true), "192.168.16.0/20", "the second /20");
	struct host_prefix every = P("128.0.0.0/1");
	struct arca_error *err = NULL;
	ok(ipam_default_subnet(NULL, 0, &every, 1, &p, &err) < 0 && err &&
	       strstr(err->msg, "fully subnetted"),
	   "exhausted: dockerd's message");
	arca_error_free(err);
	err = NULL;

	/* default-address-pools: theirs in order, instead of Docker's. */
	struct ipam_pool pools[2];
	ok(ipam_pool_check("10.10.0.0/16", 24, &pools[0], NULL) == 0 &&
	       ipam_pool_check("10.20.0.0/30", 30, &pools[1], NULL) == 0,
	   "two pools");
	ok(ipam_default_subnet(pools, 2, NULL, 0, &p, NULL) == 0, "a subnet of the first pool");
	is_str(fmt(&p, true), "10.10.0.0/24", "its first /24");
	struct host_prefix used[2] = { P("10.10.0.0/24"), P("10.10.1.0/25") };
	ok(ipam_default_subnet(pools, 2, used, 2, &p, NULL) == 0, "skipping what is taken");
	is_str(fmt(&p, true), "10.10.2.0/24", "the next free /24");
	struct host_prefix first = P("10.10.0.0/16");
	ok(ipam_default_subnet(pools, 2, &first, 1, &p, NULL) == 0 &&
	       strcmp(fmt(&p, true), "10.20.0.0/30") == 0,
	   "then the second pool");
	struct host_prefix both[2] = { P("10.10.0.0/16"), P("10.20.0.0/30") };
	ok(ipam_default_subnet(pools, 2, both, 2, &p, &err) < 0 && err &&
	       strstr(err->msg, "fully subnetted"),
	   "the pools exhausted: never Docker's defaults");
	arca_error_free(err);
	err = NULL;
	ok(ipam_pool_check("10.10.0.0/16", 8, &pools[0], &err) < 0 && strstr(err->msg, "size 8"),
	   "a size shorter than the base");
	arca_error_free(err);
	err = NULL;
	ok(ipam_pool_check("10.10.0.1/16", 24, &pools[0], &err) < 0 &&
	       strstr(err->msg, "invalid base pool"),
	   "host bits in the base");
	arca_error_free(err);
	err = NULL;
	ok(ipam_pool_check("0.0.0.0/0", 30, &pools[0], &err) < 0 && strstr(err->msg, "2^24"),
	   "too many subnets to search");
	arca_error_free(err);
	err = NULL;
	ok(ipam_pool_check("fd00::/48", 64, &pools[0], &err) < 0 && strstr(err->msg, "IPv4"),
	   "IPv6 pools refused");
	arca_error_free(err);

	/* Config entries. */
	struct ipam_subnet s;
	ok(subnet("{\"Subnet\":\"10.1.0.0/24\"}", &s) == 0, "a subnet alone");
	struct host_prefix gw = s.subnet;
	memcpy(gw.addr, s.gateway, 16);
	is_str(fmt(&gw, false), "10.1.0.1", "gateway: the first address");
	ok(subnet("{\"Subnet\":\"10.1.0.0/24\",\"IPRange\":\"10.1.0.128/25\"}", &s) == 0,
	   "with an ip-range");
	gw = s.subnet;
	memcpy(gw.addr, s.gateway, 16);
	is_str(fmt(&gw, false), "10.1.0.128", "gateway: the range's first (dockerd)");
	ok(subnet("{\"Subnet\":\"10.1.0.5/24\"}", &s) == 0 &&
	       strcmp(fmt(&s.subnet, true), "10.1.0.0/24") == 0,
	   "host bits are masked off");
	ok(subnet("{\"Subnet\":\"10.1.0.0/24\",\"Gateway\":\"10.2.0.1\"}", &s) < 0,
	   "a gateway outside the subnet");
	ok(subnet("{\"Subnet\":\"10.1.0.0/24\",\"IPRange\":\"10.2.0.0/25\"}", &s) < 0,
	   "a range outside the subnet");
	ok(subnet("{\"Subnet\":\"10.1.0.0/24\",\"AuxiliaryAddresses\":{\"x\":\"10.9.0.1\"}}", &s) <
	       0,
	   "an aux address outside");
	ok(subnet("{\"Subnet\":\"nonsense\"}", &s) < 0 && subnet("{}", &s) < 0 &&
	       subnet("[]", &s) < 0,
	   "malformed entries");
	ok(subnet("{\"Subnet\":\"10.1.0.0/31\"}", &s) < 0, "no room for addresses");

	/* Addresses: lowest free, never the network, gateway, broadcast or aux ones. */
	ok(subnet("{\"Subnet\":\"10.1.0.0/29\",\"AuxiliaryAddresses\":{\"a\":\"10.1.0.3\"}}", &s) ==
	       0,
	   "a small subnet");
	struct used u = { { NULL } };
	is_str(next(&s, &u), "10.1.0.2", "the first address after the gateway");
	u.ips[0] = "10.1.0.2";
	is_str(next(&s, &u), "10.1.0.4", "skips used and aux addresses");
	u.ips[1] = "10.1.0.4";
	u.ips[2] = "10.1.0.5";
	u.ips[3] = "10.1.0.6";
	is_str(next(&s, &u), "full", "no broadcast: full");
	u.ips[0] = NULL;
	is_str(next(&s, &u), "10.1.0.2", "a released address comes back (dockerd: lowest free)");
	uint8_t want[16] = { 10, 1, 0, 9 };
	ok(ipam_check_address(&s, want, NULL) < 0, "--ip outside the subnet");
	uint8_t gwaddr[16] = { 10, 1, 0, 1 };
	ok(ipam_check_address(&s, gwaddr, NULL) < 0, "--ip on the gateway");
	uint8_t fine[16] = { 10, 1, 0, 5 };
	ok(ipam_check_address(&s, fine, NULL) == 0, "--ip inside");

	json_t *j = ipam_subnet_to_json(&s);
	ok(json_object_get(j, "AuxiliaryAddresses") &&
	       strcmp(json_string_value(json_object_get(j, "Subnet")), "10.1.0.0/29") == 0,
	   "back to JSON with its aux addresses");
	json_decref(j);
	return tap_done();
}
