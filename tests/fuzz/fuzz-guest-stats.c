/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the parsers of guest text for top and stats, and of the
 * VMM's smaps_rollup (src/daemon/container/guest-stats.c).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "guest-stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_sample s, pre;
	if (guest_stats_parse((const char *)data, size, 40, &s) == 0) {
		pre = s;
		json_decref(
		    guest_stats_json("id", "name", &s, &pre, 1 << 30, 2000000000, 1000000000));
	}
	uint64_t host = 0;
	(void)host_memory_parse((const char *)data, size, &host);
	json_t *top = NULL;
	struct arca_error *err = NULL;
	if (guest_top_parse((const char *)data, size, 40, &top, &err) == 0) {
		char *dump = json_dumps(top, 0);
		free(dump);
		json_decref(top);
	}
	arca_error_free(err);
	return 0;
}
