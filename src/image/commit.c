/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker commit: a container's writable layer as a new image on top of its
 * image. The input is a tar of the overlay's upper directory, where a
 * deletion is a 0/0 character device (overlayfs' whiteout); the layer
 * stored is a plain OCI layer where it is a ".wh.<name>" file. The tar is
 * converted while it streams into the blob store, never held in memory.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "image-internal.h"
#include "reference.h"

struct sink {
	struct blob_writer *w;
	struct arca_error **err;
	int error;
};

static la_ssize_t sink_write(struct archive *a, void *userdata, const void *p, size_t n)
{
	struct sink *k = userdata;
	(void)a;
	if (blob_writer_write(k->w, p, n, k->err) < 0) {
		k->error = -EIO;
		return -1;
	}
	return (la_ssize_t)n;
}

/* "./a/b" -> "a/b"; NULL for the root itself. */
static const char *layer_path(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (*p == '/')
		p++;
	return *p && strcmp(p, ".") != 0 ? p : NULL;
}

static bool excluded(const char *const *exclude, const char *path, struct archive_entry *e)
{
	bool dir = archive_entry_filetype(e) == AE_IFDIR;
	bool empty = (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) == 0) ||
		     archive_entry_filetype(e) == AE_IFLNK;
	for (const char *const *x = exclude; x && *x; x++)
		if (strcmp(*x, path) == 0 && (dir || empty))
			return true;
	return false;
}

int commit_convert(struct archive *in, struct archive *out, const char *const *exclude,
		   uint64_t *ret_entries, struct arca_error **err)
{
	struct archive_entry *e;
	int r;
	static __thread char buf[1 << 16];
	while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		const char *path = layer_path(archive_entry_pathname(e));
		if (!path || excluded(exclude, path, e))
			continue;
		_cleanup_free_ char *name = xstrdup(path);
		if (archive_entry_filetype(e) == AE_IFCHR && archive_entry_rdev(e) == 0) {
			/* A whiteout: the OCI form is an empty ".wh." file beside it. */
			char *slash = strrchr(name, '/');
			char *wh =
			    slash ? xasprintf("%.*s/.wh.%s", (int)(slash - name), name, slash + 1)
				  : xasprintf(".wh.%s", name);
			free(name);
			name = wh;
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_rdev(e, 0);
			archive_entry_set_size(e, 0);
		}
		archive_entry_set_pathname(e, name);
		const char *hl = archive_entry_hardlink(e);
		if (hl) {
			const char *clean = layer_path(hl);
			_cleanup_free_ char *h = xstrdup(clean ? clean : ".");
			archive_entry_set_hardlink(e, h);
		}
		if (archive_write_header(out, e) != ARCHIVE_OK)
			return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write layer: %s",
					      archive_error_string(out));
		(*ret_entries)++;
		la_ssize_t n;
		while ((n = archive_read_data(in, buf, sizeof(buf))) > 0)
			if (archive_write_data(out, buf, (size_t)n) != n)
				return arca_error_set(err, EIO, ARCA_ERR_INTERNAL,
						      "write layer: %s", archive_error_string(out));
		if (n < 0)
			return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "read the changes: %s",
					      archive_error_string(in));
	}
	if (r != ARCHIVE_EOF)
		return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "read the changes: %s",
				      archive_error_string(in));
	return 0;
}

/* The changes tar -> an uncompressed OCI layer blob; its digest is its diff ID. */
static int store_layer(struct image_store *s, int fd, const char *const *exclude,
		       char digest[DIGEST_STR_LEN], int64_t *ret_size, uint64_t *ret_entries,
		       struct arca_error **err)
{
	struct sink k = { .err = err };
	int r = blob_writer_open(s->blobs, NULL, -1, false, &k.w, NULL, err);
	if (r < 0)
		return r;
	struct archive *in = archive_read_new(), *out = archive_write_new();
	if (!in || !out) {
		r = arca_error_set(err, ENOMEM, ARCA_ERR_INTERNAL, "libarchive: out of memory");
		goto done;
	}
	archive_read_support_format_tar(in);
	archive_write_set_format_pax_restricted(out);
	archive_write_set_bytes_in_last_block(out, 1);
	if (archive_read_open_fd(in, fd, 1 << 16) != ARCHIVE_OK) {
		r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "read the changes: %s",
				   archive_error_string(in));
		goto done;
	}
	if (archive_write_open(out, &k, NULL, sink_write, NULL) != ARCHIVE_OK) {
		r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write layer: %s",
				   archive_error_string(out));
		goto done;
	}
	r = commit_convert(in, out, exclude, ret_entries, err);
	if (r >= 0 && archive_write_close(out) != ARCHIVE_OK)
		r = k.error ? k.error
			    : arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "write layer: %s",
					     archive_error_string(out));
done:
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	if (r < 0) {
		blob_writer_abort(k.w, false);
		return r;
	}
	*ret_size = (int64_t)blob_writer_size(k.w);
	return blob_writer_commit(k.w, digest, err);
}

