/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the host's whole guest-input path (src/vm/guest-client.c
 * over src/proto/conn.c). A valid HELLO brings the client up and one process
 * is spawned (proc 1, calls 1-2, streams 1-2), then the fuzz input arrives
 * as if from the guest. Whatever it holds, the client must not crash, leak
 * or buffer beyond its windows.
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event.h"
#include "guest-client.h"
#include "log.h"

static void p_output(struct guest_proc *p, int fd, void *ud)
{
	const uint8_t *ptr;
	(void)ud;
	size_t n = guest_proc_peek(p, fd, &ptr);
	/* Consume half, to exercise both credit paths. */
	guest_proc_consume(p, fd, n / 2);
}

static const struct guest_proc_ops pops = { .output = p_output };
static const struct guest_client_ops ops;

static void feed(struct event *e, int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (event_run(e, 1000) < 0)
				return;
			continue;
		}
		p += k;
		n -= (size_t)k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event *e = NULL;
	struct guest_client *gc = NULL;
	struct guest_proc *p = NULL;
	int sv[2];

	log_setup("fuzz", LOG_LEVEL_ERROR);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	event_new(&e);
	guest_client_new(e, sv[0], &ops, NULL, &gc);

	uint8_t hello[64];
	struct proto_writer w;
	proto_writer_init(&w, hello, sizeof(hello));
	proto_put_u32(&w, PROTO_T_VERSION_MAJOR, PROTO_VERSION_MAJOR);
	proto_put_u32(&w, PROTO_T_VERSION_MINOR, 0);
	feed(e, sv[1], hello, (size_t)proto_writer_finish(&w, PROTO_HELLO, 0));
	for (int i = 0; i < 4 && !guest_client_is_up(gc); i++)
		event_run(e, 1000);

	char *argv[] = { (char *)"sh", NULL };
	struct guest_proc_spec spec = {
		.argv = argv, .attach_stdin = true, .attach_stdout = true, .attach_stderr = true
	};
	if (guest_client_is_up(gc))
		(void)guest_proc_spawn(gc, &spec, &pops, NULL, &p);

	feed(e, sv[1], data, size);
	close(sv[1]);
	for (int i = 0; i < 8; i++)
		event_run(e, 0);

	guest_proc_free(p);
	guest_client_free(gc);
	event_free(e);
	return 0;
}
