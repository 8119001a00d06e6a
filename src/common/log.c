/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging to stderr, one line per call. Global state: the identity and the
 * level (the documented exception of rule S1). log_setup() runs once in
 * main(), before any thread; the level alone may change later (a daemon's
 * reload), read and written atomically.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "arca";
static enum log_level log_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void log_setup(const char *ident, enum log_level level)
{
	if (ident)
		log_ident = ident;
	log_set_level(level);
}

void log_set_level(enum log_level level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int log_parse_level(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "warn") == 0)
		return LOG_LEVEL_WARN;
	return -EINVAL;
}

int log_internal(enum log_level level, int error, const char *fmt, ...)
{
	if (level > log_get_level())
		return -error;

	int saved = errno;
	char msg[2048];
	va_list ap;

	errno = error; /* %m expands to the error we were given */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%d]: %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, log_ident, (int)getpid(), level_names[level], msg);
	errno = saved;
	return -error;
}
