/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What arcad does with each field of a create request's Config and
 * HostConfig: applied, refused with a 400 when set, or accepted with a line
 * in the reply's Warnings. Nothing a client sets is dropped in silence.
 * docs/api-coverage.md lists the same table for users.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

/*
 * Checks the client's Config (before the image's is merged in), its
 * HostConfig. Appends to warnings (a JSON array) what
 * is accepted but not enforced; fails with ARCA_ERR_INVALID on the first
 * field that is set and can't be honoured.
 */
int create_options_check(json_t *config, json_t *host_config, json_t *warnings,
			 struct arca_error **err);

/* RLIMIT_* for a Docker ulimit name ("nofile"), or -EINVAL. */
int create_options_rlimit(const char *name);

struct guest_rlimit;
/* HostConfig.Ulimits as the guest's rlimits (freed by the caller; *ret_n entries). */
struct guest_rlimit *create_options_rlimits(json_t *host_config, size_t *ret_n);

/* null, false, 0, -1 (dockerd's "default"), "", [], {} and lists of those count as unset. */
bool create_option_is_set(json_t *v);
