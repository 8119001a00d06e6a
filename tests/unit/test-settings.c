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
		 "\"initramfs\": \"/i\", \"guest\": \"/g\", \"default-memory\": 512, "
		 "\"live-restore\": true, "
		 "\"labels\": [\"a=1\", \"b=x=y\"], \"default-address-pools\": [{\"base\": "
		 "\"10.10.0.0/16\", \"size\": 24}, {\"base\": \"10.20.0.0/24\", \"size\": 28}], "
		 "\"default-cpus\": 2, \"dns\": [\"10.0.0.53\"], \"dns-search\": [\"a.example\"], "
		 "\"dns-opts\": [\"ndots:1\"], \"log-driver\": \"json-file\", \"log-opts\": "
		 "{\"max-size\": \"1m\", \"max-file\": \"2\"}, \"registry-mirrors\": "
		 "[\"http://127.0.0.1:5000\"], \"max-concurrent-downloads\": 4, "
		 "\"vm-pool-size\": 0, \"vm-pool-memory\": 4096}",
		 &s, &err) == 0,
	   "every key arcad applies");
	ok(s.data_root && !strcmp(s.data_root, "/d") && !strcmp(s.exec_root, "/x") &&
	       !strcmp(s.group, "arca") && !strcmp(s.host, "/run/a.sock") &&
	       !strcmp(s.insecure[1], "q") && s.log_level == LOG_LEVEL_WARN && s.debug &&
	       !strcmp(s.kernel, "/k") && !strcmp(s.initramfs, "/i") && !strcmp(s.guest, "/g") &&
	       s.memory_mb == 512 && s.live_restore && !strcmp(s.labels[1], "b=x=y") &&
	       !s.labels[2] && s.n_pools == 2 && s.pools[0].size == 24 && s.pools[1].size == 28 &&
	       s.pools[1].base.len == 24 && s.cpus == 2 && !strcmp(s.dns[0], "10.0.0.53") &&
	       !strcmp(s.dns_search[0], "a.example") && !strcmp(s.dns_opts[0], "ndots:1") &&
	       !strcmp(s.log_driver, "json-file") && !strcmp(s.log_opts[0], "max-size=1m") &&
	       !strcmp(s.log_opts[1], "max-file=2") &&
	       !strcmp(s.mirrors[0], "http://127.0.0.1:5000") && s.max_downloads == 4 &&
	       s.pool_size == 0 && s.pool_mb == 4096,
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
	expect_error("{\"max-concurrent-uploads\": 1, \"bip\": \"10.0.0.1/24\"}",
		     "not supported by arcad: bip, max-concurrent-uploads",
		     "dockerd's keys not applied");
	expect_error("{\"dns\": [\"not-an-ip\"]}", "daemon.json: not-an-ip is not an ip address",
		     "a resolver that is no address");
	expect_error("{\"log-opts\": {\"max-size\": 5}}", "log-opts must be a map of strings",
		     "a log option not a string");
	expect_error("{\"registry-mirrors\": [\"ftp://m\"]}", "unsupported scheme",
		     "a mirror's scheme");
	expect_error("{\"live-restore\": 1}", "true or false", "live-restore not a boolean");
	expect_error("{\"labels\": [\"novalue\"]}", "bad attribute format: novalue",
		     "a label without =");
	expect_error("{\"labels\": \"a=b\"}", "list of key=value", "labels not a list");
	expect_error("{\"default-address-pools\": []}", "list of", "no pools");
	expect_error("{\"default-address-pools\": [{\"base\": \"10.0.0.0/8\"}]}",
		     "default-address-pools[0]", "a pool without its size");
	expect_error("{\"default-address-pools\": [{\"base\": \"10.0.0.0/8\", \"size\": 24}, "
		     "{\"base\": \"10.0.0.0/16\", \"size\": 8}]}",
		     "invalid pool size 8", "a size shorter than its base");
	expect_error("{\"default-address-pools\": [{\"base\": \"10.0.0.0\", \"size\": 24}]}",
		     "invalid base pool", "a base without its length");
	expect_error("{\"hosts\": [\"tcp://0.0.0.0:2375\"]}", "unix socket only", "tcp host");
	expect_error("{\"hosts\": [\"/a\", \"/b\"]}", "list of one", "two hosts");
	expect_error("{\"data-root\": \"rel\"}", "absolute path", "relative data-root");
	expect_error("{\"log-level\": \"loud\"}", "log-level `loud`", "unknown level");
	expect_error("{\"debug\": \"yes\"}", "true or false", "debug not a boolean");
	expect_error("{\"default-memory\": 1}", "64 to", "memory too small");
	expect_error("{\"vm-pool-size\": 65}", "0 to 64", "a pool too large");
	expect_error("{\"vm-pool-size\": -1}", "vm-pool-size", "a negative pool");
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
	err = NULL;
	settings_done(&file);

	/* The same setting from --default-address-pool and the file: a conflict. */
	ok(settings_flag(&flags, SETTING_ADDRESS_POOLS, "base=10.9.0.0/16,size=24", &err) == 0 &&
	       flags.n_pools == 1 && flags.pools[0].size == 24,
	   "--default-address-pool's form");
	ok(parse("{\"default-address-pools\": [{\"base\": \"10.8.0.0/16\", \"size\": 24}]}", &file,
		 &err) == 0,
	   "file 3");
	ok(settings_merge(&flags, &file, "daemon.json", &err) < 0 && err &&
	       strstr(err->msg, "default-address-pools: (from flag: base=10.9.0.0/16,size=24, from "
				"file: base=10.8.0.0/16,size=24)"),
	   "a pool conflict, with both values: %s", err ? err->msg : "");
	arca_error_free(err);
	err = NULL;
	settings_done(&file);
	settings_done(&flags);
}

