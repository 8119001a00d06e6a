/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A guest asset set (docs/guest-assets.md): a directory holding a kernel, an
 * initramfs and optionally a root filesystem, with manifest.json saying what
 * each file is (SHA-256 and size), the config it was built from, the tools
 * that built it, and a build id derived from the checksums alone. The
 * manifest is untrusted input (a user's directory): parsed strictly, every
 * name one of the known files, and a set is used only once it verifies.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "error.h"

#define GUEST_MANIFEST	      "manifest.json"
#define GUEST_MANIFEST_SCHEMA 1
#define GUEST_MAX_FILES	      4

struct guest_file {
	char name[32]; /* vmlinux, bzImage, initramfs.cpio[.gz], rootfs.ext4 */
	char digest[DIGEST_STR_LEN];
	uint64_t size;
};

struct guest_manifest {
	json_t *config; /* the build's config, as given */
	json_t *tools;	/* tool name -> version */
	char *created;	/* RFC 3339 (SOURCE_DATE_EPOCH when set) */
	struct guest_file files[GUEST_MAX_FILES];
	size_t n_files;
	char build_id[DIGEST_STR_LEN]; /* sha256 of the sorted "name digest" lines */
};

/* Whether name is one a set may hold (a plain name: no path can be smuggled in). */
bool guest_file_name_ok(const char *name);
/* The build id of files (any order): SHA-256 of "name digest\n", sorted by name. */
void guest_build_id(const struct guest_file *files, size_t n, char out[DIGEST_STR_LEN]);
/* manifest.json's text; any unknown field, missing field or bad value is an error. */
int guest_manifest_parse(const char *text, size_t len, struct guest_manifest *ret,
			 struct arca_error **err);
/* The manifest's JSON (what guest_manifest_parse reads back). */
json_t *guest_manifest_json(const struct guest_manifest *m);
/* The file `name` of dirfd, hashed (not followed if a symlink). */
int guest_file_hash(int dirfd, const char *name, struct guest_file *ret, struct arca_error **err);
/*
 * Reads dir's manifest and checks it: every file's size and SHA-256 and the
 * build id. An error names the first file that differs or is missing.
 */
int guest_manifest_verify(const char *dir, struct guest_manifest *ret, struct arca_error **err);
/* The file of m named name, NULL if none. */
const struct guest_file *guest_manifest_file(const struct guest_manifest *m, const char *name);
/* The name of m's kernel (vmlinux or bzImage) and initramfs (initramfs.cpio[.gz]), or NULL. */
const char *guest_manifest_kernel(const struct guest_manifest *m);
const char *guest_manifest_initramfs(const struct guest_manifest *m);
void guest_manifest_done(struct guest_manifest *m);

/* A set that verified, as the paths of its files. */
struct guest_set {
	char *kernel, *initramfs; /* DIR/vmlinux or bzImage, DIR/initramfs.cpio[.gz] */
	char *rootfs;		  /* DIR/rootfs.ext4, NULL when the set has none */
	bool rootfs_init;	  /* its config had rootfs.init: the rootfs holds the script */
	char build_id[DIGEST_STR_LEN];
};
/* Verifies dir (guest_manifest_verify) and names its files (a kernel and an initramfs). */
int guest_set_open(const char *dir, struct guest_set *ret, struct arca_error **err);
void guest_set_done(struct guest_set *s);
