/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a container's guest says about its filesystem, read into Docker's
 * answers (container-fs-parse.c). The text is the guest's: hostile, bounded
 * by the caller, never trusted to be UTF-8 or well formed.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * busybox stat's "size|rawmode(hex)|mtime|%N" of path, to Docker's PathStat
 * ({"name","size","mode","mtime","linkTarget"}); the raw mode in *ret_mode.
 * NULL when the text is not that.
 */
json_t *container_fs_parse_stat(const char *path, const char *text, size_t len, uint32_t *ret_mode);

/*
 * The changes script's "K /path" lines (K: 0 modified, 1 added, 2 deleted) to
 * docker diff's sorted [{"Path","Kind"}], without the paths the daemon itself
 * provides (and a "modified" parent that only they made).
 */
json_t *container_fs_parse_changes(const char *text, size_t len);
