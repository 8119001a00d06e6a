/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dockerd's build stream: one JSON message per write, each ended by
 * "\r\n" (its streamformatter), stderr wrapped in red. With q, everything
 * is held back: a success sends only the image ID, a failure the whole
 * transcript. Writes wait for the client (the pipe is the back-pressure)
 * but give up once the build is cancelled, so a gone client or a stopping
 * daemon never leaves the build thread blocked.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "build-internal.h"
#include "cleanup.h"

bool out_cancelled(const struct builder *b)
{
	return (b->env->cancel && __atomic_load_n(b->env->cancel, __ATOMIC_RELAXED)) ||
	       (b->env->stopping && __atomic_load_n(b->env->stopping, __ATOMIC_RELAXED));
}

static void write_all(struct builder *b, const char *p, size_t n)
{
	while (n > 0) {
		if (out_cancelled(b))
			return;
		ssize_t k = write(b->env->out_fd, p, n);
		if (k < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = b->env->out_fd, .events = POLLOUT };
			(void)poll(&pfd, 1, 200);
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return; /* the reader is gone */
		p += k;
		n -= (size_t)k;
		b->res->started = true;
	}
}

void out_json(struct builder *b, json_t *msg)
{
	_cleanup_free_ char *s = json_dumps(msg, JSON_COMPACT);
	if (!s)
		return;
	if (b->quiet) {
		buf_append(&b->held, s, strlen(s));
		buf_append(&b->held, "\r\n", 2);
		return;
	}
	_cleanup_free_ char *line = xasprintf("%s\r\n", s);
	write_all(b, line, strlen(line));
}

void out_flush_held(struct builder *b)
{
	if (!b->quiet || !buf_len(&b->held))
		return;
	write_all(b, (const char *)buf_peek(&b->held), buf_len(&b->held));
	buf_done(&b->held);
}

/* JSON wants UTF-8: bytes that are not become U+FFFD, as Go's encoder does. */
static char *valid_utf8(const unsigned char *p, size_t n)
{
	char *out = xmalloc(n * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t len = c < 0x80	      ? 1
			     : (c >> 5) == 6  ? 2
			     : (c >> 4) == 14 ? 3
			     : (c >> 3) == 30 ? 4
					      : 0;
		bool ok = len && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (ok && len == 2 && c < 0xc2)
			ok = false; /* overlong */
		if (ok && len == 3 &&
		    ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0)))
			ok = false; /* overlong, surrogate */
		if (ok && len == 4 &&
		    ((c == 0xf0 && p[i + 1] < 0x90) || c > 0xf4 || (c == 0xf4 && p[i + 1] >= 0x90)))
			ok = false;
		if (ok && c == 0)
			ok = false; /* jansson strings end at NUL */
		if (!ok) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, len);
		o += len;
		i += len;
	}
	out[o] = '\0';
	return out;
}

void out_stream(struct builder *b, const char *text)
{
	_cleanup_free_ char *v = valid_utf8((const unsigned char *)text, strlen(text));
	json_t *m = json_pack("{s:s}", "stream", v);
	out_json(b, m);
	json_decref(m);
}

void out_streamf(struct builder *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	out_stream(b, s);
	free(s);
}

void out_stdout(struct builder *b, const void *data, size_t len)
{
	_cleanup_free_ char *v = valid_utf8(data, len);
	out_stream(b, v);
}

void out_stderr(struct builder *b, const void *data, size_t len)
{
	_cleanup_free_ char *v = valid_utf8(data, len);
	_cleanup_free_ char *red = xasprintf("\033[91m%s\033[0m", v);
	out_stream(b, red);
}
