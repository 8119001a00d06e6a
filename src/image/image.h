/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libarca-image: the image store. Operations as library calls, with
 * Docker's semantics and Docker's JSON shapes, so the API daemon and the CLI
 * are thin layers over it. No HTTP server knowledge, no logging: errors come
 * back as struct arca_error with a kind the API maps to a status.
 *
 * Layout of a store root:
 *   arca.db             SQLite (WAL): images, layers, references, manifests
 *   blobs/sha256/<hex>  content-addressed blobs (manifests, configs, layers)
 *   disks/<hex>.ext4    one read-only ext4 image per layer chain ID
 *   tmp/                partial downloads (resumable) and ingest files
 *   staging/            unpack trees while a disk is being built
 *
 * Calls block; the daemon runs them off its event loop. A store handle is
 * used by one thread at a time; several handles (threads or processes) may
 * share a root.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "registry.h"

struct image_store;

/* A Docker JSON progress message ({"status", "id", "progressDetail", ...}); borrowed. */
typedef void (*image_progress_fn)(json_t *msg, void *userdata);

int image_store_open(const char *root, struct image_store **ret, struct arca_error **err);
struct image_store *image_store_close(struct image_store *s);
static inline void image_store_closep(struct image_store **s)
{
	if (*s)
		*s = image_store_close(*s);
}
struct db *image_store_db(struct image_store *s);

struct image_remote_opts {
	const char *platform; /* NULL: the host's */
	struct registry_auth auth;
	char *const *insecure;
	char *const *mirrors;	/* Docker Hub's (registry-mirrors): its pulls try them first */
	unsigned max_downloads; /* layers a pull downloads at once (0: 3) */
	image_progress_fn progress;
	void *userdata;
};

/* Pulls ref (tag or digest) and builds its disk. *ret_id: the image ID. */
int image_pull(struct image_store *s, const char *ref, const struct image_remote_opts *o,
	       char **ret_id, struct arca_error **err);
int image_push(struct image_store *s, const char *ref, const struct image_remote_opts *o,
	       struct arca_error **err);

/* The DistributionInspect object for ref, asked of its registry (nothing is pulled). */
int image_distribution_inspect(struct image_store *s, const char *ref,
			       const struct image_remote_opts *o, json_t **ret,
			       struct arca_error **err);

/* Docker's name resolution: full or short ID, name[:tag], name@digest. 404 otherwise. */
int image_resolve(struct image_store *s, const char *name, char **ret_id, struct arca_error **err);
/* The ImageInspect object. */
int image_inspect(struct image_store *s, const char *name, json_t **ret, struct arca_error **err);

struct image_list_opts {
	bool all;	 /* a build's intermediate images too */
	bool digests;	 /* always included in the JSON; for the CLI */
	json_t *filters; /* Docker filters: {"dangling":["true"], "reference":[...], ...} */
};
/* An array of ImageSummary objects, newest first. */
int image_list(struct image_store *s, const struct image_list_opts *o, json_t **ret,
	       struct arca_error **err);
/* An array of HistoryResponseItem objects, newest first. */
int image_history(struct image_store *s, const char *name, json_t **ret, struct arca_error **err);
int image_tag(struct image_store *s, const char *source, const char *target,
	      struct arca_error **err);

/* Tells whether containers use an image (the daemon's answer; NULL: none do). */
struct image_users {
	/* Returns the name of a container using id, or NULL; sets *running. Caller frees. */
	char *(*find)(const char *id, bool *running, void *userdata);
	void *userdata;
};

/* `docker rmi`: an array of {"Untagged": ...} / {"Deleted": ...} objects. */
int image_remove(struct image_store *s, const char *name, bool force, bool noprune,
		 const struct image_users *users, json_t **ret, struct arca_error **err);
/* {"ImagesDeleted": [...], "SpaceReclaimed": N}; dangling only unless all. */
int image_prune(struct image_store *s, bool all, json_t *filters, const struct image_users *users,
		json_t **ret, struct arca_error **err);

