/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dockerfile instructions applied to an image config, as `docker import
 * --change` and `docker commit --change` do: CMD, ENTRYPOINT, ENV, EXPOSE,
 * LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME and WORKDIR. Pure; fuzzed.
 */
#pragma once

#include <jansson.h>

#include "error.h"

/*
 * Applies each instruction of changes (NULL-terminated) to config (an
 * object, modified in place). On error config may be partly changed; the
 * caller applies to a copy when that matters.
 */
int image_changes_apply(json_t *config, char *const *changes, struct arca_error **err);
