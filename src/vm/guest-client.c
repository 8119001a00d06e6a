/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct guest_client owns: the proto_conn, the list of calls awaiting a
 * reply, and the list of live processes (for stream and event routing).
 * Processes are owned by the caller; the client only links them.
 *
 * Invariants: the first frame from the guest is HELLO; a RESPONSE must
 * match a pending call; DATA must fit the credit we granted on a stream we
 * own. Anything else is a protocol violation and closes the connection.
 */
#include "guest-client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "cleanup.h"
#include "conn.h"
#include "event.h"
#include "log.h"

struct call {
	struct call *next;
	uint32_t id;
	uint16_t op;
	guest_reply_fn cb;
	guest_drop_fn drop; /* when the client goes first: cb is never called */
	void *userdata;
};

struct ostream {
	uint32_t id;
	struct buf data;
	struct proto_window win;
	bool eof;
};

struct guest_proc {
	struct guest_client *gc;
	struct guest_proc *next;
	uint32_t id;
	const struct guest_proc_ops *ops;
	void *userdata;
	uint32_t in_id;
	struct proto_window in_win;
	bool in_closed;
	struct ostream out, err;
	int create_error;
	char *create_message;
	bool started;
	bool exited;
	int status;
};

struct guest_client {
	struct event *event;
	struct proto_conn *conn;
	const struct guest_client_ops *ops;
	void *userdata;
	struct call *calls;
	struct guest_proc *procs;
	uint32_t next_call;
	uint32_t next_stream;
	uint32_t next_proc;
	bool hello;
	bool closed;
	int close_error;
	guest_dns_fn dns;
	void *dns_userdata;
	char refusal[192]; /* why a guest's HELLO was refused ("" if not) */
};

static void client_fail(struct guest_client *gc, int error);
static int on_dns_query(struct guest_client *gc, const struct proto_reader *body);

void guest_request_init(struct guest_request *rq, uint16_t op)
{
	rq->buf = xmalloc(PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD);
	rq->op = op;
	proto_writer_init(&rq->w, rq->buf, PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD);
	proto_begin_request(&rq->w, 0, op); /* id patched in at send time */
}

void guest_request_done(struct guest_request *rq)
{
	free(rq->buf);
	rq->buf = NULL;
}

void guest_reply_done(struct guest_reply *r)
{
	free(r->message);
	free(r->body);
	*r = (struct guest_reply){ 0 };
}

const char *guest_client_refusal(const struct guest_client *gc)
{
	return gc->refusal[0] ? gc->refusal : NULL;
}

bool guest_client_is_up(const struct guest_client *gc)
{
	return gc && gc->hello && !gc->closed;
}

static struct guest_proc *proc_by_stream(struct guest_client *gc, uint32_t stream,
					 struct ostream **ret_out)
{
	for (struct guest_proc *p = gc->procs; p; p = p->next) {
		*ret_out = NULL;
		if (p->out.id == stream)
			*ret_out = &p->out;
		else if (p->err.id == stream)
			*ret_out = &p->err;
		if (*ret_out || p->in_id == stream)
			return p;
	}
	return NULL;
}

static void proc_mark_exited(struct guest_proc *p, int status)
{
	if (p->exited)
		return;
	p->exited = true;
	p->status = status;
	p->out.eof = true;
	p->err.eof = true;
	p->in_closed = true;
	if (p->ops->exited)
		p->ops->exited(p, status, p->userdata);
}

uint64_t guest_hello_init_ns(const struct guest_hello *h)
{
	return h->ready_ns > h->boot_ns ? h->ready_ns - h->boot_ns : 0;
}

