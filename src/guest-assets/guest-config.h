/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config of `arca guest build` (docs/guest-assets.md): one JSON object
 * saying what guest asset set to build. Parsed strictly: an unknown field, a
 * wrong type or a value arca cannot build is an error that names the field.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

#define GUEST_CONFIG_MAX_ITEMS 64

enum guest_kernel_source {
	GUEST_KERNEL_ARCA, /* Arca's config on Debian's linux-source, plus fragments */
	GUEST_KERNEL_FILE, /* a kernel someone built or packaged: vmlinux or bzImage */
};

struct guest_config {
	enum guest_kernel_source kernel;
	char **fragments;  /* GUEST_KERNEL_ARCA: more config fragments (absolute paths) */
	char *kernel_path; /* GUEST_KERNEL_FILE */
	bool gzip;	   /* initramfs compression: gzip, else none */
	char **binaries;   /* static binaries for the initramfs's /usr/local/bin */
	char **env;	   /* KEY=VALUE: every guest process's default environment */
	char **packages;   /* Debian packages unpacked into the initramfs (no dependencies) */
	struct guest_rootfs {
		bool wanted;	  /* "rootfs" is an object, not null */
		char **packages;  /* Debian packages beyond the variant's */
		char *suite;	  /* bookworm */
		char *variant;	  /* mmdebstrap's: minbase */
		char *mirror;	  /* http://deb.debian.org/debian */
		char *label;	  /* the ext4 label: arca-root */
		unsigned size_mb; /* 0: what the tree needs, with room */
		char *init;	  /* a script run at boot (GUEST_ROOTFS_INIT), or NULL */
	} rootfs;
};

/* Where rootfs.init lands in the root filesystem; `arca vm run --guest` runs it first. */
#define GUEST_ROOTFS_INIT "/etc/arca/rootfs-init"

/* The config a new user starts from: every field, with its default. */
json_t *guest_config_default(void);
/* text into ret; the JSON itself is kept by the caller for the manifest. */
int guest_config_parse(const char *text, size_t len, struct guest_config *ret,
		       struct arca_error **err);
void guest_config_done(struct guest_config *c);
