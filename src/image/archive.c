/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker save / load / import.
 *
 * save writes what Docker 25+ writes: an OCI image layout (oci-layout,
 * index.json, blobs/sha256/...) plus the docker-archive manifest.json and
 * the legacy repositories file, so both `docker load` and OCI tools read it.
 * Layers are written as stored (compressed); docker load detects that.
 *
 * load accepts either form. The archive is hostile: it is extracted with
 * the layer unpacker (same path safety, same limits) into a private
 * directory, and every file is then opened with openat2(RESOLVE_IN_ROOT),
 * so no name or symlink in it can reach outside.
 */
#include "image-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "hashmap.h"
#include "reference.h"
#include "strv.h"
#include "unpack.h"

/* --- save --- */

static int write_entry(struct archive *a, const char *name, const void *data, size_t len,
		       struct arca_error **err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	int k = archive_write_header(a, e);
	archive_entry_free(e);
	if (k != ARCHIVE_OK || (len && archive_write_data(a, data, len) != (la_ssize_t)len))
		return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write `%s`: %s", name,
				      archive_error_string(a));
	return 0;
}

static int write_blob(struct image_store *s, struct archive *a, struct hashmap *written,
		      const char *digest, struct arca_error **err)
{
	if (hashmap_contains(written, digest))
		return 0;
	_cleanup_close_ int fd = blobstore_open_blob(s->blobs, digest, err);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return arca_error_errno(err, errno, "stat blob %s", digest);
	_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", digest + 7);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, st.st_size);
	int k = archive_write_header(a, e);
	archive_entry_free(e);
	if (k != ARCHIVE_OK)
		return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write `%s`: %s", name,
				      archive_error_string(a));
	static __thread char buf[1 << 16];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(a, buf, (size_t)n) != n)
			return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write `%s`: %s", name,
					      archive_error_string(a));
	if (n < 0)
		return arca_error_errno(err, errno, "read blob %s", digest);
	(void)hashmap_put(written, digest, NULL);
	return 0;
}

static int save_one(struct image_store *s, struct archive *a, struct hashmap *written,
		    const char *name, json_t *index, json_t *manifest_json, json_t *repos,
		    struct arca_error **err)
{
	_cleanup_free_ char *id = NULL, *refname = NULL, *mbody = NULL, *mtype = NULL;
	_cleanup_free_ char *cfgpath = NULL;
	struct image_record rec = { 0 };
	size_t mlen;
	int r = image_resolve(s, name, &id, err);
	if (r >= 0)
		r = imagedb_get(s->db, id, &rec, err);
	if (r < 0)
		return r;
	/* Tags travel only when the image was named by one. */
	_cleanup_free_ char *target = NULL;
	bool by_tag = store_ref_name(name, &refname, NULL) >= 0 && !strchr(refname, '@') &&
		      imagedb_lookup_ref(s->db, refname, &target, NULL) == 0 &&
		      strcmp(target, id) == 0;
	r = write_blob(s, a, written, rec.id, err);
	for (size_t i = 0; r >= 0 && i < rec.n_layers; i++)
		r = write_blob(s, a, written, rec.layers[i].blob, err);
	if (r < 0)
		goto out;
	mbody = store_image_manifest(s, &rec, &mlen, &mtype);
	char mdigest[DIGEST_STR_LEN];
	sha256_digest(mbody, mlen, mdigest);
	if (!hashmap_contains(written, mdigest)) {
		_cleanup_free_ char *mname = xasprintf("blobs/sha256/%s", mdigest + 7);
		r = write_entry(a, mname, mbody, mlen, err);
		if (r < 0)
			goto out;
		(void)hashmap_put(written, mdigest, NULL);
	}

