/* SPDX-License-Identifier: Apache-2.0 */
/* SystemPing(+Head), SystemVersion, SystemInfo, SystemAuth, SystemEvents, SystemDataUsage. */
#include "api.h"
#include "http-stream.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "firewall.h"
#include "events.h"
#include "fd-util.h"
#include "hashmap.h"
#include "image.h"
#include "ipam.h"
#include "pool.h"
#include "registry.h"
#include "strv.h"
#include "version.h"
#include "volume.h"
#include "time-util.h"
#include "worker.h"

#define ENGINE_VERSION "28.0.0-arca"

static const char ping_headers[] = "Builder-Version: 1\r\nCache-Control: no-cache, no-store, "
				   "must-revalidate\r\nPragma: no-cache\r\n";

void api_system_ping(struct api_ctx *ctx)
{
	http_reply_headers(ctx->conn, 200, "text/plain; charset=utf-8", ping_headers, "OK", 2);
}

void api_system_ping_head(struct api_ctx *ctx)
{
	http_reply_headers(ctx->conn, 200, "text/plain; charset=utf-8", ping_headers, "OK", 2);
}

void api_system_version(struct api_ctx *ctx)
{
	struct utsname u;
	uname(&u);
	/* Engine: the Docker API arcad speaks; Arca: its own release and commit. */
	json_t *v = json_pack(
	    "{s:{s:s}, s:[{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}, {s:s, s:s, s:{s:s}}], s:s,"
	    " s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "Platform", "Name", "Arca (a VM per container)", "Components", "Name", "Engine",
	    "Version", ENGINE_VERSION, "Details", "ApiVersion", "1.51", "MinAPIVersion", "1.24",
	    "Os", "linux", "Arch", "amd64", "GitCommit", ARCA_GIT_COMMIT, "Name", "Arca", "Version",
	    ARCA_VERSION, "Details", "GitCommit", ARCA_GIT_COMMIT, "Version", ENGINE_VERSION,
	    "ApiVersion", "1.51", "MinAPIVersion", "1.24", "GitCommit", ARCA_GIT_COMMIT,
	    "GoVersion", "none (C)", "Os", "linux", "Arch",
	    strcmp(u.machine, "aarch64") == 0 ? "arm64" : "amd64", "KernelVersion", u.release,
	    "BuildTime", "");
	http_reply_json(ctx->conn, 200, v);
}

/* The host's KSM, which merges identical guest pages of VMs (docs/vm-memory.md). */
static const char *ksm_state(void)
{
	_cleanup_free_ char *run = NULL;
	if (read_file_at(AT_FDCWD, "/sys/kernel/mm/ksm/run", 16, &run, NULL) < 0)
		return "not in this host's kernel";
	return run[0] == '1' ? "on (/sys/kernel/mm/ksm/run)" : "off (/sys/kernel/mm/ksm/run)";
}

