/* SPDX-License-Identifier: Apache-2.0 */
/* The create-option table: applied, refused or warned (see create-options.h). */
#include "create-options.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "alloc.h"
#include "cleanup.h"
#include "guest-client.h"

enum disposition {
	APPLIED, /* arcad honours it (or, for metadata, keeps and shows it) */
	REFUSED, /* set: 400 with the reason */
	WARNED,	 /* set: accepted, one line in Warnings */
};

struct option {
	const char *name;
	enum disposition what;
	const char *why; /* REFUSED and WARNED: the reason, after "<name>: " */
};

#define NO_CGROUP "not enforced: the container's VM size (--memory, --cpus) is its only limit"

static const struct option host_options[] = {
	{ "Memory", APPLIED, NULL },
	{ "NanoCpus", APPLIED, NULL },
	{ "CpuCount", APPLIED, NULL },
	{ "AutoRemove", APPLIED, NULL },
	{ "RestartPolicy", APPLIED, NULL },
	{ "LogConfig", APPLIED, NULL },
	{ "Init", APPLIED, NULL },
	{ "ReadonlyRootfs", APPLIED, NULL },
	{ "Tmpfs", APPLIED, NULL },
	{ "ExtraHosts", APPLIED, NULL },
	{ "NetworkMode", APPLIED, NULL },
	{ "GroupAdd", APPLIED, NULL },
	{ "Ulimits", APPLIED, NULL },
	{ "ContainerIDFile", APPLIED, NULL }, /* written by the client */
	{ "ConsoleSize", APPLIED, NULL },     /* the client resizes once attached */
	{ "Annotations", APPLIED, NULL },     /* kept and shown, as dockerd passes them on */
	/* Processes keep every capability inside their own VM: an added one is there. */
	{ "CapAdd", APPLIED, NULL },
	{ "Privileged", WARNED,
	  "the container has every capability inside its own VM, but no host devices" },
	{ "CapDrop", WARNED,
	  "not applied: processes keep every capability inside the container's VM" },
	{ "SecurityOpt", WARNED, "not applied: the VM is the container's security boundary" },
	{ "MaskedPaths", WARNED, "not applied inside the container's VM" },
	{ "ReadonlyPaths", WARNED, "not applied inside the container's VM" },
	{ "OomScoreAdj", WARNED, "not applied inside the container's VM" },
	{ "ShmSize", WARNED, "not applied: /dev/shm is sized by the VM's memory" },
	{ "CgroupParent", WARNED, "not applied: the container runs in a VM, not a host cgroup" },
	{ "CpuShares", WARNED, NO_CGROUP },
	{ "CpuPeriod", WARNED, NO_CGROUP },
	{ "CpuQuota", WARNED, NO_CGROUP },
	{ "CpuRealtimePeriod", WARNED, NO_CGROUP },
	{ "CpuRealtimeRuntime", WARNED, NO_CGROUP },
	{ "CpusetCpus", WARNED, NO_CGROUP },
	{ "CpusetMems", WARNED, NO_CGROUP },
	{ "CpuPercent", WARNED, NO_CGROUP },
	{ "BlkioWeight", WARNED, NO_CGROUP },
	{ "BlkioWeightDevice", WARNED, NO_CGROUP },
	{ "BlkioDeviceReadBps", WARNED, NO_CGROUP },
	{ "BlkioDeviceWriteBps", WARNED, NO_CGROUP },
	{ "BlkioDeviceReadIOps", WARNED, NO_CGROUP },
	{ "BlkioDeviceWriteIOps", WARNED, NO_CGROUP },
	{ "IOMaximumIOps", WARNED, NO_CGROUP },
	{ "IOMaximumBandwidth", WARNED, NO_CGROUP },
	{ "MemoryReservation", WARNED, NO_CGROUP },
	{ "MemorySwap", WARNED, "not applied: the container's VM has no swap" },
	{ "MemorySwappiness", WARNED, "not applied: the container's VM has no swap" },
	{ "KernelMemoryTCP", WARNED, NO_CGROUP },
	{ "OomKillDisable", WARNED, NO_CGROUP },
	{ "PidsLimit", WARNED, NO_CGROUP },
	{ "Binds", APPLIED, NULL },  /* container-mounts.c */
	{ "Mounts", APPLIED, NULL }, /* bind, volume, tmpfs */
	{ "VolumesFrom", APPLIED, NULL },
	{ "VolumeDriver", APPLIED, NULL }, /* local only: container-mounts.c */
	{ "PortBindings", APPLIED, NULL }, /* network/ports.c */
	{ "PublishAllPorts", APPLIED, NULL },
	{ "Links", APPLIED, NULL }, /* network/sandbox-etc.c, network/dns.c */
	{ "Dns", APPLIED, NULL },
	{ "DnsSearch", APPLIED, NULL },
	{ "DnsOptions", APPLIED, NULL },
	{ "Devices", REFUSED, "host devices can't be passed into an Arca VM yet" },
	{ "DeviceRequests", REFUSED, "host devices can't be passed into an Arca VM yet" },
	{ "DeviceCgroupRules", REFUSED, "host devices can't be passed into an Arca VM yet" },
	{ "Sysctls", REFUSED, "not supported by Arca yet" },
	{ "StorageOpt", REFUSED, "not supported by Arca's storage driver" },
	{ "Cgroup", REFUSED, "each Arca container is a VM: it can't join another's cgroup" },
	/* Checked below by value: IpcMode PidMode UTSMode UsernsMode CgroupnsMode Runtime
	 * Isolation. */
};

