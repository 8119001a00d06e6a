/* SPDX-License-Identifier: Apache-2.0 */
/* struct db: one sqlite3 connection and the migration runner. Not thread-safe: one per thread. */
#include "db.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

struct db {
	sqlite3 *h;
};

int db_error(struct db *db, int rc, const char *what, struct arca_error **err)
{
	int code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? EBUSY
		   : rc == SQLITE_FULL			    ? ENOSPC
		   : rc == SQLITE_CONSTRAINT		    ? EEXIST
							    : EIO;
	return arca_error_set(err, code, ARCA_ERR_INTERNAL, "database: %s: %s", what,
			      db && db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
}

int db_exec(struct db *db, const char *sql, struct arca_error **err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		int r = arca_error_set(err, rc == SQLITE_BUSY ? EBUSY : EIO, ARCA_ERR_INTERNAL,
				       "database: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return r;
	}
	return 0;
}

int db_prepare(struct db *db, const char *sql, sqlite3_stmt **ret, struct arca_error **err)
{
	int rc = sqlite3_prepare_v2(db->h, sql, -1, ret, NULL);
	return rc == SQLITE_OK ? 0 : db_error(db, rc, "prepare", err);
}

int db_begin(struct db *db, struct arca_error **err)
{
	return db_exec(db, "BEGIN IMMEDIATE", err);
}

int db_commit(struct db *db, struct arca_error **err)
{
	return db_exec(db, "COMMIT", err);
}

void db_rollback(struct db *db)
{
	(void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

static int applied(struct db *db, const char *component, int version, struct arca_error **err)
{
	sqlite3_stmt *s = NULL;
	int r = db_prepare(
	    db, "SELECT 1 FROM schema_migrations WHERE component = ? AND version = ?", &s, err);
	if (r < 0)
		return r;
	sqlite3_bind_text(s, 1, component, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, version);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_error(db, rc, "read migrations", err);
}

static int migrate(struct db *db, const struct db_migration *m, struct arca_error **err)
{
	int r = db_begin(db, err);
	if (r < 0)
		return r;
	r = applied(db, m->component, m->version, err);
	if (r != 0) { /* applied by another process meanwhile, or an error */
		db_rollback(db);
		return r < 0 ? r : 0;
	}
	r = db_exec(db, m->sql, err);
	if (r >= 0) {
		sqlite3_stmt *s = NULL;
		r = db_prepare(db,
			       "INSERT INTO schema_migrations (component, version) VALUES (?, ?)",
			       &s, err);
		if (r >= 0) {
			sqlite3_bind_text(s, 1, m->component, -1, SQLITE_STATIC);
			sqlite3_bind_int(s, 2, m->version);
			int rc = sqlite3_step(s);
			sqlite3_finalize(s);
			if (rc != SQLITE_DONE)
				r = db_error(db, rc, "record migration", err);
		}
	}
	if (r >= 0)
		r = db_commit(db, err);
	if (r < 0) {
		db_rollback(db);
		return arca_error_wrap(err, "migration %s/%d", m->component, m->version);
	}
	return 0;
}

int db_open(const char *path, const struct db_migration *migrations, size_t n, struct db **ret,
	    struct arca_error **err)
{
	struct db *db = xnew0(struct db, 1);
	int rc = sqlite3_open_v2(path, &db->h,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
				     SQLITE_OPEN_EXRESCODE,
				 NULL);
	int r;
	if (rc != SQLITE_OK) {
		r = db_error(db, rc, path, err);
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 10000);
	r = db_exec(db,
		    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
		    "PRAGMA foreign_keys = ON; "
		    "CREATE TABLE IF NOT EXISTS schema_migrations ("
		    " component TEXT NOT NULL, version INTEGER NOT NULL,"
		    " PRIMARY KEY (component, version))",
		    err);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = applied(db, migrations[i].component, migrations[i].version, err);
		if (r == 0)
			r = migrate(db, &migrations[i], err);
	}
	if (r < 0)
		goto fail;
	*ret = db;
	return 0;
fail:
	arca_error_wrap(err, "open database `%s`", path);
	db_close(db);
	return r;
}

struct db *db_close(struct db *db)
{
	if (!db)
		return NULL;
	if (db->h)
		sqlite3_close_v2(db->h);
	free(db);
	return NULL;
}

sqlite3 *db_handle(struct db *db)
{
	return db->h;
}
