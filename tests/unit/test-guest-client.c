/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/vm/guest-client.c against a scripted guest: the happy path (hello,
 * RPC, a process with output, credit and exit), and the hostile one: every
 * protocol violation must close the connection with an error, never crash
 * or buffer beyond the window.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "event.h"
#include "fake-guest.h"
#include "guest-client.h"
#include "tap.h"

static int hellos, closed_calls, closed_error, reply_calls, reply_error;
static size_t reply_body;
static int started, exited, exit_status, outputs;

static void on_hello(struct guest_client *gc, const struct guest_hello *h, void *ud)
{
	(void)gc;
	(void)ud;
	hellos++;
	(void)h;
}

static void on_closed(struct guest_client *gc, int error, void *ud)
{
	(void)gc;
	(void)ud;
	closed_calls++;
	closed_error = error;
}

static const struct guest_client_ops ops = { .hello = on_hello, .closed = on_closed };

static void on_reply(struct guest_client *gc, int error, const char *message,
		     const struct proto_reader *body, void *ud)
{
	(void)gc;
	(void)message;
	(void)ud;
	reply_calls++;
	reply_error = error;
	reply_body = body ? body->len - body->off : 0;
}

static void p_started(struct guest_proc *p, int error, const char *m, uint32_t pid, void *ud)
{
	(void)p;
	(void)m;
	(void)ud;
	started = error ? -error : (int)pid;
}

static void p_output(struct guest_proc *p, int fd, void *ud)
{
	(void)p;
	(void)fd;
	(void)ud;
	outputs++;
}

static void p_exited(struct guest_proc *p, int status, void *ud)
{
	(void)p;
	(void)ud;
	exited++;
	exit_status = status;
}

static const struct guest_proc_ops pops = { .started = p_started,
					    .output = p_output,
					    .exited = p_exited };

struct setup {
	struct event *e;
	struct guest_client *gc;
	struct fake *g;
};

static void pump(void *ud)
{
	struct setup *s = ud;
	event_run(s->e, 10 * USEC_PER_MSEC);
}

static void setup(struct setup *s)
{
	int sv[2];
	hellos = closed_calls = closed_error = reply_calls = reply_error = 0;
	started = exited = exit_status = outputs = 0;
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	event_new(&s->e);
	s->g = calloc(1, sizeof(struct fake));
	s->g->fd = sv[1];
	s->g->pump = pump;
	s->g->pump_userdata = s;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	guest_client_new(s->e, sv[0], &ops, NULL, &s->gc);
}

static void teardown(struct setup *s)
{
	guest_client_free(s->gc);
	close(s->g->fd);
	free(s->g);
	event_free(s->e);
}

static void spin(struct setup *s)
{
	for (int i = 0; i < 5; i++)
		event_run(s->e, 20 * USEC_PER_MSEC);
}

static void send_response(struct fake *g, uint32_t id, uint32_t error, uint32_t pid)
{
	uint8_t b[128];
	struct proto_writer w;
	proto_writer_init(&w, b, sizeof(b));
	proto_begin_response(&w, id, error);
	if (pid)
		proto_put_u32(&w, PROTO_T_PID, pid);
	ssize_t n = proto_writer_finish(&w, PROTO_RESPONSE, 0);
	fake_send(g, b, (size_t)n);
}

static uint32_t req_id(const struct fake *g, uint16_t *op)
{
	uint32_t id = 0;
	struct proto_reader r;
	proto_request_parse(&g->f, &id, op, &r);
	return id;
}

