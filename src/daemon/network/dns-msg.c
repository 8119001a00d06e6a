/* SPDX-License-Identifier: Apache-2.0 */
/* DNS queries and replies for the embedded resolver (see dns-msg.h). */
#include "dns-msg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HDR	     12
#define MAX_POINTERS 16
#define FLAG_QR	     0x8000
#define FLAG_OPCODE  0x7800
#define FLAG_TC	     0x0200
#define FLAG_RD	     0x0100
#define FLAG_RA	     0x0080

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Reads the name at *off into out (lower case, dotted); *off moves past it in place. */
static int read_name(const uint8_t *msg, size_t len, size_t *off, char *out)
{
	size_t pos = *off, n = 0;
	bool jumped = false;
	int hops = 0;
	for (;;) {
		if (pos >= len)
			return -EBADMSG;
		uint8_t l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++hops > MAX_POINTERS)
				return -EBADMSG;
			size_t target = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			if (target >= pos) /* only backwards: no loops through the future */
				return -EBADMSG;
			pos = target;
			continue;
		}
		if (l & 0xc0)
			return -EBADMSG; /* the extended label types are not used */
		pos++;
		if (l == 0)
			break;
		if (pos + l > len || n + l + 1 > DNS_NAME_MAX)
			return -EBADMSG;
		if (n)
			out[n++] = '.';
		for (size_t i = 0; i < l; i++) {
			char c = (char)msg[pos + i];
			if (c == '.' || c == '\0')
				return -EBADMSG; /* not a name we can write back as text */
			out[n++] = (char)tolower((unsigned char)c);
		}
		pos += l;
	}
	out[n] = '\0';
	if (!jumped)
		*off = pos;
	return 0;
}

/* Skips one resource record at *off. */
static int skip_rr(const uint8_t *msg, size_t len, size_t *off, uint16_t *type, uint16_t *class)
{
	char name[DNS_NAME_MAX + 1];
	if (read_name(msg, len, off, name) < 0 || *off + 10 > len)
		return -EBADMSG;
	*type = get16(msg + *off);
	*class = get16(msg + *off + 2);
	size_t rdlen = get16(msg + *off + 8);
	if (*off + 10 + rdlen > len)
		return -EBADMSG;
	*off += 10 + rdlen;
	return 0;
}

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_question *ret)
{
	if (len < HDR)
		return -EBADMSG;
	uint16_t flags = get16(msg + 2);
	if ((flags & FLAG_QR) || (flags & FLAG_OPCODE) || get16(msg + 4) != 1)
		return -EBADMSG;
	*ret = (struct dns_question){ .id = get16(msg), .rd = flags & FLAG_RD, .udp_size = 512 };
	size_t off = HDR;
	if (read_name(msg, len, &off, ret->name) < 0 || off + 4 > len)
		return -EBADMSG;
	ret->qtype = get16(msg + off);
	ret->qclass = get16(msg + off + 2);
	off += 4;
	ret->end = off;
	/* An OPT record among the additional ones gives the client's payload size. */
	size_t skip = (size_t)get16(msg + 6) + get16(msg + 8), extra = get16(msg + 10);
	for (size_t i = 0; i < skip + extra; i++) {
		uint16_t type, class;
		size_t at = off;
		if (skip_rr(msg, len, &off, &type, &class) < 0)
			return 0; /* the question stands; the rest is ignored */
		if (i >= skip && type == DNS_TYPE_OPT && at < len)
			ret->udp_size = class < 512 ? 512 : class;
	}
	return 0;
}

/* Encodes a dotted name as labels; 0 when it does not fit or is malformed. */
static size_t put_name(uint8_t *out, size_t max, const char *name)
{
	size_t n = 0;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || n + 1 + l + 1 > max)
			return 0;
		out[n++] = (uint8_t)l;
		memcpy(out + n, p, l);
		n += l;
		p += l;
		if (*p == '.')
			p++;
	}
	if (n + 1 > max)
		return 0;
	out[n++] = 0;
	return n;
}

