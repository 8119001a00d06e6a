/* SPDX-License-Identifier: Apache-2.0 */
/* A small rtnetlink client (see netlink.h). */
#include "netlink.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"

static struct nlmsghdr *hdr(struct nl_msg *m)
{
	return (struct nlmsghdr *)m->buf;
}

/* Appends len bytes (zeroed), padded to the netlink alignment; NULL on overflow. */
static void *reserve(struct nl_msg *m, size_t len)
{
	size_t aligned = NLMSG_ALIGN(len);
	if (m->overflow || aligned > sizeof(m->buf) - m->len) {
		m->overflow = true;
		return NULL;
	}
	void *p = m->buf + m->len;
	memset(p, 0, aligned);
	m->len += aligned;
	hdr(m)->nlmsg_len = (uint32_t)m->len;
	return p;
}

void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags)
{
	m->len = 0;
	m->depth = 0;
	m->overflow = false;
	struct nlmsghdr *h = reserve(m, NLMSG_HDRLEN);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags | NLM_F_REQUEST | NLM_F_ACK;
}

void *nl_msg_header(struct nl_msg *m, size_t len)
{
	return reserve(m, len);
}

void nl_put(struct nl_msg *m, uint16_t type, const void *data, size_t len)
{
	if (len > UINT16_MAX - NLA_HDRLEN) {
		m->overflow = true;
		return;
	}
	struct nlattr *a = reserve(m, NLA_HDRLEN + len);
	if (!a)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
}

void nl_put_u8(struct nl_msg *m, uint16_t type, uint8_t v)
{
	nl_put(m, type, &v, sizeof(v));
}

void nl_put_u16(struct nl_msg *m, uint16_t type, uint16_t v)
{
	nl_put(m, type, &v, sizeof(v));
}

void nl_put_u32(struct nl_msg *m, uint16_t type, uint32_t v)
{
	nl_put(m, type, &v, sizeof(v));
}

void nl_put_str(struct nl_msg *m, uint16_t type, const char *s)
{
	nl_put(m, type, s, strlen(s) + 1);
}

void nl_nest_begin(struct nl_msg *m, uint16_t type)
{
	size_t at = m->len;
	if (m->depth >= NL_MAX_NEST) {
		m->overflow = true;
		return;
	}
	struct nlattr *a = reserve(m, NLA_HDRLEN);
	if (!a)
		return;
	a->nla_type = type | NLA_F_NESTED;
	m->nest[m->depth++] = at;
}

void nl_nest_end(struct nl_msg *m)
{
	if (m->overflow || !m->depth)
		return;
	size_t at = m->nest[--m->depth];
	size_t len = m->len - at;
	if (len > UINT16_MAX) {
		m->overflow = true;
		return;
	}
	((struct nlattr *)(m->buf + at))->nla_len = (uint16_t)len;
}

int nl_attr_parse(const void *data, size_t len, const struct nlattr **tb, size_t max)
{
	memset(tb, 0, (max + 1) * sizeof(*tb));
	const uint8_t *p = data;
	while (len >= NLA_HDRLEN) {
		struct nlattr a;
		memcpy(&a, p, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > len)
			return -EBADMSG;
		uint16_t type = a.nla_type & NLA_TYPE_MASK;
		if (type <= max)
			tb[type] = (const struct nlattr *)p;
		size_t step = NLA_ALIGN(a.nla_len);
		if (step >= len)
			return 0;
		p += step;
		len -= step;
	}
	return 0;
}

int nl_attr_u32(const struct nlattr *a, uint32_t *ret)
{
	if (!a)
		return -ENOENT;
	if (nl_attr_len(a) != sizeof(uint32_t))
		return -EBADMSG;
	memcpy(ret, nl_attr_data(a), sizeof(*ret));
	return 0;
}

const char *nl_attr_str(const struct nlattr *a)
{
	if (!a || !nl_attr_len(a))
		return NULL;
	const char *s = nl_attr_data(a);
	return memchr(s, '\0', nl_attr_len(a)) ? s : NULL;
}

