/* SPDX-License-Identifier: Apache-2.0 */
/* `arca guest build`'s config (guest-config.h). */
#include "guest-config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "guest-internal.h"
#include "strv.h"

#define bad(err, ...) arca_error_set(err, EINVAL, ARCA_ERR_INVALID, __VA_ARGS__)

json_t *guest_config_default(void)
{
	return json_pack("{s:s, s:{s:s, s:[]}, s:{s:s, s:[], s:[]}, s:{s:[], s:s, s:s, s:s, s:s, "
			 "s:i, s:n}, s:{}}",
			 "arch", "x86_64", "kernel", "source", "arca", "fragments", "initramfs",
			 "compression", "none", "binaries", "packages", "rootfs", "packages",
			 "suite", "bookworm", "variant", "minbase", "mirror",
			 "http://deb.debian.org/debian", "label", "arca-root", "sizeMb", 0, "init",
			 "env");
}

/* A list of absolute paths (at most GUEST_CONFIG_MAX_ITEMS). */
static int paths(json_t *v, const char *where, char ***ret, struct arca_error **err)
{
	size_t i;
	json_t *e;
	if (v && !json_is_array(v))
		return bad(err, "%s must be a list of absolute paths", where);
	if (json_array_size(v) > GUEST_CONFIG_MAX_ITEMS)
		return bad(err, "%s: at most %d entries", where, GUEST_CONFIG_MAX_ITEMS);
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e);
		if (!s || s[0] != '/' || strchr(s, ' '))
			return bad(err, "%s[%zu] must be an absolute path without spaces", where,
				   i);
		*ret = strv_append(*ret, s);
	}
	return 0;
}

/* A word of letters, digits and some punctuation (a package, a suite, a label). */
static bool word_ok(const char *s, const char *extra, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr(extra, *p)))
			return false;
	return true;
}

/* Debian package names (at most GUEST_CONFIG_MAX_ITEMS), appended to *ret. */
static int package_list(json_t *v, const char *where, char ***ret, struct arca_error **err)
{
	size_t i;
	json_t *p;
	if (v && (!json_is_array(v) || json_array_size(v) > GUEST_CONFIG_MAX_ITEMS))
		return bad(err, "%s: a list of up to %d Debian packages", where,
			   GUEST_CONFIG_MAX_ITEMS);
	json_array_foreach(v, i, p)
	{
		if (!word_ok(json_string_value(p), "+-.", 128))
			return bad(err, "%s[%zu]: not a Debian package name", where, i);
		*ret = strv_append(*ret, json_string_value(p));
	}
	return 0;
}

static int parse_kernel(json_t *k, struct guest_config *c, struct arca_error **err)
{
	static const char *const keys[] = { "source", "fragments", "path", NULL };
	int r = guest_json_only_keys(k, keys, "kernel", err);
	if (r < 0)
		return r;
	const char *source = json_string_value(json_object_get(k, "source"));
	if (source && strcmp(source, "arca") == 0) {
		c->kernel = GUEST_KERNEL_ARCA;
		if (json_object_get(k, "path"))
			return bad(err, "kernel.path: only with \"source\": \"file\"");
		return paths(json_object_get(k, "fragments"), "kernel.fragments", &c->fragments,
			     err);
	}
	if (source && strcmp(source, "file") == 0) {
		c->kernel = GUEST_KERNEL_FILE;
		const char *path = json_string_value(json_object_get(k, "path"));
		if (!path || path[0] != '/')
			return bad(err,
				   "kernel.path: the kernel's absolute path (vmlinux or bzImage)");
		if (json_array_size(json_object_get(k, "fragments")))
			return bad(err, "kernel.fragments: only with \"source\": \"arca\"");
		c->kernel_path = xstrdup(path);
		return 0;
	}
	return bad(err, "kernel.source: \"arca\" (Arca's config, built from linux-source) or "
			"\"file\" (a kernel at kernel.path)");
}

static int parse_initramfs(json_t *i, struct guest_config *c, struct arca_error **err)
{
	static const char *const keys[] = { "compression", "binaries", "packages", NULL };
	int r = guest_json_only_keys(i, keys, "initramfs", err);
	if (r < 0)
		return r;
	const char *comp = json_string_value(json_object_get(i, "compression"));
	json_t *cv = json_object_get(i, "compression");
	if (cv && !(comp && (strcmp(comp, "none") == 0 || strcmp(comp, "gzip") == 0)))
		return bad(err, "initramfs.compression: \"none\" or \"gzip\"");
	c->gzip = comp && strcmp(comp, "gzip") == 0;
	r = package_list(json_object_get(i, "packages"), "initramfs.packages", &c->packages, err);
	return r < 0
		   ? r
		   : paths(json_object_get(i, "binaries"), "initramfs.binaries", &c->binaries, err);
}

static int string_field(json_t *o, const char *key, const char *dflt, char **ret)
{
	json_t *v = json_object_get(o, key);
	if (v && !json_is_string(v))
		return -EINVAL;
	*ret = xstrdup(v ? json_string_value(v) : dflt);
	return 0;
}

