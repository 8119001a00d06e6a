/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: layer application (src/image/unpack.c). Each input is a
 * layer (any compression) applied by unpack-jail.c: on a worker-sized thread,
 * onto a fresh directory inside a private parent, as root in CI; afterwards
 * nothing may exist in the parent besides that directory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unpack-jail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int lfd = memfd_create("layer", MFD_CLOEXEC);
	if (lfd < 0 || write(lfd, data, size) != (ssize_t)size)
		abort();
	struct unpack_limits lim = { .max_bytes = 1 << 20, .max_entries = 4000 };
	unpack_jail_run(lfd, &lim);
	close(lfd);
	return 0;
}
