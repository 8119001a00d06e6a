/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: restart policy decisions (src/daemon/restart-policy.c), as dockerd makes them. */
#include <jansson.h>
#include <stdlib.h>

#include "restart-policy.h"
#include "tap.h"

static json_t *policy(const char *name, int max)
{
	return json_pack("{s:s, s:i}", "Name", name, "MaximumRetryCount", max);
}

static void test_check(void)
{
	struct arca_error *err = NULL;
	const char *good[] = { "", "no", "always", "unless-stopped", "on-failure" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		json_t *p = policy(good[i], 0);
		ok(restart_policy_check(p, false, &err) == 0, "valid: '%s'", good[i]);
		json_decref(p);
	}
	ok(restart_policy_check(NULL, true, &err) == 0, "none with AutoRemove");
	json_t *p = policy("on-failure", 3);
	ok(restart_policy_check(p, false, &err) == 0, "on-failure:3");
	json_decref(p);
	p = policy("always", 3);
	ok(restart_policy_check(p, false, &err) < 0 && err, "always:3 refused");
	err = arca_error_free(err);
	p = (json_decref(p), policy("on-failure", -1));
	ok(restart_policy_check(p, false, &err) < 0, "negative count refused");
	err = arca_error_free(err);
	p = (json_decref(p), policy("sometimes", 0));
	ok(restart_policy_check(p, false, &err) < 0, "unknown policy refused");
	err = arca_error_free(err);
	p = (json_decref(p), policy("always", 0));
	ok(restart_policy_check(p, true, &err) < 0, "AutoRemove with a policy refused");
	err = arca_error_free(err);
	json_decref(p);
}

static void test_decisions(void)
{
	json_t *no = policy("no", 0), *always = policy("always", 0),
	       *unless = policy("unless-stopped", 0), *fail2 = policy("on-failure", 2),
	       *fail = policy("on-failure", 0);
	ok(!restart_policy_wants(no, 1, false, 0), "no: never");
	ok(restart_policy_wants(always, 0, false, 7), "always: after success too");
	ok(!restart_policy_wants(always, 0, true, 0), "always: not after a stop");
	ok(restart_policy_wants(unless, 0, false, 0), "unless-stopped: like always at run time");
	ok(restart_policy_wants(fail2, 1, false, 0) && restart_policy_wants(fail2, 1, false, 1),
	   "on-failure:2: twice");
	ok(!restart_policy_wants(fail2, 1, false, 2), "on-failure:2: not a third time");
	ok(!restart_policy_wants(fail2, 0, false, 0), "on-failure: not after success");
	ok(restart_policy_wants(fail, 1, false, 1000), "on-failure: no maximum");
	ok(restart_policy_at_boot(always, 0, true, 0), "boot: always, even after a stop");
	ok(!restart_policy_at_boot(unless, 0, true, 0), "boot: unless-stopped stays stopped");
	ok(restart_policy_at_boot(unless, 143, false, 0), "boot: unless-stopped that ran");
	ok(!restart_policy_at_boot(no, 143, false, 0), "boot: no");
	json_decref(no);
	json_decref(always);
	json_decref(unless);
	json_decref(fail2);
	json_decref(fail);
}

static void test_backoff(void)
{
	usec_t d = restart_backoff_next(0, 0);
	is_int((int)(d / USEC_PER_MSEC), 100, "first back-off 100 ms");
	d = restart_backoff_next(d, USEC_PER_SEC);
	is_int((int)(d / USEC_PER_MSEC), 200, "then doubles");
	for (int i = 0; i < 20; i++)
		d = restart_backoff_next(d, 0);
	is_int((int)(d / USEC_PER_SEC), 60, "capped at a minute");
	d = restart_backoff_next(d, 11 * USEC_PER_SEC);
	is_int((int)(d / USEC_PER_MSEC), 100, "reset after a 10 s run");
}

int main(void)
{
	test_check();
	test_decisions();
	test_backoff();
	return tap_done();
}