/* The base image's config with the new layer, config and history entry. */
/* diff_id NULL: no new layer, an empty_layer history entry. */
static char *new_config(const char *base, const struct image_commit_opts *o, const char *diff_id,
			struct arca_error **err)
{
	json_t *cfg = json_loads(base, 0, NULL);
	if (!json_is_object(cfg)) {
		json_decref(cfg);
		arca_error_set(err, EINVAL, ARCA_ERR_INTERNAL,
			       "the base image's config is invalid");
		return NULL;
	}
	_cleanup_free_ char *created = store_now_rfc3339();
	json_object_set_new(cfg, "created", json_string(created));
	json_object_set_new(cfg, "config",
			    json_is_object(o->config) ? json_deep_copy(o->config) : json_object());
	if (o->container_id)
		json_object_set_new(cfg, "container", json_string(o->container_id));
	json_object_del(cfg, "container_config");
	json_t *hist = json_pack("{s:s}", "created", created);
	if (o->author && o->author[0]) {
		json_object_set_new(cfg, "author", json_string(o->author));
		json_object_set_new(hist, "author", json_string(o->author));
	}
	if (o->comment && o->comment[0]) {
		json_object_set_new(cfg, "comment", json_string(o->comment));
		json_object_set_new(hist, "comment", json_string(o->comment));
	} else {
		json_object_del(cfg, "comment");
	}
	if (o->created_by)
		json_object_set_new(hist, "created_by", json_string(o->created_by));
	json_t *rootfs = json_object_get(cfg, "rootfs");
	json_t *ids = json_object_get(rootfs, "diff_ids");
	if (!diff_id)
		json_object_set_new(hist, "empty_layer", json_true());
	if (!json_is_array(ids)) {
		json_decref(hist);
		json_decref(cfg);
		arca_error_set(err, EINVAL, ARCA_ERR_INTERNAL, "the base image has no layers");
		return NULL;
	}
	if (diff_id)
		json_array_append_new(ids, json_string(diff_id));
	json_t *history = json_object_get(cfg, "history");
	if (!json_is_array(history)) {
		history = json_array();
		json_object_set_new(cfg, "history", history);
	}
	json_array_append_new(history, hist);
	char *text = json_dumps(cfg, JSON_COMPACT);
	json_decref(cfg);
	return text;
}

int image_commit(struct image_store *s, const struct image_commit_opts *o, int changes_fd,
		 char **ret_id, struct arca_error **err)
{
	struct image_record base = { 0 };
	_cleanup_free_ char *full = NULL, *config = NULL;
	struct image_layer *layers = NULL;
	size_t n = 0;
	int r = 0;
	if (o->ref && o->ref[0]) {
		r = store_ref_name(o->ref, &full, err);
		if (r >= 0 && strchr(full, '@'))
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					   "refusing to create a tag with a digest reference");
	}
	if (r >= 0 && o->base_id) {
		r = imagedb_get(s->db, o->base_id, &base, err);
	} else if (r >= 0) {
		/* FROM scratch: no layer, no history yet. */
		struct platform host;
		platform_host(&host);
		json_t *b =
		    json_pack("{s:s, s:s, s:{s:s, s:[]}, s:[]}", "architecture", host.arch, "os",
			      "linux", "rootfs", "type", "layers", "diff_ids", "history");
		base.config = json_dumps(b, JSON_COMPACT);
		json_decref(b);
		platform_done(&host);
	}
	char digest[DIGEST_STR_LEN];
	int64_t size = 0;
	uint64_t entries = 0;
	if (r >= 0 && changes_fd >= 0)
		r = store_layer(s, changes_fd, o->exclude, digest, &size, &entries, err);
	/* Nothing changed (or a config-only step): no layer, as dockerd records it. */
	bool layer = changes_fd >= 0 && entries > 0;
	if (r >= 0) {
		n = base.n_layers + (layer ? 1 : 0);
		layers = xnew0(struct image_layer, n);
		for (size_t i = 0; i < base.n_layers; i++) {
			layers[i].blob = xstrdup(base.layers[i].blob);
			layers[i].media_type = xstrdup(base.layers[i].media_type);
			layers[i].size = base.layers[i].size;
			layers[i].tar_size = base.layers[i].tar_size;
		}
		if (layer) {
			layers[n - 1].blob = xstrdup(digest);
			layers[n - 1].media_type = xstrdup(MT_OCI_LAYER);
			layers[n - 1].size = size;
			layers[n - 1].tar_size = size; /* stored uncompressed */
		}
		config = new_config(base.config, o, layer ? digest : NULL, err);
		if (!config)
			r = -EINVAL;
	}
	if (r >= 0) {
		char *tags[] = { full, NULL };
		r = store_finish_image(s, config, strlen(config), layers, n, full ? tags : NULL,
				       NULL, o->lazy_disk, o->base_id, ret_id, err);
	}
	if (r >= 0 && o->cache_probe)
		r = imagedb_cache_put(s->db, o->base_id ? o->base_id : "", o->cache_probe, *ret_id,
				      err);
	store_layers_free(layers, n);
	image_record_done(&base);
	if (r < 0)
		arca_error_wrap(err, "commit");
	return r;
}

