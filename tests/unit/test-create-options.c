/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the create-option table (src/daemon/create-options.c). */
#include <jansson.h>

#include "create-options.h"
#include "tap.h"

/* What the docker CLI 28 sends for a plain `docker run busybox true` (MemorySwappiness -1). */
static const char cli_defaults[] =
    "{\"Binds\": null, \"ContainerIDFile\": \"\", \"LogConfig\": {\"Type\": \"\", \"Config\": {}},"
    " \"NetworkMode\": \"bridge\", \"PortBindings\": {}, \"RestartPolicy\": {\"Name\": \"no\","
    " \"MaximumRetryCount\": 0}, \"AutoRemove\": false, \"VolumeDriver\": \"\","
    " \"VolumesFrom\": null, \"ConsoleSize\": [0, 0], \"CapAdd\": null, \"CapDrop\": null,"
    " \"CgroupnsMode\": \"\", \"Dns\": [], \"DnsOptions\": [], \"DnsSearch\": [],"
    " \"ExtraHosts\": null, \"GroupAdd\": null, \"IpcMode\": \"\", \"Cgroup\": \"\","
    " \"Links\": null, \"OomScoreAdj\": 0, \"PidMode\": \"\", \"Privileged\": false,"
    " \"PublishAllPorts\": false, \"ReadonlyRootfs\": false, \"SecurityOpt\": null,"
    " \"UTSMode\": \"\", \"UsernsMode\": \"\", \"ShmSize\": 0, \"Isolation\": \"\","
    " \"CpuShares\": 0, \"Memory\": 0, \"NanoCpus\": 0, \"CgroupParent\": \"\","
    " \"BlkioWeight\": 0, \"BlkioWeightDevice\": [], \"CpuPeriod\": 0, \"CpuQuota\": 0,"
    " \"CpusetCpus\": \"\", \"Devices\": [], \"DeviceCgroupRules\": null,"
    " \"DeviceRequests\": null, \"MemoryReservation\": 0, \"MemorySwap\": 0,"
    " \"MemorySwappiness\": -1, \"OomKillDisable\": null, \"PidsLimit\": null,"
    " \"Ulimits\": [], \"MaskedPaths\": null, \"ReadonlyPaths\": null}";

static int check(const char *hc_text, const char *cfg_text, json_t *warnings,
		 struct arca_error **err)
{
	json_t *hc = json_loads(hc_text, 0, NULL), *cfg = json_loads(cfg_text, 0, NULL);
	int r = create_options_check(cfg, hc, warnings, err);
	json_decref(hc);
	json_decref(cfg);
	return r;
}

static void refused(const char *hc, const char *cfg, const char *what)
{
	struct arca_error *err = NULL;
	json_t *w = json_array();
	ok(check(hc, cfg, w, &err) < 0 && err && err->kind == ARCA_ERR_INVALID &&
	       strstr(err->msg, what),
	   "refused: %s (%s)", what, err ? err->msg : "accepted");
	arca_error_free(err);
	json_decref(w);
}

int main(void)
{
	struct arca_error *err = NULL;
	json_t *w = json_array();
	ok(check(cli_defaults, "{}", w, &err) == 0 && json_array_size(w) == 0,
	   "the CLI's zero values: accepted without a warning");
	arca_error_free(err);
	err = NULL;

	refused("{\"Devices\": [{\"PathOnHost\": \"/dev/null\"}]}", "{}", "HostConfig.Devices");
	refused("{\"Sysctls\": {\"net.ipv4.ip_forward\": \"1\"}}", "{}", "Sysctls");
	refused("{\"PidMode\": \"host\"}", "{}", "PidMode");
	refused("{\"IpcMode\": \"container:abc\"}", "{}", "IpcMode");
	refused("{\"Runtime\": \"runc\"}", "{}", "unknown or invalid runtime name: runc");
	refused("{\"Isolation\": \"hyperv\"}", "{}", "invalid isolation: hyperv on linux");
	refused("{\"Ulimits\": [{\"Name\": \"nofiles\", \"Soft\": 1, \"Hard\": 2}]}", "{}",
		"invalid ulimit type: nofiles");
	refused("{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 3, \"Hard\": 2}]}", "{}",
		"soft limit");

	ok(check("{\"IpcMode\": \"private\", \"UsernsMode\": \"host\", \"CapAdd\": [\"NET_ADMIN\"],"
		 " \"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 10, \"Hard\": 20}]}",
		 "{}", w, &err) == 0 &&
	       json_array_size(w) == 0,
	   "private IPC, host userns, CapAdd and a ulimit: applied");
	ok(check("{\"Binds\": [\"/tmp:/h\"], \"Mounts\": [{\"Type\": \"tmpfs\", \"Target\": "
		 "\"/t\"}], \"VolumeDriver\": \"local\"}",
		 "{\"Volumes\": {\"/data\": {}}}", w, &err) == 0 &&
	       json_array_size(w) == 0,
	   "Binds, Mounts, the local VolumeDriver and Config.Volumes: applied");
	ok(check("{\"CapDrop\": [\"NET_RAW\"], \"CpuShares\": 512}", "{}", w, &err) == 0 &&
	       json_array_size(w) == 2,
	   "CapDrop and CpuShares: two warnings");
	ok(strstr(json_string_value(json_array_get(w, 0)), "HostConfig.CapDrop") != NULL,
	   "the warning names the field");

	json_array_clear(w);
	ok(check("{\"LogConfig\": {\"Type\": \"json-file\", \"Config\": {\"max-size\": \"1m\","
		 " \"compress\": \"true\"}}}",
		 "{}", w, &err) == 0 &&
	       json_array_size(w) == 1 &&
	       strstr(json_string_value(json_array_get(w, 0)), "compress"),
	   "json-file's compress: a warning; max-size: applied");

	json_decref(w);
	return tap_done();
}
