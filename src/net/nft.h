/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arcad's firewall: one nftables table, `inet arca`, that nothing else
 * writes. It is rendered whole from the bridges and the published ports
 * and applied in one transaction (delete and re-create the table), so it
 * is always exactly what arcad's state says, and a restarted daemon simply
 * applies it again. What dockerd's iptables chains do, here:
 *
 *   nat prerouting/output: published ports DNAT'd to the container (output
 *     only for local addresses outside 127/8, which the userland proxy
 *     serves), never for traffic from the container's own bridge (that
 *     goes through the proxy, as with dockerd's hairpin);
 *   nat postrouting: masquerade of each non-internal bridge's subnet
 *     leaving by another interface;
 *   filter forward: an internal bridge's traffic stays on it; traffic
 *     between two different Arca bridges is dropped (dockerd's isolation
 *     chains).
 *
 * libnftables is GPL, so arcad runs the nft(8) program rather than link it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct nft_bridge {
	const char *name;
	const char *subnet4; /* "172.18.0.0/16", or NULL */
	const char *subnet6; /* "fd00:1::/64", or NULL */
	bool internal;
	bool masquerade;
};

struct nft_port {
	const char *bridge;  /* the container's bridge */
	const char *host_ip; /* NULL or "0.0.0.0": every local address; else one IPv4 */
	const char *proto;   /* "tcp", "udp", "sctp" */
	uint16_t host_port;
	const char *ctr_ip; /* the container's IPv4 */
	uint16_t ctr_port;
};

/* The ruleset text (caller frees). */
char *nft_ruleset(const struct nft_bridge *bridges, size_t n_bridges, const struct nft_port *ports,
		  size_t n_ports);
/* Replaces the table with ruleset (through a file in dir); with ruleset NULL, removes it. */
int nft_apply(const char *ruleset, const char *dir, struct arca_error **err);
/* Forgets the connections to or from addr, so a new owner of it or of a port starts clean. */
void nft_conntrack_flush(const char *addr);
