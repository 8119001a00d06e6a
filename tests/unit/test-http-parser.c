/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: src/common/http/http-parser.c (request heads, chunked bodies). */
#include <stdlib.h>
#include <string.h>

#include "http/http-parser.h"
#include "tap.h"

static ssize_t parse(const char *s, struct http_request_head *h, struct http_header *hs, size_t cap)
{
	memset(h, 0, sizeof(*h));
	h->headers = hs;
	return http_parse_request(s, strlen(s), h, cap);
}

static void test_request_head(void)
{
	struct http_header hs[8];
	struct http_request_head h;
	const char *req = "POST /v1.51/containers/create?name=x HTTP/1.1\r\n"
			  "Host: docker\r\nContent-Type: application/json\r\n"
			  "Connection: keep-alive, Upgrade\r\nUpgrade: tcp\r\n\r\nBODY";
	ssize_t n = parse(req, &h, hs, 8);
	is_int(n, (ssize_t)(strlen(req) - 4), "head length excludes the body");
	ok(h.method_len == 4 && memcmp(h.method, "POST", 4) == 0, "method");
	ok(h.target_len == strlen("/v1.51/containers/create?name=x") &&
	       memcmp(h.target, "/v1.51/containers/create?name=x", h.target_len) == 0,
	   "target with query");
	is_int(h.minor_version, 1, "HTTP/1.1");
	is_int(h.num_headers, 4, "four headers");
	size_t len;
	const char *v = http_header_get(&h, "content-type", &len);
	ok(v && len == 16 && memcmp(v, "application/json", 16) == 0, "case-insensitive lookup");
	ok(http_header_get(&h, "X-Missing", &len) == NULL, "absent header");
	ok(http_header_has_token(&h, "Connection", "upgrade"), "token in a list");
	ok(!http_header_has_token(&h, "Connection", "close"), "token not in the list");

	ok(parse("GET /_ping HTTP/1.0\n\n", &h, hs, 8) > 0 && h.minor_version == 0,
	   "bare LF line ends and HTTP/1.0");
	ok(parse("GET /_ping HTTP/1.1\r\nHost: x\r\n", &h, hs, 8) == -2, "incomplete head");
	ok(parse("GET /_ping HTTP/1.1\r\nHo", &h, hs, 8) == -2, "incomplete header name");
	ok(parse("GET /_ping HTTP/2.0\r\n\r\n", &h, hs, 8) == -1, "HTTP/2 is refused");
	ok(parse("GET  HTTP/1.1\r\n\r\n", &h, hs, 8) == -1, "empty target");
	ok(parse("G\001T / HTTP/1.1\r\n\r\n", &h, hs, 8) == -1, "control byte in the method");
	ok(parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &h, hs, 8) == -1,
	   "space in a header name");
	ok(parse("GET / HTTP/1.1\r\n: x\r\n\r\n", &h, hs, 8) == -1, "empty header name");
	ok(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &h, hs, 2) == -1,
	   "more headers than the caller allows");
	ok(parse("GET / HTTP/1.1\r\nA:   padded  \r\n\r\n", &h, hs, 8) > 0 &&
	       h.headers[0].value_len == 6 && memcmp(h.headers[0].value, "padded", 6) == 0,
	   "value whitespace trimmed");
}

static void test_chunked(void)
{
	char body[] = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\nGET /next";
	struct http_chunked d = { 0 };
	size_t len = strlen(body);
	ssize_t left = http_chunked_decode(&d, body, &len);
	is_int(left, 9, "bytes after the body are left");
	ok(len == 12 && memcmp(body, "hello, world", 12) == 0, "decoded in place");
	ok(memcmp(body + strlen(body) - 9, "GET /next", 9) == 0, "the next request is untouched");

	/* One byte at a time: the state survives between calls. */
	const char *src = "3\r\nabc\r\n0\r\n\r\n";
	struct http_chunked d2 = { 0 };
	char out[32];
	size_t total = 0;
	ssize_t r = -2;
	for (size_t i = 0; src[i] && r == -2; i++) {
		char c = src[i];
		size_t one = 1;
		r = http_chunked_decode(&d2, &c, &one);
		if (one)
			out[total++] = c;
	}
	ok(r == 0 && total == 3 && memcmp(out, "abc", 3) == 0, "byte-at-a-time decoding");

	char bad1[] = "zz\r\n";
	struct http_chunked d3 = { 0 };
	len = strlen(bad1);
	ok(http_chunked_decode(&d3, bad1, &len) == -1, "non-hex chunk size");
	char bad2[] = "10000000000000000\r\n";
	struct http_chunked d4 = { 0 };
	len = strlen(bad2);
	ok(http_chunked_decode(&d4, bad2, &len) == -1, "chunk size overflow refused");
	char bad3[] = "3\r\nabcX\r\n";
	struct http_chunked d5 = { 0 };
	len = strlen(bad3);
	ok(http_chunked_decode(&d5, bad3, &len) == -1, "missing CRLF after data");
}

int main(void)
{
	test_request_head();
	test_chunked();
	return tap_done();
}
