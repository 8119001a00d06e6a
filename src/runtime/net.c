/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <net/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "guest-client.h"
#include "guest-setup.h"
#include "host-link.h"
#include "net.h"
#include "netlink.h"
#include "proto.h"
#include "tap.h"
#include "trunk.h"

#define TAP_NAME "arca-tap0"

static int find_link(const struct rt_net *n, int ifindex)
{
	for (size_t i = 0; i < n->n_links; i++)
		if (n->links[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

/* RTM_NEWLINK: an Ethernet link other than lo (and our TAP, were it there already). */
static int on_link(const struct nlmsghdr *h, void *userdata)
{
	struct rt_net *n = userdata;
	const void *hdr, *attrs;
	size_t len;
	if (h->nlmsg_type != RTM_NEWLINK ||
	    nl_msg_payload(h, sizeof(struct ifinfomsg), &hdr, &attrs, &len) < 0)
		return 0;
	struct ifinfomsg ifi;
	memcpy(&ifi, hdr, sizeof(ifi));
	const struct nlattr *tb[IFLA_MTU + 1];
	if (nl_attr_parse(attrs, len, tb, IFLA_MTU) < 0 || ifi.ifi_type != ARPHRD_ETHER)
		return 0;
	const char *name = nl_attr_str(tb[IFLA_IFNAME]);
	if (!name || strlen(name) >= IF_NAMESIZE || strcmp(name, TAP_NAME) == 0 ||
	    !tb[IFLA_ADDRESS] || nl_attr_len(tb[IFLA_ADDRESS]) != 6)
		return 0;
	if (n->n_links >= RT_NET_MAX_LINKS)
		return -E2BIG;
	struct rt_net_link *l = &n->links[n->n_links++];
	*l = (struct rt_net_link){ .ifindex = ifi.ifi_index, .mtu = 1500 };
	strcpy(l->name, name);
	memcpy(l->mac, nl_attr_data(tb[IFLA_ADDRESS]), 6);
	(void)nl_attr_u32(tb[IFLA_MTU], &l->mtu);
	return 0;
}

/* RTM_NEWADDR: a link's global addresses (an IPv6 link-local one is the guest's own). */
static int on_addr(const struct nlmsghdr *h, void *userdata)
{
	struct rt_net *n = userdata;
	const void *hdr, *attrs;
	size_t len;
	if (h->nlmsg_type != RTM_NEWADDR ||
	    nl_msg_payload(h, sizeof(struct ifaddrmsg), &hdr, &attrs, &len) < 0)
		return 0;
	struct ifaddrmsg ifa;
	memcpy(&ifa, hdr, sizeof(ifa));
	const struct nlattr *tb[IFA_LOCAL + 1];
	int k = find_link(n, (int)ifa.ifa_index);
	size_t alen = ifa.ifa_family == AF_INET ? 4 : ifa.ifa_family == AF_INET6 ? 16 : 0;
	if (k < 0 || !alen || ifa.ifa_scope != RT_SCOPE_UNIVERSE ||
	    nl_attr_parse(attrs, len, tb, IFA_LOCAL) < 0)
		return 0;
	const struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	struct rt_net_link *l = &n->links[k];
	if (!a || nl_attr_len(a) != alen || l->n_addrs >= RT_NET_MAX_ADDRS ||
	    ifa.ifa_prefixlen > alen * 8)
		return 0;
	struct rt_net_addr *ad = &l->addrs[l->n_addrs++];
	*ad = (struct rt_net_addr){ .family = ifa.ifa_family, .prefix = ifa.ifa_prefixlen };
	memcpy(ad->addr, nl_attr_data(a), alen);
	return 0;
}

/* The main table's default routes with a gateway, by a link of ours. */
static void on_route(const struct host_route *r, void *userdata)
{
	struct rt_net *n = userdata;
	size_t f = r->dst.family == AF_INET6;
	int k = find_link(n, r->oif);
	if (r->dst.len != 0 || !r->gw.family || k < 0 || n->gw_link[f] >= 0)
		return;
	n->gw_link[f] = k;
	n->gw[f] = (struct rt_net_addr){ .family = r->gw.family };
	memcpy(n->gw[f].addr, r->gw.addr, sizeof(n->gw[f].addr));
}

static int dump(struct nl_sock *nl, uint16_t type, size_t hdr_len, uint8_t family, nl_msg_fn fn,
		struct rt_net *n)
{
	struct nl_msg m;
	nl_msg_init(&m, type, NLM_F_DUMP);
	uint8_t *h = nl_msg_header(&m, hdr_len);
	if (!h)
		return -EMSGSIZE;
	h[0] = family; /* the family is the first byte of ifinfomsg, ifaddrmsg and rtmsg */
	return nl_call(nl, &m, fn, n);
}

/* The TAP in the namespace, up; each link a VLAN of it (vid = index + 1). */
static int plumb(struct nl_sock *nl, struct rt_net *n, struct arca_error **err)
{
	struct trunk_vlan vlans[RT_NET_MAX_LINKS];
	n->tap_fd = tap_open(TAP_NAME, err);
	if (n->tap_fd < 0 || host_link_up(nl, TAP_NAME, err) < 0)
		return -EIO;
	int tap = host_link_index(nl, TAP_NAME);
	if (tap <= 0)
		return arca_error_set(err, ENODEV, ARCA_ERR_INTERNAL, "%s vanished", TAP_NAME);
	for (size_t i = 0; i < n->n_links; i++) {
		vlans[i] =
		    (struct trunk_vlan){ .vid = (uint16_t)(i + 1), .leg = n->links[i].ifindex };
		/* Every frame the link gets goes to the guest: it takes the link's MAC. */
		if (nl_link_set_flags(nl, n->links[i].ifindex, IFF_UP | IFF_PROMISC,
				      IFF_UP | IFF_PROMISC) < 0 ||
		    trunk_set_leg(nl, n->links[i].ifindex, vlans[i].vid, tap, err) < 0)
			return arca_error_set(err, EIO, ARCA_ERR_INTERNAL,
					      "join %s to the VM's TAP: %s", n->links[i].name,
					      nl->err[0] ? nl->err : "netlink error");
	}
	return trunk_set_tap(nl, tap, vlans, n->n_links, err);
}

int rt_net_setup(const char *netns_path, struct rt_net *ret, struct arca_error **err)
{
	*ret = (struct rt_net){ .gw_link = { -1, -1 }, .tap_fd = -1 };
	_cleanup_close_ int ns = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
		return arca_error_errno(err, errno, "join the network namespace %s", netns_path);
	struct nl_sock *nl = host_link_open(err);
	if (!nl)
		return -EIO;
	int r = dump(nl, RTM_GETLINK, sizeof(struct ifinfomsg), AF_UNSPEC, on_link, ret);
	if (r == -E2BIG)
		r = arca_error_set(err, E2BIG, ARCA_ERR_INVALID, "%s has more than %d interfaces",
				   netns_path, RT_NET_MAX_LINKS);
	else if (r >= 0 && ((r = dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), AF_UNSPEC, on_addr,
				      ret)) < 0 ||
			    (r = host_route_list(nl, on_route, ret, NULL)) < 0))
		r = arca_error_errno(err, -r, "read the network namespace %s", netns_path);
	else if (r < 0)
		r = arca_error_errno(err, -r, "read the network namespace %s", netns_path);
	if (r >= 0 && ret->n_links > 0)
		r = plumb(nl, ret, err);
	host_link_close(nl);
	return r;
}

void rt_net_clear(const char *netns_path, char *const *links)
{
	if (netns_path) {
		_cleanup_close_ int ns = open(netns_path, O_RDONLY | O_CLOEXEC);
		if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
			return; /* the namespace is gone, and its links with it */
	}
	struct nl_sock *nl = host_link_open(NULL);
	if (!nl)
		return;
	for (char *const *l = links; l && *l; l++) {
		int ifindex = host_link_index(nl, *l);
		if (ifindex <= 0)
			continue;
		(void)trunk_clear(nl, ifindex);
		(void)nl_link_set_flags(nl, ifindex, 0, IFF_PROMISC);
	}
	host_link_close(nl);
}

static void put_addr(struct guest_request *rq, uint16_t tag, const struct rt_net_addr *a,
		     bool with_prefix)
{
	uint8_t b[18];
	size_t head = with_prefix ? 2 : 1, alen = a->family == AF_INET6 ? 16 : 4;
	b[0] = a->family == AF_INET6 ? 6 : 4;
	b[1] = a->prefix;
	memcpy(b + head, a->addr, alen);
	proto_put_bytes(&rq->w, tag, b, head + alen);
}

void rt_net_add_requests(const struct rt_net *n, struct guest_batch *b)
{
	struct guest_request rq;
	if (n->n_links == 0)
		return; /* a namespace of its own: lo only */
	for (size_t i = 0; i < n->n_links; i++) {
		const struct rt_net_link *l = &n->links[i];
		guest_request_init(&rq, PROTO_OP_NET_LINK_ADD);
		proto_put_u32(&rq.w, PROTO_T_VLAN, (uint32_t)(i + 1));
		proto_put_bytes(&rq.w, PROTO_T_MAC, l->mac, 6);
		proto_put_str(&rq.w, PROTO_T_IFNAME, l->name);
		proto_put_u32(&rq.w, PROTO_T_MTU, l->mtu);
		for (size_t k = 0; k < l->n_addrs; k++)
			put_addr(&rq, PROTO_T_ADDRESS, &l->addrs[k], true);
		guest_batch_add(b, &rq);
	}
	int link = n->gw_link[0] >= 0 ? n->gw_link[0] : n->gw_link[1];
	if (link < 0)
		return;
	guest_request_init(&rq, PROTO_OP_NET_ROUTE);
	proto_put_str(&rq.w, PROTO_T_IFNAME, n->links[link].name);
	for (size_t f = 0; f < 2; f++)
		if (n->gw_link[f] == link)
			put_addr(&rq, PROTO_T_GATEWAY, &n->gw[f], false);
	guest_batch_add(b, &rq);
}
