/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the Dockerfile parser (dockerfile.c) and variable expansion (shell-lex.c). */
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "dockerignore.h"
#include "shell-lex.h"
#include "strv.h"
#include "tap.h"

static struct dockerfile *parse(const char *text, char **msg)
{
	struct dockerfile *df = NULL;
	struct arca_error *err = NULL;
	if (dockerfile_parse(text, strlen(text), &df, &err) < 0) {
		if (msg)
			*msg = strdup(err->msg);
		arca_error_free(err);
		return NULL;
	}
	return df;
}

static const char *lookup(const char *name, void *ud)
{
	(void)ud;
	if (!strcmp(name, "a"))
		return "one";
	if (!strcmp(name, "sp"))
		return "x y";
	if (!strcmp(name, "empty"))
		return "";
	return NULL;
}

static char *ex(const char *w)
{
	char *out = NULL;
	struct arca_error *err = NULL;
	if (shlex_word(w, '\\', lookup, NULL, &out, &err) < 0) {
		out = strdup(err->msg);
		out[0] = '!'; /* mark it as an error */
		arca_error_free(err);
	}
	return out;
}

#define EXPANDS(w, want)                            \
	do {                                        \
		char *got_ = ex(w);                 \
		is_str(got_, want, "expand %s", w); \
		free(got_);                         \
	} while (0)

