/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker commit (container-commit.c): the container's writable layer, read
 * by a helper in its VM (or a maintenance VM), becomes an image on top of
 * its image, with the container's config, the request's over it and the
 * --change instructions applied, as dockerd does.
 */
#pragma once

#include <jansson.h>

#include "error.h"

struct container;

struct container_commit_req {
	const char *repo, *tag; /* NULL or "": no tag */
	const char *comment, *author;
	json_t *config; /* fields over the container's config (borrowed), may be NULL */
	char **changes; /* Dockerfile instructions, may be NULL */
};

/* Exactly once: the new image's ID, or why not. */
typedef void (*container_commit_fn)(const struct arca_error *err, const char *image_id, void *ud);

/* An error here (bad changes) is returned, and cb is not called. */
int container_commit(struct container *c, const struct container_commit_req *req,
		     container_commit_fn cb, void *ud, struct arca_error **err);
