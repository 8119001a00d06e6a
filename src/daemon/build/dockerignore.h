/* SPDX-License-Identifier: Apache-2.0 */
/*
 * .dockerignore patterns as moby's patternmatcher reads them: comments
 * (lines starting with #), blank lines skipped, each pattern cleaned (a
 * leading "/" dropped), "!" re-including, "*" and "?" within one component,
 * "[...]" classes, "\" escaping, "**" across components. A path is excluded
 * when it or one of its parents matches the last pattern that matches. The
 * daemon only uses it to drop the Dockerfile and .dockerignore themselves
 * from a context, as dockerd does; the client filters the rest.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct dockerignore;

/* Parses a .dockerignore's text; 400 for an illegal pattern ("!" alone). */
int dockerignore_parse(const char *text, size_t len, struct dockerignore **ret,
		       struct arca_error **err);
struct dockerignore *dockerignore_free(struct dockerignore *di);
/* path: slash-separated, relative to the context root. */
bool dockerignore_excludes(const struct dockerignore *di, const char *path);
