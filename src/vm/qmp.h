/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An asynchronous QMP client on the event loop. QEMU is treated as
 * untrusted too (a guest may have compromised it): lines are bounded and
 * every reply is parsed defensively.
 *
 * Commands are queued until the greeting and qmp_capabilities are done,
 * then sent one at a time; each gets its callback with the "return" value
 * or an error message. Events are delivered to the event callback.
 */
#pragma once

#include <jansson.h>

struct event;
struct qmp;

typedef void (*qmp_reply_fn)(struct qmp *q, int error, const char *message, json_t *ret,
			     void *userdata);
typedef void (*qmp_event_fn)(struct qmp *q, const char *name, json_t *data, void *userdata);
typedef void (*qmp_closed_fn)(struct qmp *q, void *userdata);

/*
 * Takes ownership of fd, a connected QMP socket. on_closed runs when QEMU
 * closes the socket; it must not free the qmp (free it later). qmp_free()
 * calls pending callbacks with -ECANCELED: they must only release their
 * context then, as the owner is going away.
 */
int qmp_new(struct event *e, int fd, qmp_event_fn on_event, qmp_closed_fn on_closed, void *userdata,
	    struct qmp **ret);
struct qmp *qmp_free(struct qmp *q);
/* args may be NULL; the reference is stolen. cb may be NULL. */
int qmp_execute(struct qmp *q, const char *command, json_t *args, qmp_reply_fn cb, void *userdata);
/* The same, with fd passed along (SCM_RIGHTS) for add-fd or getfd; fd is taken, even on error. */
int qmp_execute_fd(struct qmp *q, const char *command, json_t *args, int fd, qmp_reply_fn cb,
		   void *userdata);
