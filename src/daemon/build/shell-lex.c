/* SPDX-License-Identifier: Apache-2.0 */
/* Variable expansion in Dockerfile words (see shell-lex.h). */
#include "shell-lex.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "strv.h"

#define MAX_DEPTH  64	      /* nested ${a:-${b:-...}} */
#define MAX_OUTPUT (1u << 20) /* a word's expansion */

struct lex {
	const char *s;
	size_t i;
	char esc;
	shlex_lookup_fn lookup;
	void *ud;
	bool split;   /* shlex_words: unquoted whitespace ends a word */
	char **words; /* shlex_words' result so far */
	char *cur;    /* the word being built */
	size_t len, cap;
	bool started; /* cur is a word even if empty ("" counts) */
	int depth;
	struct arca_error **err;
	int r;
};

static int fail(struct lex *l, const char *what)
{
	if (l->r >= 0)
		l->r = arca_error_set(l->err, EINVAL, ARCA_ERR_INVALID, "%s", what);
	return l->r;
}

static void put(struct lex *l, char c)
{
	if (l->len + 2 > l->cap) {
		if (l->cap >= MAX_OUTPUT) {
			fail(l, "a variable expands to more than 1 MiB");
			return;
		}
		l->cap = l->cap ? 2 * l->cap : 64;
		l->cur = xrealloc(l->cur, l->cap);
	}
	l->cur[l->len++] = c;
	l->cur[l->len] = '\0';
	l->started = true;
}

static void end_word(struct lex *l)
{
	if (!l->started)
		return;
	l->words = strv_append(l->words, l->cur ? l->cur : "");
	l->len = 0;
	if (l->cur)
		l->cur[0] = '\0';
	l->started = false;
}

/* Text from a variable: in shlex_words, its unquoted whitespace separates words. */
static void put_value(struct lex *l, const char *v, bool quoted)
{
	for (const char *p = v; *p && l->r >= 0; p++) {
		if (l->split && !quoted && isspace((unsigned char)*p))
			end_word(l);
		else
			put(l, *p);
	}
}

static bool name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/*
 * The expansion of a ${...} modifier's word: processed like a word up to the
 * matching '}', into a string of its own.
 */
static char *sub_word(struct lex *l, bool quoted);

/* At '$' (l->i points after it): appends the expansion. */
static void dollar(struct lex *l, bool quoted)
{
	const char *s = l->s;
	if (s[l->i] != '{') {
		if (!name_start(s[l->i])) {
			put(l, '$'); /* a lone $ stays */
			return;
		}
		size_t st = l->i;
		while (name_char(s[l->i]))
			l->i++;
		_cleanup_free_ char *name = xstrndup(s + st, l->i - st);
		const char *v = l->lookup(name, l->ud);
		put_value(l, v ? v : "", quoted);
		return;
	}
	l->i++; /* '{' */
	if (++l->depth > MAX_DEPTH) {
		fail(l, "variables nested too deep");
		return;
	}
	size_t st = l->i;
	while (name_char(s[l->i]))
		l->i++;
	if (l->i == st || !name_start(s[st])) {
		fail(l, "bad substitution: a variable name must come after ${");
		return;
	}
	_cleanup_free_ char *name = xstrndup(s + st, l->i - st);
	const char *v = l->lookup(name, l->ud);
	if (s[l->i] == '}') {
		l->i++;
		l->depth--;
		put_value(l, v ? v : "", quoted);
		return;
	}
	bool colon = s[l->i] == ':';
	if (colon)
		l->i++;
	char mod = s[l->i];
	if (mod != '-' && mod != '+' && mod != '?') {
		fail(l, colon ? "bad substitution: unsupported modifier after ':' in ${...}"
			      : "bad substitution: missing '}' in ${...}");
		return;
	}
	l->i++;
	_cleanup_free_ char *word = sub_word(l, quoted);
	if (l->r < 0)
		return;
	bool set = v && (!colon || v[0]);
	l->depth--;
	switch (mod) {
	case '-': put_value(l, set ? v : word, quoted); break;
	case '+': put_value(l, set ? word : "", quoted); break;
	case '?':
		if (!set) {
			_cleanup_free_ char *msg =
			    xasprintf("%s: %s", name,
				      word[0] ? word
					      : (colon ? "is not allowed to be empty"
						       : "is not allowed to be unset"));
			fail(l, msg);
			return;
		}
		put_value(l, v, quoted);
		break;
	}
}

