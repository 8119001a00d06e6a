/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "rt-log.h"
#include "time-util.h"

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int rt_log_open(struct rt_log *l, const char *path, const char *format)
{
	*l = (struct rt_log){ .fd = -1 };
	if (format && strcmp(format, "json") != 0 && strcmp(format, "text") != 0)
		return -EINVAL;
	l->json = format && strcmp(format, "json") == 0;
	if (!path)
		return 0;
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	return l->fd < 0 ? -errno : 0;
}

void rt_log_close(struct rt_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

void rt_log(const struct rt_log *l, enum rt_log_level level, const char *fmt, ...)
{
	if (level == RT_LOG_DEBUG && !l->debug)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	_cleanup_free_ char *now = time_now_rfc3339();
	if (l->fd >= 0) {
		_cleanup_free_ char *line = NULL;
		if (l->json) {
			json_t *o = json_pack("{s:s,s:s,s:s}", "level", level_names[level], "msg",
					      msg, "time", now);
			if (!o) { /* not UTF-8 (a path's bytes): those bytes as '?' */
				for (char *p = msg; *p; p++)
					if ((unsigned char)*p >= 0x80)
						*p = '?';
				o = json_pack("{s:s,s:s,s:s}", "level", level_names[level], "msg",
					      msg, "time", now);
			}
			char *text = json_dumps(o, JSON_COMPACT);
			json_decref(o);
			line = xasprintf("%s\n", text);
			free(text);
		} else {
			line = xasprintf("time=\"%s\" level=%s msg=\"%s\"\n", now,
					 level_names[level], msg);
		}
		(void)loop_write(l->fd, line, strlen(line));
	}
	/* Errors only: `create`'s stderr is the container's (conmon's pipe), where a warning
	 * would read as the container's own output. */
	if (!l->quiet_stderr && level == RT_LOG_ERROR)
		fprintf(stderr, "arca-runtime: %s\n", msg);
	free(msg);
}
