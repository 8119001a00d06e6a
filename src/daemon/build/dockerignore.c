/* SPDX-License-Identifier: Apache-2.0 */
/* .dockerignore patterns (see dockerignore.h). */
#include "dockerignore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "strv.h"

struct pattern {
	char *text; /* cleaned, without "!" */
	bool exclusion;
};

struct dockerignore {
	struct pattern *p;
	size_t n;
};

struct dockerignore *dockerignore_free(struct dockerignore *di)
{
	if (!di)
		return NULL;
	for (size_t i = 0; i < di->n; i++)
		free(di->p[i].text);
	free(di->p);
	free(di);
	return NULL;
}

/* filepath.Clean for a relative slash path: no leading "/", ".." kept at the start. */
static char *clean(const char *s)
{
	while (*s == '/')
		s++;
	return path_clean(s);
}

int dockerignore_parse(const char *text, size_t len, struct dockerignore **ret,
		       struct arca_error **err)
{
	struct dockerignore *di = xnew0(struct dockerignore, 1);
	_cleanup_free_ char *copy = xstrndup(text, len);
	char *s = copy;
	if ((unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb &&
	    (unsigned char)s[2] == 0xbf)
		s += 3;
	for (char *line = s; line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *next = nl ? nl + 1 : NULL;
		if (line[0] == '#') {
			line = next;
			continue;
		}
		size_t n = strlen(line);
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			line[--n] = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line) {
			line = next;
			continue;
		}
		bool ex = line[0] == '!';
		if (ex) {
			line++;
			while (*line == ' ' || *line == '\t')
				line++;
			if (!*line) {
				dockerignore_free(di);
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "illegal exclusion pattern: \"!\"");
			}
		}
		di->p = xrealloc(di->p, (di->n + 1) * sizeof(*di->p));
		di->p[di->n++] = (struct pattern){ .text = clean(line), .exclusion = ex };
		line = next;
	}
	*ret = di;
	return 0;
}

/*
 * A pattern as moby's patternmatcher turns it into a regular expression:
 * "*" is [^/]*, "?" is [^/], "**" is any run of whole directories (any
 * run of characters at the end), "[...]" a class, "\x" the character x. Matched by simulating the
 * automaton over the name, so the time is bounded by pattern x name (no backtracking: a hostile
 * pattern cannot make it explode).
 */
enum tok_kind {
	T_LIT,
	T_ANY,	   /* ? */
	T_CLASS,   /* [...] */
	T_STAR,	   /* * */
	T_DSTAR,   /* ** at the end: any characters */
	T_DS_OPEN, /* ** elsewhere: an optional group's entry ... */
	T_DS_BODY, /* ... and its loop over any character, left on a '/' */
};

struct tok {
	enum tok_kind kind;
	char c;
	const char *cls; /* after '[' */
};

/* The class at cls (after '['): does it take ch? *end: after ']'. false if unclosed. */
static bool class_match(const char *cls, char ch, const char **end, bool *ok)
{
	const char *q = cls;
	bool neg = *q == '^' || *q == '!';
	if (neg)
		q++;
	bool hit = false;
	while (*q && *q != ']') {
		char lo = *q == '\\' && q[1] ? *++q : *q;
		char hi = lo;
		if (q[1] == '-' && q[2] && q[2] != ']') {
			q += 2;
			hi = *q == '\\' && q[1] ? *++q : *q;
		}
		hit |= ch >= lo && ch <= hi;
		q++;
	}
	*ok = *q == ']';
	*end = *q ? q + 1 : q;
	return hit != neg;
}

static size_t tokenize(const char *p, struct tok *out)
{
	size_t n = 0;
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			p += 2;
			if (*p == '/')
				p++;
			if (!*p) {
				out[n++] = (struct tok){ .kind = T_DSTAR };
			} else {
				out[n++] = (struct tok){ .kind = T_DS_OPEN };
				out[n++] = (struct tok){ .kind = T_DS_BODY };
			}
			continue;
		}
		if (*p == '*') {
			out[n++] = (struct tok){ .kind = T_STAR };
			p++;
		} else if (*p == '?') {
			out[n++] = (struct tok){ .kind = T_ANY };
			p++;
		} else if (*p == '[') {
			const char *end;
			bool ok;
			(void)class_match(p + 1, 0, &end, &ok);
			out[n++] =
			    (struct tok){ .kind = ok ? T_CLASS : T_LIT, .c = '[', .cls = p + 1 };
			p = ok ? end : p + 1;
		} else {
			if (*p == '\\' && p[1])
				p++;
			out[n++] = (struct tok){ .kind = T_LIT, .c = *p };
			p++;
		}
	}
	return n;
}

/* Follows the moves that take no character, in order (each only goes forward). */
static void closure(const struct tok *t, size_t n, bool *set)
{
	for (size_t i = 0; i < n; i++) {
		if (!set[i])
			continue;
		if (t[i].kind == T_STAR || t[i].kind == T_DSTAR)
			set[i + 1] = true;
		else if (t[i].kind == T_DS_OPEN)
			set[i + 1] = set[i + 2] = true;
	}
}

static bool match(const char *pattern, const char *s)
{
	size_t plen = strlen(pattern);
	/* At most two tokens per pattern character, and the end state. */
	struct tok *t = xnew0(struct tok, 2 * plen + 2);
	size_t n = tokenize(pattern, t);
	bool *cur = xnew0(bool, n + 2), *next = xnew0(bool, n + 2);
	cur[0] = true;
	closure(t, n, cur);
	for (; *s; s++) {
		memset(next, 0, n + 2);
		bool any = false;
		for (size_t i = 0; i < n; i++) {
			if (!cur[i])
				continue;
			const char *end;
			bool ok;
			switch (t[i].kind) {
			case T_LIT: next[i + 1] |= *s == t[i].c; break;
			case T_ANY: next[i + 1] |= *s != '/'; break;
			case T_CLASS:
				next[i + 1] |= *s != '/' && class_match(t[i].cls, *s, &end, &ok);
				break;
			case T_STAR: next[i] |= *s != '/'; break;
			case T_DSTAR: next[i] = true; break;
			case T_DS_OPEN: break; /* left by closure */
			case T_DS_BODY:
				next[i] = true;
				next[i + 1] |= *s == '/';
				break;
			}
		}
		closure(t, n, next);
		for (size_t i = 0; i <= n; i++)
			any |= next[i];
		bool *tmp = cur;
		cur = next;
		next = tmp;
		if (!any)
			break;
	}
	bool hit = !*s && cur[n];
	free(t);
	free(cur);
	free(next);
	return hit;
}

bool dockerignore_excludes(const struct dockerignore *di, const char *path)
{
	if (!di)
		return false;
	_cleanup_free_ char *cp = clean(path);
	if (strcmp(cp, ".") == 0)
		return false; /* the root can never be excluded */
	bool excluded = false;
	for (size_t i = 0; i < di->n; i++) {
		const struct pattern *pt = &di->p[i];
		/* The path or one of its parents. */
		bool m = match(pt->text, cp);
		for (char *slash = strchr(cp, '/'); !m && slash; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			m = match(pt->text, cp);
			*slash = '/';
		}
		if (m)
			excluded = !pt->exclusion;
	}
	return excluded;
}
