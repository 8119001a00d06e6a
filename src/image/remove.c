/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tag, rmi and prune with Docker's semantics (moby daemon/images
 * image_delete.go): removing a reference untags; the image goes when its
 * last reference goes; an ID removes the image and its references unless it
 * is referenced in several repositories (must be forced), has dependent
 * child images or a running container (never), or a stopped container (must
 * be forced). Files are collected afterwards by image_gc().
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

static void short_id(const char *id, char out[13])
{
	snprintf(out, 13, "%.12s", strncmp(id, "sha256:", 7) == 0 ? id + 7 : id);
}

int image_tag(struct image_store *s, const char *source, const char *target,
	      struct arca_error **err)
{
	_cleanup_free_ char *id = NULL, *name = NULL;
	struct image_ref ref;
	int r = image_resolve(s, source, &id, err);
	if (r < 0)
		return r;
	r = image_ref_parse(target, false, &ref, err);
	if (r < 0)
		return r;
	if (ref.digest) {
		image_ref_done(&ref);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "refusing to create a tag with a digest reference");
	}
	_cleanup_free_ char *full = image_ref_name(&ref);
	name = xasprintf("%s:%s", full, ref.tag);
	image_ref_done(&ref);
	return imagedb_set_ref(s->db, name, id, IMAGE_REF_TAG, err);
}

static void record(json_t *out, const char *what, const char *value)
{
	json_array_append_new(out, json_pack("{s:s}", what, value));
}

static void untag(struct image_store *s, const char *full, json_t *out)
{
	if (imagedb_delete_ref(s->db, full, NULL) < 0)
		return;
	_cleanup_free_ char *f = store_familiar(full);
	record(out, "Untagged", f);
}

/* The repository part of a stored name: "docker.io/library/busybox". */
static char *repo_of(const char *full)
{
	const char *at = strchr(full, '@');
	if (at)
		return xstrndup(full, (size_t)(at - full));
	const char *slash = strrchr(full, '/');
	const char *colon = strrchr(slash ? slash : full, ':');
	return colon ? xstrndup(full, (size_t)(colon - full)) : xstrdup(full);
}

enum conflict {
	CONFLICT_CHILD = 1 << 0,   /* hard */
	CONFLICT_RUNNING = 1 << 1, /* hard */
	CONFLICT_REFS = 1 << 2,	   /* soft */
	CONFLICT_STOPPED = 1 << 3, /* soft */
};
#define CONFLICT_HARD (CONFLICT_CHILD | CONFLICT_RUNNING)
#define CONFLICT_SOFT (CONFLICT_REFS | CONFLICT_STOPPED)

static int check_conflict(struct image_store *s, const struct image_record *rec, int mask,
			  const struct image_users *users, struct arca_error **err)
{
	char sid[13];
	short_id(rec->id, sid);
	if (mask & CONFLICT_CHILD) {
		_cleanup_strv_free_ char **kids = NULL;
		if (imagedb_children(s->db, rec->id, &kids, err) < 0)
			return -EIO;
		if (kids[0])
			return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT,
					      "conflict: unable to delete %s (cannot be forced) - "
					      "image has dependent child images",
					      sid);
	}
	bool running = false;
	_cleanup_free_ char *user =
	    users && users->find ? users->find(rec->id, &running, users->userdata) : NULL;
	if (user && running && (mask & CONFLICT_RUNNING))
		return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT,
				      "conflict: unable to delete %s (cannot be forced) - image is "
				      "being used by running container %.12s",
				      sid, user);
	if ((mask & CONFLICT_REFS) && strv_length(rec->tags) + strv_length(rec->digests) > 0)
		return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT,
				      "conflict: unable to delete %s (must be forced) - image is "
				      "referenced in multiple repositories",
				      sid);
	if (user && !running && (mask & CONFLICT_STOPPED))
		return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT,
				      "conflict: unable to delete %s (must be forced) - image is "
				      "being used by stopped container %.12s",
				      sid, user);
	return 0;
}

/* Removes the image itself, with its remaining references, and maybe its parent. */
static int delete_image(struct image_store *s, const char *id, bool force, bool prune, bool quiet,
			const struct image_users *users, json_t *out, struct arca_error **err)
{
	struct image_record rec = { 0 };
	int r = imagedb_get(s->db, id, &rec, err);
	if (r < 0)
		return r;
	_cleanup_error_ struct arca_error *conflict = NULL;
	r = check_conflict(s, &rec, CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT), users, &conflict);
	if (r < 0) {
		bool dangling = !rec.tags[0];
		image_record_done(&rec);
		if (quiet && !dangling)
			return 0;
		return arca_error_set(err, conflict->code, conflict->kind, "%s", conflict->msg);
	}
	for (size_t i = 0; rec.tags[i]; i++)
		untag(s, rec.tags[i], out);
	for (size_t i = 0; rec.digests[i]; i++)
		untag(s, rec.digests[i], out);
	r = imagedb_delete_image(s->db, rec.id, err);
	if (r >= 0)
		record(out, "Deleted", rec.id);
	_cleanup_free_ char *parent = rec.parent && rec.parent[0] ? xstrdup(rec.parent) : NULL;
	image_record_done(&rec);
	if (r < 0 || !prune || !parent || !imagedb_exists(s->db, parent))
		return r;
	struct image_record prec = { 0 };
	if (imagedb_get(s->db, parent, &prec, NULL) < 0)
		return 0;
	bool untagged = !prec.tags[0] && !prec.digests[0];
	image_record_done(&prec);
	return untagged ? delete_image(s, parent, false, true, true, users, out, err) : 0;
}

