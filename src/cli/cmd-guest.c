/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arca guest build: a guest asset set (kernel, initramfs) from a config, with
 * its manifest; --init-config prints the default config; --verify checks a
 * set (docs/guest-assets.md). The heavy steps are the project's own scripts
 * (guest-image/build-kernel.sh, mkinitramfs.py), installed with arca.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "cli.h"
#include "exec-util.h"
#include "fd-util.h"
#include "guest-config.h"
#include "guest-manifest.h"
#include "strv.h"
#include "time-util.h"
#include "version.h"
#include "vm.h"

#define CONFIG_MAX (1u << 20)

/* Where build-kernel.sh and mkinitramfs.py are: $ARCA_GUEST_TOOLS, else installed. */
static char *tools_dir(void)
{
	const char *env = getenv("ARCA_GUEST_TOOLS");
	return xstrdup(env && env[0] ? env : ARCA_LIBEXECDIR "/arca/guest-image");
}

static int fail(struct arca_error *err)
{
	fprintf(stderr, "arca guest build: %s\n", err ? err->msg : "failed");
	arca_error_free(err);
	return 1;
}

/* The first line a command prints (its stderr passes through). */
static int command_line(const char *cmd, char **ret, struct arca_error **err)
{
	FILE *p = popen(cmd, "re");
	if (!p)
		return arca_error_errno(err, errno, "run %s", cmd);
	char line[4096] = "";
	bool got = fgets(line, sizeof(line), p) != NULL;
	while (fgetc(p) != EOF) {
	}
	int status = pclose(p);
	if (!got || status != 0)
		return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "%s failed (status %d)", cmd,
				      status);
	line[strcspn(line, "\n")] = '\0';
	*ret = xstrdup(line);
	return 0;
}

static char *package_version(const char *pkg)
{
	_cleanup_free_ char *cmd =
	    xasprintf("dpkg-query -W -f='${Version}\\n' %s 2>/dev/null", pkg);
	char *v = NULL;
	if (command_line(cmd, &v, NULL) < 0)
		return xstrdup("unknown");
	return v;
}

/* tools[key]: the Debian version of pkg. */
static void tool_version(json_t *tools, const char *key, const char *pkg)
{
	char *v = package_version(pkg);
	json_object_set_new(tools, key, json_string(v));
	free(v);
}

static int copy_file(const char *from, int dirfd, const char *name, struct arca_error **err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = read_file_at(AT_FDCWD, from, 1u << 30, &data, &len);
	if (r < 0)
		return arca_error_errno(err, r, "read %s", from);
	r = write_file_at(dirfd, name, data, len, 0644);
	if (r < 0)
		return arca_error_errno(err, r, "write %s", name);
	return 0;
}

/* An ELF header says vmlinux, the boot protocol's "HdrS" at 0x202 says bzImage. */
static const char *kernel_kind(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char b[0x206] = { 0 };
	ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof(b), 0);
	if (n >= 4 && memcmp(b, "\177ELF", 4) == 0)
		return "vmlinux";
	if (n == (ssize_t)sizeof(b) && memcmp(b + 0x202, "HdrS", 4) == 0)
		return "bzImage";
	return NULL;
}

static int build_kernel(const struct guest_config *c, int out, json_t *tools,
			struct arca_error **err)
{
	_cleanup_free_ char *path = NULL;
	if (c->kernel == GUEST_KERNEL_FILE) {
		path = xstrdup(c->kernel_path);
	} else {
		_cleanup_free_ char *dir = tools_dir();
		_cleanup_free_ char *script = xasprintf("%s/build-kernel.sh", dir);
		if (strchr(script, '\'') || access(script, X_OK) < 0)
			return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
					      "%s: not found (set ARCA_GUEST_TOOLS to the clone's "
					      "guest-image/)",
					      script);
		_cleanup_free_ char *frags = xstrdup("");
		for (char **f = c->fragments; f && *f; f++)
			strappendf(&frags, "%s%s", frags[0] ? " " : "", *f);
		setenv("ARCA_KERNEL_FRAGMENTS", frags, 1);
		_cleanup_free_ char *cmd = xasprintf("'%s'", script);
		int r = command_line(cmd, &path, err);
		if (r < 0)
			return r;
		tool_version(tools, "linux-source", "linux-source-6.1");
	}
	const char *kind = kernel_kind(path);
	if (!kind)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "kernel %s: neither a vmlinux (ELF) nor a bzImage", path);
	return copy_file(path, out, kind, err);
}