static int on_hello(struct guest_client *gc, const struct proto_frame *f)
{
	struct guest_hello h = { 0 };
	const char *ver = "";
	struct proto_reader r;
	struct proto_field_spec spec[] = {
		{ PROTO_T_VERSION_MAJOR, PROTO_F_U32, &h.major, true },
		{ PROTO_T_VERSION_MINOR, PROTO_F_U32, &h.minor, true },
		{ PROTO_T_BOOT_NS, PROTO_F_U64, &h.boot_ns, false },
		{ PROTO_T_READY_NS, PROTO_F_U64, &h.ready_ns, false },
		{ PROTO_T_INIT_VERSION, PROTO_F_STR, &ver, false },
	};
	proto_reader_init(&r, f->payload, f->len);
	if (proto_parse_fields(&r, spec, ELEMENTSOF(spec)) < 0)
		return -EPROTO;
	if (h.major != PROTO_VERSION_MAJOR) {
		/* Said plainly: a guest of another release, not a broken one. */
		snprintf(
		    gc->refusal, sizeof(gc->refusal),
		    "the guest's init (arca-init %.40s) speaks protocol %u.%u; this arca speaks "
		    "%u.%u: boot an init of this release",
		    ver[0] ? ver : "of an unknown release", h.major, h.minor, PROTO_VERSION_MAJOR,
		    PROTO_VERSION_MINOR);
		return -EPROTONOSUPPORT;
	}
	snprintf(h.init_version, sizeof(h.init_version), "%s", ver);

	/* Answer with our own version so the guest can check it too. */
	uint8_t buf[64];
	struct proto_writer w;
	proto_writer_init(&w, buf, sizeof(buf));
	proto_put_u32(&w, PROTO_T_VERSION_MAJOR, PROTO_VERSION_MAJOR);
	proto_put_u32(&w, PROTO_T_VERSION_MINOR, PROTO_VERSION_MINOR);
	ssize_t n = proto_writer_finish(&w, PROTO_HELLO, 0);
	if (n < 0 || proto_conn_send(gc->conn, buf, (size_t)n) < 0)
		return -EPIPE;
	gc->hello = true;
	if (gc->ops->hello)
		gc->ops->hello(gc, &h, gc->userdata);
	return 0;
}

static int on_response(struct guest_client *gc, const struct proto_frame *f)
{
	uint32_t id, error;
	struct proto_reader body;
	if (proto_response_parse(f, &id, &error, &body) < 0)
		return -EPROTO;

	struct call **pc = &gc->calls;
	while (*pc && (*pc)->id != id)
		pc = &(*pc)->next;
	if (!*pc)
		return -EPROTO; /* a reply to nothing we asked */
	struct call *c = *pc;
	*pc = c->next;

	const char *message = NULL;
	if (error) {
		struct proto_field_spec spec[] = { { PROTO_T_MESSAGE, PROTO_F_STR, &message,
						     false } };
		if (proto_parse_fields(&body, spec, ELEMENTSOF(spec)) < 0)
			message = NULL;
		if (!message)
			message = strerror((int)error);
	}
	if (c->cb)
		c->cb(gc, (int)error, message, &body, c->userdata);
	free(c);
	return 0;
}

static int on_event(struct guest_client *gc, const struct proto_frame *f)
{
	uint16_t ev;
	struct proto_reader body;
	if (proto_event_parse(f, &ev, &body) < 0)
		return -EPROTO;
	if (ev == PROTO_EV_DNS_QUERY)
		return on_dns_query(gc, &body);
	if (ev != PROTO_EV_PROC_EXIT)
		return 0;

	uint32_t id = 0, status = 0;
	struct proto_field_spec spec[] = {
		{ PROTO_T_PROC_ID, PROTO_F_U32, &id, true },
		{ PROTO_T_EXIT_STATUS, PROTO_F_U32, &status, true },
	};
	if (proto_parse_fields(&body, spec, ELEMENTSOF(spec)) < 0 || status > 255)
		return -EPROTO;
	for (struct guest_proc *p = gc->procs; p; p = p->next)
		if (p->id == id) {
			proc_mark_exited(p, (int)status);
			break;
		}
	return 0;
}

void guest_client_on_dns(struct guest_client *gc, guest_dns_fn fn, void *userdata)
{
	gc->dns = fn;
	gc->dns_userdata = userdata;
}

static int on_dns_query(struct guest_client *gc, const struct proto_reader *body)
{
	uint32_t id = 0;
	bool tcp = false;
	struct proto_field data = { 0 };
	struct proto_field_spec spec[] = {
		{ PROTO_T_DNS_ID, PROTO_F_U32, &id, true },
		{ PROTO_T_DNS_TCP, PROTO_F_BOOL, &tcp, false },
		{ PROTO_T_DATA, PROTO_F_BYTES, &data, true },
	};
	if (proto_parse_fields(body, spec, ELEMENTSOF(spec)) < 0 || !id || data.len > GUEST_DNS_MAX)
		return -EPROTO;
	if (gc->dns)
		gc->dns(gc, id, tcp, data.val, data.len, gc->dns_userdata);
	return 0;
}