static bool single_reference(char *const *tags, char *const *digests)
{
	if (strv_length(tags) > 1)
		return false;
	_cleanup_free_ char *repo = NULL;
	char *const *lists[] = { tags, digests };
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			_cleanup_free_ char *r = repo_of(lists[l][i]);
			if (!repo)
				repo = TAKE_PTR(r);
			else if (strcmp(repo, r) != 0)
				return false;
		}
	return true;
}

static int remove_by_ref(struct image_store *s, const char *name, const char *refname,
			 struct image_record *rec, bool force, bool noprune,
			 const struct image_users *users, json_t *out, struct arca_error **err)
{
	bool running;
	_cleanup_free_ char *user =
	    users && users->find ? users->find(rec->id, &running, users->userdata) : NULL;
	if (user && strv_length(rec->tags) + strv_length(rec->digests) == 1 && !force) {
		char sid[13];
		short_id(rec->id, sid);
		return arca_error_set(
		    err, EBUSY, ARCA_ERR_CONFLICT,
		    "conflict: unable to remove repository reference \"%s\" "
		    "(must force) - container %.12s is using its referenced image %s",
		    name, user, sid);
	}
	untag(s, refname, out);
	/* A removed tag takes the digest references of its repository along. */
	if (!strchr(refname, '@')) {
		_cleanup_free_ char *repo = repo_of(refname);
		bool other_tag = false;
		for (size_t i = 0; rec->tags[i]; i++) {
			_cleanup_free_ char *r = repo_of(rec->tags[i]);
			other_tag |= strcmp(rec->tags[i], refname) != 0 && strcmp(r, repo) == 0;
		}
		for (size_t i = 0; !other_tag && rec->digests[i]; i++) {
			_cleanup_free_ char *r = repo_of(rec->digests[i]);
			if (strcmp(r, repo) == 0)
				untag(s, rec->digests[i], out);
		}
	}
	struct image_record now = { 0 };
	int r = imagedb_get(s->db, rec->id, &now, err);
	if (r < 0)
		return r;
	bool remaining = now.tags[0] || now.digests[0];
	image_record_done(&now);
	if (remaining)
		return 0;
	return delete_image(s, rec->id, force, !noprune, false, users, out, err);
}

int image_remove(struct image_store *s, const char *name, bool force, bool noprune,
		 const struct image_users *users, json_t **ret, struct arca_error **err)
{
	_cleanup_free_ char *id = NULL, *refname = NULL, *ref_target = NULL;
	struct image_record rec = { 0 };
	json_t *out = json_array();
	int r = image_resolve(s, name, &id, err);
	if (r >= 0)
		r = imagedb_get(s->db, id, &rec, err);
	if (r < 0)
		goto out;
	r = db_begin(s->db, err);
	if (r < 0)
		goto out;
	/* A name that is a stored reference to this image is a reference removal. */
	bool by_ref = store_ref_name(name, &refname, NULL) >= 0 &&
		      imagedb_lookup_ref(s->db, refname, &ref_target, NULL) == 0 &&
		      strcmp(ref_target, id) == 0;
	if (by_ref) {
		r = remove_by_ref(s, name, refname, &rec, force, noprune, users, out, err);
	} else {
		if (single_reference(rec.tags, rec.digests)) {
			r = check_conflict(s, &rec, CONFLICT_HARD | (force ? 0 : CONFLICT_STOPPED),
					   users, err);
			for (size_t i = 0; r >= 0 && rec.tags[i]; i++)
				untag(s, rec.tags[i], out);
			for (size_t i = 0; r >= 0 && rec.digests[i]; i++)
				untag(s, rec.digests[i], out);
		}
		if (r >= 0)
			r = delete_image(s, id, force, !noprune, false, users, out, err);
	}
	if (r >= 0)
		r = db_commit(s->db, err);
	if (r < 0)
		db_rollback(s->db);
out:
	image_record_done(&rec);
	if (r < 0) {
		json_decref(out);
		return r;
	}
	(void)image_gc(s, NULL, NULL);
	*ret = out;
	return 0;
}

