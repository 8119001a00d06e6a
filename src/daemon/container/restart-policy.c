/* SPDX-License-Identifier: Apache-2.0 */
/* Restart policy decisions, after dockerd's restartmanager and validateRestartPolicy. */
#include "restart-policy.h"

#include <errno.h>
#include <string.h>

static const char *policy_name(json_t *policy)
{
	const char *n = json_string_value(json_object_get(policy, "Name"));
	return n ? n : "";
}

static json_int_t max_retries(json_t *policy)
{
	return json_integer_value(json_object_get(policy, "MaximumRetryCount"));
}

int restart_policy_check(json_t *policy, bool auto_remove, struct arca_error **err)
{
	if (!policy || json_is_null(policy))
		return 0;
	if (!json_is_object(policy))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "RestartPolicy must be an object");
	json_t *name = json_object_get(policy, "Name");
	json_t *count = json_object_get(policy, "MaximumRetryCount");
	if ((name && !json_is_null(name) && !json_is_string(name)) ||
	    (count && !json_is_null(count) && !json_is_integer(count)))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid restart policy");
	const char *n = policy_name(policy);
	json_int_t max = max_retries(policy);
	if (strcmp(n, "always") == 0 || strcmp(n, "unless-stopped") == 0 || strcmp(n, "no") == 0) {
		if (max != 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid restart policy: maximum retry count can "
					      "only be used with 'on-failure'%s",
					      max < 0 ? " and cannot be negative" : "");
	} else if (strcmp(n, "on-failure") == 0) {
		if (max < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid restart policy: maximum retry count cannot "
					      "be negative");
	} else if (n[0]) {
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid restart policy: unknown policy '%s'; use one of "
				      "'no', 'always', 'on-failure', or 'unless-stopped'",
				      n);
	}
	if (auto_remove && n[0] && strcmp(n, "no") != 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "can't create 'AutoRemove' container with restart policy");
	return 0;
}

static bool on_failure_wants(json_t *policy, int exit_code, int restart_count)
{
	json_int_t max = max_retries(policy);
	return exit_code != 0 && (max == 0 || restart_count < max);
}

bool restart_policy_wants(json_t *policy, int exit_code, bool manual_stop, int restart_count)
{
	const char *n = policy_name(policy);
	if (manual_stop)
		return false; /* dockerd cancels its restart manager on stop and kill */
	if (strcmp(n, "always") == 0 || strcmp(n, "unless-stopped") == 0)
		return true;
	if (strcmp(n, "on-failure") == 0)
		return on_failure_wants(policy, exit_code, restart_count);
	return false;
}

bool restart_policy_at_boot(json_t *policy, int exit_code, bool manual_stop, int restart_count)
{
	const char *n = policy_name(policy);
	if (strcmp(n, "always") == 0)
		return true; /* even after a stop, as Docker documents */
	if (strcmp(n, "unless-stopped") == 0)
		return !manual_stop;
	if (strcmp(n, "on-failure") == 0)
		return !manual_stop && on_failure_wants(policy, exit_code, restart_count);
	return false;
}

usec_t restart_backoff_next(usec_t previous, usec_t ran)
{
	if (ran >= RESTART_RESET_AFTER || previous == 0)
		return RESTART_BACKOFF_FIRST;
	return previous >= RESTART_BACKOFF_MAX / 2 ? RESTART_BACKOFF_MAX : previous * 2;
}
