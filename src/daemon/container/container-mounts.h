/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's mounts (container-mounts.c): HostConfig.Binds and .Mounts
 * and Config.Volumes read as dockerd reads them, then resolved at create
 * into the container's mount points (named volumes made when missing,
 * anonymous ones made, a bind's missing host directory made for -v). The
 * mount points are Docker's MountPoint objects, kept with the state and
 * shown as inspect's Mounts; a bind and a volume reach the VM as a share
 * (vm/share.h), a tmpfs as a tmpfs in the guest.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct daemon;
struct container;
struct vm_share;
struct vm_config;
struct guest_batch;

/*
 * Pure (fuzzed with the create body): the mounts a create asks for, each
 * {Type, Source, Destination, RW, Mode, Propagation, NoCopy, TmpfsSize,
 * TmpfsMode, FromBinds}, checked (absolute destinations, no duplicates, a
 * Mounts bind's source must exist). Source is "" for an anonymous volume.
 */
int container_mounts_parse(json_t *config, json_t *host_config, json_t **ret_specs,
			   struct arca_error **err);

/*
 * HostConfig.VolumesFrom ("name[:ro|:rw]"): the mount points of each named
 * container, read-only with :ro, never copied up (new reference). 404 for a
 * missing container.
 */
int container_mounts_from(struct daemon *d, json_t *host_config, json_t **ret_from,
			  struct arca_error **err);

/*
 * The specs made real at create: Docker's MountPoint list (new reference).
 * The mount points `from` (container_mounts_from) fill the destinations the
 * specs leave free; an anonymous volume of Config.Volumes yields to them.
 * On error, the anonymous volumes it made are gone again.
 */
int container_mounts_resolve(struct daemon *d, json_t *specs, json_t *from, json_t **ret_mounts,
			     struct arca_error **err);
/* A create that failed after resolving: its anonymous volumes go (unless shared). */
void container_mounts_release(struct daemon *d, json_t *mounts);
/* Docker's volume "mount" (at a start) or "unmount" (at an exit) events. */
void container_mounts_emit(struct container *c, const char *action);

/* inspect's and ps's Mounts: the mount points as Docker shows them (new reference). */
json_t *container_mounts_json(const struct container *c);
/* The names of its anonymous volumes (a strv; caller frees): docker rm -v and --rm. */
char **container_mounts_anonymous(const struct container *c);

/* A bind or a local volume on disk (shared with the VM), not a tmpfs in the guest. */
bool container_mount_is_shared(json_t *mount_point);
/* A block volume: a disk of the VM (on its virtio-scsi controller). */
bool container_mount_is_block(json_t *mount_point);

/* The VM's disks beside the image's and the writable one: at most this many block volumes. */
#define CONTAINER_MAX_BLOCKS 14
/* The serial of the k-th block volume's disk (NULL past the last). */
const char *container_mount_block_serial(size_t k);
/* Appends the block volumes' disks to cfg, in mount order, but those whose bit (k) is in skip. */
void container_mounts_disks(const struct container *c, uint32_t skip, struct vm_config *cfg);
/* The bits (k) of c's block volumes that another container's VM holds now. */
uint32_t container_mounts_blocks_held(const struct container *c);
/* 409 when a block volume of c is held by another container's VM. */
int container_mounts_block_conflict(const struct container *c, struct arca_error **err);
/* The destination of the block volume (its bit in blocks) that path is at or below, or NULL. */
const char *container_mounts_block_covering(const struct container *c, const char *path,
					    uint32_t blocks);
/* The shares a start gives the VM, in the order the guest mounts them (c owns them). */
size_t container_mounts_shares(struct container *c, const struct vm_share **ret);
/*
 * Adds to b the guest requests that mount c's mount points in its root
 * (GUEST_ROOT), parents first: block volumes whose bit is in skip_blocks are
 * left out, and so are tmpfs mounts unless with_tmpfs (a maintenance VM).
 */
void container_mounts_add_requests(const struct container *c, struct guest_batch *b,
				   uint32_t skip_blocks, bool with_tmpfs);

/*
 * Docker's copy-up: the shell lines that fill each empty volume (not
 * nocopy) with what the image holds at its destination, owners, modes and
 * times kept; run in the guest before the main process. NULL when there is
 * nothing to copy. Caller frees.
 */
char *container_mounts_copy_up_script(const struct container *c);