static int run_step(const char *what, const char *const *argv, const char *const *env,
		    struct arca_error **err)
{
	_cleanup_free_ char *why = NULL;
	int r = run_command(argv, env, &why);
	if (r != 0)
		return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "%s: %s", what,
				      why && why[0] ? why
				      : r < 0	    ? strerror(-r)
						    : "failed");
	return 0;
}

/*
 * initramfs.packages: each package's .deb (apt-get download: the machine's
 * candidate version, no dependencies) unpacked into dir/tree.
 */
static int unpack_packages(char **packages, char *dir, struct arca_error **err)
{
	if (!mkdtemp(dir))
		return arca_error_errno(err, errno, "create %s", dir);
	char **argv = strv_copy(NULL);
	const char *head[] = { "sh", "-c", "cd \"$1\" && shift && apt-get -q download \"$@\"",
			       "sh", dir,  NULL };
	for (size_t i = 0; head[i]; i++)
		argv = strv_append(argv, head[i]);
	for (char **p = packages; *p; p++)
		argv = strv_append(argv, *p);
	int r = run_step("apt-get download", (const char *const *)argv, NULL, err);
	strv_free(argv);
	_cleanup_free_ char *tree = xasprintf("%s/tree", dir);
	if (r >= 0 && mkdir(tree, 0755) < 0)
		r = arca_error_errno(err, errno, "create %s", tree);
	DIR *d = r >= 0 ? opendir(dir) : NULL;
	for (struct dirent *de; d && r >= 0 && (de = readdir(d));) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".deb") != 0)
			continue;
		_cleanup_free_ char *deb = xasprintf("%s/%s", dir, de->d_name);
		const char *x[] = { "dpkg-deb", "-x", deb, tree, NULL };
		r = run_step("dpkg-deb -x", x, NULL, err);
	}
	if (d)
		closedir(d);
	return r;
}

/* A static binary: an ELF with no program interpreter (PT_INTERP). */
static int check_static(const char *path, struct arca_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char eh[64];
	if (fd < 0 || pread(fd, eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh, "\177ELF\2\1", 6) != 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "initramfs.binaries: %s is not a 64-bit ELF binary", path);
	uint64_t phoff;
	uint16_t phentsize, phnum;
	memcpy(&phoff, eh + 32, 8);
	memcpy(&phentsize, eh + 54, 2);
	memcpy(&phnum, eh + 56, 2);
	for (uint16_t i = 0; i < phnum && phentsize >= 4; i++) {
		uint32_t type = 0;
		if (pread(fd, &type, 4, (off_t)(phoff + (uint64_t)i * phentsize)) != 4)
			break;
		if (type == 3) /* PT_INTERP */
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "initramfs.binaries: %s is dynamically linked; the "
					      "initramfs has no libraries (use a static build)",
					      path);
	}
	return 0;
}

