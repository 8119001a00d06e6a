/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: guest asset sets (src/guest-assets): the manifest and the build config. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "guest-config.h"
#include "guest-manifest.h"
#include "tap.h"

static char dir[] = "/tmp/test-guest-XXXXXX";

static void put(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* A set of two files and its manifest, written by guest_manifest_json. */
static void make_set(void)
{
	put("vmlinux", "kernel bytes");
	put("initramfs.cpio", "initramfs bytes");
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	struct guest_manifest m = { .config = json_pack("{s:s}", "arch", "x86_64"),
				    .tools = json_object(),
				    .created = strdup("2026-01-01T00:00:00Z") };
	ok(guest_file_hash(fd, "vmlinux", &m.files[0], NULL) == 0 &&
	       guest_file_hash(fd, "initramfs.cpio", &m.files[1], NULL) == 0,
	   "files hashed");
	m.n_files = 2;
	guest_build_id(m.files, m.n_files, m.build_id);
	json_t *j = guest_manifest_json(&m);
	char *s = json_dumps(j, 0);
	put(GUEST_MANIFEST, s);
	free(s);
	json_decref(j);
	guest_manifest_done(&m);
	close(fd);
}

static void expect_verify_error(const char *needle, const char *what)
{
	struct guest_manifest m;
	struct arca_error *err = NULL;
	ok(guest_manifest_verify(dir, &m, &err) < 0 && err && strstr(err->msg, needle), "%s: %s",
	   what, err ? err->msg : "(verified)");
	arca_error_free(err);
}

static void test_manifest(void)
{
	make_set();
	struct guest_manifest m;
	struct arca_error *err = NULL;
	ok(guest_manifest_verify(dir, &m, &err) == 0 && m.n_files == 2 &&
	       !strcmp(m.created, "2026-01-01T00:00:00Z"),
	   "a set verifies: %s", err ? err->msg : "");
	/* The build id is the checksums' alone, whatever their order. */
	struct guest_file swapped[2] = { m.files[1], m.files[0] };
	char id[DIGEST_STR_LEN];
	guest_build_id(swapped, 2, id);
	ok(!strcmp(id, m.build_id), "build id independent of order");
	guest_manifest_done(&m);

	put("initramfs.cpio", "initramfs bytez");
	expect_verify_error("initramfs.cpio: its SHA-256", "a changed byte, named");
	put("initramfs.cpio", "initramfs bytes");
	char path[256];
	snprintf(path, sizeof(path), "%s/vmlinux", dir);
	unlink(path);
	expect_verify_error("vmlinux", "a missing file, named");
	ok(symlink("/etc/passwd", path) == 0, "vmlinux a symlink");
	expect_verify_error("vmlinux", "a symlink is not followed");
	unlink(path);
	put("vmlinux", "kernel bytes");
	ok(guest_manifest_verify(dir, &m, NULL) == 0, "restored");
	guest_manifest_done(&m);
}

static int parse(const char *text, struct arca_error **err)
{
	struct guest_manifest m;
	int r = guest_manifest_parse(text, strlen(text), &m, err);
	guest_manifest_done(&m);
	return r;
}

#define D64 "sha256:0000000000000000000000000000000000000000000000000000000000000000"

static void expect_parse_error(const char *text, const char *needle, const char *what)
{
	struct arca_error *err = NULL;
	ok(parse(text, &err) < 0 && err && strstr(err->msg, needle), "%s: %s", what,
	   err ? err->msg : "(parsed)");
	arca_error_free(err);
}

static void test_manifest_parse(void)
{
	const char *good = "{\"schemaVersion\":1,\"buildId\":\"" D64 "\",\"created\":\"x\","
			   "\"config\":{},\"tools\":{},\"files\":[{\"name\":\"vmlinux\","
			   "\"sha256\":\"" D64 "\",\"size\":1}]}";
	ok(parse(good, NULL) == 0, "a minimal manifest");
	expect_parse_error("{\"schemaVersion\":1,\"extra\":1}", "unknown field `extra`",
			   "an unknown field");
	expect_parse_error("{\"schemaVersion\":2,\"buildId\":\"" D64 "\"}", "schemaVersion",
			   "another schema");
	expect_parse_error("{\"schemaVersion\":1,\"buildId\":\"" D64 "\",\"created\":\"x\","
			   "\"config\":{},\"tools\":{},\"files\":[{\"name\":\"../../etc/shadow\","
			   "\"sha256\":\"" D64 "\",\"size\":1}]}",
			   "not a file of a guest set", "a path for a name");
	expect_parse_error("{\"schemaVersion\":1,\"buildId\":\"" D64 "\",\"created\":\"x\","
			   "\"config\":{},\"tools\":{},\"files\":[{\"name\":\"vmlinux\","
			   "\"sha256\":\"" D64 "\",\"size\":1},{\"name\":\"vmlinux\","
			   "\"sha256\":\"" D64 "\",\"size\":1}]}",
			   "listed twice", "a file twice");
	expect_parse_error("{\"schemaVersion\":1,\"buildId\":\"sha256:XYZ\"}", "buildId",
			   "a bad digest");
	expect_parse_error("{\"schemaVersion\":1,\"buildId\":\"" D64 "\",\"created\":\"x\","
			   "\"config\":{},\"tools\":{},\"files\":[{\"name\":\"vmlinux\","
			   "\"sha256\":\"" D64 "\",\"size\":-1}]}",
			   "size", "a negative size");
}

static void expect_config_error(const char *text, const char *needle, const char *what)
{
	struct guest_config c;
	struct arca_error *err = NULL;
	ok(guest_config_parse(text, strlen(text), &c, &err) < 0 && err && strstr(err->msg, needle),
	   "%s: %s", what, err ? err->msg : "(parsed)");
	arca_error_free(err);
}

static void test_config(void)
{
	json_t *d = guest_config_default();
	char *text = json_dumps(d, 0);
	struct guest_config c;
	ok(guest_config_parse(text, strlen(text), &c, NULL) == 0 && c.kernel == GUEST_KERNEL_ARCA &&
	       !c.gzip && c.rootfs.wanted && !c.rootfs.packages && !c.packages,
	   "the default config parses: a kernel, an initramfs, a minbase rootfs");
	guest_config_done(&c);
	free(text);
	json_decref(d);
	const char *file = "{\"kernel\":{\"source\":\"file\",\"path\":\"/boot/vmlinuz\"},"
			   "\"initramfs\":{\"compression\":\"gzip\",\"binaries\":[\"/bin/x\"]}}";
	ok(guest_config_parse(file, strlen(file), &c, NULL) == 0 && c.kernel == GUEST_KERNEL_FILE &&
	       !strcmp(c.kernel_path, "/boot/vmlinuz") && c.gzip &&
	       !strcmp(c.binaries[0], "/bin/x"),
	   "a packaged kernel, gzip, a binary");
	guest_config_done(&c);
	expect_config_error("{\"kernal\":{}}", "unknown field `kernal`", "a misspelt field");
	expect_config_error("{\"kernel\":{\"source\":\"arca\",\"x\":1}}",
			    "kernel: unknown field `x`", "an unknown nested field");
	expect_config_error("{\"arch\":\"aarch64\"}", "cross toolchain", "aarch64 without tools");
	expect_config_error("{\"arch\":\"riscv64\"}", "arch", "an unknown arch");
	expect_config_error("{\"kernel\":{\"source\":\"file\"}}", "kernel.path",
			    "file without path");
	expect_config_error("{\"kernel\":{\"source\":\"arca\",\"fragments\":[\"rel.config\"]}}",
			    "absolute path", "a relative fragment");
	expect_config_error("{\"initramfs\":{\"compression\":\"xz\"}}", "compression",
			    "an unknown compression");
	const char *rootfs = "{\"rootfs\":{\"packages\":[\"busybox\",\"libc6-dev\",\"g++\"],"
			     "\"sizeMb\":512,\"init\":\"/srv/boot.sh\"},\"env\":{\"A_1\":\"x y\"}}";
	ok(guest_config_parse(rootfs, strlen(rootfs), &c, NULL) == 0 && c.rootfs.wanted &&
	       !strcmp(c.rootfs.packages[2], "g++") && !strcmp(c.rootfs.suite, "bookworm") &&
	       !strcmp(c.rootfs.variant, "minbase") && !strcmp(c.rootfs.label, "arca-root") &&
	       c.rootfs.size_mb == 512 && !strcmp(c.rootfs.init, "/srv/boot.sh") &&
	       !strcmp(c.env[0], "A_1=x y"),
	   "a rootfs with its defaults, an init script, and env");
	guest_config_done(&c);
	expect_config_error("{\"rootfs\":{\"packages\":[\"a;rm -rf /\"]}}", "not a Debian package",
			    "a package name that is not one");
	expect_config_error("{\"rootfs\":{\"variant\":\"custom\"}}", "rootfs.variant",
			    "an unknown variant");
	expect_config_error("{\"rootfs\":{\"mirror\":\"ftp://m\"}}", "rootfs.mirror",
			    "a mirror's scheme");
	expect_config_error("{\"rootfs\":{\"sizeMb\":10}}", "sizeMb", "a rootfs too small");
	expect_config_error("{\"rootfs\":{\"init\":\"boot.sh\"}}", "rootfs.init",
			    "a relative init script");
	expect_config_error("{\"rootfs\":{\"init\":7}}", "rootfs.init", "an init that is no path");
	expect_config_error("{\"rootfs\":{\"label\":\"a-label-far-too-long\"}}", "rootfs.label",
			    "a label too long");
	expect_config_error("{\"env\":{\"1A\":\"x\"}}", "not a variable name", "a bad name");
	expect_config_error("{\"env\":{\"A\":\"two\\nlines\"}}", "one line",
			    "a value on two lines");
	expect_config_error("{\"env\":{\"A\":1}}", "one line", "a value not a string");
	expect_config_error("[", "invalid JSON", "not JSON");
	const char *pk = "{\"initramfs\":{\"packages\":[\"hello\",\"libc6\"]}}";
	ok(guest_config_parse(pk, strlen(pk), &c, NULL) == 0 && !strcmp(c.packages[1], "libc6"),
	   "Debian packages for the initramfs");
	guest_config_done(&c);
	expect_config_error("{\"initramfs\":{\"packages\":[\"$(x)\"]}}", "not a Debian package",
			    "an initramfs package name that is not one");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_manifest();
	test_manifest_parse();
	test_config();
	(void)rm_rf(dir);
	return tap_done();
}
