/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Volumes (docker volume): named data that outlives containers, stored in
 * SQLite with its data under <data-root>/volumes/<name>/_data, as dockerd's
 * local driver keeps it. This module owns the records and the directories;
 * what a container mounts lives on the container.
 *
 * The local driver's options are dockerd's: type, device and o, where
 * type=tmpfs and type=none with o=bind and an absolute device are the forms
 * Arca takes (others are refused at create).
 *
 * The block driver keeps a sparse ext4 file, <name>/disk.img (its
 * Mountpoint), of the size option (default 10 GiB), attached to the VM of
 * the one container that runs with it as a disk: no file sharing between.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "error.h"

struct daemon;

#define VOLUME_LABEL_ANONYMOUS	  "com.docker.volume.anonymous"
#define VOLUME_DRIVER_BLOCK	  "block"
#define VOLUME_BLOCK_FILE	  "disk.img"
#define VOLUME_BLOCK_DEFAULT_SIZE (UINT64_C(10) << 30)

struct volume {
	char *name;
	char *driver; /* "local" or "block" */
	char *created;
	json_t *labels;	 /* object of strings */
	json_t *options; /* object of strings: the driver's options */
	char *mountpoint;
};

extern const struct db_migration volume_migrations[];
extern const size_t volume_n_migrations;

/* Every stored volume into d->volumes (by name). */
int volume_load_all(struct daemon *d, struct arca_error **err);
struct volume *volume_free(struct volume *v);

/* dockerd's rule for a local volume's name: [a-zA-Z0-9][a-zA-Z0-9_.-]+. Pure. */
bool volume_name_is_valid(const char *name);
/* A driver's options, the local one's checked as dockerd checks them. Pure; fuzzed with api-json.
 */
int volume_options_check(const char *driver, json_t *options, struct arca_error **err);
/* A block volume: a disk of its own, not a shared directory. */
bool volume_is_block(const struct volume *v);

/*
 * VolumeCreate's body (Name optional: a random one; Driver "local"; DriverOpts;
 * Labels). A volume that exists with the same driver is returned as it is,
 * as dockerd does; *ret_created says whether this call made it (a "create"
 * event then).
 */
int volume_create(struct daemon *d, json_t *body, struct volume **ret, bool *ret_created,
		  struct arca_error **err);
/* 404 "get NAME: no such volume" when missing. */
int volume_find(struct daemon *d, const char *name, struct volume **ret, struct arca_error **err);
/* Removes the record and the data (a "destroy" event); v is freed. */
int volume_remove(struct daemon *d, struct volume *v, struct arca_error **err);
/* docker rm -v and --rm: the volume goes unless another container references it. */
void volume_remove_if_unused(struct daemon *d, const char *name);
/* The IDs of the containers that reference v, running or not (a strv; caller frees). */
char **volume_users(struct daemon *d, const struct volume *v);

/* Docker's Volume object; with_usage adds UsageData (Size, RefCount) as /system/df does. */
json_t *volume_json(struct daemon *d, const struct volume *v, bool with_usage);
/* Bytes the volume's data takes on disk. */
int64_t volume_size(const struct volume *v);
