/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's links that arcad owns (docs/networking.md): a Linux bridge per
 * Docker network, a veth pair per endpoint, the TAP of each VM. All calls
 * are rtnetlink on a socket of arcad's network namespace; every one returns
 * 0 or -errno and, on failure, sets *err with the kernel's explanation.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

struct nl_sock;

/* An address with its prefix length: AF_INET or AF_INET6. */
struct host_prefix {
	int family;
	uint8_t len;
	uint8_t addr[16];
};

struct nl_sock *host_link_open(struct arca_error **err);
struct nl_sock *host_link_close(struct nl_sock *nl);

/* The link's index, 0 when there is none of that name. */
int host_link_index(struct nl_sock *nl, const char *name);
int host_link_delete(struct nl_sock *nl, const char *name, struct arca_error **err);
int host_link_up(struct nl_sock *nl, const char *name, struct arca_error **err);
/* Renames a link that is down (the kernel refuses an up one: -EBUSY). */
int host_link_rename(struct nl_sock *nl, const char *name, const char *to, struct arca_error **err);

/*
 * Makes sure bridge `name` exists and is up, with mtu (0: the default) and
 * exactly the addresses given (its gateways); an existing one is kept, so a
 * restarted daemon adopts its bridges without cutting the containers off.
 */
int host_bridge_ensure(struct nl_sock *nl, const char *name, uint32_t mtu,
		       const struct host_prefix *addrs, size_t n_addrs, struct arca_error **err);

/*
 * A veth pair `port` + `peer`: port is enslaved to bridge master, both are
 * up with mtu; with isolated, the bridge port may not talk to other
 * isolated ports (enable_icc=false).
 */
int host_veth_create(struct nl_sock *nl, const char *port, const char *peer, const char *master,
		     uint32_t mtu, bool isolated, struct arca_error **err);

/* The first address of a family on link `name`; -ENODEV without the link, -ENOENT without one. */
int host_link_address(struct nl_sock *nl, const char *name, int family, struct host_prefix *ret);

/* Calls fn for each link whose name starts with prefix (the ones a dead daemon left). */
int host_link_list(struct nl_sock *nl, const char *prefix,
		   void (*fn)(const char *name, void *userdata), void *userdata,
		   struct arca_error **err);

/* A route of the main table: its destination (len 0: a default route), its gateway
 * (gw.family 0: none) and the link it leaves by (0: none given). */
struct host_route {
	struct host_prefix dst;
	struct host_prefix gw;
	int oif;
};

/* Calls fn for every IPv4 and IPv6 route of the main table. */
int host_route_list(struct nl_sock *nl, void (*fn)(const struct host_route *r, void *userdata),
		    void *userdata, struct arca_error **err);

/* net.ipv4.ip_forward (and IPv6 forwarding when ipv6) on, as a bridge with NAT needs. */
int host_enable_forwarding(bool ipv6, struct arca_error **err);
