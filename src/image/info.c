/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Read-only views in Docker's JSON shapes (Engine API v1.51): ImageSummary
 * for list, ImageInspect for inspect, HistoryResponseItem for history.
 */
#include "image-internal.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "cleanup.h"
#include "reference.h"
#include "strv.h"

static json_t *familiar_array(char *const *names)
{
	json_t *a = json_array();
	for (size_t i = 0; names && names[i]; i++) {
		_cleanup_free_ char *f = store_familiar(names[i]);
		json_array_append_new(a, json_string(f));
	}
	return a;
}

static json_t *load_config(const struct image_record *rec)
{
	json_error_t jerr;
	json_t *c = json_loads(rec->config, JSON_REJECT_DUPLICATES, &jerr);
	return json_is_object(c) ? c : (json_decref(c), json_object());
}

static json_t *labels_of(json_t *cfg)
{
	json_t *l = json_object_get(json_object_get(cfg, "config"), "Labels");
	return json_is_object(l) ? json_deep_copy(l) : json_object();
}

static json_t *summary(const struct image_record *rec)
{
	json_t *cfg = load_config(rec);
	json_t *o =
	    json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:o, s:I}", "Id", rec->id, "ParentId",
		      rec->parent ? rec->parent : "", "RepoTags", familiar_array(rec->tags),
		      "RepoDigests", familiar_array(rec->digests), "Created",
		      (json_int_t)rec->created, "Size", (json_int_t)rec->size, "SharedSize",
		      (json_int_t)-1, "Labels", labels_of(cfg), "Containers", (json_int_t)-1);
	json_decref(cfg);
	return o;
}

/* Docker's list filters: dangling, reference (glob on familiar names), label, before, since. */
static bool matches(struct image_store *s, const struct image_record *rec, json_t *filters)
{
	const char *key;
	json_t *vals;
	json_object_foreach(filters, key, vals)
	{
		size_t i;
		json_t *v;
		bool any = json_array_size(vals) == 0;
		json_array_foreach(vals, i, v)
		{
			const char *want = json_string_value(v);
			if (!want)
				continue;
			if (strcmp(key, "dangling") == 0) {
				bool dangling = !rec->tags || !rec->tags[0];
				any |= (strcmp(want, "true") == 0) == dangling;
			} else if (strcmp(key, "reference") == 0) {
				for (size_t t = 0; rec->tags && rec->tags[t]; t++) {
					_cleanup_free_ char *f = store_familiar(rec->tags[t]);
					_cleanup_free_ char *repo = xstrndup(f, strcspn(f, ":"));
					any |= fnmatch(want, f, FNM_PATHNAME) == 0 ||
					       fnmatch(want, repo, FNM_PATHNAME) == 0;
				}
			} else if (strcmp(key, "label") == 0) {
				json_t *cfg = load_config(rec);
				json_t *labels = labels_of(cfg);
				_cleanup_free_ char *k = xstrndup(want, strcspn(want, "="));
				const char *eq = strchr(want, '=');
				const char *val = json_string_value(json_object_get(labels, k));
				any |= val && (!eq || strcmp(val, eq + 1) == 0);
				json_decref(labels);
				json_decref(cfg);
			} else if (strcmp(key, "before") == 0 || strcmp(key, "since") == 0) {
				_cleanup_free_ char *other = NULL;
				struct image_record orec = { 0 };
				if (image_resolve(s, want, &other, NULL) < 0 ||
				    imagedb_get(s->db, other, &orec, NULL) < 0)
					continue;
				any |= strcmp(key, "before") == 0 ? rec->created < orec.created
								  : rec->created > orec.created;
				image_record_done(&orec);
			} else {
				any = true; /* unknown filters are rejected by the caller */
			}
		}
		if (!any)
			return false;
	}
	return true;
}

int image_list(struct image_store *s, const struct image_list_opts *o, json_t **ret,
	       struct arca_error **err)
{
	_cleanup_strv_free_ char **ids = NULL;
	json_t *filters = o ? o->filters : NULL;
	const char *key;
	json_t *vals;
	json_object_foreach(filters, key, vals)
	{
		static const char *const known[] = { "dangling", "reference", "label", "before",
						     "since" };
		bool ok = json_is_array(vals);
		bool found = false;
		for (size_t i = 0; i < ELEMENTSOF(known); i++)
			found |= strcmp(key, known[i]) == 0;
		if (!ok || !found)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid filter '%s'",
					      key);
	}
	int r = imagedb_list(s->db, &ids, err);
	if (r < 0)
		return r;
	json_t *out = json_array();
	for (size_t i = 0; ids[i]; i++) {
		struct image_record rec = { 0 };
		if (imagedb_get(s->db, ids[i], &rec, NULL) < 0)
			continue; /* removed meanwhile */
		/* As dockerd: an untagged image other images were built on (a build's
		 * intermediate step) shows only with all, and is never dangling. */
		_cleanup_strv_free_ char **kids = NULL;
		bool hidden = !rec.tags[0] && !rec.digests[0] &&
			      imagedb_children(s->db, rec.id, &kids, NULL) >= 0 && kids[0] &&
			      (!(o && o->all) || json_object_get(filters, "dangling"));
		if (!hidden && (!filters || matches(s, &rec, filters)))
			json_array_append_new(out, summary(&rec));
		image_record_done(&rec);
	}
	*ret = out;
	return 0;
}

