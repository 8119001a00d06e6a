/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HostConfig.LogConfig: the json-file driver (with its max-size and
 * max-file rotation options) and none. Validated at create as dockerd does;
 * other drivers are refused rather than silently replaced.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define LOG_MAX_FILES 100

struct log_config {
	bool none;	    /* --log-driver none: nothing is kept */
	uint64_t max_size;  /* bytes per file, 0: unlimited */
	unsigned max_files; /* files kept, the current one included (>= 1) */
};

/* log_config NULL or {} gives json-file without limits. */
int log_config_parse(json_t *log_config, struct log_config *ret, struct arca_error **err);
/* The daemon's log-driver (NULL: json-file) and log-opts (key=value) as a LogConfig. */
json_t *log_config_default(const char *driver, char *const *opts);
/*
 * dockerd's merge at create (mergeAndVerifyLogConfig): a HostConfig without
 * LogConfig.Type gets the daemon's; the daemon's options fill in those a
 * container of the daemon's driver left out. The result is what inspect shows.
 */
void log_config_apply_default(json_t *host_config, const json_t *dflt);
