/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a registry answers, read (registry-parse.c): header lines, bearer
 * challenges, error bodies, token answers, upload locations. A registry is
 * untrusted: every function takes bounded input and returns NULL for what it
 * cannot use. Fuzzed by tests/fuzz/fuzz-registry.c.
 */
#pragma once

#include <stddef.h>

/* The value of header `name` if the line (len bytes, CRLF included or not) is that header. */
char *registry_header_value(const char *line, size_t len, const char *name);
/* `key="value"` (or key=value) of a WWW-Authenticate challenge. */
char *registry_challenge_param(const char *challenge, const char *key);
/* The registry's own words from a {"errors": [...]} body, else "HTTP status N". */
char *registry_error_text(const char *body, size_t len, long status);
/* The token of a token server's JSON answer ("token" or "access_token"), when usable in a
 * header. */
char *registry_token_of(const char *body, size_t len);
/* An upload Location made absolute against base (scheme://host), with digest=... added. */
char *registry_upload_url(const char *base, const char *location, const char *digest);
