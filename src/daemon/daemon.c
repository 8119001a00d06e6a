/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct daemon: start-up (directories, database, image store, guest assets,
 * accelerator, containers, API socket), the run loop with its signals, and
 * shutdown. Containers' VMs are children of the daemon and stop with it
 * (live restore comes with the persistence work).
 */
#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "api/api.h"
#include "cleanup.h"
#include "container.h"
#include "container-io.h"
#include "lifecycle.h"
#include "log-config.h"
#include "db.h"
#include "event.h"
#include "dns.h"
#include "events.h"
#include "firewall.h"
#include "host-link.h"
#include "sandbox.h"
#include "reaper.h"
#include "spare-disk.h"
#include "systemd.h"
#include "trash.h"
#include "tap.h"
#include "exec-session.h"
#include "fd-util.h"
#include "hashmap.h"
#include "ipam.h"
#include "network.h"
#include "pool.h"
#include "volume.h"
#include "http-server.h"
#include "image.h"
#include "log.h"
#include "strv.h"
#include "vm.h"
#include "vsock.h"
#include "worker.h"

#define RESTORE_TIMEOUT (20 * USEC_PER_SEC)
/* Writable disks made ahead (spare-disk.h): two creates in a row take one each. */
#define SPARE_DISKS 2

static const struct http_handler handler = {
	.wants_stream = api_wants_stream,
	.dispatch = api_dispatch,
};

static int listen_socket(const struct daemon_config *cfg, struct arca_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(cfg->socket_path) >= sizeof(sa.sun_path))
		return arca_error_set(err, ENAMETOOLONG, ARCA_ERR_INVALID,
				      "socket path `%s` is too long", cfg->socket_path);
	strcpy(sa.sun_path, cfg->socket_path);
	_cleanup_free_ char *dir = xstrdup(cfg->socket_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		/* Where the API lives: nobody else may own it (/tmp/arca-UID taken first). */
		int r = mkdir_trusted(dir, 0755); /* a group may be given the socket */
		if (r < 0)
			return arca_error_set(err, -r, ARCA_ERR_INVALID,
					      "the socket's directory `%s` is not safe (%s): it "
					      "must be ours or root's, and writable by no one else",
					      dir, strerror(-r));
	}
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return arca_error_errno(err, errno, "socket");
	/* A socket left by a dead daemon is replaced; a live one is not. */
	_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return arca_error_set(err, EADDRINUSE, ARCA_ERR_CONFLICT,
				      "another daemon is listening on `%s`", cfg->socket_path);
	(void)unlink(cfg->socket_path);
	mode_t old = umask(0117);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 128) < 0)
		return arca_error_errno(err, errno, "listen on `%s`", cfg->socket_path);
	if (cfg->socket_group && cfg->socket_group[0]) {
		struct group *g = getgrnam(cfg->socket_group);
		if (!g || chown(cfg->socket_path, 0, g->gr_gid) < 0)
			log_warn("cannot give `%s` to group `%s`, ignoring", cfg->socket_path,
				 cfg->socket_group);
	}
	(void)chmod(cfg->socket_path, 0660);
	return TAKE_FD(fd);
}

static void host_facts(struct daemon *d)
{
	d->ncpu = (uint64_t)sysconf(_SC_NPROCESSORS_ONLN);
	d->mem_total = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Ends the VMs a killed daemon left in dir (its QEMU told to quit), prefix "" for all. */
static void clear_vms(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (vm_clear_stale(dir, de->d_name, 3 * USEC_PER_SEC) < 0)
			log_warn("a VM left in `%s/%s` does not quit", dir, de->d_name);
	}
	if (d)
		closedir(d);
}

/*
 * A build ends with the daemon that ran it, and so does a maintenance VM: what
 * a killed daemon left of them (build directories, VMs and their run
 * directories) goes. Their guests also end once their host has gone
 * (arca.ephemeral); this is for a guest that would not.
 */
static void clear_builds(struct daemon *d)
{
	_cleanup_free_ char *builds = xasprintf("%s/build", d->cfg.root);
	(void)rm_rf(builds);
	clear_vms(d->cfg.run_dir, "build-");
	_cleanup_free_ char *maint = xasprintf("%s/maint", d->cfg.run_dir);
	clear_vms(maint, "");
}

