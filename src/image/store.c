/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image store handle: opening (layout, database, lock, leftovers),
 * name resolution, disk building, garbage collection and fsck.
 *
 * Locking: each handle holds a shared flock on <root>/lock while open. GC
 * upgrades its own lock to exclusive without waiting; when another handle is
 * open it skips deleting files (they are collected by a later GC), so a
 * running pull never loses a blob it has just written.
 */
#include "image-internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "ext4.h"
#include "fd-util.h"
#include "hashmap.h"
#include "reference.h"
#include "strv.h"
#include "unpack.h"

char *store_disk_path(const struct image_store *s, const char *chain_id)
{
	return xasprintf("%s/%s.ext4", s->disks, chain_id + 7);
}

/* With nobody else in the store: drop staging trees and ingest files of dead runs. */
static void clean_leftovers(struct image_store *s)
{
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return;
	(void)rm_rf(s->staging);
	(void)mkdir_p(s->staging, 0700);
	/* Dead runs' tmpfs staging for this root: ours only (root's, a directory). */
	DIR *shm = opendir("/dev/shm");
	size_t plen = strlen(s->fast_prefix);
	for (struct dirent *de; shm && (de = readdir(shm));) {
		struct stat st;
		if (strncmp(de->d_name, s->fast_prefix, plen) != 0 ||
		    fstatat(dirfd(shm), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			continue;
		(void)rm_rf_at(dirfd(shm), de->d_name);
	}
	if (shm)
		closedir(shm);
	DIR *d = opendir(blobstore_tmp_dir(s->blobs));
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (strncmp(de->d_name, "ingest-", 7) == 0 || strstr(de->d_name, ".tmp"))
				(void)unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	DIR *dd = opendir(s->disks);
	if (dd) {
		struct dirent *de;
		while ((de = readdir(dd)))
			if (strstr(de->d_name, ".tmp"))
				(void)unlinkat(dirfd(dd), de->d_name, 0);
		closedir(dd);
	}
	(void)flock(s->lock_fd, LOCK_SH);
}

int image_store_open(const char *root, struct image_store **ret, struct arca_error **err)
{
	struct image_store *s = xnew0(struct image_store, 1);
	_cleanup_free_ char *lock = xasprintf("%s/lock", root);
	_cleanup_free_ char *dbpath = xasprintf("%s/arca.db", root);
	s->lock_fd = -EBADF;
	s->root = xstrdup(root);
	s->disks = xasprintf("%s/disks", root);
	s->staging = xasprintf("%s/staging", root);
	/*
	 * Unpacking into tmpfs is about three times faster than into the store's
	 * own file system (measured: 0.97 s against 2.85 s for Debian minbase),
	 * and /dev/shm is nodev, nosuid. It is shared with every local user, so a
	 * handle's directory there is made fresh (mkdtemp: 0700, ours, a name no
	 * one can guess or take first) when first needed; the prefix names the
	 * store root, for the cleanup of dead runs.
	 */
	char id[DIGEST_STR_LEN];
	sha256_digest(root, strlen(root), id);
	s->fast_prefix = xasprintf("arca-staging-%.16s-", id + 7);
	int r = mkdir_p(root, 0700);
	if (r >= 0)
		r = mkdir_p(s->disks, 0700);
	if (r >= 0)
		r = mkdir_p(s->staging, 0700);
	if (r < 0) {
		r = arca_error_errno(err, r, "create image store `%s`", root);
		goto fail;
	}
	s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_SH) < 0) {
		r = arca_error_errno(err, errno, "lock `%s`", lock);
		goto fail;
	}
	r = blobstore_open(root, &s->blobs, err);
	if (r < 0)
		goto fail;
	r = db_open(dbpath, imagedb_migrations, imagedb_n_migrations, &s->db, err);
	if (r < 0)
		goto fail;
	clean_leftovers(s);
	*ret = s;
	return 0;
fail:
	image_store_close(s);
	return r;
}

struct image_store *image_store_close(struct image_store *s)
{
	if (!s)
		return NULL;
	s->db = db_close(s->db);
	s->blobs = blobstore_free(s->blobs);
	safe_close(s->lock_fd);
	free(s->root);
	free(s->disks);
	if (s->fast_staging)
		(void)rm_rf(s->fast_staging);
	free(s->staging);
	free(s->fast_staging);
	free(s->fast_prefix);
	free(s);
	return NULL;
}

