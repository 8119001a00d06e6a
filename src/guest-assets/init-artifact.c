/* SPDX-License-Identifier: Apache-2.0 */
/* The init artifact (init-artifact.h): an OCI layout of arca-init's initramfs, verified. */
#include "init-artifact.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "guest-internal.h"
#include "reference.h"
#include "proto.h"

#define DOC_MAX	      (1u << 20)
#define INITRAMFS_MAX (1ll << 30)

#define bad(err, ...) arca_error_set(err, EINVAL, ARCA_ERR_INVALID, __VA_ARGS__)

/* A descriptor {mediaType, digest, size[, annotations]} of the media type want. */
static int descriptor(json_t *d, const char *want, const char *what, char digest[DIGEST_STR_LEN],
		      int64_t *size, struct arca_error **err)
{
	const char *mt = json_string_value(json_object_get(d, "mediaType"));
	const char *dg = json_string_value(json_object_get(d, "digest"));
	json_t *sz = json_object_get(d, "size");
	if (!json_is_object(d) || !mt || strcmp(mt, want) != 0)
		return bad(err, "%s: not a %s", what, want);
	if (!digest_is_valid(dg))
		return bad(err, "%s: digest is not sha256:<64 hex>", what);
	if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
	    json_integer_value(sz) > INITRAMFS_MAX)
		return bad(err, "%s: size is not a byte count", what);
	snprintf(digest, DIGEST_STR_LEN, "%s", dg);
	*size = json_integer_value(sz);
	return 0;
}

int init_artifact_parse_index(const char *text, size_t len, char digest[DIGEST_STR_LEN],
			      int64_t *size, struct arca_error **err)
{
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *list = json_object_get(j, "manifests");
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	int r = 0;
	if (!json_is_object(j) || json_integer_value(json_object_get(j, "schemaVersion")) != 2 ||
	    (mt && strcmp(mt, "application/vnd.oci.image.index.v1+json") != 0))
		r = bad(err, "index.json: not an OCI image index");
	else if (!json_is_array(list) || json_array_size(list) != 1)
		r = bad(err, "index.json: an init artifact names one manifest");
	json_t *entry = json_array_get(list, 0);
	const char *name = json_string_value(json_object_get(json_object_get(entry, "annotations"),
							     "org.opencontainers.image.ref.name"));
	if (r >= 0 && (!name || strncmp(name, "arca/init:", 10) != 0))
		r = bad(err, "index.json: its manifest is not named arca/init:VERSION");
	if (r >= 0)
		r = descriptor(entry, "application/vnd.oci.image.manifest.v1+json", "index.json",
			       digest, size, err);
	json_decref(j);
	return r;
}

int init_artifact_parse_manifest(const char *text, size_t len, struct init_artifact *ret,
				 struct arca_error **err)
{
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *layers = json_object_get(j, "layers"), *notes = json_object_get(j, "annotations");
	const char *type = json_string_value(json_object_get(j, "artifactType"));
	const char *proto = json_string_value(json_object_get(notes, INIT_PROTOCOL_LABEL));
	const char *version =
	    json_string_value(json_object_get(notes, "org.opencontainers.image.version"));
	int r = 0;
	char tail = 0;
	if (!json_is_object(j) || json_integer_value(json_object_get(j, "schemaVersion")) != 2)
		r = bad(err, "manifest: not an OCI image manifest");
	else if (!type || strcmp(type, INIT_ARTIFACT_TYPE) != 0)
		r = bad(err, "manifest: its artifactType is not %s", INIT_ARTIFACT_TYPE);
	else if (!json_is_array(layers) || json_array_size(layers) != 1)
		r = bad(err, "manifest: an init artifact has one layer, its initramfs");
	else if (!proto || sscanf(proto, "%u.%u%c", &ret->major, &ret->minor, &tail) != 2)
		r = bad(err, "manifest: no %s annotation (MAJOR.MINOR)", INIT_PROTOCOL_LABEL);
	else if (!version || !version[0] || strlen(version) >= sizeof(ret->version))
		r = bad(err, "manifest: no org.opencontainers.image.version annotation");
	if (r >= 0)
		r = descriptor(json_object_get(j, "config"), INIT_CONFIG_TYPE, "manifest config",
			       ret->config, &ret->config_size, err);
	if (r >= 0)
		r = descriptor(json_array_get(layers, 0), INIT_LAYER_TYPE, "manifest layer",
			       ret->layer, &ret->layer_size, err);
	if (r >= 0)
		snprintf(ret->version, sizeof(ret->version), "%s", version);
	json_decref(j);
	return r;
}

