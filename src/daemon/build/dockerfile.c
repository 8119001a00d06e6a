/* SPDX-License-Identifier: Apache-2.0 */
/* The Dockerfile parser (see dockerfile.h), after buildkit's frontend/dockerfile/parser. */
#include "dockerfile.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "cleanup.h"
#include "strv.h"

#define MAX_INSTS 10000

/* What each instruction's arguments look like. */
enum form {
	F_MAYBE_JSON,	   /* RUN CMD ENTRYPOINT: JSON, or the rest as one string */
	F_MAYBE_JSON_LIST, /* COPY ADD VOLUME: JSON, or words */
	F_JSON,		   /* SHELL: JSON only */
	F_NAME_VAL,	   /* ENV LABEL: pairs */
	F_NAME_OR_VAL,	   /* ARG: name or name=value words */
	F_WORDS,	   /* FROM EXPOSE: words */
	F_STRING,	   /* WORKDIR USER STOPSIGNAL MAINTAINER: the rest as one string */
	F_HEALTH,	   /* HEALTHCHECK */
	F_SUB,		   /* ONBUILD */
};

static const struct {
	const char *name;
	enum form form;
} instructions[] = {
	{ "add", F_MAYBE_JSON_LIST },	 { "arg", F_NAME_OR_VAL },
	{ "cmd", F_MAYBE_JSON },	 { "copy", F_MAYBE_JSON_LIST },
	{ "entrypoint", F_MAYBE_JSON },	 { "env", F_NAME_VAL },
	{ "expose", F_WORDS },		 { "from", F_WORDS },
	{ "healthcheck", F_HEALTH },	 { "label", F_NAME_VAL },
	{ "maintainer", F_STRING },	 { "onbuild", F_SUB },
	{ "run", F_MAYBE_JSON },	 { "shell", F_JSON },
	{ "stopsignal", F_STRING },	 { "user", F_STRING },
	{ "volume", F_MAYBE_JSON_LIST }, { "workdir", F_STRING },
};

struct parser {
	char escape;
	const char *file; /* for messages */
};

static int syntax(struct arca_error **err, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int syntax(struct arca_error **err, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
			      "dockerfile parse error on line %d: %s", line, msg ? msg : "?");
}

void df_inst_free(struct df_inst *i)
{
	if (!i)
		return;
	free(i->cmd);
	free(i->original);
	free(i->rest);
	for (size_t k = 0; k < i->n_flags; k++) {
		free(i->flags[k].name);
		free(i->flags[k].value);
	}
	free(i->flags);
	strv_free(i->args);
	if (i->sub) {
		df_inst_free(i->sub);
		free(i->sub);
	}
}

struct dockerfile *dockerfile_free(struct dockerfile *df)
{
	if (!df)
		return NULL;
	for (size_t i = 0; i < df->n_insts; i++)
		df_inst_free(&df->insts[i]);
	free(df->insts);
	free(df->syntax);
	strv_free(df->warnings);
	free(df);
	return NULL;
}

