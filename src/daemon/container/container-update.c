/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ContainerUpdate (docker update): the restart policy at any time; Memory,
 * NanoCpus and CpuCount size the VM at its next boot, and on a running
 * container they are applied at once, as dockerd does, through the guest's
 * cgroup of the container's processes (memory.max, cpu.max), within the size
 * the VM booted with. Growing past it needs a restart and is refused. Other
 * cgroup knobs have no meaning for a VM yet and come back as warnings.
 */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "create-options.h"
#include "daemon.h"
#include "events.h"
#include "guest-setup.h"
#include "vm.h"
#include "restart-policy.h"
#include "names.h"

/* Fields of Resources that are accepted but mean nothing for a VM yet. */
static const char *const ignored[] = {
	"CpuShares",	"CpuPeriod",  "CpuQuota",	  "CpuRealtimePeriod", "CpuRealtimeRuntime",
	"CpusetCpus",	"CpusetMems", "BlkioWeight",	  "MemoryReservation", "MemorySwap",
	"KernelMemory", "PidsLimit",  "MemorySwappiness", "OomKillDisable",
};

struct update {
	struct daemon *d;
	char id[ID_HEX_LEN + 1];
	json_t *hc, *warnings;
	container_update_fn cb;
	void *userdata;
};

static void reply(struct container *c, container_update_fn cb, void *userdata, int code,
		  enum arca_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void reply(struct container *c, container_update_fn cb, void *userdata, int code,
		  enum arca_error_kind kind, const char *fmt, ...)
{
	struct arca_error *err = NULL;
	va_list ap;
	va_start(ap, fmt);
	arca_error_setv(&err, code, kind, fmt, ap);
	va_end(ap);
	cb(c, err, NULL, userdata);
	arca_error_free(err);
}

/* The limits hold (or there were none to set live): keep the new HostConfig. */
static void finish(struct update *u, int error, const char *message)
{
	struct container *c = daemon_find_container(u->d, u->id, NULL);
	struct arca_error *err = NULL;
	if (!c)
		arca_error_set(&err, ENOENT, ARCA_ERR_NOT_FOUND, "No such container: %s", u->id);
	else if (error)
		arca_error_set(&err, error, ARCA_ERR_INTERNAL,
			       "update container %.12s: set its limits in the VM: %s", u->id,
			       message ? message : strerror(error));
	if (!err) {
		json_t *old = c->host_config;
		c->host_config = u->hc;
		if (container_save(c, &err) < 0) {
			c->host_config = old;
		} else {
			json_decref(old);
			u->hc = NULL;
			events_container(c->d->events, c, "update", NULL);
		}
	}
	u->cb(c, err, err ? NULL : u->warnings, u->userdata);
	arca_error_free(err);
	json_decref(u->hc);
	json_decref(u->warnings);
	free(u);
}

static void on_applied(int error, const char *message, void *userdata)
{
	finish(userdata, error, message);
}

void container_update(struct container *c, json_t *body, container_update_fn cb, void *userdata)
{
	if (!json_is_object(body))
		return reply(c, cb, userdata, EINVAL, ARCA_ERR_INVALID,
			     "the body must be an object");
	json_t *policy = json_object_get(body, "RestartPolicy");
	const char *pname = json_string_value(json_object_get(policy, "Name"));
	bool set_policy = pname && pname[0];
	if (set_policy) {
		if (json_is_true(json_object_get(c->host_config, "AutoRemove")))
			return reply(c, cb, userdata, EINVAL, ARCA_ERR_INVALID,
				     "Restart policy cannot be updated because AutoRemove "
				     "is enabled for the container");
		struct arca_error *err = NULL;
		if (restart_policy_check(policy, false, &err) < 0) {
			cb(c, err, NULL, userdata);
			arca_error_free(err);
			return;
		}
	}
	static const char *const vm_keys[] = { "Memory", "NanoCpus", "CpuCount" };
	bool set_vm = false;
	for (size_t i = 0; i < ELEMENTSOF(vm_keys); i++) {
		json_t *v = json_object_get(body, vm_keys[i]);
		if (v && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 0))
			return reply(c, cb, userdata, EINVAL, ARCA_ERR_INVALID, "invalid %s",
				     vm_keys[i]);
		set_vm |= create_option_is_set(v);
	}
	json_int_t mem = json_integer_value(json_object_get(body, "Memory"));
	if (mem && mem < 6 * 1024 * 1024)
		return reply(c, cb, userdata, EINVAL, ARCA_ERR_INVALID,
			     "Minimum memory limit allowed is 6MB");
	bool live = set_vm && container_is_running(c) && c->vm && c->proc;
	if (set_vm && !live && (container_is_running(c) || c->starting || c->vm))
		return reply(c, cb, userdata, EBUSY, ARCA_ERR_CONFLICT,
			     "Cannot update container %s: it is starting, stopping or in "
			     "maintenance; try again",
			     c->id);
	if (live && c->state == CONTAINER_PAUSED)
		return reply(c, cb, userdata, EBUSY, ARCA_ERR_CONFLICT,
			     "Cannot update container %s: unpause it first", c->id);
	unsigned vm_mb = 0, vm_cpus = 0;
	if (live)
		vm_size(c->vm, &vm_mb, &vm_cpus);
	json_int_t nano = json_integer_value(json_object_get(body, "NanoCpus"));
	json_int_t count = json_integer_value(json_object_get(body, "CpuCount"));
	if (!nano && count)
		nano = count * 1000000000LL;
	/* The VM keeps GUEST_RESERVE_MB for its own kernel: the rest is the container's. */
	unsigned room_mb = vm_mb > 2 * GUEST_RESERVE_MB ? vm_mb - GUEST_RESERVE_MB : vm_mb / 2;
	if (live && mem && (uint64_t)mem > (uint64_t)room_mb << 20)
		return reply(c, cb, userdata, EBUSY, ARCA_ERR_CONFLICT,
			     "Cannot update container %s: its VM has %u MiB, %u of them for "
			     "its processes; a larger memory limit needs a restart (stop it, "
			     "update, start)",
			     c->id, vm_mb, room_mb);
	if (live && nano > (json_int_t)vm_cpus * 1000000000LL)
		return reply(c, cb, userdata, EBUSY, ARCA_ERR_CONFLICT,
			     "Cannot update container %s: its VM has %u vCPUs; more CPUs need "
			     "a restart (stop it, update, start)",
			     c->id, vm_cpus);

	json_t *hc = json_deep_copy(c->host_config);
	if (set_policy)
		json_object_set(hc, "RestartPolicy", policy);
	for (size_t i = 0; i < ELEMENTSOF(vm_keys); i++) {
		json_t *v = json_object_get(body, vm_keys[i]);
		if (create_option_is_set(v))
			json_object_set(hc, vm_keys[i], v);
	}
	json_t *warnings = json_array();
	for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
		if (create_option_is_set(json_object_get(body, ignored[i])))
			json_array_append_new(
			    warnings,
			    json_sprintf("%s is not supported by Arca's VMs and was ignored",
					 ignored[i]));
	struct update *u = xnew0(struct update, 1);
	*u = (struct update){
		.d = c->d, .hc = hc, .warnings = warnings, .cb = cb, .userdata = userdata
	};
	memcpy(u->id, c->id, sizeof(u->id));
	if (!live) {
		finish(u, 0, NULL);
		return;
	}
	/* The limits inside the VM first; the record changes once they hold. */
	struct guest_batch *b = guest_batch_new(vm_guest(c->vm), on_applied, u);
	container_limits_add(b, mem, nano);
	guest_batch_end(b);
}

void container_limits_add(struct guest_batch *b, json_int_t memory, json_int_t nano_cpus)
{
	struct guest_request rq;
	if (memory <= 0 && nano_cpus <= 0)
		return;
	/*
	 * The controllers on below the root, then the container's cgroup (made by the
	 * write: arca-init makes it too when the first process joins it).
	 */
	static const char controllers[] = "+memory +cpu +pids";
	guest_req_write_file(&rq, "/sys/fs/cgroup/cgroup.subtree_control", controllers,
			     strlen(controllers), 0644);
	guest_batch_add(b, &rq);
	if (memory > 0) {
		_cleanup_free_ char *v = xasprintf("%lld\n", (long long)memory);
		guest_req_write_file(&rq, "/sys/fs/cgroup/" CONTAINER_CGROUP "/memory.max", v,
				     strlen(v), 0644);
		guest_batch_add(b, &rq);
	}
	if (nano_cpus > 0) {
		_cleanup_free_ char *v = xasprintf("%lld 100000\n", (long long)(nano_cpus / 10000));
		guest_req_write_file(&rq, "/sys/fs/cgroup/" CONTAINER_CGROUP "/cpu.max", v,
				     strlen(v), 0644);
		guest_batch_add(b, &rq);
	}
}
