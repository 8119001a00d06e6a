/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The init artifact (docs/guest-assets.md): arca-init's initramfs as an OCI
 * image layout, `arca/init:VERSION` (guest-image/mkinitartifact.py). Read
 * from directories anyone may have written: every document is parsed
 * strictly, every blob checked against its digest and size, and an init of
 * another protocol major version is refused, before its initramfs is used.
 */
#pragma once

#include <stddef.h>

#include "digest.h"
#include "error.h"

#define INIT_ARTIFACT_TYPE  "application/vnd.arca.init.v1"
#define INIT_LAYER_TYPE	    "application/vnd.arca.initramfs.v1"
#define INIT_CONFIG_TYPE    "application/vnd.arca.init.config.v1+json"
#define INIT_PROTOCOL_LABEL "org.arca.protocol.version"

struct init_artifact {
	char manifest[DIGEST_STR_LEN]; /* the artifact's digest (its identity) */
	char layer[DIGEST_STR_LEN];    /* the initramfs's */
	int64_t layer_size;
	char config[DIGEST_STR_LEN];
	int64_t config_size;
	char version[64];      /* org.opencontainers.image.version */
	unsigned major, minor; /* org.arca.protocol.version */
	char *initramfs;       /* DIR/blobs/sha256/<hex>, set by init_artifact_verify */
};

/* index.json: the one manifest named arca/init:*; its digest and size into ret. */
int init_artifact_parse_index(const char *text, size_t len, char digest[DIGEST_STR_LEN],
			      int64_t *size, struct arca_error **err);
/* The manifest: the artifact type, its config, its one initramfs layer, its annotations. */
int init_artifact_parse_manifest(const char *text, size_t len, struct init_artifact *ret,
				 struct arca_error **err);
/* dir's layout, whole: the documents, every blob's digest, the protocol. */
int init_artifact_verify(const char *dir, struct init_artifact *ret, struct arca_error **err);
void init_artifact_done(struct init_artifact *a);
