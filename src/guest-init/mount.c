/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mounts in the guest: the base filesystems PID 1 sets up, the MOUNT RPC's
 * worker, and the unmount-everything path before the VM stops.
 *
 * A mount source `blkserial:NAME` names the virtio-blk disk whose serial is
 * NAME, so the host never depends on the order in which disks probe.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "init.h"
#include "log.h"

struct base_mount {
	const char *source, *target, *fstype;
	unsigned long flags;
	const char *options;
	bool optional;
};

static const struct base_mount base_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", false },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=666",
	  false },
	{ "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", false },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", false },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", false },
	/* favordynmods (Linux 6.0): a process joins a cgroup without waiting for an RCU
	 * grace period, tens of ms of every start under TCG; without it on older kernels. */
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "favordynmods",
	  true },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true },
};

int mount_base_filesystems(void)
{
	bool mounted = false;
	for (size_t i = 0; i < ELEMENTSOF(base_mounts); i++) {
		const struct base_mount *m = &base_mounts[i];
		if (i > 0 && strcmp(base_mounts[i - 1].target, m->target) == 0 && mounted)
			continue; /* the one before was this mount with more options, and worked */
		int r = do_mount(m->source, m->target, m->fstype, m->flags, m->options, true);
		mounted = r >= 0 || r == -EBUSY;
		if (r == -EBUSY)
			continue; /* already mounted (the kernel may have mounted devtmpfs) */
		if (r < 0 && !m->optional)
			return r;
	}
	(void)symlink("/proc/self/fd", "/dev/fd");
	(void)symlink("/proc/self/fd/0", "/dev/stdin");
	(void)symlink("/proc/self/fd/1", "/dev/stdout");
	(void)symlink("/proc/self/fd/2", "/dev/stderr");
	return 0;
}

/*
 * A disk's serial: virtio-blk's in /sys/block/X/serial, a SCSI disk's in its
 * unit serial number VPD page (0x80: a 4-byte header, then the serial).
 */
static bool disk_serial_is(const char *disk, const char *want)
{
	char path[300];
	_cleanup_free_ char *serial = NULL;
	size_t n = 0;
	snprintf(path, sizeof(path), "/sys/block/%s/serial", disk);
	if (read_file_at(AT_FDCWD, path, 64, &serial, &n) == 0) {
		serial[strcspn(serial, "\n")] = '\0';
		return strcmp(serial, want) == 0;
	}
	snprintf(path, sizeof(path), "/sys/block/%s/device/vpd_pg80", disk);
	if (read_file_at(AT_FDCWD, path, 260, &serial, &n) < 0 || n < 4 || serial[1] != (char)0x80)
		return false;
	size_t len = MIN(n - 4, ((size_t)(uint8_t)serial[2] << 8) | (uint8_t)serial[3]);
	while (len > 0 && (serial[4 + len - 1] == ' ' || serial[4 + len - 1] == '\0'))
		len--; /* SCSI pads with spaces */
	return len == strlen(want) && memcmp(serial + 4, want, len) == 0;
}

static int find_serial(const char *want, char *buf, size_t len)
{
	DIR *d = opendir("/sys/block");
	if (!d)
		return -errno;
	int r = -ENXIO;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !disk_serial_is(de->d_name, want))
			continue;
		r = (size_t)snprintf(buf, len, "/dev/%s", de->d_name) >= len ? -ENAMETOOLONG : 0;
		break;
	}
	closedir(d);
	return r;
}

/* Resolves `blkserial:NAME` to /dev/vdX or /dev/sdX; other sources are copied unchanged. */
int mount_resolve_source(const char *source, char *buf, size_t len)
{
	static const char prefix[] = "blkserial:";

	if (strncmp(source, prefix, sizeof(prefix) - 1) != 0) {
		if ((size_t)snprintf(buf, len, "%s", source) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	const char *want = source + sizeof(prefix) - 1;
	/* sd probes asynchronously: a SCSI disk may appear a moment after boot, or
	 * after the host plugged it in (a pooled VM). Two seconds at most. */
	for (int attempt = 0; attempt < 400; attempt++) {
		int r = find_serial(want, buf, len);
		if (r != -ENXIO)
			return r;
		usleep(5 * 1000);
	}
	return -ENXIO;
}

int do_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
	     const char *options, bool mkdir_target)
{
	char src[256];
	int r = mount_resolve_source(source, src, sizeof(src));
	if (r < 0)
		return r;
	if (mkdir_target) {
		struct stat st;
		bool file_bind = (flags & MS_BIND) && stat(src, &st) == 0 && !S_ISDIR(st.st_mode);
		if (file_bind) {
			/* A file bind needs a file to land on; create it only if missing. */
			_cleanup_free_ char *dir = xstrdup(target);
			char *slash = strrchr(dir, '/');
			if (slash && slash != dir) {
				*slash = '\0';
				(void)mkdir_p(dir, 0755);
			}
			if (lstat(target, &st) < 0) {
				int fd =
				    open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
				if (fd >= 0)
					close(fd);
			}
		} else {
			r = mkdir_p(target, 0755);
			if (r < 0)
				return r;
		}
	}
	if (mount(src, target, fstype && fstype[0] ? fstype : NULL, flags,
		  options && options[0] ? options : NULL) < 0)
		return -errno;
	/* A read-only bind needs a remount to take effect. */
	if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
	    mount(NULL, target, NULL, flags | MS_REMOUNT, NULL) < 0)
		return -errno;
	return 0;
}

/* Unmounts everything below /run/arca, deepest first, before the VM stops. */
void mount_teardown(void)
{
	_cleanup_free_ char *mounts = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/mounts", 1 << 20, &mounts, NULL) < 0)
		return;

	char *targets[256];
	size_t n = 0;
	for (char *line = strtok(mounts, "\n"); line && n < ELEMENTSOF(targets);
	     line = strtok(NULL, "\n")) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		char *t = sp + 1;
		char *end = strchr(t, ' ');
		if (!end)
			continue;
		*end = '\0';
		if (strncmp(t, "/run/arca", 9) == 0)
			targets[n++] = t;
	}
	while (n > 0) {
		const char *t = targets[--n];
		if (umount2(t, 0) < 0)
			(void)umount2(t, MNT_DETACH);
	}
}
