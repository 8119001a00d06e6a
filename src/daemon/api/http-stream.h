/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streams (stream.h) over HTTP connections, for the handlers that hand a
 * client to the domain: a hijacked connection (attach, exec) or a chunked
 * response (logs, events). Each takes its own reference on the connection
 * and lets go of it when the stream's last reference goes.
 */
#pragma once

#include "stream.h"

struct http_conn;

/* Answers 101 (or the legacy 200) with content_type; then raw both ways. */
struct stream *api_stream_hijack(struct http_conn *conn, const char *content_type);

/*
 * A chunked response with status and content_type. Its head goes out with
 * the first write or end, or with api_stream_begin: so a handler can still
 * answer an error instead when the domain refuses before writing anything.
 */
struct stream *api_stream_response(struct http_conn *conn, int status, const char *content_type);
void api_stream_begin(struct stream *s);
/* A response's extra head lines ("Name: value\r\n"), until it begins. */
void api_stream_set_headers(struct stream *s, const char *lines);
/* Its head went out: an error can no longer be a status. */
bool api_stream_begun(const struct stream *s);

/* Docker's media type for a stream: raw (a terminal) or stdcopy-multiplexed. */
const char *api_stream_media_type(bool raw);
