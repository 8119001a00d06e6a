/* SPDX-License-Identifier: Apache-2.0 */
/* Clock helpers. */
#include "time-util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

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

char *time_format_rfc3339(nsec_t ns)
{
	time_t t = (time_t)(ns / NSEC_PER_SEC);
	struct tm tm;
	char buf[64];
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09lluZ", (unsigned long long)(ns % NSEC_PER_SEC));
	return xstrdup(buf);
}

char *time_now_rfc3339(void)
{
	return time_format_rfc3339(now_nsec(CLOCK_REALTIME));
}

int64_t time_parse_rfc3339(const char *s)
{
	struct tm tm = { 0 };
	if (!s)
		return 0;
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	int64_t t = (int64_t)timegm(&tm);
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++)
			if (digits++ < 9)
				frac = frac * 10 + (*p - '0');
		while (digits++ < 9)
			frac *= 10;
	}
	if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%d:%d", &hh, &mm) == 2)
			t -= (*p == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
	}
	return t * 1000000000LL + frac;
}

void time_human_duration(long s, char *out, size_t len)
{
	long m = s / 60, h = (s + 1800) / 3600, d = h / 24;
	if (s < 1)
		snprintf(out, len, "Less than a second");
	else if (s == 1)
		snprintf(out, len, "1 second");
	else if (s < 60)
		snprintf(out, len, "%ld seconds", s);
	else if (m == 1)
		snprintf(out, len, "About a minute");
	else if (m < 60)
		snprintf(out, len, "%ld minutes", m);
	else if (h == 1)
		snprintf(out, len, "About an hour");
	else if (h < 48)
		snprintf(out, len, "%ld hours", h);
	else if (h < 24 * 7 * 2)
		snprintf(out, len, "%ld days", d);
	else if (h < 24 * 30 * 2)
		snprintf(out, len, "%ld weeks", d / 7);
	else if (h < 24 * 365 * 2)
		snprintf(out, len, "%ld months", d / 30);
	else
		snprintf(out, len, "%ld years", d / 365);
}

int time_parse_duration(const char *s, int64_t *ret_ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = { { "ns", 1 },   { "us", 1e3 }, { "\u00b5s", 1e3 }, { "\u03bcs", 1e3 },
		      { "ms", 1e6 }, { "s", 1e9 },  { "m", 60e9 },	{ "h", 3600e9 } };
	double total = 0;
	const char *p = s;
	if (!*p)
		return -EINVAL;
	if (strcmp(p, "0") == 0) {
		*ret_ns = 0;
		return 0;
	}
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -EINVAL; /* no sign, no "nan" or "inf" */
		errno = 0;
		double v = strtod(p, &end);
		if (errno || end == p || !(v >= 0))
			return -EINVAL;
		p = end;
		size_t best = 0, best_len = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(p, units[i].unit, l) == 0 && l > best_len) {
				best = i;
				best_len = l;
			}
		}
		if (!best_len)
			return -EINVAL;
		total += v * units[best].ns;
		p += best_len;
	}
	if (total > 9.2e18)
		return -EINVAL;
	*ret_ns = (int64_t)total;
	return 0;
}

int time_parse_docker(const char *s, int64_t now_ns, int64_t *ret_ns)
{
	*ret_ns = 0;
	if (!s || !s[0] || strcmp(s, "0") == 0)
		return 0;
	int64_t t = time_parse_rfc3339(s);
	if (t) {
		*ret_ns = t;
		return 0;
	}
	int64_t d;
	if (time_parse_duration(s, &d) == 0) {
		*ret_ns = now_ns - d;
		return 0;
	}
	char *end;
	errno = 0;
	long long sec = strtoll(s, &end, 10);
	if (errno || end == s || sec < 0 || sec > 9000000000LL)
		return -EINVAL;
	long long frac = 0;
	if (*end == '.') {
		char *fe;
		errno = 0;
		frac = strtoll(end + 1, &fe, 10);
		int digits = (int)(fe - end - 1);
		if (errno || digits < 1 || digits > 9 || frac < 0)
			return -EINVAL;
		while (digits++ < 9)
			frac *= 10;
		end = fe;
	}
	if (*end)
		return -EINVAL;
	*ret_ns = sec * 1000000000LL + frac;
	return 0;
}
