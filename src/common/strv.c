/* SPDX-License-Identifier: Apache-2.0 */
/* String vectors. */
#include "strv.h"

#include <stdlib.h>

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
