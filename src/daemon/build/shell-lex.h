/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Variable expansion in Dockerfile words, as dockerd's classic builder does
 * it (buildkit's frontend/dockerfile/shell lexer): '...' is literal, "..."
 * expands, the escape character quotes the next one, and $name, ${name},
 * ${name:-word}, ${name-word}, ${name:+word}, ${name+word}, ${name:?msg}
 * and ${name?msg} are replaced from the build's variables. Quotes are
 * removed. Pure and bounded (the input is a client's): fuzzed with the
 * parser.
 */
#pragma once

#include <stdbool.h>

#include "error.h"

/* The value of name, or NULL when it is not set. */
typedef const char *(*shlex_lookup_fn)(const char *name, void *userdata);

/* One word, expanded (caller frees *ret). 400 for a bad substitution or a ${x:?msg}. */
int shlex_word(const char *word, char escape, shlex_lookup_fn lookup, void *userdata, char **ret,
	       struct arca_error **err);
/*
 * The same, then split on whitespace that was neither quoted nor escaped,
 * variables' values included (buildkit's ProcessWords): a strv.
 */
int shlex_words(const char *word, char escape, shlex_lookup_fn lookup, void *userdata, char ***ret,
		struct arca_error **err);
