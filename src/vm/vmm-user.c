/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VMM users (vmm-user.h). The uid starts from a hash of the VM's id and moves
 * on past the ones its siblings recorded, so two VMs of one run directory
 * never share one: a VMM taken over by its guest cannot signal, trace or
 * read another's memory.
 */
#include "vmm-user.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* The uids the other VMs of runtime_dir recorded (a small set: one per VM). */
static size_t sibling_uids(const char *runtime_dir, const char *id, uid_t **ret)
{
	uid_t *uids = NULL;
	size_t n = 0;
	DIR *d = opendir(runtime_dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, id) == 0)
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s/vmm-uid", runtime_dir, de->d_name);
		_cleanup_free_ char *text = NULL;
		if (read_file_at(AT_FDCWD, path, 32, &text, NULL) < 0)
			continue;
		char *end = NULL;
		unsigned long v = strtoul(text, &end, 10);
		if (end == text || v < VMM_UID_BASE || v >= VMM_UID_BASE + VMM_UID_COUNT)
			continue;
		uids = xrealloc(uids, (n + 1) * sizeof(*uids));
		uids[n++] = (uid_t)v;
	}
	if (d)
		closedir(d);
	*ret = uids;
	return n;
}

int vmm_user_claim(const char *runtime_dir, const char *id, uid_t *ret)
{
	_cleanup_free_ uid_t *taken = NULL;
	size_t n = sibling_uids(runtime_dir, id, &taken);
	uint32_t slot = fnv1a(id) % VMM_UID_COUNT;
	uid_t uid = 0;
	for (size_t tries = 0; tries <= n && !uid; tries++, slot = (slot + 1) % VMM_UID_COUNT) {
		bool used = false;
		for (size_t i = 0; i < n && !used; i++)
			used = taken[i] == VMM_UID_BASE + slot;
		if (!used)
			uid = VMM_UID_BASE + slot;
	}
	char text[16];
	int len = snprintf(text, sizeof(text), "%u\n", (unsigned)uid);
	_cleanup_free_ char *path = xasprintf("%s/%s/vmm-uid", runtime_dir, id);
	int r = write_file_at(AT_FDCWD, path, text, (size_t)len, 0600);
	if (r < 0)
		return r;
	*ret = uid;
	return 0;
}
