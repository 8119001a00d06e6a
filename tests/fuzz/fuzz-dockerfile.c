/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a build client sends that arcad parses itself
 * (daemon/build/): the Dockerfile parser, the variable expansion of every
 * word (single words and word lists), the config steps applied to a config,
 * and .dockerignore patterns matched against a few paths. Nothing may crash,
 * leak or read out of bounds; an expansion stays within its bound.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "dockerfile.h"
#include "dockerignore.h"
#include "shell-lex.h"
#include "strv.h"

static const char *lookup(const char *name, void *userdata)
{
	(void)userdata;
	if (strcmp(name, "A") == 0)
		return "a value";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	if (strcmp(name, "DEEP") == 0)
		return "${A:-${EMPTY:+x}}";
	return NULL;
}

static void expand(const char *word, char escape)
{
	char *w = NULL;
	if (shlex_word(word, escape, lookup, NULL, &w, NULL) == 0) {
		if (strlen(w) > (2u << 20))
			abort();
		free(w);
	}
	char **ws = NULL;
	if (shlex_words(word, escape, lookup, NULL, &ws, NULL) == 0)
		strv_free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dockerfile *df = NULL;
	if (dockerfile_parse((const char *)data, size, &df, NULL) == 0) {
		struct build_config_ctx c = { .config = json_object(),
					      .escape = df->escape,
					      .lookup = lookup };
		for (size_t i = 0; i < df->n_insts; i++) {
			const struct df_inst *in = &df->insts[i];
			for (char **a = in->args; a && *a; a++)
				expand(*a, df->escape);
			(void)dockerfile_buildkit_only(in, NULL);
			if (build_config_only(in->cmd)) {
				char *commit = NULL, *note = NULL;
				(void)build_config_apply(&c, in, &commit, &note, NULL);
				free(commit);
				free(note);
			}
		}
		json_decref(c.config);
		free(c.author);
		dockerfile_free(df);
	}
	/* The same bytes as one word, and as a .dockerignore. */
	char *word = strndup((const char *)data, size);
	if (word) {
		expand(word, '\\');
		expand(word, '`');
		free(word);
	}
	struct dockerignore *di = NULL;
	if (dockerignore_parse((const char *)data, size, &di, NULL) == 0) {
		static const char *const paths[] = { "Dockerfile", ".dockerignore", "a/b/c",
						     "dir/sub/file.txt", "x" };
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			(void)dockerignore_excludes(di, paths[i]);
		dockerignore_free(di);
	}
	return 0;
}
