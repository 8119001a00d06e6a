/* SPDX-License-Identifier: Apache-2.0 */
/* Maintenance VMs: a stopped container's disks booted for cp, diff, export and commit. */
#include "container-maint.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-helper.h"
#include "container-mounts.h"
#include "container.h"
#include "daemon.h"
#include "guest-setup.h"
#include "image.h"
#include "log.h"
#include "vm.h"

#define MAINT_MEMORY_MB 256

struct maint_waiter {
	struct maint_waiter *next;
	container_vm_fn cb;
	void *userdata;
};

struct maint {
	struct container *c;
	struct vm *vm;
	bool ready;
	bool stopping; /* released: a new user waits for the next VM */
	unsigned users;
	uint32_t blocks; /* the bits (k) of the block volumes attached to it */
	struct maint_waiter *waiters;
	char *run_dir;
};

static void wake(struct maint *m, const struct arca_error *err)
{
	struct maint_waiter *w = m->waiters;
	m->waiters = NULL;
	while (w) {
		struct maint_waiter *n = w->next;
		if (!err)
			m->users++;
		w->cb(m->c, err, w->userdata);
		free(w);
		w = n;
	}
}

struct maint *maint_free(struct maint *m)
{
	if (!m)
		return NULL;
	m->vm = vm_free(m->vm);
	for (struct maint_waiter *w = m->waiters, *n; w; w = n) {
		n = w->next;
		free(w);
	}
	free(m->run_dir);
	free(m);
	return NULL;
}

static int maint_start(struct container *c, struct arca_error **err);

static void on_exited(struct vm *vm, int error, void *userdata)
{
	struct container *c = userdata;
	struct maint *m = c->maint;
	(void)error;
	container_helpers_fail(c);
	if (m->waiters && m->stopping) {
		/* Users came while it stopped: they get the next one. */
		struct maint_waiter *waiters = m->waiters;
		m->waiters = NULL;
		c->maint = maint_free(m);
		struct arca_error *err = NULL;
		if (maint_start(c, &err) == 0) {
			c->maint->waiters = waiters;
			return;
		}
		for (struct maint_waiter *w = waiters, *n; w; w = n) {
			n = w->next;
			w->cb(c, err, w->userdata);
			free(w);
		}
		arca_error_free(err);
		return;
	}
	if (m->waiters) {
		struct arca_error *err = NULL;
		arca_error_set(&err, EIO, ARCA_ERR_INTERNAL,
			       "the VM for container %.12s stopped: %s", c->id,
			       vm_last_error(vm) ? vm_last_error(vm) : "unexpectedly");
		wake(m, err);
		arca_error_free(err);
	}
	c->maint = maint_free(m);
	c->d->container_hooks->maintenance_over(c); /* may free c */
}

static void on_setup(int error, const char *message, void *userdata)
{
	struct container *c = userdata;
	struct maint *m = c->maint;
	if (error) {
		struct arca_error *err = NULL;
		arca_error_set(&err, EIO, ARCA_ERR_INTERNAL, "mount the root of %.12s: %s", c->id,
			       message);
		wake(m, err);
		arca_error_free(err);
		vm_stop(m->vm, VM_STOP_GRACE_FAIL);
		return;
	}
	m->ready = true;
	wake(m, NULL);
	if (!m->users) {
		m->stopping = true;
		vm_stop(m->vm, VM_STOP_GRACE);
	}
}

static void on_ready(struct vm *vm, void *userdata)
{
	struct container *c = userdata;
	struct guest_rootfs_spec spec = { .image_serial = "arca-image",
					  .rw_serial = "arca-rw",
					  .init_layer = true };
	struct guest_batch *b = guest_batch_new(vm_guest(vm), on_setup, c);
	guest_batch_add_rootfs(b, &spec);
	/* docker cp reaches the binds and volumes as in a running container; a tmpfs
	 * is gone with the run, so cp there sees the writable layer, as with dockerd. */
	container_mounts_add_requests(c, b, ~c->maint->blocks, false);
	guest_batch_end(b);
}

static const struct vm_callbacks maint_cbs = { .ready = on_ready, .exited = on_exited };

