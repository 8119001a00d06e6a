/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image metadata in SQLite: images (ID = config digest, as in Docker), their
 * layers, references (tags and repo digests, by fully qualified name) and
 * the manifests kept for push. Callers wrap multi-statement changes in
 * db_begin()/db_commit().
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"

struct hashmap;

struct image_layer {
	char *diff_id;
	char *blob;
	char *media_type;
	int64_t size;	  /* compressed blob bytes */
	int64_t tar_size; /* uncompressed bytes */
};

struct image_record {
	char *id; /* sha256:<config digest> */
	char *config;
	char *chain_id;
	char *manifest_digest; /* the platform manifest (NULL when loaded or imported) */
	char *parent;
	int64_t size;	 /* sum of uncompressed layers */
	int64_t created; /* from the config, unix seconds */
	int64_t added;
	struct image_layer *layers;
	size_t n_layers;
	char **tags;	/* fully qualified names, "docker.io/library/busybox:latest" */
	char **digests; /* "docker.io/library/busybox@sha256:..." */
};

enum image_ref_kind {
	IMAGE_REF_TAG = 0,
	IMAGE_REF_DIGEST = 1,
};

extern const struct db_migration imagedb_migrations[];
extern const size_t imagedb_n_migrations;

void image_record_done(struct image_record *r);

int imagedb_put(struct db *db, const struct image_record *r, struct arca_error **err);
/* ENOENT (kind NOT_FOUND) when absent. */
int imagedb_get(struct db *db, const char *id, struct image_record *ret, struct arca_error **err);
int imagedb_exists(struct db *db, const char *id);
/* All image IDs, newest first. */
int imagedb_list(struct db *db, char ***ret, struct arca_error **err);
/* The image a reference name points to; 0 = found, -ENOENT = not. */
int imagedb_lookup_ref(struct db *db, const char *name, char **ret_id, struct arca_error **err);
/* IDs starting with prefix ("sha256:ab12..."). */
int imagedb_find_prefix(struct db *db, const char *prefix, char ***ret, struct arca_error **err);
int imagedb_set_ref(struct db *db, const char *name, const char *id, enum image_ref_kind kind,
		    struct arca_error **err);
int imagedb_delete_ref(struct db *db, const char *name, struct arca_error **err);
int imagedb_delete_image(struct db *db, const char *id, struct arca_error **err);
int imagedb_children(struct db *db, const char *id, char ***ret, struct arca_error **err);
/* The build cache: put, get (1 and *ret_id when found, 0 when not), clear. */
int imagedb_cache_put(struct db *db, const char *parent, const char *probe, const char *id,
		      struct arca_error **err);
int imagedb_cache_get(struct db *db, const char *parent, const char *probe, char **ret_id,
		      struct arca_error **err);
int imagedb_cache_clear(struct db *db, int64_t *ret_entries, struct arca_error **err);
/* The images the build cache names, newest first. */
int imagedb_cache_images(struct db *db, char ***ret, struct arca_error **err);
int imagedb_add_manifest(struct db *db, const char *digest, const char *id, const char *media_type,
			 struct arca_error **err);
/* The manifest digest of an image for a media type family, if one is kept. */
int imagedb_manifests(struct db *db, const char *id, char ***ret_digests, struct arca_error **err);
/* Adds every blob digest and every chain ID still referenced to the maps. */
int imagedb_references(struct db *db, struct hashmap *blobs, struct hashmap *chains,
		       struct arca_error **err);