int daemon_new(const struct daemon_config *cfg, struct daemon **ret, struct arca_error **err)
{
	struct daemon *d = xnew0(struct daemon, 1);
	_cleanup_free_ char *dbpath = xasprintf("%s/arca.db", cfg->root);
	int r;

	d->cfg = *cfg;
	d->cfg.root = xstrdup(cfg->root);
	d->cfg.run_dir = xstrdup(cfg->run_dir);
	d->cfg.socket_path = xstrdup(cfg->socket_path);
	d->cfg.insecure_registries = strv_copy(cfg->insecure_registries);
	d->cfg.labels = strv_copy(cfg->labels);
	d->cfg.registry_mirrors = strv_copy(cfg->registry_mirrors);
	d->cfg.dns = strv_copy(cfg->dns);
	d->cfg.dns_search = strv_copy(cfg->dns_search);
	d->cfg.dns_opts = strv_copy(cfg->dns_opts);
	d->cfg.log_driver = cfg->log_driver ? xstrdup(cfg->log_driver) : NULL;
	d->cfg.log_opts = strv_copy(cfg->log_opts);
	d->log_default = log_config_default(cfg->log_driver, cfg->log_opts);
	if (!d->cfg.default_cpus)
		d->cfg.default_cpus = 1;
	if (cfg->n_address_pools) {
		struct ipam_pool *pools = xnew0(struct ipam_pool, cfg->n_address_pools);
		memcpy(pools, cfg->address_pools, cfg->n_address_pools * sizeof(*pools));
		d->cfg.address_pools = pools;
	}
	if (!d->cfg.default_memory_mb)
		d->cfg.default_memory_mb = 1024;
	d->containers = hashmap_new();
	d->execs = hashmap_new();
	d->networks = hashmap_new();
	d->volumes = hashmap_new();
	d->build_vms = hashmap_new();
	d->started = now_usec(CLOCK_REALTIME);
	d->containers_dir = xasprintf("%s/containers", cfg->root);
	d->trash_dir = trash_path(cfg->root);
	host_facts(d);

	r = event_new(&d->event);
	if (r < 0) {
		r = arca_error_errno(err, r, "event loop");
		goto fail;
	}
	d->events = events_new(d->event);
	d->reaper = reaper_new();
	d->container_hooks = &container_lifecycle_hooks;
	r = mkdir_p(d->containers_dir, 0700);
	if (r >= 0)
		r = trash_init(d->trash_dir);
	if (r >= 0)
		r = mkdir_p(cfg->run_dir, 0700);
	if (r < 0) {
		r = arca_error_errno(err, r, "create `%s`", cfg->root);
		goto fail;
	}
	clear_builds(d);
	r = daemon_guest_select(cfg->guest, cfg->kernel, cfg->initramfs, cfg->root, &d->guest, err);
	if (r >= 0)
		log_info("guest: %s%s%s, build %.19s", d->guest.source, d->guest.dir ? " set " : "",
			 d->guest.dir ? d->guest.dir : "", d->guest.build_id);
	if (r >= 0)
		r = accel_detect(VM_ACCEL_AUTO, NULL, NULL, NULL, &d->accel);
	if (r < 0)
		goto fail;
	d->use_vsock = vsock_available();
	r = image_store_open(cfg->root, &d->images, err);
	if (r < 0)
		goto fail;
	/* One database, each component's migrations in turn. */
	const struct {
		const struct db_migration *list;
		size_t n;
	} parts[] = {
		{ container_migrations, container_n_migrations },
		{ network_migrations, network_n_migrations },
		{ volume_migrations, volume_n_migrations },
	};
	size_t n_migrations = 0;
	for (size_t i = 0; i < ELEMENTSOF(parts); i++)
		n_migrations += parts[i].n;
	struct db_migration *migrations = xnew0(struct db_migration, n_migrations);
	for (size_t i = 0, at = 0; i < ELEMENTSOF(parts); at += parts[i].n, i++)
		memcpy(migrations + at, parts[i].list, parts[i].n * sizeof(struct db_migration));
	r = db_open(dbpath, migrations, n_migrations, &d->db, err);
	free(migrations);
	if (r >= 0) {
		/* Networking: rtnetlink in the daemon's namespace, the resolver's forwarder. */
		d->nl = host_link_open(err);
		r = d->nl ? 0 : -EIO;
		d->dns = dns_new(d->event);
		d->vhost_net = tap_vhost_available();
	}
	if (r >= 0)
		r = network_load_all(d, err);
	if (r >= 0)
		r = volume_load_all(d, err);
	if (r >= 0)
		r = container_load_all(d, err);
	if (r >= 0)
		r = workers_new(d->event, &d->workers);
	if (r >= 0) {
		d->spares = spare_disks_new(d, CONTAINER_RW_DISK_SIZE, SPARE_DISKS, err);
		r = d->spares ? 0 : -EIO;
	}
	if (r < 0)
		goto fail;
	/* Running VMs are adopted before the API answers, as dockerd restores first. */
	container_restore_all(d);
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + RESTORE_TIMEOUT;
	while (container_restoring(d) && now_usec(CLOCK_MONOTONIC) < deadline)
		(void)event_run(d->event, 100 * USEC_PER_MSEC);
	sandbox_remove_orphans(d);
	pool_clear_stale(d); /* after the adoptions: a pooled VM a container claimed is kept */
	firewall_update(d);  /* the networks' and the adopted containers' ports */
	/* Socket-activated, the socket is systemd's: used as passed, never unlinked. */
	int lfd = cfg->listen_fd > 0 ? cfg->listen_fd : listen_socket(cfg, err);
	if (lfd < 0) {
		r = lfd;
		goto fail;
	}
	r = http_server_new(d->event, lfd, &handler, d, &d->http);
	if (r < 0) {
		close(lfd);
		r = arca_error_errno(err, r, "HTTP server");
		goto fail;
	}
	container_restart_policies_at_boot(d);
	d->pool = pool_new(d, cfg->pool_size, cfg->pool_budget_mb);
	*ret = d;
	return 0;
fail:
	daemon_free(d);
	return r;
}

