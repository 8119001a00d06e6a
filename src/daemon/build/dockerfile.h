/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Dockerfile language as dockerd's classic builder reads it (moby's
 * builder/dockerfile with buildkit's frontend/dockerfile/parser): parser
 * directives at the top (escape, syntax), comments, line continuations,
 * instructions with their --flags, and each instruction's arguments in its
 * JSON or shell form. Words keep their quotes and variables: they are
 * expanded per instruction at build time (shell-lex.h), as dockerd expands
 * them. Pure and bounded: a Dockerfile comes from a client and is fuzzed
 * (tests/fuzz/fuzz-dockerfile.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define DOCKERFILE_MAX (8u << 20) /* bytes; dockerd's own limit is larger, no one needs it */

struct df_flag {
	char *name;  /* without the dashes */
	char *value; /* NULL for a flag given without =value */
};

struct df_inst {
	char *cmd;	/* lower case: "from", "run", "copy", ... */
	char *original; /* the line as written, continuations joined (messages, history) */
	char *rest;	/* everything after the instruction and its flags, trimmed */
	int line;	/* its first line, from 1 */
	struct df_flag *flags;
	size_t n_flags;
	/*
	 * The arguments. JSON form: the array's strings (json true). Shell form
	 * of RUN, CMD, ENTRYPOINT: one element, the rest of the line. ENV,
	 * LABEL: pairs, args[2i] the key and args[2i+1] the value (raw words).
	 * ARG: "name" or "name=value" words. HEALTHCHECK: "NONE", or "CMD"
	 * followed by the command as for CMD. ONBUILD: the trigger, in `sub`.
	 * Others: whitespace-separated words, quotes kept.
	 */
	char **args;
	bool json;
	struct df_inst *sub; /* ONBUILD's instruction */
};

struct dockerfile {
	char escape; /* '\\' or '`' */
	char *syntax;
	struct df_inst *insts;
	size_t n_insts;
	char **warnings; /* strv: empty continuation lines and the like */
};

/*
 * Parses text. 400-style errors (ARCA_ERR_INVALID) with dockerd's wording:
 * "unknown instruction: FOO", "Unknown flag: x", "file with no instructions",
 * a heredoc; a malformed JSON form is taken as the shell form, as dockerd does.
 */
int dockerfile_parse(const char *text, size_t len, struct dockerfile **ret,
		     struct arca_error **err);
struct dockerfile *dockerfile_free(struct dockerfile *df);
void df_inst_free(struct df_inst *i);

/*
 * The flags of i that only BuildKit reads (RUN --mount, COPY --link, ...):
 * dockerd's classic builder refuses them when it reaches the step, as this does.
 */
int dockerfile_buildkit_only(const struct df_inst *i, struct arca_error **err);

/* The value of flag `name` of i ("" when given bare), or NULL when absent. */
const char *df_flag(const struct df_inst *i, const char *name);