static int on_stream_frame(struct guest_client *gc, const struct proto_frame *f)
{
	struct ostream *o;
	struct guest_proc *p = proc_by_stream(gc, f->stream, &o);
	uint32_t credit;

	if (!p)
		return 0; /* a stream we already let go of: late frames are harmless */
	switch (f->type) {
	case PROTO_DATA:
		if (!o || o->eof)
			return -EPROTO;
		if (proto_window_on_data(&o->win, f->len) < 0)
			return -EPROTO;
		buf_append(&o->data, f->payload, f->len);
		break;
	case PROTO_CLOSE:
		if (!o) {
			p->in_closed = true; /* the process closed stdin: stop sending */
			return 0;
		}
		o->eof = true;
		break;
	case PROTO_CREDIT:
		if (o || proto_credit_parse(f, &credit) < 0)
			return -EPROTO;
		if (proto_window_on_credit(&p->in_win, credit) < 0)
			return -EPROTO;
		if (p->ops->stdin_ready)
			p->ops->stdin_ready(p, p->userdata);
		return 0;
	default: return -EPROTO;
	}
	if (p->ops->output)
		p->ops->output(p, o == &p->out ? 1 : 2, p->userdata);
	return 0;
}

static int on_frame(struct proto_conn *c, const struct proto_frame *f, void *userdata)
{
	struct guest_client *gc = userdata;
	(void)c;
	int r;

	if (!gc->hello && f->type != PROTO_HELLO)
		r = -EPROTO;
	else if (f->type == PROTO_HELLO)
		r = gc->hello ? -EPROTO : on_hello(gc, f);
	else if (f->type == PROTO_RESPONSE)
		r = on_response(gc, f);
	else if (f->type == PROTO_EVENT)
		r = on_event(gc, f);
	else if (f->type == PROTO_REQUEST)
		r = -EPROTO; /* the guest does not call us */
	else
		r = on_stream_frame(gc, f);
	if (r < 0)
		log_debug_errno(r, "guest protocol violation (frame type %u): %m", f->type);
	return r;
}

static void on_closed(struct proto_conn *c, int error, void *userdata)
{
	(void)c;
	client_fail(userdata, error);
}

static void on_writable(struct proto_conn *c, void *userdata)
{
	struct guest_client *gc = userdata;
	(void)c;
	for (struct guest_proc *p = gc->procs; p; p = p->next)
		if (!p->in_closed && p->in_id && p->ops->stdin_ready)
			p->ops->stdin_ready(p, p->userdata);
}

static const struct proto_conn_ops conn_ops = {
	.frame = on_frame,
	.closed = on_closed,
	.writable = on_writable,
};

/* Fails every pending call and process, once. */
static void client_fail(struct guest_client *gc, int error)
{
	if (gc->closed)
		return;
	gc->closed = true;
	gc->close_error = error;
	while (gc->calls) {
		struct call *c = gc->calls;
		gc->calls = c->next;
		if (c->cb)
			c->cb(gc, EPIPE, "guest connection lost", NULL, c->userdata);
		free(c);
	}
	for (struct guest_proc *p = gc->procs; p; p = p->next)
		proc_mark_exited(p, -EPIPE);
	if (gc->ops->closed)
		gc->ops->closed(gc, error, gc->userdata);
}

int guest_client_new(struct event *e, int fd, const struct guest_client_ops *ops, void *userdata,
		     struct guest_client **ret)
{
	struct guest_client *gc = xnew0(struct guest_client, 1);
	gc->event = e;
	gc->ops = ops;
	gc->userdata = userdata;
	gc->next_call = 1;
	gc->next_stream = 1;
	gc->next_proc = 1;
	int r = proto_conn_new(e, fd, &conn_ops, gc, &gc->conn);
	if (r < 0) {
		free(gc);
		return r;
	}
	*ret = gc;
	return 0;
}

