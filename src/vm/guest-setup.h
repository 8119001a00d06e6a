/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Composite guest operations built from the generic RPCs, shared by the
 * CLI and the daemon. Requests are pipelined: the guest executes them in
 * order, and the callback reports the first failure (or success) once all
 * replies are in.
 */
#pragma once

#include <stdbool.h>

struct guest_client;

#define GUEST_ROOT "/run/arca/root"

struct guest_rootfs_spec {
	const char *image_serial; /* read-only image disk (ext4) */
	const char *rw_serial;	  /* writable ext4 disk, or NULL for a tmpfs upper layer */
	bool readonly;		  /* mount the merged root read-only */
};

typedef void (*guest_done_fn)(int error, const char *message, void *userdata);

/*
 * Stacks the image and the writable layer with overlayfs at GUEST_ROOT and
 * mounts /proc, /sys and /dev inside it.
 */
int guest_setup_rootfs(struct guest_client *gc, const struct guest_rootfs_spec *spec,
		       guest_done_fn cb, void *userdata);
