/* SPDX-License-Identifier: Apache-2.0 */
/* The pool of booted VMs (see pool.h). */
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "event.h"
#include "hashmap.h"
#include "log.h"
#include "names.h"
#include "guest-setup.h"
#include "spare-disk.h"
#include "tap.h"
#include "vm.h"

/* A claimed VM's replacement boots a moment later, once the claimer's setup has had the CPU. */
#define REFILL_DELAY  (250 * USEC_PER_MSEC)
#define RETRY_DELAY   (5 * USEC_PER_SEC)
#define MAX_FAILURES  3
#define POOL_BOOT_MAX (60 * USEC_PER_SEC)
/* A booting pooled VM's nice value over the daemon's: a boot ahead (a CPU for about a
 * second under TCG) gives way to the containers' VMs, the one starting above all, yet
 * still gets about a tenth of a busy CPU, so it ends within POOL_BOOT_MAX. */
#define POOL_NICE 10

struct pool_vm {
	struct pool *pool;
	struct vm *vm;
	char tap[16];
	char *rw; /* its writable disk, mounted at POOL_RW_DIR (in the spare disks' directory) */
	bool ready;
	struct pool_vm *next;
};

struct pool {
	struct daemon *d;
	unsigned size;
	unsigned budget_mb;
	unsigned target; /* size, as far as the budget goes */
	unsigned memory_mb, cpus;
	int nice; /* the daemon's, which a claimed VM gets back */
	struct pool_vm *vms;
	struct event_source *timer;
	unsigned failures; /* boots in a row that did not reach HELLO */
	char *disabled;	   /* why the pool stopped refilling, NULL while it works */
};

static void schedule(struct pool *p, usec_t delay);

bool pool_vm_id_valid(const char *id)
{
	size_t n = strlen(POOL_VM_PREFIX);
	return strncmp(id, POOL_VM_PREFIX, n) == 0 && strlen(id + n) == 16 &&
	       strspn(id + n, "0123456789abcdef") == 16;
}

static void unlink_entry(struct pool *p, struct pool_vm *e)
{
	for (struct pool_vm **pp = &p->vms; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			return;
		}
}

/* Ends an entry's VM (no callback) and deletes its disk. */
static void entry_free(struct pool_vm *e)
{
	vm_free(e->vm);
	if (e->rw)
		(void)unlink(e->rw);
	free(e->rw);
	free(e);
}

static unsigned count(const struct pool *p, bool only_ready)
{
	unsigned n = 0;
	for (struct pool_vm *e = p->vms; e; e = e->next)
		n += !only_ready || e->ready;
	return n;
}

static void on_rw_ready(int error, const char *message, void *userdata)
{
	struct pool_vm *e = userdata;
	if (error) {
		/* As a failed boot: the VM goes, the next boot is retried later. */
		log_warn("pool: VM %s cannot mount its writable disk: %s", vm_id(e->vm), message);
		vm_stop(e->vm, 0);
		return;
	}
	e->ready = true;
	e->pool->failures = 0;
	log_debug("pool: VM %s ready in %llu ms", vm_id(e->vm),
		  (unsigned long long)(vm_boot_usec(e->vm) / USEC_PER_MSEC));
	schedule(e->pool, 0);
}

static void on_ready(struct vm *vm, void *userdata)
{
	/* Its writable disk mounted ahead: a claim moves it into place. */
	struct guest_batch *b = guest_batch_new(vm_guest(vm), on_rw_ready, userdata);
	guest_batch_add_rw_layer(b, POOL_RW_SERIAL, POOL_RW_DIR);
	guest_batch_end(b);
}

static void on_exited(struct vm *vm, int error, void *userdata)
{
	struct pool_vm *e = userdata;
	struct pool *p = e->pool;
	const char *why = vm_last_error(vm) ? vm_last_error(vm) : "it stopped";
	if (!e->ready && ++p->failures >= MAX_FAILURES) {
		free(p->disabled);
		p->disabled = xasprintf("%u boots failed, the last: %s", p->failures, why);
		log_warn("pool: no more VMs are booted ahead: %s", p->disabled);
	} else {
		log_warn("pool: VM %s ended%s: %s", vm_id(vm), error < 0 ? " unexpectedly" : "",
			 why);
	}
	unlink_entry(p, e);
	entry_free(e);
	schedule(p, p->failures ? RETRY_DELAY : 0);
}

static const struct vm_callbacks pool_cbs = { .ready = on_ready, .exited = on_exited };

static int boot_one(struct pool *p, struct arca_error **err)
{
	struct daemon *d = p->d;
	char hex[ID_HEX_LEN + 1], id[32];
	id_generate(hex);
	snprintf(id, sizeof(id), POOL_VM_PREFIX "%.16s", hex);
	struct pool_vm *e = xnew0(struct pool_vm, 1);
	e->pool = p;
	snprintf(e->tap, sizeof(e->tap), "avp%.12s", hex);
	e->rw = xasprintf("%s/%s.rw", spare_disks_dir(d->spares), id);
	/* Its NIC's TAP stays down and unplugged until a container takes it. */
	_cleanup_close_ int tap = tap_open(e->tap, err);
	int r = tap < 0 ? tap : spare_disks_take(d->spares, e->rw, err);
	if (r < 0) {
		free(e->rw);
		free(e);
		return r;
	}
	struct vm_config cfg = {
		.id = id,
		.runtime_dir = d->cfg.run_dir,
		.kernel = d->guest.kernel,
		.initramfs = d->guest.initramfs,
		.memory_mb = p->memory_mb,
		.cpus = p->cpus,
		.net_fd = tap,
		.net_vhost = d->vhost_net,
		.debug = d->cfg.debug,
		.die_with_parent = false, /* once claimed, it outlives a daemon that dies */
		.use_vsock = d->use_vsock,
		.accel = &d->accel,
		.boot_timeout = POOL_BOOT_MAX,
		.scsi_hotplug = true,
		.nice = POOL_NICE,
		.disks = { { .path = e->rw, .serial = POOL_RW_SERIAL, .scsi = true } },
		.n_disks = 1,
	};
	tap_random_mac(cfg.net_mac);
	r = vm_start(d->event, &cfg, &pool_cbs, e, &e->vm, err);
	if (r < 0) {
		(void)unlink(e->rw);
		free(e->rw);
		free(e);
		return r;
	}
	e->next = p->vms;
	p->vms = e;
	return 0;
}

