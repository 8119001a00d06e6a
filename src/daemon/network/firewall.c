/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's nftables table (see firewall.h). */
#include "firewall.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc.h"
#include "cleanup.h"
#include "daemon.h"
#include "hashmap.h"
#include "log.h"
#include "network.h"
#include "nft.h"
#include "sandbox.h"

void firewall_update(struct daemon *d)
{
	size_t nb = 0, it = 0;
	void *v;
	struct nft_bridge *bridges = xnew0(struct nft_bridge, hashmap_size(d->networks) + 1);
	char **subnets = xnew0(char *, 2 * hashmap_size(d->networks) + 1);
	size_t ns = 0;
	while (hashmap_iter(d->networks, &it, NULL, &v)) {
		const struct network *n = v;
		if (!network_has_bridge(n))
			continue;
		struct nft_bridge *b = &bridges[nb++];
		*b = (struct nft_bridge){ .name = n->bridge,
					  .internal = n->internal,
					  .masquerade = n->masquerade };
		const struct ipam_subnet *s4 = network_subnet(n, AF_INET);
		const struct ipam_subnet *s6 = network_subnet(n, AF_INET6);
		char buf[64];
		if (s4) {
			ipam_prefix_format(&s4->subnet, true, buf, sizeof(buf));
			b->subnet4 = subnets[ns++] = xstrdup(buf);
		}
		if (s6) {
			ipam_prefix_format(&s6->subnet, true, buf, sizeof(buf));
			b->subnet6 = subnets[ns++] = xstrdup(buf);
		}
	}
	struct nft_port *ports = NULL;
	size_t np = sandbox_nft_ports(d, &ports);
	_cleanup_free_ char *ruleset = nft_ruleset(bridges, nb, ports, np);
	for (size_t i = 0; i < np; i++) {
		free((char *)ports[i].host_ip);
		free((char *)ports[i].ctr_ip);
	}
	free(ports);
	for (size_t i = 0; i < ns; i++)
		free(subnets[i]);
	free(subnets);
	free(bridges);
	if (d->firewall && strcmp(d->firewall, ruleset) == 0 && !d->firewall_error)
		return;
	_cleanup_error_ struct arca_error *err = NULL;
	free(d->firewall_error);
	d->firewall_error = NULL;
	if (nft_apply(ruleset, d->cfg.run_dir, &err) < 0) {
		log_error("firewall: %s", err->msg);
		d->firewall_error = xstrdup(err->msg);
		return;
	}
	free(d->firewall);
	d->firewall = TAKE_PTR(ruleset);
}

const char *firewall_error(const struct daemon *d)
{
	return d->firewall_error;
}
