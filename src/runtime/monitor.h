/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's monitor: the host process `create` forks and the caller
 * (containerd's shim, conmon) waits on through --pid-file. It owns the VM
 * (QEMU and virtiofsd die with it), holds the container's stdio (inherited
 * from `create`), serves <dir>/ctl.sock for `start`, writes state.json (its
 * only writer), relays every signal it gets to the guest process, and exits
 * with that process's status (128+N for signal N).
 */
#pragma once

#include "rt-log.h"
#include "spec.h"
#include "vm.h"

struct monitor_args {
	const char *root;
	const char *id;
	const char *dir;	   /* <root>/<id>, created by `create` */
	const char *vm_dir;	   /* where the VM's run directory goes */
	const char *bundle;	   /* absolute */
	const char *rootfs;	   /* absolute, a directory */
	char *const *bind_sources; /* per spec mount: the host path of a bind, else NULL */
	const struct rt_spec *spec;
	const char *cgroup;	    /* rt_cgroup_path's */
	int ready_fd;		    /* "ok\n" or an error message, then closed */
	const char *console_socket; /* process.terminal: where the pty's master goes */
	const struct rt_log *log;
	bool debug;
};

/* Runs the monitor in this (forked) process; returns its exit status. */
int monitor_run(const struct monitor_args *a);

/* The guest mounts of the spec (monitor-mounts.c): adds them to a batch. */
struct guest_batch;
void monitor_add_mounts(struct guest_batch *b, const struct rt_spec *spec,
			char *const *bind_sources);
/* Where the rootfs and the bind sources go in the VM's shares: share i. */
size_t monitor_shares(const struct monitor_args *a, struct vm_share *shares, size_t max);