static bool prune_filters_match(const struct image_record *rec, json_t *filters)
{
	const char *key;
	json_t *vals;
	json_object_foreach(filters, key, vals)
	{
		size_t i;
		json_t *v;
		json_array_foreach(vals, i, v)
		{
			const char *want = json_string_value(v);
			if (!want)
				continue;
			if (strcmp(key, "until") == 0) {
				int64_t t = parse_rfc3339(want);
				if (t == 0)
					t = strtoll(want, NULL, 10);
				if (rec->created >= t)
					return false;
			} else if (strcmp(key, "label") == 0 || strcmp(key, "label!") == 0) {
				json_error_t jerr;
				json_t *cfg = json_loads(rec->config, 0, &jerr);
				json_t *labels =
				    json_object_get(json_object_get(cfg, "config"), "Labels");
				_cleanup_free_ char *k = xstrndup(want, strcspn(want, "="));
				const char *eq = strchr(want, '=');
				const char *val = json_string_value(json_object_get(labels, k));
				bool has = val && (!eq || strcmp(val, eq + 1) == 0);
				json_decref(cfg);
				if (has != (strcmp(key, "label") == 0))
					return false;
			}
		}
	}
	return true;
}

/* No container uses it and no image was built on it. */
static bool unused_leaf(struct image_store *s, const struct image_record *rec,
			const struct image_users *users)
{
	bool running;
	_cleanup_free_ char *user =
	    users && users->find ? users->find(rec->id, &running, users->userdata) : NULL;
	_cleanup_strv_free_ char **kids = NULL;
	return !user && imagedb_children(s->db, rec->id, &kids, NULL) >= 0 && !kids[0];
}

int image_prune(struct image_store *s, bool all, json_t *filters, const struct image_users *users,
		json_t **ret, struct arca_error **err)
{
	const char *key;
	json_t *vals;
	json_object_foreach(filters, key, vals)
	{
		if (strcmp(key, "until") != 0 && strcmp(key, "label") != 0 &&
		    strcmp(key, "label!") != 0 && strcmp(key, "dangling") != 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid filter '%s'",
					      key);
		if (strcmp(key, "dangling") == 0) {
			const char *v = json_string_value(json_array_get(vals, 0));
			if (v && (strcmp(v, "false") == 0 || strcmp(v, "0") == 0))
				all = true;
		}
	}
	json_t *deleted = json_array();
	int64_t reclaimed = 0;
	/* Repeat: deleting a child can leave its parent prunable. */
	for (bool progress = true; progress;) {
		progress = false;
		_cleanup_strv_free_ char **ids = NULL;
		int r = imagedb_list(s->db, &ids, err);
		if (r < 0) {
			json_decref(deleted);
			return r;
		}
		for (size_t i = 0; ids[i]; i++) {
			struct image_record rec = { 0 };
			if (imagedb_get(s->db, ids[i], &rec, NULL) < 0)
				continue;
			bool candidate = (all || !rec.tags[0]) && unused_leaf(s, &rec, users) &&
					 prune_filters_match(&rec, filters);
			int64_t size = rec.size;
			image_record_done(&rec);
			if (!candidate)
				continue;
			_cleanup_error_ struct arca_error *e = NULL;
			if (db_begin(s->db, &e) < 0)
				continue;
			if (delete_image(s, ids[i], true, true, false, users, deleted, &e) < 0 ||
			    db_commit(s->db, &e) < 0) {
				db_rollback(s->db);
				continue;
			}
			reclaimed += size;
			progress = true;
		}
	}
	(void)image_gc(s, NULL, NULL);
	*ret = json_pack("{s:o, s:I}", "ImagesDeleted", deleted, "SpaceReclaimed",
			 (json_int_t)reclaimed);
	return 0;
}

int image_cache_prune(struct image_store *s, const struct image_users *users, json_t **ret_deleted,
		      int64_t *ret_reclaimed, struct arca_error **err)
{
	json_t *deleted = json_array();
	int r = 0;
	/* Repeat: a removed step can leave its parent step unneeded. */
	for (bool progress = true; progress && r >= 0;) {
		progress = false;
		_cleanup_strv_free_ char **ids = NULL;
		r = imagedb_cache_images(s->db, &ids, err);
		for (size_t i = 0; r >= 0 && ids[i]; i++) {
			struct image_record rec = { 0 };
			if (imagedb_get(s->db, ids[i], &rec, NULL) < 0)
				continue;
			bool unneeded =
			    !rec.tags[0] && !rec.digests[0] && unused_leaf(s, &rec, users);
			image_record_done(&rec);
			if (!unneeded)
				continue;
			r = imagedb_delete_image(s->db, ids[i], err);
			if (r >= 0) {
				json_array_append_new(deleted, json_string(ids[i]));
				progress = true;
			}
		}
	}
	int64_t entries = 0;
	uint64_t reclaimed = 0;
	if (r >= 0)
		r = imagedb_cache_clear(s->db, &entries, err);
	if (r >= 0)
		r = image_gc(s, &reclaimed, err);
	if (r < 0) {
		json_decref(deleted);
		return r;
	}
	*ret_deleted = deleted;
	*ret_reclaimed = (int64_t)reclaimed;
	return 0;
}
