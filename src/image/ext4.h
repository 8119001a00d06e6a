/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ext4 disks without mounting anything: the read-only image disk built from
 * a staging tree with `mkfs.ext4 -d`, and a container's sparse writable disk.
 */
#pragma once

#include <stdint.h>

#include "error.h"

/*
 * Builds a journal-less ext4 image of tree at out_path (via out_path.tmp,
 * fsync, rename). The size is computed from the tree; the file is sparse.
 * seed (64 hex, e.g. the chain ID) fixes the UUID and hash seed, so the same
 * tree gives the same filesystem.
 */
int ext4_build_image(const char *tree, const char *out_path, const char *seed, uint64_t *ret_size,
		     struct arca_error **err);
/* A sparse ext4 file of size bytes, with a journal, for a container's writable layer. */
int ext4_create_writable(const char *path, uint64_t size, struct arca_error **err);
/* The same for a block volume, without lost+found: a new volume is empty. */
int ext4_create_volume(const char *path, uint64_t size, struct arca_error **err);
