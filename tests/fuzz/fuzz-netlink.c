/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: rtnetlink replies as arca-init and arcad parse them
 * (src/common/netlink.c): the message walk, ACKs with their extended-ack
 * text, and the link, address and route messages read with the attribute
 * parser, nested attributes included.
 */
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netlink.h"

static int on_msg(const struct nlmsghdr *h, void *userdata)
{
	(void)userdata;
	size_t hl = h->nlmsg_type == RTM_NEWLINK   ? sizeof(struct ifinfomsg)
		    : h->nlmsg_type == RTM_NEWADDR ? sizeof(struct ifaddrmsg)
						   : sizeof(struct rtmsg);
	const void *hdr, *attrs;
	size_t len;
	if (nl_msg_payload(h, hl, &hdr, &attrs, &len) < 0)
		return 0;
	if ((const uint8_t *)attrs + len > (const uint8_t *)h + h->nlmsg_len)
		abort();
	const struct nlattr *tb[64];
	if (nl_attr_parse(attrs, len, tb, 63) < 0)
		return 0;
	for (int i = 0; i < 64; i++) {
		if (!tb[i])
			continue;
		uint32_t v;
		(void)nl_attr_u32(tb[i], &v);
		const char *s = nl_attr_str(tb[i]);
		if (s && strlen(s) >= nl_attr_len(tb[i]))
			abort();
		/* Every attribute may be a nest (IFLA_LINKINFO, IFLA_AF_SPEC). */
		const struct nlattr *inner[16];
		(void)nl_attr_parse(nl_attr_data(tb[i]), nl_attr_len(tb[i]), inner, 15);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	/* The kernel's buffers are aligned: so is ours. */
	uint8_t *buf = malloc(size);
	memcpy(buf, data, size);
	uint32_t seq;
	memcpy(&seq, data, 4);
	bool done;
	char text[128];
	(void)nl_parse_reply(buf + 4, size - 4, seq, on_msg, NULL, &done, text, sizeof(text));
	free(buf);
	return 0;
}
