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

#include "error.h"

struct daemon;
struct container;
struct vm_share;

/*
 * Pure (fuzzed with the create body): the mounts a create asks for, each
 * {Type, Source, Destination, RW, Mode, Propagation, NoCopy, TmpfsSize,
 * TmpfsMode, FromBinds}, checked (absolute destinations, no duplicates, a
 * Mounts bind's source must exist). Source is "" for an anonymous volume.
 */
int container_mounts_parse(json_t *config, json_t *host_config, json_t **ret_specs,
			   struct arca_error **err);

/* The specs made real at create: Docker's MountPoint list (new reference). */
int container_mounts_resolve(struct daemon *d, json_t *specs, json_t **ret_mounts,
			     struct arca_error **err);

/* inspect's and ps's Mounts: the mount points as Docker shows them (new reference). */
json_t *container_mounts_json(const struct container *c);
/* The names of its anonymous volumes (a strv; caller frees): docker rm -v and --rm. */
char **container_mounts_anonymous(const struct container *c);

/* A bind or a volume on disk (shared with the VM), not a tmpfs in the guest. */
bool container_mount_is_shared(json_t *mount_point);
/* The shares a start gives the VM, in the order the guest mounts them (c owns them). */
size_t container_mounts_shares(struct container *c, const struct vm_share **ret);

/*
 * Docker's copy-up: the shell lines that fill each empty volume (not
 * nocopy) with what the image holds at its destination, owners, modes and
 * times kept; run in the guest before the main process. NULL when there is
 * nothing to copy. Caller frees.
 */
char *container_mounts_copy_up_script(const struct container *c);
