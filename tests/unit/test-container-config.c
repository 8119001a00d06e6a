/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: container_config_build (src/daemon/container.c), the merge of
 * an image's config into a create request, checked against dockerd's rules,
 * and exec_config_check (src/daemon/exec-session.c).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "error.h"
#include "container-health.h"
#include "exec-session.h"
#include "log-config.h"
#include "tap.h"

static const char *image_json = "{\"Cmd\":[\"sh\"],\"Entrypoint\":null,"
				"\"Env\":[\"PATH=/usr/bin:/bin\",\"A=image\"],"
				"\"WorkingDir\":\"/srv\",\"User\":\"daemon\","
				"\"Labels\":{\"from\":\"image\",\"both\":\"image\"},"
				"\"ExposedPorts\":{\"80/tcp\":{}}}";

/* Builds from a request body; returns the error message or NULL. */
static char *build(const char *cfg_json, const char *hc_json, json_t **out, json_t **out_hc)
{
	json_t *cfg = json_loads(cfg_json, 0, NULL);
	json_t *hc = hc_json ? json_loads(hc_json, 0, NULL) : NULL;
	json_t *img = json_loads(image_json, 0, NULL);
	struct arca_error *err = NULL;
	json_t *merged = NULL, *mhc = NULL, *warnings = json_array();
	char *msg = NULL;
	if (container_config_build(cfg, hc, img, &merged, &mhc, warnings, &err) < 0)
		msg = strdup(err->msg);
	arca_error_free(err);
	json_decref(warnings);
	json_decref(cfg);
	json_decref(hc);
	json_decref(img);
	if (out)
		*out = merged;
	else
		json_decref(merged);
	if (out_hc)
		*out_hc = mhc;
	else
		json_decref(mhc);
	return msg;
}

