/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: a registry's answers as the client reads them
 * (src/image/registry-parse.c): header lines, bearer challenges, error
 * bodies, token answers and upload locations. Whatever comes back is a
 * piece of the input (or NULL), and a token never carries a line break.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry-parse.h"

static void check_part(const char *v, const char *in, size_t len)
{
	if (v && strlen(v) && !memmem(in, len, v, strlen(v)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy (reads past the end are caught), and a string of it. */
	char *raw = malloc(size ? size : 1);
	memcpy(raw, data, size);
	char *text = strndup((const char *)data, size);

	static const char *const headers[] = { "Location", "WWW-Authenticate", "Content-Type",
					       "Docker-Content-Digest" };
	for (size_t i = 0; i < sizeof(headers) / sizeof(*headers); i++) {
		char *v = registry_header_value(raw, size, headers[i]);
		check_part(v, raw, size);
		free(v);
	}
	static const char *const keys[] = { "realm", "service", "scope" };
	for (size_t i = 0; i < 3; i++) {
		char *v = registry_challenge_param(text, keys[i]);
		check_part(v, text, strlen(text));
		free(v);
	}
	free(registry_error_text(raw, size, 401));
	char *tok = registry_token_of(raw, size);
	if (tok && (!tok[0] || strpbrk(tok, "\r\n")))
		abort();
	free(tok);
	char *url = registry_upload_url("https://registry.test", text, "sha256:00");
	if (strncmp(url, "https://registry.test", 21) != 0 && strncmp(url, text, strlen(text)) != 0)
		abort();
	free(url);
	free(text);
	free(raw);
	return 0;
}
