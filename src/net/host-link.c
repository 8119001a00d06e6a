/* SPDX-License-Identifier: Apache-2.0 */
/* The host's bridges, veths and routes over rtnetlink (see host-link.h). */
#include "host-link.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "netlink.h"

static int fail(struct nl_sock *nl, struct arca_error **err, int r, const char *what,
		const char *name)
{
	return arca_error_set(err, -r, ARCA_ERR_INTERNAL, "%s %s: %s", what, name,
			      nl->err[0] ? nl->err : strerror(-r));
}

struct nl_sock *host_link_open(struct arca_error **err)
{
	struct nl_sock *nl = xnew0(struct nl_sock, 1);
	int r = nl_open(nl);
	if (r < 0) {
		free(nl);
		arca_error_errno(err, -r, "open rtnetlink");
		return NULL;
	}
	return nl;
}

struct nl_sock *host_link_close(struct nl_sock *nl)
{
	if (nl) {
		nl_close(nl);
		free(nl);
	}
	return NULL;
}

int host_link_index(struct nl_sock *nl, const char *name)
{
	(void)nl;
	return (int)if_nametoindex(name);
}

static struct ifinfomsg *link_msg(struct nl_msg *m, uint16_t type, uint16_t flags, int index)
{
	nl_msg_init(m, type, flags);
	struct ifinfomsg *ifi = nl_msg_header(m, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return ifi;
}

static int set_up(struct nl_sock *nl, int index)
{
	return nl_link_set_flags(nl, index, IFF_UP, IFF_UP);
}

int host_link_rename(struct nl_sock *nl, const char *name, const char *to, struct arca_error **err)
{
	int index = host_link_index(nl, name);
	if (!index)
		return fail(nl, err, -ENODEV, "rename", name);
	struct nl_msg m;
	link_msg(&m, RTM_NEWLINK, 0, index);
	nl_put_str(&m, IFLA_IFNAME, to);
	int r = nl_call(nl, &m, NULL, NULL);
	return r < 0 ? fail(nl, err, r, "rename", name) : 0;
}

int host_link_delete(struct nl_sock *nl, const char *name, struct arca_error **err)
{
	struct nl_msg m;
	link_msg(&m, RTM_DELLINK, 0, 0);
	nl_put_str(&m, IFLA_IFNAME, name);
	int r = nl_call(nl, &m, NULL, NULL);
	if (r == -ENODEV)
		return 0;
	return r < 0 ? fail(nl, err, r, "delete link", name) : 0;
}

int host_link_up(struct nl_sock *nl, const char *name, struct arca_error **err)
{
	int index = host_link_index(nl, name);
	int r = index ? set_up(nl, index) : -ENODEV;
	return r < 0 ? fail(nl, err, r, "bring up", name) : 0;
}

static int add_addr(struct nl_sock *nl, int index, const struct host_prefix *a)
{
	struct nl_msg m;
	nl_msg_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = nl_msg_header(&m, sizeof(*ifa));
	size_t alen = a->family == AF_INET6 ? 16 : 4;
	ifa->ifa_family = (uint8_t)a->family;
	ifa->ifa_prefixlen = a->len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	ifa->ifa_flags = a->family == AF_INET6 ? IFA_F_NODAD : 0;
	nl_put(&m, IFA_LOCAL, a->addr, alen);
	nl_put(&m, IFA_ADDRESS, a->addr, alen);
	return nl_call(nl, &m, NULL, NULL);
}

int host_bridge_ensure(struct nl_sock *nl, const char *name, uint32_t mtu,
		       const struct host_prefix *addrs, size_t n_addrs, struct arca_error **err)
{
	int index = host_link_index(nl, name);
	int r;
	if (!index) {
		struct nl_msg m;
		link_msg(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
		nl_put_str(&m, IFLA_IFNAME, name);
		if (mtu)
			nl_put_u32(&m, IFLA_MTU, mtu);
		nl_nest_begin(&m, IFLA_LINKINFO);
		nl_put_str(&m, IFLA_INFO_KIND, "bridge");
		nl_nest_end(&m);
		r = nl_call(nl, &m, NULL, NULL);
		if (r < 0)
			return fail(nl, err, r, "create bridge", name);
		index = host_link_index(nl, name);
		if (!index)
			return arca_error_set(err, ENODEV, ARCA_ERR_INTERNAL,
					      "bridge %s vanished after its creation", name);
		bool v6 = false;
		for (size_t i = 0; i < n_addrs; i++)
			v6 |= addrs[i].family == AF_INET6;
		if (!v6 && (r = nl_link_no_ipv6_link_local(nl, index)) < 0)
			return fail(nl, err, r, "configure bridge", name);
	}
	for (size_t i = 0; i < n_addrs; i++)
		if ((r = add_addr(nl, index, &addrs[i])) < 0)
			return fail(nl, err, r, "address bridge", name);
	if ((r = set_up(nl, index)) < 0)
		return fail(nl, err, r, "bring up bridge", name);
	return 0;
}

static int set_isolated(struct nl_sock *nl, int index)
{
	struct nl_msg m;
	struct ifinfomsg *ifi = link_msg(&m, RTM_NEWLINK, 0, index);
	ifi->ifi_family = AF_BRIDGE;
	nl_nest_begin(&m, IFLA_PROTINFO);
	nl_put_u8(&m, IFLA_BRPORT_ISOLATED, 1);
	nl_nest_end(&m);
	return nl_call(nl, &m, NULL, NULL);
}

int host_veth_create(struct nl_sock *nl, const char *port, const char *peer, const char *master,
		     uint32_t mtu, bool isolated, struct arca_error **err)
{
	int br = host_link_index(nl, master);
	if (!br)
		return arca_error_set(err, ENODEV, ARCA_ERR_INTERNAL, "bridge %s is missing",
				      master);
	struct nl_msg m;
	link_msg(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	nl_put_str(&m, IFLA_IFNAME, port);
	if (mtu)
		nl_put_u32(&m, IFLA_MTU, mtu);
	nl_nest_begin(&m, IFLA_LINKINFO);
	nl_put_str(&m, IFLA_INFO_KIND, "veth");
	nl_nest_begin(&m, IFLA_INFO_DATA);
	nl_nest_begin(&m, VETH_INFO_PEER);
	struct ifinfomsg *pi = nl_msg_header(&m, sizeof(*pi));
	if (pi)
		pi->ifi_family = AF_UNSPEC;
	nl_put_str(&m, IFLA_IFNAME, peer);
	if (mtu)
		nl_put_u32(&m, IFLA_MTU, mtu);
	nl_nest_end(&m);
	nl_nest_end(&m);
	nl_nest_end(&m);
	int r = nl_call(nl, &m, NULL, NULL);
	if (r < 0)
		return fail(nl, err, r, "create veth", port);
	int a = host_link_index(nl, port), b = host_link_index(nl, peer);
	const char *step = "find";
	r = a && b ? 0 : -ENODEV;
	if (r >= 0) {
		step = "configure";
		r = nl_link_no_ipv6_link_local(nl, a);
	}
	if (r >= 0)
		r = nl_link_no_ipv6_link_local(nl, b);
	if (r >= 0) {
		step = "enslave";
		link_msg(&m, RTM_NEWLINK, 0, a);
		nl_put_u32(&m, IFLA_MASTER, (uint32_t)br);
		r = nl_call(nl, &m, NULL, NULL);
	}
	if (r >= 0 && isolated) {
		step = "isolate";
		r = set_isolated(nl, a);
	}
	if (r >= 0) {
		step = "bring up";
		r = set_up(nl, b);
	}
	if (r >= 0)
		r = set_up(nl, a);
	if (r < 0) {
		int k = fail(nl, err, r, step, port);
		(void)host_link_delete(nl, port, NULL);
		return k;
	}
	return 0;
}

struct list_ctx {
	const char *prefix;
	void (*fn)(const char *name, void *userdata);
	void *userdata;
};

static int on_link(const struct nlmsghdr *h, void *userdata)
{
	struct list_ctx *l = userdata;
	const void *hdr, *attrs;
	size_t len;
	if (h->nlmsg_type != RTM_NEWLINK ||
	    nl_msg_payload(h, sizeof(struct ifinfomsg), &hdr, &attrs, &len) < 0)
		return 0;
	const struct nlattr *tb[IFLA_IFNAME + 1];
	if (nl_attr_parse(attrs, len, tb, IFLA_IFNAME) < 0)
		return 0;
	const char *name = nl_attr_str(tb[IFLA_IFNAME]);
	if (name && strncmp(name, l->prefix, strlen(l->prefix)) == 0)
		l->fn(name, l->userdata);
	return 0;
}

int host_link_list(struct nl_sock *nl, const char *prefix,
		   void (*fn)(const char *name, void *userdata), void *userdata,
		   struct arca_error **err)
{
	struct nl_msg m;
	link_msg(&m, RTM_GETLINK, NLM_F_DUMP, 0);
	struct list_ctx l = { prefix, fn, userdata };
	int r = nl_call(nl, &m, on_link, &l);
	return r < 0 ? fail(nl, err, r, "list links", prefix) : 0;
}

struct route_ctx {
	void (*fn)(const struct host_route *r, void *userdata);
	void *userdata;
};

static int on_route(const struct nlmsghdr *h, void *userdata)
{
	struct route_ctx *rc = userdata;
	const void *hdr, *attrs;
	size_t len;
	if (h->nlmsg_type != RTM_NEWROUTE ||
	    nl_msg_payload(h, sizeof(struct rtmsg), &hdr, &attrs, &len) < 0)
		return 0;
	struct rtmsg rt;
	memcpy(&rt, hdr, sizeof(rt));
	const struct nlattr *tb[RTA_TABLE + 1];
	if (nl_attr_parse(attrs, len, tb, RTA_TABLE) < 0)
		return 0;
	uint32_t table = rt.rtm_table, oif = 0;
	(void)nl_attr_u32(tb[RTA_TABLE], &table);
	size_t alen = rt.rtm_family == AF_INET6 ? 16 : rt.rtm_family == AF_INET ? 4 : 0;
	if (table != RT_TABLE_MAIN || !alen || rt.rtm_dst_len > alen * 8 ||
	    (rt.rtm_dst_len && (!tb[RTA_DST] || nl_attr_len(tb[RTA_DST]) != alen)))
		return 0; /* not a route of the main table */
	struct host_route r = { .dst = { .family = rt.rtm_family, .len = rt.rtm_dst_len } };
	if (rt.rtm_dst_len)
		memcpy(r.dst.addr, nl_attr_data(tb[RTA_DST]), alen);
	if (tb[RTA_GATEWAY] && nl_attr_len(tb[RTA_GATEWAY]) == alen) {
		r.gw = (struct host_prefix){ .family = rt.rtm_family, .len = (uint8_t)(alen * 8) };
		memcpy(r.gw.addr, nl_attr_data(tb[RTA_GATEWAY]), alen);
	}
	if (nl_attr_u32(tb[RTA_OIF], &oif) == 0)
		r.oif = (int)oif;
	rc->fn(&r, rc->userdata);
	return 0;
}

int host_route_list(struct nl_sock *nl, void (*fn)(const struct host_route *r, void *userdata),
		    void *userdata, struct arca_error **err)
{
	struct nl_msg m;
	nl_msg_init(&m, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rt = nl_msg_header(&m, sizeof(*rt));
	rt->rtm_family = AF_UNSPEC;
	struct route_ctx rc = { fn, userdata };
	int r = nl_call(nl, &m, on_route, &rc);
	return r < 0 ? fail(nl, err, r, "list routes", "") : 0;
}

int host_enable_forwarding(bool ipv6, struct arca_error **err)
{
	const char *paths[] = { "/proc/sys/net/ipv4/ip_forward",
				ipv6 ? "/proc/sys/net/ipv6/conf/all/forwarding" : NULL };
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		if (!paths[i])
			continue;
		int r = write_file_at(AT_FDCWD, paths[i], "1", 1, 0644);
		if (r < 0)
			return arca_error_errno(err, -r, "enable forwarding (%s)", paths[i]);
	}
	return 0;
}

struct addr_ctx {
	int index;
	int family;
	struct host_prefix *ret;
	bool found;
};

static int on_addr(const struct nlmsghdr *h, void *userdata)
{
	struct addr_ctx *a = userdata;
	const void *hdr, *attrs;
	size_t len;
	if (a->found || h->nlmsg_type != RTM_NEWADDR ||
	    nl_msg_payload(h, sizeof(struct ifaddrmsg), &hdr, &attrs, &len) < 0)
		return 0;
	struct ifaddrmsg ifa;
	memcpy(&ifa, hdr, sizeof(ifa));
	size_t alen = ifa.ifa_family == AF_INET6 ? 16 : 4;
	if ((int)ifa.ifa_index != a->index || ifa.ifa_family != a->family ||
	    ifa.ifa_prefixlen > alen * 8 ||
	    (a->family == AF_INET6 && ifa.ifa_scope != RT_SCOPE_UNIVERSE))
		return 0;
	const struct nlattr *tb[IFA_LOCAL + 1];
	if (nl_attr_parse(attrs, len, tb, IFA_LOCAL) < 0)
		return 0;
	const struct nlattr *v = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!v || nl_attr_len(v) != alen)
		return 0;
	*a->ret = (struct host_prefix){ .family = a->family, .len = ifa.ifa_prefixlen };
	memcpy(a->ret->addr, nl_attr_data(v), alen);
	a->found = true;
	return 0;
}

int host_link_address(struct nl_sock *nl, const char *name, int family, struct host_prefix *ret)
{
	int index = host_link_index(nl, name);
	if (!index)
		return -ENODEV;
	struct nl_msg m;
	nl_msg_init(&m, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = nl_msg_header(&m, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	struct addr_ctx a = { .index = index, .family = family, .ret = ret };
	int r = nl_call(nl, &m, on_addr, &a);
	if (r < 0)
		return r;
	return a.found ? 0 : -ENOENT;
}
