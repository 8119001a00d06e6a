/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A VM for a container that is not running: docker cp, diff, export and
 * commit on a created or exited container boot its disks in a maintenance
 * VM (the root set up as for a start, with its binds and volumes but no
 * tmpfs and no main process), run their helpers there, and let it go. The VM is shared by
 * concurrent operations and stops when the last one releases it. While it exists the container
 * cannot be started or removed (409), so its writable disk has one writer.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct container;
struct vm;
struct maint;

typedef void (*container_vm_fn)(struct container *c, const struct arca_error *err, void *userdata);

/*
 * Calls cb once the container has a VM to run helpers in: at once when it
 * runs, after a maintenance VM booted otherwise. Each success must be
 * followed by container_vm_release(). Paused containers are refused.
 */
void container_vm_acquire(struct container *c, container_vm_fn cb, void *userdata);
void container_vm_release(struct container *c);
/* Forgets a waiter that is going away (its callback will not run). */
void container_vm_cancel(struct container *c, void *userdata);

/* The VM helpers run in: the container's own, or its maintenance VM; NULL if none is up. */
struct vm *container_helper_vm(struct container *c);
/* The bits (k) of the block volumes its maintenance VM has attached (0 when none runs). */
uint32_t container_maint_blocks(const struct container *c);
/*
 * When c's helpers run in its maintenance VM: the destination of the block
 * volume at or above path that it could not attach (another container's VM
 * holds it), or NULL.
 */
const char *container_maint_missing(const struct container *c, const char *path);
/* True while a maintenance VM exists (start and remove must wait). */
bool container_in_maintenance(const struct container *c);
/* ... and it is only shutting down: a start can wait for it rather than fail. */
bool container_maintenance_ending(const struct container *c);
struct maint *maint_free(struct maint *m);