static int build_initramfs(const struct guest_config *c, const char *out_dir, json_t *tools,
			   struct arca_error **err)
{
	_cleanup_free_ char *found = NULL, *dir = tools_dir();
	int r = vm_find_initramfs(NULL, &found, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *init = xasprintf("%s/arca-init", dirname(found));
	_cleanup_free_ char *script = xasprintf("%s/mkinitramfs.py", dir);
	_cleanup_free_ char *output = xasprintf("%s/initramfs.cpio", out_dir);
	char **argv = strv_copy(NULL);
	const char *base[] = { "python3",      script,	   "--init", init, "--busybox",
			       "/bin/busybox", "--output", output,   NULL };
	for (size_t i = 0; base[i]; i++)
		argv = strv_append(argv, base[i]);
	for (char **e = c->env; e && *e; e++)
		argv = strv_append_take(argv, xasprintf("--env=%s", *e));
	_cleanup_free_ char *debs = xasprintf("%s/.packages-XXXXXX", out_dir);
	if (c->packages) {
		r = unpack_packages(c->packages, debs, err);
		_cleanup_free_ char *tree = xasprintf("--tree=%s/tree", debs);
		argv = strv_append(argv, tree);
		tool_version(tools, "dpkg", "dpkg");
	}
	for (char **b = c->binaries; r >= 0 && b && *b; b++) {
		r = check_static(*b, err);
		_cleanup_free_ char *copy = xstrdup(*b);
		argv = strv_append_take(
		    argv, xasprintf("--file=%s:usr/local/bin/%s", *b, basename(copy)));
	}
	_cleanup_free_ char *why = NULL;
	if (r >= 0) {
		r = run_command((const char *const *)argv, NULL, &why);
		if (r != 0)
			r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "mkinitramfs: %s",
					   why && why[0] ? why : "failed");
	}
	strv_free(argv);
	if (c->packages && !strstr(debs, "XXXXXX")) /* mkdtemp made it */
		(void)rm_rf(debs);
	if (r >= 0 && c->gzip) {
		/* -n: no name or time in the header, so the same input gives the same bytes. */
		const char *gz[] = { "gzip", "-n", "-9", output, NULL };
		free(why);
		why = NULL;
		r = run_command(gz, NULL, &why);
		if (r != 0)
			r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "gzip: %s",
					   why && why[0] ? why : "failed");
		tool_version(tools, "gzip", "gzip");
	}
	tool_version(tools, "busybox", "busybox-static");
	return r < 0 ? r : 0;
}

/* SOURCE_DATE_EPOCH, else a fixed time: a rootfs's timestamps never say when it was built. */
static long long build_epoch(void)
{
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	char *end = NULL;
	long long s = epoch ? strtoll(epoch, &end, 10) : -1;
	return epoch && end && !*end && s > 0 ? s : 315532800; /* 1980-01-01 */
}

/* The config's own UUID (its canonical JSON hashed): the same config, the same filesystem. */
static void config_uuid(json_t *config, char out[37])
{
	char *text = json_dumps(config, JSON_SORT_KEYS | JSON_COMPACT);
	char d[DIGEST_STR_LEN];
	sha256_digest(text, strlen(text), d);
	free(text);
	const char *h = d + 7;
	snprintf(out, 37, "%.8s-%.4s-4%.3s-8%.3s-%.12s", h, h + 8, h + 12, h + 15, h + 18);
}

/* One "set atime and ctime" pair of debugfs commands per entry below dirfd, depth first. */
static int times_script(int dir_fd, const char *rel, FILE *out, long long epoch, int depth,
			struct arca_error **err)
{
	if (strpbrk(rel, "\"\n\\"))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "rootfs: the path %s cannot be given to debugfs", rel);
	fprintf(out, "sif \"%s\" atime @%lld\nsif \"%s\" ctime @%lld\n", rel[0] ? rel : "/", epoch,
		rel[0] ? rel : "/", epoch);
	if (depth > 256)
		return arca_error_set(err, ELOOP, ARCA_ERR_INVALID, "rootfs: %s is too deep", rel);
	DIR *d = fdopendir(dir_fd);
	if (!d) {
		close(dir_fd);
		return arca_error_errno(err, errno, "rootfs: read %s", rel);
	}
	int r = 0;
	for (struct dirent *de; r >= 0 && (de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", rel, de->d_name);
		int fd = de->d_type == DT_DIR
			     ? openat(dirfd(d), de->d_name,
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			     : -1;
		if (de->d_type == DT_DIR && fd < 0)
			r = arca_error_errno(err, errno, "rootfs: open %s", path);
		else if (fd >= 0)
			r = times_script(fd, path, out, epoch, depth + 1, err);
		else if (strpbrk(path, "\"\n\\"))
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					   "rootfs: the path %s cannot be given to debugfs", path);
		else
			fprintf(out, "sif \"%s\" atime @%lld\nsif \"%s\" ctime @%lld\n", path,
				epoch, path, epoch);
	}
	closedir(d);
	return r;
}

/*
 * mke2fs -d copies each file's atime and ctime from the host, where unpacking
 * just set them: debugfs sets both to the build's epoch, entry by entry
 * (mtimes are the packages' own, from the tar).
 */
