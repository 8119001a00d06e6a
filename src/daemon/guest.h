/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What arcad's VMs boot (docs/guest-assets.md): a guest asset set found by
 * lookup, or the kernel and initramfs given or installed. Each choice has a
 * build id (a set's own; for loose files, the same formula over their
 * checksums), shown by docker info and recorded with each container's run.
 */
#pragma once

#include <jansson.h>

#include "digest.h"
#include "error.h"

/* A container's label that boots it from another guest set (a directory). */
#define GUEST_LABEL "org.arca.guest"

struct daemon_guest {
	char *source; /* "given", "user", "system", "installed", or a label's "label" */
	char *dir;    /* the set's directory; NULL for loose files */
	char *kernel;
	char *initramfs;
	char build_id[DIGEST_STR_LEN];
	char *init;	/* loose files: the init artifact's "arca/init:V@sha256:..." */
	char *init_dir; /* ... and where it was found; NULL: a plain initramfs */
};

/*
 * The daemon's guest: an explicit kernel/initramfs (flags, daemon.json,
 * $ARCA_KERNEL/$ARCA_INITRAMFS) or a `guest` set; else the first set that
 * verifies of the user's ($XDG_DATA_HOME/arca/guest, ~/.local/share/arca/guest)
 * and the system's (/etc/arca/guest, DATA-ROOT/guest), a broken one skipped
 * with a warning; else the installed kernel and initramfs.
 */
int daemon_guest_select(const char *guest_dir, const char *kernel, const char *initramfs,
			const char *data_root, struct daemon_guest *ret, struct arca_error **err);
/* A set named by a container's label, verified. */
int daemon_guest_from_dir(const char *dir, const char *source, struct daemon_guest *ret,
			  struct arca_error **err);
/* {"Source", "Dir", "BuildId", "Kernel", "Initramfs"} */
json_t *daemon_guest_json(const struct daemon_guest *g);
void daemon_guest_done(struct daemon_guest *g);