int main(void)
{
	char *msg = NULL;
	struct dockerfile *df =
	    parse("# syntax=docker/dockerfile:1\n# escape=`\n\nFROM busybox AS b\n"
		  "RUN echo a `\n  # a comment inside\n  && echo b\n"
		  "COPY --from=b --chown=1:2 /x /y/\n"
		  "ENV A=1 B=\"two words\"\nENV OLD value with spaces\n"
		  "CMD [\"sh\", \"-c\", \"echo hi\"]\nHEALTHCHECK --interval=5s CMD true\n"
		  "ONBUILD RUN echo later\nlabel x=y\n",
		  &msg);
	ok(df != NULL, "a Dockerfile with every form parses%s%s", msg ? ": " : "", msg ? msg : "");
	if (!df)
		return tap_done();
	is_int(df->escape, '`', "escape directive");
	is_str(df->syntax, "docker/dockerfile:1", "syntax directive");
	is_int(df->n_insts, 9, "nine instructions");
	is_str(df->insts[0].cmd, "from", "lower-case command");
	ok(strv_length(df->insts[0].args) == 3 && !strcmp(df->insts[0].args[2], "b"),
	   "FROM x AS b");
	is_str(df->insts[1].args[0], "echo a   && echo b", "continuation joined, comment dropped");
	is_int(df->insts[1].line, 5, "its first line");
	is_str(df_flag(&df->insts[2], "from"), "b", "COPY --from");
	is_str(df_flag(&df->insts[2], "chown"), "1:2", "COPY --chown");
	ok(strv_length(df->insts[2].args) == 2 && !strcmp(df->insts[2].args[1], "/y/"),
	   "COPY args");
	ok(strv_length(df->insts[3].args) == 4 && !strcmp(df->insts[3].args[2], "B") &&
	       !strcmp(df->insts[3].args[3], "\"two words\""),
	   "ENV pairs, quotes kept for the expansion");
	ok(!strcmp(df->insts[4].args[0], "OLD") &&
	       !strcmp(df->insts[4].args[1], "value with spaces"),
	   "ENV key value");
	ok(df->insts[5].json && strv_length(df->insts[5].args) == 3, "CMD in JSON form");
	ok(!strcmp(df->insts[6].args[0], "CMD") && !strcmp(df->insts[6].args[1], "true") &&
	       !strcmp(df_flag(&df->insts[6], "interval"), "5s"),
	   "HEALTHCHECK with a flag");
	ok(df->insts[7].sub && !strcmp(df->insts[7].sub->cmd, "run"), "ONBUILD's trigger");
	is_str(df->insts[8].cmd, "label", "instructions are case-insensitive");
	dockerfile_free(df);

	df = parse("FROM x\nRUN [\"not\", json\nRUN a \\\n\nRUN b\n", NULL);
	ok(df && !df->insts[1].json && strv_length(df->warnings) == 1,
	   "bad JSON is the shell form; an empty continuation line warns");
	dockerfile_free(df);

	struct {
		const char *text, *want;
	} bad[] = {
		{ "FROM x\nFOO bar\n",
		  "dockerfile parse error on line 2: unknown instruction: FOO" },
		{ "# just a comment\n\n", "file with no instructions" },
		{ "FROM x\nRUN --foo=1 true\n",
		  "dockerfile parse error on line 2: Unknown flag: foo" },
		{ "FROM x\nCOPY --from=a --from=b a b\n", "Duplicate flag specified: from" },
		{ "FROM x\nCOPY --chown a b\n", "Missing a value on flag: chown" },
		{ "FROM x\nRUN <<EOF\necho\nEOF\n", "heredocs require BuildKit" },
		{ "FROM x\nSHELL sh -c\n", "SHELL requires the arguments to be in JSON form" },
		{ "FROM x\nENV\n", "ENV must have two arguments" },
		{ "FROM x\nENV a=1 b\n", "can't find = in \"b\"" },
		{ "FROM x\nONBUILD FROM y\n", "isn't allowed as an ONBUILD trigger" },
		{ "# escape=x\nFROM x\n", "invalid ESCAPE" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg = NULL;
		df = parse(bad[i].text, &msg);
		ok(!df && msg && strstr(msg, bad[i].want), "refused: %s", bad[i].want);
		if (msg && !strstr(msg, bad[i].want))
			printf("#   got: %s\n", msg);
		free(msg);
		dockerfile_free(df);
	}
	df = parse("FROM x\nRUN --mount=type=cache,target=/x true\nCOPY --link a b\nCOPY a b\n",
		   NULL);
	struct arca_error *e = NULL;
	ok(df && dockerfile_buildkit_only(&df->insts[1], &e) < 0 &&
	       strstr(e->msg, "the --mount option requires BuildKit"),
	   "RUN --mount parses, and is refused when the step runs");
	arca_error_free(e);
	e = NULL;
	ok(df && dockerfile_buildkit_only(&df->insts[2], &e) < 0 &&
	       strstr(e->msg, "the --link option requires BuildKit") &&
	       dockerfile_buildkit_only(&df->insts[3], NULL) == 0,
	   "COPY --link too; a plain COPY is fine");
	arca_error_free(e);
	dockerfile_free(df);

	df = parse("# not a directive\n# escape=`\nFROM x\nRUN a \\\n b\n", NULL);
	ok(df && df->escape == '\\' && !strcmp(df->insts[1].args[0], "a  b"),
	   "directives only at the very top");
	dockerfile_free(df);

	EXPANDS("$a", "one");
	EXPANDS("${a}x", "onex");
	EXPANDS("'$a'", "$a");
	EXPANDS("\"$a $sp\"", "one x y");
	EXPANDS("\\$a", "$a");
	EXPANDS("${nope:-def}", "def");
	EXPANDS("${empty:-def}", "def");
	EXPANDS("${empty-def}", "");
	EXPANDS("${nope-def}", "def");
	EXPANDS("${a:+set}", "set");
	EXPANDS("${empty:+set}", "");
	EXPANDS("${empty+set}", "set");
	EXPANDS("${nope:-${a}}", "one");
	EXPANDS("${a:?msg}", "one");
	EXPANDS("${nope:?need it}", "!ope: need it");
	EXPANDS("${empty:?}", "!mpty: is not allowed to be empty");
	EXPANDS("$", "$");
	EXPANDS("a$1", "a$1");
	EXPANDS("${", "!ad substitution: a variable name must come after ${");
	EXPANDS("${a", "!ad substitution: missing '}' in ${...}");
	EXPANDS("'open", "!nexpected end of statement while looking for matching single-quote");
	char **w = NULL;
	ok(shlex_words("$sp \"$sp\" 'a b' c\\ d", '\\', lookup, NULL, &w, NULL) == 0 &&
	       strv_length(w) == 5 && !strcmp(w[0], "x") && !strcmp(w[1], "y") &&
	       !strcmp(w[2], "x y") && !strcmp(w[3], "a b") && !strcmp(w[4], "c d"),
	   "words: unquoted values split, quoted ones stay whole");
	strv_free(w);

	const char *ign = "# comment\n*.md\n!README.md\n**/node_modules\n/build/\n[a-c]?.txt\n"
			  "docs/**/*.png\nx/**\n";
	struct dockerignore *di = NULL;
	ok(dockerignore_parse(ign, strlen(ign), &di, NULL) == 0, ".dockerignore parses");
	struct {
		const char *path;
		bool excluded;
	} cases[] = {
		{ "notes.md", true },
		{ "README.md", false },
		{ "sub/notes.md", false },
		{ "node_modules", true },
		{ "a/b/node_modules/x", true },
		{ "build/out.o", true },
		{ "ab.txt", true },
		{ "db.txt", false },
		{ "docs/img.png", true },
		{ "docs/a/b/img.png", true },
		{ "docs/img.jpg", false },
		{ "x/anything/at/all", true },
		{ "x", false },
		{ ".", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(dockerignore_excludes(di, cases[i].path) == cases[i].excluded,
		   ".dockerignore: %s %s", cases[i].path, cases[i].excluded ? "excluded" : "kept");
	dockerignore_free(di);
	/* A pattern that made a backtracking matcher explode: bounded now. */
	char hostile[200];
	memset(hostile, '*', sizeof(hostile) - 2);
	hostile[sizeof(hostile) - 2] = 'q';
	hostile[sizeof(hostile) - 1] = '\0';
	ok(dockerignore_parse(hostile, strlen(hostile), &di, NULL) == 0 &&
	       !dockerignore_excludes(
		   di, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b/c/d"),
	   "many stars match in bounded time");
	dockerignore_free(di);
	ok(dockerignore_parse("!\n", 2, &di, NULL) < 0, "\"!\" alone is refused");
	return tap_done();
}