static void test_happy_path(void)
{
	struct setup s;
	setup(&s);
	fake_hello(s.g, PROTO_VERSION_MAJOR);
	spin(&s);
	is_int(hellos, 1, "hello delivered");
	ok(guest_client_is_up(s.gc), "client up");
	is_int(fake_read(s.g), 1, "host answered with its hello");
	is_int(s.g->f.type, PROTO_HELLO, "it is a HELLO");

	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_PING);
	proto_put_bytes(&rq.w, PROTO_T_DATA, "abc", 3);
	ok(guest_client_call(s.gc, &rq, on_reply, NULL) > 0, "ping sent");
	is_int(fake_read(s.g), 1, "guest got the request");
	uint16_t op;
	uint32_t id = req_id(s.g, &op);
	is_int(op, PROTO_OP_PING, "op ping");
	send_response(s.g, id, 0, 0);
	spin(&s);
	is_int(reply_calls, 1, "reply delivered");
	is_int(reply_error, 0, "no error");

	/* A process: create + start are pipelined. */
	char *argv[] = { "true", NULL };
	struct guest_proc_spec spec = { .argv = argv,
					.attach_stdout = true,
					.attach_stderr = true };
	struct guest_proc *p = NULL;
	is_int(guest_proc_spawn(s.gc, &spec, &pops, NULL, &p), 0, "spawn");
	is_int(fake_read(s.g), 1, "create request");
	uint32_t create_id = req_id(s.g, &op);
	is_int(op, PROTO_OP_PROC_CREATE, "create op");
	uint32_t out_stream = 0;
	struct proto_reader body;
	proto_request_parse(&s.g->f, &create_id, &op, &body);
	struct proto_field_spec fs[] = { { PROTO_T_STDOUT_STREAM, PROTO_F_U32, &out_stream,
					   true } };
	is_int(proto_parse_fields(&body, fs, 1), 0, "create names the stdout stream");
	is_int(fake_read(s.g), 1, "start request");
	uint32_t start_id = req_id(s.g, &op);
	is_int(op, PROTO_OP_PROC_START, "start op");
	send_response(s.g, create_id, 0, 0);
	send_response(s.g, start_id, 0, 77);
	spin(&s);
	is_int(started, 77, "started with the guest's pid");

	/* Output: a full window is fine, and consuming it grants credit back. */
	static uint8_t data[PROTO_DATA_CHUNK];
	uint8_t hdr[PROTO_HDR_SIZE];
	for (unsigned i = 0; i < PROTO_INITIAL_WINDOW / PROTO_DATA_CHUNK; i++) {
		proto_frame_encode_header(hdr, PROTO_DATA, 0, out_stream, sizeof(data));
		fake_send(s.g, hdr, sizeof(hdr));
		fake_send(s.g, data, sizeof(data));
	}
	spin(&s);
	ok(outputs > 0, "output callbacks");
	const uint8_t *ptr;
	is_int(guest_proc_peek(p, 1, &ptr), PROTO_INITIAL_WINDOW, "a full window is buffered");
	guest_proc_consume(p, 1, PROTO_INITIAL_WINDOW);
	is_int(fake_read(s.g), 1, "credit sent after consumption");
	is_int(s.g->f.type, PROTO_CREDIT, "it is CREDIT");
	uint32_t credit = 0;
	proto_credit_parse(&s.g->f, &credit);
	is_int(credit, PROTO_INITIAL_WINDOW, "the whole window is returned");

	proto_frame_encode_header(hdr, PROTO_CLOSE, 0, out_stream, 0);
	fake_send(s.g, hdr, sizeof(hdr));
	uint8_t b[64];
	struct proto_writer w;
	proto_writer_init(&w, b, sizeof(b));
	proto_begin_event(&w, PROTO_EV_PROC_EXIT);
	proto_put_u32(&w, PROTO_T_PROC_ID, 1);
	proto_put_u32(&w, PROTO_T_EXIT_STATUS, 3);
	fake_send(s.g, b, (size_t)proto_writer_finish(&w, PROTO_EVENT, 0));
	spin(&s);
	is_int(exited, 1, "exit delivered");
	is_int(exit_status, 3, "exit status");
	ok(guest_proc_output_done(p, 1) && guest_proc_output_done(p, 2), "outputs done");
	guest_proc_free(p);
	is_int(fake_read(s.g), 1, "exited process is deleted in the guest");
	req_id(s.g, &op);
	is_int(op, PROTO_OP_PROC_DELETE, "delete op");
	is_int(closed_calls, 0, "no violation on the happy path");
	teardown(&s);
}

