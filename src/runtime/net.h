/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's network when the caller made it (CNI, a test): the spec
 * names a network namespace holding the container's interfaces (veths, with
 * addresses and routes), as containerd's CRI plugin and podman's
 * `--network ns:PATH` give it. The monitor joins that namespace (QEMU, its
 * child, is then in it), reads its links, addresses and default routes,
 * makes the VM's TAP there, and joins each link to the TAP as one VLAN of
 * the trunk with the tc-BPF programs arcad uses (src/net/trunk.h): frames
 * arriving on the link go to the guest, the guest's go out of the link. In
 * the guest each link becomes the same name, MAC, MTU and addresses in the
 * container's namespace, with the same default routes (docs/runtime.md).
 */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define RT_NET_MAX_LINKS 4
#define RT_NET_MAX_ADDRS 4

struct rt_net_addr {
	int family; /* AF_INET, AF_INET6 */
	uint8_t prefix;
	uint8_t addr[16];
};

struct rt_net_link {
	char name[IF_NAMESIZE];
	int ifindex;
	uint8_t mac[6];
	uint32_t mtu;
	struct rt_net_addr addrs[RT_NET_MAX_ADDRS];
	size_t n_addrs;
};

struct rt_net {
	struct rt_net_link links[RT_NET_MAX_LINKS];
	size_t n_links;
	/* The default routes: gateway and the link they leave by (index into links, -1: none). */
	struct rt_net_addr gw[2]; /* [0] IPv4, [1] IPv6 */
	int gw_link[2];
	int tap_fd; /* the VM's NIC, for vm_config.net_fd; -1 without links */
};

/* Joins the namespace at path (this process from now on), reads it and plumbs the TAP. */
int rt_net_setup(const char *netns_path, struct rt_net *ret, struct arca_error **err);

/* Gives the links back as they were (no programs, not promiscuous): in the namespace at
 * netns_path (joined: a short-lived process's business), or the current one when NULL.
 * Links that are gone are skipped. */
void rt_net_clear(const char *netns_path, char *const *links);

struct guest_batch;
/* The guest's side: each link as a VLAN device in the container's namespace, the routes. */
void rt_net_add_requests(const struct rt_net *n, struct guest_batch *b);
