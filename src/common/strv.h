/* SPDX-License-Identifier: Apache-2.0 */
/* NULL-terminated string vectors. */
#pragma once

#include <stddef.h>

char **strv_free(char **l);
static inline void strv_freep(char ***l)
{
	if (*l)
		*l = strv_free(*l);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))
size_t strv_length(char *const *l);
char **strv_copy(char *const *l);
/* Appends s (taking ownership) and returns the (possibly moved) vector. */
char **strv_append_take(char **l, char *s);
char **strv_append(char **l, const char *s);
/* Sorts l in place by strcmp (NULL-safe). */
void strv_sort(char **l);
/*
 * Go's path.Clean: "." and empty components dropped, ".." resolved against
 * what precedes it (kept at the start of a relative path, dropped at the
 * root), "." for nothing. Caller frees.
 */
char *path_clean(const char *path);