static int on_timer(struct event_source *s, usec_t now, void *userdata)
{
	struct pool *p = userdata;
	(void)s;
	(void)now;
	p->timer = event_source_free(p->timer);
	/* One boot at a time: a boot takes a CPU for about a second under TCG. */
	if (p->disabled || count(p, false) >= p->target || count(p, false) > count(p, true))
		return 0;
	_cleanup_error_ struct arca_error *err = NULL;
	if (boot_one(p, &err) < 0) {
		p->failures++;
		log_warn("pool: cannot boot a VM: %s", err->msg);
		if (p->failures >= MAX_FAILURES) {
			p->disabled = xstrdup(err->msg);
			return 0;
		}
		schedule(p, RETRY_DELAY);
	}
	return 0;
}

static void schedule(struct pool *p, usec_t delay)
{
	if (p->timer || p->disabled)
		return;
	if (event_add_time_relative(p->d->event, &p->timer, delay, on_timer, p) < 0)
		log_warn("pool: cannot arm the refill timer");
}

struct pool *pool_new(struct daemon *d, unsigned size, unsigned budget_mb)
{
	struct pool *p = xnew0(struct pool, 1);
	p->d = d;
	p->size = size;
	p->budget_mb = budget_mb;
	p->memory_mb = d->cfg.default_memory_mb;
	p->cpus = d->cfg.default_cpus;
	errno = 0;
	p->nice = getpriority(PRIO_PROCESS, 0);
	if (errno)
		p->nice = 0;
	p->target = MIN(size, budget_mb / p->memory_mb);
	if (size && !p->target)
		log_warn("pool: a VM of %u MiB is over the pool's budget of %u MiB: none is "
			 "booted ahead",
			 p->memory_mb, budget_mb);
	if (p->target)
		schedule(p, 0);
	return p;
}

struct pool *pool_free(struct pool *p)
{
	if (!p)
		return NULL;
	p->timer = event_source_free(p->timer);
	while (p->vms) {
		struct pool_vm *e = p->vms;
		p->vms = e->next;
		entry_free(e); /* kills the VMM: no callback */
	}
	free(p->disabled);
	free(p);
	return NULL;
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

struct vm *pool_take(struct pool *p, const struct vm_config *cfg, char tap[16], char **ret_rw)
{
	struct daemon *d = p ? p->d : NULL;
	if (!p || !p->target || cfg->memory_mb != p->memory_mb || cfg->cpus != p->cpus ||
	    !same(cfg->kernel, d->guest.kernel) || !same(cfg->initramfs, d->guest.initramfs) ||
	    cfg->n_shares || cfg->n_disks != 2 || cfg->debug != d->cfg.debug ||
	    cfg->use_vsock != d->use_vsock)
		return NULL;
	for (struct pool_vm *e = p->vms; e; e = e->next) {
		if (!e->ready || vm_get_state(e->vm) != VM_RUNNING)
			continue;
		unlink_entry(p, e);
		struct vm *vm = e->vm;
		memcpy(tap, e->tap, 16);
		*ret_rw = e->rw;
		free(e);
		_cleanup_error_ struct arca_error *err = NULL;
		if (vm_set_nice(vm, p->nice, &err) < 0) /* it runs, only slower */
			log_warn("pool: %s", err->msg);
		schedule(p, REFILL_DELAY);
		return vm;
	}
	return NULL;
}

char *pool_status(const struct pool *p)
{
	if (!p || !p->size)
		return xstrdup("off");
	unsigned ready = count(p, true), booting = count(p, false) - ready;
	if (p->disabled)
		return xasprintf("%u ready, not refilled: %s", ready, p->disabled);
	return xasprintf("%u ready, %u booting (up to %u VMs of %u MiB, budget %u MiB)", ready,
			 booting, p->target, p->memory_mb, p->budget_mb);
}

static bool claimed(struct daemon *d, const char *id)
{
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->containers, &it, NULL, &v)) {
		struct container *c = v;
		if (c->vm_id && strcmp(c->vm_id, id) == 0)
			return true;
	}
	return false;
}

void pool_clear_stale(struct daemon *d)
{
	DIR *dir = opendir(d->cfg.run_dir);
	for (struct dirent *de; dir && (de = readdir(dir));) {
		if (!pool_vm_id_valid(de->d_name) || claimed(d, de->d_name))
			continue;
		if (vm_clear_stale(d->cfg.run_dir, de->d_name, 3 * USEC_PER_SEC) < 0)
			log_warn("a pooled VM left in `%s/%s` does not quit", d->cfg.run_dir,
				 de->d_name);
		else
			log_info("pool: ended VM %s, which a previous daemon booted", de->d_name);
	}
	if (dir)
		closedir(dir);
}