/* Each hostile input must close the connection with an error. */
static void hostile(const char *what, void (*inject)(struct setup *s))
{
	struct setup s;
	setup(&s);
	inject(&s);
	spin(&s);
	ok(closed_calls == 1 && closed_error < 0, "%s: connection closed with an error", what);
	ok(!guest_client_is_up(s.gc), "%s: client down", what);
	teardown(&s);
}

static void inj_no_hello(struct setup *s)
{
	send_response(s->g, 1, 0, 0);
}

static void inj_bad_version(struct setup *s)
{
	fake_hello(s->g, PROTO_VERSION_MAJOR + 1);
}

/* An init of another release is refused in words that say so, not as a broken guest. */
static void test_version_refusal(void)
{
	struct setup s;
	setup(&s);
	ok(guest_client_refusal(s.gc) == NULL, "no refusal before a hello");
	inj_bad_version(&s);
	spin(&s);
	const char *why = guest_client_refusal(s.gc);
	char want[64];
	snprintf(want, sizeof(want), "speaks protocol %u.0; this arca speaks %u.%u",
		 PROTO_VERSION_MAJOR + 1, PROTO_VERSION_MAJOR, PROTO_VERSION_MINOR);
	ok(why && strstr(why, want) && strstr(why, "unknown release"), "the refusal: %s",
	   why ? why : "(none)");
	teardown(&s);
}

static void inj_unknown_reply(struct setup *s)
{
	fake_hello(s->g, PROTO_VERSION_MAJOR);
	send_response(s->g, 999, 0, 0);
}

static void inj_garbage(struct setup *s)
{
	fake_hello(s->g, PROTO_VERSION_MAJOR);
	uint8_t junk[32];
	memset(junk, 0xff, sizeof(junk));
	fake_send(s->g, junk, sizeof(junk));
}

static void inj_second_hello(struct setup *s)
{
	fake_hello(s->g, PROTO_VERSION_MAJOR);
	fake_hello(s->g, PROTO_VERSION_MAJOR);
}

static void inj_request(struct setup *s)
{
	uint8_t b[64];
	struct proto_writer w;
	fake_hello(s->g, PROTO_VERSION_MAJOR);
	proto_writer_init(&w, b, sizeof(b));
	proto_begin_request(&w, 1, PROTO_OP_PING);
	fake_send(s->g, b, (size_t)proto_writer_finish(&w, PROTO_REQUEST, 0));
}

static void inj_overrun(struct setup *s)
{
	static uint8_t data[PROTO_DATA_CHUNK];
	uint8_t hdr[PROTO_HDR_SIZE];
	char *argv[] = { "cat", NULL };
	struct guest_proc_spec spec = { .argv = argv, .attach_stdout = true };
	struct guest_proc *p = NULL;

	fake_hello(s->g, PROTO_VERSION_MAJOR);
	spin(s);
	guest_proc_spawn(s->gc, &spec, &pops, NULL, &p);
	/* stream 1 is this process's stdout; send one chunk more than the window. */
	for (unsigned i = 0; i <= PROTO_INITIAL_WINDOW / PROTO_DATA_CHUNK; i++) {
		proto_frame_encode_header(hdr, PROTO_DATA, 0, 1, sizeof(data));
		fake_send(s->g, hdr, sizeof(hdr));
		fake_send(s->g, data, sizeof(data));
	}
	spin(s);
	is_int(exited, 1, "overrun: the process is reported gone");
	ok(exit_status < 0, "overrun: with a connection error status");
	guest_proc_free(p);
}

static void inj_bad_exit(struct setup *s)
{
	uint8_t b[64];
	struct proto_writer w;
	fake_hello(s->g, PROTO_VERSION_MAJOR);
	proto_writer_init(&w, b, sizeof(b));
	proto_begin_event(&w, PROTO_EV_PROC_EXIT);
	proto_put_u32(&w, PROTO_T_PROC_ID, 1);
	proto_put_u32(&w, PROTO_T_EXIT_STATUS, 100000);
	fake_send(s->g, b, (size_t)proto_writer_finish(&w, PROTO_EVENT, 0));
}

