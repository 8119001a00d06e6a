/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container: its Docker configuration, its state machine, and at run time
 * its VM and its main process.
 *
 * State machine (Docker's): created -> running <-> paused; running -> exited
 * (the main process ended); exited -> running (start again); any -> removing.
 * Every change is written to SQLite before it is reported.
 *
 * Files: <root>/containers/<id>/ holds rw.ext4 (the writable layer, sparse),
 * <id>-json.log (json-file logs) and the hosts/resolv.conf/hostname sources.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "time-util.h"
#include "names.h"

struct daemon;
struct container;
struct db;
struct vm;
struct guest_proc;
struct guest_batch;
struct event_source;
struct attach;
struct log_writer;
struct helper;
struct health;
struct maint;
struct sandbox;
struct vm_share;

enum container_state {
	CONTAINER_CREATED,
	CONTAINER_RUNNING,
	CONTAINER_PAUSED,
	CONTAINER_RESTARTING,
	CONTAINER_EXITED,
	CONTAINER_REMOVING,
	CONTAINER_DEAD,
	_CONTAINER_STATE_MAX,
};

enum wait_condition {
	WAIT_NOT_RUNNING,
	WAIT_NEXT_EXIT,
	WAIT_REMOVED,
};

typedef void (*container_done_fn)(struct container *c, const struct arca_error *err,
				  void *userdata);
typedef void (*container_wait_fn)(int status, const char *error, void *userdata);

struct container_waiter {
	struct container_waiter *next;
	enum wait_condition cond;
	container_wait_fn cb;
	void *userdata;
};

struct container_op {
	struct container_op *next;
	container_done_fn cb;
	void *userdata;
};

struct container {
	struct daemon *d;
	char id[ID_HEX_LEN + 1];
	char *name; /* without the leading '/' */
	char *created;
	char *image;	/* as given (Config.Image) */
	char *image_id; /* sha256:... */
	json_t *config;
	json_t *host_config;
	json_t *networks; /* network name -> endpoint (NetworkSettings.Networks) */

	enum container_state state;
	int exit_code;
	char *error;
	char *started_at;
	char *finished_at;
	int restart_count; /* restarts by policy since the last manual start */
	bool manual_stop;  /* the last exit was asked for (stop, kill): Docker's
			      HasBeenManuallyStopped, kept for unless-stopped */
	uint32_t pid;	   /* guest PID of the main process */
	/* What a restarted daemon needs to adopt a running VM (live restore). */
	int vm_pid;	     /* the VMM's host PID, 0 when none runs */
	char *vm_id;	     /* a pooled VM's id (pool.h); NULL: the VM is named after c->id */
	unsigned pool_steps; /* a pooled start: hot-plugs and batches not answered yet */
	/* Its writable disk is as made (no VM has had it since create, in this daemon's
	 * life): a pooled start may swap it for the pooled VM's, mounted ahead. */
	bool rw_fresh;
	char *pool_error;     /* ... and the first that failed */
	uint32_t vsock_cid;   /* its vsock CID, when vsock is used */
	uint32_t proc_ids[4]; /* the main process: proc, stdin, stdout, stderr */
	bool restoring;	      /* loaded running: its VM is being adopted */
	json_t *guest;	      /* what its VM booted last (guest.h's JSON), NULL: never ran */

	char *dir;
	char *rw_disk;
	char *log_path;

	/* run time */
	bool starting;
	bool stopping; /* a stop/kill/restart asked for the exit */
	bool removing_after_exit;
	bool restart_after_exit;
	bool start_after_maint;	 /* a start waits for the maintenance VM to end */
	bool remove_after_maint; /* ... or a remove */
	bool remove_volumes;	 /* the remove takes its anonymous volumes (rm -v) */
	bool stop_event;	 /* a stop asked for the exit: "stop" follows "die" */
	bool restart_event;	 /* a restart is under way: "restart" follows "start" */
	bool stop_when_idle;	 /* exited: the VM stops once its helpers are done */
	struct vm *vm;
	struct guest_proc *proc;
	struct log_writer *log;
	struct attach *attaches;
	struct event_source *stop_timer;
	struct event_source *restart_timer; /* the back-off of a policy restart */
	usec_t restart_delay;		    /* the last back-off */
	usec_t run_started;		    /* CLOCK_MONOTONIC of the last start */
	int stop_signal_sent;
	struct container_op *start_ops; /* replies waiting for the start */
	struct container_op *stop_ops;	/* replies waiting for the exit */
	struct container_waiter *waiters;
	unsigned tty_rows, tty_cols;
	bool stdin_closed;
	unsigned execs_running;
	struct helper *helpers;	 /* container-helper.h: top, stats, archives */
	struct health *health;	 /* container-health.h, once a check ran */
	struct maint *maint;	 /* container-maint.h: a VM for cp/diff/export while stopped */
	json_t *mounts;		 /* container-mounts.h: Docker's MountPoints, kept with the state */
	struct vm_share *shares; /* what a start shares with the VM, from mounts */
	struct sandbox *sandbox; /* network/sandbox.h: its network while it runs */
	bool build;		 /* a build VM's transient record (network/build-net.h) */
};

/*
 * What the parts of container/ tell the lifecycle above them, without
 * calling it by name: lifecycle.c fills this table and daemon_new hangs it
 * on the daemon (d->container_hooks).
 */
struct container_hooks {
	void (*helpers_idle)(struct container *c);     /* its last helper is done */
	void (*maintenance_over)(struct container *c); /* its maintenance VM is gone (may free c) */
};

extern const struct db_migration container_migrations[];
extern const size_t container_n_migrations;

const char *container_state_name(enum container_state s);

/* The guest cgroup of the container's processes (main and execs, not helpers):
 * `docker update` writes its memory.max and cpu.max while the VM runs. */
#define CONTAINER_CGROUP "container"
/* A container's writable disk: sparse, only what the container writes is stored. */
#define CONTAINER_RW_DISK_SIZE (64ULL << 30)

/* How long a VM's guest gets to sync and unmount after SHUTDOWN before QMP quit. */
#define VM_STOP_GRACE	   (2 * USEC_PER_SEC)
#define VM_STOP_GRACE_FAIL USEC_PER_SEC /* after a failed start: nothing to keep */

/* HostConfig.GroupAdd, for every process started in the container. */
char **container_group_add(const struct container *c);
/* Host disk bytes the container holds (writable disk and logs). */
int64_t container_disk_usage(const struct container *c);
/*
 * Validates a create request and merges the image's config into it, as
 * dockerd does (pure: no daemon state; fuzzed). New references on success;
 * what is accepted but not enforced is appended to warnings (a JSON array,
 * required).
 */
int container_config_build(json_t *config, json_t *host_config, json_t *image_config,
			   json_t **ret_config, json_t **ret_host_config, json_t *warnings,
			   struct arca_error **err);
/* A create request's parts, borrowed. */
struct container_create_req {
	const char *name;
	json_t *config;
	json_t *host_config;
	json_t *networking; /* NetworkingConfig, may be NULL */
	int api_minor;
};
int container_create(struct daemon *d, const struct container_create_req *req,
		     struct container **ret, json_t **ret_warnings, struct arca_error **err);
struct network;
/* An endpoint on n in the container's record (the caller saves it). */
int container_network_attach(struct container *c, struct network *n, json_t *endpoint_config,
			     int api_minor, struct arca_error **err);
/* Every network of the container still exists (checked before a start). */
int container_networks_check(struct container *c, struct arca_error **err);
/* Loads every container from the database (daemon start). */
int container_load_all(struct daemon *d, struct arca_error **err);
int container_save(struct container *c, struct arca_error **err);
/* container_save for a transition already made: a failed write is logged, never dropped. */
int container_persist(struct container *c);
struct container *container_free(struct container *c);

json_t *container_inspect(struct container *c);
json_t *container_summary(struct container *c, bool size);
int container_rename(struct container *c, const char *new_name, struct arca_error **err);

/* ContainerUpdate: RestartPolicy, and Memory/NanoCpus/CpuCount while stopped. */
/* Answered with the Warnings (NULL on error); may complete after a guest round trip. */
typedef void (*container_update_fn)(struct container *c, const struct arca_error *err,
				    json_t *warnings, void *userdata);
void container_update(struct container *c, json_t *body, container_update_fn cb, void *userdata);
bool container_is_running(const struct container *c);
struct vm_config;
/* The VM a start boots: its resources, the image disk and the writable disk. */
void container_vm_config(struct container *c, const char *image_disk, struct vm_config *cfg);
/* The id of its VM, and of the VM's run directory: c->vm_id, else c->id. */
const char *container_vm_id(const struct container *c);
/*
 * A VM for a container with a memory limit has this much more than the limit,
 * for the guest's kernel and arca-init; the limit itself is the memory.max of
 * the container's cgroup in the guest, as dockerd's is on the host.
 */
#define GUEST_RESERVE_MB 64
/* Its memory limit: HostConfig.Memory, else its VM's size (the daemon's default). */
uint64_t container_memory_bytes(struct container *c);
/* The container's limits in force inside its VM (memory.max, cpu.max), appended to b. */
void container_limits_add(struct guest_batch *b, json_int_t memory, json_int_t nano_cpus);
/* The environment a process in the container gets (config Env plus Docker's defaults). */
char **container_runtime_env(struct container *c, json_t *extra_env);
/* container/runtime.c: "SIGTERM", "TERM", "15"; -1 when invalid, dflt when empty. */
int parse_signal(const char *s, int dflt);