static const struct option config_options[] = {
	{ "Volumes", APPLIED, NULL },	 /* anonymous volumes */
	{ "MacAddress", APPLIED, NULL }, /* the primary network's endpoint MAC */
};

/* null, false, 0, -1 (dockerd's "default": the CLI sends MemorySwappiness -1), "", [], {}
 * and a list of zeros (ConsoleSize [0, 0]) are unset. */
bool create_option_is_set(json_t *v)
{
	if (!v || json_is_null(v) || json_is_false(v))
		return false;
	if (json_is_integer(v))
		return json_integer_value(v) != 0 && json_integer_value(v) != -1;
	if (json_is_real(v))
		return json_real_value(v) != 0;
	if (json_is_string(v))
		return json_string_length(v) != 0;
	if (json_is_object(v))
		return json_object_size(v) != 0;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) if (create_option_is_set(e)) return true;
		return false;
	}
	return true;
}

static int check_table(json_t *obj, const struct option *t, size_t n, const char *section,
		       json_t *warnings, struct arca_error **err)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].what == APPLIED || !create_option_is_set(json_object_get(obj, t[i].name)))
			continue;
		if (t[i].what == REFUSED)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s.%s: %s", section,
					      t[i].name, t[i].why);
		json_array_append_new(warnings,
				      json_sprintf("%s.%s: %s", section, t[i].name, t[i].why));
	}
	return 0;
}

