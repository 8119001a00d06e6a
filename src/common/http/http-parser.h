/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An incremental, zero-copy HTTP/1.1 request-head parser and chunked-body
 * decoder, in the manner of picohttpparser: the caller owns the buffer and
 * the header array, the parser only points into them, and "need more bytes"
 * (-2) is distinct from "invalid" (-1). Bounded: at most *num_headers
 * headers; the caller bounds the head size.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct http_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct http_request_head {
	const char *method;
	size_t method_len;
	const char *target; /* path and query, as sent */
	size_t target_len;
	int minor_version; /* HTTP/1.x */
	struct http_header *headers;
	size_t num_headers;
};

/*
 * Parses a request head (request line and headers up to the empty line).
 * head->headers points to an array of *capacity* entries (num_headers in).
 * Returns the length of the head (> 0), -2 if incomplete, -1 if invalid.
 */
ssize_t http_parse_request(const char *buf, size_t len, struct http_request_head *head,
			   size_t capacity);

/* Case-insensitive header lookup; NULL if absent. Sets *len. */
const char *http_header_get(const struct http_request_head *head, const char *name, size_t *len);
/* True if a comma-separated header (e.g. Connection) contains token. */
bool http_header_has_token(const struct http_request_head *head, const char *name,
			   const char *token);

/* Chunked transfer decoding, in place. Zero-initialize before use. */
struct http_chunked {
	size_t remaining; /* bytes left in the current chunk */
	int state;
	size_t hex_digits;
	size_t line_len; /* bytes of a chunk-size or trailer line, bounded */
};

/*
 * Decodes the bytes in buf[0..*len): afterwards buf[0..*len) holds the
 * decoded data. Returns -2 when the body continues, -1 when invalid, or,
 * when the body is complete, the number of bytes after the final chunk: the
 * last that many bytes of the input as given, untouched (the next request).
 */
ssize_t http_chunked_decode(struct http_chunked *d, char *buf, size_t *len);
