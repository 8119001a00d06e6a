/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the firewall's ruleset (net/nft.c) and published-port parsing (ports.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nft.h"
#include "ports.h"
#include "tap.h"

static int parse(const char *config, const char *host, struct port_spec **ret, size_t *n)
{
	json_t *c = json_loads(config, 0, NULL), *h = json_loads(host, 0, NULL);
	struct arca_error *err = NULL;
	int r = ports_parse(c, h, ret, n, &err);
	arca_error_free(err);
	json_decref(c);
	json_decref(h);
	return r;
}

int main(void)
{
	struct nft_bridge b[] = {
		{ .name = "arca0", .subnet4 = "172.17.0.0/16", .masquerade = true },
		{ .name = "arca-x",
		  .subnet4 = "172.18.0.0/16",
		  .subnet6 = "fd00:1::/64",
		  .masquerade = true },
		{ .name = "arca-in",
		  .subnet4 = "172.19.0.0/16",
		  .internal = true,
		  .masquerade = true },
	};
	struct nft_port p[] = { { .bridge = "arca0",
				  .proto = "tcp",
				  .host_port = 8080,
				  .ctr_ip = "172.17.0.2",
				  .ctr_port = 80 },
				{ .bridge = "arca-x",
				  .host_ip = "10.0.0.5",
				  .proto = "udp",
				  .host_port = 53,
				  .ctr_ip = "172.18.0.2",
				  .ctr_port = 5353 } };
	char *r = nft_ruleset(b, 3, p, 2);
	ok(strstr(r, "table inet arca {") == r, "one table of arca's own");
	ok(strstr(r, "iifname != \"arca0\" meta nfproto ipv4 tcp dport 8080 dnat ip to "
		     "172.17.0.2:80\n") != NULL,
	   "DNAT, never from the container's own bridge (the proxy serves that)");
	ok(strstr(r, "ip daddr 10.0.0.5 udp dport 53 dnat ip to 172.18.0.2:5353") != NULL,
	   "a port published on one host address");
	ok(strstr(r, "ip daddr != 127.0.0.0/8 fib daddr type local jump ports") != NULL,
	   "local traffic to 127/8 is the proxy's");
	ok(strstr(r, "ip saddr 172.17.0.0/16 oifname != \"arca0\" masquerade") &&
	       strstr(r, "ip6 saddr fd00:1::/64 oifname != \"arca-x\" masquerade") &&
	       !strstr(r, "172.19.0.0/16 oifname"),
	   "masquerade, not for an internal network");
	ok(strstr(r, "iifname \"arca-in\" oifname != \"arca-in\" drop") &&
	       strstr(r, "oifname \"arca-in\" iifname != \"arca-in\" drop"),
	   "an internal network keeps to itself");
	ok(strstr(r, "iifname \"arca0\" oifname != \"arca0\" oifname { \"arca0\", \"arca-x\", "
		     "\"arca-in\" } drop") != NULL,
	   "isolation between networks");
	free(r);

	struct port_spec *s = NULL;
	size_t n = 0;
	ok(parse("{}",
		 "{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}],"
		 "\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8000-8010\"}]}}",
		 &s, &n) == 0 &&
	       n == 2,
	   "two bindings");
	ok(s[0].ctr_port == 80 && !strcmp(s[0].proto, "tcp") && s[0].lo == 8080 &&
	       s[0].hi == 8080 && !s[0].host_ip[0],
	   "-p 8080:80");
	ok(s[1].lo == 8000 && s[1].hi == 8010 && !strcmp(s[1].host_ip, "127.0.0.1") &&
	       !strcmp(s[1].proto, "udp"),
	   "a range on one address");
	free(s);
	ok(parse("{\"ExposedPorts\":{\"80/tcp\":{},\"443/tcp\":{}}}",
		 "{\"PublishAllPorts\":true,\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"81\"}]}}",
		 &s, &n) == 0 &&
	       n == 2 && s[1].ctr_port == 443 && s[1].lo == 0,
	   "-P: the other exposed ports on free ones");
	free(s);
	const char *bad[] = {
		"{\"PortBindings\":{\"0/tcp\":[]}}",
		"{\"PortBindings\":{\"70000/tcp\":[]}}",
		"{\"PortBindings\":{\"80/icmp\":[]}}",
		"{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"9-1\"}]}}",
		"{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"x\"}]}}",
		"{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"nope\",\"HostPort\":\"1\"}]}}",
		"{\"PortBindings\":[]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = NULL;
		ok(parse("{}", bad[i], &s, &n) < 0, "refused: %s", bad[i]);
		free(s);
	}
	return tap_done();
}