void api_system_info(struct api_ctx *ctx)
{
	struct daemon *d = ctx->d;
	struct utsname u;
	uname(&u);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	unsigned running = 0, paused = 0, stopped = 0;
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->containers, &it, NULL, &v)) {
		struct container *c = v;
		if (c->state == CONTAINER_PAUSED)
			paused++;
		else if (container_is_running(c))
			running++;
		else
			stopped++;
	}
	json_t *images = NULL;
	size_t n_images = 0;
	if (image_list(d->images, NULL, &images, NULL) >= 0)
		n_images = json_array_size(images);
	json_decref(images);
	bool kvm = d->accel.accel == VM_ACCEL_KVM;
	_cleanup_free_ char *isolation =
	    xasprintf("a virtual machine per container (QEMU %s)", kvm ? "KVM" : "TCG");
	_cleanup_free_ char *now = time_now_rfc3339();
	json_t *warnings = json_array();
	if (!kvm)
		json_array_append_new(
		    warnings, json_sprintf("WARNING: containers run under software emulation: %s",
					   d->accel.reason));
	if (firewall_error(d))
		json_array_append_new(
		    warnings, json_sprintf("WARNING: the firewall (NAT, published ports, network "
					   "isolation) is not in place: %s",
					   firewall_error(d)));
	json_t *info = json_pack(
	    "{s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:[[s,s],[s,s],[s,s]], s:{s:[], s:[s,s,s],"
	    " s:[], s:[s]}, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s,"
	    " s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:[s], s:{}, s:[]}, s:i,"
	    " s:I, s:s, s:s, s:s, s:s, s:s, s:[], s:b, s:s, s:{s:{s:s}}, s:s,"
	    " s:{s:s, s:s, s:s, s:b, s:i, s:i}, s:b, s:s, s:o}",
	    "ID", "arca", "Containers", (int)(running + paused + stopped), "ContainersRunning",
	    running, "ContainersPaused", paused, "ContainersStopped", stopped, "Images",
	    (int)n_images, "Driver", "arca-ext4", "DriverStatus", "Isolation", isolation,
	    "Accelerator", d->accel.reason, "Guest kernel", d->guest.kernel, "Plugins", "Volume",
	    "Network", "bridge", "host", "none", "Authorization", "Log", "json-file", "MemoryLimit",
	    1, "SwapLimit", 0, "CpuCfsPeriod", 0, "CpuCfsQuota", 0, "CPUShares", 0, "CPUSet", 0,
	    "PidsLimit", 0, "OomKillDisable", 0, "IPv4Forwarding", 1, "BridgeNfIptables", 0, "NFd",
	    0, "NGoroutines", 0, "SystemTime", now, "LoggingDriver", "json-file", "CgroupDriver",
	    "none", "CgroupVersion", "2", "NEventsListener", 0, "KernelVersion", u.release,
	    "OperatingSystem", "Arca (Linux host)", "OSVersion", "", "OSType", "linux",
	    "Architecture", u.machine, "IndexServerAddress", "https://index.docker.io/v1/",
	    "RegistryConfig", "InsecureRegistryCIDRs", "127.0.0.0/8", "IndexConfigs", "Mirrors",
	    "NCPU", (int)d->ncpu, "MemTotal", (json_int_t)d->mem_total, "DockerRootDir",
	    d->cfg.root, "HttpProxy", "", "HttpsProxy", "", "NoProxy", "", "Name", host, "Labels",
	    "ExperimentalBuild", 0, "ServerVersion", ENGINE_VERSION, "Runtimes", "arca-vm", "path",
	    "qemu-system-x86_64", "DefaultRuntime", "arca-vm", "Swarm", "NodeID", "", "NodeAddr",
	    "", "LocalNodeState", "inactive", "ControlAvailable", 0, "Nodes", 0, "Managers", 0,
	    "LiveRestoreEnabled", 0, "Isolation", "", "Warnings", warnings);
	/* The rest of dockerd's keys, with what is true of arcad. */
	json_t *unknown_commit = json_pack("{s:s, s:s}", "ID", "", "Expected", "");
	json_t *extra = json_pack(
	    "{s:b, s:b, s:b, s:n, s:s, s:O, s:O, s:O, s:[], s:s, s:[], s:[], s:[], s:n}", "Debug",
	    d->cfg.debug, "KernelMemoryTCP", 0, "BridgeNfIp6tables", 0, "GenericResources",
	    "InitBinary", "arca-init", "ContainerdCommit", unknown_commit, "RuncCommit",
	    unknown_commit, "InitCommit", unknown_commit, "SecurityOptions", "ProductLicense", "",
	    "DefaultAddressPools", "DiscoveredDevices", "CDISpecDirs", "Containerd");
	json_decref(unknown_commit);
	json_object_update_missing(info, extra);
	json_decref(extra);
	/* What the configuration (daemon.json, flags) set, as dockerd shows it. */
	json_t *labels = json_array();
	for (char **l = d->cfg.labels; l && *l; l++)
		json_array_append_new(labels, json_string(*l));
	json_object_set_new(info, "Labels", labels);
	json_object_set_new(info, "LiveRestoreEnabled", json_boolean(d->cfg.live_restore));
	/* What new containers boot (docs/guest-assets.md), and in DriverStatus for the CLI. */
	json_object_set_new(info, "ArcaGuest", daemon_guest_json(&d->guest));
	json_t *status = json_object_get(info, "DriverStatus");
	json_array_append_new(status, json_pack("[s,s]", "Guest initramfs", d->guest.initramfs));
	json_array_append_new(status, json_pack("[s,s]", "Guest source",
						d->guest.dir ? d->guest.dir : d->guest.source));
	json_array_append_new(status, json_pack("[s,s]", "Guest build id", d->guest.build_id));
	if (d->guest.init)
		json_array_append_new(status, json_pack("[s,s]", "Guest init", d->guest.init));
	json_array_append_new(status, json_pack("[s,s]", "Memory merging (KSM)", ksm_state()));
	/* The booted VMs starts claim (docs/vm-pool.md). */
	_cleanup_free_ char *pool = pool_status(d->pool);
	json_array_append_new(status, json_pack("[s,s]", "VM pool", pool));
	if (d->cfg.n_address_pools) {
		json_t *pools = json_array();
		for (size_t i = 0; i < d->cfg.n_address_pools; i++) {
			char base[64];
			ipam_prefix_format(&d->cfg.address_pools[i].base, true, base, sizeof(base));
			json_array_append_new(pools, json_pack("{s:s, s:i}", "Base", base, "Size",
							       (int)d->cfg.address_pools[i].size));
		}
		json_object_set_new(info, "DefaultAddressPools", pools);
	}
	json_object_set_new(info, "LoggingDriver",
			    json_string(d->cfg.log_driver ? d->cfg.log_driver : "json-file"));
	/* registry-mirrors: Docker Hub's, listed under it, as dockerd does. */
	json_t *registry = json_object_get(info, "RegistryConfig");
	json_t *mirrors = json_array();
	for (char **m = d->cfg.registry_mirrors; m && *m; m++)
		json_array_append_new(mirrors, json_string(*m));
	json_object_set_new(registry, "Mirrors", json_deep_copy(mirrors));
	json_object_set_new(json_object_get(registry, "IndexConfigs"), "docker.io",
			    json_pack("{s:s, s:o, s:b, s:b}", "Name", "docker.io", "Mirrors",
				      mirrors, "Secure", 1, "Official", 1));
	/* --insecure-registry / insecure-registries, as `docker info` lists them. */
	json_t *index = json_object_get(registry, "IndexConfigs");
	for (char **h = d->cfg.insecure_registries; h && *h; h++)
		json_object_set_new(index, *h,
				    json_pack("{s:s, s:[], s:b, s:b}", "Name", *h, "Mirrors",
					      "Secure", 0, "Official", 0));
	http_reply_json(ctx->conn, 200, info);
}

