/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directories removed off the event loop: a removed container's directory
 * (its writable disk's extents take a while to free) is renamed into
 * <root>/trash at once, so it is gone from where anything looks, and
 * deleted by a worker. A daemon that stopped before a deletion ended finds
 * the rest at its next start and deletes it then.
 */
#pragma once

struct daemon;

/* The trash directory of a daemon whose data root is root (a new string). */
char *trash_path(const char *root);
/* At the daemon's start: deletes what a previous daemon left in it, makes it. */
int trash_init(const char *dir);
/* Removes path (in the same filesystem as the trash): renamed now, deleted later. */
void trash_dir(struct daemon *d, const char *path);
