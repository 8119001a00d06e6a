/* SPDX-License-Identifier: Apache-2.0 */
/* `arca guest build`'s config (guest-config.h). */
#include "guest-config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "guest-internal.h"
#include "strv.h"

#define bad(err, ...) arca_error_set(err, EINVAL, ARCA_ERR_INVALID, __VA_ARGS__)

json_t *guest_config_default(void)
{
	return json_pack("{s:s, s:{s:s, s:[]}, s:{s:s, s:[], s:[]}, s:n, s:{}}", "arch", "x86_64",
			 "kernel", "source", "arca", "fragments", "initramfs", "compression",
			 "none", "binaries", "packages", "rootfs", "env");
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
	json_t *packages = json_object_get(i, "packages");
	if (packages && !json_is_array(packages))
		return bad(err, "initramfs.packages must be a list of Debian packages");
	if (json_array_size(packages))
		return bad(err,
			   "initramfs.packages: Debian packages in the initramfs are not built "
			   "yet; list static binaries in initramfs.binaries");
	return paths(json_object_get(i, "binaries"), "initramfs.binaries", &c->binaries, err);
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
		r = bad(err, "rootfs: a root filesystem from Debian packages is not built yet "
			     "(null: none)");
	if (r >= 0 && env && !json_is_object(env))
		r = bad(err, "env must be a map of variables");
	if (r >= 0 && json_object_size(env))
		r = bad(err, "env: a default environment baked into the guest is not built yet "
			     "({}: none)");
	json_decref(j);
	if (r < 0)
		guest_config_done(ret);
	return r;
}

void guest_config_done(struct guest_config *c)
{
	strv_free(c->fragments);
	strv_free(c->binaries);
	free(c->kernel_path);
	*c = (struct guest_config){ 0 };
}