/* The body of "..." (l->i after the opening quote). */
static void dquote(struct lex *l)
{
	const char *s = l->s;
	l->started = true;
	while (l->r >= 0) {
		char c = s[l->i];
		if (!c) {
			fail(l,
			     "unexpected end of statement while looking for matching double-quote");
			return;
		}
		l->i++;
		if (c == '"')
			return;
		if (c == l->esc && (s[l->i] == '"' || s[l->i] == '$' || s[l->i] == l->esc)) {
			put(l, s[l->i++]);
			continue;
		}
		if (c == '$') {
			dollar(l, true);
			continue;
		}
		put(l, c);
	}
}

/* Processes l->s from l->i until its end, or until an unmatched '}' when stop. */
static void process(struct lex *l, bool stop)
{
	const char *s = l->s;
	while (l->r >= 0) {
		char c = s[l->i];
		if (!c)
			break;
		if (stop && c == '}')
			break;
		l->i++;
		if (c == '\'') {
			l->started = true;
			const char *end = strchr(s + l->i, '\'');
			if (!end) {
				fail(l, "unexpected end of statement while looking for matching "
					"single-quote");
				return;
			}
			while (s + l->i < end && l->r >= 0)
				put(l, s[l->i++]);
			l->i++;
		} else if (c == '"') {
			dquote(l);
		} else if (c == l->esc) {
			if (s[l->i])
				put(l, s[l->i++]);
			else
				put(l, c);
		} else if (c == '$') {
			dollar(l, false);
		} else if (l->split && isspace((unsigned char)c)) {
			end_word(l);
		} else {
			put(l, c);
		}
	}
}

static char *sub_word(struct lex *l, bool quoted)
{
	/* A fresh buffer for the word, then back to the outer one. */
	char *outer = l->cur;
	size_t olen = l->len, ocap = l->cap;
	bool ostarted = l->started, osplit = l->split;
	l->cur = NULL;
	l->len = l->cap = 0;
	l->split = false;
	(void)quoted;
	process(l, true);
	if (l->r >= 0 && l->s[l->i] != '}')
		fail(l, "bad substitution: missing '}' in ${...}");
	else if (l->r >= 0)
		l->i++;
	char *word = l->cur ? l->cur : xstrdup("");
	l->cur = outer;
	l->len = olen;
	l->cap = ocap;
	l->started = ostarted;
	l->split = osplit;
	return word;
}

static int run(const char *word, char escape, shlex_lookup_fn lookup, void *userdata, bool split,
	       struct lex *l, struct arca_error **err)
{
	*l = (struct lex){ .s = word,
			   .esc = escape,
			   .lookup = lookup,
			   .ud = userdata,
			   .split = split,
			   .words = strv_copy(NULL),
			   .err = err };
	process(l, false);
	if (l->r >= 0)
		end_word(l);
	return l->r;
}

int shlex_word(const char *word, char escape, shlex_lookup_fn lookup, void *userdata, char **ret,
	       struct arca_error **err)
{
	struct lex l;
	int r = run(word, escape, lookup, userdata, false, &l, err);
	if (r >= 0)
		*ret = xstrdup(l.words[0] ? l.words[0] : "");
	strv_free(l.words);
	free(l.cur);
	return r;
}

int shlex_words(const char *word, char escape, shlex_lookup_fn lookup, void *userdata, char ***ret,
		struct arca_error **err)
{
	struct lex l;
	int r = run(word, escape, lookup, userdata, true, &l, err);
	free(l.cur);
	if (r < 0) {
		strv_free(l.words);
		return r;
	}
	*ret = l.words;
	return 0;
}
