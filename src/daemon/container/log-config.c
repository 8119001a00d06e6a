/* SPDX-License-Identifier: Apache-2.0 */
/* LogConfig validation: the drivers Arca has and json-file's rotation options. */
#include "log-config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse-util.h"

int log_config_parse(json_t *log_config, struct log_config *ret, struct arca_error **err)
{
	*ret = (struct log_config){ .max_files = 1 };
	if (!log_config || json_is_null(log_config))
		return 0;
	if (!json_is_object(log_config))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "LogConfig must be an object");
	json_t *type = json_object_get(log_config, "Type");
	const char *t = json_string_value(type);
	if (type && !json_is_null(type) && !t)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "LogConfig.Type must be a string");
	json_t *opts = json_object_get(log_config, "Config");
	if (opts && !json_is_null(opts) && !json_is_object(opts))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "LogConfig.Config must be a map of strings");
	if (t && strcmp(t, "none") == 0) {
		ret->none = true;
		if (json_object_size(opts))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "unknown log opt '%s' for none log driver",
					      json_object_iter_key(json_object_iter(opts)));
		return 0;
	}
	if (t && t[0] && strcmp(t, "json-file") != 0) {
		/* dockerd's own drivers that Arca lacks, told apart from names no daemon has. */
		static const char *const dockerd_drivers[] = {
			"local",   "syslog", "journald", "gelf",    "fluentd",
			"awslogs", "splunk", "etwlogs",	 "gcplogs", "logentries",
		};
		for (size_t i = 0; i < sizeof(dockerd_drivers) / sizeof(dockerd_drivers[0]); i++)
			if (strcmp(t, dockerd_drivers[i]) == 0)
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "logging driver %s is not supported by "
						      "Arca: use json-file or none",
						      t);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "logger: no log driver named '%s' is registered", t);
	}
	const char *k;
	json_t *v;
	json_object_foreach(opts, k, v)
	{
		const char *s = json_string_value(v);
		if (!s)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "log opt '%s' must be a string", k);
		if (strcmp(k, "max-size") == 0) {
			if (parse_size(s, &ret->max_size) < 0)
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "invalid size: '%s'", s);
		} else if (strcmp(k, "max-file") == 0) {
			uint32_t n;
			if (safe_atou32(s, &n) < 0)
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "invalid max-file: '%s'", s);
			if (n < 1)
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "max-file cannot be less than 1");
			if (n > LOG_MAX_FILES)
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "max-file cannot be more than %d",
						      LOG_MAX_FILES);
			ret->max_files = n;
		} else if (strcmp(k, "compress") == 0 || strcmp(k, "labels") == 0 ||
			   strcmp(k, "labels-regex") == 0 || strcmp(k, "env") == 0 ||
			   strcmp(k, "env-regex") == 0 || strcmp(k, "tag") == 0) {
			/* Accepted by json-file; they change nothing Arca keeps. */
		} else {
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "unknown log opt '%s' for json-file log driver", k);
		}
	}
	if (ret->max_files > 1 && !ret->max_size)
		ret->max_files = 1; /* without a size, nothing ever rotates */
	return 0;
}

json_t *log_config_default(const char *driver, char *const *opts)
{
	json_t *config = json_object();
	for (size_t i = 0; opts && opts[i]; i++) {
		const char *eq = strchr(opts[i], '=');
		if (!eq)
			continue;
		char *key = strndup(opts[i], (size_t)(eq - opts[i]));
		if (key)
			json_object_set_new(config, key, json_string(eq + 1));
		free(key);
	}
	return json_pack("{s:s, s:o}", "Type", driver ? driver : "json-file", "Config", config);
}

void log_config_apply_default(json_t *host_config, const json_t *dflt)
{
	const char *dtype = json_string_value(json_object_get(dflt, "Type"));
	if (!json_is_object(host_config) || !dtype)
		return;
	json_t *lc = json_object_get(host_config, "LogConfig");
	if (!json_is_object(lc)) {
		lc = json_object();
		json_object_set_new(host_config, "LogConfig", lc);
	}
	const char *type = json_string_value(json_object_get(lc, "Type"));
	if (!type || !type[0]) {
		json_object_set_new(lc, "Type", json_string(dtype));
		type = dtype;
	}
	json_t *config = json_object_get(lc, "Config");
	if (!json_is_object(config)) {
		config = json_object();
		json_object_set_new(lc, "Config", config);
	}
	/* The daemon's options fill in what a container of the same driver left out. */
	if (strcmp(type, dtype) == 0)
		json_object_update_missing(config, json_object_get(dflt, "Config"));
}
