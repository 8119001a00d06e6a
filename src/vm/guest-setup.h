/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Composite guest operations built from the generic RPCs, shared by the
 * CLI and the daemon. Requests are pipelined: the guest executes them in
 * order, and the callback reports the first failure (or success) once all
 * replies are in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct guest_request;

struct guest_client;

#define GUEST_ROOT "/run/arca/root"
/* Where the guest mounts the VM's shared host paths (share.h): share i at <it>/<i>. */
#define GUEST_SHARES "/run/arca/shares"
/* Block volumes, each mounted at <GUEST_BLOCKS>/<k> before it is bound in place. */
#define GUEST_BLOCKS "/run/arca/blocks"

struct guest_rootfs_spec {
	const char *image_serial; /* read-only image disk (ext4) */
	const char *rw_serial;	  /* writable ext4 disk, or NULL for a tmpfs upper layer */
	/* Where the writable layer is mounted already (guest_batch_add_rw_layer, a pooled
	 * VM's): moved into place instead of rw_serial's mount. */
	const char *rw_mounted;
	bool readonly;	 /* mount the merged root read-only */
	bool init_layer; /* Docker's init layer: the files a container root always has */
};

typedef void (*guest_done_fn)(int error, const char *message, void *userdata);

/*
 * A batch of pipelined requests: cb(first error or 0) runs once every reply
 * is in. Requests are sent as they are added. If the client is freed first
 * (its VM ended), cb never runs and the batch frees itself.
 */
struct guest_batch;
struct guest_batch *guest_batch_new(struct guest_client *gc, guest_done_fn cb, void *userdata);
/* Sends rq (and releases it). */
void guest_batch_add(struct guest_batch *b, struct guest_request *rq);
/* No more requests: cb runs when the last reply arrives (maybe now). */
void guest_batch_end(struct guest_batch *b);

/* Adds the requests of guest_setup_rootfs() to a batch. */
void guest_batch_add_rootfs(struct guest_batch *b, const struct guest_rootfs_spec *spec);
/* The writable ext4 disk `serial` mounted at dir, with the overlay's upper and work directories. */
void guest_batch_add_rw_layer(struct guest_batch *b, const char *serial, const char *dir);
/* /proc, /sys (read-only) and the guest's /dev in GUEST_ROOT (part of add_rootfs). */
void guest_batch_add_system_mounts(struct guest_batch *b);

void guest_req_mount(struct guest_request *rq, const char *source, const char *target,
		     const char *fstype, unsigned long flags, const char *options);
void guest_req_mkdir(struct guest_request *rq, const char *path, unsigned mode);
void guest_req_write_file(struct guest_request *rq, const char *path, const void *data, size_t len,
			  unsigned mode);

/*
 * Stacks the image and the writable layer with overlayfs at GUEST_ROOT and
 * mounts /proc, /sys and /dev inside it.
 */
int guest_setup_rootfs(struct guest_client *gc, const struct guest_rootfs_spec *spec,
		       guest_done_fn cb, void *userdata);
