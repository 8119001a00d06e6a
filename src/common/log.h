/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one logging API (rule L1). The level and the identity prefix are the
 * only global state (rule S1 exception). Library code (common, proto, vm,
 * image) logs at debug level at most.
 */
#pragma once

#include <errno.h>
#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

void log_setup(const char *ident, enum log_level level);
/* The level alone, at any time, from any thread. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_parse_level(const char *s); /* -EINVAL if unknown */

/* Writes one line; `error` > 0 makes %m expand to strerror(error). Returns -error. */
int log_internal(enum log_level level, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) ((void)log_internal(LOG_LEVEL_ERROR, 0, __VA_ARGS__))
#define log_warn(...)  ((void)log_internal(LOG_LEVEL_WARN, 0, __VA_ARGS__))
#define log_info(...)  ((void)log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__))
#define log_debug(...)                                                       \
	do {                                                                 \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                      \
			(void)log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__); \
	} while (0)

/* These return -abs(r) so `return log_error_errno(r, "...: %m");` is one line. */
#define log_error_errno(r, ...) log_internal(LOG_LEVEL_ERROR, (r) < 0 ? -(r) : (r), __VA_ARGS__)
#define log_warn_errno(r, ...)	log_internal(LOG_LEVEL_WARN, (r) < 0 ? -(r) : (r), __VA_ARGS__)
#define log_debug_errno(r, ...) log_internal(LOG_LEVEL_DEBUG, (r) < 0 ? -(r) : (r), __VA_ARGS__)
