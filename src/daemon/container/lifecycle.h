/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container lifecycle (lifecycle.c): the only writer of a container's
 * state. Start, stop, kill, restart, pause, wait, remove; the exit; live
 * restore and restart policies at the daemon's start. It sits at the top of
 * container/: it calls the parts (io, health, helper, maint) by name, and
 * they reach it only through struct container_hooks.
 */
#pragma once

#include "container.h"

void container_start(struct container *c, container_done_fn cb, void *userdata);
/* timeout < 0: the container's StopTimeout or 10 s. signal NULL: its StopSignal. */
void container_stop(struct container *c, int timeout, const char *signal, container_done_fn cb,
		    void *userdata);
void container_kill(struct container *c, const char *signal, container_done_fn cb, void *userdata);
void container_restart(struct container *c, int timeout, container_done_fn cb, void *userdata);
void container_pause(struct container *c, bool pause, container_done_fn cb, void *userdata);
void container_wait(struct container *c, enum wait_condition cond, container_wait_fn cb,
		    void *userdata);
void container_cancel_wait(struct container *c, void *userdata);
/* force: kill a running container first; the callback runs once it is gone. */
/* volumes: its anonymous volumes go too (docker rm -v), as with AutoRemove. */
void container_remove(struct container *c, bool force, bool volumes, container_done_fn cb,
		      void *userdata);
int container_resize(struct container *c, unsigned rows, unsigned cols, struct arca_error **err);
/* The lifecycle's side of struct container_hooks (container.h). */
extern const struct container_hooks container_lifecycle_hooks;
/* Daemon start: adopts the VMs of containers that ran when the daemon died. */
void container_restore_all(struct daemon *d);
/*
 * Daemon shutdown with live restore: a container that runs (or is paused)
 * with nothing under way keeps its VM, its network and its state, and the
 * daemon lets go of them for the next one to adopt. false: c is not in such
 * a state, and stops with the daemon.
 */
bool container_leave_running(struct container *c);
/* Some container is still being adopted. */
bool container_restoring(struct daemon *d);
/* Daemon start: starts the containers their restart policy brings back. */
void container_restart_policies_at_boot(struct daemon *d);
/* The one "it has exited" transition (error NULL: none recorded), written at once. */
void container_set_exited(struct container *c, int exit_code, const char *error);
/* The exit status a SIGTERM gives, as a stop at the daemon's shutdown records it. */
#define EXIT_STATUS_SIGTERM (128 + 15)
