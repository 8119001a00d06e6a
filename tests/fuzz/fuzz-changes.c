/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: --change instructions (src/image/changes.c), one per input line. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	char *lines[17];
	size_t n = 0;
	for (char *p = text, *save = NULL, *l; n < 16 && (l = strtok_r(p, "\n", &save)); p = NULL)
		lines[n++] = l;
	lines[n] = NULL;
	json_t *c = json_pack("{s:s, s:[s]}", "WorkingDir", "/w", "Env", "PATH=/bin");
	struct arca_error *err = NULL;
	(void)image_changes_apply(c, lines, &err);
	arca_error_free(err);
	json_decref(c);
	free(text);
	return 0;
}
