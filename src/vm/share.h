/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A VM's shared host paths (share.c): one virtiofsd per VM that has any,
 * in a private mount namespace where each source is bind-mounted under one
 * root (<run dir>/share/<index>), the read-only ones remounted read-only
 * there. The host's mount table is untouched, and everything vanishes with
 * the process, which exits when QEMU closes its vhost-user socket. The
 * guest mounts the tree as virtiofs (tag VM_SHARE_TAG) and finds share i
 * at <its mount>/<i>.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define VM_SHARE_TAG	  "arca-shares"
#define VM_MAX_SHARES	  64
#define VM_VIRTIOFSD_PATH "/usr/lib/qemu/virtiofsd"

struct vm_share {
	const char *source; /* an absolute host path: a directory or a file */
	bool readonly;	    /* enforced by the host's mount, not only the guest's */
};

/*
 * Starts the sharing process for the shares, serving on the listening
 * socket fd (not taken); its log goes to log_path. *ret_pid is its PID.
 */
int vm_share_spawn(const char *run_dir, const struct vm_share *shares, size_t n, int listen_fd,
		   const char *log_path, bool die_with_parent, pid_t *ret_pid,
		   struct arca_error **err);
