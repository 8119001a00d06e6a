/* SPDX-License-Identifier: Apache-2.0 */
/* A guest asset set's manifest (guest-manifest.h): parse, write, verify. */
#include "guest-manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "guest-internal.h"
#include "reference.h"

#define MANIFEST_MAX (1u << 20)

static const char *const known_files[] = {
	"vmlinux", "bzImage", "initramfs.cpio", "initramfs.cpio.gz", "rootfs.ext4",
};

bool guest_file_name_ok(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(known_files); i++)
		if (strcmp(name, known_files[i]) == 0)
			return true;
	return false;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct guest_file *)a)->name, ((const struct guest_file *)b)->name);
}

void guest_build_id(const struct guest_file *files, size_t n, char out[DIGEST_STR_LEN])
{
	struct guest_file sorted[GUEST_MAX_FILES];
	n = n < GUEST_MAX_FILES ? n : GUEST_MAX_FILES;
	memcpy(sorted, files, n * sizeof(*files));
	qsort(sorted, n, sizeof(*sorted), by_name);
	struct sha256 h;
	sha256_init(&h);
	for (size_t i = 0; i < n; i++) {
		sha256_update(&h, sorted[i].name, strlen(sorted[i].name));
		sha256_update(&h, " ", 1);
		sha256_update(&h, sorted[i].digest, strlen(sorted[i].digest));
		sha256_update(&h, "\n", 1);
	}
	sha256_final(&h, out);
}

int guest_json_only_keys(json_t *o, const char *const *keys, const char *where,
			 struct arca_error **err)
{
	const char *k;
	json_t *v;
	if (!json_is_object(o))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be an object", where);
	json_object_foreach(o, k, v)
	{
		bool known = false;
		for (size_t i = 0; keys[i] && !known; i++)
			known = strcmp(keys[i], k) == 0;
		if (!known)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: unknown field `%s`", where, k);
	}
	return 0;
}

static int parse_files(json_t *files, struct guest_manifest *m, struct arca_error **err)
{
	static const char *const keys[] = { "name", "sha256", "size", NULL };
	size_t i;
	json_t *f;
	if (!json_is_array(files) || json_array_size(files) == 0 ||
	    json_array_size(files) > GUEST_MAX_FILES)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "files: a list of 1 to %d files", GUEST_MAX_FILES);
	json_array_foreach(files, i, f)
	{
		if (!json_is_object(f))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "files[%zu]: not an object", i);
		int r = guest_json_only_keys(f, keys, "files[]", err);
		if (r < 0)
			return r;
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *digest = json_string_value(json_object_get(f, "sha256"));
		json_t *size = json_object_get(f, "size");
		if (!name || !guest_file_name_ok(name))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "files[%zu]: `%s` is not a file of a guest set", i,
					      name ? name : "(no name)");
		if (guest_manifest_file(m, name))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "files: `%s` is listed twice", name);
		if (!digest_is_valid(digest))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: sha256 is not a sha256:<64 hex> digest", name);
		if (!json_is_integer(size) || json_integer_value(size) < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: size is not a byte count", name);
		struct guest_file *g = &m->files[m->n_files++];
		snprintf(g->name, sizeof(g->name), "%s", name);
		snprintf(g->digest, sizeof(g->digest), "%s", digest);
		g->size = (uint64_t)json_integer_value(size);
	}
	return 0;
}

int guest_manifest_parse(const char *text, size_t len, struct guest_manifest *ret,
			 struct arca_error **err)
{
	static const char *const keys[] = { "schemaVersion", "buildId", "created", "config",
					    "tools",	     "files",	NULL };
	*ret = (struct guest_manifest){ 0 };
	json_error_t jerr;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid JSON: %s (line %d)",
				      jerr.text, jerr.line);
	int r = json_is_object(j) ? guest_json_only_keys(j, keys, GUEST_MANIFEST, err)
				  : arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "not an object");
	json_t *schema = json_object_get(j, "schemaVersion");
	const char *id = json_string_value(json_object_get(j, "buildId"));
	const char *created = json_string_value(json_object_get(j, "created"));
	json_t *config = json_object_get(j, "config"), *tools = json_object_get(j, "tools");
	if (r >= 0 &&
	    (!json_is_integer(schema) || json_integer_value(schema) != GUEST_MANIFEST_SCHEMA))
		r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				   "schemaVersion: this arca reads version %d",
				   GUEST_MANIFEST_SCHEMA);
	if (r >= 0 && !digest_is_valid(id))
		r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				   "buildId is not a sha256:<64 hex> digest");
	if (r >= 0 && (!created || !json_is_object(config) || !json_is_object(tools)))
		r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				   "created, config and tools are required");
	if (r >= 0)
		r = parse_files(json_object_get(j, "files"), ret, err);
	if (r >= 0) {
		snprintf(ret->build_id, sizeof(ret->build_id), "%s", id);
		ret->created = xstrdup(created);
		ret->config = json_incref(config);
		ret->tools = json_incref(tools);
	}
	json_decref(j);
	if (r < 0)
		guest_manifest_done(ret);
	return r;
}