size_t dns_build_reply(const struct dns_question *q, const uint8_t *query, uint8_t rcode,
		       const struct dns_answer *answers, size_t n, uint8_t *out, size_t max)
{
	size_t qlen = q->end - HDR;
	if (max < q->end)
		return 0;
	uint16_t flags = FLAG_QR | FLAG_RA | (q->rd ? FLAG_RD : 0) | (rcode & 0xf);
	put16(out, q->id);
	put16(out + 4, 1);
	put16(out + 8, 0);
	put16(out + 10, 0);
	/* The question as the client wrote it (its compression, if any, stays valid:
	 * pointers only point backwards into the header and the question). */
	memcpy(out + HDR, query + HDR, qlen);
	size_t len = q->end, count = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dns_answer *a = &answers[i];
		uint8_t rr[2 + 10 + DNS_NAME_MAX + 2];
		size_t rdlen;
		put16(rr, 0xc000 | HDR); /* the question's name */
		if (a->type == DNS_TYPE_PTR)
			rdlen = put_name(rr + 12, sizeof(rr) - 12, a->ptr);
		else
			memcpy(rr + 12, a->addr, rdlen = a->type == DNS_TYPE_AAAA ? 16 : 4);
		if (!rdlen)
			continue;
		put16(rr + 2, a->type);
		put16(rr + 4, DNS_CLASS_IN);
		rr[6] = rr[7] = 0;
		put16(rr + 8, DNS_TTL);
		put16(rr + 10, (uint16_t)rdlen);
		if (len + 12 + rdlen > max) {
			flags |= FLAG_TC;
			break;
		}
		memcpy(out + len, rr, 12 + rdlen);
		len += 12 + rdlen;
		count++;
	}
	put16(out + 2, flags);
	put16(out + 6, (uint16_t)count);
	return len;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int dns_ptr_name_to_addr(const char *name, int *ret_family, uint8_t ret_addr[16])
{
	static const char v4[] = ".in-addr.arpa", v6[] = ".ip6.arpa";
	size_t len = strlen(name);
	memset(ret_addr, 0, 16);
	if (len > sizeof(v4) - 1 && strcmp(name + len - (sizeof(v4) - 1), v4) == 0) {
		/* d.c.b.a: exactly four decimal labels, reversed. */
		unsigned part[4];
		char tail;
		int k = sscanf(name, "%3u.%3u.%3u.%3u%c", &part[3], &part[2], &part[1], &part[0],
			       &tail);
		if (k != 5 || tail != '.' || len - (sizeof(v4) - 1) > 15)
			return -EINVAL;
		for (int i = 0; i < 4; i++) {
			if (part[i] > 255)
				return -EINVAL;
			ret_addr[i] = (uint8_t)part[i];
		}
		/* "1.2.3.4" must be all there is before the suffix */
		char check[32];
		snprintf(check, sizeof(check), "%u.%u.%u.%u%s", part[3], part[2], part[1], part[0],
			 v4);
		if (strcmp(check, name) != 0)
			return -EINVAL;
		*ret_family = AF_INET;
		return 0;
	}
	if (len == 64 + sizeof(v6) - 2 && strcmp(name + 63, v6) == 0) {
		/* 32 nibbles, least significant first, each followed by a dot. */
		for (int i = 0; i < 32; i++) {
			int h = hexval(name[2 * i]);
			if (h < 0 || (i < 31 && name[2 * i + 1] != '.'))
				return -EINVAL;
			int byte = 15 - i / 2;
			ret_addr[byte] |= (uint8_t)(i % 2 ? h << 4 : h);
		}
		*ret_family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

bool dns_reply_id(const uint8_t *msg, size_t len, uint16_t *ret)
{
	if (len < HDR || !(get16(msg + 2) & FLAG_QR))
		return false;
	*ret = get16(msg);
	return true;
}

void dns_set_id(uint8_t *msg, uint16_t id)
{
	put16(msg, id);
}
