/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: manifest, index and config parsing and platform selection
 * (src/image/manifest.c). */
#include <stdint.h>
#include <stdlib.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct arca_error *err = NULL;
	if (manifest_parse((const char *)data, size, NULL, &m, &err) == 0) {
		if (m.kind == MANIFEST_INDEX) {
			struct platform p;
			const struct descriptor *d;
			platform_host(&p);
			(void)manifest_select(&m, &p, &d, NULL);
			platform_done(&p);
		}
		manifest_done(&m);
	}
	err = arca_error_free(err);
	struct image_config c;
	if (image_config_parse((const char *)data, size, &c, &err) == 0) {
		char chain[72];
		chain_id(c.diff_ids, c.n_diff_ids, chain);
		image_config_done(&c);
	}
	arca_error_free(err);
	return 0;
}
