/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host end of the guest protocol: typed RPC calls, process stdio streams
 * with credit-based flow control, and exit events. Every byte from the guest
 * is hostile: frames are validated by src/proto, and any violation (bad
 * frame, data beyond granted credit, a reply to no request) closes the
 * connection and reports the error through ops->closed.
 *
 * Single-threaded, on the caller's event loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "time-util.h"

struct event;
struct guest_client;
struct guest_proc;

struct guest_hello {
	uint32_t major, minor;
	uint64_t boot_ns;  /* guest CLOCK_BOOTTIME when arca-init started */
	uint64_t ready_ns; /* ... when it first served the channel */
	char init_version[64];
};
/* arca-init's time from its start to serving the channel (0 if the guest said nothing). */
uint64_t guest_hello_init_ns(const struct guest_hello *h);

struct guest_client_ops {
	void (*hello)(struct guest_client *gc, const struct guest_hello *h, void *userdata);
	/* Connection lost (error 0) or protocol violation (error < 0). Called once. */
	void (*closed)(struct guest_client *gc, int error, void *userdata);
};

/* Takes ownership of fd, a connected channel socket. */
int guest_client_new(struct event *e, int fd, const struct guest_client_ops *ops, void *userdata,
		     struct guest_client **ret);
struct guest_client *guest_client_free(struct guest_client *gc);
bool guest_client_is_up(const struct guest_client *gc);
/* Why the guest's HELLO was refused (an init of another protocol version), NULL if it was not. */
const char *guest_client_refusal(const struct guest_client *gc);

/*
 * A DNS query a container sent to 127.0.0.11 (EV_DNS_QUERY, at most
 * GUEST_DNS_MAX bytes, not parsed here): answer with a DNS_REPLY call
 * carrying the same id.
 */
#define GUEST_DNS_MAX 65535
typedef void (*guest_dns_fn)(struct guest_client *gc, uint32_t id, bool tcp, const uint8_t *data,
			     size_t len, void *userdata);
void guest_client_on_dns(struct guest_client *gc, guest_dns_fn fn, void *userdata);

/* A request under construction: guest_request_init(), proto_put_*(&rq.w, ...), call. */
struct guest_request {
	uint8_t *buf;
	struct proto_writer w;
	uint16_t op;
};
void guest_request_init(struct guest_request *rq, uint16_t op);
void guest_request_done(struct guest_request *rq);

/* error is 0 or a positive errno; message is the guest's text (or ours). */
typedef void (*guest_reply_fn)(struct guest_client *gc, int error, const char *message,
			       const struct proto_reader *body, void *userdata);

/* Sends rq (and releases it). Returns the call id (> 0), or < 0. cb may be NULL. */
int64_t guest_client_call(struct guest_client *gc, struct guest_request *rq, guest_reply_fn cb,
			  void *userdata);
/* Called instead of the reply's callback when the client is freed with the call pending. */
typedef void (*guest_drop_fn)(void *userdata);
/* As guest_client_call; drop(userdata) lets go of what userdata holds if no reply comes. */
int64_t guest_client_call_owned(struct guest_client *gc, struct guest_request *rq,
				guest_reply_fn cb, guest_drop_fn drop, void *userdata);
/* Forgets the callback of a pending call. */
void guest_client_cancel(struct guest_client *gc, int64_t call_id);

struct guest_reply {
	int error;
	char *message;
	uint8_t *body;
	size_t body_len;
};
void guest_reply_done(struct guest_reply *r);
/*
 * Runs the event loop until the reply arrives (nested dispatch). Returns 0
 * with *ret filled (ret->error may be set), or < 0 on timeout or disconnect.
 */
int guest_client_call_sync(struct guest_client *gc, struct guest_request *rq, usec_t timeout,
			   struct guest_reply *ret);

/* --- processes --- */

struct guest_rlimit {
	uint32_t resource;
	uint64_t soft, hard;
};

struct guest_proc_spec {
	char *const *argv;
	char *const *env;
	const char *cwd;
	const char *user;
	char *const *group_add;
	const char *root;
	bool exec_guest;    /* argv[0] is in the guest's own root (busybox), run inside root */
	const char *cgroup; /* a cgroup of the guest's /sys/fs/cgroup to join (one name) */
	bool netns;	    /* joins the container's network namespace (its lo and ethN) */
	const struct guest_rlimit *rlimits;
	size_t n_rlimits;
	bool tty;
	unsigned rows, cols;
	bool attach_stdin, attach_stdout, attach_stderr;
};

struct guest_proc_ops {
	/* error 0: running with pid; else the start failed (an exit still follows). */
	void (*started)(struct guest_proc *p, int error, const char *message, uint32_t pid,
			void *userdata);
	/* Output buffered or EOF reached on fd 1 or 2: use guest_proc_peek/consume. */
	void (*output)(struct guest_proc *p, int fd, void *userdata);
	/* Stdin credit became available again. Optional. */
	void (*stdin_ready)(struct guest_proc *p, void *userdata);
	/* The process exited (status 0-255), or the connection died (status < 0). */
	void (*exited)(struct guest_proc *p, int status, void *userdata);
};

int guest_proc_spawn(struct guest_client *gc, const struct guest_proc_spec *spec,
		     const struct guest_proc_ops *ops, void *userdata, struct guest_proc **ret);
/* A process's ids on the channel, to adopt it again after a reconnection. */
struct guest_proc_ids {
	uint32_t proc, in, out, err; /* 0: no such stream */
};
void guest_proc_get_ids(const struct guest_proc *p, struct guest_proc_ids *ret);
/*
 * Adopts a process a previous connection created (a daemon restart):
 * PROC_ATTACH; the guest sends again the output it never had acknowledged,
 * and its exit if it ended. started() reports the PID, or an error when the
 * guest does not know the process (an exit with status < 0 follows).
 */
int guest_proc_adopt(struct guest_client *gc, const struct guest_proc_ids *ids,
		     const struct guest_proc_ops *ops, void *userdata, struct guest_proc **ret);
/* Deletes the guest record if exited; never kills. NULL-safe. */
struct guest_proc *guest_proc_free(struct guest_proc *p);

size_t guest_proc_peek(struct guest_proc *p, int fd, const uint8_t **ret);
void guest_proc_consume(struct guest_proc *p, int fd, size_t n);
/* True once the guest closed the stream and everything buffered was consumed. */
bool guest_proc_output_done(const struct guest_proc *p, int fd);

size_t guest_proc_stdin_room(const struct guest_proc *p);
int guest_proc_write_stdin(struct guest_proc *p, const void *data, size_t n);
int guest_proc_close_stdin(struct guest_proc *p);

int guest_proc_signal(struct guest_proc *p, int sig);
int guest_proc_resize(struct guest_proc *p, unsigned rows, unsigned cols);
bool guest_proc_exited(const struct guest_proc *p, int *ret_status);