const char *df_flag(const struct df_inst *i, const char *name)
{
	for (size_t k = 0; k < i->n_flags; k++)
		if (strcmp(i->flags[k].name, name) == 0)
			return i->flags[k].value ? i->flags[k].value : "";
	return NULL;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static char *trim(const char *s, size_t n)
{
	while (n && is_ws(*s)) {
		s++;
		n--;
	}
	while (n && is_ws(s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/*
 * Splits s into words on unquoted, unescaped whitespace; quotes and escapes
 * are kept in the words (buildkit's parseWords), for the expansion to read.
 */
static char **words(const char *s, char escape)
{
	char **out = strv_copy(NULL);
	char *w = xmalloc(strlen(s) + 1);
	size_t n = 0;
	char quote = 0;
	bool have = false;
	for (const char *p = s;; p++) {
		char c = *p;
		if (!c || (!quote && is_ws(c))) {
			if (have) {
				w[n] = '\0';
				out = strv_append(out, w);
				n = 0;
				have = false;
			}
			if (!c)
				break;
			continue;
		}
		have = true;
		if (c == escape && p[1] && quote != '\'') {
			w[n++] = c;
			w[n++] = *++p;
			continue;
		}
		if (quote && c == quote)
			quote = 0;
		else if (!quote && (c == '\'' || c == '"'))
			quote = c;
		w[n++] = c;
	}
	free(w);
	return out;
}

/* A JSON array of strings, or NULL. */
static char **json_list(const char *s)
{
	if (s[0] != '[')
		return NULL;
	json_error_t e;
	json_t *a = json_loads(s, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_array(a)) {
		json_decref(a);
		return NULL;
	}
	char **out = strv_copy(NULL);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v)) {
			strv_free(out);
			json_decref(a);
			return NULL;
		}
		out = strv_append(out, json_string_value(v));
	}
	json_decref(a);
	return out;
}

/* ENV and LABEL: "k=v ..." (quotes kept in the values), or the old "k value here". */
static int name_val(struct df_inst *i, const struct parser *p, struct arca_error **err)
{
	_cleanup_strv_free_ char **ws = words(i->rest, p->escape);
	_cleanup_free_ char *upper = xstrdup(i->cmd);
	for (char *c = upper; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	if (!ws[0])
		return syntax(err, i->line, "%s must have two arguments", upper);
	i->args = strv_copy(NULL);
	if (!strchr(ws[0], '=')) {
		/* KEY value: the value is the rest, as written. */
		const char *r = i->rest;
		size_t klen = strcspn(r, " \t");
		const char *v = r + klen;
		while (is_ws(*v))
			v++;
		if (!*v)
			return syntax(err, i->line, "%s must have two arguments", upper);
		i->args = strv_append_take(i->args, xstrndup(r, klen));
		i->args = strv_append(i->args, v);
		return 0;
	}
	for (char **w = ws; *w; w++) {
		char *eq = strchr(*w, '=');
		if (!eq)
			return syntax(err, i->line,
				      "Syntax error - can't find = in \"%s\". Must be of the form: "
				      "name=value",
				      *w);
		if (eq == *w)
			return syntax(err, i->line, "%s names can not be blank", upper);
		i->args = strv_append_take(i->args, xstrndup(*w, (size_t)(eq - *w)));
		i->args = strv_append(i->args, eq + 1);
	}
	return 0;
}

/* Leading "--name[=value]" words (values may be quoted), as buildkit's extractBuilderFlags. */
static const char *take_flags(struct df_inst *i, const char *rest, char escape)
{
	const char *p = rest;
	for (;;) {
		while (is_ws(*p))
			p++;
		if (p[0] != '-' || p[1] != '-')
			return p;
		const char *start = p;
		char quote = 0;
		while (*p && (quote || !is_ws(*p))) {
			if (*p == escape && p[1] && quote != '\'') {
				p += 2;
				continue;
			}
			if (quote && *p == quote)
				quote = 0;
			else if (!quote && (*p == '"' || *p == '\''))
				quote = *p;
			p++;
		}
		if (p - start == 2) /* "--" alone ends the flags */
			return p;
		_cleanup_free_ char *word = xstrndup(start + 2, (size_t)(p - start - 2));
		char *eq = strchr(word, '=');
		i->flags = xrealloc(i->flags, (i->n_flags + 1) * sizeof(*i->flags));
		struct df_flag *f = &i->flags[i->n_flags++];
		f->name = eq ? xstrndup(word, (size_t)(eq - word)) : xstrdup(word);
		f->value = NULL;
		if (eq) {
			/* Unquote a quoted value; the rest is kept for expansion. */
			const char *v = eq + 1;
			size_t vl = strlen(v);
			if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0])
				f->value = xstrndup(v + 1, vl - 2);
			else
				f->value = xstrdup(v);
		}
	}
}

