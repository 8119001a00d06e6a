/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: docker load (image_load in src/image/archive.c) into a
 * private store: manifest.json (Docker's archive) and index.json with its
 * blobs (an OCI layout). The input is a list of members, each "NAME\n" then
 * its bytes, separated by "\n--\n"; the harness makes the tar (a FIFO or a
 * device is tried too: "NAME" starting with "|" or "!"). Whatever they hold,
 * a load ends with an image or an error, and the store stays usable.
 */
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

#define MAX_MEMBERS 16

static struct image_store *store;

static la_ssize_t to_fd(struct archive *a, void *ud, const void *p, size_t n)
{
	(void)a;
	return write(*(int *)ud, p, n) == (ssize_t)n ? (la_ssize_t)n : -1;
}

static void add_member(struct archive *a, const char *part, size_t len)
{
	const char *nl = memchr(part, '\n', len);
	size_t name_len = nl ? (size_t)(nl - part) : len;
	if (name_len == 0 || name_len > 200)
		return;
	char name[201];
	memcpy(name, part, name_len);
	name[name_len] = '\0';
	const char *body = nl ? nl + 1 : part + len;
	size_t body_len = (size_t)(part + len - body);
	struct archive_entry *e = archive_entry_new();
	unsigned type = AE_IFREG;
	if (name[0] == '|' || name[0] == '!') {
		type = name[0] == '|' ? AE_IFIFO : AE_IFCHR;
		memmove(name, name + 1, name_len);
		body_len = 0;
	}
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)body_len);
	if (archive_write_header(a, e) == ARCHIVE_OK && body_len)
		(void)archive_write_data(a, body, body_len);
	archive_entry_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!store) {
		char root[] = "/tmp/arca-fuzz-load-XXXXXX";
		struct arca_error *err = NULL;
		if (!mkdtemp(root) || image_store_open(root, &store, &err) < 0)
			abort();
	}
	int fd = memfd_create("archive", MFD_CLOEXEC);
	struct archive *a = archive_write_new();
	if (fd < 0 || !a)
		abort();
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open(a, &fd, NULL, to_fd, NULL) != ARCHIVE_OK)
		abort();
	const char *p = (const char *)data, *end = p + size;
	for (int i = 0; i < MAX_MEMBERS && p < end; i++) {
		const char *sep = memmem(p, (size_t)(end - p), "\n--\n", 4);
		size_t len = sep ? (size_t)(sep - p) : (size_t)(end - p);
		add_member(a, p, len);
		p += len + (sep ? 4 : 0);
	}
	archive_write_close(a);
	archive_write_free(a);
	(void)lseek(fd, 0, SEEK_SET);
	json_t *out = NULL;
	struct arca_error *err = NULL;
	if (image_load(store, fd, NULL, NULL, &out, &err) == 0 && !json_is_array(out))
		abort();
	json_decref(out);
	arca_error_free(err);
	close(fd);
	return 0;
}
