/* SPDX-License-Identifier: Apache-2.0 */
/* Microsecond time values (usec_t), as in systemd. */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <time.h>

typedef uint64_t usec_t;
typedef uint64_t nsec_t;

#define USEC_INFINITY ((usec_t)UINT64_MAX)
#define USEC_PER_SEC  ((usec_t)1000000ULL)
#define USEC_PER_MSEC ((usec_t)1000ULL)
#define NSEC_PER_SEC  ((nsec_t)1000000000ULL)
#define NSEC_PER_USEC ((nsec_t)1000ULL)

usec_t now_usec(clockid_t clock);
nsec_t now_nsec(clockid_t clock);
usec_t timespec_to_usec(const struct timespec *ts);
struct timespec *usec_to_timespec(struct timespec *ts, usec_t u);

/* RFC 3339 with nanoseconds in UTC ("2024-01-02T03:04:05.123456789Z"). Caller frees. */
char *time_format_rfc3339(nsec_t ns);
/* The wall clock now, as time_format_rfc3339. Caller frees. */
char *time_now_rfc3339(void);
/* Parses RFC 3339 (fraction and offset optional) to nanoseconds since the epoch; 0 if invalid. */
int64_t time_parse_rfc3339(const char *s);
/*
 * Docker's time filter values (since, until): RFC 3339, seconds[.fraction]
 * since the epoch, or a Go duration ("10m", "1h30m", "1.5h") meaning that
 * long before now. Empty or "0" gives 0 (no bound). -EINVAL if invalid.
 */
int time_parse_docker(const char *s, int64_t now_ns, int64_t *ret_ns);
/* Docker's units.HumanDuration: "Less than a second", "5 minutes", "About an hour", ... */
void time_human_duration(long seconds, char *out, size_t len);
/* A Go duration, not negative: decimal numbers with units ns, us (µs), ms, s, m, h; or "0". */
int time_parse_duration(const char *s, int64_t *ret_ns);