/* A namespace mode: "" and the VM's own (private) values pass; sharing is refused. */
static int check_mode(json_t *hc, const char *key, const char *const *ok, struct arca_error **err)
{
	const char *v = json_string_value(json_object_get(hc, key));
	if (!v || !v[0])
		return 0;
	for (size_t i = 0; ok[i]; i++)
		if (strcmp(v, ok[i]) == 0)
			return 0;
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
			      "HostConfig.%s `%s` is not supported: each Arca container is a VM "
			      "with its own kernel, so it can't share the host's or another "
			      "container's namespaces",
			      key, v);
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "as", RLIMIT_AS },
	{ "core", RLIMIT_CORE },
	{ "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE },
	{ "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK },
	{ "msgqueue", RLIMIT_MSGQUEUE },
	{ "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC },
	{ "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO },
	{ "rttime", RLIMIT_RTTIME },
	{ "sigpending", RLIMIT_SIGPENDING },
	{ "stack", RLIMIT_STACK },
};

int create_options_rlimit(const char *name)
{
	for (size_t i = 0; name && i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (strcmp(name, rlimit_names[i].name) == 0)
			return rlimit_names[i].resource;
	return -EINVAL;
}

static int check_ulimits(json_t *hc, struct arca_error **err)
{
	json_t *l = json_object_get(hc, "Ulimits");
	if (!l || json_is_null(l))
		return 0;
	if (!json_is_array(l))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "Ulimits must be a list");
	size_t i;
	json_t *u;
	json_array_foreach(l, i, u)
	{
		const char *name = json_string_value(json_object_get(u, "Name"));
		json_t *soft = json_object_get(u, "Soft"), *hard = json_object_get(u, "Hard");
		if (create_options_rlimit(name) < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid ulimit type: %s", name ? name : "");
		if (!json_is_integer(soft) || !json_is_integer(hard))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "ulimit %s needs integer Soft and Hard", name);
		if (json_integer_value(soft) > json_integer_value(hard))
			return arca_error_set(
			    err, EINVAL, ARCA_ERR_INVALID,
			    "ulimit soft limit must be less than or equal to hard "
			    "limit: %lld > %lld",
			    (long long)json_integer_value(soft),
			    (long long)json_integer_value(hard));
	}
	return 0;
}

int create_options_check(json_t *config, json_t *host_config, json_t *warnings,
			 struct arca_error **err)
{
	int r = check_table(host_config, host_options, ELEMENTSOF(host_options), "HostConfig",
			    warnings, err);
	if (r >= 0)
		r = check_table(config, config_options, ELEMENTSOF(config_options), "Config",
				warnings, err);
	if (r >= 0)
		r = check_mode(host_config, "IpcMode",
			       (const char *[]){ "private", "shareable", NULL }, err);
	if (r >= 0)
		r = check_mode(host_config, "PidMode", (const char *[]){ NULL }, err);
	if (r >= 0)
		r = check_mode(host_config, "UTSMode", (const char *[]){ NULL }, err);
	if (r >= 0)
		r = check_mode(host_config, "UsernsMode", (const char *[]){ "host", NULL }, err);
	if (r >= 0)
		r = check_mode(host_config, "CgroupnsMode", (const char *[]){ "private", NULL },
			       err);
	if (r < 0)
		return r;
	const char *rt = json_string_value(json_object_get(host_config, "Runtime"));
	if (rt && rt[0] && strcmp(rt, "arca-vm") != 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "unknown or invalid runtime name: %s", rt);
	const char *iso = json_string_value(json_object_get(host_config, "Isolation"));
	if (iso && iso[0] && strcmp(iso, "default") != 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid isolation: %s on linux", iso);
	r = check_ulimits(host_config, err);
	if (r < 0)
		return r;
	/* json-file options that log-config.c accepts but Arca's writer doesn't act on. */
	static const char *const log_opts_kept[] = { "compress", "labels",    "labels-regex",
						     "env",	 "env-regex", "tag" };
	json_t *log_opts = json_object_get(json_object_get(host_config, "LogConfig"), "Config");
	for (size_t i = 0; i < ELEMENTSOF(log_opts_kept); i++)
		if (create_option_is_set(json_object_get(log_opts, log_opts_kept[i])))
			json_array_append_new(
			    warnings, json_sprintf("HostConfig.LogConfig.Config.%s: not applied by "
						   "Arca's json-file writer",
						   log_opts_kept[i]));
	return 0;
}

struct guest_rlimit *create_options_rlimits(json_t *host_config, size_t *ret_n)
{
	json_t *l = json_object_get(host_config, "Ulimits");
	size_t n = json_is_array(l) ? json_array_size(l) : 0, k = 0;
	struct guest_rlimit *out = xnew0(struct guest_rlimit, n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		json_t *u = json_array_get(l, i);
		int res = create_options_rlimit(json_string_value(json_object_get(u, "Name")));
		if (res < 0)
			continue; /* refused at create; an old record can't add one */
		json_int_t soft = json_integer_value(json_object_get(u, "Soft"));
		json_int_t hard = json_integer_value(json_object_get(u, "Hard"));
		out[k++] = (struct guest_rlimit){
			.resource = (uint32_t)res,
			.soft = soft < 0 ? RLIM_INFINITY : (uint64_t)soft,
			.hard = hard < 0 ? RLIM_INFINITY : (uint64_t)hard,
		};
	}
	*ret_n = k;
	return out;
}
