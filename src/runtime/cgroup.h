/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's cgroup on the host: the monitor, QEMU and virtiofsd live
 * in it, so the caller's stats, OOM handling and `delete` see the whole VM.
 * cgroup v2, or every v1 hierarchy mounted (as runc does with cgroupfs).
 * The path is linux.cgroupsPath: "/a/b" (cgroupfs) or "slice:prefix:name"
 * (the systemd form, laid out as systemd would: a.slice/a-b.slice/prefix-name.scope).
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "time-util.h"

/* The cgroup's path under each hierarchy's root ("/x/y"). Default: /arca-runtime/<id>. */
int rt_cgroup_path(const char *spec_path, const char *id, char **ret, struct arca_error **err);
/* Creates it in every hierarchy and moves pid in. */
int rt_cgroup_join(const char *path, pid_t pid, struct arca_error **err);
/* memory.max (v2) or memory.limit_in_bytes (v1). */
int rt_cgroup_set_memory(const char *path, uint64_t bytes, struct arca_error **err);
/* SIGKILLs everything in it but the caller, until nothing else is left (up to `wait`). */
void rt_cgroup_kill_others(const char *path, usec_t wait);
/* SIGKILLs everything in it, waits up to `wait` for it to empty, removes it. */
int rt_cgroup_destroy(const char *path, usec_t wait, struct arca_error **err);
/* The PIDs in it (the first hierarchy's view), NULL-terminated count in *ret_n. */
pid_t *rt_cgroup_pids(const char *path, size_t *ret_n);
