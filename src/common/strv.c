/* SPDX-License-Identifier: Apache-2.0 */
/* String vectors. */
#include "strv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

char **strv_free(char **l)
{
	if (!l)
		return NULL;
	for (char **p = l; *p; p++)
		free(*p);
	free(l);
	return NULL;
}

size_t strv_length(char *const *l)
{
	size_t n = 0;
	while (l && l[n])
		n++;
	return n;
}

char **strv_copy(char *const *l)
{
	size_t n = strv_length(l);
	char **c = xnew0(char *, n + 1);
	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(l[i]);
	return c;
}

char **strv_append_take(char **l, char *s)
{
	size_t n = strv_length(l);
	l = xreallocarray(l, n + 2, sizeof(char *));
	l[n] = s;
	l[n + 1] = NULL;
	return l;
}

char **strv_append(char **l, const char *s)
{
	return strv_append_take(l, xstrdup(s));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **l)
{
	if (l)
		qsort(l, strv_length(l), sizeof(char *), cmp_str);
}

char *path_clean(const char *path)
{
	bool rooted = path[0] == '/';
	char **parts = strv_copy(NULL);
	char *copy = xstrdup(path);
	char *save = NULL;
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		size_t n = strv_length(parts);
		if (strcmp(t, "..") == 0 && (rooted || (n && strcmp(parts[n - 1], "..") != 0))) {
			if (n) {
				free(parts[n - 1]);
				parts[n - 1] = NULL;
			}
			continue;
		}
		parts = strv_append(parts, t);
	}
	free(copy);
	size_t len = rooted ? 1 : 0;
	for (char **t = parts; *t; t++)
		len += strlen(*t) + 1;
	char *out = xmalloc(len + 2);
	size_t o = 0;
	if (rooted)
		out[o++] = '/';
	for (char **t = parts; *t; t++) {
		if (t != parts)
			out[o++] = '/';
		size_t l = strlen(*t);
		memcpy(out + o, *t, l);
		o += l;
	}
	if (!o)
		out[o++] = '.';
	out[o] = '\0';
	strv_free(parts);
	return out;
}
