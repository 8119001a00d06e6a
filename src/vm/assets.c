/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding the guest kernel and initramfs.
 *
 * Kernel: the explicit path, $ARCA_KERNEL, then the kernel cache that
 * guest-image/build-kernel.sh fills ($ARCA_CACHE_DIR, /var/cache/arca,
 * ~/.cache/arca: kernel/current/vmlinux).
 * Initramfs: the explicit path, $ARCA_INITRAMFS, then next to the running
 * binary: the build tree (../guest-init/) or the install tree
 * (../libexec/arca/).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "vm.h"

static int pick(const char *what, char **candidates, size_t n, char **ret, struct arca_error **err,
		const char *hint)
{
	for (size_t i = 0; i < n; i++)
		if (candidates[i] && access(candidates[i], R_OK) == 0) {
			*ret = xstrdup(candidates[i]);
			return 0;
		}
	return arca_error_set(err, ENOENT, ARCA_ERR_UNAVAILABLE, "no guest %s found: %s", what,
			      hint);
}

static void free_all(char **c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i]);
}

int vm_find_kernel(const char *explicit_path, char **ret, struct arca_error **err)
{
	if (explicit_path) {
		if (access(explicit_path, R_OK) < 0)
			return arca_error_errno(err, errno, "guest kernel `%s`", explicit_path);
		*ret = xstrdup(explicit_path);
		return 0;
	}
	const char *env = getenv("ARCA_KERNEL");
	const char *cache = getenv("ARCA_CACHE_DIR");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char *c[5] = { 0 };
	size_t n = 0;
	if (env && env[0])
		return vm_find_kernel(env, ret, err);
	if (cache && cache[0])
		c[n++] = xasprintf("%s/kernel/current/vmlinux", cache);
	c[n++] = xstrdup("/var/cache/arca/kernel/current/vmlinux");
	if (xdg && xdg[0])
		c[n++] = xasprintf("%s/arca/kernel/current/vmlinux", xdg);
	else if (home && home[0])
		c[n++] = xasprintf("%s/.cache/arca/kernel/current/vmlinux", home);
	int r = pick("kernel", c, n, ret, err,
		     "build it with guest-image/build-kernel.sh, or set ARCA_KERNEL");
	free_all(c, n);
	return r;
}

int vm_find_initramfs(const char *explicit_path, char **ret, struct arca_error **err)
{
	if (explicit_path) {
		if (access(explicit_path, R_OK) < 0)
			return arca_error_errno(err, errno, "guest initramfs `%s`", explicit_path);
		*ret = xstrdup(explicit_path);
		return 0;
	}
	const char *env = getenv("ARCA_INITRAMFS");
	if (env && env[0])
		return vm_find_initramfs(env, ret, err);

	char *c[VM_INSTALLED_MAX];
	size_t n = vm_installed_paths("arca-initramfs.cpio", "arca-initramfs.cpio", c);
	int r =
	    pick("initramfs", c, n, ret, err, "build the project (meson), or set ARCA_INITRAMFS");
	free_all(c, n);
	return r;
}

size_t vm_installed_paths(const char *built, const char *installed, char *out[VM_INSTALLED_MAX])
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t n = 0;
	if (len > 0) {
		exe[len] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		out[n++] = xasprintf("%s/../guest-init/%s", exe, built);
		out[n++] = xasprintf("%s/../libexec/arca/%s", exe, installed);
	}
#ifdef ARCA_LIBEXECDIR
	out[n++] = xasprintf("%s/arca/%s", ARCA_LIBEXECDIR, installed);
#endif
	return n;
}