/* blobs/sha256/<hex> of dirfd: a regular file (never followed) of that size and digest. */
static int check_blob(int dirfd, const char *digest, int64_t size, struct arca_error **err)
{
	_cleanup_free_ char *path = xasprintf("blobs/sha256/%s", digest + 7);
	_cleanup_close_ int fd = openat_in_root(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return arca_error_errno(err, fd < 0 ? -fd : errno, "%s", path);
	char have[DIGEST_STR_LEN];
	uint64_t n = 0;
	if (!S_ISREG(st.st_mode) || st.st_size != size)
		return bad(err, "%s: not a file of the %lld bytes its descriptor says", path,
			   (long long)size);
	int r = sha256_fd(fd, have, &n);
	if (r < 0)
		return arca_error_errno(err, r, "%s", path);
	if (strcmp(have, digest) != 0)
		return bad(err, "%s: its content's digest is %s", path, have);
	return 0;
}

static int read_blob(int dirfd, const char *digest, int64_t size, char **ret, size_t *len,
		     struct arca_error **err)
{
	if (size > DOC_MAX)
		return bad(err, "%s: %lld bytes is too large for a document", digest,
			   (long long)size);
	int r = check_blob(dirfd, digest, size, err);
	_cleanup_free_ char *path = xasprintf("blobs/sha256/%s", digest + 7);
	if (r >= 0 && (r = read_file_at(dirfd, path, DOC_MAX, ret, len)) < 0)
		r = arca_error_errno(err, r, "%s", path);
	return r;
}

int init_artifact_verify(const char *dir, struct init_artifact *ret, struct arca_error **err)
{
	*ret = (struct init_artifact){ 0 };
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return arca_error_errno(err, errno, "%s", dir);
	_cleanup_free_ char *index = NULL, *manifest = NULL;
	size_t len = 0;
	int64_t size = 0;
	int r = read_file_at(dirfd, "index.json", DOC_MAX, &index, &len);
	if (r < 0)
		r = arca_error_errno(err, r, "index.json");
	if (r >= 0)
		r = init_artifact_parse_index(index, len, ret->manifest, &size, err);
	if (r >= 0)
		r = read_blob(dirfd, ret->manifest, size, &manifest, &len, err);
	if (r >= 0)
		r = init_artifact_parse_manifest(manifest, len, ret, err);
	if (r >= 0)
		r = check_blob(dirfd, ret->config, ret->config_size, err);
	if (r >= 0)
		r = check_blob(dirfd, ret->layer, ret->layer_size, err);
	if (r >= 0 && ret->major != PROTO_VERSION_MAJOR)
		r = arca_error_set(err, EPROTONOSUPPORT, ARCA_ERR_INVALID,
				   "arca/init:%s speaks protocol %u.%u; this arca speaks %u.%u",
				   ret->version, ret->major, ret->minor, PROTO_VERSION_MAJOR,
				   PROTO_VERSION_MINOR);
	if (r < 0) {
		arca_error_wrap(err, "%s", dir);
		return r;
	}
	ret->initramfs = xasprintf("%s/blobs/sha256/%s", dir, ret->layer + 7);
	return 0;
}

void init_artifact_done(struct init_artifact *a)
{
	free(a->initramfs);
	*a = (struct init_artifact){ 0 };
}
