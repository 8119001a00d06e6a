/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the QMP client (src/vm/qmp.c) reading what a QEMU the
 * guest may have taken over sends: the input is QEMU's side of the socket,
 * delivered in pieces while two commands wait (a reply queues a third), and
 * the connection is closed or freed with commands still pending.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event.h"
#include "fd-util.h"
#include "qmp.h"

struct run {
	int replies, cancelled, events;
	bool closed;
};

static void on_reply(struct qmp *q, int error, const char *message, json_t *ret, void *ud)
{
	struct run *r = ud;
	if (error == 0 && message)
		abort();
	if (error == -ECANCELED) {
		r->cancelled++;
		return;
	}
	/* A reply may queue the next command from its callback. */
	if (r->replies++ == 0 && error == 0)
		(void)qmp_execute(q, "query-status", NULL, on_reply, r);
	(void)ret;
}

static void on_event(struct qmp *q, const char *name, json_t *data, void *ud)
{
	struct run *r = ud;
	(void)q;
	(void)data;
	if (!name)
		abort();
	r->events++;
}

static void on_closed(struct qmp *q, void *ud)
{
	struct run *r = ud;
	(void)q;
	r->closed = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event *e;
	if (!e) {
		(void)signal(SIGPIPE, SIG_IGN); /* as arcad */
		if (event_new(&e) < 0)
			abort();
	}
	if (size == 0)
		return 0;
	/* The first byte: the size of each write, and whether QEMU hangs up at the end. */
	size_t piece = (size_t)(data[0] & 0x7f) + 1;
	bool hangup = data[0] & 0x80;
	data++;
	size--;

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	struct run run = { 0 };
	struct qmp *q = NULL;
	if (qmp_new(e, sv[0], on_event, on_closed, &run, &q) < 0)
		abort();
	(void)qmp_execute(q, "stop", NULL, on_reply, &run);
	(void)qmp_execute(q, "cont", json_pack("{s:b}", "x", 1), on_reply, &run);
	char sink[65536];
	for (size_t off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		if (loop_write(sv[1], data + off, n) < 0)
			break;
		for (int i = 0; i < 4; i++)
			(void)event_run(e, 0);
		while (read(sv[1], sink, sizeof(sink)) > 0)
			; /* what the client sent: QEMU's input, dropped */
	}
	if (hangup) {
		close(sv[1]);
		sv[1] = -1;
		for (int i = 0; i < 4 && !run.closed; i++)
			(void)event_run(e, 0);
	}
	qmp_free(q);
	if (sv[1] >= 0)
		close(sv[1]);
	return 0;
}
