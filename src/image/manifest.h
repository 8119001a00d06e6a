/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI and Docker manifests, indexes and image configs: parsing (bounded,
 * validated; the registry is untrusted) and platform selection.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MT_OCI_INDEX		 "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST		 "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG		 "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER		 "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP	 "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD	 "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_LIST		 "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST	 "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG	 "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER_GZIP	 "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define MT_DOCKER_SCHEMA1	 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* The Accept header a client sends for manifests. */
#define MANIFEST_ACCEPT                                                               \
	MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST ", " MT_DOCKER_MANIFEST \
		     ", " MT_DOCKER_SCHEMA1_SIGNED ", " MT_DOCKER_SCHEMA1

#define MANIFEST_MAX_BYTES  (4u << 20)
#define CONFIG_MAX_BYTES    (16u << 20)
#define MANIFEST_MAX_LAYERS 512
#define INDEX_MAX_MANIFESTS 1024

enum manifest_kind {
	MANIFEST_INDEX,
	MANIFEST_IMAGE,
};

struct platform {
	char *os;
	char *arch;
	char *variant; /* NULL: any */
};

struct descriptor {
	char *media_type;
	char *digest;
	int64_t size;
	struct platform platform; /* index entries only */
};

struct manifest {
	enum manifest_kind kind;
	char *media_type;
	struct descriptor config; /* image */
	struct descriptor *layers;
	size_t n_layers;
	struct descriptor *manifests; /* index */
	size_t n_manifests;
};

/* content_type: the HTTP Content-Type, or NULL. Schema 1 gives a clear error. */
int manifest_parse(const char *data, size_t len, const char *content_type, struct manifest *ret,
		   struct arca_error **err);
void manifest_done(struct manifest *m);
/* The index entry for the platform, or an error naming what is available. */
int manifest_select(const struct manifest *index, const struct platform *want,
		    const struct descriptor **ret, struct arca_error **err);
bool layer_media_type_ok(const char *mt);

/* "linux/amd64", "linux/arm64/v8"; a bare "arm64" means linux/arm64. */
int platform_parse(const char *s, struct platform *ret, struct arca_error **err);
/* The host's platform, as Docker names it (linux/amd64 on x86_64). */
void platform_host(struct platform *ret);
void platform_done(struct platform *p);
char *platform_string(const struct platform *p);

/* An image config: the raw JSON and what Arca reads from it. */
struct image_config {
	json_t *json;
	char **diff_ids; /* NULL-terminated */
	size_t n_diff_ids;
	char *os, *arch, *variant;
	char *created; /* RFC 3339, or NULL */
};

int image_config_parse(const char *data, size_t len, struct image_config *ret,
		       struct arca_error **err);
void image_config_done(struct image_config *c);

/* ChainID over diff IDs [0, n): chain(0) = diff(0), chain(i) = sha256(chain(i-1) + " " + diff(i)).
 */
void chain_id(char *const *diff_ids, size_t n, char out[72]);