/* A guest's NEXT_PROC/NEXT_STREAM hints at the top of the range: ids never wrap to 0. */
static void test_hostile_id_hints(void)
{
	struct setup s;
	setup(&s);
	fake_hello(s.g, PROTO_VERSION_MAJOR);
	spin(&s);
	fake_read(s.g); /* our hello */
	struct guest_proc_ids ids = { .proc = 7, .out = 8 };
	struct guest_proc *adopted = NULL;
	is_int(guest_proc_adopt(s.gc, &ids, &pops, NULL, &adopted), 0, "adopt");
	is_int(fake_read(s.g), 1, "attach request");
	uint16_t op;
	uint32_t id = req_id(s.g, &op);
	uint8_t b[128];
	struct proto_writer w;
	proto_writer_init(&w, b, sizeof(b));
	proto_begin_response(&w, id, 0);
	proto_put_u32(&w, PROTO_T_PID, 5);
	proto_put_u32(&w, PROTO_T_NEXT_PROC, UINT32_MAX);
	proto_put_u32(&w, PROTO_T_NEXT_STREAM, UINT32_MAX);
	fake_send(s.g, b, (size_t)proto_writer_finish(&w, PROTO_RESPONSE, 0));
	spin(&s);
	char *argv[] = { "true", NULL };
	struct guest_proc_spec spec = { .argv = argv,
					.attach_stdout = true,
					.attach_stderr = true };
	uint32_t procs[3] = { 0 }, streams[6] = { 0 };
	struct guest_proc *p[3] = { NULL };
	for (int i = 0; i < 3; i++) {
		is_int(guest_proc_spawn(s.gc, &spec, &pops, NULL, &p[i]), 0, "spawn %d", i);
		is_int(fake_read(s.g), 1, "create %d", i);
		struct proto_reader body;
		uint32_t cid;
		proto_request_parse(&s.g->f, &cid, &op, &body);
		struct proto_field_spec fs[] = {
			{ PROTO_T_PROC_ID, PROTO_F_U32, &procs[i], true },
			{ PROTO_T_STDOUT_STREAM, PROTO_F_U32, &streams[2 * i], true },
			{ PROTO_T_STDERR_STREAM, PROTO_F_U32, &streams[2 * i + 1], true },
		};
		(void)proto_parse_fields(&body, fs, sizeof(fs) / sizeof(fs[0]));
		fake_read(s.g); /* start */
	}
	ok(procs[0] && procs[1] && procs[2] && procs[0] != procs[1] && procs[1] != procs[2] &&
	       procs[0] != procs[2] && procs[0] != 7 && procs[1] != 7 && procs[2] != 7,
	   "process ids: never 0, never one in use");
	bool streams_ok = true;
	for (int i = 0; i < 6; i++) {
		streams_ok &= streams[i] != 0 && streams[i] != 8;
		for (int j = 0; j < i; j++)
			streams_ok &= streams[i] != streams[j];
	}
	ok(streams_ok, "stream ids: never 0, never one in use");
	for (int i = 0; i < 3; i++)
		guest_proc_free(p[i]);
	guest_proc_free(adopted);
	teardown(&s);
}

int main(void)
{
	test_happy_path();
	test_hostile_id_hints();
	hostile("no hello first", inj_no_hello);
	hostile("wrong major version", inj_bad_version);
	test_version_refusal();
	hostile("reply to no request", inj_unknown_reply);
	hostile("garbage header", inj_garbage);
	hostile("second hello", inj_second_hello);
	hostile("guest sends a request", inj_request);
	hostile("data beyond credit", inj_overrun);
	hostile("exit status out of range", inj_bad_exit);
	ok(guest_client_free(NULL) == NULL && guest_proc_free(NULL) == NULL, "free(NULL)");
	return tap_done();
}