struct guest_client *guest_client_free(struct guest_client *gc)
{
	if (!gc)
		return NULL;
	while (gc->calls) {
		struct call *c = gc->calls;
		gc->calls = c->next;
		if (c->cb && c->drop)
			c->drop(c->userdata);
		free(c);
	}
	/* Processes belong to their owners; unlink them so they don't point back. */
	for (struct guest_proc *p = gc->procs, *n; p; p = n) {
		n = p->next;
		p->gc = NULL;
		p->next = NULL;
	}
	gc->conn = proto_conn_free(gc->conn);
	free(gc);
	return NULL;
}

int64_t guest_client_call(struct guest_client *gc, struct guest_request *rq, guest_reply_fn cb,
			  void *userdata)
{
	return guest_client_call_owned(gc, rq, cb, NULL, userdata);
}

int64_t guest_client_call_owned(struct guest_client *gc, struct guest_request *rq,
				guest_reply_fn cb, guest_drop_fn drop, void *userdata)
{
	if (gc->closed) {
		guest_request_done(rq);
		return -EPIPE;
	}
	uint32_t id = gc->next_call++;
	if (gc->next_call == 0)
		gc->next_call = 1;
	/* Patch the id into the request prefix (little-endian, after the header). */
	for (int i = 0; i < 4; i++)
		rq->buf[PROTO_HDR_SIZE + i] = (uint8_t)(id >> (8 * i));
	ssize_t n = proto_writer_finish(&rq->w, PROTO_REQUEST, 0);
	int r = n < 0 ? (int)n : proto_conn_send(gc->conn, rq->buf, (size_t)n);
	guest_request_done(rq);
	if (r < 0)
		return r;

	struct call *c = xnew0(struct call, 1);
	c->id = id;
	c->op = rq->op;
	c->cb = cb;
	c->drop = drop;
	c->userdata = userdata;
	c->next = gc->calls;
	gc->calls = c;
	return id;
}

void guest_client_cancel(struct guest_client *gc, int64_t call_id)
{
	for (struct call *c = gc->calls; c; c = c->next)
		if (c->id == call_id) {
			c->cb = NULL;
			c->userdata = NULL;
		}
}

struct sync_state {
	bool done;
	struct guest_reply *out;
};

static void sync_cb(struct guest_client *gc, int error, const char *message,
		    const struct proto_reader *body, void *userdata)
{
	struct sync_state *st = userdata;
	(void)gc;
	st->done = true;
	st->out->error = error;
	st->out->message = message ? xstrdup(message) : NULL;
	if (body && body->len > body->off) {
		st->out->body_len = body->len - body->off;
		st->out->body = xmemdup(body->p + body->off, st->out->body_len);
	}
}

int guest_client_call_sync(struct guest_client *gc, struct guest_request *rq, usec_t timeout,
			   struct guest_reply *ret)
{
	struct sync_state st = { .out = ret };
	*ret = (struct guest_reply){ 0 };
	int64_t id = guest_client_call(gc, rq, sync_cb, &st);
	if (id < 0)
		return (int)id;

	usec_t deadline =
	    timeout == USEC_INFINITY ? USEC_INFINITY : now_usec(CLOCK_MONOTONIC) + timeout;
	while (!st.done) {
		usec_t now = now_usec(CLOCK_MONOTONIC);
		if (now >= deadline || event_exiting(gc->event)) {
			guest_client_cancel(gc, id);
			return -ETIMEDOUT;
		}
		int r = event_run(gc->event,
				  deadline == USEC_INFINITY ? USEC_INFINITY : deadline - now);
		if (r < 0) {
			guest_client_cancel(gc, id);
			return r;
		}
	}
	return 0;
}

/* --- processes --- */

static void put_strv(struct proto_writer *w, uint16_t tag, char *const *l)
{
	for (size_t i = 0; l && l[i]; i++)
		proto_put_str(w, tag, l[i]);
}

static void on_create_reply(struct guest_client *gc, int error, const char *message,
			    const struct proto_reader *body, void *userdata)
{
	struct guest_proc *p = userdata;
	(void)gc;
	(void)body;
	if (error && !p->create_error) {
		p->create_error = error;
		p->create_message = xstrdup(message ? message : strerror(error));
	}
}

