/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A guest process's stdio joined to host file descriptors: its stdout and
 * stderr written to out_fd and err_fd as they accept it (only then is guest
 * credit returned, so a slow reader throttles the guest process instead of
 * growing our memory), and in_fd's bytes sent as its stdin until EOF. done()
 * fires once the process has exited and all of its output is written.
 *
 * Pipes and sockets are written without blocking (made O_NONBLOCK while the
 * relay runs), and so is any descriptor already O_NONBLOCK (a pty its owner
 * set so); files and terminals otherwise with plain writes. A reader that went
 * away (EPIPE) has the rest discarded. The relay owns the process.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "guest-client.h"

struct event;
struct stdio_relay;

struct stdio_relay_ops {
	/* error 0: running as pid; else its start failed (done follows). Optional. */
	void (*started)(struct stdio_relay *r, int error, const char *message, uint32_t pid,
			void *userdata);
	/* Exited with status (0-255, or < 0 when the connection died), output all written.
	 * Called last: it may free the relay. */
	void (*done)(struct stdio_relay *r, int status, void *userdata);
};

/* in_fd -1: no stdin. out_fd and err_fd may be the same descriptor. */
struct stdio_relay *stdio_relay_new(struct event *e, int in_fd, int out_fd, int err_fd,
				    const struct stdio_relay_ops *ops, void *userdata);
/* Spawns the process with its stdio relayed (spec's attach_* as given). */
int stdio_relay_spawn(struct stdio_relay *r, struct guest_client *gc,
		      const struct guest_proc_spec *spec);
struct guest_proc *stdio_relay_proc(const struct stdio_relay *r);
/* Stops reading stdin (the run is ending). */
void stdio_relay_stop_input(struct stdio_relay *r);
/* Frees the process too and restores the descriptors' blocking mode. NULL-safe. */
struct stdio_relay *stdio_relay_free(struct stdio_relay *r);
