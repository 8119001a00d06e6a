/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DNS messages as the embedded resolver needs them (RFC 1035, RFC 6891):
 * the one question of a query, and answers built for it. Pure and bounded:
 * a query comes from a container (untrusted) and is fuzzed
 * (tests/fuzz/fuzz-dns.c); nothing here allocates.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 255
#define DNS_TTL	     600 /* dockerd's for the names it answers */

enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_OPT = 41,
	DNS_CLASS_IN = 1,
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_REFUSED = 5,
};

struct dns_question {
	uint16_t id;
	bool rd;		     /* recursion desired: echoed */
	char name[DNS_NAME_MAX + 1]; /* lower case, no trailing dot ("" is the root) */
	uint16_t qtype, qclass;
	size_t end;	   /* the offset just past the question */
	uint16_t udp_size; /* the client's EDNS payload size, 512 without EDNS */
};

/*
 * A standard query with exactly one question; its name may use compression
 * pointers (followed with a hop limit, never forward of the question).
 * -EBADMSG for anything else, including a response.
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *ret);

struct dns_answer {
	uint16_t type; /* A, AAAA: addr; PTR: ptr */
	uint8_t addr[16];
	const char *ptr; /* a dotted name */
};

/*
 * Writes the reply to q into out (at most max bytes: the client's limit):
 * the header (id, QR, RD echoed, RA), the question, then the answers with
 * TTL 600 while they fit (TC set when one did not). Returns its length, or
 * 0 when even the header and question do not fit.
 */
size_t dns_build_reply(const struct dns_question *q, const uint8_t *query, uint8_t rcode,
		       const struct dns_answer *answers, size_t n, uint8_t *out, size_t max);

/*
 * "4.3.2.1.in-addr.arpa" -> 1.2.3.4 (family AF_INET), the nibble form of
 * ip6.arpa -> AF_INET6; -EINVAL for any other name.
 */
int dns_ptr_name_to_addr(const char *name, int *ret_family, uint8_t ret_addr[16]);

/* A response's id (the first two bytes); false when it is too short to be one. */
bool dns_reply_id(const uint8_t *msg, size_t len, uint16_t *ret);
void dns_set_id(uint8_t *msg, uint16_t id);
