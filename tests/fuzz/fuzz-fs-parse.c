/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a guest says about a container's filesystem
 * (src/daemon/container/container-fs-parse.c): the stat line behind docker
 * cp's X-Docker-Container-Path-Stat, and the changes list of docker diff,
 * whose output must stay sorted and hold only lines of the input.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container-fs-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so reads past the end are caught by ASan. */
	char *text = malloc(size ? size : 1);
	memcpy(text, data, size);
	uint32_t mode = 0;
	json_t *st = container_fs_parse_stat("/some/path", text, size, &mode);
	if (st && (!json_is_string(json_object_get(st, "mtime")) ||
		   json_integer_value(json_object_get(st, "size")) < 0))
		abort();
	json_decref(st);

	json_t *changes = container_fs_parse_changes(text, size);
	const char *last = "";
	size_t i;
	json_t *c;
	json_array_foreach(changes, i, c)
	{
		const char *p = json_string_value(json_object_get(c, "Path"));
		json_int_t kind = json_integer_value(json_object_get(c, "Kind"));
		if (!p || kind < 0 || kind > 2 || strcmp(last, p) > 0 ||
		    !memmem(text, size, p, strlen(p)))
			abort();
		last = p;
	}
	json_decref(changes);
	free(text);
	return 0;
}
