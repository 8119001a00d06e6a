/* SPDX-License-Identifier: Apache-2.0 */
/* Image tables and their queries. Every function runs on the caller's connection and transaction.
 */
#include "imagedb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "cleanup.h"
#include "hashmap.h"
#include "strv.h"

static const char schema_v1[] =
    "CREATE TABLE images ("
    " id TEXT PRIMARY KEY, config TEXT NOT NULL, chain_id TEXT NOT NULL,"
    " manifest_digest TEXT, parent TEXT, size INTEGER NOT NULL,"
    " created INTEGER NOT NULL, added INTEGER NOT NULL);"
    "CREATE INDEX images_by_parent ON images(parent);"
    "CREATE TABLE image_layers ("
    " image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " idx INTEGER NOT NULL, diff_id TEXT NOT NULL, blob TEXT NOT NULL,"
    " media_type TEXT NOT NULL, size INTEGER NOT NULL, tar_size INTEGER NOT NULL,"
    " PRIMARY KEY (image_id, idx));"
    "CREATE TABLE image_refs ("
    " name TEXT PRIMARY KEY,"
    " image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " kind INTEGER NOT NULL, added INTEGER NOT NULL);"
    "CREATE INDEX image_refs_by_image ON image_refs(image_id);"
    "CREATE TABLE image_manifests ("
    " digest TEXT NOT NULL,"
    " image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    " media_type TEXT NOT NULL, PRIMARY KEY (digest, image_id));";

/* The classic builder's cache: the image a step made on a parent, by its probe. */
static const char schema_v2[] = "CREATE TABLE build_cache ("
				" parent TEXT NOT NULL, probe TEXT NOT NULL,"
				" image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
				" added INTEGER NOT NULL, PRIMARY KEY (parent, probe));"
				"CREATE INDEX build_cache_by_image ON build_cache(image_id);";

const struct db_migration imagedb_migrations[] = {
	{ "images", 1, schema_v1 },
	{ "images", 2, schema_v2 },
};
const size_t imagedb_n_migrations = sizeof(imagedb_migrations) / sizeof(imagedb_migrations[0]);

static char *col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? xstrdup((const char *)t) : NULL;
}

void image_record_done(struct image_record *r)
{
	free(r->id);
	free(r->config);
	free(r->chain_id);
	free(r->manifest_digest);
	free(r->parent);
	for (size_t i = 0; i < r->n_layers; i++) {
		free(r->layers[i].diff_id);
		free(r->layers[i].blob);
		free(r->layers[i].media_type);
	}
	free(r->layers);
	strv_free(r->tags);
	strv_free(r->digests);
	*r = (struct image_record){ 0 };
}

static int step_done(struct db *db, sqlite3_stmt *s, const char *what, struct arca_error **err)
{
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : db_error(db, rc, what, err);
}

int imagedb_put(struct db *db, const struct image_record *r, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	/* An upsert, never REPLACE: REPLACE deletes the row first, and ON DELETE
	 * CASCADE would take every tag of the image with it. */
	int rv =
	    db_prepare(db,
		       "INSERT INTO images (id, config, chain_id, manifest_digest,"
		       " parent, size, created, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
		       " ON CONFLICT(id) DO UPDATE SET config = excluded.config,"
		       " chain_id = excluded.chain_id,"
		       " manifest_digest = coalesce(excluded.manifest_digest, manifest_digest),"
		       " parent = coalesce(excluded.parent, parent), size = excluded.size,"
		       " created = excluded.created",
		       &s, err);
	if (rv < 0)
		return rv;
	sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->config, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->chain_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->manifest_digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, r->parent, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, r->size);
	sqlite3_bind_int64(s, 7, r->created);
	sqlite3_bind_int64(s, 8, r->added ? r->added : (int64_t)time(NULL));
	rv = step_done(db, s, "store image", err);
	if (rv < 0)
		return rv;

	_cleanup_stmt_ sqlite3_stmt *del = NULL;
	rv = db_prepare(db, "DELETE FROM image_layers WHERE image_id = ?", &del, err);
	if (rv < 0)
		return rv;
	sqlite3_bind_text(del, 1, r->id, -1, SQLITE_STATIC);
	rv = step_done(db, del, "store layers", err);
	if (rv < 0)
		return rv;

	_cleanup_stmt_ sqlite3_stmt *ins = NULL;
	rv = db_prepare(db,
			"INSERT INTO image_layers (image_id, idx, diff_id, blob, media_type, size,"
			" tar_size) VALUES (?, ?, ?, ?, ?, ?, ?)",
			&ins, err);
	for (size_t i = 0; rv >= 0 && i < r->n_layers; i++) {
		const struct image_layer *l = &r->layers[i];
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 2, (int)i);
		sqlite3_bind_text(ins, 3, l->diff_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, l->blob, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, l->media_type, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 6, l->size);
		sqlite3_bind_int64(ins, 7, l->tar_size);
		rv = step_done(db, ins, "store layer", err);
	}
	return rv;
}

