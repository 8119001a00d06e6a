/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the embedded resolver's handling of a container's DNS
 * message (network/dns-msg.c): the query parser, the reply builder at every
 * size limit, and the PTR name decoder. A reply must stay inside its buffer
 * and parse back as the same question.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns-msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_question q;
	if (dns_parse_query(data, size, &q) < 0)
		return 0;
	if (q.end > size || strlen(q.name) > DNS_NAME_MAX)
		abort();
	int family;
	uint8_t addr[16];
	(void)dns_ptr_name_to_addr(q.name, &family, addr);
	struct dns_answer a[3] = { { .type = DNS_TYPE_A, .addr = { 10, 0, 0, 1 } },
				   { .type = DNS_TYPE_AAAA, .addr = { 0xfd } },
				   { .type = DNS_TYPE_PTR, .ptr = q.name[0] ? q.name : "x" } };
	static uint8_t out[65536];
	size_t limits[] = { 0, 12, q.end, q.end + 20, 512, q.udp_size, sizeof(out) };
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		size_t max = limits[i] > sizeof(out) ? sizeof(out) : limits[i];
		size_t n = dns_build_reply(&q, data, DNS_RCODE_NOERROR, a, 3, out, max);
		if (n > max || (n && n < q.end))
			abort();
		uint16_t id;
		if (n && (!dns_reply_id(out, n, &id) || id != q.id))
			abort();
	}
	return 0;
}