static int fix_times(const char *work, const char *tree, const char *image, long long epoch,
		     struct arca_error **err)
{
	_cleanup_free_ char *script = xasprintf("%s/times.debugfs", work);
	FILE *out = fopen(script, "we");
	int fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = !out || fd < 0 ? arca_error_errno(err, errno, "rootfs: %s", script)
			       : times_script(fd, "", out, epoch, 0, err);
	if (fd >= 0 && (!out || r < 0))
		close(fd); /* times_script owns it once called */
	if (out && fclose(out) != 0 && r >= 0)
		r = arca_error_errno(err, errno, "rootfs: write %s", script);
	_cleanup_free_ char *fake = xasprintf("E2FSPROGS_FAKE_TIME=%lld", epoch);
	const char *env[] = { fake, NULL };
	const char *argv[] = { "debugfs", "-w", "-f", script, image, NULL };
	return r < 0 ? r : run_step("debugfs (timestamps)", argv, env, err);
}

/*
 * rootfs.init: the script, as GUEST_ROOTFS_INIT (root, 0755, the build's
 * times), placed without following any link the packages made; /etc keeps
 * its times, so the bytes still depend on the inputs alone.
 */
struct rootfs_init {
	char *text; /* the script, read before the build starts: its errors come first */
	size_t len;
};

static int read_rootfs_init(const char *script, struct rootfs_init *ret, struct arca_error **err)
{
	int r = read_file_at(AT_FDCWD, script, 1 << 20, &ret->text, &ret->len);
	if (r < 0)
		return arca_error_errno(err, -r, "rootfs.init: read %s", script);
	if (ret->len < 4 ||
	    (memcmp(ret->text, "#!", 2) != 0 && memcmp(ret->text, "\177ELF", 4) != 0))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "rootfs.init: %s is neither a script (#!) nor an ELF program",
				      script);
	return 0;
}