static void on_start_reply(struct guest_client *gc, int error, const char *message,
			   const struct proto_reader *body, void *userdata)
{
	struct guest_proc *p = userdata;
	uint32_t pid = 0;
	(void)gc;
	struct proto_field_spec spec[] = { { PROTO_T_PID, PROTO_F_U32, &pid, false } };
	if (body)
		(void)proto_parse_fields(body, spec, ELEMENTSOF(spec));
	if (p->create_error) {
		error = p->create_error;
		message = p->create_message;
	}
	p->started = true;
	if (p->ops->started)
		p->ops->started(p, error, message, pid, p->userdata);
	/* Created but never started (create failed): no exit event will come. */
	if (p->create_error)
		proc_mark_exited(p, 126);
}

void guest_proc_get_ids(const struct guest_proc *p, struct guest_proc_ids *ret)
{
	*ret = (struct guest_proc_ids){ .proc = p->id,
					.in = p->in_id,
					.out = p->out.eof && !p->out.id ? 0 : p->out.id,
					.err = p->err.eof && !p->err.id ? 0 : p->err.id };
}

static void on_attach_reply(struct guest_client *gc, int error, const char *message,
			    const struct proto_reader *body, void *userdata)
{
	struct guest_proc *p = userdata;
	uint32_t pid = 0, next_proc = 0, next_stream = 0;
	struct proto_field_spec spec[] = {
		{ PROTO_T_PID, PROTO_F_U32, &pid, false },
		{ PROTO_T_NEXT_PROC, PROTO_F_U32, &next_proc, false },
		{ PROTO_T_NEXT_STREAM, PROTO_F_U32, &next_stream, false },
	};
	if (!error && body)
		(void)proto_parse_fields(body, spec, ELEMENTSOF(spec));
	/* New processes and streams must not reuse ids the guest still has. */
	if (next_proc > gc->next_proc)
		gc->next_proc = next_proc;
	if (next_stream > gc->next_stream)
		gc->next_stream = next_stream;
	p->started = true;
	if (p->ops->started)
		p->ops->started(p, error, message, pid, p->userdata);
	if (error)
		proc_mark_exited(p, -ESRCH);
}

int guest_proc_adopt(struct guest_client *gc, const struct guest_proc_ids *ids,
		     const struct guest_proc_ops *ops, void *userdata, struct guest_proc **ret)
{
	if (!guest_client_is_up(gc))
		return -ENOTCONN;
	if (!ids->proc)
		return -EINVAL;
	struct guest_proc *p = xnew0(struct guest_proc, 1);
	p->gc = gc;
	p->ops = ops;
	p->userdata = userdata;
	p->id = ids->proc;
	proto_window_init(&p->in_win);
	proto_window_init(&p->out.win);
	proto_window_init(&p->err.win);
	p->in_id = ids->in;
	p->in_closed = !ids->in;
	p->out.id = ids->out;
	p->out.eof = !ids->out;
	p->err.id = ids->err;
	p->err.eof = !ids->err;
	uint32_t top = MAX(ids->in, MAX(ids->out, ids->err));
	if (gc->next_proc <= ids->proc)
		gc->next_proc = ids->proc + 1;
	if (gc->next_stream <= top)
		gc->next_stream = top + 1;
	/* Linked first: replayed output and the exit may come before the reply. */
	p->next = gc->procs;
	gc->procs = p;
	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_PROC_ATTACH);
	proto_put_u32(&rq.w, PROTO_T_PROC_ID, p->id);
	int64_t r = guest_client_call(gc, &rq, on_attach_reply, p);
	if (r < 0) {
		gc->procs = p->next;
		free(p);
		return (int)r;
	}
	*ret = p;
	return 0;
}

static bool id_in_use(const struct guest_client *gc, uint32_t id, bool stream)
{
	for (const struct guest_proc *p = gc->procs; p; p = p->next)
		if (stream ? (p->in_id == id || p->out.id == id || p->err.id == id) : p->id == id)
			return true;
	return false;
}

/*
 * Ids the guest does not have: never 0, never one still in use, even after
 * a guest's NEXT_PROC/NEXT_STREAM hint (a hostile guest's: any value) took
 * the counter to its end and round.
 */
static uint32_t new_id(struct guest_client *gc, uint32_t *next, bool stream)
{
	for (;;) {
		uint32_t id = (*next)++;
		if (*next == 0)
			*next = 1;
		if (id && !id_in_use(gc, id, stream))
			return id;
	}
}