static int collect_strings(struct db *db, sqlite3_stmt *s, char ***ret, struct arca_error **err)
{
	char **l = strv_copy(NULL);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		l = strv_append_take(l, col_text(s, 0));
	if (rc != SQLITE_DONE) {
		strv_free(l);
		return db_error(db, rc, "query", err);
	}
	*ret = l;
	return 0;
}

static int refs_of(struct db *db, const char *id, int kind, char ***ret, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(db,
			   "SELECT name FROM image_refs WHERE image_id = ? AND kind = ?"
			   " ORDER BY added, name",
			   &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, kind);
	return collect_strings(db, s, ret, err);
}

int imagedb_get(struct db *db, const char *id, struct image_record *ret, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct image_record r = { 0 };
	int rv = db_prepare(db,
			    "SELECT id, config, chain_id, manifest_digest, parent, size, created,"
			    " added FROM images WHERE id = ?",
			    &s, err);
	if (rv < 0)
		return rv;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND, "No such image: %s", id);
	if (rc != SQLITE_ROW)
		return db_error(db, rc, "read image", err);
	r.id = col_text(s, 0);
	r.config = col_text(s, 1);
	r.chain_id = col_text(s, 2);
	r.manifest_digest = col_text(s, 3);
	r.parent = col_text(s, 4);
	r.size = sqlite3_column_int64(s, 5);
	r.created = sqlite3_column_int64(s, 6);
	r.added = sqlite3_column_int64(s, 7);

	_cleanup_stmt_ sqlite3_stmt *ls = NULL;
	rv = db_prepare(db,
			"SELECT diff_id, blob, media_type, size, tar_size FROM image_layers"
			" WHERE image_id = ? ORDER BY idx",
			&ls, err);
	if (rv >= 0) {
		sqlite3_bind_text(ls, 1, id, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(ls)) == SQLITE_ROW) {
			r.layers = xreallocarray(r.layers, r.n_layers + 1, sizeof(*r.layers));
			struct image_layer *l = &r.layers[r.n_layers++];
			l->diff_id = col_text(ls, 0);
			l->blob = col_text(ls, 1);
			l->media_type = col_text(ls, 2);
			l->size = sqlite3_column_int64(ls, 3);
			l->tar_size = sqlite3_column_int64(ls, 4);
		}
		if (rc != SQLITE_DONE)
			rv = db_error(db, rc, "read layers", err);
	}
	if (rv >= 0)
		rv = refs_of(db, id, IMAGE_REF_TAG, &r.tags, err);
	if (rv >= 0)
		rv = refs_of(db, id, IMAGE_REF_DIGEST, &r.digests, err);
	if (rv < 0) {
		image_record_done(&r);
		return rv;
	}
	*ret = r;
	return 0;
}

int imagedb_exists(struct db *db, const char *id)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	if (db_prepare(db, "SELECT 1 FROM images WHERE id = ?", &s, NULL) < 0)
		return 0;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return sqlite3_step(s) == SQLITE_ROW;
}

int imagedb_list(struct db *db, char ***ret, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r =
	    db_prepare(db, "SELECT id FROM images ORDER BY created DESC, added DESC, id", &s, err);
	return r < 0 ? r : collect_strings(db, s, ret, err);
}

