/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one error contract (rules E1/E2): a fallible function returns < 0 (or
 * NULL) and sets *err exactly once. The error carries an errno-like code, a
 * kind the API layer maps to an HTTP status, and a message to which callers
 * prepend context on the way up with arca_error_wrap().
 *
 * Passing err == NULL is allowed: the error is then dropped.
 */
#pragma once

#include <stdarg.h>

enum arca_error_kind {
	ARCA_ERR_INTERNAL,     /* 500 */
	ARCA_ERR_INVALID,      /* 400: bad parameter or input */
	ARCA_ERR_NOT_FOUND,    /* 404 */
	ARCA_ERR_CONFLICT,     /* 409 */
	ARCA_ERR_NOT_MODIFIED, /* 304 */
	ARCA_ERR_UNAUTHORIZED, /* 401 */
	ARCA_ERR_FORBIDDEN,    /* 403 */
	ARCA_ERR_UNAVAILABLE,  /* 503 */
	ARCA_ERR_UNSUPPORTED,  /* 501 */
	_ARCA_ERR_KIND_MAX,
};

struct arca_error {
	int code; /* > 0, errno-like */
	enum arca_error_kind kind;
	char *msg;
};

/* Sets *err (if err != NULL) and returns -code. */
int arca_error_set(struct arca_error **err, int code, enum arca_error_kind kind, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));
int arca_error_setv(struct arca_error **err, int code, enum arca_error_kind kind, const char *fmt,
		    va_list ap) __attribute__((format(printf, 4, 0)));

/* Like arca_error_set() with kind INTERNAL and ": strerror(code)" appended. */
int arca_error_errno(struct arca_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message with "context: " and return -code. err may be NULL or *err NULL. */
int arca_error_wrap(struct arca_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct arca_error *arca_error_free(struct arca_error *e);
static inline void arca_error_freep(struct arca_error **e)
{
	if (*e)
		*e = arca_error_free(*e);
}
#define _cleanup_error_ __attribute__((cleanup(arca_error_freep)))

/* The error's code as a negative return value, or -EIO when err is NULL. */
int arca_error_ret(const struct arca_error *e);