static uint32_t new_stream(struct guest_client *gc)
{
	return new_id(gc, &gc->next_stream, true);
}

int guest_proc_spawn(struct guest_client *gc, const struct guest_proc_spec *spec,
		     const struct guest_proc_ops *ops, void *userdata, struct guest_proc **ret)
{
	if (!guest_client_is_up(gc))
		return -ENOTCONN;
	if (!spec->argv || !spec->argv[0])
		return -EINVAL;

	struct guest_proc *p = xnew0(struct guest_proc, 1);
	p->gc = gc;
	p->ops = ops;
	p->userdata = userdata;
	p->id = new_id(gc, &gc->next_proc, false);
	proto_window_init(&p->in_win);
	proto_window_init(&p->out.win);
	proto_window_init(&p->err.win);
	if (spec->attach_stdin)
		p->in_id = new_stream(gc);
	else
		p->in_closed = true;
	if (spec->attach_stdout)
		p->out.id = new_stream(gc);
	else
		p->out.eof = true;
	if (spec->attach_stderr && !spec->tty)
		p->err.id = new_stream(gc);
	else
		p->err.eof = true;

	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_PROC_CREATE);
	proto_put_u32(&rq.w, PROTO_T_PROC_ID, p->id);
	put_strv(&rq.w, PROTO_T_ARGV, spec->argv);
	put_strv(&rq.w, PROTO_T_ENV, spec->env);
	put_strv(&rq.w, PROTO_T_GROUP_ADD, spec->group_add);
	if (spec->cwd)
		proto_put_str(&rq.w, PROTO_T_CWD, spec->cwd);
	if (spec->user)
		proto_put_str(&rq.w, PROTO_T_USER, spec->user);
	if (spec->root)
		proto_put_str(&rq.w, PROTO_T_ROOT, spec->root);
	if (spec->exec_guest)
		proto_put_u32(&rq.w, PROTO_T_EXEC_GUEST, 1);
	if (spec->cgroup)
		proto_put_str(&rq.w, PROTO_T_CGROUP, spec->cgroup);
	if (spec->netns)
		proto_put_u32(&rq.w, PROTO_T_NETNS, 1);
	for (size_t i = 0; i < spec->n_rlimits; i++) {
		uint8_t b[20];
		const struct guest_rlimit *rl = &spec->rlimits[i];
		for (int k = 0; k < 4; k++)
			b[k] = (uint8_t)(rl->resource >> (8 * k));
		for (int k = 0; k < 8; k++) {
			b[4 + k] = (uint8_t)(rl->soft >> (8 * k));
			b[12 + k] = (uint8_t)(rl->hard >> (8 * k));
		}
		proto_put_bytes(&rq.w, PROTO_T_RLIMIT, b, sizeof(b));
	}
	proto_put_u32(&rq.w, PROTO_T_TTY, spec->tty);
	if (spec->rows && spec->cols) {
		proto_put_u32(&rq.w, PROTO_T_ROWS, spec->rows);
		proto_put_u32(&rq.w, PROTO_T_COLS, spec->cols);
	}
	proto_put_u32(&rq.w, PROTO_T_STDIN_STREAM, p->in_id);
	proto_put_u32(&rq.w, PROTO_T_STDOUT_STREAM, p->out.id);
	proto_put_u32(&rq.w, PROTO_T_STDERR_STREAM, p->err.id);
	if (rq.w.overflow) {
		guest_request_done(&rq);
		free(p);
		return -E2BIG;
	}
	int64_t r = guest_client_call(gc, &rq, on_create_reply, p);
	if (r >= 0) {
		guest_request_init(&rq, PROTO_OP_PROC_START);
		proto_put_u32(&rq.w, PROTO_T_PROC_ID, p->id);
		r = guest_client_call(gc, &rq, on_start_reply, p);
	}
	if (r < 0) {
		/* The connection is failing: pending callbacks must not see p. */
		for (struct call *c = gc->calls; c; c = c->next)
			if (c->userdata == p)
				c->cb = NULL;
		free(p);
		return (int)r;
	}
	p->next = gc->procs;
	gc->procs = p;
	*ret = p;
	return 0;
}