int imagedb_lookup_ref(struct db *db, const char *name, char **ret_id, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(db, "SELECT image_id FROM image_refs WHERE name = ?", &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(db, rc, "read reference", err);
	*ret_id = col_text(s, 0);
	return 0;
}

int imagedb_find_prefix(struct db *db, const char *prefix, char ***ret, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r =
	    db_prepare(db, "SELECT id FROM images WHERE substr(id, 1, length(?1)) = ?1", &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
	return collect_strings(db, s, ret, err);
}

int imagedb_set_ref(struct db *db, const char *name, const char *id, enum image_ref_kind kind,
		    struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r =
	    db_prepare(db,
		       "INSERT INTO image_refs (name, image_id, kind, added) VALUES (?, ?, ?, ?)"
		       " ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id,"
		       " added = CASE WHEN image_id = excluded.image_id THEN added"
		       " ELSE excluded.added END",
		       &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, kind);
	sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
	return step_done(db, s, "store reference", err);
}

static int exec_with_text(struct db *db, const char *sql, const char *arg, const char *what,
			  struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(db, sql, &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	return step_done(db, s, what, err);
}

int imagedb_delete_ref(struct db *db, const char *name, struct arca_error **err)
{
	return exec_with_text(db, "DELETE FROM image_refs WHERE name = ?", name, "remove reference",
			      err);
}

int imagedb_delete_image(struct db *db, const char *id, struct arca_error **err)
{
	return exec_with_text(db, "DELETE FROM images WHERE id = ?", id, "remove image", err);
}

int imagedb_children(struct db *db, const char *id, char ***ret, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(db, "SELECT id FROM images WHERE parent = ?", &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return collect_strings(db, s, ret, err);
}

int imagedb_add_manifest(struct db *db, const char *digest, const char *id, const char *media_type,
			 struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(db,
			   "INSERT OR IGNORE INTO image_manifests (digest, image_id, media_type)"
			   " VALUES (?, ?, ?)",
			   &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, media_type, -1, SQLITE_STATIC);
	return step_done(db, s, "store manifest", err);
}

int imagedb_manifests(struct db *db, const char *id, char ***ret_digests, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(db, "SELECT digest FROM image_manifests WHERE image_id = ?", &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return collect_strings(db, s, ret_digests, err);
}

int imagedb_references(struct db *db, struct hashmap *blobs, struct hashmap *chains,
		       struct arca_error **err)
{
	static const char *const queries[] = {
		"SELECT id FROM images",
		"SELECT blob FROM image_layers",
		"SELECT digest FROM image_manifests",
		"SELECT chain_id FROM images",
	};
	for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
		_cleanup_stmt_ sqlite3_stmt *s = NULL;
		int r = db_prepare(db, queries[q], &s, err);
		if (r < 0)
			return r;
		int rc;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *v = (const char *)sqlite3_column_text(s, 0);
			if (v)
				(void)hashmap_put(q == 3 ? chains : blobs, v, NULL);
		}
		if (rc != SQLITE_DONE)
			return db_error(db, rc, "read references", err);
	}
	return 0;
}

int imagedb_cache_put(struct db *db, const char *parent, const char *probe, const char *id,
		      struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(
	    db,
	    "INSERT INTO build_cache (parent, probe, image_id, added) VALUES (?, ?, ?, ?)"
	    " ON CONFLICT(parent, probe) DO UPDATE SET image_id = excluded.image_id,"
	    " added = excluded.added",
	    &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, parent, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, probe, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)time(NULL));
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : db_error(db, rc, "record a build step", err);
}

int imagedb_cache_get(struct db *db, const char *parent, const char *probe, char **ret_id,
		      struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(db, "SELECT image_id FROM build_cache WHERE parent = ? AND probe = ?",
			   &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, parent, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, probe, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*ret_id = col_text(s, 0);
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : db_error(db, rc, "look up a build step", err);
}

int imagedb_cache_clear(struct db *db, int64_t *ret_entries, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(db, "DELETE FROM build_cache", &s, err);
	if (r < 0)
		return r;
	int rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return db_error(db, rc, "clear the build cache", err);
	*ret_entries = sqlite3_changes(db_handle(db));
	return 0;
}

int imagedb_cache_images(struct db *db, char ***ret, struct arca_error **err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = db_prepare(db, "SELECT DISTINCT image_id FROM build_cache ORDER BY added DESC", &s,
			   err);
	if (r < 0)
		return r;
	char **out = strv_copy(NULL);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		out = strv_append_take(out, col_text(s, 0));
	if (rc != SQLITE_DONE) {
		strv_free(out);
		return db_error(db, rc, "list the build cache", err);
	}
	*ret = out;
	return 0;
}