struct daemon *daemon_free(struct daemon *d)
{
	if (!d)
		return NULL;
	__atomic_store_n(&d->stopping, true, __ATOMIC_RELAXED); /* running builds end */
	d->events = events_free(d->events); /* ends the streams while their connections live */
	d->http = http_server_free(d->http);
	d->pool = pool_free(d->pool); /* pooled VMs are never left running */
	d->reaper = reaper_free(d->reaper);
	if (d->cfg.socket_path && d->cfg.listen_fd <= 0)
		(void)unlink(d->cfg.socket_path);
	/*
	 * Running containers stop with the daemon: record that, then end their VMs.
	 * With live restore, those that run steadily are left running instead.
	 */
	size_t it = 0;
	void *v;
	while (d->containers && hashmap_iter(d->containers, &it, NULL, &v)) {
		struct container *c = v;
		if (c->vm && !(d->cfg.live_restore && container_leave_running(c))) {
			if (container_is_running(c))
				container_set_exited(c, EXIT_STATUS_SIGTERM, NULL);
			container_io_ended(c); /* what the guest sent reaches the log */
			c->vm = vm_free(c->vm);
			sandbox_release(c);
			(void)container_persist(c);
		}
		log_writer_close(c);
	}
	it = 0;
	while (d->execs && hashmap_iter(d->execs, &it, NULL, &v))
		exec_free(v);
	it = 0;
	while (d->containers && hashmap_iter(d->containers, &it, NULL, &v)) {
		struct container *c = v;
		c->proc = guest_proc_free(c->proc);
		container_free(c);
	}
	hashmap_free(d->containers);
	hashmap_free(d->execs);
	it = 0;
	while (d->build_vms && hashmap_iter(d->build_vms, &it, NULL, &v)) {
		struct container *c = v; /* a build that could not end: its network goes */
		sandbox_release(c);
		container_free(c);
	}
	hashmap_free(d->build_vms);
	it = 0;
	while (d->networks && hashmap_iter(d->networks, &it, NULL, &v))
		network_free(v);
	hashmap_free(d->networks);
	it = 0;
	while (d->volumes && hashmap_iter(d->volumes, &it, NULL, &v))
		volume_free(v);
	hashmap_free(d->volumes);
	d->workers = workers_free(d->workers);
	d->spares = spare_disks_free(d->spares); /* its job, if any, ended with the workers */
	d->dns = dns_free(d->dns);
	d->nl = host_link_close(d->nl);
	free(d->firewall);
	free(d->firewall_error);
	d->db = db_close(d->db);
	d->images = image_store_close(d->images);
	d->event = event_free(d->event);
	daemon_guest_done(&d->guest);
	free(d->containers_dir);
	free(d->trash_dir);
	free((char *)d->cfg.root);
	free((char *)d->cfg.run_dir);
	free((char *)d->cfg.socket_path);
	strv_free(d->cfg.insecure_registries);
	strv_free(d->cfg.labels);
	strv_free(d->cfg.registry_mirrors);
	strv_free(d->cfg.dns);
	strv_free(d->cfg.dns_search);
	strv_free(d->cfg.dns_opts);
	free((char *)d->cfg.log_driver);
	strv_free(d->cfg.log_opts);
	json_decref(d->log_default);
	free((struct ipam_pool *)d->cfg.address_pools);
	free(d);
	return NULL;
}