/* docker save: a tar (OCI layout + manifest.json + repositories) of the named images. */
int image_save(struct image_store *s, char *const *names, int out_fd, struct arca_error **err);
/* docker load: images from a docker-archive or OCI layout tar. *ret: array of messages. */
int image_load(struct image_store *s, int in_fd, image_progress_fn progress, void *userdata,
	       json_t **ret, struct arca_error **err);
/* docker import: a rootfs tarball (plain or compressed) as a one-layer image. */
int image_import(struct image_store *s, int in_fd, const char *ref, const char *message,
		 json_t *config_changes, char **ret_id, struct arca_error **err);

struct image_commit_opts {
	const char *base_id;	    /* the container's image */
	json_t *config;		    /* the new image's "config" */
	const char *ref;	    /* repo[:tag], or NULL */
	const char *comment;	    /* may be NULL */
	const char *author;	    /* may be NULL */
	const char *container_id;   /* recorded as "container" */
	const char *created_by;	    /* the history entry's created_by */
	const char *const *exclude; /* paths left out when directories, empty files or links */
	bool lazy_disk;		    /* the ext4 disk is built when first run, not now (a build) */
	const char *cache_probe;    /* a build step: recorded in the build cache under it */
};
/*
 * docker commit: a new image of base_id's layers plus one made from
 * changes_fd, a tar of an overlayfs upper directory (0/0 character devices
 * are whiteouts; they become ".wh." entries). A tar with no entry left, or
 * changes_fd < 0, adds no layer: the history entry is an empty_layer one,
 * as dockerd records a config-only build step. The new image's parent is
 * base_id.
 */
int image_commit(struct image_store *s, const struct image_commit_opts *o, int changes_fd,
		 char **ret_id, struct arca_error **err);

/*
 * The build cache: the image a build step with this probe (the step's
 * configuration, as text) made on parent ("" for FROM scratch), if it
 * still exists (*ret_id, 1), or 0.
 */
int image_cache_get(struct image_store *s, const char *parent, const char *probe, char **ret_id,
		    struct arca_error **err);
/*
 * cachefrom, as dockerd's image cache does it with a pulled or loaded image:
 * when source's history and layers begin with parent's (NULL: FROM
 * scratch) and its next history entry was made by created_by, the step's
 * image is source itself (that entry is its last) or a new one on parent
 * from that entry, its layer and config. 1 and *ret_id (recorded in the
 * cache under probe), or 0.
 */
int image_cache_from(struct image_store *s, const char *parent, const char *source,
		     const char *created_by, json_t *config, const char *probe, char **ret_id,
		     struct arca_error **err);
/*
 * docker builder prune: removes the build steps' images that nothing needs
 * (untagged, no child, no container), then forgets every cache entry, so
 * the next build runs every step. *ret_deleted: the removed IDs;
 * *ret_reclaimed: the bytes given back.
 */
struct image_users;
int image_cache_prune(struct image_store *s, const struct image_users *users, json_t **ret_deleted,
		      int64_t *ret_reclaimed, struct arca_error **err);

/* The image's read-only ext4 disk (built if missing). */
int image_disk(struct image_store *s, const char *id, char **ret_path, struct arca_error **err);
/* The image's config object ("config" of the image config JSON); new reference. */
int image_config(struct image_store *s, const char *id, json_t **ret, struct arca_error **err);

/* Removes blobs and disks nothing refers to (skipped while other handles are open). */
int image_gc(struct image_store *s, uint64_t *ret_reclaimed, struct arca_error **err);
/*
 * Checks the store: every blob hashes to its name, every image's blobs and
 * disk exist, no temporary file is left. Problems are appended to *ret (an
 * array of strings; empty when clean).
 */
int image_fsck(struct image_store *s, json_t **ret, struct arca_error **err);
