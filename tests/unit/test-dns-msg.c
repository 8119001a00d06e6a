/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: DNS queries and replies of the embedded resolver (dns-msg.c). */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "dns-msg.h"
#include "tap.h"

/* A query for name/type, with an EDNS OPT record when udp > 0. */
static size_t query(uint8_t *out, const char *name, uint16_t type, uint16_t udp)
{
	size_t n = 0;
	uint8_t hdr[12] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, udp ? 1 : 0 };
	memcpy(out, hdr, 12);
	n = 12;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		out[n++] = (uint8_t)l;
		memcpy(out + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	out[n++] = 0;
	out[n++] = (uint8_t)(type >> 8);
	out[n++] = (uint8_t)type;
	out[n++] = 0;
	out[n++] = 1;
	if (udp) {
		uint8_t opt[] = { 0, 0, 41, (uint8_t)(udp >> 8), (uint8_t)udp, 0, 0, 0, 0, 0, 0 };
		memcpy(out + n, opt, sizeof(opt));
		n += sizeof(opt);
	}
	return n;
}

int main(void)
{
	uint8_t q[512], out[4096];
	struct dns_question d;
	size_t n = query(q, "Web.AppNet", DNS_TYPE_A, 1232);
	ok(dns_parse_query(q, n, &d) == 0, "a query");
	is_str(d.name, "web.appnet", "the name, lower case");
	ok(d.qtype == DNS_TYPE_A && d.qclass == DNS_CLASS_IN && d.id == 0x1234 && d.rd,
	   "type, class, id, RD");
	is_int(d.udp_size, 1232, "the EDNS payload size");
	struct dns_answer a[2] = { { .type = DNS_TYPE_A, .addr = { 172, 18, 0, 2 } },
				   { .type = DNS_TYPE_A, .addr = { 172, 18, 0, 3 } } };
	size_t r = dns_build_reply(&d, q, DNS_RCODE_NOERROR, a, 2, out, sizeof(out));
	ok(r == d.end + 2 * 16, "two A records");
	ok(out[0] == 0x12 && out[1] == 0x34 && (out[2] & 0x80) && (out[3] & 0x80) && out[7] == 2,
	   "id, QR, RA, answer count");
	ok(out[d.end] == 0xc0 && out[d.end + 1] == 12 && out[d.end + 6] == 0 &&
	       out[d.end + 7] == 0 && out[d.end + 8] == 0x02 && out[d.end + 9] == 0x58,
	   "a pointer to the question, TTL 600");
	r = dns_build_reply(&d, q, DNS_RCODE_NOERROR, a, 2, out, d.end + 20);
	ok(r == d.end + 16 && (out[2] & 0x02) && out[7] == 1, "truncated: TC set, one answer");
	r = dns_build_reply(&d, q, DNS_RCODE_NOERROR, NULL, 0, out, sizeof(out));
	ok(r == d.end && (out[3] & 0x0f) == 0 && out[7] == 0, "NODATA: NOERROR, no answer");
	struct dns_answer ptr = { .type = DNS_TYPE_PTR, .ptr = "web.appnet" };
	r = dns_build_reply(&d, q, DNS_RCODE_NOERROR, &ptr, 1, out, sizeof(out));
	ok(r == d.end + 12 + 12 && out[d.end + 12] == 3 && memcmp(out + d.end + 13, "web", 3) == 0,
	   "a PTR record");

	int fam;
	uint8_t addr[16];
	ok(dns_ptr_name_to_addr("2.0.18.172.in-addr.arpa", &fam, addr) == 0 && fam == AF_INET &&
	       addr[0] == 172 && addr[3] == 2,
	   "IPv4 PTR names");
	ok(dns_ptr_name_to_addr("2.0.18.in-addr.arpa", &fam, addr) < 0 &&
	       dns_ptr_name_to_addr("256.0.18.172.in-addr.arpa", &fam, addr) < 0 &&
	       dns_ptr_name_to_addr("02.0.18.172.in-addr.arpa", &fam, addr) < 0,
	   "malformed IPv4 PTR names");
	const char *v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
	ok(dns_ptr_name_to_addr(v6, &fam, addr) == 0 && fam == AF_INET6 && addr[0] == 0xfd &&
	       addr[15] == 1,
	   "IPv6 PTR names");

	/* Hostile input. */
	ok(dns_parse_query(q, 11, &d) < 0, "short");
	uint8_t resp[64];
	memcpy(resp, q, n);
	resp[2] |= 0x80;
	ok(dns_parse_query(resp, n, &d) < 0, "a response is not a query");
	uint8_t loop[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 };
	ok(dns_parse_query(loop, sizeof(loop), &d) < 0, "a pointer to itself");
	uint8_t fwd[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 20, 0, 1, 0, 1, 0, 0, 0 };
	ok(dns_parse_query(fwd, sizeof(fwd), &d) < 0, "a pointer forward");
	uint8_t longlabel[12 + 70] = { 0, 1, 1, 0, 0, 1 };
	longlabel[12] = 64;
	ok(dns_parse_query(longlabel, sizeof(longlabel), &d) < 0, "a label over 63");
	uint8_t two[] = { 0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1 };
	ok(dns_parse_query(two, sizeof(two), &d) < 0, "two questions");
	uint8_t dot[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 'b', 0, 0, 1, 0, 1 };
	ok(dns_parse_query(dot, sizeof(dot), &d) < 0, "a dot inside a label");
	uint16_t id;
	ok(!dns_reply_id(q, n, &id) && dns_reply_id(resp, n, &id) && id == 0x1234, "reply ids");
	return tap_done();
}
