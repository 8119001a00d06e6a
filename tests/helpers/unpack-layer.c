/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unpack-layer ROOT LAYER...: applies layers in order onto ROOT with
 * libarca-image's unpacker and prints each diff ID. Exit 0 when all applied,
 * 1 with the error on stderr otherwise. For the malicious-layer tests.
 *   ARCA_UNPACK_MAX_BYTES / ARCA_UNPACK_MAX_ENTRIES override the limits;
 *   ARCA_UNPACK_MEDIA_TYPE is the layers' media type (the compression it allows).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unpack.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: unpack-layer ROOT LAYER...\n");
		return 2;
	}
	struct unpack_limits lim = { .max_bytes = UNPACK_DEFAULT_MAX_BYTES,
				     .max_entries = UNPACK_DEFAULT_MAX_ENTRIES };
	if (getenv("ARCA_UNPACK_MAX_BYTES"))
		lim.max_bytes = strtoull(getenv("ARCA_UNPACK_MAX_BYTES"), NULL, 10);
	if (getenv("ARCA_UNPACK_MEDIA_TYPE"))
		lim.compression = unpack_compression_of(getenv("ARCA_UNPACK_MEDIA_TYPE"));
	if (getenv("ARCA_UNPACK_MAX_ENTRIES"))
		lim.max_entries = strtoull(getenv("ARCA_UNPACK_MAX_ENTRIES"), NULL, 10);
	int root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		perror(argv[1]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		struct arca_error *err = NULL;
		struct unpack_result res;
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(argv[i]);
			return 2;
		}
		if (unpack_layer(root, fd, &lim, NULL, NULL, &res, &err) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], err->msg);
			arca_error_free(err);
			return 1;
		}
		printf("%s %llu entries\n", res.diff_id, (unsigned long long)res.entries);
		close(fd);
	}
	return 0;
}
