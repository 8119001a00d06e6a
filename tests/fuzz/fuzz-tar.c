/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: layer application (src/image/unpack.c). Each input is a
 * layer (any compression) applied onto a fresh directory inside a private
 * parent; afterwards nothing may exist in the parent besides that directory.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fd-util.h"
#include "unpack.h"

static char parent[] = "/tmp/arca-fuzz-tar-XXXXXX";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		if (!mkdtemp(parent))
			abort();
		ready = true;
	}
	char root[sizeof(parent) + 8];
	snprintf(root, sizeof(root), "%s/root", parent);
	(void)rm_rf(root);
	if (mkdir_p(root, 0755) < 0)
		abort();
	int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int lfd = memfd_create("layer", MFD_CLOEXEC);
	if (rfd < 0 || lfd < 0 || write(lfd, data, size) != (ssize_t)size)
		abort();
	struct unpack_limits lim = { .max_bytes = 1 << 20, .max_entries = 1000 };
	struct unpack_result res;
	struct arca_error *err = NULL;
	(void)unpack_layer(rfd, lfd, &lim, NULL, NULL, &res, &err);
	arca_error_free(err);
	close(lfd);
	close(rfd);
	/* The only entry of the parent is the root: nothing escaped. */
	DIR *d = opendir(parent);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "root"))
			abort();
	closedir(d);
	return 0;
}