/* The flags each instruction takes; "*" marks those only BuildKit reads. */
static const struct {
	const char *cmd;
	const char *const flags[8];
} known_flags[] = {
	{ "from", { "platform" } },
	{ "run", { "*mount", "*network", "*security" } },
	{ "copy", { "from", "chown", "*chmod", "*link", "*parents", "*exclude" } },
	{ "add", { "chown", "*chmod", "*link", "*checksum", "*keep-git-dir", "*exclude" } },
	{ "healthcheck", { "interval", "timeout", "start-period", "start-interval", "retries" } },
};

/* 0: a flag cmd takes; 1: one only BuildKit reads; -1: unknown. */
static int flag_kind(const char *cmd, const char *flag)
{
	for (size_t k = 0; k < ELEMENTSOF(known_flags); k++) {
		if (strcmp(known_flags[k].cmd, cmd) != 0)
			continue;
		for (size_t j = 0; j < ELEMENTSOF(known_flags[k].flags) && known_flags[k].flags[j];
		     j++) {
			const char *f = known_flags[k].flags[j];
			bool bk = f[0] == '*';
			if (strcmp(bk ? f + 1 : f, flag) == 0)
				return bk ? 1 : 0;
		}
	}
	return -1;
}

static int check_flags(const struct df_inst *i, struct arca_error **err)
{
	for (size_t k = 0; k < i->n_flags; k++) {
		const struct df_flag *f = &i->flags[k];
		if (flag_kind(i->cmd, f->name) < 0)
			return syntax(err, i->line, "Unknown flag: %s", f->name);
		for (size_t j = 0; j < k; j++)
			if (strcmp(i->flags[j].name, f->name) == 0)
				return syntax(err, i->line, "Duplicate flag specified: %s",
					      f->name);
		if (!f->value && strcmp(f->name, "link") != 0)
			return syntax(err, i->line, "Missing a value on flag: %s", f->name);
	}
	return 0;
}

int dockerfile_buildkit_only(const struct df_inst *i, struct arca_error **err)
{
	for (size_t k = 0; k < i->n_flags; k++)
		if (flag_kind(i->cmd, i->flags[k].name) == 1)
			return arca_error_set(
			    err, ENOTSUP, ARCA_ERR_INVALID,
			    "the --%s option requires BuildKit. Refer to "
			    "https://docs.docker.com/go/buildkit/ to learn how to "
			    "build images with BuildKit enabled",
			    i->flags[k].name);
	return 0;
}

/* Heredocs ("RUN <<EOF"): the classic builder has none. */
static int heredoc(const struct df_inst *i, struct arca_error **err)
{
	if ((strcmp(i->cmd, "run") == 0 || strcmp(i->cmd, "copy") == 0 ||
	     strcmp(i->cmd, "add") == 0) &&
	    i->rest && strncmp(i->rest, "<<", 2) == 0 &&
	    (isalpha((unsigned char)i->rest[2]) || i->rest[2] == '-' || i->rest[2] == '"' ||
	     i->rest[2] == '\'' || i->rest[2] == '_'))
		return syntax(
		    err, i->line,
		    "heredocs require BuildKit. Refer to https://docs.docker.com/go/buildkit/ "
		    "to learn how to build images with BuildKit enabled");
	return 0;
}

static int parse_line(const char *line, int lineno, const struct parser *p, bool sub,
		      struct df_inst *i, struct arca_error **err);

