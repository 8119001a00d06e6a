/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request-head parsing and chunked decoding. Only what RFC 9112 allows is
 * accepted: token characters in methods and header names, no whitespace
 * before a header's colon, visible characters (and tabs, spaces, obs-text)
 * in values, CRLF or bare LF line ends, no obsolete line folding.
 */
#include "http-parser.h"

#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return true;
	if (c >= 'A' && c <= 'Z')
		return true;
	if (c >= '0' && c <= '9')
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_vchar_or_ws(unsigned char c)
{
	return c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f);
}

/* Finds the end of a line starting at p; returns the index after its LF, or 0 if incomplete. */
static size_t line_end(const char *p, size_t len, size_t *content_len)
{
	const char *lf = memchr(p, '\n', len);
	if (!lf)
		return 0;
	size_t n = (size_t)(lf - p);
	*content_len = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
	return n + 1;
}

static int parse_request_line(const char *p, size_t n, struct http_request_head *head)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return -1;
	head->method = p;
	head->method_len = i;
	size_t t = ++i;
	while (i < n && p[i] != ' ') {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c == 0x7f)
			return -1;
		i++;
	}
	if (i == t || i >= n)
		return -1;
	head->target = p + t;
	head->target_len = i - t;
	i++;
	if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || (p[i + 7] != '0' && p[i + 7] != '1'))
		return -1;
	head->minor_version = p[i + 7] - '0';
	return 0;
}

ssize_t http_parse_request(const char *buf, size_t len, struct http_request_head *head,
			   size_t capacity)
{
	size_t off = 0, n, used;

	head->num_headers = 0;
	/* Tolerate empty lines before the request line (RFC 9112 2.2). */
	while (off < len && (buf[off] == '\r' || buf[off] == '\n'))
		off++;
	used = line_end(buf + off, len - off, &n);
	if (!used)
		return -2;
	if (parse_request_line(buf + off, n, head) < 0)
		return -1;
	off += used;

	for (;;) {
		used = line_end(buf + off, len - off, &n);
		if (!used)
			return -2;
		const char *p = buf + off;
		off += used;
		if (n == 0)
			return (ssize_t)off; /* the empty line ends the head */
		if (head->num_headers == capacity)
			return -1;
		size_t i = 0;
		while (i < n && is_tchar((unsigned char)p[i]))
			i++;
		if (i == 0 || i >= n || p[i] != ':')
			return -1; /* no name, or whitespace/junk before the colon */
		struct http_header *h = &head->headers[head->num_headers++];
		h->name = p;
		h->name_len = i;
		i++;
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		size_t end = n;
		while (end > i && (p[end - 1] == ' ' || p[end - 1] == '\t'))
			end--;
		for (size_t k = i; k < end; k++)
			if (!is_vchar_or_ws((unsigned char)p[k]))
				return -1;
		h->value = p + i;
		h->value_len = end - i;
	}
}

const char *http_header_get(const struct http_request_head *head, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < head->num_headers; i++) {
		const struct http_header *h = &head->headers[i];
		if (h->name_len == nl && strncasecmp(h->name, name, nl) == 0) {
			*len = h->value_len;
			return h->value;
		}
	}
	return NULL;
}

bool http_header_has_token(const struct http_request_head *head, const char *name,
			   const char *token)
{
	size_t tl = strlen(token), nl = strlen(name);
	for (size_t i = 0; i < head->num_headers; i++) {
		const struct http_header *h = &head->headers[i];
		if (h->name_len != nl || strncasecmp(h->name, name, nl) != 0)
			continue;
		const char *p = h->value, *end = h->value + h->value_len;
		while (p < end) {
			while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
				p++;
			const char *s = p;
			while (p < end && *p != ',')
				p++;
			const char *e = p;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if ((size_t)(e - s) == tl && strncasecmp(s, token, tl) == 0)
				return true;
		}
	}
	return false;
}

enum {
	CH_SIZE,    /* reading hex digits */
	CH_EXT,	    /* chunk extension up to the line end */
	CH_DATA,    /* chunk data */
	CH_DATA_CR, /* CRLF after data */
	CH_DATA_LF,
	CH_TRAILER, /* start of a trailer line (or the final empty line) */
	CH_TRAILER_LINE,
};

#define CHUNK_LINE_MAX 4096

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t http_chunked_decode(struct http_chunked *d, char *buf, size_t *len)
{
	size_t in = 0, out = 0, n = *len;

	while (in < n) {
		char c = buf[in];
		switch (d->state) {
		case CH_SIZE: {
			int v = hexval(c);
			if (v >= 0) {
				if (d->hex_digits >= 15)
					return -1; /* a chunk size we will not believe */
				d->remaining = d->remaining * 16 + (size_t)v;
				d->hex_digits++;
				in++;
				break;
			}
			if (d->hex_digits == 0)
				return -1;
			d->state = CH_EXT;
			d->line_len = 0;
			break;
		}
		case CH_EXT:
			in++;
			if (++d->line_len > CHUNK_LINE_MAX)
				return -1;
			if (c != '\n')
				break;
			d->hex_digits = 0;
			if (d->remaining == 0) {
				d->state = CH_TRAILER;
				d->line_len = 0;
			} else {
				d->state = CH_DATA;
			}
			break;
		case CH_DATA: {
			size_t take = n - in < d->remaining ? n - in : d->remaining;
			memmove(buf + out, buf + in, take);
			out += take;
			in += take;
			d->remaining -= take;
			if (d->remaining == 0)
				d->state = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			in++;
			if (c == '\n') {
				d->state = CH_SIZE;
				break;
			}
			if (c != '\r')
				return -1;
			d->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			in++;
			if (c != '\n')
				return -1;
			d->state = CH_SIZE;
			break;
		case CH_TRAILER:
			in++;
			if (c == '\n') {
				*len = out;
				return (ssize_t)(n - in); /* done */
			}
			if (c == '\r')
				break;
			d->state = CH_TRAILER_LINE;
			d->line_len = 1;
			break;
		case CH_TRAILER_LINE:
			in++;
			if (++d->line_len > CHUNK_LINE_MAX)
				return -1;
			if (c == '\n')
				d->state = CH_TRAILER;
			break;
		default: return -1;
		}
	}
	*len = out;
	return -2;
}