	json_t *desc = json_pack("{s:s, s:s, s:I}", "mediaType", mtype, "digest", mdigest, "size",
				 (json_int_t)mlen);
	json_t *layers = json_array();
	for (size_t i = 0; i < rec.n_layers; i++)
		json_array_append_new(layers,
				      json_sprintf("blobs/sha256/%s", rec.layers[i].blob + 7));
	cfgpath = xasprintf("blobs/sha256/%s", rec.id + 7);
	json_t *entry = json_pack("{s:s, s:o, s:o}", "Config", cfgpath, "RepoTags",
				  by_tag ? json_array() : json_null(), "Layers", layers);
	if (by_tag) {
		_cleanup_free_ char *familiar = store_familiar(refname);
		json_array_append_new(json_object_get(entry, "RepoTags"), json_string(familiar));
		json_object_set_new(desc, "annotations",
				    json_pack("{s:s, s:s}", "io.containerd.image.name", refname,
					      "org.opencontainers.image.ref.name",
					      strrchr(refname, ':') + 1));
		_cleanup_free_ char *repo =
		    xstrndup(familiar, (size_t)(strrchr(familiar, ':') - familiar));
		json_t *tags = json_object_get(repos, repo);
		if (!tags) {
			tags = json_object();
			json_object_set_new(repos, repo, tags);
		}
		const char *top = rec.layers[rec.n_layers - 1].diff_id + 7;
		json_object_set_new(tags, strrchr(familiar, ':') + 1, json_string(top));
	}
	json_array_append_new(json_object_get(index, "manifests"), desc);
	json_array_append_new(manifest_json, entry);
out:
	image_record_done(&rec);
	return r;
}

int image_save(struct image_store *s, char *const *names, int out_fd, struct arca_error **err)
{
	struct archive *a = archive_write_new();
	_cleanup_(hashmap_freep) struct hashmap *written = hashmap_new();
	json_t *index = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
				  "manifests");
	json_t *manifest_json = json_array();
	json_t *repos = json_object();
	int r = 0;

	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_fd(a, out_fd) != ARCHIVE_OK)
		r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "save: %s",
				   archive_error_string(a));
	for (size_t i = 0; r >= 0 && names && names[i]; i++)
		r = save_one(s, a, written, names[i], index, manifest_json, repos, err);
	if (r >= 0) {
		static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
		_cleanup_free_ char *ij = json_dumps(index, JSON_COMPACT);
		_cleanup_free_ char *mj = json_dumps(manifest_json, JSON_COMPACT);
		_cleanup_free_ char *rj = json_dumps(repos, JSON_COMPACT);
		r = write_entry(a, "oci-layout", layout, strlen(layout), err);
		if (r >= 0)
			r = write_entry(a, "index.json", ij, strlen(ij), err);
		if (r >= 0)
			r = write_entry(a, "manifest.json", mj, strlen(mj), err);
		if (r >= 0 && json_object_size(repos) > 0)
			r = write_entry(a, "repositories", rj, strlen(rj), err);
	}
	if (archive_write_close(a) != ARCHIVE_OK && r >= 0)
		r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "save: %s",
				   archive_error_string(a));
	archive_write_free(a);
	json_decref(index);
	json_decref(manifest_json);
	json_decref(repos);
	return r;
}

/* --- load and import --- */

/* An archive member, read only once it is known to be a regular file (a FIFO named
 * manifest.json must not hang the load, a device must not be opened). */
static int open_member(int root, const char *path)
{
	char clean[4096];
	if (unpack_clean_path(path, clean, sizeof(clean)) < 0 || !clean[0])
		return -EINVAL;
	return open_regular_in_root(root, clean);
}

static int read_in_root(int root, const char *path, size_t max, char **ret, size_t *ret_len,
			struct arca_error **err)
{
	_cleanup_close_ int fd = open_member(root, path);
	if (fd < 0)
		return arca_error_set(err, -fd, ARCA_ERR_INVALID, "archive member `%s`: %s", path,
				      strerror(-fd));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "archive member `%s` is not a file of at most %zu bytes",
				      path, max);
	char *s = xmalloc((size_t)st.st_size + 1);
	ssize_t n = loop_read(fd, s, (size_t)st.st_size);
	if (n != st.st_size) {
		free(s);
		return arca_error_set(err, EIO, ARCA_ERR_INVALID, "read archive member `%s`", path);
	}
	s[n] = '\0';
	*ret = s;
	*ret_len = (size_t)n;
	return 0;
}

