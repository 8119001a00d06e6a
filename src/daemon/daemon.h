/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct daemon: everything arcad owns, hung off one object (rule S1): the
 * event loop, the HTTP server, the database, the image store handle used on
 * the loop, the container and exec tables, and the worker pool.
 *
 * Threading: one event-loop thread does all the work. Worker threads run
 * only blocking image-store calls, each with its own store handle, and hand
 * results back through worker.c's completion queue.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel.h"
#include "error.h"
#include "guest.h"
#include "time-util.h"

struct event;
struct http_server;
struct image_store;
struct db;
struct hashmap;
struct container;
struct workers;
struct events;
struct container_hooks;
struct nl_sock;
struct dns;

struct ipam_pool;
struct pool;

/* What SIGHUP applies again (settings.h: SETTINGS_RELOADABLE), the daemon's to keep. */
struct daemon_reload {
	char **insecure_registries;
	char **registry_mirrors;
	unsigned max_downloads;
	char **labels;
	int log_level; /* enum log_level, -D counted */
	bool debug;
	bool live_restore;
};
/* Reads the configuration again (main.c's): 0 and ret filled, or an error that keeps it. */
typedef int (*daemon_reload_fn)(void *userdata, struct daemon_reload *ret, struct arca_error **err);

struct daemon_config {
	const char *socket_path;  /* the API socket */
	const char *root;	  /* data root: images, containers, database */
	const char *run_dir;	  /* runtime files: VM run directories */
	const char *kernel;	  /* NULL: find it */
	const char *initramfs;	  /* NULL: find it */
	const char *guest;	  /* a guest asset set (`guest`), NULL: look one up */
	const char *socket_group; /* group owning the socket (0660), NULL: root's */
	unsigned default_memory_mb;
	/* The registries': replaced by a reload, so copied by whoever keeps them. */
	char **insecure_registries;
	char **registry_mirrors; /* Docker Hub's mirrors, tried first */
	unsigned max_downloads;	 /* layers a pull downloads at once (0: 3) */
	/* What a container gets without its own (--cpus, --dns, --log-driver ...). */
	unsigned default_cpus;
	char **dns, **dns_search, **dns_opts;
	const char *log_driver;		       /* NULL: json-file */
	char **log_opts;		       /* key=value */
	char **labels;			       /* docker info's Labels */
	const struct ipam_pool *address_pools; /* NULL: Docker's default local pools */
	size_t n_address_pools;
	bool debug;
	bool live_restore; /* a stopping daemon leaves running containers running */
	/* The pool of booted VMs (pool.h): at most pool_size, within pool_budget_mb. */
	unsigned pool_size;
	unsigned pool_budget_mb;
	int listen_fd; /* the API socket systemd passed (socket_path is its path); 0: none */
	daemon_reload_fn reload; /* SIGHUP; NULL: nothing to read again */
	void *reload_data;
};

struct daemon {
	struct event *event;
	struct http_server *http;
	struct daemon_config cfg;
	struct daemon_guest guest; /* what VMs boot (guest.h) */
	char *containers_dir;
	char *trash_dir; /* trash.h */
	struct accel_choice accel;
	bool use_vsock;
	bool stopping; /* set (atomically) when the daemon shuts down: builds end early */
	struct image_store *images; /* the loop's handle */
	struct db *db;		    /* the loop's connection (shared with images) */
	struct workers *workers;
	struct hashmap *containers; /* id -> struct container */
	struct hashmap *execs;	    /* id -> struct exec_session */
	struct hashmap *networks;   /* id -> struct network */
	struct hashmap *volumes;    /* name -> struct volume */
	struct hashmap *build_vms;  /* VM id -> a build VM's network record (build-net.h) */
	struct events *events;
	const struct container_hooks *container_hooks; /* the lifecycle's (lifecycle.h) */
	/* Networking on the host (network/): rtnetlink, the firewall as last applied. */
	struct nl_sock *nl;
	struct pool *pool;	    /* booted VMs that starts claim (pool.h) */
	struct reaper *reaper;	    /* ending VMs no container owns (reaper.h) */
	struct spare_disks *spares; /* writable disks made ahead (spare-disk.h) */
	char *firewall;
	char *firewall_error;
	uint16_t port_cursor; /* the last random host port handed out */
	bool vhost_net;	      /* /dev/vhost-net is there */
	struct dns *dns;      /* the embedded resolver's forwarder (network/dns.h) */
	json_t *log_default;  /* LogConfig for containers without one (log-driver, log-opts) */
	usec_t started;
	uint64_t ncpu;
	uint64_t mem_total;
};

int daemon_new(const struct daemon_config *cfg, struct daemon **ret, struct arca_error **err);
struct daemon *daemon_free(struct daemon *d);
int daemon_run(struct daemon *d);

/* Finds a container by full ID, unique ID prefix, or name (with or without "/"). */
struct container *daemon_find_container(struct daemon *d, const char *ref, struct arca_error **err);
