/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: a guest asset set's manifest.json (a user's directory, read by
 * arca and arcad before booting anything) and `arca guest build`'s config.
 * Either gives a result or an error; a parsed manifest is written back and
 * must parse again to the same build id. And the init artifact's index.json and
 * manifest, read from directories anyone may have written.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-config.h"
#include "guest-manifest.h"
#include "init-artifact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_manifest m;
	struct arca_error *err = NULL;
	if (guest_manifest_parse((const char *)data, size, &m, &err) == 0) {
		json_t *j = guest_manifest_json(&m);
		char *s = json_dumps(j, 0);
		struct guest_manifest again;
		if (!s || guest_manifest_parse(s, strlen(s), &again, NULL) != 0 ||
		    strcmp(again.build_id, m.build_id) != 0 || again.n_files != m.n_files)
			abort();
		guest_manifest_done(&again);
		free(s);
		json_decref(j);
		guest_manifest_done(&m);
	}
	err = arca_error_free(err);
	char digest[DIGEST_STR_LEN];
	int64_t blob_size;
	(void)init_artifact_parse_index((const char *)data, size, digest, &blob_size, &err);
	err = arca_error_free(err);
	struct init_artifact a = { 0 };
	(void)init_artifact_parse_manifest((const char *)data, size, &a, &err);
	init_artifact_done(&a);
	err = arca_error_free(err);
	struct guest_config c;
	if (guest_config_parse((const char *)data, size, &c, &err) == 0)
		guest_config_done(&c);
	arca_error_free(err);
	return 0;
}
