/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pool of booted VMs (docs/vm-pool.md). A container start that fits the
 * pool's class (the daemon's guest, default memory and vCPUs, a NIC, no
 * shared host paths, no block volume) claims a VM whose guest already said
 * HELLO, instead of booting one: its disks are hot-plugged, its TAP is
 * renamed to the container's, its hostname is set over the protocol. Every
 * pooled VM booted on its own, so none shares another's memory, randomness
 * or MAC.
 *
 * The pool keeps up to `size` VMs, fewer when their memory would pass the
 * budget, and refills in the background, one boot at a time, on the event
 * loop (vm_start returns at once). Its VMs end with the daemon (never left
 * running by live restore); a killed daemon's are swept at the next start.
 * The pool is the one owner of its VMs until one is taken.
 */
#pragma once

#include <stdbool.h>

struct daemon;
struct pool;
struct vm;
struct vm_config;

#define POOL_DEFAULT_SIZE      2
#define POOL_DEFAULT_BUDGET_MB 2048
/* A pooled VM's id and run directory start with this. */
#define POOL_VM_PREFIX "pool-"
/* A pooled VM boots with a writable disk of its own, mounted in the guest there. */
#define POOL_RW_SERIAL "arca-pool-rw"
#define POOL_RW_DIR    "/run/arca/pool-rw"

/* Whether id is one a pool gives (POOL_VM_PREFIX and 16 hex digits). */
bool pool_vm_id_valid(const char *id);
/* A pool of size VMs at most, their memory within budget_mb; size 0: no pool. */
struct pool *pool_new(struct daemon *d, unsigned size, unsigned budget_mb);
/* Ends the pool's VMs. NULL-safe. */
struct pool *pool_free(struct pool *p);
/*
 * A ready VM for a start configured as cfg (the same guest files, memory,
 * vCPUs and accelerator channel, no shares, only the image and writable
 * disks), out of the pool, with the name of its NIC's TAP in tap (down)
 * and the path of its writable disk (an empty container disk, mounted at
 * POOL_RW_DIR) in *ret_rw, which the caller renames into the container or
 * unlinks; the caller owns both now (vm_set_owner). NULL when none fits or
 * is ready.
 */
struct vm *pool_take(struct pool *p, const struct vm_config *cfg, char tap[16], char **ret_rw);
/* For docker info: what the pool holds and may hold (a new string). */
char *pool_status(const struct pool *p);
/*
 * At a start of the daemon, after the adoptions: the pooled VMs a killed
 * daemon left (those no container claimed) are ended, their run
 * directories removed.
 */
void pool_clear_stale(struct daemon *d);
