/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arca-runtime's log: `--log FILE` (appended; `--log-format json` writes
 * {"level":…,"msg":…,"time":…} lines, the form containerd's shim reads its
 * errors from) gets every line of its level. stderr gets errors only, for
 * callers that read that (conmon): `create`'s stderr is the container's,
 * where a warning would read as the container's own output.
 */
#pragma once

#include <stdbool.h>

enum rt_log_level { RT_LOG_ERROR, RT_LOG_WARN, RT_LOG_INFO, RT_LOG_DEBUG };

struct rt_log {
	int fd; /* -1: stderr only */
	bool json;
	bool debug;
	bool quiet_stderr; /* the monitor: stderr is the container's */
};

int rt_log_open(struct rt_log *l, const char *path, const char *format);
void rt_log_close(struct rt_log *l);
void rt_log(const struct rt_log *l, enum rt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
