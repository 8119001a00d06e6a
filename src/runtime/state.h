/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's state under --root: <root>/<id>/state.json, written
 * atomically (a temporary file renamed over it) by the container's monitor,
 * its only writer. A monitor that is gone, or a PID now held by another
 * process, reads as "stopped" whatever the file last said.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "error.h"

#define RT_DEFAULT_ROOT "/run/arca-runtime"
/* VM run directories: short paths, so their sockets fit a sun_path whatever --root is. */
#define RT_VM_DIR      "/run/arca-runtime-vm"
#define RT_OCI_VERSION "1.0.2"

struct rt_state {
	char *id;
	char *status;	    /* created, running, paused, stopped: as the monitor last wrote it */
	pid_t pid;	    /* the monitor, the process the caller waits on */
	uint64_t pid_start; /* its start time (/proc/PID/stat), against PID reuse */
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339 */
	char *owner;
	char *cgroup;	  /* the cgroup it lives in (relative to the hierarchies' roots), or NULL */
	char *vm_dir;	  /* the VM's run directory */
	char *netns;	  /* the spec's network namespace, when it named one */
	char **net_links; /* its links joined to the VM (given back at delete), or NULL */
	json_t *annotations;
};

/* [A-Za-z0-9_+.-], 1..128 characters, not "." or "..". */
bool rt_id_valid(const char *id);
char *rt_container_dir(const char *root, const char *id);
/* The VM's run-directory name for a container (a hash of its state directory). */
char *rt_vm_id(const char *root, const char *id);

int rt_state_write(const char *dir, const struct rt_state *st, struct arca_error **err);
/* -ENOENT with "container ID does not exist" (the message containerd maps to NotFound). */
int rt_state_read(const char *root, const char *id, struct rt_state *ret, struct arca_error **err);
void rt_state_done(struct rt_state *st);
/* The status now: the file's, unless the monitor is gone ("stopped"). */
const char *rt_state_status(const struct rt_state *st);
/* The OCI state document (`state`, `list`). */
json_t *rt_state_json(const struct rt_state *st);

/* --pid-file: written to a temporary file renamed over it, so a reader sees all or nothing. */
int rt_write_pid_file(const char *path, pid_t pid, struct arca_error **err);

/* Start time of pid from /proc (0 if gone); *ret_zombie when it has exited unreaped. */
uint64_t rt_proc_start_time(pid_t pid, bool *ret_zombie);
