/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the rtnetlink message builder and the bounded reply parser (netlink.c). */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "netlink.h"
#include "tap.h"

static int seen;
static int count(const struct nlmsghdr *h, void *userdata)
{
	(void)h;
	(void)userdata;
	seen++;
	return 0;
}

int main(void)
{
	struct nl_msg m;
	nl_msg_init(&m, RTM_NEWLINK, NLM_F_CREATE);
	struct ifinfomsg *ifi = nl_msg_header(&m, sizeof(*ifi));
	ifi->ifi_index = 7;
	nl_put_str(&m, IFLA_IFNAME, "eth0");
	nl_nest_begin(&m, IFLA_LINKINFO);
	nl_put_str(&m, IFLA_INFO_KIND, "vlan");
	nl_nest_end(&m);
	struct nlmsghdr *h = (struct nlmsghdr *)m.buf;
	ok(!m.overflow && h->nlmsg_len == m.len && (h->nlmsg_flags & NLM_F_ACK), "a request");
	const void *hdr, *attrs;
	size_t alen;
	ok(nl_msg_payload(h, sizeof(*ifi), &hdr, &attrs, &alen) == 0, "its payload");
	const struct nlattr *tb[IFLA_MAX + 1];
	ok(nl_attr_parse(attrs, alen, tb, IFLA_MAX) == 0 && tb[IFLA_IFNAME] && tb[IFLA_LINKINFO],
	   "its attributes");
	is_str(nl_attr_str(tb[IFLA_IFNAME]), "eth0", "a string attribute");
	ok(tb[IFLA_LINKINFO]->nla_type & NLA_F_NESTED, "a nest is marked");
	const struct nlattr *info[IFLA_INFO_MAX + 1];
	ok(nl_attr_parse(nl_attr_data(tb[IFLA_LINKINFO]), nl_attr_len(tb[IFLA_LINKINFO]), info,
			 IFLA_INFO_MAX) == 0 &&
	       strcmp(nl_attr_str(info[IFLA_INFO_KIND]), "vlan") == 0,
	   "inside the nest");

	char big[NL_MSG_MAX];
	memset(big, 'x', sizeof(big));
	nl_put(&m, IFLA_IFALIAS, big, sizeof(big) - 16);
	ok(m.overflow, "an attribute past the buffer marks the message");
	struct nl_sock s = { .fd = -1 };
	ok(nl_call(&s, &m, NULL, NULL) == -EMSGSIZE, "and it is never sent");

	/* Replies: an ACK with an error and its extended-ack text. */
	uint8_t buf[256] = { 0 };
	struct nlmsghdr *e = (struct nlmsghdr *)buf;
	e->nlmsg_type = NLMSG_ERROR;
	e->nlmsg_seq = 5;
	e->nlmsg_flags = NLM_F_ACK_TLVS | NLM_F_CAPPED;
	struct nlmsgerr err = { .error = -EEXIST };
	memcpy(buf + NLMSG_HDRLEN, &err, sizeof(err));
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(err));
	struct nlattr *a = (struct nlattr *)(buf + off);
	a->nla_type = NLMSGERR_ATTR_MSG;
	a->nla_len = NLA_HDRLEN + 7;
	memcpy(buf + off + NLA_HDRLEN, "exists", 7);
	e->nlmsg_len = (uint32_t)(off + NLA_ALIGN(a->nla_len));
	bool done;
	char text[64] = "";
	ok(nl_parse_reply(buf, e->nlmsg_len, 5, count, NULL, &done, text, sizeof(text)) ==
		   -EEXIST &&
	       done,
	   "an error ACK");
	is_str(text, "exists", "with the kernel's text");
	ok(nl_parse_reply(buf, e->nlmsg_len, 6, count, NULL, &done, text, sizeof(text)) == 0 &&
	       !done,
	   "another request's ACK is not ours");

	/* Hostile lengths. */
	e->nlmsg_len = 4;
	ok(nl_parse_reply(buf, 64, 5, count, NULL, &done, NULL, 0) == -EBADMSG, "a short header");
	e->nlmsg_len = 1000;
	ok(nl_parse_reply(buf, 64, 5, count, NULL, &done, NULL, 0) == -EBADMSG, "past the buffer");
	e->nlmsg_len = NLMSG_HDRLEN + 2;
	e->nlmsg_type = NLMSG_ERROR;
	ok(nl_parse_reply(buf, 64, 5, count, NULL, &done, NULL, 0) == -EBADMSG, "a cut error");
	uint8_t at[8] = { 200, 0, 1, 0 };
	ok(nl_attr_parse(at, sizeof(at), tb, IFLA_MAX) == -EBADMSG, "an attribute past its end");
	uint8_t tiny[8] = { 2, 0, 1, 0 };
	ok(nl_attr_parse(tiny, sizeof(tiny), tb, IFLA_MAX) == -EBADMSG, "an attribute under 4");
	uint8_t unterminated[8] = { 8, 0, IFLA_IFNAME, 0, 'e', 't', 'h', '0' };
	ok(nl_attr_parse(unterminated, sizeof(unterminated), tb, IFLA_MAX) == 0 &&
	       !nl_attr_str(tb[IFLA_IFNAME]),
	   "an unterminated string is not one");
	uint32_t v;
	ok(nl_attr_u32(tb[IFLA_IFNAME], &v) == 0 && nl_attr_u32(NULL, &v) == -ENOENT,
	   "u32 by size");

	/* Data messages are handed over; DONE ends a dump. */
	memset(buf, 0, sizeof(buf));
	struct nlmsghdr *d1 = (struct nlmsghdr *)buf;
	d1->nlmsg_len = NLMSG_HDRLEN + 16;
	d1->nlmsg_type = RTM_NEWLINK;
	d1->nlmsg_seq = 9;
	struct nlmsghdr *d2 = (struct nlmsghdr *)(buf + NLMSG_ALIGN(d1->nlmsg_len));
	d2->nlmsg_len = NLMSG_HDRLEN;
	d2->nlmsg_type = NLMSG_DONE;
	d2->nlmsg_seq = 9;
	seen = 0;
	ok(nl_parse_reply(buf, NLMSG_ALIGN(d1->nlmsg_len) + d2->nlmsg_len, 9, count, NULL, &done,
			  NULL, 0) == 0 &&
	       done && seen == 1,
	   "a dump");
	return tap_done();
}