struct auth_task {
	struct http_conn *conn;
	char *user, *pass, *server, *token;
	char **insecure; /* a copy: a reload may replace the daemon's */
	struct arca_error *err;
};

static int auth_run(void *arg)
{
	struct auth_task *t = arg;
	struct registry_auth a = { .username = t->user,
				   .password = t->pass,
				   .identity_token = t->token };
	return registry_login(t->server, &a, t->insecure, &t->err);
}

static void auth_task_free(struct auth_task *t)
{
	http_conn_unref(t->conn);
	arca_error_free(t->err);
	free(t->user);
	free(t->pass);
	free(t->server);
	free(t->token);
	strv_free(t->insecure);
	free(t);
}

static void auth_done(void *arg, int result)
{
	struct auth_task *t = arg;
	if (result < 0)
		http_reply_error(t->conn, t->err);
	else
		http_reply_json(
		    t->conn, 200,
		    json_pack("{s:s, s:s}", "Status", "Login Succeeded", "IdentityToken", ""));
	auth_task_free(t);
}

void api_system_auth(struct api_ctx *ctx)
{
	json_t *body = api_body_json(ctx, true);
	if (!body)
		return;
	struct auth_task *t = xnew0(struct auth_task, 1);
	const char *u = json_string_value(json_object_get(body, "username"));
	const char *p = json_string_value(json_object_get(body, "password"));
	const char *s = json_string_value(json_object_get(body, "serveraddress"));
	const char *tok = json_string_value(json_object_get(body, "identitytoken"));
	t->user = u ? xstrdup(u) : NULL;
	t->pass = p ? xstrdup(p) : NULL;
	t->server = xstrdup(s ? s : "");
	t->token = tok && tok[0] ? xstrdup(tok) : NULL;
	t->insecure = strv_copy(ctx->d->cfg.insecure_registries);
	t->conn = http_conn_ref(ctx->conn);
	json_decref(body);
	if (workers_submit(ctx->d->workers, auth_run, auth_done, t) < 0) {
		http_reply_errorf(ctx->conn, 500, "cannot start the login check");
		auth_task_free(t);
	}
}

