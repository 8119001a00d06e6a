/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM a build stage runs its steps in (docs/build.md). It boots once per
 * stage, lazily (a stage of config-only or cached steps never starts one),
 * from the disk of the image the stage has reached, plus a scratch disk.
 * Each step that changes files gets a fresh overlayfs upper directory on
 * the scratch disk, stacked over the previous steps' uppers and the image:
 * after the step, that upper is exactly the step's layer (tar'ed out with
 * overlayfs' opaque directories marked as OCI ones). The VM has no network
 * unless the build gives it one.
 *
 * Synchronous: each call runs the build thread's own event loop until the
 * guest answered, so the builder reads as a sequence of steps.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct event;
struct build_vm;
struct accel_choice;

#define BUILD_VM_MAX_FROM 12 /* images a stage's COPY --from reads */

struct build_vm_config {
	const char *id;	     /* unique among VMs */
	const char *run_dir; /* VM run directories live under it */
	const char *kernel;
	const char *initramfs;
	const char *image_disk; /* the stage's base image (read-only); NULL: FROM scratch */
	const char *scratch;	/* a writable ext4 file for the steps' layers */
	unsigned layers;	/* layers already on scratch (the same stage, restarted) */
	const char *from_disks[BUILD_VM_MAX_FROM]; /* COPY --from images, read-only */
	size_t n_from;
	unsigned memory_mb, cpus;
	bool use_vsock;
	const struct accel_choice *accel; /* the daemon's */
	/* A NIC on a Docker network (net_fd < 0: none): the TAP, its MAC, and the
	 * guest requests that make its links and route, sent once it is up. */
	int net_fd;
	uint8_t net_mac[6];
	bool net_vhost;
	struct guest_request *net_reqs; /* consumed */
	size_t n_net_reqs;
	/* Polled while waiting: true ends the wait (the client went, the daemon stops). */
	bool (*cancelled)(void *userdata);
	void *userdata;
};

int build_vm_start(struct event *e, const struct build_vm_config *cfg, struct build_vm **ret,
		   struct arca_error **err);
/* Stops the VM (shutdown, then kill) and waits for it. NULL-safe. */
struct build_vm *build_vm_free(struct build_vm *v);

/* A fresh upper directory over everything so far, mounted as the root a step sees. */
int build_vm_new_layer(struct build_vm *v, const char *hosts, const char *resolv,
		       struct arca_error **err);

typedef void (*build_output_fn)(int fd, const uint8_t *data, size_t len, void *userdata);

struct build_vm_proc {
	char *const *argv;
	char *const *env;
	const char *cwd;  /* created first when missing */
	const char *user; /* Docker user spec */
};

/*
 * Runs a step's command in the root, its stdout and stderr to out (fd 1 or
 * 2) as they come. *ret_status: its exit code (128+N for a signal); < 0
 * when it could not start (the message in *err).
 */
int build_vm_run(struct build_vm *v, const struct build_vm_proc *p, build_output_fn out,
		 void *userdata, int *ret_status, struct arca_error **err);

struct build_vm_copy {
	const char *cmd;   /* "COPY" or "ADD", for messages */
	const char *dest;  /* absolute, its trailing slash kept */
	const char *chown; /* --chown, resolved in the image; NULL: none */
	int from;	   /* index in from_disks; -1: the sources are in tar_fd */
	bool glob;	   /* sources may hold wildcards (from an image) */
	char *const *srcs; /* "k:PATH" (keep owners) or "r:PATH" (chowned), see copy.c */
};

/*
 * COPY and ADD: tar_fd (when from < 0) is unpacked on the scratch disk,
 * then arca-init's copy helper puts the sources in place in the step's
 * root, resolving every path inside its root. Its message is the user's
 * error ("COPY failed: ...").
 */
int build_vm_copy(struct build_vm *v, int tar_fd, const struct build_vm_copy *c,
		  struct arca_error **err);

/* The current upper directory as a tar, into out_fd (the root is unmounted first). */
int build_vm_commit(struct build_vm *v, int out_fd, struct arca_error **err);
/* Layers on the scratch disk so far (for a restart with more disks). */
unsigned build_vm_layers(const struct build_vm *v);