static const char *str_of(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

static int get_image(struct image_store *s, const char *name, struct image_record *ret,
		     struct arca_error **err)
{
	_cleanup_free_ char *id = NULL;
	int r = image_resolve(s, name, &id, err);
	return r < 0 ? r : imagedb_get(s->db, id, ret, err);
}

static char *rfc3339(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	char buf[64];
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(buf);
}

int image_inspect(struct image_store *s, const char *name, json_t **ret, struct arca_error **err)
{
	struct image_record rec = { 0 };
	int r = get_image(s, name, &rec, err);
	if (r < 0)
		return r;
	json_t *cfg = load_config(&rec);
	json_t *layers = json_array();
	for (size_t i = 0; i < rec.n_layers; i++)
		json_array_append_new(layers, json_string(rec.layers[i].diff_id));
	const char *created = json_string_value(json_object_get(cfg, "created"));
	_cleanup_free_ char *created_fallback = rfc3339(rec.created);
	_cleanup_free_ char *tagged = rfc3339(rec.added);
	_cleanup_free_ char *disk = store_disk_path(s, rec.chain_id);
	json_t *config = json_object_get(cfg, "config");

	json_t *o = json_pack(
	    "{s:s, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:{s:s, s:{s:s}},"
	    " s:{s:s, s:o}, s:{s:s}}",
	    "Id", rec.id, "RepoTags", familiar_array(rec.tags), "RepoDigests",
	    familiar_array(rec.digests), "Parent", rec.parent ? rec.parent : "", "Comment",
	    str_of(cfg, "comment"), "Created", created ? created : created_fallback,
	    "DockerVersion", str_of(cfg, "docker_version"), "Author", str_of(cfg, "author"),
	    "Config", json_is_object(config) ? json_deep_copy(config) : json_object(),
	    "Architecture", str_of(cfg, "architecture"), "Os", str_of(cfg, "os"), "Size",
	    (json_int_t)rec.size, "GraphDriver", "Name", "arca-ext4", "Data", "Disk", disk,
	    "RootFS", "Type", "layers", "Layers", layers, "Metadata", "LastTagTime", tagged);
	const char *variant = json_string_value(json_object_get(cfg, "variant"));
	if (variant)
		json_object_set_new(o, "Variant", json_string(variant));
	json_decref(cfg);
	image_record_done(&rec);
	if (!o)
		return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "cannot render image `%s`",
				      name);
	*ret = o;
	return 0;
}

int image_history(struct image_store *s, const char *name, json_t **ret, struct arca_error **err)
{
	struct image_record rec = { 0 };
	int r = get_image(s, name, &rec, err);
	if (r < 0)
		return r;
	json_t *cfg = load_config(&rec);
	json_t *hist = json_object_get(cfg, "history");
	json_t *out = json_array();
	size_t layer = 0, n = json_is_array(hist) ? json_array_size(hist) : 0;
	json_t **items = xnew0(json_t *, n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		json_t *h = json_array_get(hist, i);
		bool empty = json_is_true(json_object_get(h, "empty_layer"));
		int64_t size = 0;
		if (!empty && layer < rec.n_layers)
			size = rec.layers[layer++].tar_size;
		const char *by = json_string_value(json_object_get(h, "created_by"));
		const char *comment = json_string_value(json_object_get(h, "comment"));
		items[i] = json_pack(
		    "{s:s, s:I, s:s, s:o, s:I, s:s}", "Id", "<missing>", "Created",
		    (json_int_t)parse_rfc3339(json_string_value(json_object_get(h, "created"))),
		    "CreatedBy", by ? by : "", "Tags", json_null(), "Size", (json_int_t)size,
		    "Comment", comment ? comment : "");
	}
	/*
	 * Newest first. As dockerd: the newest entry carries the image's ID and
	 * tags, each older one its parent's while the parents are here (a
	 * build's steps), then "<missing>".
	 */
	struct image_record cur = { 0 };
	bool have = n > 0 && imagedb_get(s->db, rec.id, &cur, NULL) >= 0;
	for (size_t i = n; i > 0; i--) {
		if (have) {
			json_object_set_new(items[i - 1], "Id", json_string(cur.id));
			json_object_set_new(items[i - 1], "Tags", familiar_array(cur.tags));
			_cleanup_free_ char *parent =
			    cur.parent && cur.parent[0] ? xstrdup(cur.parent) : NULL;
			image_record_done(&cur);
			have = parent && imagedb_get(s->db, parent, &cur, NULL) >= 0;
		}
		json_array_append_new(out, items[i - 1]);
	}
	if (have)
		image_record_done(&cur);
	free(items);
	json_decref(cfg);
	image_record_done(&rec);
	*ret = out;
	return 0;
}