struct db *image_store_db(struct image_store *s)
{
	return s->db;
}

char *store_familiar(const char *full_name)
{
	struct image_ref r;
	if (image_ref_parse(full_name, true, &r, NULL) < 0)
		return xstrdup(full_name);
	_cleanup_free_ char *name = image_ref_familiar(&r);
	char *out = r.digest ? xasprintf("%s@%s", name, r.digest)
		    : r.tag  ? xasprintf("%s:%s", name, r.tag)
			     : xstrdup(name);
	image_ref_done(&r);
	return out;
}

int store_ref_name(const char *ref, char **ret, struct arca_error **err)
{
	struct image_ref r;
	int rv = image_ref_parse(ref, false, &r, err);
	if (rv < 0)
		return rv;
	_cleanup_free_ char *name = image_ref_name(&r);
	*ret = r.digest ? xasprintf("%s@%s", name, r.digest) : xasprintf("%s:%s", name, r.tag);
	image_ref_done(&r);
	return 0;
}

static bool is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

int image_resolve(struct image_store *s, const char *name, char **ret_id, struct arca_error **err)
{
	_cleanup_free_ char *id = NULL;

	/* A full ID, with or without its algorithm. */
	if ((digest_is_valid(name) || is_full_hex_id(name))) {
		id = digest_is_valid(name) ? xstrdup(name) : xasprintf("sha256:%s", name);
		if (imagedb_exists(s->db, id)) {
			*ret_id = TAKE_PTR(id);
			return 0;
		}
		return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND, "No such image: %s", name);
	}
	/* A reference that is stored. */
	_cleanup_free_ char *refname = NULL;
	_cleanup_error_ struct arca_error *perr = NULL;
	if (store_ref_name(name, &refname, &perr) >= 0) {
		int r = imagedb_lookup_ref(s->db, refname, &id, err);
		if (r == 0) {
			*ret_id = TAKE_PTR(id);
			return 0;
		}
		if (r != -ENOENT)
			return r;
	}
	/* A short ID: a unique prefix. */
	const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
	if (is_hex(hex) && strlen(hex) <= 64) {
		_cleanup_free_ char *prefix = xasprintf("sha256:%s", hex);
		_cleanup_strv_free_ char **ids = NULL;
		int r = imagedb_find_prefix(s->db, prefix, &ids, err);
		if (r < 0)
			return r;
		if (strv_length(ids) == 1) {
			*ret_id = xstrdup(ids[0]);
			return 0;
		}
		if (strv_length(ids) > 1)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "ambiguous image ID `%s`: it matches %zu images",
					      name, strv_length(ids));
	}
	if (perr && !is_hex(hex))
		return arca_error_set(err, perr->code, perr->kind, "%s", perr->msg);
	return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND, "No such image: %s", name);
}

int64_t parse_rfc3339(const char *str)
{
	struct tm tm = { 0 };
	if (!str)
		return 0;
	const char *p = strptime(str, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	int64_t t = (int64_t)timegm(&tm);
	while (*p == '.' || isdigit((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%d:%d", &hh, &mm) == 2)
			t -= (*p == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
	}
	return t;
}

json_t *progress_msg(const char *status, const char *id)
{
	json_t *m = json_pack("{s:s}", "status", status);
	if (id)
		json_object_set_new(m, "id", json_string(id));
	return m;
}

bool store_known_tar_sizes(struct image_store *s, struct image_layer *layers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_stmt_ sqlite3_stmt *q = NULL;
		if (db_prepare(s->db, "SELECT tar_size FROM image_layers WHERE diff_id = ? LIMIT 1",
			       &q, NULL) < 0)
			return false;
		sqlite3_bind_text(q, 1, layers[i].diff_id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_ROW)
			return false;
		layers[i].tar_size = sqlite3_column_int64(q, 0);
	}
	return true;
}

char *store_image_manifest(struct image_store *s, const struct image_record *rec, size_t *len,
			   char **type)
{
	if (rec->manifest_digest) {
		char *body = NULL;
		struct manifest m = { 0 };
		if (blobstore_read(s->blobs, rec->manifest_digest, MANIFEST_MAX_BYTES, &body, len,
				   NULL) >= 0 &&
		    manifest_parse(body, *len, NULL, &m, NULL) >= 0 && m.kind == MANIFEST_IMAGE) {
			*type = xstrdup(m.media_type);
			manifest_done(&m);
			return body;
		}
		manifest_done(&m);
		free(body);
	}
	json_t *layers = json_array();
	for (size_t i = 0; i < rec->n_layers; i++)
		json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType",
							rec->layers[i].media_type, "digest",
							rec->layers[i].blob, "size",
							(json_int_t)rec->layers[i].size));
	json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
			      MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest",
			      rec->id, "size", (json_int_t)strlen(rec->config), "layers", layers);
	char *body = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	*len = strlen(body);
	*type = xstrdup(MT_OCI_MANIFEST);
	return body;
}

