/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: image reference parsing and normalization (src/image/reference.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct image_ref r;
	struct arca_error *err = NULL;
	if (image_ref_parse(s, size & 1, &r, &err) == 0) {
		free(image_ref_name(&r));
		free(image_ref_familiar(&r));
		free(image_ref_familiar_tagged(&r));
		(void)image_ref_registry_host(&r);
		/* A normalized name parses back to itself. */
		char *n = image_ref_name(&r);
		struct image_ref again;
		if (image_ref_parse(n, true, &again, NULL) == 0) {
			if (strcmp(again.domain, r.domain) != 0 || strcmp(again.path, r.path) != 0)
				abort();
			image_ref_done(&again);
		}
		free(n);
		image_ref_done(&r);
	}
	arca_error_free(err);
	free(s);
	return 0;
}
