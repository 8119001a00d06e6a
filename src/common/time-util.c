/* SPDX-License-Identifier: Apache-2.0 */
/* Clock helpers. */
#include "time-util.h"

usec_t timespec_to_usec(const struct timespec *ts)
{
	return (usec_t)ts->tv_sec * USEC_PER_SEC + (usec_t)ts->tv_nsec / NSEC_PER_USEC;
}

struct timespec *usec_to_timespec(struct timespec *ts, usec_t u)
{
	ts->tv_sec = (time_t)(u / USEC_PER_SEC);
	ts->tv_nsec = (long)((u % USEC_PER_SEC) * NSEC_PER_USEC);
	return ts;
}

usec_t now_usec(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return timespec_to_usec(&ts);
}

nsec_t now_nsec(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (nsec_t)ts.tv_sec * NSEC_PER_SEC + (nsec_t)ts.tv_nsec;
}
