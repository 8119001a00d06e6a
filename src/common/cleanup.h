/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scope-bound cleanup helpers (systemd/crun style).
 *
 * An owned local carries a cleanup attribute and a null initial value; an
 * ownership transfer is written TAKE_PTR()/TAKE_FD() so it is visible.
 */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		(void)close(*fd);
		errno = saved;
	}
}

static inline void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

#define _cleanup_free_	 _cleanup_(freep)
#define _cleanup_close_	 _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Take ownership of a pointer: returns it and nulls the variable. */
#define TAKE_PTR(p)                   \
	({                            \
		typeof(p) _tp_ = (p); \
		(p) = NULL;           \
		_tp_;                 \
	})

/* Take ownership of a file descriptor: returns it and sets the variable to -EBADF. */
#define TAKE_FD(fd)              \
	({                       \
		int _tf_ = (fd); \
		(fd) = -EBADF;   \
		_tf_;            \
	})

/* Defines name##p(type **) that calls func on a non-NULL pointee. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			*p = func(*p);          \
	}

/* Close an fd if valid; always returns -EBADF so `fd = safe_close(fd);` reads well. */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		(void)close(fd);
		errno = saved;
	}
	return -EBADF;
}

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))