static char *dump(json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static void expect(json_t *cfg, const char *key, const char *want, const char *what)
{
	json_t *v = json_object_get(cfg, key);
	char *got = v ? dump(v) : strdup("null"); /* absent reads as null in inspect */
	is_str(got, want, "%s", what);
	free(got);
}

static void test_merge(void)
{
	json_t *c = NULL;
	char *msg = build("{\"Image\":\"busybox\"}", NULL, &c, NULL);
	ok(msg == NULL, "image defaults alone are enough");
	expect(c, "Cmd", "[\"sh\"]", "Cmd comes from the image");
	expect(c, "WorkingDir", "\"/srv\"", "WorkingDir from the image");
	expect(c, "User", "\"daemon\"", "User from the image");
	expect(c, "Labels", "{\"from\":\"image\",\"both\":\"image\"}", "image labels");
	json_decref(c);

	msg = build("{\"Image\":\"busybox\",\"Cmd\":\"echo\",\"Env\":[\"A=user\",\"B=2\"],"
		    "\"Labels\":{\"both\":\"user\"},\"WorkingDir\":\"/w\"}",
		    NULL, &c, NULL);
	ok(msg == NULL, "user overrides accepted");
	expect(c, "Cmd", "[\"echo\"]", "a string Cmd becomes a list");
	expect(c, "Env", "[\"PATH=/usr/bin:/bin\",\"A=user\",\"B=2\"]",
	       "Env: the user's value replaces the image's key, in place");
	expect(c, "Labels", "{\"both\":\"user\",\"from\":\"image\"}", "user labels win");
	expect(c, "WorkingDir", "\"/w\"", "user WorkingDir wins");
	json_decref(c);

	msg = build("{\"Image\":\"busybox\",\"Entrypoint\":[\"/bin/env\"]}", NULL, &c, NULL);
	ok(msg == NULL, "entrypoint only");
	expect(c, "Entrypoint", "[\"/bin/env\"]", "the user's entrypoint");
	expect(c, "Cmd", "null", "a user entrypoint drops the image's Cmd, as dockerd does");
	json_decref(c);

	msg =
	    build("{\"Image\":\"busybox\",\"Entrypoint\":[\"\"],\"Cmd\":[\"ls\"]}", NULL, &c, NULL);
	ok(msg == NULL, "--entrypoint \"\"");
	expect(c, "Entrypoint", "null", "an empty entrypoint clears it");
	expect(c, "Cmd", "[\"ls\"]", "and keeps the user's Cmd");
	json_decref(c);

	json_t *hc = NULL;
	msg = build("{\"Image\":\"busybox\"}", "null", &c, &hc);
	ok(msg == NULL && json_is_object(hc), "a null HostConfig becomes an empty object");
	json_decref(c);
	json_decref(hc);
}

static void expect_error(const char *cfg, const char *hc, const char *want, const char *what)
{
	char *msg = build(cfg, hc, NULL, NULL);
	ok(msg && strstr(msg, want), "%s", what);
	if (msg && !strstr(msg, want))
		printf("#   got: %s\n", msg);
	free(msg);
}

static void test_errors(void)
{
	expect_error("{}", NULL, "Image", "no image");
	expect_error("{\"Image\":\"busybox\",\"Cmd\":5}", NULL, "Cmd must be a list",
		     "a number Cmd");
	expect_error("{\"Image\":\"busybox\",\"Env\":[1]}", NULL, "Env must be a list of strings",
		     "a non-string Env entry");
	expect_error("{\"Image\":\"busybox\"}", "{\"Memory\":1024}",
		     "Minimum memory limit allowed is 6MB", "tiny memory limit");
	expect_error("{\"Image\":\"busybox\"}", "{\"Tmpfs\":{\"rel\":\"\"}}", "invalid tmpfs",
		     "relative tmpfs path");
	expect_error("{\"Image\":\"busybox\"}", "{\"NetworkMode\":\"container:web\"}",
		     "network mode \"container:web\" is not supported by Arca",
		     "a shared network namespace");
	expect_error("{\"Image\":\"busybox\"}", "{\"NetworkMode\":\"host\"}",
		     "network mode \"host\" is not supported by Arca", "the host's network");
	expect_error("{\"Image\":\"busybox\"}", "{\"NetworkMode\":7}",
		     "NetworkMode must be a string", "a number network mode");
	expect_error("[]", NULL, "not an object", "a list body");
}

static void test_exec(void)
{
	struct arca_error *err = NULL;
	json_t *c = json_loads("{\"Cmd\":\"true\",\"Tty\":false}", 0, NULL);
	ok(exec_config_check(c, &err) == 0, "a string exec Cmd");
	ok(json_is_array(json_object_get(c, "Cmd")), "becomes a list");
	json_decref(c);
	const char *bad[] = { "{}",
			      "{\"Cmd\":[]}",
			      "{\"Cmd\":[1]}",
			      "{\"Cmd\":[\"x\"],\"Tty\":\"yes\"}",
			      "{\"Cmd\":[\"x\"],\"User\":7}",
			      "[]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = json_loads(bad[i], 0, NULL);
		ok(exec_config_check(c, &err) < 0 && err, "refused: %s", bad[i]);
		err = arca_error_free(err);
		json_decref(c);
	}
}

static void test_log_config(void)
{
	struct log_config lc;
	struct arca_error *err = NULL;
	json_t *j = json_loads("{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"10m\","
			       "\"max-file\":\"3\"}}",
			       0, NULL);
	ok(log_config_parse(j, &lc, &err) == 0, "json-file with rotation");
	ok(lc.max_size == 10u << 20 && lc.max_files == 3 && !lc.none, "10m, 3 files");
	json_decref(j);
	ok(log_config_parse(NULL, &lc, &err) == 0 && lc.max_files == 1 && !lc.max_size,
	   "no LogConfig: unlimited");
	j = json_loads("{\"Type\":\"none\"}", 0, NULL);
	ok(log_config_parse(j, &lc, &err) == 0 && lc.none, "none");
	json_decref(j);
	const char *bad[] = {
		"{\"Type\":\"syslog\"}",
		"{\"Type\":\"json-file\",\"Config\":{\"max-file\":\"0\"}}",
		"{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"big\"}}",
		"{\"Type\":\"json-file\",\"Config\":{\"nope\":\"1\"}}",
		"{\"Type\":\"none\",\"Config\":{\"max-size\":\"1m\"}}",
		"{\"Type\":7}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i], 0, NULL);
		ok(log_config_parse(j, &lc, &err) < 0 && err, "refused: %s", bad[i]);
		err = arca_error_free(err);
		json_decref(j);
	}
}

static void test_healthcheck(void)
{
	struct arca_error *err = NULL;
	const char *good[] = { "{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":1000000000}",
			       "{\"Test\":[\"NONE\"]}", "{}" };
	const char *bad[] = { "{\"Test\":\"true\"}", "{\"Interval\":5}", "{\"Retries\":-1}",
			      "{\"Timeout\":\"1s\"}", "[]" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		json_t *j = json_loads(good[i], 0, NULL);
		ok(healthcheck_check(j, &err) == 0, "healthcheck ok: %s", good[i]);
		json_decref(j);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		ok(healthcheck_check(j, &err) < 0 && err, "healthcheck refused: %s", bad[i]);
		err = arca_error_free(err);
		json_decref(j);
	}
}

int main(void)
{
	test_log_config();
	test_healthcheck();
	test_merge();
	test_errors();
	test_exec();
	return tap_done();
}