static int on_signal(struct event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;
	(void)s;
	log_info("signal %u: shutting down", si->ssi_signo);
	systemd_notify("STOPPING=1");
	event_exit(d->event, 0);
	return 0;
}

/* A list as Go's %v shows it, as dockerd's reload event does: "[a b]". */
static char *go_list(char **l)
{
	char *s = xstrdup("[");
	for (size_t i = 0; l && l[i]; i++)
		strappendf(&s, "%s%s", i ? " " : "", l[i]);
	strappendf(&s, "]");
	return s;
}

/* SIGHUP: the configuration file again; what it may change applies at once. */
static int on_reload(struct event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;
	(void)s;
	(void)si;
	if (!d->cfg.reload)
		return 0;
	systemd_notify("RELOADING=1");
	struct daemon_reload rl = { 0 };
	_cleanup_error_ struct arca_error *err = NULL;
	if (d->cfg.reload(d->cfg.reload_data, &rl, &err) < 0) {
		log_error("reload: %s; the configuration stays as it was", err->msg);
		systemd_notify("READY=1");
		return 0;
	}
	strv_free(d->cfg.insecure_registries);
	d->cfg.insecure_registries = rl.insecure_registries;
	strv_free(d->cfg.registry_mirrors);
	d->cfg.registry_mirrors = rl.registry_mirrors;
	d->cfg.max_downloads = rl.max_downloads;
	strv_free(d->cfg.labels);
	d->cfg.labels = rl.labels;
	d->cfg.debug = rl.debug;
	d->cfg.live_restore = rl.live_restore;
	log_set_level((enum log_level)rl.log_level);
	_cleanup_free_ char *insecure = go_list(d->cfg.insecure_registries);
	_cleanup_free_ char *labels = go_list(d->cfg.labels);
	_cleanup_free_ char *mirrors = go_list(d->cfg.registry_mirrors);
	char downloads[16];
	snprintf(downloads, sizeof(downloads), "%u",
		 d->cfg.max_downloads ? d->cfg.max_downloads : 3);
	char host[256] = "";
	(void)gethostname(host, sizeof(host) - 1);
	events_emit(d->events, "daemon", "reload", "arca",
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "debug",
			      d->cfg.debug ? "true" : "false", "insecure-registries", insecure,
			      "registry-mirrors", mirrors, "max-concurrent-downloads", downloads,
			      "labels", labels, "live-restore",
			      d->cfg.live_restore ? "true" : "false", "name", host));
	log_info("reloaded the configuration: insecure registries %s, mirrors %s, downloads %s, "
		 "labels %s, live restore %s, debug %s",
		 insecure, mirrors, downloads, labels, d->cfg.live_restore ? "on" : "off",
		 d->cfg.debug ? "on" : "off");
	systemd_notify("READY=1");
	return 0;
}

int daemon_run(struct daemon *d)
{
	struct event_source *sigs[4] = { 0 };
	int nums[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP };
	(void)signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < ELEMENTSOF(nums); i++)
		if (event_add_signal(d->event, &sigs[i], nums[i],
				     nums[i] == SIGHUP ? on_reload : on_signal, d) < 0)
			return -EIO;
	log_info("API listening on unix://%s%s (%s)", d->cfg.socket_path,
		 d->cfg.listen_fd > 0 ? ", passed by systemd" : "", d->accel.reason);
	/* Containers restored, the socket serving: ready (Type=notify). */
	systemd_notify("READY=1\nSTATUS=serving the Docker API");
	int r = event_loop(d->event);
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigs[i] = event_source_free(sigs[i]);
	return r;
}

struct container *daemon_find_container(struct daemon *d, const char *ref, struct arca_error **err)
{
	if (!ref || !ref[0]) {
		arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "No such container: ");
		return NULL;
	}
	struct container *c = hashmap_get(d->containers, ref);
	if (c)
		return c;
	const char *name = ref[0] == '/' ? ref + 1 : ref;
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->containers, &it, NULL, &v))
		if (strcmp(((struct container *)v)->name, name) == 0)
			return v;
	struct container *found = NULL;
	size_t n = strlen(ref), matches = 0;
	it = 0;
	while (hashmap_iter(d->containers, &it, NULL, &v))
		if (strncmp(((struct container *)v)->id, ref, n) == 0) {
			found = v;
			matches++;
		}
	if (matches == 1)
		return found;
	if (matches > 1)
		arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
			       "multiple IDs found with provided prefix: %s", ref);
	else
		arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND, "No such container: %s", ref);
	return NULL;
}
