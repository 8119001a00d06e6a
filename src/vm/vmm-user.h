/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The unprivileged user a VMM runs as once it is set up (docs/security.md):
 * each VM of a run directory gets its own uid (and the same gid) from
 * VMM_UID_BASE .. VMM_UID_BASE + VMM_UID_COUNT - 1, a range no account or
 * container uses, recorded as <run dir>/<id>/vmm-uid.
 */
#pragma once

#include <sys/types.h>

#define VMM_UID_BASE  0x71000000u
#define VMM_UID_COUNT 0x10000u

/* Picks a uid no other VM of runtime_dir holds and records it in its run directory. */
int vmm_user_claim(const char *runtime_dir, const char *id, uid_t *ret);