static int parse_args(struct df_inst *i, enum form form, const struct parser *p,
		      struct arca_error **err)
{
	char **j;
	switch (form) {
	case F_MAYBE_JSON:
		if ((j = json_list(i->rest))) {
			i->args = j;
			i->json = true;
		} else {
			i->args = strv_copy(NULL);
			if (i->rest[0])
				i->args = strv_append(i->args, i->rest);
		}
		return 0;
	case F_MAYBE_JSON_LIST:
		if ((j = json_list(i->rest))) {
			i->args = j;
			i->json = true;
		} else {
			i->args = words(i->rest, p->escape);
		}
		return 0;
	case F_JSON:
		if (!(j = json_list(i->rest)))
			return syntax(err, i->line,
				      "SHELL requires the arguments to be in JSON form");
		i->args = j;
		i->json = true;
		return 0;
	case F_NAME_VAL: return name_val(i, p, err);
	case F_NAME_OR_VAL:
	case F_WORDS: i->args = words(i->rest, p->escape); return 0;
	case F_STRING:
		i->args = strv_copy(NULL);
		if (i->rest[0])
			i->args = strv_append(i->args, i->rest);
		return 0;
	case F_HEALTH: {
		size_t kl = strcspn(i->rest, " \t");
		_cleanup_free_ char *kind = xstrndup(i->rest, kl);
		const char *r = i->rest + kl;
		while (is_ws(*r))
			r++;
		i->args = strv_copy(NULL);
		if (strcasecmp(kind, "none") == 0) {
			if (*r)
				return syntax(err, i->line, "HEALTHCHECK NONE takes no arguments");
			i->args = strv_append(i->args, "NONE");
			return 0;
		}
		if (strcasecmp(kind, "cmd") != 0)
			return syntax(err, i->line, "Unknown type \"%s\" in HEALTHCHECK (try CMD)",
				      kind);
		i->args = strv_append(i->args, "CMD");
		if ((j = json_list(r))) {
			for (char **s = j; *s; s++)
				i->args = strv_append(i->args, *s);
			strv_free(j);
			i->json = true;
		} else if (*r) {
			i->args = strv_append(i->args, r);
		}
		return 0;
	}
	case F_SUB: {
		if (!i->rest[0])
			return syntax(err, i->line, "ONBUILD requires at least one argument");
		i->sub = xnew0(struct df_inst, 1);
		int r = parse_line(i->rest, i->line, p, true, i->sub, err);
		if (r < 0)
			return r;
		if (!strcmp(i->sub->cmd, "onbuild") || !strcmp(i->sub->cmd, "from") ||
		    !strcmp(i->sub->cmd, "maintainer"))
			return syntax(err, i->line, "%s isn't allowed as an ONBUILD trigger",
				      i->sub->cmd);
		i->args = strv_copy(NULL);
		return 0;
	}
	}
	return 0;
}