/* Media type of a layer from its first bytes. */
static const char *sniff_layer_type(int fd)
{
	unsigned char m[4] = { 0 };
	if (pread(fd, m, sizeof(m), 0) < 2)
		return MT_OCI_LAYER;
	if (m[0] == 0x1f && m[1] == 0x8b)
		return MT_DOCKER_LAYER_GZIP;
	if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return MT_OCI_LAYER_ZSTD;
	return MT_OCI_LAYER;
}

/* Copies a stream into the blob store (digest computed); fills digest and size. */
static int ingest_fd(struct image_store *s, int fd, char digest[DIGEST_STR_LEN], int64_t *ret_size,
		     struct arca_error **err)
{
	struct blob_writer *w = NULL;
	int r = blob_writer_open(s->blobs, NULL, -1, false, &w, NULL, err);
	if (r < 0)
		return r;
	static __thread char buf[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			blob_writer_abort(w, false);
			return arca_error_errno(err, errno, "read input");
		}
		if (n == 0)
			break;
		r = blob_writer_write(w, buf, (size_t)n, err);
		if (r < 0) {
			blob_writer_abort(w, false);
			return r;
		}
	}
	*ret_size = (int64_t)blob_writer_size(w);
	return blob_writer_commit(w, digest, err);
}

static int ingest_member(struct image_store *s, int root, const char *path, struct image_layer *l,
			 struct arca_error **err)
{
	_cleanup_close_ int fd = open_member(root, path);
	if (fd < 0)
		return arca_error_set(err, -fd, ARCA_ERR_INVALID, "archive member `%s`: %s", path,
				      strerror(-fd));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "archive member `%s` is not a file", path);
	char digest[DIGEST_STR_LEN];
	l->media_type = xstrdup(sniff_layer_type(fd));
	int r = ingest_fd(s, fd, digest, &l->size, err);
	if (r >= 0)
		l->blob = xstrdup(digest);
	return r;
}

void store_layers_free(struct image_layer *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].diff_id);
		free(l[i].blob);
		free(l[i].media_type);
	}
	free(l);
}

int store_finish_image(struct image_store *s, const char *config, size_t config_len,
		       struct image_layer *layers, size_t n, char *const *tags,
		       const char *manifest_digest, bool disk_ready, const char *parent,
		       char **ret_id, struct arca_error **err)
{
	struct image_config cfg = { 0 };
	char id[DIGEST_STR_LEN], chain[DIGEST_STR_LEN];
	_cleanup_free_ char *disk = NULL;
	int r = image_config_parse(config, config_len, &cfg, err);
	if (r < 0)
		return r;
	if (cfg.n_diff_ids != n) {
		r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				   "the config lists %zu layers, the archive %zu", cfg.n_diff_ids,
				   n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		free(layers[i].diff_id);
		layers[i].diff_id = xstrdup(cfg.diff_ids[i]);
	}
	r = blobstore_put(s->blobs, config, config_len, id, err);
	if (r < 0)
		goto out;
	/* No layer at all (a build's FROM scratch with only config steps): no disk either. */
	chain_id(cfg.diff_ids, n, chain);
	disk = n ? store_disk_path(s, chain) : NULL;
	if (n && !disk_ready && (access(disk, R_OK) != 0 || !store_known_tar_sizes(s, layers, n))) {
		r = store_build_disk(s, layers, n, NULL, NULL, err);
		if (r < 0)
			goto out;
	}
	int64_t size = 0;
	for (size_t i = 0; i < n; i++)
		size += layers[i].tar_size;
	struct image_record rec = { .id = id,
				    .parent = (char *)parent,
				    .config = (char *)config,
				    .chain_id = chain,
				    .manifest_digest = (char *)manifest_digest,
				    .size = size,
				    .created = parse_rfc3339(cfg.created),
				    .layers = layers,
				    .n_layers = n };
	r = store_commit_image(s, &rec, tags, NULL, err);
	if (r >= 0 && ret_id)
		*ret_id = xstrdup(id);
out:
	image_config_done(&cfg);
	return r;
}

static void loaded_msg(json_t *out, image_progress_fn progress, void *userdata, const char *text)
{
	json_t *m = json_pack("{s:s}", "stream", text);
	if (progress)
		progress(m, userdata);
	json_array_append_new(out, m);
}