static void expect_flag_error(enum setting k, const char *value, const char *needle)
{
	struct arcad_settings s = { 0 };
	struct arca_error *err = NULL;
	ok(settings_flag(&s, k, value, &err) < 0 && err && strstr(err->msg, needle) &&
	       !(s.set & (1u << k)),
	   "--%s %s: %s", settings_flag_name(k), value, err ? err->msg : "(accepted)");
	arca_error_free(err);
	settings_done(&s);
}

/* Each flag takes what its key takes, a list's flag once per entry. */
static void test_flags(void)
{
	struct arcad_settings s = { 0 };
	struct arca_error *err = NULL;
	ok(settings_flag(&s, SETTING_DNS, "10.0.0.53", &err) == 0 &&
	       settings_flag(&s, SETTING_DNS, "fd00::53", &err) == 0 &&
	       settings_flag(&s, SETTING_DNS_SEARCH, "corp.example", &err) == 0 &&
	       settings_flag(&s, SETTING_DNS_OPTS, "ndots:2", &err) == 0 &&
	       settings_flag(&s, SETTING_LOG_DRIVER, "json-file", &err) == 0 &&
	       settings_flag(&s, SETTING_LOG_OPTS, "max-size=10m", &err) == 0 &&
	       settings_flag(&s, SETTING_MIRRORS, "https://mirror.example/", &err) == 0 &&
	       settings_flag(&s, SETTING_DOWNLOADS, "5", &err) == 0 &&
	       settings_flag(&s, SETTING_CPUS, "2", &err) == 0 &&
	       settings_flag(&s, SETTING_LIVE_RESTORE, "", &err) == 0,
	   "flags: %s", err ? err->msg : "");
	ok(!strcmp(s.dns[1], "fd00::53") && !strcmp(s.dns_search[0], "corp.example") &&
	       !strcmp(s.log_opts[0], "max-size=10m") && s.max_downloads == 5 && s.cpus == 2 &&
	       s.live_restore && settings_check(&s, &err) == 0,
	   "their values, consistent");
	settings_done(&s);
	expect_flag_error(SETTING_DNS, "resolver.example", "not an ip address");
	expect_flag_error(SETTING_DNS_SEARCH, "-bad.example", "not a valid domain");
	expect_flag_error(SETTING_DNS_SEARCH, "a..b", "not a valid domain");
	expect_flag_error(SETTING_MIRRORS, "mirror.example", "unsupported scheme");
	expect_flag_error(SETTING_MIRRORS, "https://mirror.example/v2/",
			  "path, query, or fragment");
	expect_flag_error(SETTING_MIRRORS, "https://", "no host");
	expect_flag_error(SETTING_DOWNLOADS, "0", "1 to 64");
	expect_flag_error(SETTING_CPUS, "two", "not a number");
	expect_flag_error(SETTING_LOG_OPTS, "max-size", "key=value");
	expect_flag_error(SETTING_LABELS, "novalue", "bad attribute format");
	expect_flag_error(SETTING_ADDRESS_POOLS, "base=10.9.0.0/16", "both");
	expect_flag_error(SETTING_ADDRESS_POOLS, "base=10.9.0.0/16,size=24,x=1",
			  "unexpected field `x=1`");
	expect_flag_error(SETTING_HOST, "tcp://0.0.0.0:2375", "unix socket only");
	expect_flag_error(SETTING_LOG_LEVEL, "loud", "none of debug");
	/* log-opts are checked against the driver once both are known. */
	ok(parse("{\"log-driver\": \"none\", \"log-opts\": {\"max-size\": \"1m\"}}", &s, &err) == 0,
	   "none with options parses");
	ok(settings_check(&s, &err) < 0 && strstr(err->msg, "unknown log opt 'max-size'"),
	   "and is refused together: %s", err ? err->msg : "");
	arca_error_free(err);
	err = NULL;
	settings_done(&s);
	ok(parse("{\"log-driver\": \"syslog\"}", &s, &err) == 0 && settings_check(&s, &err) < 0 &&
	       strstr(err->msg, "not supported by Arca"),
	   "a driver Arca lacks");
	arca_error_free(err);
	err = NULL;
	settings_done(&s);
	ok(parse("{\"log-opts\": {\"max-file\": \"0\"}}", &s, &err) == 0 &&
	       settings_check(&s, &err) < 0 && strstr(err->msg, "max-file"),
	   "json-file's options checked");
	arca_error_free(err);
	settings_done(&s);
}

/* What a reload compares: the settings that differ, and a copy that owns its own. */
static void test_differ(void)
{
	struct arcad_settings a, b, c;
	struct arca_error *err = NULL;
	ok(parse("{\"data-root\": \"/d\", \"labels\": [\"a=1\"], \"debug\": false}", &a, &err) == 0,
	   "a");
	ok(parse("{\"data-root\": \"/e\", \"labels\": [\"a=1\"], \"insecure-registries\": "
		 "[\"r\"]}",
		 &b, &err) == 0,
	   "b");
	unsigned d = settings_differ(&a, &b);
	ok(d == ((1u << SETTING_DATA_ROOT) | (1u << SETTING_INSECURE) | (1u << SETTING_DEBUG)),
	   "data-root changed, insecure-registries added, debug removed: %#x", d);
	settings_copy(&a, &c);
	settings_done(&a);
	ok(!strcmp(c.data_root, "/d") && !strcmp(c.labels[0], "a=1") &&
	       settings_differ(&c, &c) == 0,
	   "the copy outlives its source");
	settings_done(&b);
	settings_done(&c);
}

int main(void)
{
	test_keys();
	test_errors();
	test_merge();
	test_differ();
	test_flags();
	return tap_done();
}
