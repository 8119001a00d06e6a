/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's filesystem from the host (container-fs.c): the stat of a
 * path and docker cp both ways, export, and the changes (docker diff).
 * Each runs as helpers in the container's VM, or in a maintenance VM when
 * it is stopped; tars flow to a stream or from a file descriptor with the
 * protocol's flow control. Nothing here knows HTTP.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

struct container;
struct stream;
struct container_fs;

enum container_fs_op {
	CONTAINER_FS_STAT,    /* the PathStat of path */
	CONTAINER_FS_GET,     /* path as a tar, to out */
	CONTAINER_FS_PUT,     /* the tar read from body_fd, extracted into path */
	CONTAINER_FS_EXPORT,  /* the whole root as a tar, to out */
	CONTAINER_FS_CHANGES, /* the changes against the image */
};

struct container_fs_request {
	enum container_fs_op op;
	const char *path;   /* STAT, GET, PUT: as the client gave it */
	bool copy_uid_gid;  /* PUT: keep the archive's owners */
	int body_fd;	    /* PUT: the archive, non-blocking (taken); else -1 */
	struct stream *out; /* GET, EXPORT: a reference is taken; else NULL */
};

struct container_fs_ops {
	/* GET: the path's PathStat (borrowed), before the first byte goes to out. */
	void (*stat)(json_t *stat, void *ud);
	/*
	 * Exactly once, last: err NULL on success; result (borrowed) is STAT's
	 * PathStat or CHANGES' list. A stream that had begun is closed, not
	 * ended, on an error: a truncated tar must not look whole.
	 */
	void (*done)(const struct arca_error *err, json_t *result, void *ud);
};

/* "a/../b/", "x" -> "/b", "/x"; keeps a trailing "/." (a directory's contents). Pure. */
char *container_fs_clean_path(const char *p);

int container_fs_start(struct container *c, const struct container_fs_request *req,
		       const struct container_fs_ops *ops, void *ud, struct container_fs **ret,
		       struct arca_error **err);
/* The client went away: stops, and done is not called. NULL-safe. */
void container_fs_cancel(struct container_fs *f);
