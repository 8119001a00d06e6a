/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite for Arca's state: one database file, WAL journal, foreign keys on,
 * a busy timeout for concurrent processes, and per-component migrations
 * applied in order inside one transaction each.
 */
#pragma once

#include <sqlite3.h>
#include <stddef.h>

#include "error.h"

struct db;

struct db_migration {
	const char *component; /* "images", "containers", ... */
	int version;	       /* 1, 2, ... in order within a component */
	const char *sql;
};

int db_open(const char *path, const struct db_migration *migrations, size_t n, struct db **ret,
	    struct arca_error **err);
struct db *db_close(struct db *db);
static inline void db_closep(struct db **db)
{
	if (*db)
		*db = db_close(*db);
}
sqlite3 *db_handle(struct db *db);

int db_exec(struct db *db, const char *sql, struct arca_error **err);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK */
int db_begin(struct db *db, struct arca_error **err);
int db_commit(struct db *db, struct arca_error **err);
void db_rollback(struct db *db);

/* Prepares sql; on failure sets err with SQLite's message. */
int db_prepare(struct db *db, const char *sql, sqlite3_stmt **ret, struct arca_error **err);
/* Turns an unexpected sqlite result code into an error. */
int db_error(struct db *db, int rc, const char *what, struct arca_error **err);

static inline void sqlite3_finalizep(sqlite3_stmt **s)
{
	if (*s) {
		sqlite3_finalize(*s);
		*s = NULL;
	}
}
#define _cleanup_stmt_ __attribute__((cleanup(sqlite3_finalizep)))
