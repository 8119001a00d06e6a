/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helper processes: a command the daemon itself runs in a running
 * container's VM (ps for top, /proc readers for stats, tar for docker cp,
 * export and commit). By default it runs in the guest's own root, the
 * initramfs with its static busybox, so it works whatever the image holds;
 * it sees the container's files under GUEST_ROOT and its writable layer
 * under /run/arca/rw/upper.
 *
 * Output on stdout is either collected (bounded: more fails the helper) or
 * streamed to the owner, with the guest protocol's flow control: the guest
 * sends only as the owner consumes. Stderr is collected (64 KiB) for error
 * messages.
 *
 * Ownership: the caller owns the helper and frees it, at the earliest in its
 * done callback. The container keeps a list so that its VM going away ends
 * every helper (done with a negative status) before anything is freed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

struct container;
struct helper;

struct helper_ops {
	/* Stdout has bytes (helper_peek/helper_consume). NULL: they are collected. */
	void (*output)(struct helper *h, void *userdata);
	/* Stdin credit is back (optional). */
	void (*stdin_ready)(struct helper *h, void *userdata);
	/*
	 * Once: the command exited and its stdout was consumed (status 0-255), or
	 * it could not run or its VM went away (status < 0: -errno).
	 */
	void (*done)(struct helper *h, int status, void *userdata);
};

struct helper_spec {
	char *const *argv;
	char *const *env;  /* NULL: a PATH for busybox */
	bool in_container; /* chrooted into the container's root (else the guest's) */
	bool netns;	   /* in the container's network namespace (always when in_container) */
	bool busybox;	   /* argv is a busybox applet's, run from the guest's busybox */
	bool with_stdin;
	bool during_start;  /* the lifecycle's own, in the VM a start is setting up */
	size_t max_collect; /* collected stdout beyond this fails with -E2BIG */
};

/*
 * `sh -c helper_tar_dir_script sh DIR`: a tar of DIR's contents on stdout,
 * entries named as Docker names them ("bin/", not "./bin/").
 */
extern const char *const helper_tar_dir_script;

int helper_start(struct container *c, const struct helper_spec *spec, const struct helper_ops *ops,
		 void *userdata, struct helper **ret, struct arca_error **err);
/* Kills the command if it still runs. NULL-safe. */
struct helper *helper_free(struct helper *h);

uint32_t helper_pid(const struct helper *h);		 /* guest PID, 0 before it started */
const struct buf *helper_stdout(const struct helper *h); /* collected */
const char *helper_stderr(struct helper *h);		 /* NUL-terminated, trimmed */

size_t helper_peek(struct helper *h, const uint8_t **ret);
void helper_consume(struct helper *h, size_t n);

size_t helper_stdin_room(const struct helper *h);
int helper_write_stdin(struct helper *h, const void *p, size_t n);
int helper_close_stdin(struct helper *h);

/* The container's VM is going away: every helper ends with -EPIPE. */
void container_helpers_fail(struct container *c);