struct unpack_progress {
	layer_progress_fn cb;
	void *userdata;
	size_t index;
	uint64_t total;
};

static void on_unpack_progress(uint64_t done, void *userdata)
{
	struct unpack_progress *p = userdata;
	if (p->cb)
		p->cb(p->index, done, p->total, false, p->userdata);
}

/* MemAvailable from /proc/meminfo, in bytes (0 if unknown). */
static uint64_t mem_available(void)
{
	_cleanup_free_ char *info = NULL;
	if (read_file_at(AT_FDCWD, "/proc/meminfo", 64 * 1024, &info, NULL) < 0)
		return 0;
	const char *p = strstr(info, "MemAvailable:");
	return p ? strtoull(p + 13, NULL, 10) * 1024 : 0;
}

/* tmpfs staging when the tree (estimated at 5x the compressed layers) fits in a quarter of free
 * memory. */
static const char *staging_for(struct image_store *s, const struct image_layer *layers, size_t n)
{
	uint64_t estimate = 64ULL << 20;
	for (size_t i = 0; i < n; i++)
		estimate += (uint64_t)MAX(layers[i].size, 0) * 5;
	if (estimate >= mem_available() / 4 || access("/dev/shm", W_OK) != 0)
		return s->staging;
	if (!s->fast_staging) {
		char *dir = xasprintf("/dev/shm/%sXXXXXX", s->fast_prefix);
		if (!mkdtemp(dir)) {
			free(dir);
			return s->staging;
		}
		s->fast_staging = dir;
	}
	return s->fast_staging;
}

/*
 * What a layer may still expand to in the staging tree: its file system's
 * free space, less a reserve (a small zstd bomb must not fill /dev/shm or
 * the store's disk), within the unpacker's own bound.
 */
static uint64_t staging_room(int tree_fd)
{
	struct statvfs v;
	if (fstatvfs(tree_fd, &v) < 0)
		return UNPACK_DEFAULT_MAX_BYTES;
	uint64_t avail = (uint64_t)v.f_bavail * v.f_frsize, reserve = 64ULL << 20;
	return MIN(avail > reserve ? avail - reserve : 0, UNPACK_DEFAULT_MAX_BYTES);
}

static int build_disk_in(struct image_store *s, const char *staging, struct image_layer *layers,
			 size_t n, layer_progress_fn progress, void *userdata,
			 struct arca_error **err);

int store_build_disk(struct image_store *s, struct image_layer *layers, size_t n,
		     layer_progress_fn progress, void *userdata, struct arca_error **err)
{
	const char *staging = staging_for(s, layers, n);
	_cleanup_error_ struct arca_error *fast_err = NULL;
	if (staging == s->staging)
		return build_disk_in(s, staging, layers, n, progress, userdata, err);
	/* tmpfs was guessed from the compressed size: a tree larger than it has room
	 * for is built again on the store's disk. */
	int r = build_disk_in(s, staging, layers, n, progress, userdata, &fast_err);
	if (r != -EFBIG) {
		if (r < 0 && fast_err)
			arca_error_set(err, fast_err->code, fast_err->kind, "%s", fast_err->msg);
		return r;
	}
	return build_disk_in(s, s->staging, layers, n, progress, userdata, err);
}

