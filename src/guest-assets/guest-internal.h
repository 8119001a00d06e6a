/* SPDX-License-Identifier: Apache-2.0 */
/* What guest-manifest.c and guest-config.c share: strict JSON objects. */
#pragma once

#include <jansson.h>

#include "error.h"

/* o is an object whose every key is one of keys (NULL-terminated); else an error naming it. */
int guest_json_only_keys(json_t *o, const char *const *keys, const char *where,
			 struct arca_error **err);
