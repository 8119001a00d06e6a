/* SPDX-License-Identifier: Apache-2.0 */
/* The monitor's state, shared by monitor.c (the VM, the container's process) and
 * monitor-ctl.c (ctl.sock and its clients). */
#pragma once

#include "event.h"
#include "monitor.h"
#include "net.h"
#include "state.h"
#include "stdio-relay.h"
#include "vm.h"

struct ctl_client;

struct monitor {
	const struct monitor_args *a;
	struct event *event;
	struct vm *vm;
	struct stdio_relay *relay; /* the container's process */
	struct guest_proc *paths_proc;
	struct rt_state st;
	int ready_fd;
	int console_fd;	   /* the pty's slave, our controlling terminal; -1 without a terminal */
	struct rt_net net; /* the spec's network namespace, read and plumbed; n_links 0: none */
	int listen_fd;
	struct event_source *listen_src;
	struct ctl_client *clients; /* a list */
	struct ctl_client *starter; /* the `start` awaiting its answer */
	struct ctl_client *pauser;  /* the `pause` or `resume` awaiting its answer */
	bool paused;
	bool started;
	bool finishing;
	int exit_code;
};

void monitor_write_state(struct monitor *m, const char *status);
/* Logs the error, tells whoever waits (create, start) and ends the container. */
void monitor_fail(struct monitor *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void monitor_finish(struct monitor *m, int code);
/* `start`: runs the container's process; the answer goes to m->starter. */
void monitor_start_process(struct monitor *m);

/* monitor-ctl.c */
int monitor_ctl_listen(struct monitor *m, struct arca_error **err);
/* Answers the waiting `start` ("ok" or "error: ..."). */
void monitor_ctl_answer_start(struct monitor *m, const char *msg);
/* The container is ending: every exec client is told its process ended. */
void monitor_ctl_free_all(struct monitor *m);
