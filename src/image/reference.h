/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references, parsed and normalized exactly as Docker does
 * (distribution/reference ParseNormalizedNamed): `busybox` is
 * docker.io/library/busybox:latest, `host:port/repo:tag`, `repo@sha256:...`.
 */
#pragma once

#include <stdbool.h>

#include "error.h"

struct image_ref {
	char *domain; /* "docker.io", "127.0.0.1:5000", "localhost" */
	char *path;   /* "library/busybox" */
	char *tag;    /* NULL when only a digest was given */
	char *digest; /* "sha256:<64 hex>" or NULL */
};

/*
 * Parses and normalizes s. When neither tag nor digest is given, the tag is
 * "latest" (unless allow_bare: then both stay NULL, for `docker images NAME`).
 */
int image_ref_parse(const char *s, bool allow_bare, struct image_ref *ret, struct arca_error **err);
void image_ref_done(struct image_ref *r);

/* "docker.io/library/busybox" */
char *image_ref_name(const struct image_ref *r);
/* Docker's familiar name: "busybox", "user/app", "127.0.0.1:5000/app" */
char *image_ref_familiar(const struct image_ref *r);
/* "busybox:latest" (familiar name + tag), NULL without a tag */
char *image_ref_familiar_tagged(const struct image_ref *r);
/* "busybox@sha256:..." with the given digest */
char *image_ref_familiar_digested(const struct image_ref *r, const char *digest);
/* The registry host to contact: registry-1.docker.io for docker.io. */
const char *image_ref_registry_host(const struct image_ref *r);

/* A valid "sha256:<64 lowercase hex>" digest. */
bool digest_is_valid(const char *d);
/* A 64-char hex string (an image ID written without its algorithm). */
bool is_full_hex_id(const char *s);