static int install_rootfs_init(const struct rootfs_init *init, const char *tree, long long epoch,
			       struct arca_error **err)
{
	_cleanup_free_ char *etc_path = xasprintf("%s/etc", tree);
	_cleanup_close_ int etc = open(etc_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (etc < 0 || fstat(etc, &st) < 0)
		return arca_error_errno(err, errno, "rootfs: open /etc");
	if (mkdirat(etc, "arca", 0755) < 0 && errno != EEXIST)
		return arca_error_errno(err, errno, "rootfs: create /etc/arca");
	_cleanup_close_ int dir =
	    openat(etc, "arca", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	const char *name = strrchr(GUEST_ROOTFS_INIT, '/') + 1;
	_cleanup_close_ int fd =
	    dir < 0 ? -1
		    : openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (fd < 0)
		return arca_error_errno(err, errno, "rootfs: create %s", GUEST_ROOTFS_INIT);
	const struct timespec t[2] = { { .tv_sec = epoch }, { .tv_sec = epoch } };
	if (loop_write(fd, init->text, init->len) < 0 || fchmod(fd, 0755) < 0 ||
	    futimens(fd, t) < 0 || futimens(dir, t) < 0 ||
	    futimens(etc, (const struct timespec[2]){ st.st_atim, st.st_mtim }) < 0)
		return arca_error_errno(err, errno, "rootfs: write %s", GUEST_ROOTFS_INIT);
	return 0;
}

/*
 * rootfs.ext4: Debian from mmdebstrap (SOURCE_DATE_EPOCH), unpacked as root,
 * then mke2fs -d with a UUID and hash seed of the config's and a fake time,
 * so the same config and packages give the same bytes.
 */
static int build_rootfs(const struct guest_config *c, const struct rootfs_init *init,
			json_t *config, const char *out_dir, json_t *tools, struct arca_error **err)
{
	const struct guest_rootfs *rf = &c->rootfs;
	_cleanup_free_ char *work = xasprintf("%s/.rootfs-XXXXXX", out_dir);
	if (!mkdtemp(work))
		return arca_error_errno(err, errno, "create a work directory in %s", out_dir);
	_cleanup_free_ char *tar = xasprintf("%s/rootfs.tar", work);
	_cleanup_free_ char *tree = xasprintf("%s/root", work);
	_cleanup_free_ char *image = xasprintf("%s/rootfs.ext4", out_dir);
	_cleanup_free_ char *epoch = xasprintf("SOURCE_DATE_EPOCH=%lld", build_epoch());
	_cleanup_free_ char *fake = xasprintf("E2FSPROGS_FAKE_TIME=%lld", build_epoch());
	_cleanup_free_ char *include = xstrdup("--include=");
	for (char **p = rf->packages; p && *p; p++)
		strappendf(&include, "%s%s", p == rf->packages ? "" : ",", *p);
	_cleanup_free_ char *variant = xasprintf("--variant=%s", rf->variant);
	_cleanup_free_ char *source = xasprintf("deb %s %s main", rf->mirror, rf->suite);
	const char *env[] = { epoch, NULL };
	/* The packages beyond the variant's, if any: mmdebstrap refuses an empty --include. */
	const char *debootstrap[] = { "mmdebstrap",  "--quiet",	     variant,
				      "--mode=root", "--format=tar", rf->suite,
				      tar,	     source,	     rf->packages ? include : NULL,
				      NULL };
	fprintf(stderr, "arca guest build: rootfs: mmdebstrap %s %s (%s)\n", rf->variant, rf->suite,
		rf->mirror);
	int r = run_step("mmdebstrap", debootstrap, env, err);
	if (r >= 0 && mkdir(tree, 0755) < 0)
		r = arca_error_errno(err, errno, "create %s", tree);
	const char *untar[] = { "tar", "-C", tree, "-xpf", tar, "--numeric-owner", NULL };
	if (r >= 0)
		r = run_step("unpack the root filesystem", untar, NULL, err);
	if (r >= 0 && init->text)
		r = install_rootfs_init(init, tree, build_epoch(), err);
	uint64_t size = (uint64_t)rf->size_mb << 20;
	if (r >= 0 && !size) {
		struct stat st;
		/* What the tree needs, a quarter more for metadata, and 64 MiB of room. */
		size = stat(tar, &st) == 0 ? (uint64_t)st.st_size * 5 / 4 + (64u << 20) : 0;
		size = (size + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
	}
	if (r >= 0) {
		_cleanup_close_ int fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
			r = arca_error_errno(err, errno, "create %s", image);
	}
	char uuid[37];
	config_uuid(config, uuid);
	_cleanup_free_ char *ext = xasprintf("hash_seed=%s,root_owner=0:0", uuid);
	const char *mkfs[] = { "mke2fs", "-q", "-F", "-t",	"ext4", "-b", "4096", "-U", uuid,
			       "-E",	 ext,  "-L", rf->label, "-d",	tree, image,  NULL };
	const char *fake_env[] = { fake, NULL };
	if (r >= 0)
		r = run_step("mke2fs", mkfs, fake_env, err);
	if (r >= 0)
		r = fix_times(work, tree, image, build_epoch(), err);
	if (rm_rf(work) < 0 && r >= 0)
		r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "remove %s", work);
	tool_version(tools, "mmdebstrap", "mmdebstrap");
	tool_version(tools, "e2fsprogs", "e2fsprogs");
	return r;
}

static char *created_time(void)
{
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	char *end = NULL;
	long long s = epoch ? strtoll(epoch, &end, 10) : -1;
	if (epoch && end && !*end && s >= 0)
		return time_format_rfc3339((nsec_t)s * 1000000000LL);
	return time_now_rfc3339();
}

static int build(const char *config_path, const char *out_dir, struct arca_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_file_at(AT_FDCWD, config_path, CONFIG_MAX, &text, &len);
	if (r < 0)
		return arca_error_errno(err, r, "read the config %s", config_path);
	struct guest_config c;
	r = guest_config_parse(text, len, &c, err);
	if (r < 0) {
		arca_error_wrap(err, "%s", config_path);
		return r;
	}
	struct rootfs_init init = { 0 };
	if (c.rootfs.wanted && c.rootfs.init && read_rootfs_init(c.rootfs.init, &init, err) < 0) {
		free(init.text);
		guest_config_done(&c);
		return -EINVAL;
	}
	bool made_dir = mkdir(out_dir, 0755) == 0;
	if (!made_dir && errno != EEXIST) {
		r = arca_error_errno(err, errno, "create %s", out_dir);
		guest_config_done(&c);
		free(init.text);
		return r;
	}
	_cleanup_close_ int out = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct guest_manifest m = { .config = json_loads(text, 0, NULL), .tools = json_object() };
	for (size_t i = 0; out >= 0 && i < 6; i++) {
		static const char *const names[] = { "vmlinux",	       "bzImage",
						     "initramfs.cpio", "initramfs.cpio.gz",
						     "rootfs.ext4",    GUEST_MANIFEST };
		if (faccessat(out, names[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			r = arca_error_set(err, EEXIST, ARCA_ERR_CONFLICT,
					   "%s already holds %s: build into a new directory",
					   out_dir, names[i]);
	}
	if (out < 0)
		r = arca_error_errno(err, errno, "open %s", out_dir);
	bool wrote = r >= 0; /* from here on, every output named is this build's */
	json_object_set_new(m.tools, "arca",
			    json_sprintf("%s (commit %s)", ARCA_VERSION, ARCA_GIT_COMMIT));
	if (r >= 0)
		r = build_kernel(&c, out, m.tools, err);
	if (r >= 0)
		r = build_initramfs(&c, out_dir, m.tools, err);
	if (r >= 0 && c.rootfs.wanted)
		r = build_rootfs(&c, &init, m.config, out_dir, m.tools, err);
	const char *outputs[] = { "vmlinux", "bzImage",
				  c.gzip ? "initramfs.cpio.gz" : "initramfs.cpio", "rootfs.ext4" };
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(outputs); i++)
		if (faccessat(out, outputs[i], F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			r = guest_file_hash(out, outputs[i], &m.files[m.n_files++], err);
	if (r >= 0) {
		guest_build_id(m.files, m.n_files, m.build_id);
		m.created = created_time();
		json_t *j = guest_manifest_json(&m);
		char *s = json_dumps(j, JSON_INDENT(2));
		json_decref(j);
		strappendf(&s, "\n");
		r = write_file_at(out, GUEST_MANIFEST, s, strlen(s), 0644);
		free(s);
		if (r < 0)
			r = arca_error_errno(err, r, "write %s/%s", out_dir, GUEST_MANIFEST);
	}
	if (r >= 0)
		printf("%s: buildId %s\n", out_dir, m.build_id);
	/* A failed build leaves no half set: what it wrote goes (none of it was there before). */
	static const char *const outputs_all[] = { "vmlinux",	     "bzImage",
						   "initramfs.cpio", "initramfs.cpio.gz",
						   "rootfs.ext4",    GUEST_MANIFEST };
	for (size_t i = 0; r < 0 && wrote && out >= 0 && i < ELEMENTSOF(outputs_all); i++)
		(void)unlinkat(out, outputs_all[i], 0);
	if (r < 0 && made_dir)
		(void)rmdir(out_dir);
	guest_manifest_done(&m);
	guest_config_done(&c);
	free(init.text);
	return r;
}

static int verify(const char *dir)
{
	struct guest_manifest m;
	struct arca_error *err = NULL;
	if (guest_manifest_verify(dir, &m, &err) < 0) {
		fprintf(stderr, "arca guest build --verify: %s\n", err->msg);
		arca_error_free(err);
		return 1;
	}
	printf("%s: OK, buildId %s (%zu files)\n", dir, m.build_id, m.n_files);
	guest_manifest_done(&m);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: arca guest build --config FILE --output DIR\n"
		   "       arca guest build --init-config     print the default config\n"
		   "       arca guest build --verify DIR      check a set's files and buildId\n");
}

static int cmd_guest_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "init-config", no_argument, NULL, 'i' },
		{ "verify", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *output = NULL, *check = NULL;
	bool init = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'o': output = optarg; break;
		case 'i': init = true; break;
		case 'V': check = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (!init && !check && (!config || !output))) {
		usage(stderr);
		return 2;
	}
	if (init) {
		json_t *d = guest_config_default();
		char *s = json_dumps(d, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
		json_decref(d);
		return 0;
	}
	if (check)
		return verify(check);
	struct arca_error *err = NULL;
	return build(config, output, &err) < 0 ? fail(err) : 0;
}

static const struct cli_command guest_commands[] = {
	{ "build", cmd_guest_build, "build or verify a guest asset set (kernel, initramfs)" },
	{ NULL, NULL, NULL },
};

int cmd_guest(int argc, char **argv)
{
	return cli_dispatch("guest", guest_commands, argc - 1, argv + 1);
}
