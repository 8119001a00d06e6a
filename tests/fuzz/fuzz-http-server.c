/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arcad's HTTP server as a state machine
 * (src/daemon/http/http-server.c): the input is what a client sends on one
 * connection, delivered in pieces, with keep-alive, fixed and chunked bodies,
 * bodies streamed to a pipe or answered early (and then discarded), chunked
 * responses, hijacked connections that echo, query and percent decoding. After
 * the client hangs up, the server must hold no connection and the handlers no
 * object: whatever the bytes, everything a connection started ends with it.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "event.h"
#include "fd-util.h"
#include "http-server.h"

static struct event *e;
static struct http_server *server;
static struct sockaddr_un addr = { .sun_family = AF_UNIX };
static socklen_t addr_len;
static int live; /* streamed bodies not yet ended */

/* A streamed body: the server writes it into a pipe we drain. */
struct body {
	struct http_conn *c;
	int rfd;
	struct event_source *src;
	bool done, eof;
};

static void body_maybe_free(struct body *b)
{
	if (!b->done || !b->eof)
		return;
	http_conn_unref(b->c);
	free(b);
	live--;
}

static int on_pipe(struct event_source *s, int fd, uint32_t revents, void *ud)
{
	struct body *b = ud;
	char buf[4096];
	ssize_t n;
	(void)revents;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		b->src = event_source_free(s);
		close(b->rfd);
		b->eof = true;
		body_maybe_free(b);
	}
	return 0;
}

static void on_body_done(struct http_conn *c, int error, void *ud)
{
	struct body *b = ud;
	if (error == 0)
		http_reply_empty(c, 204);
	b->done = true;
	body_maybe_free(b);
}

static void on_hijack_data(struct http_conn *c, const uint8_t *p, size_t n, void *ud)
{
	(void)ud;
	(void)http_raw_write(c, p, n); /* an echo, as attach would relay */
}

static void on_hijack_eof(struct http_conn *c, void *ud)
{
	(void)ud;
	http_raw_shutdown_write(c);
}

static const struct http_hijack_ops hijack_ops = { .data = on_hijack_data, .eof = on_hijack_eof };

static bool wants_stream(struct http_conn *c, const struct http_request *r, void *ud)
{
	(void)c;
	(void)ud;
	return strncmp(r->path, "/stream", 7) == 0;
}

static void dispatch(struct http_conn *c, struct http_request *r, void *ud)
{
	(void)ud;
	if (strncmp(r->path, "/stream", 7) == 0) {
		if (http_query_has(r, "early")) {
			/* Answered before the body is read: the server discards it. */
			http_reply_errorf(c, 400, "refused early");
			return;
		}
		int p[2];
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
			abort();
		struct body *b = calloc(1, sizeof(*b));
		b->c = http_conn_ref(c);
		b->rfd = p[0];
		live++;
		if (event_add_io(e, &b->src, p[0], EPOLLIN, on_pipe, b) < 0)
			abort();
		http_body_to_fd(c, p[1], on_body_done, b);
		return;
	}
	if (strncmp(r->path, "/hijack", 7) == 0) {
		http_hijack(c, "application/vnd.docker.raw-stream", &hijack_ops, NULL);
		return;
	}
	char *a = http_query_get(r, "a");
	char **all = http_query_get_all(r, "b");
	bool flag = http_query_bool(r, "c", false);
	char *path = http_percent_decode(r->path, strlen(r->path));
	size_t n_all = 0;
	for (char **v = all; v && *v; v++, n_all++)
		free(*v);
	free(all);
	if (strncmp(r->path, "/chunks", 7) == 0) {
		http_stream_begin(c, 200, "application/json", NULL);
		(void)http_stream_write(c, a ? a : "", a ? strlen(a) : 0);
		http_stream_json(c, json_pack("{s:b, s:I}", "c", flag, "n", (json_int_t)n_all));
		http_stream_end(c);
	} else {
		http_reply(c, flag ? 200 : 404, "text/plain", path ? path : "",
			   path ? strlen(path) : 0);
	}
	free(path);
	free(a);
}

static const struct http_handler handler = { .wants_stream = wants_stream, .dispatch = dispatch };

static void setup(void)
{
	(void)signal(SIGPIPE, SIG_IGN); /* as arcad: a closed peer is an error, not a death */
	if (event_new(&e) < 0)
		abort();
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* An abstract address: nothing on disk, private to this process by its pid. */
	int n = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "arca-fuzz-http-%d",
			 (int)getpid());
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, addr_len) < 0 || listen(lfd, 8) < 0 ||
	    http_server_new(e, lfd, &handler, NULL, &server) < 0)
		abort();
}

static void spin(int client, int rounds)
{
	char sink[65536];
	for (int i = 0; i < rounds; i++) {
		(void)event_run(e, 0);
		while (client >= 0 && read(client, sink, sizeof(sink)) > 0)
			;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!e)
		setup();
	if (size == 0)
		return 0;
	/* The first byte: the size of each write, and whether the client half-closes. */
	size_t piece = (size_t)(data[0] & 0x7f) * 8 + 1;
	bool half_close = data[0] & 0x80;
	data++;
	size--;

	int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (client < 0 || connect(client, (struct sockaddr *)&addr, addr_len) < 0)
		abort();
	(void)fd_set_nonblock(client, true);
	spin(client, 2);
	for (size_t off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		if (write(client, data + off, n) < 0)
			break;
		spin(client, 4);
	}
	if (half_close) {
		(void)shutdown(client, SHUT_WR);
		spin(client, 8);
	}
	close(client);
	for (int i = 0; i < 64 && (http_server_connections(server) || live); i++)
		spin(-1, 1);
	if (http_server_connections(server) || live)
		abort(); /* a connection, or what it started, outlived its client */
	return 0;
}
