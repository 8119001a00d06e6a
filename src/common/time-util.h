/* SPDX-License-Identifier: Apache-2.0 */
/* Microsecond time values (usec_t), as in systemd. */
#pragma once

#include <stdint.h>
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
