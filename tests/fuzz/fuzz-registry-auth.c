/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: X-Registry-Auth and X-Registry-Config as arcad decodes
 * them (api_registry_auth_parse, api_base64_json in
 * src/daemon/api/images-transfer.c). The input is tried as the header itself,
 * and base64 and base64url encoded, so the JSON behind it is fuzzed too.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static void check(const char *header)
{
	struct api_registry_auth a;
	api_registry_auth_parse(header, &a);
	struct registry_auth view = api_registry_auth_view(&a);
	if ((view.username && !view.username[0]) || (view.password && !view.password[0]))
		abort(); /* empty fields are absent */
	api_registry_auth_done(&a);
	json_t *j = api_base64_json(header);
	if (j && !json_is_object(j))
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);
	check(text);
	unsigned char *enc = malloc(4 * (size / 3 + 1) + 1);
	EVP_EncodeBlock(enc, data, (int)size);
	check((const char *)enc);
	for (unsigned char *p = enc; *p; p++) /* base64url, unpadded, as docker-py sends it */
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p == '=' ? '\0' : *p;
	check((const char *)enc);
	free(enc);
	free(text);
	return 0;
}
