/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: docker commit's conversion of a guest's tar
 * (commit_convert in src/image/commit.c), then the layer it made applied as
 * a pull would (unpack-jail.c): a hostile guest's tar may become any layer,
 * but that layer may not write outside its tree.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image-internal.h"
#include "unpack-jail.h"

#define OUT_MAX (4u << 20)

struct sink {
	int fd;
	size_t n;
};

static la_ssize_t sink_write(struct archive *a, void *ud, const void *p, size_t n)
{
	struct sink *k = ud;
	(void)a;
	if (k->n + n > OUT_MAX || write(k->fd, p, n) != (ssize_t)n)
		return -1;
	k->n += n;
	return (la_ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const exclude[] = { "etc/hosts", "etc/resolv.conf", ".dockerenv", NULL };
	struct sink k = { .fd = memfd_create("layer", MFD_CLOEXEC) };
	struct archive *in = archive_read_new(), *out = archive_write_new();
	if (k.fd < 0 || !in || !out)
		abort();
	archive_read_support_format_tar(in);
	archive_write_set_format_pax_restricted(out);
	archive_write_set_bytes_in_last_block(out, 1);
	uint64_t entries = 0;
	struct arca_error *err = NULL;
	int r = -1;
	if (archive_read_open_memory(in, data, size) == ARCHIVE_OK &&
	    archive_write_open(out, &k, NULL, sink_write, NULL) == ARCHIVE_OK)
		r = commit_convert(in, out, exclude, &entries, &err);
	if (r >= 0 && archive_write_close(out) != ARCHIVE_OK)
		r = -1;
	arca_error_free(err);
	archive_read_free(in);
	archive_write_free(out);
	if (r >= 0) {
		struct unpack_limits lim = { .max_bytes = 1 << 20,
					     .max_entries = 4000,
					     .compression = UNPACK_PLAIN };
		(void)lseek(k.fd, 0, SEEK_SET);
		unpack_jail_run(k.fd, &lim);
	}
	close(k.fd);
	return 0;
}
