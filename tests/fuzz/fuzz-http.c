/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the HTTP request-head parser and the chunked-body decoder
 * (src/common/http/http-parser.c), the first code every client byte meets.
 * The input is fed in two pieces at a point taken from its first byte, as a
 * socket would deliver it, and the head and body results are cross-checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http-parser.h"

static void check_head(const char *buf, size_t len)
{
	struct http_header headers[64];
	struct http_request_head head = { .headers = headers };
	ssize_t n = http_parse_request(buf, len, &head, 64);
	if (n == -1 || n == -2)
		return;
	if (n <= 0 || (size_t)n > len || head.num_headers > 64)
		abort();
	/* Every pointer the parser hands out lies within the input. */
	if (head.method < buf || head.method + head.method_len > buf + n)
		abort();
	if (head.target < buf || head.target + head.target_len > buf + n)
		abort();
	for (size_t i = 0; i < head.num_headers; i++) {
		const struct http_header *h = &head.headers[i];
		if (h->name < buf || h->name + h->name_len > buf + n || h->value < buf ||
		    h->value + h->value_len > buf + n)
			abort();
	}
	size_t vlen;
	(void)http_header_get(&head, "Content-Length", &vlen);
	(void)http_header_has_token(&head, "Connection", "upgrade");
	/* A shorter prefix of a complete head is never complete. */
	struct http_request_head again = { .headers = headers };
	if (http_parse_request(buf, (size_t)n - 1, &again, 64) >= 0)
		abort();
}

static void check_chunked(const uint8_t *data, size_t size, size_t split)
{
	/* Two reads: the decoder keeps its state between them. */
	char *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct http_chunked d = { 0 };
	size_t first = split;
	ssize_t r = http_chunked_decode(&d, copy, &first);
	if (first > split || r > (ssize_t)split)
		abort();
	if (r >= 0 && memcmp(copy + split - r, data + split - r, (size_t)r) != 0)
		abort(); /* the bytes after the body are left as they were */
	if (r == -2) {
		size_t rest = size - split;
		r = http_chunked_decode(&d, copy + split, &rest);
		if (rest > size - split || r > (ssize_t)(size - split))
			abort();
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t split = data[0] % size;
	data++;
	size--;
	/* A private copy, so reads past the end are caught by ASan. */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	check_head(buf, size);
	check_head(buf, split < size ? split : size);
	free(buf);
	check_chunked(data, size, split < size ? split : size);
	return 0;
}
