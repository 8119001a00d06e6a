/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's network inside the guest (docs/networking.md).
 *
 * At boot arca-init makes a network namespace for the container's
 * processes, with lo up and Docker's namespace sysctls; the VM's one
 * virtio-net NIC (the trunk) stays in the guest's own namespace, out of the
 * container's sight. Each Docker network the container joins arrives as one
 * 802.1Q VLAN of the trunk: NET_LINK_ADD creates the VLAN device directly in
 * the container's namespace under its Docker name (eth0, eth1, ...), with
 * its MAC, MTU and addresses; NET_ROUTE sets the default routes;
 * NET_LINK_DEL removes it. Everything is rtnetlink (src/common/netlink.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "init.h"
#include "log.h"
#include "netlink.h"

#define TRUNK_NAME "trunk0"

/* Docker's namespace sysctls (moby daemon/oci_linux.go), in the container's namespace. */
static const struct {
	const char *path, *value;
} ns_sysctls[] = {
	{ "/proc/sys/net/ipv4/ip_unprivileged_port_start", "0" },
	{ "/proc/sys/net/ipv4/ping_group_range", "0 2147483647" },
};

#define SPARE_VLAN 1
#define SPARE_NAME "eth0"

static int new_vlan(struct guest_net *n, int lower, const char *ifname, uint16_t vlan,
		    const uint8_t *mac, uint32_t mtu)
{
	struct nl_msg m;
	nl_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = nl_msg_header(&m, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	nl_put_u32(&m, IFLA_LINK, (uint32_t)lower);
	nl_put_str(&m, IFLA_IFNAME, ifname);
	if (mac)
		nl_put(&m, IFLA_ADDRESS, mac, 6);
	if (mtu)
		nl_put_u32(&m, IFLA_MTU, mtu);
	nl_put_u32(&m, IFLA_NET_NS_FD, (uint32_t)n->ctr_ns);
	nl_nest_begin(&m, IFLA_LINKINFO);
	nl_put_str(&m, IFLA_INFO_KIND, "vlan");
	nl_nest_begin(&m, IFLA_INFO_DATA);
	nl_put_u16(&m, IFLA_VLAN_ID, vlan);
	nl_nest_end(&m);
	nl_nest_end(&m);
	return nl_call(n->nl_root, &m, NULL, NULL);
}

/* The trunk: the VM's virtio-net NIC, eth0 of the guest's own namespace. */
static int trunk(struct guest_init *gi, char *err, size_t errlen)
{
	struct guest_net *n = &gi->net;
	if (n->trunk > 0)
		return n->trunk;
	unsigned idx = if_nametoindex("eth0");
	if (!idx) {
		snprintf(err, errlen, "the VM has no network device");
		return -ENODEV;
	}
	/* The kernel checks a new link's name in the creator's namespace too: the trunk
	 * gives up "eth0" for the container's first network. */
	struct nl_msg m;
	nl_msg_init(&m, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = nl_msg_header(&m, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)idx;
	nl_put_str(&m, IFLA_IFNAME, TRUNK_NAME);
	int r = nl_call(n->nl_root, &m, NULL, NULL);
	if (r < 0) {
		snprintf(err, errlen, "rename the trunk: %s", n->nl_root->err);
		return r;
	}
	r = nl_link_set_flags(n->nl_root, (int)idx, IFF_UP | IFF_PROMISC, IFF_UP | IFF_PROMISC);
	if (r < 0) {
		snprintf(err, errlen, "bring the trunk up: %s", n->nl_root->err);
		return r;
	}
	n->trunk = (int)idx;
	return n->trunk;
}

struct find_link {
	int ifindex;
};

static int on_link(const struct nlmsghdr *h, void *userdata)
{
	struct find_link *f = userdata;
	const void *hdr, *attrs;
	size_t len;
	int r = nl_msg_payload(h, sizeof(struct ifinfomsg), &hdr, &attrs, &len);
	if (r < 0)
		return r;
	struct ifinfomsg ifi;
	memcpy(&ifi, hdr, sizeof(ifi));
	f->ifindex = ifi.ifi_index;
	return 0;
}

/* The index of a link of the container's namespace, by name. */
static int ctr_ifindex(struct guest_init *gi, const char *name)
{
	struct nl_msg m;
	nl_msg_init(&m, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = nl_msg_header(&m, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	nl_put_str(&m, IFLA_IFNAME, name);
	struct find_link f = { 0 };
	int r = nl_call(gi->net.nl_ctr, &m, on_link, &f);
	if (r < 0)
		return r;
	return f.ifindex > 0 ? f.ifindex : -ENODEV;
}

int net_setup(struct guest_init *gi)
{
	struct guest_net *n = &gi->net;
	n->root_ns = n->ctr_ns = -EBADF;
	n->root_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (n->root_ns < 0)
		return -errno;
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	n->ctr_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int r = n->ctr_ns < 0 ? -errno : 0;
	n->nl_ctr = xnew0(struct nl_sock, 1);
	n->nl_ctr->fd = -EBADF;
	if (r >= 0)
		r = nl_open(n->nl_ctr);
	if (r >= 0)
		r = nl_link_set_flags(n->nl_ctr, 1 /* lo, always 1 in a new namespace */, IFF_UP,
				      IFF_UP);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(ns_sysctls); i++)
		if (write_file_at(AT_FDCWD, ns_sysctls[i].path, ns_sysctls[i].value,
				  strlen(ns_sysctls[i].value), 0644) < 0)
			log_warn("sysctl %s: %m, ignoring", ns_sysctls[i].path);
	/* Back to the guest's own namespace, where the trunk is. */
	if (setns(n->root_ns, CLONE_NEWNET) < 0 && r >= 0)
		r = -errno;
	n->nl_root = xnew0(struct nl_sock, 1);
	n->nl_root->fd = -EBADF;
	if (r >= 0)
		r = nl_open(n->nl_root);
	/* The trunk up and the usual first link made before the host asks (filling
	 * virtio-net's receive ring and registering a link are what NET_LINK_ADD cost):
	 * a pooled VM has both ready when a container claims it (guest_net.spare). */
	char err[256];
	if (r < 0 || !if_nametoindex("eth0"))
		return r;
	int lower = trunk(gi, err, sizeof(err));
	if (lower < 0) {
		log_warn("%s; trying again with the first network", err);
		return r;
	}
	if (new_vlan(n, lower, SPARE_NAME, SPARE_VLAN, NULL, 0) < 0)
		log_warn("spare link: %s", n->nl_root->err);
	else if ((n->spare = ctr_ifindex(gi, SPARE_NAME)) < 0)
		n->spare = 0;
	return r;
}

int net_enter_container(struct guest_init *gi)
{
	return gi->net.ctr_ns >= 0 && setns(gi->net.ctr_ns, CLONE_NEWNET) < 0 ? -errno : 0;
}

int net_leave_container(struct guest_init *gi)
{
	return gi->net.root_ns >= 0 && setns(gi->net.root_ns, CLONE_NEWNET) < 0 ? -errno : 0;
}

static int set_mac_mtu(struct nl_sock *nl, int ifindex, const uint8_t *mac, uint32_t mtu)
{
	struct nl_msg m;
	nl_msg_init(&m, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = nl_msg_header(&m, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	nl_put(&m, IFLA_ADDRESS, mac, 6);
	if (mtu)
		nl_put_u32(&m, IFLA_MTU, mtu);
	return nl_call(nl, &m, NULL, NULL);
}

static int add_address(struct nl_sock *nl, int ifindex, const struct net_addr *a)
{
	struct nl_msg m;
	nl_msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = nl_msg_header(&m, sizeof(*ifa));
	bool v6 = a->family == AF_INET6;
	size_t alen = v6 ? 16 : 4;
	ifa->ifa_family = (uint8_t)a->family;
	ifa->ifa_prefixlen = a->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* A static address needs no duplicate detection: the host's IPAM chose it. */
	ifa->ifa_flags = v6 ? IFA_F_NODAD : 0;
	nl_put(&m, IFA_LOCAL, a->addr, alen);
	nl_put(&m, IFA_ADDRESS, a->addr, alen);
	if (!v6 && a->prefix < 31) {
		uint32_t ip, mask = a->prefix ? htonl(~0u << (32 - a->prefix)) : 0;
		memcpy(&ip, a->addr, 4);
		uint32_t brd = ip | ~mask;
		nl_put(&m, IFA_BROADCAST, &brd, 4);
	}
	return nl_call(nl, &m, NULL, NULL);
}

int net_link_add(struct guest_init *gi, const struct net_link_spec *spec, char *err, size_t errlen)
{
	struct guest_net *n = &gi->net;
	if (n->ctr_ns < 0 || !n->nl_root || n->nl_root->fd < 0) {
		snprintf(err, errlen, "the guest has no container network namespace");
		return -ENOTSUP;
	}
	int lower = trunk(gi, err, errlen);
	if (lower < 0)
		return lower;
	int idx = 0, r;
	const char *step = "find it";
	if (n->spare && spec->vlan == SPARE_VLAN && strcmp(spec->ifname, SPARE_NAME) == 0) {
		idx = n->spare;
		n->spare = 0;
		step = "set its MAC and MTU";
		r = set_mac_mtu(n->nl_ctr, idx, spec->mac, spec->mtu);
	} else {
		net_drop_spare(gi); /* it would hold the name or the VLAN */
		r = new_vlan(n, lower, spec->ifname, spec->vlan, spec->mac, spec->mtu);
		if (r < 0) {
			snprintf(err, errlen, "create %s (VLAN %u): %s", spec->ifname, spec->vlan,
				 n->nl_root->err[0] ? n->nl_root->err : strerror(-r));
			return r;
		}
		r = idx = ctr_ifindex(gi, spec->ifname);
	}
	bool v6 = false;
	for (size_t i = 0; i < spec->n_addrs; i++)
		v6 |= spec->addrs[i].family == AF_INET6;
	if (r >= 0 && !v6) {
		step = "turn off IPv6 link-local";
		r = nl_link_no_ipv6_link_local(n->nl_ctr, idx);
	}
	if (r >= 0) {
		step = "bring it up";
		r = nl_link_set_flags(n->nl_ctr, idx, IFF_UP, IFF_UP);
	}
	for (size_t i = 0; r >= 0 && i < spec->n_addrs; i++) {
		step = "add an address";
		r = add_address(n->nl_ctr, idx, &spec->addrs[i]);
	}
	if (r < 0) {
		snprintf(err, errlen, "configure %s: %s: %s", spec->ifname, step,
			 n->nl_ctr->err[0] ? n->nl_ctr->err : strerror(-r));
		if (idx > 0)
			(void)net_link_del(gi, spec->ifname, NULL, 0);
		return r;
	}
	return 0;
}

void net_drop_spare(struct guest_init *gi)
{
	struct guest_net *n = &gi->net;
	if (!n->spare)
		return;
	struct nl_msg m;
	nl_msg_init(&m, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = nl_msg_header(&m, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = n->spare;
	n->spare = 0;
	if (nl_call(n->nl_ctr, &m, NULL, NULL) < 0)
		log_warn("remove the spare link: %s", n->nl_ctr->err);
}

int net_link_del(struct guest_init *gi, const char *ifname, char *err, size_t errlen)
{
	struct guest_net *n = &gi->net;
	if (!n->nl_ctr || n->nl_ctr->fd < 0)
		return -ENOTSUP;
	struct nl_msg m;
	nl_msg_init(&m, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = nl_msg_header(&m, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	nl_put_str(&m, IFLA_IFNAME, ifname);
	int r = nl_call(n->nl_ctr, &m, NULL, NULL);
	if (r < 0 && err)
		snprintf(err, errlen, "remove %s: %s", ifname,
			 n->nl_ctr->err[0] ? n->nl_ctr->err : strerror(-r));
	return r;
}

/* Replaces the default route of one family (a NULL gateway removes it). */
static int default_route(struct nl_sock *nl, int family, const uint8_t *gw, int oif)
{
	struct nl_msg m;
	nl_msg_init(&m, gw ? RTM_NEWROUTE : RTM_DELROUTE, gw ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	struct rtmsg *rt = nl_msg_header(&m, sizeof(*rt));
	rt->rtm_family = (uint8_t)family;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	if (gw) {
		nl_put(&m, RTA_GATEWAY, gw, family == AF_INET6 ? 16 : 4);
		nl_put_u32(&m, RTA_OIF, (uint32_t)oif);
	} else {
		rt->rtm_scope = RT_SCOPE_NOWHERE;
	}
	int r = nl_call(nl, &m, NULL, NULL);
	return !gw && r == -ESRCH ? 0 : r;
}

int net_route(struct guest_init *gi, const char *ifname, const struct net_addr *gw4,
	      const struct net_addr *gw6, char *err, size_t errlen)
{
	struct guest_net *n = &gi->net;
	if (!n->nl_ctr || n->nl_ctr->fd < 0)
		return -ENOTSUP;
	int idx = 0;
	if ((gw4 || gw6) && (idx = ctr_ifindex(gi, ifname)) < 0) {
		snprintf(err, errlen, "no interface %s", ifname);
		return idx;
	}
	int r = default_route(n->nl_ctr, AF_INET, gw4 ? gw4->addr : NULL, idx);
	if (r >= 0)
		r = default_route(n->nl_ctr, AF_INET6, gw6 ? gw6->addr : NULL, idx);
	if (r < 0)
		snprintf(err, errlen, "set the default route via %s: %s", ifname,
			 n->nl_ctr->err[0] ? n->nl_ctr->err : strerror(-r));
	return r;
}