static int build_disk_in(struct image_store *s, const char *staging, struct image_layer *layers,
			 size_t n, layer_progress_fn progress, void *userdata,
			 struct arca_error **err)
{
	_cleanup_free_ char *tree = xasprintf("%s/tree-XXXXXX", staging);
	_cleanup_free_ char *disk = NULL;
	_cleanup_strv_free_ char **diff_ids = strv_copy(NULL);
	char chain[DIGEST_STR_LEN];
	int r;

	if (!mkdtemp(tree))
		return arca_error_errno(err, errno, "create staging tree");
	_cleanup_close_ int root = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0 || fchmod(root, 0755) < 0) {
		r = arca_error_errno(err, errno, "open staging tree");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct unpack_result res;
		struct unpack_progress up = { progress, userdata, i, (uint64_t)layers[i].size };
		_cleanup_close_ int fd = blobstore_open_blob(s->blobs, layers[i].blob, err);
		if (fd < 0) {
			r = fd;
			goto out;
		}
		struct unpack_limits lim = {
			.max_bytes = staging_room(root),
			.max_entries = UNPACK_DEFAULT_MAX_ENTRIES,
			.compression = unpack_compression_of(layers[i].media_type),
		};
		r = unpack_layer(root, fd, &lim, on_unpack_progress, &up, &res, err);
		if (r < 0) {
			arca_error_wrap(err, "layer %s", layers[i].blob);
			goto out;
		}
		if (layers[i].diff_id && strcmp(layers[i].diff_id, res.diff_id) != 0) {
			r = arca_error_set(err, EIO, ARCA_ERR_INVALID,
					   "layer %s: diff ID mismatch: the config says %s, the "
					   "content is %s",
					   layers[i].blob, layers[i].diff_id, res.diff_id);
			goto out;
		}
		if (!layers[i].diff_id)
			layers[i].diff_id = xstrdup(res.diff_id);
		layers[i].tar_size = (int64_t)res.tar_size;
		if (progress)
			progress(i, (uint64_t)layers[i].size, (uint64_t)layers[i].size, true,
				 userdata);
	}
	for (size_t i = 0; i < n; i++)
		diff_ids = strv_append(diff_ids, layers[i].diff_id);
	chain_id(diff_ids, n, chain);
	disk = store_disk_path(s, chain);
	if (access(disk, F_OK) == 0) {
		r = 0; /* another pull of the same chain finished first */
		goto out;
	}
	r = ext4_build_image(tree, disk, chain + 7, NULL, err);
out:
	(void)rm_rf(tree);
	return r;
}

int store_commit_image(struct image_store *s, const struct image_record *rec, char *const *tags,
		       char *const *digests, struct arca_error **err)
{
	int r = db_begin(s->db, err);
	if (r < 0)
		return r;
	r = imagedb_put(s->db, rec, err);
	for (size_t i = 0; r >= 0 && tags && tags[i]; i++)
		r = imagedb_set_ref(s->db, tags[i], rec->id, IMAGE_REF_TAG, err);
	for (size_t i = 0; r >= 0 && digests && digests[i]; i++)
		r = imagedb_set_ref(s->db, digests[i], rec->id, IMAGE_REF_DIGEST, err);
	if (r >= 0)
		r = db_commit(s->db, err);
	if (r < 0)
		db_rollback(s->db);
	return r;
}

int image_disk(struct image_store *s, const char *id, char **ret_path, struct arca_error **err)
{
	struct image_record rec = { 0 };
	int r = imagedb_get(s->db, id, &rec, err);
	if (r < 0)
		return r;
	char *path = store_disk_path(s, rec.chain_id);
	if (access(path, R_OK) != 0) {
		/* Collected or lost: build it again from the blobs. */
		r = rec.n_layers == 0
			? arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "image %s has no layers",
					 id)
			: store_build_disk(s, rec.layers, rec.n_layers, NULL, NULL, err);
		if (r < 0) {
			free(path);
			image_record_done(&rec);
			return r;
		}
	}
	image_record_done(&rec);
	*ret_path = path;
	return 0;
}

int image_config(struct image_store *s, const char *id, json_t **ret, struct arca_error **err)
{
	struct image_record rec = { 0 };
	int r = imagedb_get(s->db, id, &rec, err);
	if (r < 0)
		return r;
	json_error_t jerr;
	json_t *cfg = json_loads(rec.config, 0, &jerr);
	image_record_done(&rec);
	json_t *c = json_object_get(cfg, "config");
	*ret = json_is_object(c) ? json_incref(c) : json_object();
	json_decref(cfg);
	return 0;
}

