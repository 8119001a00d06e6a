/* SPDX-License-Identifier: Apache-2.0 */
/* src/image/reference.c: Docker's normalization, case by case. */
#include <errno.h>
#include <string.h>
#include <stdlib.h>

#include "reference.h"
#include "registry.h"
#include "tap.h"

static void check(const char *in, const char *domain, const char *path, const char *tag,
		  const char *digest, const char *familiar)
{
	struct image_ref r;
	struct arca_error *err = NULL;
	int k = image_ref_parse(in, false, &r, &err);
	ok(k == 0, "parse `%s`%s%s", in, err ? ": " : "", err ? err->msg : "");
	if (k < 0) {
		arca_error_free(err);
		return;
	}
	is_str(r.domain, domain, "`%s` domain", in);
	is_str(r.path, path, "`%s` path", in);
	is_str(r.tag, tag, "`%s` tag", in);
	is_str(r.digest, digest, "`%s` digest", in);
	char *f = image_ref_familiar(&r);
	is_str(f, familiar, "`%s` familiar", in);
	free(f);
	image_ref_done(&r);
}

static void reject(const char *in, const char *why)
{
	struct image_ref r;
	struct arca_error *err = NULL;
	ok(image_ref_parse(in, false, &r, &err) < 0 && err && strstr(err->msg, why),
	   "reject `%s` (%s)", in, err ? err->msg : "accepted");
	arca_error_free(err);
}

int main(void)
{
	const char *d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	check("busybox", "docker.io", "library/busybox", "latest", NULL, "busybox");
	check("busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, "busybox");
	check("user/app", "docker.io", "user/app", "latest", NULL, "user/app");
	check("docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", NULL,
	      "busybox");
	check("index.docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, "busybox");
	check("localhost/app", "localhost", "app", "latest", NULL, "localhost/app");
	check("127.0.0.1:5000/a/b:v1", "127.0.0.1:5000", "a/b", "v1", NULL, "127.0.0.1:5000/a/b");
	check("registry.example.com/x", "registry.example.com", "x", "latest", NULL,
	      "registry.example.com/x");
	check("Example.COM/x", "Example.COM", "x", "latest", NULL, "Example.COM/x");
	check("a_b-c__d/e.f", "docker.io", "a_b-c__d/e.f", "latest", NULL, "a_b-c__d/e.f");
	reject("a_b.c/d", "invalid reference format"); /* a dot makes a domain; no _ there */
	char in[200];
	snprintf(in, sizeof(in), "busybox@%s", d);
	check(in, "docker.io", "library/busybox", NULL, d, "busybox");
	snprintf(in, sizeof(in), "busybox:1@%s", d);
	check(in, "docker.io", "library/busybox", "1", d, "busybox");
	check("[::1]:5000/app", "[::1]:5000", "app", "latest", NULL, "[::1]:5000/app");

	reject("Busybox", "must be lowercase");
	reject("docker.io/Library/busybox", "must be lowercase");
	reject("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "64-byte hexadecimal");
	reject("busybox@sha256:abc", "invalid reference format");
	reject("busybox::latest", "invalid reference format");
	reject("bad tag:x y", "invalid reference format");
	reject("a..b/c", "invalid reference format");
	reject("-a/b", "invalid reference format");
	reject("a/b_", "invalid reference format");
	reject("", "invalid reference format");
	reject("host:99999999/x", "invalid reference format");
	char longname[400];
	memset(longname, 'a', 300);
	longname[300] = '\0';
	reject(longname, "more than 255");

	struct image_ref r;
	ok(image_ref_parse("busybox", true, &r, NULL) == 0 && !r.tag, "bare name keeps no tag");
	image_ref_done(&r);
	ok(digest_is_valid(d) && !digest_is_valid("sha256:E3B0") && !digest_is_valid("md5:x"),
	   "digest validation");
	/* Plain HTTP only for loopback registries: the whole name decides, not a prefix. */
	const char *loop[] = { "localhost",	 "localhost:5000", "LOCALHOST:1", "127.0.0.1",
			       "127.1.2.3:5000", "[::1]:5000",	   "[::1]" };
	for (size_t i = 0; i < sizeof(loop) / sizeof(loop[0]); i++)
		ok(registry_host_is_loopback(loop[i]), "%s is loopback", loop[i]);
	const char *not_loop[] = { "localhost-registry.corp",
				   "localhost.example.com:443",
				   "127.0.0.1.nip.io",
				   "127.evil.com",
				   "[::1].evil",
				   "[::2]:5000",
				   "10.0.0.1:5000",
				   "registry-1.docker.io" };
	for (size_t i = 0; i < sizeof(not_loop) / sizeof(not_loop[0]); i++)
		ok(!registry_host_is_loopback(not_loop[i]), "%s is not loopback", not_loop[i]);
	/* Credentials go over HTTPS only (HTTP for a registry allowed it), to its own host. */
	ok(registry_realm_allowed("https://auth.example.com/token", false), "an https realm");
	ok(!registry_realm_allowed("http://auth.example.com/token", false),
	   "no http realm for an https registry");
	ok(registry_realm_allowed("http://127.0.0.1:5001/token", true),
	   "an http realm for an insecure registry");
	ok(registry_same_host("https://r.example.com/v2/x", "HTTPS://R.example.com/up?x=1"),
	   "the same origin");
	ok(!registry_same_host("https://r.example.com", "https://r.example.com.evil/up"),
	   "another host is another origin");
	ok(!registry_same_host("https://r.example.com", "http://r.example.com/up"),
	   "another scheme is another origin");
	ok(!registry_same_host("https://r.example.com", "https://r.example.com:444/up"),
	   "another port is another origin");
	return tap_done();
}