int image_cache_get(struct image_store *s, const char *parent, const char *probe, char **ret_id,
		    struct arca_error **err)
{
	_cleanup_free_ char *id = NULL;
	int r = imagedb_cache_get(s->db, parent, probe, &id, err);
	if (r <= 0)
		return r;
	if (!imagedb_exists(s->db, id))
		return 0;
	*ret_id = TAKE_PTR(id);
	return 1;
}

/* An image's config JSON, or FROM scratch's when id is NULL. */
static json_t *config_of(struct image_store *s, const char *id, struct image_record *rec)
{
	if (!id)
		return json_pack("{s:{s:s, s:[]}, s:[]}", "rootfs", "type", "layers", "diff_ids",
				 "history");
	if (imagedb_get(s->db, id, rec, NULL) < 0)
		return NULL;
	return json_loads(rec->config, 0, NULL);
}

int image_cache_from(struct image_store *s, const char *parent, const char *source,
		     const char *created_by, json_t *config, const char *probe, char **ret_id,
		     struct arca_error **err)
{
	(void)err; /* a source that does not fit is a miss, never an error */
	struct image_record prec = { 0 }, srec = { 0 };
	json_t *pcfg = config_of(s, parent, &prec);
	json_t *scfg = config_of(s, source, &srec);
	json_t *ph = json_object_get(pcfg, "history"), *sh = json_object_get(scfg, "history");
	json_t *pd = json_object_get(json_object_get(pcfg, "rootfs"), "diff_ids");
	json_t *sd = json_object_get(json_object_get(scfg, "rootfs"), "diff_ids");
	size_t np = json_array_size(ph), nd = json_array_size(pd);
	/* dockerd's isValidParent: source's history and layers begin with parent's. */
	bool valid = pcfg && scfg && json_array_size(sh) > np && json_array_size(sd) >= nd;
	for (size_t i = 0; valid && i < np; i++)
		valid = json_equal(json_array_get(ph, i), json_array_get(sh, i));
	for (size_t i = 0; valid && i < nd; i++)
		valid = json_equal(json_array_get(pd, i), json_array_get(sd, i));
	json_t *next = valid ? json_array_get(sh, np) : NULL;
	const char *by = json_string_value(json_object_get(next, "created_by"));
	bool empty = json_is_true(json_object_get(next, "empty_layer"));
	int r = 0;
	if (!by || strcmp(by, created_by) != 0 || (!empty && json_array_size(sd) <= nd)) {
		r = 0; /* not this step */
	} else if (np + 1 == json_array_size(sh)) {
		/* The step is source's last: source itself. */
		*ret_id = xstrdup(srec.id);
		r = 1;
	} else {
		/* dockerd's restoreCachedImage: parent + that entry and its layer, the step's
		 * config. */
		json_t *cfg = json_deep_copy(pcfg);
		json_object_set_new(cfg, "config", json_deep_copy(config));
		json_object_set(cfg, "created", json_object_get(next, "created"));
		json_t *author = json_object_get(next, "author");
		if (author)
			json_object_set(cfg, "author", author);
		json_array_append(json_object_get(cfg, "history"), next);
		size_t n = prec.n_layers + (empty ? 0 : 1);
		struct image_layer *layers = xnew0(struct image_layer, n ? n : 1);
		for (size_t i = 0; i < prec.n_layers; i++) {
			layers[i].blob = xstrdup(prec.layers[i].blob);
			layers[i].media_type = xstrdup(prec.layers[i].media_type);
			layers[i].size = prec.layers[i].size;
			layers[i].tar_size = prec.layers[i].tar_size;
		}
		if (!empty) {
			const struct image_layer *l = nd < srec.n_layers ? &srec.layers[nd] : NULL;
			if (!l) {
				r = -EINVAL;
			} else {
				json_array_append(
				    json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"),
				    json_array_get(sd, nd));
				layers[n - 1].blob = xstrdup(l->blob);
				layers[n - 1].media_type = xstrdup(l->media_type);
				layers[n - 1].size = l->size;
				layers[n - 1].tar_size = l->tar_size;
			}
		}
		_cleanup_free_ char *text = r < 0 ? NULL : json_dumps(cfg, JSON_COMPACT);
		if (text)
			r = store_finish_image(s, text, strlen(text), layers, n, NULL, NULL, true,
					       parent, ret_id, NULL);
		r = r < 0 ? 0 : 1;
		store_layers_free(layers, n);
		json_decref(cfg);
	}
	if (r > 0 && probe)
		(void)imagedb_cache_put(s->db, parent ? parent : "", probe, *ret_id, NULL);
	json_decref(pcfg);
	json_decref(scfg);
	if (parent)
		image_record_done(&prec);
	if (source)
		image_record_done(&srec);
	return r;
}