static int load_docker_archive(struct image_store *s, int root, json_t *manifest, json_t *out,
			       image_progress_fn progress, void *userdata, struct arca_error **err)
{
	size_t i;
	json_t *entry;
	if (!json_is_array(manifest) || json_array_size(manifest) > 1024)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid manifest.json");
	json_array_foreach(manifest, i, entry)
	{
		const char *config_path = json_string_value(json_object_get(entry, "Config"));
		json_t *lpaths = json_object_get(entry, "Layers");
		json_t *rtags = json_object_get(entry, "RepoTags");
		if (!config_path || !json_is_array(lpaths) ||
		    json_array_size(lpaths) > MANIFEST_MAX_LAYERS)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid manifest.json entry %zu", i);
		_cleanup_free_ char *config = NULL;
		size_t config_len;
		int r =
		    read_in_root(root, config_path, CONFIG_MAX_BYTES, &config, &config_len, err);
		if (r < 0)
			return r;
		size_t n = json_array_size(lpaths);
		struct image_layer *layers = xnew0(struct image_layer, n ? n : 1);
		for (size_t k = 0; r >= 0 && k < n; k++) {
			const char *lp = json_string_value(json_array_get(lpaths, k));
			r = lp ? ingest_member(s, root, lp, &layers[k], err)
			       : arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						"invalid layer path");
		}
		_cleanup_strv_free_ char **tags = strv_copy(NULL);
		size_t t;
		json_t *tv;
		json_array_foreach(rtags, t, tv)
		{
			_cleanup_free_ char *full = NULL;
			const char *tag = json_string_value(tv);
			if (r >= 0 && tag)
				r = store_ref_name(tag, &full, err);
			if (r >= 0 && full)
				tags = strv_append(tags, full);
		}
		_cleanup_free_ char *id = NULL;
		if (r >= 0)
			r = store_finish_image(s, config, config_len, layers, n, tags, NULL, false,
					       NULL, &id, err);
		store_layers_free(layers, n);
		if (r < 0)
			return r;
		if (!tags[0]) {
			_cleanup_free_ char *m = xasprintf("Loaded image ID: %s\n", id);
			loaded_msg(out, progress, userdata, m);
		}
		for (size_t k = 0; tags[k]; k++) {
			_cleanup_free_ char *f = store_familiar(tags[k]);
			_cleanup_free_ char *m = xasprintf("Loaded image: %s\n", f);
			loaded_msg(out, progress, userdata, m);
		}
	}
	return 0;
}

/*
 * What a load of an OCI layout has walked: indexes nest (at most 4 deep), and
 * each may list the same manifest again; every (digest, name) is loaded once
 * and at most OCI_MAX_MANIFESTS entries are followed, so a fan-out of
 * indexes costs linear time.
 */
#define OCI_MAX_MANIFESTS 1024
struct oci_walk {
	json_t *seen; /* "digest name" -> true */
	size_t followed;
};

static int load_oci_manifest(struct image_store *s, int root, const char *digest, const char *name,
			     json_t *out, image_progress_fn progress, void *userdata, int depth,
			     struct oci_walk *w, struct arca_error **err);

