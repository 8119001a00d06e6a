/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writable disks made ahead: a container's create takes a fresh, empty
 * ext4 disk by renaming one out of <root>/spare-disks instead of running
 * mkfs.ext4 (some 20-30 ms) in the create's way; workers make the next
 * ones. A disk is complete before it gets its final name, and a daemon's
 * start empties the directory, so a disk taken is never a half-made one
 * nor one of another size.
 */
#pragma once

#include <stdint.h>

struct arca_error;
struct daemon;
struct spare_disks;

/* Keeps up to count disks of size bytes ready (0: none, every take runs mkfs). */
struct spare_disks *spare_disks_new(struct daemon *d, uint64_t size, unsigned count,
				    struct arca_error **err);
/* After the daemon's workers are gone: frees what is left. NULL-safe. */
struct spare_disks *spare_disks_free(struct spare_disks *s);
/* The directory they are kept in, emptied at the daemon's start. */
const char *spare_disks_dir(const struct spare_disks *s);
/* A fresh disk at path (which must not exist, in the data root's filesystem). */
int spare_disks_take(struct spare_disks *s, const char *path, struct arca_error **err);
