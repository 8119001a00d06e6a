/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ContainerUpdate (docker update): the restart policy at any time, and the
 * resources a VM takes at boot (Memory, NanoCpus, CpuCount) while the
 * container is stopped. A running VM's memory and vCPUs are fixed: asking to
 * change them is refused rather than silently ignored. Other cgroup knobs
 * have no meaning for a VM yet and come back as warnings.
 */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "events.h"
#include "restart-policy.h"

/* Fields of Resources that are accepted but mean nothing for a VM yet. */
static const char *const ignored[] = {
	"CpuShares",	"CpuPeriod",  "CpuQuota",	  "CpuRealtimePeriod", "CpuRealtimeRuntime",
	"CpusetCpus",	"CpusetMems", "BlkioWeight",	  "MemoryReservation", "MemorySwap",
	"KernelMemory", "PidsLimit",  "MemorySwappiness", "OomKillDisable",
};

static bool is_set(json_t *v)
{
	return (json_is_integer(v) && json_integer_value(v) != 0) ||
	       (json_is_string(v) && json_string_value(v)[0]) || json_is_true(v);
}

int container_update(struct container *c, json_t *body, json_t **ret_warnings,
		     struct arca_error **err)
{
	if (!json_is_object(body))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "the body must be an object");
	json_t *policy = json_object_get(body, "RestartPolicy");
	const char *pname = json_string_value(json_object_get(policy, "Name"));
	bool set_policy = pname && pname[0];
	if (set_policy) {
		if (json_is_true(json_object_get(c->host_config, "AutoRemove")))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "Restart policy cannot be updated because AutoRemove "
					      "is enabled for the container");
		int r = restart_policy_check(policy, false, err);
		if (r < 0)
			return r;
	}
	static const char *const vm_keys[] = { "Memory", "NanoCpus", "CpuCount" };
	bool set_vm = false;
	for (size_t i = 0; i < ELEMENTSOF(vm_keys); i++) {
		json_t *v = json_object_get(body, vm_keys[i]);
		if (v && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 0))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid %s",
					      vm_keys[i]);
		set_vm |= is_set(v);
	}
	json_int_t mem = json_integer_value(json_object_get(body, "Memory"));
	if (mem && mem < 6 * 1024 * 1024)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "Minimum memory limit allowed is 6MB");
	if (set_vm && (container_is_running(c) || c->starting || c->vm))
		return arca_error_set(err, EBUSY, ARCA_ERR_CONFLICT,
				      "Cannot update container %s: a running container's VM keeps "
				      "the memory and CPUs it booted with; stop it first",
				      c->id);

	json_t *hc = json_deep_copy(c->host_config);
	if (set_policy)
		json_object_set(hc, "RestartPolicy", policy);
	for (size_t i = 0; i < ELEMENTSOF(vm_keys); i++) {
		json_t *v = json_object_get(body, vm_keys[i]);
		if (is_set(v))
			json_object_set(hc, vm_keys[i], v);
	}
	json_t *warnings = json_array();
	for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
		if (is_set(json_object_get(body, ignored[i])))
			json_array_append_new(
			    warnings,
			    json_sprintf("%s is not supported by Arca's VMs and was ignored",
					 ignored[i]));
	json_t *old = c->host_config;
	c->host_config = hc;
	int r = container_save(c, err);
	if (r < 0) {
		c->host_config = old;
		json_decref(hc);
		json_decref(warnings);
		return r;
	}
	json_decref(old);
	events_container(c->d->events, c, "update", NULL);
	*ret_warnings = warnings;
	return 0;
}
