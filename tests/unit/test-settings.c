/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: daemon.json and the flags (src/daemon/settings.c), with dockerd's rules. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "settings.h"
#include "tap.h"

static int parse(const char *json, struct arcad_settings *s, struct arca_error **err)
{
	*s = (struct arcad_settings){ .log_level = LOG_LEVEL_INFO };
	return settings_from_json(json, strlen(json), "daemon.json", s, err);
}

static void test_keys(void)
{
	struct arcad_settings s;
	struct arca_error *err = NULL;
	ok(parse("{\"data-root\": \"/d\", \"exec-root\": \"/x\", \"group\": \"arca\", "
		 "\"hosts\": [\"unix:///run/a.sock\"], \"insecure-registries\": [\"r:5000\", "
		 "\"q\"], \"log-level\": \"warn\", \"debug\": true, \"kernel\": \"/k\", "
		 "\"initramfs\": \"/i\", \"default-memory\": 512, \"live-restore\": false}",
		 &s, &err) == 0,
	   "every key arcad applies");
	ok(s.data_root && !strcmp(s.data_root, "/d") && !strcmp(s.exec_root, "/x") &&
	       !strcmp(s.group, "arca") && !strcmp(s.host, "/run/a.sock") &&
	       !strcmp(s.insecure[1], "q") && s.log_level == LOG_LEVEL_WARN && s.debug &&
	       !strcmp(s.kernel, "/k") && !strcmp(s.initramfs, "/i") && s.memory_mb == 512,
	   "their values");
	ok(s.set == (1u << SETTING__COUNT) - 1, "all marked given");
	settings_done(&s);
	ok(parse("{}", &s, &err) == 0 && s.set == 0, "an empty file");
	settings_done(&s);
}

static void expect_error(const char *json, const char *needle, const char *what)
{
	struct arcad_settings s;
	struct arca_error *err = NULL;
	int r = parse(json, &s, &err);
	ok(r < 0 && err && strstr(err->msg, needle), "%s: %s", what, err ? err->msg : "(none)");
	arca_error_free(err);
	settings_done(&s);
}

static void test_errors(void)
{
	expect_error("{\"foo\": 1, \"data-root\": \"/d\", \"bar\": 2}",
		     "don't match any configuration option: bar, foo", "unknown keys, named");
	expect_error("{\"registry-mirrors\": [], \"bip\": \"10.0.0.1/24\"}",
		     "not supported by arcad: bip, registry-mirrors", "dockerd's keys not applied");
	expect_error("{\"live-restore\": true}", "not supported by arcad: live-restore",
		     "live-restore on");
	expect_error("{\"hosts\": [\"tcp://0.0.0.0:2375\"]}", "unix socket only", "tcp host");
	expect_error("{\"hosts\": [\"/a\", \"/b\"]}", "list of one", "two hosts");
	expect_error("{\"data-root\": \"rel\"}", "absolute path", "relative data-root");
	expect_error("{\"log-level\": \"loud\"}", "log-level `loud`", "unknown level");
	expect_error("{\"debug\": \"yes\"}", "true or false", "debug not a boolean");
	expect_error("{\"default-memory\": 1}", "64 to", "memory too small");
	expect_error("{\"insecure-registries\": \"r\"}", "list of hosts", "not a list");
	expect_error("[1]", "not a JSON object", "not an object");
	expect_error("{\"data-root\": \"/a\", \"data-root\": \"/b\"}", "duplicate object key",
		     "a key twice");
}

static void test_merge(void)
{
	struct arcad_settings flags = { .log_level = LOG_LEVEL_INFO }, file;
	struct arca_error *err = NULL;
	flags.data_root = strdup("/flag");
	flags.set = 1u << SETTING_DATA_ROOT;
	ok(parse("{\"exec-root\": \"/x\", \"log-level\": \"debug\"}", &file, &err) == 0, "file");
	ok(settings_merge(&flags, &file, "daemon.json", &err) == 0, "no conflict");
	ok(!strcmp(flags.data_root, "/flag") && !strcmp(flags.exec_root, "/x") &&
	       flags.log_level == LOG_LEVEL_DEBUG,
	   "the flag's and the file's");
	settings_done(&file);
	ok(parse("{\"data-root\": \"/file\"}", &file, &err) == 0, "file 2");
	ok(settings_merge(&flags, &file, "daemon.json", &err) < 0 && err &&
	       strstr(err->msg, "data-root: (from flag: /flag, from file: /file)"),
	   "a conflict, with both values: %s", err ? err->msg : "");
	arca_error_free(err);
	settings_done(&file);
	settings_done(&flags);
}

int main(void)
{
	test_keys();
	test_errors();
	test_merge();
	return tap_done();
}