static int parse_line(const char *line, int lineno, const struct parser *p, bool sub,
		      struct df_inst *i, struct arca_error **err)
{
	_cleanup_free_ char *t = trim(line, strlen(line));
	size_t cl = strcspn(t, " \t\r\f\v");
	i->line = lineno;
	i->original = xstrdup(t);
	i->cmd = xstrndup(t, cl);
	for (char *c = i->cmd; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	const char *rest = take_flags(i, t + cl, p->escape);
	i->rest = trim(rest, strlen(rest));
	for (size_t k = 0; k < ELEMENTSOF(instructions); k++)
		if (strcmp(i->cmd, instructions[k].name) == 0) {
			int r = check_flags(i, err);
			if (r >= 0)
				r = heredoc(i, err);
			return r < 0 ? r : parse_args(i, instructions[k].form, p, err);
		}
	(void)sub;
	return syntax(err, lineno, "unknown instruction: %.*s", (int)cl, t);
}

/* "# key=value" at the top: escape and syntax (other keys are comments). */
static bool directive(const char *line, struct parser *p, struct dockerfile *df, bool *bad)
{
	const char *s = line;
	while (is_ws(*s))
		s++;
	if (*s != '#')
		return false;
	s++;
	while (is_ws(*s))
		s++;
	size_t kl = 0;
	while (isalnum((unsigned char)s[kl]) || s[kl] == '_' || s[kl] == '-')
		kl++;
	const char *e = s + kl;
	while (is_ws(*e))
		e++;
	if (!kl || *e != '=')
		return false;
	e++;
	while (is_ws(*e))
		e++;
	_cleanup_free_ char *val = trim(e, strlen(e));
	if (kl == 6 && strncasecmp(s, "escape", 6) == 0) {
		if (strcmp(val, "\\") && strcmp(val, "`"))
			*bad = true;
		else
			p->escape = val[0];
	} else if (kl == 6 && strncasecmp(s, "syntax", 6) == 0) {
		free(df->syntax);
		df->syntax = xstrdup(val);
	}
	return true;
}

/* "line\" (escape then whitespace at the end): true, with the escape removed. */
static bool continues(char *line, char escape)
{
	size_t n = strlen(line);
	while (n && is_ws(line[n - 1]))
		n--;
	if (n && line[n - 1] == escape) {
		line[n - 1] = '\0';
		return true;
	}
	return false;
}

static bool is_comment(const char *s)
{
	while (is_ws(*s))
		s++;
	return *s == '#';
}

static bool is_blank(const char *s)
{
	while (is_ws(*s))
		s++;
	return !*s;
}

int dockerfile_parse(const char *text, size_t len, struct dockerfile **ret, struct arca_error **err)
{
	if (len > DOCKERFILE_MAX)
		return arca_error_set(err, EFBIG, ARCA_ERR_INVALID,
				      "the Dockerfile is larger than %u bytes", DOCKERFILE_MAX);
	if (memchr(text, '\0', len))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "the Dockerfile has a NUL byte: it is not a text file");
	_cleanup_free_ char *copy = xstrndup(text, len);
	char *s = copy;
	if (len >= 3 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb &&
	    (unsigned char)s[2] == 0xbf)
		s += 3; /* a UTF-8 BOM */
	_cleanup_strv_free_ char **lines = strv_copy(NULL);
	for (char *l = s; l;) {
		char *e = strchr(l, '\n');
		if (e)
			*e = '\0';
		lines = strv_append(lines, l);
		l = e ? e + 1 : NULL;
	}
	struct dockerfile *df = xnew0(struct dockerfile, 1);
	struct parser p = { .escape = '\\' };
	df->warnings = strv_copy(NULL);
	size_t n = strv_length(lines);
	bool directives = true;
	int r = 0;
	for (size_t k = 0; k < n && r >= 0; k++) {
		char *line = lines[k];
		if (directives) {
			bool bad = false;
			if (directive(line, &p, df, &bad)) {
				if (bad)
					r = syntax(err, (int)k + 1,
						   "invalid ESCAPE. Must be ` or \\");
				continue;
			}
			directives = false; /* only before anything else */
		}
		if (is_comment(line) || is_blank(line))
			continue;
		int start = (int)k + 1;
		char *joined = xstrdup(line);
		bool more = continues(joined, p.escape), empty = false;
		while (more && k + 1 < n) {
			const char *next = lines[++k];
			if (is_comment(next))
				continue; /* comments inside a continuation are dropped */
			if (is_blank(next)) {
				empty = true;
				continue;
			}
			char *c = xstrdup(next);
			more = continues(c, p.escape);
			strappendf(&joined, "%s", c);
			free(c);
		}
		if (empty)
			df->warnings = strv_append_take(
			    df->warnings,
			    xasprintf("[WARNING]: Empty continuation line found in:\n    %s",
				      joined));
		if (is_blank(joined)) {
			free(joined);
			continue;
		}
		if (df->n_insts >= MAX_INSTS) {
			free(joined);
			r = syntax(err, start, "more than %d instructions", MAX_INSTS);
			break;
		}
		df->insts = xrealloc(df->insts, (df->n_insts + 1) * sizeof(*df->insts));
		struct df_inst *i = &df->insts[df->n_insts++];
		*i = (struct df_inst){ 0 };
		r = parse_line(joined, start, &p, false, i, err);
		free(joined);
	}
	if (r >= 0 && !df->n_insts)
		r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "file with no instructions");
	if (r < 0) {
		dockerfile_free(df);
		return r;
	}
	df->escape = p.escape;
	*ret = df;
	return 0;
}