static int parse_rootfs(json_t *o, struct guest_rootfs *rf, struct arca_error **err)
{
	static const char *const keys[] = { "packages", "suite",  "variant", "mirror",
					    "label",	"sizeMb", "init",    NULL };
	static const char *const variants[] = { "minbase", "essential", "apt", "required",
						"important" };
	int r = guest_json_only_keys(o, keys, "rootfs", err);
	if (r < 0)
		return r;
	rf->wanted = true;
	json_t *init = json_object_get(o, "init");
	const char *script = json_string_value(init);
	if (init && !json_is_null(init) && (!script || script[0] != '/'))
		return bad(err, "rootfs.init: the absolute path of a script (or null for none)");
	rf->init = script ? xstrdup(script) : NULL;
	if (string_field(o, "suite", "bookworm", &rf->suite) < 0 || !word_ok(rf->suite, "-", 32))
		return bad(err, "rootfs.suite: a Debian suite (bookworm)");
	if (string_field(o, "variant", "minbase", &rf->variant) < 0)
		return bad(err, "rootfs.variant must be a string");
	bool known = false;
	for (size_t i = 0; i < ELEMENTSOF(variants) && !known; i++)
		known = strcmp(variants[i], rf->variant) == 0;
	if (!known)
		return bad(err, "rootfs.variant: minbase, essential, apt, required or important");
	if (string_field(o, "mirror", "http://deb.debian.org/debian", &rf->mirror) < 0 ||
	    (strncmp(rf->mirror, "http://", 7) != 0 && strncmp(rf->mirror, "https://", 8) != 0) ||
	    strpbrk(rf->mirror, " \t\n'\"\\"))
		return bad(err, "rootfs.mirror: a Debian mirror's http(s) URL");
	if (string_field(o, "label", "arca-root", &rf->label) < 0 || !word_ok(rf->label, "-_", 16))
		return bad(err, "rootfs.label: up to 16 of a-z, 0-9, - and _");
	json_t *size = json_object_get(o, "sizeMb");
	json_int_t mb = json_integer_value(size);
	if (size && (!json_is_integer(size) || (mb != 0 && (mb < 64 || mb > 1024 * 1024))))
		return bad(err, "rootfs.sizeMb: 0 (what the tree needs) or 64 to 1048576");
	rf->size_mb = (unsigned)mb;
	return package_list(json_object_get(o, "packages"), "rootfs.packages", &rf->packages, err);
}

static bool env_name_ok(const char *k)
{
	if (!((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') || k[0] == '_'))
		return false;
	for (const char *p = k + 1; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/* env: {"NAME": "value"}, names as the shell's, values on one line. */
static int parse_env(json_t *env, struct guest_config *c, struct arca_error **err)
{
	const char *k;
	json_t *v;
	if (!json_is_object(env))
		return bad(err, "env must be a map of variables");
	if (json_object_size(env) > GUEST_CONFIG_MAX_ITEMS)
		return bad(err, "env: at most %d variables", GUEST_CONFIG_MAX_ITEMS);
	json_object_foreach(env, k, v)
	{
		const char *s = json_string_value(v);
		if (!env_name_ok(k))
			return bad(err, "env: `%s` is not a variable name", k);
		if (!s || strlen(s) != json_string_length(v) || strchr(s, '\n'))
			return bad(err, "env.%s: a string on one line", k);
		c->env = strv_append_take(c->env, xasprintf("%s=%s", k, s));
	}
	return 0;
}

int guest_config_parse(const char *text, size_t len, struct guest_config *ret,
		       struct arca_error **err)
{
	static const char *const keys[] = { "arch", "kernel", "initramfs", "rootfs", "env", NULL };
	*ret = (struct guest_config){ 0 };
	json_error_t jerr;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return bad(err, "invalid JSON: %s (line %d)", jerr.text, jerr.line);
	int r = guest_json_only_keys(j, keys, "the config", err);
	const char *arch = json_string_value(json_object_get(j, "arch"));
	if (r >= 0 && arch && strcmp(arch, "aarch64") == 0)
		r = bad(err, "arch: aarch64 guests need a cross toolchain (aarch64-linux-gnu-gcc, "
			     "musl for aarch64) and qemu-system-aarch64, and are not built yet: "
			     "use x86_64");
	else if (r >= 0 && json_object_get(j, "arch") && (!arch || strcmp(arch, "x86_64") != 0))
		r = bad(err, "arch: \"x86_64\" (or \"aarch64\")");
	if (r >= 0 && json_object_get(j, "kernel"))
		r = parse_kernel(json_object_get(j, "kernel"), ret, err);
	if (r >= 0 && json_object_get(j, "initramfs"))
		r = parse_initramfs(json_object_get(j, "initramfs"), ret, err);
	json_t *rootfs = json_object_get(j, "rootfs"), *env = json_object_get(j, "env");
	if (r >= 0 && rootfs && !json_is_null(rootfs))
		r = parse_rootfs(rootfs, &ret->rootfs, err);
	if (r >= 0 && env)
		r = parse_env(env, ret, err);
	json_decref(j);
	if (r < 0)
		guest_config_done(ret);
	return r;
}

void guest_config_done(struct guest_config *c)
{
	strv_free(c->fragments);
	strv_free(c->binaries);
	strv_free(c->packages);
	strv_free(c->env);
	strv_free(c->rootfs.packages);
	free(c->rootfs.suite);
	free(c->rootfs.variant);
	free(c->rootfs.mirror);
	free(c->rootfs.label);
	free(c->rootfs.init);
	free(c->kernel_path);
	*c = (struct guest_config){ 0 };
}
