/* SPDX-License-Identifier: Apache-2.0 */
/* What arcad's VMs boot (guest.h): the lookup of guest asset sets. */
#include "guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "guest-manifest.h"
#include "init-artifact.h"
#include "log.h"
#include "vm.h"

int daemon_guest_from_dir(const char *dir, const char *source, struct daemon_guest *ret,
			  struct arca_error **err)
{
	*ret = (struct daemon_guest){ 0 };
	struct guest_set set;
	int r = guest_set_open(dir, &set, err);
	if (r < 0)
		return r;
	ret->source = xstrdup(source);
	ret->dir = xstrdup(dir);
	ret->kernel = TAKE_PTR(set.kernel);
	ret->initramfs = TAKE_PTR(set.initramfs);
	snprintf(ret->build_id, sizeof(ret->build_id), "%s", set.build_id);
	guest_set_done(&set);
	return 0;
}

/* Loose files: their build id by the sets' formula, so the same files give the same id. */
static int from_files(const char *kernel, const char *initramfs, const char *source,
		      struct daemon_guest *ret, struct arca_error **err)
{
	*ret = (struct daemon_guest){ 0 };
	struct guest_file files[2];
	const char *paths[2] = { kernel, initramfs };
	const char *names[2] = { "vmlinux", "initramfs.cpio" };
	for (size_t i = 0; i < 2; i++) {
		_cleanup_close_ int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		files[i] = (struct guest_file){ 0 };
		snprintf(files[i].name, sizeof(files[i].name), "%s", names[i]);
		int r = fd < 0 ? -errno : sha256_fd(fd, files[i].digest, &files[i].size);
		if (r < 0)
			return arca_error_errno(err, r, "%s", paths[i]);
	}
	ret->source = xstrdup(source);
	ret->kernel = xstrdup(kernel);
	ret->initramfs = xstrdup(initramfs);
	guest_build_id(files, 2, ret->build_id);
	return 0;
}

/* A candidate init artifact: used if it verifies; skipped (with a warning) if not. */
static bool try_init(const char *dir, struct daemon_guest *ret, char **initramfs)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return false;
	struct init_artifact a;
	struct arca_error *err = NULL;
	if (init_artifact_verify(dir, &a, &err) < 0) {
		log_warn("init artifact %s skipped, it does not verify: %s", dir, err->msg);
		arca_error_free(err);
		return false;
	}
	ret->init = xasprintf("arca/init:%s@%s", a.version, a.manifest);
	ret->init_dir = xstrdup(dir);
	*initramfs = TAKE_PTR(a.initramfs);
	init_artifact_done(&a);
	return true;
}

/*
 * The initramfs when none is given: the first init artifact that verifies of
 * the user's, the system's and the installed ones; else the plain initramfs.
 */
static int find_init(const char *data_root, struct daemon_guest *ret, char **initramfs,
		     struct arca_error **err)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char *c[3 + VM_INSTALLED_MAX] = { 0 };
	size_t n = 0;
	if (xdg && xdg[0])
		c[n++] = xasprintf("%s/arca/init", xdg);
	else if (home && home[0])
		c[n++] = xasprintf("%s/.local/share/arca/init", home);
	c[n++] = xstrdup("/etc/arca/init");
	c[n++] = xasprintf("%s/init", data_root);
	n += vm_installed_paths("arca-init-oci", "init", c + n);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		found = try_init(c[i], ret, initramfs);
	for (size_t i = 0; i < n; i++)
		free(c[i]);
	return found ? 0 : vm_find_initramfs(NULL, initramfs, err);
}

/* A candidate set: used if it verifies; skipped (with a warning) if it does not. */
static bool try_dir(const char *dir, const char *source, struct daemon_guest *ret)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return false;
	struct arca_error *err = NULL;
	if (daemon_guest_from_dir(dir, source, ret, &err) == 0)
		return true;
	log_warn("guest set %s skipped, it does not verify: %s", dir, err->msg);
	arca_error_free(err);
	return false;
}

int daemon_guest_select(const char *guest_dir, const char *kernel, const char *initramfs,
			const char *data_root, struct daemon_guest *ret, struct arca_error **err)
{
	if (guest_dir) {
		int r = daemon_guest_from_dir(guest_dir, "given", ret, err);
		if (r < 0)
			arca_error_wrap(err, "guest");
		return r;
	}
	const char *env_k = getenv("ARCA_KERNEL"), *env_i = getenv("ARCA_INITRAMFS");
	bool given = kernel || initramfs || (env_k && env_k[0]) || (env_i && env_i[0]);
	if (!given) {
		const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
		_cleanup_free_ char *user = xdg && xdg[0] ? xasprintf("%s/arca/guest", xdg)
					    : home && home[0]
						? xasprintf("%s/.local/share/arca/guest", home)
						: NULL;
		_cleanup_free_ char *in_root = xasprintf("%s/guest", data_root);
		if ((user && try_dir(user, "user", ret)) ||
		    try_dir("/etc/arca/guest", "system", ret) || try_dir(in_root, "system", ret))
			return 0;
	}
	_cleanup_free_ char *k = NULL, *i = NULL;
	struct daemon_guest init = { 0 };
	int r = vm_find_kernel(kernel, &k, err);
	bool initramfs_given = initramfs || (env_i && env_i[0]);
	if (r >= 0)
		r = initramfs_given ? vm_find_initramfs(initramfs, &i, err)
				    : find_init(data_root, &init, &i, err);
	if (r >= 0)
		r = from_files(k, i, given ? "given" : "installed", ret, err);
	if (r >= 0) {
		ret->init = TAKE_PTR(init.init);
		ret->init_dir = TAKE_PTR(init.init_dir);
	}
	daemon_guest_done(&init);
	return r;
}

json_t *daemon_guest_json(const struct daemon_guest *g)
{
	json_t *j =
	    json_pack("{s:s, s:s?, s:s, s:s, s:s}", "Source", g->source ? g->source : "", "Dir",
		      g->dir, "BuildId", g->build_id, "Kernel", g->kernel ? g->kernel : "",
		      "Initramfs", g->initramfs ? g->initramfs : "");
	if (g->init)
		json_object_set_new(j, "Init",
				    json_pack("{s:s, s:s}", "Name", g->init, "Dir",
					      g->init_dir ? g->init_dir : ""));
	return j;
}

void daemon_guest_done(struct daemon_guest *g)
{
	free(g->source);
	free(g->dir);
	free(g->kernel);
	free(g->initramfs);
	free(g->init);
	free(g->init_dir);
	*g = (struct daemon_guest){ 0 };
}
