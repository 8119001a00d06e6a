/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying one layer (a tar, plain or gzip/zstd/xz/bzip2-compressed) onto a
 * directory tree, with OCI whiteouts. The tree is the image's staging root.
 *
 * Safety (the layer is hostile): every path is cleaned lexically and a name
 * that climbs above the root is rejected; every parent directory is opened
 * with openat2(RESOLVE_IN_ROOT), so symlinks already in the tree resolve
 * inside it; entries are then created by name relative to that parent fd,
 * never followed. Hardlink targets are resolved the same way. Sizes and
 * entry counts are bounded, so a bomb fails cleanly.
 *
 * While unpacking, the uncompressed stream is hashed: the result is the
 * layer's diff ID, which the caller checks against the image config.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

struct unpack_limits {
	uint64_t max_bytes;   /* declared file content, summed over the layer */
	uint64_t max_entries; /* entries in the layer */
	bool lenient_end;     /* a tar may end right after its last entry's data (no padding,
				 no end blocks), as Go's reader allows: build contexts */
	bool no_nodes;	      /* devices and FIFOs are skipped: a tree the host reads from
				 (a build context), where a device node would be the host's */
	unsigned compression; /* UNPACK_* accepted; 0: any of them (never an external
				 program's filter, which libarchive would run on the input) */
};

#define UNPACK_PLAIN (1u << 0)
#define UNPACK_GZIP  (1u << 1)
#define UNPACK_ZSTD  (1u << 2)
#define UNPACK_XZ    (1u << 3)
#define UNPACK_BZIP2 (1u << 4)

/*
 * What a layer's media type allows: gzip, or zstd, or a plain tar (with xz and
 * bzip2, which docker import and load keep under the plain type); 0 for an
 * unknown type: any of them.
 */
unsigned unpack_compression_of(const char *media_type);

#define UNPACK_DEFAULT_MAX_BYTES   (64ULL << 30)
#define UNPACK_DEFAULT_MAX_ENTRIES (4ULL << 20)

struct unpack_result {
	char diff_id[DIGEST_STR_LEN]; /* sha256 of the uncompressed tar */
	uint64_t tar_size;	      /* bytes of the uncompressed tar */
	uint64_t entries;
};

typedef void (*unpack_progress_fn)(uint64_t compressed_read, void *userdata);

/* root_fd: the tree (a directory fd); layer_fd: the layer blob, read from its start (or a pipe). */
int unpack_layer(int root_fd, int layer_fd, const struct unpack_limits *limits,
		 unpack_progress_fn progress, void *userdata, struct unpack_result *ret,
		 struct arca_error **err);

/*
 * Cleans a tar entry name lexically: drops "." and empty components and a
 * leading "/", resolves "..". Returns 0 with the cleaned relative path ("" is
 * the root), -EXDEV if it climbs above the root, -ENAMETOOLONG if too long.
 */
int unpack_clean_path(const char *name, char *out, size_t out_len);
