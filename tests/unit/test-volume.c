/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: dockerd's rules for volume names and the local driver's options (volume.c). */
#include <jansson.h>
#include <string.h>

#include "tap.h"
#include "volume.h"

static int opts(const char *json)
{
	json_t *o = json_loads(json, 0, NULL);
	struct arca_error *err = NULL;
	int r = volume_options_check(o, &err);
	arca_error_free(err);
	json_decref(o);
	return r;
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
	ok(opts("{}") == 0 && volume_options_check(NULL, NULL) == 0, "no options");
	ok(opts("{\"type\":\"tmpfs\",\"device\":\"tmpfs\",\"o\":\"size=10m\"}") == 0, "tmpfs");
	ok(opts("{\"type\":\"none\",\"device\":\"/srv/x\",\"o\":\"bind\"}") == 0, "a bind");
	ok(opts("{\"type\":\"none\",\"device\":\"srv\",\"o\":\"bind\"}") < 0,
	   "a bind needs an absolute device");
	ok(opts("{\"type\":\"nfs\",\"device\":\":/x\",\"o\":\"addr=1.2.3.4\"}") < 0,
	   "other types are refused");
	ok(opts("{\"size\":\"1g\"}") < 0 && opts("{\"bogus\":\"1\"}") < 0, "unknown keys");
	ok(opts("{\"type\":\"tmpfs\"}") < 0, "type without device");
	ok(opts("{\"type\":1}") < 0 && opts("[]") < 0, "not strings");
	return tap_done();
}
