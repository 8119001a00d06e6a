/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's stdio (container-io.c): the json-file log writer, attach
 * streams and log readers. The domain side of attach and logs: clients come
 * as streams (stream.h), never as connections.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "detach-keys.h"

struct stream;

struct attach_opts {
	bool in, out, err;
	bool stream;
	bool logs;
	struct detach_keys detach;
};
/* Joins s to the container's stdio; takes its own reference. */
void container_attach(struct container *c, struct stream *s, const struct attach_opts *o);
struct logs_opts {
	bool out, err, follow, timestamps;
	int64_t since_ns, until_ns; /* 0: unset */
	long tail;		    /* -1: all */
};
/* Streams the log on s (its own reference); an error before anything was written. */
int container_logs(struct container *c, struct stream *s, const struct logs_opts *o,
		   struct arca_error **err);
/* The main process produced output (guest_proc output callback). */
void container_io_output(struct container *c, int fd);
void container_io_stdin_ready(struct container *c);
/* The container stopped: attached streams get EOF, followers finish. */
void container_io_ended(struct container *c);
/*
 * The daemon lets go of a running container (live restore): partial lines are
 * logged, attached streams end, the log closes. What the guest sent that was
 * not consumed stays unacknowledged, so the guest sends it to the next daemon.
 */
void container_io_detach(struct container *c);
int log_writer_open(struct container *c, struct arca_error **err);
void log_writer_close(struct container *c);