struct gc_ctx {
	struct image_store *s;
	struct hashmap *keep;
	uint64_t reclaimed;
};

static int gc_blob(const char *digest, void *userdata)
{
	struct gc_ctx *g = userdata;
	if (hashmap_contains(g->keep, digest))
		return 0;
	_cleanup_free_ char *p = blobstore_path(g->s->blobs, digest);
	struct stat st;
	if (stat(p, &st) == 0)
		g->reclaimed += (uint64_t)st.st_size;
	(void)blobstore_remove(g->s->blobs, digest);
	return 0;
}

int image_gc(struct image_store *s, uint64_t *ret_reclaimed, struct arca_error **err)
{
	_cleanup_(hashmap_freep) struct hashmap *blobs = hashmap_new();
	_cleanup_(hashmap_freep) struct hashmap *chains = hashmap_new();
	struct gc_ctx g = { .s = s, .keep = blobs };

	if (ret_reclaimed)
		*ret_reclaimed = 0;
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return 0; /* someone else is in the store: collect later */
	int r = imagedb_references(s->db, blobs, chains, err);
	if (r >= 0)
		r = blobstore_foreach(s->blobs, gc_blob, &g);
	DIR *d = r >= 0 ? opendir(s->disks) : NULL;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			size_t len = strlen(de->d_name);
			if (len != 64 + 5 || strcmp(de->d_name + 64, ".ext4") != 0)
				continue;
			char chain[DIGEST_STR_LEN];
			snprintf(chain, sizeof(chain), "sha256:%.64s", de->d_name);
			if (hashmap_contains(chains, chain))
				continue;
			struct stat st;
			if (fstatat(dirfd(d), de->d_name, &st, 0) == 0)
				g.reclaimed += (uint64_t)st.st_blocks * 512;
			(void)unlinkat(dirfd(d), de->d_name, 0);
		}
		closedir(d);
	}
	(void)flock(s->lock_fd, LOCK_SH);
	if (ret_reclaimed)
		*ret_reclaimed = g.reclaimed;
	return r < 0 ? r : 0;
}

struct fsck_ctx {
	struct image_store *s;
	json_t *problems;
};

static int fsck_blob(const char *digest, void *userdata)
{
	struct fsck_ctx *f = userdata;
	_cleanup_error_ struct arca_error *e = NULL;
	if (blobstore_verify(f->s->blobs, digest, &e) < 0)
		json_array_append_new(f->problems, json_string(e->msg));
	return 0;
}

int image_fsck(struct image_store *s, json_t **ret, struct arca_error **err)
{
	struct fsck_ctx f = { .s = s, .problems = json_array() };
	_cleanup_strv_free_ char **ids = NULL;
	int r = blobstore_foreach(s->blobs, fsck_blob, &f);
	if (r >= 0)
		r = imagedb_list(s->db, &ids, err);
	for (size_t i = 0; r >= 0 && ids[i]; i++) {
		struct image_record rec = { 0 };
		if (imagedb_get(s->db, ids[i], &rec, err) < 0)
			break;
		if (!blobstore_has(s->blobs, rec.id))
			json_array_append_new(
			    f.problems, json_sprintf("image %s: config blob missing", rec.id));
		for (size_t k = 0; k < rec.n_layers; k++)
			if (!blobstore_has(s->blobs, rec.layers[k].blob))
				json_array_append_new(
				    f.problems, json_sprintf("image %s: layer blob %s missing",
							     rec.id, rec.layers[k].blob));
		_cleanup_free_ char *disk = store_disk_path(s, rec.chain_id);
		if (access(disk, R_OK) != 0)
			json_array_append_new(
			    f.problems, json_sprintf("image %s: disk %s missing", rec.id, disk));
		image_record_done(&rec);
	}
	DIR *d = opendir(blobstore_tmp_dir(s->blobs));
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				json_array_append_new(
				    f.problems,
				    json_sprintf("leftover temporary file tmp/%s", de->d_name));
		closedir(d);
	}
	if (r < 0) {
		json_decref(f.problems);
		return r;
	}
	*ret = f.problems;
	return 0;
}