int nl_msg_payload(const struct nlmsghdr *h, size_t header_len, const void **ret_header,
		   const void **ret_attrs, size_t *ret_attrs_len)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(header_len);
	if (h->nlmsg_len < NLMSG_HDRLEN + header_len)
		return -EBADMSG;
	*ret_header = (const uint8_t *)h + NLMSG_HDRLEN;
	*ret_attrs = (const uint8_t *)h + off;
	*ret_attrs_len = h->nlmsg_len > off ? h->nlmsg_len - off : 0;
	return 0;
}

/* The extended ack's text (NLMSGERR_ATTR_MSG) of a capped error message. */
static void ack_text(const struct nlmsghdr *h, char *errbuf, size_t errlen)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nlmsgerr));
	if (!errbuf || !errlen || !(h->nlmsg_flags & NLM_F_ACK_TLVS) || h->nlmsg_len <= off)
		return;
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	if (nl_attr_parse((const uint8_t *)h + off, h->nlmsg_len - off, tb, NLMSGERR_ATTR_MAX) < 0)
		return;
	const char *msg = nl_attr_str(tb[NLMSGERR_ATTR_MSG]);
	if (msg)
		snprintf(errbuf, errlen, "%s", msg);
}

int nl_parse_reply(const void *buf, size_t len, uint32_t seq, nl_msg_fn fn, void *userdata,
		   bool *done, char *errbuf, size_t errlen)
{
	const uint8_t *p = buf;
	*done = false;
	while (len >= NLMSG_HDRLEN) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)p;
		if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > len)
			return -EBADMSG;
		if (h->nlmsg_seq == seq) {
			if (h->nlmsg_type == NLMSG_DONE) {
				*done = true;
				return 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr e;
				if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(e))
					return -EBADMSG;
				memcpy(&e, p + NLMSG_HDRLEN, sizeof(e));
				*done = true;
				if (e.error < 0)
					ack_text(h, errbuf, errlen);
				return e.error > 0 || e.error < -4095 ? -EBADMSG : e.error;
			}
			if (fn && h->nlmsg_type >= NLMSG_MIN_TYPE) {
				int r = fn(h, userdata);
				if (r < 0)
					return r;
			}
		}
		size_t step = NLMSG_ALIGN(h->nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return 0;
}

int nl_open(struct nl_sock *s)
{
	s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s->fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(s->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		s->fd = safe_close(s->fd);
		return r;
	}
	s->seq = 1;
	s->err[0] = '\0';
	return 0;
}

void nl_close(struct nl_sock *s)
{
	s->fd = safe_close(s->fd);
}

int nl_call(struct nl_sock *s, struct nl_msg *m, nl_msg_fn fn, void *userdata)
{
	if (m->overflow || m->depth)
		return -EMSGSIZE;
	uint32_t seq = s->seq++;
	hdr(m)->nlmsg_seq = seq;
	s->err[0] = '\0';
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;
	do
		n = sendto(s->fd, m->buf, m->len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (;;) {
		n = recv(s->fd, s->rbuf, sizeof(s->rbuf), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((size_t)n > sizeof(s->rbuf))
			return -EMSGSIZE;
		bool done;
		int r = nl_parse_reply(s->rbuf, (size_t)n, seq, fn, userdata, &done, s->err,
				       sizeof(s->err));
		if (r < 0 || done)
			return r;
	}
}

/* --- a few link requests both sides make --- */

static void link_msg(struct nl_msg *m, int ifindex)
{
	nl_msg_init(m, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = nl_msg_header(m, sizeof(*ifi));
	if (ifi) {
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_index = ifindex;
	}
}

int nl_link_set_flags(struct nl_sock *s, int ifindex, unsigned flags, unsigned change)
{
	struct nl_msg m;
	link_msg(&m, ifindex);
	struct ifinfomsg *ifi = (struct ifinfomsg *)(m.buf + NLMSG_HDRLEN);
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	return nl_call(s, &m, NULL, NULL);
}

int nl_link_no_ipv6_link_local(struct nl_sock *s, int ifindex)
{
	struct nl_msg m;
	link_msg(&m, ifindex);
	nl_nest_begin(&m, IFLA_AF_SPEC);
	nl_nest_begin(&m, AF_INET6);
	nl_put_u8(&m, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	nl_nest_end(&m);
	nl_nest_end(&m);
	return nl_call(s, &m, NULL, NULL);
}
