/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's restart policies (HostConfig.RestartPolicy): no, always,
 * unless-stopped, on-failure[:N]. Pure decisions, as dockerd's
 * restartmanager makes them; container-run.c acts on them.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "time-util.h"

#define RESTART_BACKOFF_FIRST (100 * USEC_PER_MSEC)
#define RESTART_BACKOFF_MAX   (60 * USEC_PER_SEC)
#define RESTART_RESET_AFTER   (10 * USEC_PER_SEC) /* a run this long resets the back-off */

/* Validates a RestartPolicy object (NULL or null: none), with dockerd's messages. */
int restart_policy_check(json_t *policy, bool auto_remove, struct arca_error **err);

/*
 * Should a container whose main process just exited be started again?
 * manual_stop: a stop or kill asked for the exit (or, at daemon start, for
 * the last one); restart_count: restarts by policy so far.
 */
bool restart_policy_wants(json_t *policy, int exit_code, bool manual_stop, int restart_count);

/* At daemon start: should this stopped container be started? */
bool restart_policy_at_boot(json_t *policy, int exit_code, bool manual_stop, int restart_count);

/* The next back-off: 100 ms, doubling to 1 min; back to 100 ms after a run of 10 s. */
usec_t restart_backoff_next(usec_t previous, usec_t ran);
