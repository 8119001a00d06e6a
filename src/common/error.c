/* SPDX-License-Identifier: Apache-2.0 */
/* struct arca_error: construction, wrapping and release. */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

int arca_error_setv(struct arca_error **err, int code, enum arca_error_kind kind, const char *fmt,
		    va_list ap)
{
	if (code <= 0)
		code = code < 0 ? -code : EIO;
	if (!err)
		return -code;
	if (*err) /* never overwrite: the first error is the one that counts */
		return -code;

	struct arca_error *e = xnew0(struct arca_error, 1);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = xstrdup("(error message lost)");
	e->code = code;
	e->kind = kind;
	e->msg = msg;
	*err = e;
	return -code;
}

int arca_error_set(struct arca_error **err, int code, enum arca_error_kind kind, const char *fmt,
		   ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = arca_error_setv(err, code, kind, fmt, ap);
	va_end(ap);
	return r;
}

int arca_error_errno(struct arca_error **err, int code, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return arca_error_set(err, code, ARCA_ERR_INTERNAL, "%s: %s", buf, strerror(code));
}

int arca_error_wrap(struct arca_error **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -EIO;

	struct arca_error *e = *err;
	char *prefix = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (r >= 0) {
		char *msg = xasprintf("%s: %s", prefix, e->msg);
		free(prefix);
		free(e->msg);
		e->msg = msg;
	}
	return -e->code;
}

struct arca_error *arca_error_free(struct arca_error *e)
{
	if (!e)
		return NULL;
	free(e->msg);
	free(e);
	return NULL;
}

int arca_error_ret(const struct arca_error *e)
{
	return e ? -e->code : -EIO;
}