struct guest_proc *guest_proc_free(struct guest_proc *p)
{
	if (!p)
		return NULL;
	struct guest_client *gc = p->gc;
	if (gc) {
		for (struct guest_proc **pp = &gc->procs; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		for (struct call *c = gc->calls; c; c = c->next)
			if (c->userdata == p) {
				c->cb = NULL;
				c->userdata = NULL;
			}
		if (p->exited && p->status >= 0 && !gc->closed) {
			struct guest_request rq;
			guest_request_init(&rq, PROTO_OP_PROC_DELETE);
			proto_put_u32(&rq.w, PROTO_T_PROC_ID, p->id);
			(void)guest_client_call(gc, &rq, NULL, NULL);
		}
	}
	buf_done(&p->out.data);
	buf_done(&p->err.data);
	free(p->create_message);
	free(p);
	return NULL;
}

static struct ostream *ostream_of(struct guest_proc *p, int fd)
{
	return fd == 2 ? &p->err : &p->out;
}

size_t guest_proc_peek(struct guest_proc *p, int fd, const uint8_t **ret)
{
	struct ostream *o = ostream_of(p, fd);
	*ret = buf_peek(&o->data);
	return buf_len(&o->data);
}

void guest_proc_consume(struct guest_proc *p, int fd, size_t n)
{
	struct ostream *o = ostream_of(p, fd);
	n = MIN(n, buf_len(&o->data));
	buf_consume(&o->data, n);
	proto_window_on_consumed(&o->win, (uint32_t)n);
	uint32_t credit = proto_window_take_credit(&o->win, buf_empty(&o->data));
	if (credit > 0 && !o->eof && p->gc && !p->gc->closed)
		(void)proto_conn_send_credit(p->gc->conn, o->id, credit);
}

bool guest_proc_output_done(const struct guest_proc *p, int fd)
{
	const struct ostream *o = fd == 2 ? &p->err : &p->out;
	return o->eof && buf_empty(&o->data);
}

size_t guest_proc_stdin_room(const struct guest_proc *p)
{
	if (p->in_closed || !p->gc || p->gc->closed || !proto_conn_can_send_data(p->gc->conn))
		return 0;
	return MIN((size_t)p->in_win.send, (size_t)PROTO_DATA_CHUNK);
}

int guest_proc_write_stdin(struct guest_proc *p, const void *data, size_t n)
{
	if (p->in_closed || !p->gc)
		return -EPIPE;
	if (n > p->in_win.send || n > PROTO_DATA_CHUNK)
		return -ENOBUFS;
	int r = proto_conn_send_data(p->gc->conn, p->in_id, data, n);
	if (r < 0)
		return r;
	p->in_win.send -= (uint32_t)n;
	return 0;
}

int guest_proc_close_stdin(struct guest_proc *p)
{
	if (p->in_closed)
		return 0;
	p->in_closed = true;
	if (!p->gc || p->gc->closed)
		return -EPIPE;
	return proto_conn_send_close(p->gc->conn, p->in_id);
}

static int simple_call(struct guest_proc *p, struct guest_request *rq)
{
	if (!p->gc) {
		guest_request_done(rq);
		return -ENOTCONN;
	}
	int64_t r = guest_client_call(p->gc, rq, NULL, NULL);
	return r < 0 ? (int)r : 0;
}

int guest_proc_signal(struct guest_proc *p, int sig)
{
	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_PROC_SIGNAL);
	proto_put_u32(&rq.w, PROTO_T_PROC_ID, p->id);
	proto_put_u32(&rq.w, PROTO_T_SIGNAL, (uint32_t)sig);
	return simple_call(p, &rq);
}

int guest_proc_resize(struct guest_proc *p, unsigned rows, unsigned cols)
{
	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_PROC_RESIZE);
	proto_put_u32(&rq.w, PROTO_T_PROC_ID, p->id);
	proto_put_u32(&rq.w, PROTO_T_ROWS, rows);
	proto_put_u32(&rq.w, PROTO_T_COLS, cols);
	return simple_call(p, &rq);
}

bool guest_proc_exited(const struct guest_proc *p, int *ret_status)
{
	if (p->exited && ret_status)
		*ret_status = p->status;
	return p->exited;
}
