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

struct batch {
	guest_done_fn cb;
	void *userdata;
	unsigned pending;
	int error;
	char *message;
};

static void batch_reply(struct guest_client *gc, int error, const char *message,
			const struct proto_reader *body, void *userdata)
{
	struct batch *b = userdata;
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

static int batch_send(struct guest_client *gc, struct batch *b, struct guest_request *rq)
{
	int64_t r = guest_client_call(gc, rq, batch_reply, b);
	if (r < 0)
		return (int)r;
	b->pending++;
	return 0;
}

static void req_mount(struct guest_request *rq, const char *source, const char *target,
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

static void req_mkdir(struct guest_request *rq, const char *path)
{
	guest_request_init(rq, PROTO_OP_MKDIR);
	proto_put_str(&rq->w, PROTO_T_PATH, path);
	proto_put_u32(&rq->w, PROTO_T_MODE, 0755);
	proto_put_u32(&rq->w, PROTO_T_PARENTS, 1);
}

int guest_setup_rootfs(struct guest_client *gc, const struct guest_rootfs_spec *spec,
		       guest_done_fn cb, void *userdata)
{
	struct batch *b = xnew0(struct batch, 1);
	struct guest_request rq[10];
	size_t n = 0;
	_cleanup_free_ char *lower = xasprintf("blkserial:%s", spec->image_serial);
	_cleanup_free_ char *rw =
	    spec->rw_serial ? xasprintf("blkserial:%s", spec->rw_serial) : NULL;

	b->cb = cb;
	b->userdata = userdata;
	req_mount(&rq[n++], lower, "/run/arca/lower", "ext4", MS_RDONLY, NULL);
	if (rw)
		req_mount(&rq[n++], rw, "/run/arca/rw", "ext4", 0, NULL);
	else
		req_mount(&rq[n++], "tmpfs", "/run/arca/rw", "tmpfs", 0, "mode=0755");
	req_mkdir(&rq[n++], "/run/arca/rw/upper");
	req_mkdir(&rq[n++], "/run/arca/rw/work");
	req_mount(&rq[n++], "overlay", GUEST_ROOT, "overlay", spec->readonly ? MS_RDONLY : 0,
		  "lowerdir=/run/arca/lower,upperdir=/run/arca/rw/upper,workdir=/run/arca/rw/work");
	req_mount(&rq[n++], "proc", GUEST_ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL);
	req_mount(&rq[n++], "sysfs", GUEST_ROOT "/sys", "sysfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	req_mount(&rq[n++], "/dev", GUEST_ROOT "/dev", "", MS_BIND | MS_REC, NULL);

	/* Hold one reference while sending, so an early reply cannot finish the batch. */
	b->pending = 1;
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (r < 0) {
			guest_request_done(&rq[i]);
			continue;
		}
		r = batch_send(gc, b, &rq[i]);
	}
	if (r < 0 && !b->error) {
		b->error = -r;
		b->message = xstrdup("guest channel lost while setting up the root filesystem");
	}
	batch_reply(gc, 0, NULL, NULL, b);
	return 0;
}
