/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small rtnetlink client, libc only: arca-init configures the guest's
 * interfaces with it, arcad the host's bridges, veths and tc filters.
 *
 * Messages are built in a fixed buffer (no allocation; an attribute that
 * does not fit marks the message as overflowed and the send fails with
 * -EMSGSIZE). Replies are parsed with bounds checks on every length: what
 * the kernel sends is trusted, but the same parser is fuzzed because the
 * guest's replies are not (the fuzz target feeds it arbitrary bytes).
 */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NL_MSG_MAX  8192
#define NL_MAX_NEST 8

struct nl_msg {
	uint8_t buf[NL_MSG_MAX] __attribute__((aligned(NLMSG_ALIGNTO)));
	size_t len;
	size_t nest[NL_MAX_NEST];
	unsigned depth;
	bool overflow;
};

#define NL_RECV_MAX 32768

/* A netlink socket: its fd, the next sequence number, the last error the kernel
 * explained, and the buffer replies are read into. */
struct nl_sock {
	int fd;
	uint32_t seq;
	char err[128];
	uint8_t rbuf[NL_RECV_MAX] __attribute__((aligned(NLMSG_ALIGNTO)));
};

/* --- building --- */

/* Starts a request (NLM_F_REQUEST|NLM_F_ACK added to flags). */
void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags);
/* Room for the family header (ifinfomsg, tcmsg, ...), zeroed; NULL on overflow. */
void *nl_msg_header(struct nl_msg *m, size_t len);
void nl_put(struct nl_msg *m, uint16_t type, const void *data, size_t len);
void nl_put_u8(struct nl_msg *m, uint16_t type, uint8_t v);
void nl_put_u16(struct nl_msg *m, uint16_t type, uint16_t v);
void nl_put_u32(struct nl_msg *m, uint16_t type, uint32_t v);
void nl_put_str(struct nl_msg *m, uint16_t type, const char *s);
void nl_nest_begin(struct nl_msg *m, uint16_t type);
void nl_nest_end(struct nl_msg *m);

/* --- parsing (bounded) --- */

/*
 * Fills tb[0..max] with the last attribute of each type in data[0..len)
 * (types above max are skipped; NLA_F_NESTED and friends are masked off).
 * -EBADMSG when an attribute's length is impossible.
 */
int nl_attr_parse(const void *data, size_t len, const struct nlattr **tb, size_t max);
static inline const void *nl_attr_data(const struct nlattr *a)
{
	return (const uint8_t *)a + NLA_HDRLEN;
}
static inline size_t nl_attr_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}
/* The value of a u32 attribute; -EBADMSG when it is not 4 bytes (NULL: -ENOENT). */
int nl_attr_u32(const struct nlattr *a, uint32_t *ret);
/* A NUL-terminated string attribute, or NULL when absent or unterminated. */
const char *nl_attr_str(const struct nlattr *a);
/* The family header and the attributes after it; -EBADMSG when h is too short for it. */
int nl_msg_payload(const struct nlmsghdr *h, size_t header_len, const void **ret_header,
		   const void **ret_attrs, size_t *ret_attrs_len);

/*
 * Walks the messages of one receive buffer: calls fn for each data message
 * of sequence seq, stops at NLMSG_DONE (*done set) or at the NLMSG_ERROR
 * that acknowledges seq (*done set, its error returned as -errno, its
 * extended-ack text copied to errbuf). -EBADMSG for a malformed buffer.
 */
typedef int (*nl_msg_fn)(const struct nlmsghdr *h, void *userdata);
int nl_parse_reply(const void *buf, size_t len, uint32_t seq, nl_msg_fn fn, void *userdata,
		   bool *done, char *errbuf, size_t errlen);

/* --- the socket --- */

/* A NETLINK_ROUTE socket in the caller's current network namespace. */
int nl_open(struct nl_sock *s);
void nl_close(struct nl_sock *s);
/*
 * Sends m and reads replies until the kernel acknowledges it (or ends a
 * dump), calling fn for each data message. Returns 0 or -errno (the
 * kernel's explanation, when it gave one, in s->err).
 */
int nl_call(struct nl_sock *s, struct nl_msg *m, nl_msg_fn fn, void *userdata);

/* --- link requests arca-init and arcad both make --- */

/* Sets the link's flags under change (IFF_UP, IFF_PROMISC). */
int nl_link_set_flags(struct nl_sock *s, int ifindex, unsigned flags, unsigned change);
/* No IPv6 link-local address on the link (addr_gen_mode none), before it goes up. */
int nl_link_no_ipv6_link_local(struct nl_sock *s, int ifindex);
