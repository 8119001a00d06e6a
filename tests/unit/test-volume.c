/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: dockerd's rules for volume names and the local driver's options (volume.c). */
#include <jansson.h>
#include <string.h>

#include "tap.h"
#include "volume.h"

static int driver_opts(const char *driver, const char *json)
{
	json_t *o = json_loads(json, 0, NULL);
	struct arca_error *err = NULL;
	int r = volume_options_check(driver, o, &err);
	arca_error_free(err);
	json_decref(o);
	return r;
}

static int opts(const char *json)
{
	return driver_opts("local", json);
}

int main(void)
{
	ok(volume_name_is_valid("data") && volume_name_is_valid("a1") &&
	       volume_name_is_valid("my_vol-2.x"),
	   "names as dockerd takes them");
	ok(!volume_name_is_valid("a") && !volume_name_is_valid("") && !volume_name_is_valid(NULL),
	   "at least two characters");
	ok(!volume_name_is_valid("../x") && !volume_name_is_valid("a/b") &&
	       !volume_name_is_valid(".x") && !volume_name_is_valid("_x") &&
	       !volume_name_is_valid("x y") && !volume_name_is_valid("x\n"),
	   "no path, no leading punctuation, no spaces");
	ok(opts("{}") == 0 && volume_options_check("local", NULL, NULL) == 0, "no options");
	ok(opts("{\"type\":\"tmpfs\",\"device\":\"tmpfs\",\"o\":\"size=10m\"}") == 0, "tmpfs");
	ok(opts("{\"type\":\"none\",\"device\":\"/srv/x\",\"o\":\"bind\"}") == 0, "a bind");
	ok(opts("{\"type\":\"none\",\"device\":\"srv\",\"o\":\"bind\"}") < 0,
	   "a bind needs an absolute device");
	ok(opts("{\"type\":\"nfs\",\"device\":\":/x\",\"o\":\"addr=1.2.3.4\"}") < 0,
	   "other types are refused");
	ok(opts("{\"size\":\"1g\"}") < 0 && opts("{\"bogus\":\"1\"}") < 0, "unknown keys");
	ok(opts("{\"type\":\"tmpfs\"}") < 0, "type without device");
	ok(opts("{\"type\":1}") < 0 && opts("[]") < 0, "not strings");
	ok(driver_opts("block", "{}") == 0 && driver_opts("block", "{\"size\":\"1g\"}") == 0,
	   "block: size or the default");
	ok(driver_opts("block", "{\"size\":\"1k\"}") < 0 &&
	       driver_opts("block", "{\"size\":\"lots\"}") < 0,
	   "block: too small or not a size");
	ok(driver_opts("block", "{\"type\":\"tmpfs\",\"device\":\"x\"}") < 0,
	   "block: the local driver's keys are refused");
	return tap_done();
}