json_t *guest_manifest_json(const struct guest_manifest *m)
{
	json_t *files = json_array();
	for (size_t i = 0; i < m->n_files; i++)
		json_array_append_new(files, json_pack("{s:s, s:s, s:I}", "name", m->files[i].name,
						       "sha256", m->files[i].digest, "size",
						       (json_int_t)m->files[i].size));
	return json_pack("{s:i, s:s, s:s, s:O, s:O, s:o}", "schemaVersion", GUEST_MANIFEST_SCHEMA,
			 "buildId", m->build_id, "created", m->created ? m->created : "", "config",
			 m->config, "tools", m->tools, "files", files);
}

int guest_file_hash(int dirfd, const char *name, struct guest_file *ret, struct arca_error **err)
{
	if (!guest_file_name_ok(name))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "`%s` is not a file of a guest set", name);
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return arca_error_errno(err, errno, "%s", name);
	if (!S_ISREG(st.st_mode))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s: not a regular file",
				      name);
	*ret = (struct guest_file){ 0 };
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	int r = sha256_fd(fd, ret->digest, &ret->size);
	if (r < 0)
		return arca_error_errno(err, r, "%s: read", name);
	return 0;
}

int guest_manifest_verify(const char *dir, struct guest_manifest *ret, struct arca_error **err)
{
	*ret = (struct guest_manifest){ 0 };
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return arca_error_errno(err, errno, "guest set `%s`", dir);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_file_at(dirfd, GUEST_MANIFEST, MANIFEST_MAX, &text, &len);
	if (r < 0)
		return arca_error_errno(err, r, "%s/%s", dir, GUEST_MANIFEST);
	r = guest_manifest_parse(text, len, ret, err);
	if (r < 0) {
		arca_error_wrap(err, "%s/%s", dir, GUEST_MANIFEST);
		return r;
	}
	char id[DIGEST_STR_LEN];
	for (size_t i = 0; r >= 0 && i < ret->n_files; i++) {
		const struct guest_file *want = &ret->files[i];
		struct guest_file have;
		r = guest_file_hash(dirfd, want->name, &have, err);
		if (r >= 0 && (have.size != want->size || strcmp(have.digest, want->digest) != 0))
			r = arca_error_set(
			    err, EIO, ARCA_ERR_INVALID,
			    "%s: its SHA-256 or size is not the manifest's (%s, %llu "
			    "bytes; the manifest says %s, %llu)",
			    want->name, have.digest, (unsigned long long)have.size, want->digest,
			    (unsigned long long)want->size);
		if (r < 0)
			arca_error_wrap(err, "%s", dir);
	}
	if (r >= 0) {
		guest_build_id(ret->files, ret->n_files, id);
		if (strcmp(id, ret->build_id) != 0)
			r = arca_error_set(err, EIO, ARCA_ERR_INVALID,
					   "%s/%s: buildId %s is not its files' (%s)", dir,
					   GUEST_MANIFEST, ret->build_id, id);
	}
	if (r < 0)
		guest_manifest_done(ret);
	return r;
}

const struct guest_file *guest_manifest_file(const struct guest_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_files; i++)
		if (strcmp(m->files[i].name, name) == 0)
			return &m->files[i];
	return NULL;
}

const char *guest_manifest_kernel(const struct guest_manifest *m)
{
	return guest_manifest_file(m, "vmlinux")   ? "vmlinux"
	       : guest_manifest_file(m, "bzImage") ? "bzImage"
						   : NULL;
}

const char *guest_manifest_initramfs(const struct guest_manifest *m)
{
	return guest_manifest_file(m, "initramfs.cpio")	     ? "initramfs.cpio"
	       : guest_manifest_file(m, "initramfs.cpio.gz") ? "initramfs.cpio.gz"
							     : NULL;
}

void guest_manifest_done(struct guest_manifest *m)
{
	json_decref(m->config);
	json_decref(m->tools);
	free(m->created);
	*m = (struct guest_manifest){ 0 };
}

int guest_set_open(const char *dir, struct guest_set *ret, struct arca_error **err)
{
	*ret = (struct guest_set){ 0 };
	struct guest_manifest m;
	int r = guest_manifest_verify(dir, &m, err);
	if (r < 0)
		return r;
	const char *k = guest_manifest_kernel(&m);
	const char *i = guest_manifest_initramfs(&m);
	if (k && i) {
		ret->kernel = xasprintf("%s/%s", dir, k);
		ret->initramfs = xasprintf("%s/%s", dir, i);
		if (guest_manifest_file(&m, "rootfs.ext4")) {
			ret->rootfs = xasprintf("%s/rootfs.ext4", dir);
			json_t *rf = json_object_get(m.config, "rootfs");
			ret->rootfs_init = json_is_string(json_object_get(rf, "init"));
		}
		snprintf(ret->build_id, sizeof(ret->build_id), "%s", m.build_id);
	} else {
		r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				   "%s has no kernel or no initramfs", dir);
	}
	guest_manifest_done(&m);
	return r;
}

void guest_set_done(struct guest_set *s)
{
	free(s->kernel);
	free(s->initramfs);
	free(s->rootfs);
	*s = (struct guest_set){ 0 };
}
