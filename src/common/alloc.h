/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation helpers that abort on out-of-memory (rule O5): nobody checks
 * the result of an allocation.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *p, size_t n) __attribute__((returns_nonnull));
void *xreallocarray(void *p, size_t n, size_t size) __attribute__((returns_nonnull));
void *xmemdup(const void *p, size_t n) __attribute__((malloc, returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));
char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), malloc, returns_nonnull));
char *xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0), malloc, returns_nonnull));

/* Appends the formatted text to the string *s (NULL counts as ""), growing it. */
void strappendf(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define xnew0(type, n) ((type *)xcalloc((n), sizeof(type)))
