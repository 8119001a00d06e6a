/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest root filesystem assembly. Layout inside the guest:
 *   /run/arca/lower     the image disk, ext4, read-only
 *   /run/arca/rw        the writable disk (ext4) or a tmpfs
 *   /run/arca/rw/upper  overlayfs upper: exactly the container's changes
 *   /run/arca/root      the merged root processes are chrooted into
 * overlayfs runs with redirect_dir and index off (kernel config), so the
 * upper directory is a plain OCI layer diff (docs/image-disks.md).
 */
#include "guest-setup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "alloc.h"
#include "cleanup.h"
#include "guest-client.h"

struct guest_batch {
	struct guest_client *gc;
	guest_done_fn cb;
	void *userdata;
	unsigned pending; /* replies outstanding, plus one until guest_batch_end */
	int error;
	char *message;
};

static void batch_reply(struct guest_client *gc, int error, const char *message,
			const struct proto_reader *body, void *userdata)
{
	struct guest_batch *b = userdata;
	(void)gc;
	(void)body;
	if (error && !b->error) {
		b->error = error;
		b->message = xstrdup(message ? message : strerror(error));
	}
	if (--b->pending > 0)
		return;
	b->cb(b->error, b->message, b->userdata);
	free(b->message);
	free(b);
}

/* Its client was freed before every reply came (a VM ended): the batch goes unanswered. */
static void batch_drop(void *userdata)
{
	struct guest_batch *b = userdata;
	if (--b->pending > 0)
		return;
	free(b->message);
	free(b);
}

struct guest_batch *guest_batch_new(struct guest_client *gc, guest_done_fn cb, void *userdata)
{
	struct guest_batch *b = xnew0(struct guest_batch, 1);
	b->gc = gc;
	b->cb = cb;
	b->userdata = userdata;
	b->pending = 1;
	return b;
}

void guest_batch_add(struct guest_batch *b, struct guest_request *rq)
{
	if (b->error) {
		guest_request_done(rq);
		return;
	}
	int64_t r = guest_client_call_owned(b->gc, rq, batch_reply, batch_drop, b);
	if (r < 0) {
		b->error = (int)-r;
		b->message = xstrdup("the guest channel is gone");
		return;
	}
	b->pending++;
}

void guest_batch_end(struct guest_batch *b)
{
	batch_reply(b->gc, 0, NULL, NULL, b);
}

void guest_req_mount(struct guest_request *rq, const char *source, const char *target,
		     const char *fstype, unsigned long flags, const char *options)
{
	guest_request_init(rq, PROTO_OP_MOUNT);
	proto_put_str(&rq->w, PROTO_T_SOURCE, source);
	proto_put_str(&rq->w, PROTO_T_TARGET, target);
	proto_put_str(&rq->w, PROTO_T_FSTYPE, fstype);
	proto_put_u64(&rq->w, PROTO_T_MOUNT_FLAGS, flags);
	if (options)
		proto_put_str(&rq->w, PROTO_T_OPTIONS, options);
	proto_put_u32(&rq->w, PROTO_T_PARENTS, 1);
}

void guest_req_mkdir(struct guest_request *rq, const char *path, unsigned mode)
{
	guest_request_init(rq, PROTO_OP_MKDIR);
	proto_put_str(&rq->w, PROTO_T_PATH, path);
	proto_put_u32(&rq->w, PROTO_T_MODE, mode);
	proto_put_u32(&rq->w, PROTO_T_PARENTS, 1);
}

void guest_req_write_file(struct guest_request *rq, const char *path, const void *data, size_t len,
			  unsigned mode)
{
	guest_request_init(rq, PROTO_OP_WRITE_FILE);
	proto_put_str(&rq->w, PROTO_T_PATH, path);
	proto_put_bytes(&rq->w, PROTO_T_DATA, data, len);
	proto_put_u32(&rq->w, PROTO_T_MODE, mode);
	proto_put_u32(&rq->w, PROTO_T_PARENTS, 1);
}

int guest_setup_rootfs(struct guest_client *gc, const struct guest_rootfs_spec *spec,
		       guest_done_fn cb, void *userdata)
{
	struct guest_batch *b = guest_batch_new(gc, cb, userdata);
	guest_batch_add_rootfs(b, spec);
	guest_batch_end(b);
	return 0;
}

/*
 * What dockerd's init layer puts in every container root, created where the
 * image lacks it (before /dev is bind-mounted over, so /dev/console and the
 * directories land in the writable layer): the mount points, empty files
 * for the /etc files the daemon mounts, /.dockerenv, and /etc/mtab.
 */