static int load_oci_index(struct image_store *s, int root, json_t *index, json_t *out,
			  image_progress_fn progress, void *userdata, int depth, struct oci_walk *w,
			  struct arca_error **err)
{
	json_t *ms = json_object_get(index, "manifests");
	size_t i;
	json_t *d;
	if (!json_is_array(ms) || depth > 4)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid OCI index");
	json_array_foreach(ms, i, d)
	{
		const char *digest = json_string_value(json_object_get(d, "digest"));
		json_t *ann = json_object_get(d, "annotations");
		const char *name =
		    json_string_value(json_object_get(ann, "io.containerd.image.name"));
		if (!digest || !digest_is_valid(digest))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid OCI index entry");
		_cleanup_free_ char *key = xasprintf("%s %s", digest, name ? name : "");
		if (json_object_get(w->seen, key))
			continue;
		if (++w->followed > OCI_MAX_MANIFESTS)
			return arca_error_set(err, E2BIG, ARCA_ERR_INVALID,
					      "the archive's indexes list more than %d manifests",
					      OCI_MAX_MANIFESTS);
		json_object_set_new(w->seen, key, json_true());
		int r = load_oci_manifest(s, root, digest, name, out, progress, userdata, depth, w,
					  err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_oci_manifest(struct image_store *s, int root, const char *digest, const char *name,
			     json_t *out, image_progress_fn progress, void *userdata, int depth,
			     struct oci_walk *w, struct arca_error **err)
{
	_cleanup_free_ char *path = xasprintf("blobs/sha256/%s", digest + 7);
	_cleanup_free_ char *body = NULL;
	size_t len;
	struct manifest m = { 0 };
	int r = read_in_root(root, path, MANIFEST_MAX_BYTES, &body, &len, err);
	if (r < 0)
		return r;
	char got[DIGEST_STR_LEN];
	sha256_digest(body, len, got);
	if (strcmp(got, digest) != 0)
		return arca_error_set(err, EIO, ARCA_ERR_INVALID,
				      "blob %s in the archive is corrupt", digest);
	r = manifest_parse(body, len, NULL, &m, err);
	if (r < 0)
		return r;
	if (m.kind == MANIFEST_INDEX) {
		json_error_t jerr;
		json_t *j = json_loadb(body, len, 0, &jerr);
		r = load_oci_index(s, root, j, out, progress, userdata, depth + 1, w, err);
		json_decref(j);
		manifest_done(&m);
		return r;
	}
	_cleanup_free_ char *cpath = xasprintf("blobs/sha256/%s", m.config.digest + 7);
	_cleanup_free_ char *config = NULL;
	size_t config_len;
	struct image_layer *layers = xnew0(struct image_layer, m.n_layers ? m.n_layers : 1);
	r = read_in_root(root, cpath, CONFIG_MAX_BYTES, &config, &config_len, err);
	if (r >= 0) {
		/* The config is content-addressed too: what it says is what was signed for. */
		char cgot[DIGEST_STR_LEN];
		sha256_digest(config, config_len, cgot);
		if (strcmp(cgot, m.config.digest) != 0)
			r = arca_error_set(err, EIO, ARCA_ERR_INVALID,
					   "blob %s in the archive is corrupt", m.config.digest);
	}
	for (size_t k = 0; r >= 0 && k < m.n_layers; k++) {
		_cleanup_free_ char *lp = xasprintf("blobs/sha256/%s", m.layers[k].digest + 7);
		r = ingest_member(s, root, lp, &layers[k], err);
		if (r >= 0 && strcmp(layers[k].blob, m.layers[k].digest) != 0)
			r = arca_error_set(err, EIO, ARCA_ERR_INVALID,
					   "blob %s in the archive is corrupt", m.layers[k].digest);
	}
	_cleanup_strv_free_ char **tags = strv_copy(NULL);
	_cleanup_free_ char *full = NULL;
	if (r >= 0 && name && store_ref_name(name, &full, NULL) >= 0)
		tags = strv_append(tags, full);
	_cleanup_free_ char *id = NULL;
	if (r >= 0)
		r = store_finish_image(s, config, config_len, layers, m.n_layers, tags, NULL, false,
				       NULL, &id, err);
	store_layers_free(layers, m.n_layers);
	manifest_done(&m);
	if (r < 0)
		return r;
	_cleanup_free_ char *f = tags[0] ? store_familiar(tags[0]) : NULL;
	_cleanup_free_ char *msg =
	    f ? xasprintf("Loaded image: %s\n", f) : xasprintf("Loaded image ID: %s\n", id);
	loaded_msg(out, progress, userdata, msg);
	return 0;
}

int image_load(struct image_store *s, int in_fd, image_progress_fn progress, void *userdata,
	       json_t **ret, struct arca_error **err)
{
	_cleanup_free_ char *dir = xasprintf("%s/load-XXXXXX", s->staging);
	struct unpack_result res;
	json_t *out = json_array();
	int r;

	if (!mkdtemp(dir)) {
		json_decref(out);
		return arca_error_errno(err, errno, "create load directory");
	}
	/* The archive may come from a pipe: land it in a file first. */
	char digest[DIGEST_STR_LEN];
	int64_t size;
	r = ingest_fd(s, in_fd, digest, &size, err);
	_cleanup_close_ int blob = r >= 0 ? blobstore_open_blob(s->blobs, digest, err) : -EBADF;
	_cleanup_close_ int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r >= 0 && (blob < 0 || root < 0))
		r = blob < 0 ? blob : arca_error_errno(err, errno, "open `%s`", dir);
	/* Devices and FIFOs of the archive are never made: only files are read from it. */
	struct unpack_limits lim = { .max_bytes = UNPACK_DEFAULT_MAX_BYTES,
				     .max_entries = UNPACK_DEFAULT_MAX_ENTRIES,
				     .no_nodes = true };
	if (r >= 0)
		r = unpack_layer(root, blob, &lim, NULL, NULL, &res, err);
	if (r >= 0) {
		_cleanup_free_ char *mj = NULL;
		size_t len;
		_cleanup_error_ struct arca_error *nomj = NULL;
		if (read_in_root(root, "manifest.json", MANIFEST_MAX_BYTES, &mj, &len, &nomj) >=
		    0) {
			json_error_t jerr;
			json_t *m = json_loadb(mj, len, 0, &jerr);
			r = load_docker_archive(s, root, m, out, progress, userdata, err);
			json_decref(m);
		} else {
			_cleanup_free_ char *ij = NULL;
			r = read_in_root(root, "index.json", MANIFEST_MAX_BYTES, &ij, &len, err);
			if (r < 0)
				arca_error_wrap(err, "neither manifest.json nor index.json found");
			json_error_t jerr;
			json_t *j = r >= 0 ? json_loadb(ij, len, 0, &jerr) : NULL;
			struct oci_walk w = { .seen = json_object() };
			if (r >= 0)
				r = load_oci_index(s, root, j, out, progress, userdata, 0, &w, err);
			json_decref(w.seen);
			json_decref(j);
		}
	}
	/* The archive blob itself is not an image part: GC removes it. */
	(void)rm_rf(dir);
	if (r < 0) {
		json_decref(out);
		arca_error_wrap(err, "load");
		(void)image_gc(s, NULL, NULL);
		return r;
	}
	(void)image_gc(s, NULL, NULL);
	*ret = out;
	return 0;
}

char *store_now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
	return xstrdup(buf);
}

int image_import(struct image_store *s, int in_fd, const char *ref, const char *message,
		 json_t *config_changes, char **ret_id, struct arca_error **err)
{
	_cleanup_free_ char *full = NULL, *created = store_now_rfc3339();
	struct image_layer *layer = xnew0(struct image_layer, 1);
	int r = 0;

	if (ref && ref[0])
		r = store_ref_name(ref, &full, err);
	if (r >= 0 && full && strchr(full, '@'))
		r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				   "import needs a tag, not a digest reference");
	char digest[DIGEST_STR_LEN];
	if (r >= 0)
		r = ingest_fd(s, in_fd, digest, &layer->size, err);
	if (r >= 0) {
		layer->blob = xstrdup(digest);
		_cleanup_close_ int fd = blobstore_open_blob(s->blobs, digest, err);
		layer->media_type = xstrdup(fd >= 0 ? sniff_layer_type(fd) : MT_OCI_LAYER);
		/* Unpacking learns the diff ID and builds the disk in one pass. */
		r = fd < 0 ? fd : store_build_disk(s, layer, 1, NULL, NULL, err);
	}
	if (r >= 0) {
		struct platform host;
		platform_host(&host);
		json_t *cfg = json_pack(
		    "{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "architecture",
		    host.arch, "os", "linux", "created", created, "comment",
		    message ? message : "Imported from -", "config",
		    json_is_object(config_changes) ? json_deep_copy(config_changes) : json_object(),
		    "rootfs", "type", "layers", "diff_ids", layer->diff_id, "history", "created",
		    created, "comment", message ? message : "Imported from -");
		platform_done(&host);
		_cleanup_free_ char *text = json_dumps(cfg, JSON_COMPACT);
		json_decref(cfg);
		char *tags[] = { full, NULL };
		/* finish_image builds the disk again from the blob (cached by chain). */
		r = store_finish_image(s, text, strlen(text), layer, 1, full ? tags : NULL, NULL,
				       true, NULL, ret_id, err);
	}
	store_layers_free(layer, 1);
	if (r < 0)
		arca_error_wrap(err, "import");
	return r;
}
