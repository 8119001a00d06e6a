/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Worker threads for blocking work (rule P1): image pulls, pushes, loads,
 * saves, imports and disk creation. A task runs fn(arg) on its own thread;
 * done(arg, result) then runs on the event loop. The task owns nothing of
 * the loop's: it talks back through its arg (pipes, copies) only.
 */
#pragma once

struct event;
struct workers;

typedef int (*work_fn)(void *arg);
typedef void (*work_done_fn)(void *arg, int result);

int workers_new(struct event *e, struct workers **ret);
/* Waits for running tasks (their done callbacks are not called). NULL-safe. */
struct workers *workers_free(struct workers *w);
/* done may be NULL: a task that owns its arg and reports nothing to the loop. */
int workers_submit(struct workers *w, work_fn fn, work_done_fn done, void *arg);
/*
 * From a task: runs fn(arg) on the loop thread and waits for its result,
 * the task's one way to touch what the loop owns (a build VM's network).
 * -ESHUTDOWN once the daemon stops.
 */
int workers_call(struct workers *w, work_fn fn, void *arg);
unsigned workers_running(const struct workers *w);
