/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The build steps that only change the image config (ENV, LABEL, CMD,
 * ENTRYPOINT, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, HEALTHCHECK,
 * SHELL, ONBUILD, MAINTAINER), applied as dockerd's classic builder
 * applies them, with the text its history records for each ("ENV a=b",
 * `CMD ["sh"]`, ...; Go's formatting where dockerd prints Go values). Pure:
 * the expansion's variables come from a lookup function.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "dockerfile.h"
#include "error.h"
#include "shell-lex.h"

struct build_config_ctx {
	json_t *config; /* the stage's config: changed in place */
	char escape;
	shlex_lookup_fn lookup;
	void *userdata;
	bool cmd_set; /* a CMD came earlier in this stage (ENTRYPOINT keeps it) */
	char *author; /* MAINTAINER's text, owned */
};

/* A JSON array's strings joined by spaces ("a b"), as history and step lines show them. */
char *build_words_join(json_t *array);

/* Is cmd ("env", "label", ...) one of the instructions build_config_apply takes? */
bool build_config_only(const char *cmd);

/*
 * Applies i to c->config. *ret_commit: what dockerd's history says after
 * "#(nop) " ("ENV a=b"). *ret_note: a line to print first (HEALTHCHECK
 * replacing one), or NULL. Errors are the user's (400-kind), with
 * dockerd's words.
 */
int build_config_apply(struct build_config_ctx *c, const struct df_inst *i, char **ret_commit,
		       char **ret_note, struct arca_error **err);

/* The config with PATH added to Env when it has none, as a stage starts. */
void build_config_default_path(json_t *config);

/* Go's %q of a string (for history texts). */
char *go_quote(const char *s);
/* Go's %q of a []string: ["a" "b"]. */
char *go_quote_list(json_t *array);
/* Go's time.Duration String(): "1m30s", "500ms", "0s". */
char *go_duration(int64_t ns);