static void add_init_layer(struct guest_batch *b)
{
	static const char *const dirs[] = { "/dev/pts", "/dev/shm", "/proc", "/sys" };
	static const char *const files[] = { "/.dockerenv", "/etc/resolv.conf", "/etc/hosts",
					     "/etc/hostname", "/dev/console" };
	struct guest_request rq;
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		_cleanup_free_ char *p = xasprintf(GUEST_ROOT "%s", dirs[i]);
		guest_req_mkdir(&rq, p, 0755);
		guest_batch_add(b, &rq);
	}
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *p = xasprintf(GUEST_ROOT "%s", files[i]);
		guest_request_init(&rq, PROTO_OP_WRITE_FILE); /* appending nothing: create only */
		proto_put_str(&rq.w, PROTO_T_PATH, p);
		proto_put_u32(&rq.w, PROTO_T_MODE, 0755);
		proto_put_u32(&rq.w, PROTO_T_APPEND, 1);
		proto_put_u32(&rq.w, PROTO_T_PARENTS, 1);
		guest_batch_add(b, &rq);
	}
	guest_request_init(&rq, PROTO_OP_SYMLINK);
	proto_put_str(&rq.w, PROTO_T_PATH, GUEST_ROOT "/etc/mtab");
	proto_put_str(&rq.w, PROTO_T_TARGET, "/proc/mounts");
	guest_batch_add(b, &rq);
}

/* The overlay's upper and work directories in the writable layer mounted at dir. */
static void add_layer_dirs(struct guest_batch *b, const char *dir)
{
	struct guest_request rq;
	_cleanup_free_ char *upper = xasprintf("%s/upper", dir);
	_cleanup_free_ char *work = xasprintf("%s/work", dir);
	guest_req_mkdir(&rq, upper, 0755);
	guest_batch_add(b, &rq);
	guest_req_mkdir(&rq, work, 0755);
	guest_batch_add(b, &rq);
}

void guest_batch_add_rw_layer(struct guest_batch *b, const char *serial, const char *dir)
{
	struct guest_request rq;
	_cleanup_free_ char *source = xasprintf("blkserial:%s", serial);
	/* A new disk's inode tables are holes, zeros already: the guest need not write them. */
	guest_req_mount(&rq, source, dir, "ext4", 0, "noinit_itable");
	guest_batch_add(b, &rq);
	add_layer_dirs(b, dir);
}

void guest_batch_add_rootfs(struct guest_batch *b, const struct guest_rootfs_spec *spec)
{
	struct guest_request rq;
	_cleanup_free_ char *lower = xasprintf("blkserial:%s", spec->image_serial);

	guest_req_mount(&rq, lower, "/run/arca/lower", "ext4", MS_RDONLY, NULL);
	guest_batch_add(b, &rq);
	if (spec->rw_mounted) {
		guest_req_mount(&rq, spec->rw_mounted, "/run/arca/rw", "", MS_MOVE, NULL);
		guest_batch_add(b, &rq);
	} else if (spec->rw_serial) {
		guest_batch_add_rw_layer(b, spec->rw_serial, "/run/arca/rw");
	} else {
		guest_req_mount(&rq, "tmpfs", "/run/arca/rw", "tmpfs", 0, "mode=0755");
		guest_batch_add(b, &rq);
		add_layer_dirs(b, "/run/arca/rw");
	}
	guest_req_mount(&rq, "overlay", GUEST_ROOT, "overlay", spec->readonly ? MS_RDONLY : 0,
			"lowerdir=/run/arca/lower,upperdir=/run/arca/rw/upper,"
			"workdir=/run/arca/rw/work");
	guest_batch_add(b, &rq);
	if (spec->init_layer && !spec->readonly)
		add_init_layer(b);
	guest_batch_add_system_mounts(b);
}

void guest_batch_add_system_mounts(struct guest_batch *b)
{
	struct guest_request rq;
	guest_req_mount(&rq, "proc", GUEST_ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			NULL);
	guest_batch_add(b, &rq);
	guest_req_mount(&rq, "sysfs", GUEST_ROOT "/sys", "sysfs",
			MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	proto_put_u32(&rq.w, PROTO_T_NETNS, 1); /* its /sys/class/net: the container's links */
	guest_batch_add(b, &rq);
	guest_req_mount(&rq, "/dev", GUEST_ROOT "/dev", "", MS_BIND | MS_REC, NULL);
	guest_batch_add(b, &rq);
}