void api_system_events(struct api_ctx *ctx)
{
	static const char *const known[] = { "config", "container", "daemon", "event",	"image",
					     "label",  "network",   "node",   "plugin", "scope",
					     "secret", "service",   "type",   "volume", NULL };
	json_t *filters = api_filters(ctx, known);
	if (!filters)
		return;
	int64_t now = (int64_t)now_nsec(CLOCK_REALTIME), since = 0, until = 0;
	_cleanup_free_ char *s = http_query_get(ctx->req, "since");
	_cleanup_free_ char *u = http_query_get(ctx->req, "until");
	const char *bad = s && time_parse_docker(s, now, &since) < 0   ? s
			  : u && time_parse_docker(u, now, &until) < 0 ? u
								       : NULL;
	if (bad) {
		http_reply_errorf(ctx->conn, 400, "invalid time value `%s`", bad);
		json_decref(filters);
		return;
	}
	if (since && until && since > until) {
		http_reply_errorf(ctx->conn, 400,
				  "`since` time (%s) cannot be after `until` time (%s)", s, u);
		json_decref(filters);
		return;
	}
	struct stream *st = api_stream_response(ctx->conn, 200, "application/json");
	events_subscribe(ctx->d->events, st, filters, since, until);
	api_stream_begin(st);
	stream_unref(st);
}

void api_system_data_usage(struct api_ctx *ctx)
{
	_cleanup_strv_free_ char **types = http_query_get_all(ctx->req, "type");
	bool all = !types || !types[0];
	bool want_img = all, want_ctr = all, want_vol = all, want_cache = all;
	for (char **t = types; t && *t; t++) {
		if (strcmp(*t, "image") == 0)
			want_img = true;
		else if (strcmp(*t, "container") == 0)
			want_ctr = true;
		else if (strcmp(*t, "volume") == 0)
			want_vol = true;
		else if (strcmp(*t, "build-cache") == 0)
			want_cache = true;
		else {
			http_reply_errorf(ctx->conn, 400, "invalid type: %s", *t);
			return;
		}
	}
	json_t *out = json_object();
	if (want_img) {
		struct image_list_opts o = { .all = false };
		json_t *images = NULL;
		_cleanup_error_ struct arca_error *err = NULL;
		if (api_images_counted(ctx, &o, &images, &err) < 0) {
			json_decref(out);
			api_reply_error(ctx, err);
			return;
		}
		/* What the store holds on disk: blobs and image disks, shared ones once. */
		_cleanup_free_ char *blobs = xasprintf("%s/blobs", ctx->d->cfg.root);
		_cleanup_free_ char *disks = xasprintf("%s/disks", ctx->d->cfg.root);
		json_object_set_new(
		    out, "LayersSize",
		    json_integer(disk_usage_at(AT_FDCWD, blobs) + disk_usage_at(AT_FDCWD, disks)));
		json_object_set_new(out, "Images", images);
	}
	if (want_ctr) {
		json_t *list = json_array();
		size_t it = 0;
		void *v;
		while (hashmap_iter(ctx->d->containers, &it, NULL, &v))
			json_array_append_new(list, container_summary(v, true));
		json_object_set_new(out, "Containers", list);
	}
	if (want_vol) {
		json_t *list = json_array();
		size_t it = 0;
		void *v;
		while (hashmap_iter(ctx->d->volumes, &it, NULL, &v))
			json_array_append_new(list, volume_json(ctx->d, v, true));
		json_object_set_new(out, "Volumes", list);
	}
	if (want_cache)
		/* dockerd lists BuildKit's records here; a classic build's cache is images. */
		json_object_set_new(out, "BuildCache", json_array());
	http_reply_json(ctx->conn, 200, out);
}