static int maint_start(struct container *c, struct arca_error **err)
{
	struct daemon *d = c->d;
	_cleanup_free_ char *disk = NULL;
	int r = image_disk(d->images, c->image_id, &disk, err);
	if (r < 0)
		return r;
	struct maint *m = xnew0(struct maint, 1);
	m->c = c;
	m->run_dir = xasprintf("%s/maint", d->cfg.run_dir);
	struct vm_config cfg;
	container_vm_config(c, disk, &cfg);
	c->rw_fresh = false;	      /* a VM has had it */
	cfg.runtime_dir = m->run_dir; /* apart from a start's, should one follow */
	cfg.memory_mb = MAINT_MEMORY_MB;
	cfg.cpus = 1;
	cfg.die_with_parent = true; /* a maintenance VM is never adopted */
	/* The shares, and the block volumes no other VM holds (QEMU locks the file):
	 * a cp below one held elsewhere is refused (container_maint_missing). */
	uint32_t held = container_mounts_blocks_held(c);
	cfg.n_disks = 2;
	container_mounts_disks(c, held, &cfg);
	m->blocks = ~held;
	c->maint = m;
	r = vm_start(d->event, &cfg, &maint_cbs, c, &m->vm, err);
	if (r < 0)
		c->maint = maint_free(m);
	return r;
}

void container_vm_acquire(struct container *c, container_vm_fn cb, void *userdata)
{
	struct arca_error *err = NULL;
	if (c->state == CONTAINER_PAUSED) {
		arca_error_set(&err, EBUSY, ARCA_ERR_CONFLICT,
			       "container %s is paused, unpause the container first", c->id);
	} else if (container_is_running(c) && c->vm) {
		cb(c, NULL, userdata);
		return;
	} else if (c->starting || c->vm || c->state == CONTAINER_RESTARTING ||
		   c->state == CONTAINER_REMOVING) {
		arca_error_set(&err, EBUSY, ARCA_ERR_CONFLICT,
			       "container %s is changing state, try again", c->id);
	} else if (c->maint && c->maint->ready && !c->maint->stopping) {
		c->maint->users++;
		cb(c, NULL, userdata);
		return;
	} else if (c->maint || maint_start(c, &err) == 0) {
		struct maint_waiter *w = xnew0(struct maint_waiter, 1);
		*w = (struct maint_waiter){ .next = c->maint->waiters,
					    .cb = cb,
					    .userdata = userdata };
		c->maint->waiters = w;
		return;
	}
	cb(c, err, userdata);
	arca_error_free(err);
}

void container_vm_release(struct container *c)
{
	struct maint *m = c->maint;
	if (!m || !m->users)
		return; /* the container's own VM: nothing to do */
	if (--m->users == 0 && !m->waiters) {
		m->stopping = true;
		vm_stop(m->vm, VM_STOP_GRACE); /* the shutdown syncs the writable disk */
	}
}

void container_vm_cancel(struct container *c, void *userdata)
{
	if (!c->maint)
		return;
	for (struct maint_waiter **p = &c->maint->waiters; *p;) {
		struct maint_waiter *w = *p;
		if (w->userdata == userdata) {
			*p = w->next;
			free(w);
		} else {
			p = &w->next;
		}
	}
}

struct vm *container_helper_vm(struct container *c)
{
	if (container_is_running(c) && c->vm)
		return c->vm;
	return c->maint && c->maint->ready && !c->maint->stopping ? c->maint->vm : NULL;
}

uint32_t container_maint_blocks(const struct container *c)
{
	return c->maint ? c->maint->blocks : 0;
}

const char *container_maint_missing(const struct container *c, const char *path)
{
	if (!c->maint || container_helper_vm((struct container *)c) != c->maint->vm)
		return NULL;
	return container_mounts_block_covering(c, path, ~c->maint->blocks);
}

bool container_in_maintenance(const struct container *c)
{
	return c->maint != NULL;
}

bool container_maintenance_ending(const struct container *c)
{
	return c->maint && c->maint->stopping && !c->maint->users && !c->maint->waiters;
}
