/* SPDX-License-Identifier: Apache-2.0 */
/* What the image store's files share: struct image_store and internal helpers. */
#pragma once

#include "blobstore.h"
#include "db.h"
#include "image.h"
#include "imagedb.h"
#include "manifest.h"

struct image_store {
	char *root;
	char *disks;
	char *staging;
	char *fast_staging; /* on /dev/shm (tmpfs), for trees that fit in memory: made
			       fresh by mkdtemp when first needed, removed at close; or NULL */
	char *fast_prefix;  /* its name's prefix, "arca-staging-<hash of root>-" */
	struct blobstore *blobs;
	struct db *db;
	int lock_fd; /* flock: shared while open, exclusive during GC */
};

/* The disk path of a chain ID. */
char *store_disk_path(const struct image_store *s, const char *chain_id);

typedef void (*layer_progress_fn)(size_t index, uint64_t done, uint64_t total, bool finished,
				  void *userdata);

/*
 * Unpacks the layer blobs in order into a private staging tree, checks
 * each diff ID (layers[i].diff_id; when NULL it is filled in instead),
 * fills layers[i].tar_size, then builds the disk of the layers' chain ID.
 */
int store_build_disk(struct image_store *s, struct image_layer *layers, size_t n,
		     layer_progress_fn progress, void *userdata, struct arca_error **err);
/* Fills the tar sizes of layers from other images' rows; false if any is unknown. */
bool store_known_tar_sizes(struct image_store *s, struct image_layer *layers, size_t n);

/*
 * The image's platform manifest: its original bytes when it was pulled and the
 * blob is kept, else a new OCI manifest over its stored blobs.
 */
char *store_image_manifest(struct image_store *s, const struct image_record *rec, size_t *len,
			   char **type);

/* Records a complete image and its references in one transaction. */
int store_commit_image(struct image_store *s, const struct image_record *rec, char *const *tags,
		       char *const *digests, struct arca_error **err);

/* "docker.io/library/busybox:latest" -> "busybox:latest". */
char *store_familiar(const char *full_name);
/* Parses a reference and returns its stored form (name:tag or name@digest). */
int store_ref_name(const char *ref, char **ret, struct arca_error **err);
int64_t parse_rfc3339(const char *s);
json_t *progress_msg(const char *status, const char *id);

/* Stores one image given its config bytes and layers (diff IDs checked), with tags. */
int store_finish_image(struct image_store *s, const char *config, size_t config_len,
		       struct image_layer *layers, size_t n, char *const *tags,
		       const char *manifest_digest, bool disk_ready, const char *parent,
		       char **ret_id, struct arca_error **err);
void store_layers_free(struct image_layer *l, size_t n);

struct archive;
/*
 * commit.c: a guest's tar of the overlay's upper directory (whiteouts as 0/0
 * character devices) into an OCI layer (".wh." files), entry by entry, minus
 * the exclude paths; counts the entries written. Fuzzed (fuzz-commit).
 */
int commit_convert(struct archive *in, struct archive *out, const char *const *exclude,
		   uint64_t *ret_entries, struct arca_error **err);
/* Now, as an image config's "created" (RFC 3339, nanoseconds, UTC). Caller frees. */
char *store_now_rfc3339(void);
