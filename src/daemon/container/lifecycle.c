/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container lifecycle on its VM: start (boot, root filesystem, /etc
 * files, tmpfs mounts, the main process), exit, stop (signal, timeout,
 * SIGKILL, then the VM), kill, restart, pause (the whole VM), wait, remove.
 *
 * All of it is asynchronous on the daemon's loop; callers get a callback
 * with NULL or the error to report. The VM lives as long as the main
 * process: when it exits, the exit is recorded at once and the VM is shut
 * down, after the helpers still reading its disk (commit, cp, export) are
 * done. Only this file writes a container's state (container_set_exited is
 * the one exit transition); the parts below reach it through
 * container_lifecycle_hooks.
 */
#include "lifecycle.h"
#include "container-io.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-health.h"
#include "container-helper.h"
#include "container-maint.h"
#include "container-mounts.h"
#include "pool.h"
#include "reaper.h"
#include "sandbox.h"
#include "volume.h"
#include "daemon.h"
#include "event.h"
#include "events.h"
#include "exec-session.h"
#include "fd-util.h"
#include "create-options.h"
#include "guest-client.h"
#include "guest-setup.h"
#include "hashmap.h"
#include "image.h"
#include "log.h"
#include "network.h"
#include "parse-util.h"
#include "restart-policy.h"
#include "strv.h"
#include "trash.h"
#include "vm.h"
#include "vsock.h"

#define DEFAULT_STOP_TIMEOUT 10
#define KILL_GRACE_USEC	     (3 * USEC_PER_SEC)

void container_set_exited(struct container *c, int exit_code, const char *error)
{
	c->state = CONTAINER_EXITED;
	c->exit_code = exit_code;
	c->pid = 0;
	c->vm_pid = 0;
	c->restoring = false;
	if (error) {
		free(c->error);
		c->error = xstrdup(error);
	}
	free(c->finished_at);
	c->finished_at = time_now_rfc3339();
	container_health_stop(c);
	(void)container_persist(c);
}

/* The network events dockerd sends as a container joins or leaves its networks. */
static void emit_network_events(struct container *c, const char *action)
{
	const char *name;
	json_t *ep;
	json_object_foreach(c->networks, name, ep)
	{
		const char *id = json_string_value(json_object_get(ep, "NetworkID"));
		struct network *n = id ? hashmap_get(c->d->networks, id) : NULL;
		events_emit(c->d->events, "network", action, id,
			    json_pack("{s:s, s:s, s:s}", "container", c->id, "name", name, "type",
				      n && n->driver ? n->driver : "bridge"));
	}
}

/* The main process ended while running: "die", then the networks are left. */
static void emit_die(struct container *c)
{
	char code[16];
	snprintf(code, sizeof(code), "%d", c->exit_code);
	events_container(c->d->events, c, "die", json_pack("{s:s}", "exitCode", code));
	emit_network_events(c, "disconnect");
	container_mounts_emit(c, "unmount");
}

static void ops_reply(struct container_op **list, struct container *c, const struct arca_error *err)
{
	struct container_op *ops = *list;
	*list = NULL;
	while (ops) {
		struct container_op *o = ops;
		ops = o->next;
		o->cb(c, err, o->userdata);
		free(o);
	}
}

static void ops_add(struct container_op **list, container_done_fn cb, void *userdata)
{
	if (!cb)
		return;
	struct container_op *o = xnew0(struct container_op, 1);
	o->cb = cb;
	o->userdata = userdata;
	o->next = *list;
	*list = o;
}

static void reply_now(struct container *c, container_done_fn cb, void *userdata, int code,
		      enum arca_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void reply_now(struct container *c, container_done_fn cb, void *userdata, int code,
		      enum arca_error_kind kind, const char *fmt, ...)
{
	struct arca_error *err = NULL;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		arca_error_setv(&err, code, kind, fmt, ap);
		va_end(ap);
	}
	if (cb)
		cb(c, err, userdata);
	arca_error_free(err);
}

static char **command_of(struct container *c)
{
	char **argv = strv_copy(NULL);
	const char *keys[] = { "Entrypoint", "Cmd" };
	for (size_t k = 0; k < 2; k++) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(c->config, keys[k]), i,
				   v) if (json_string_value(v)) argv =
		    strv_append(argv, json_string_value(v));
	}
	return argv;
}

static void notify_waiters(struct container *c, bool removed)
{
	struct container_waiter **pw = &c->waiters;
	while (*pw) {
		struct container_waiter *w = *pw;
		bool fire = removed || w->cond != WAIT_REMOVED;
		if (!fire) {
			pw = &w->next;
			continue;
		}
		*pw = w->next;
		w->cb(c->exit_code, c->error, w->userdata);
		free(w);
	}
}

static void finish_remove(struct container *c);
static void start_vm(struct container *c);

static void on_policy_started(struct container *c, const struct arca_error *err, void *userdata)
{
	(void)userdata;
	if (err && c->state == CONTAINER_RESTARTING) {
		c->state = CONTAINER_EXITED;
		(void)container_persist(c);
	}
}

static int on_restart_timer(struct event_source *s, usec_t now, void *userdata)
{
	struct container *c = userdata;
	(void)now;
	(void)s;
	c->restart_timer = event_source_free(c->restart_timer);
	c->restart_count++;
	(void)container_persist(c);
	ops_add(&c->start_ops, on_policy_started, NULL);
	start_vm(c);
	return 0;
}

/* Docker's back-off: the container shows "restarting" until it runs again. */
static void schedule_policy_restart(struct container *c, usec_t ran)
{
	c->restart_delay = restart_backoff_next(c->restart_delay, ran);
	c->state = CONTAINER_RESTARTING;
	(void)container_persist(c);
	if (event_add_time(c->d->event, &c->restart_timer,
			   now_usec(CLOCK_MONOTONIC) + c->restart_delay, on_restart_timer, c) < 0) {
		c->state = CONTAINER_EXITED;
		(void)container_persist(c);
	}
}

/* A stop, kill, start or remove while a policy restart waits: the wait ends. */
static void cancel_policy_restart(struct container *c)
{
	c->restart_timer = event_source_free(c->restart_timer);
	if (c->state == CONTAINER_RESTARTING)
		c->state = CONTAINER_EXITED;
	c->restart_delay = 0;
}

/* The VM is gone: the container is stopped for good. */
static void vm_gone(struct container *c)
{
	c->stop_when_idle = false;
	container_health_stop(c);
	container_helpers_fail(c);
	c->vm = vm_free(c->vm);
	free(c->vm_id);
	c->vm_id = NULL;
	sandbox_release(c); /* the TAP went with the VMM; its veths, ports and addresses go */
	(void)container_persist(c);
	c->stop_timer = event_source_free(c->stop_timer);
	c->proc = guest_proc_free(c->proc);
	log_writer_close(c);
	if (c->stop_event) {
		c->stop_event = false;
		events_container(c->d->events, c, "stop", NULL);
	}
	if (c->state != CONTAINER_REMOVING)
		notify_waiters(c, false);
	ops_reply(&c->stop_ops, c, NULL);
	if (c->restart_after_exit) {
		c->restart_after_exit = false;
		container_start(c, NULL, NULL);
		return;
	}
	bool auto_remove = json_is_true(json_object_get(c->host_config, "AutoRemove"));
	if (c->removing_after_exit || auto_remove) {
		finish_remove(c);
		return;
	}
	usec_t started = c->run_started;
	c->run_started = 0;
	if (started && c->state == CONTAINER_EXITED &&
	    restart_policy_wants(json_object_get(c->host_config, "RestartPolicy"), c->exit_code,
				 c->manual_stop, c->restart_count))
		schedule_policy_restart(c, now_usec(CLOCK_MONOTONIC) - started);
}

/* A start that did not get its main process running: recorded, and its callers told. */
static void start_failed(struct container *c, const char *detail)
{
	struct arca_error *err = NULL;
	arca_error_set(&err, EIO, ARCA_ERR_INTERNAL, "start container %.12s: %s", c->id, detail);
	c->starting = false;
	c->restart_event = false;
	free(c->error);
	c->error = xstrdup(err->msg);
	(void)container_persist(c);
	ops_reply(&c->start_ops, c, err);
	arca_error_free(err);
}

static void on_vm_exited(struct vm *vm, int error, void *userdata)
{
	struct container *c = userdata;
	(void)vm;
	if (c->starting) {
		/* The VM died during the start: report it to the caller. */
		start_failed(c, vm_last_error(vm) ? vm_last_error(vm) : "the VM stopped");
	} else if (container_is_running(c)) {
		/* The VM stopped before the main process reported an exit. */
		container_set_exited(c, 255,
				     error < 0 && vm_last_error(vm) ? vm_last_error(vm)
								    : "the container's VM stopped");
		emit_die(c);
		container_io_ended(c);
	}
	vm_gone(c);
}

/* What a restarted daemon needs to adopt this VM and its main process. */
static void remember_vm(struct container *c)
{
	struct guest_proc_ids ids = { 0 };
	if (c->proc)
		guest_proc_get_ids(c->proc, &ids);
	c->vm_pid = c->vm ? (int)vm_pid(c->vm) : 0;
	c->vsock_cid = c->vm ? vm_vsock_cid(c->vm) : 0;
	c->proc_ids[0] = ids.proc;
	c->proc_ids[1] = ids.in;
	c->proc_ids[2] = ids.out;
	c->proc_ids[3] = ids.err;
}

static void on_proc_started(struct guest_proc *p, int error, const char *message, uint32_t pid,
			    void *userdata)
{
	struct container *c = userdata;
	(void)p;
	c->starting = false;
	if (error) {
		/* As dockerd: the start fails, the container stays created with 126/127. */
		struct arca_error *err = NULL;
		bool not_found = strstr(message, "not found") || error == ENOENT;
		arca_error_set(&err, error, ARCA_ERR_INVALID,
			       "failed to create task for container: OCI runtime create failed: "
			       "unable to start container process: %s: unknown",
			       message);
		c->exit_code = not_found ? 127 : 126;
		c->restart_event = false;
		free(c->error);
		c->error = xstrdup(err->msg);
		c->state = CONTAINER_CREATED;
		(void)container_persist(c);
		ops_reply(&c->start_ops, c, err);
		arca_error_free(err);
		c->stopping = true;
		if (c->vm)
			vm_stop(c->vm, VM_STOP_GRACE);
		return;
	}
	c->pid = pid;
	c->run_started = now_usec(CLOCK_MONOTONIC);
	c->state = CONTAINER_RUNNING;
	remember_vm(c);
	c->exit_code = 0;
	free(c->error);
	c->error = NULL;
	free(c->started_at);
	c->started_at = time_now_rfc3339();
	(void)container_persist(c);
	emit_network_events(c, "connect");
	container_mounts_emit(c, "mount");
	events_container(c->d->events, c, "start", NULL);
	container_health_start(c);
	if (c->restart_event) {
		c->restart_event = false;
		events_container(c->d->events, c, "restart", NULL);
	}
	ops_reply(&c->start_ops, c, NULL);
}

static void on_proc_output(struct guest_proc *p, int fd, void *userdata)
{
	(void)p;
	container_io_output(userdata, fd);
}

static void on_proc_stdin_ready(struct guest_proc *p, void *userdata)
{
	(void)p;
	container_io_stdin_ready(userdata);
}

/* Whether its VM writes something that outlives it: a shared path or a block volume. */
static bool writes_through(const struct container *c)
{
	size_t i;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		if (container_mount_is_shared(m) || container_mount_is_block(m))
			return true;
	}
	return false;
}

static void on_proc_exited(struct guest_proc *p, int status, void *userdata)
{
	struct container *c = userdata;
	(void)p;
	if (c->state == CONTAINER_CREATED && c->exit_code >= 126)
		return; /* the start failed; already recorded */
	container_set_exited(c, status < 0 ? 255 : status,
			     status < 0 ? "lost the connection to the container's VM" : NULL);
	emit_die(c);
	container_io_ended(c);
	if (c->vm && c->helpers) {
		c->stop_when_idle = true; /* a cp, commit or export reads its disk: the VM waits */
	} else if (c->vm && json_is_true(json_object_get(c->host_config, "AutoRemove")) &&
		   !writes_through(c)) {
		/* Its disk is removed next: the guest need not put it in order, and the
		 * removal need not wait for QEMU's exit. */
		reaper_take(c->d->reaper, TAKE_PTR(c->vm));
		vm_gone(c);
	} else if (c->vm) {
		vm_stop(c->vm, VM_STOP_GRACE);
	}
}

static void helpers_idle(struct container *c)
{
	if (!c->stop_when_idle)
		return;
	c->stop_when_idle = false;
	if (c->vm)
		vm_stop(c->vm, VM_STOP_GRACE);
}

static const struct guest_proc_ops main_ops = {
	.started = on_proc_started,
	.output = on_proc_output,
	.stdin_ready = on_proc_stdin_ready,
	.exited = on_proc_exited,
};

static void fail_start(struct container *c, const char *detail)
{
	start_failed(c, detail);
	c->stopping = true;
	if (c->vm)
		vm_stop(c->vm, VM_STOP_GRACE_FAIL);
}

static void spawn_main(struct container *c)
{
	_cleanup_strv_free_ char **argv = command_of(c);
	_cleanup_strv_free_ char **env = container_runtime_env(c, NULL);
	/* --link's variables, after PATH and HOSTNAME, before the container's own (dockerd). */
	_cleanup_strv_free_ char **links = sandbox_link_env(c);
	for (char **l = links; *l; l++)
		env = strv_append(env, *l);
	_cleanup_strv_free_ char **groups = container_group_add(c);
	size_t n_rlimits = 0;
	_cleanup_free_ struct guest_rlimit *rlimits =
	    create_options_rlimits(c->host_config, &n_rlimits);
	const char *wd = json_string_value(json_object_get(c->config, "WorkingDir"));
	const char *user = json_string_value(json_object_get(c->config, "User"));
	bool tty = json_is_true(json_object_get(c->config, "Tty"));
	struct guest_proc_spec spec = {
		.argv = argv,
		.env = env,
		.cwd = wd && wd[0] ? wd : "/",
		.user = user && user[0] ? user : NULL,
		.group_add = groups,
		.rlimits = rlimits,
		.cgroup = CONTAINER_CGROUP,
		.netns = true,
		.n_rlimits = n_rlimits,
		.root = GUEST_ROOT,
		.tty = tty,
		.rows = c->tty_rows,
		.cols = c->tty_cols,
		.attach_stdin = json_is_true(json_object_get(c->config, "OpenStdin")),
		.attach_stdout = true,
		.attach_stderr = true,
	};
	c->stdin_closed = false;
	int r = guest_proc_spawn(vm_guest(c->vm), &spec, &main_ops, c, &c->proc);
	if (r < 0)
		fail_start(c, strerror(-r));
}

static void on_copied_up(struct helper *h, int status, void *userdata)
{
	struct container *c = userdata;
	_cleanup_free_ char *why = xstrdup(helper_stderr(h));
	helper_free(h);
	if (status != 0) {
		_cleanup_free_ char *msg =
		    xasprintf("copy the image's content into a new volume: %s",
			      why[0] ? why : (status < 0 ? strerror(-status) : "cp failed"));
		fail_start(c, msg);
		return;
	}
	spawn_main(c);
}

static const struct helper_ops copy_up_ops = { .done = on_copied_up };

/* The guest is set up: the main process next (after a new volume's copy-up). */
static void guest_ready(struct container *c)
{
	log_debug("container %.12s: guest set up", c->id);
	/* An empty volume first gets what the image has there, as dockerd copies it. */
	_cleanup_free_ char *script = container_mounts_copy_up_script(c);
	if (script) {
		const char *argv[] = { "sh", "-c", script, NULL };
		struct helper_spec spec = { .argv = (char *const *)argv,
					    .busybox = true,
					    .during_start = true };
		struct helper *h;
		_cleanup_error_ struct arca_error *err = NULL;
		if (helper_start(c, &spec, &copy_up_ops, c, &h, &err) < 0)
			fail_start(c, err->msg);
		return;
	}
	spawn_main(c);
}

static void on_setup_done(int error, const char *message, void *userdata)
{
	if (error)
		fail_start(userdata, message);
	else
		guest_ready(userdata);
}

static void pool_step_done(struct container *c, int error, const char *what, const char *message);

static void on_pool_setup_done(int error, const char *message, void *userdata)
{
	pool_step_done(userdata, error, "set up the guest", message);
}

/*
 * The guest's setup. A pooled VM (pooled) also gets its hostname, which a
 * cold VM has on its kernel command line, and finds its disks as QEMU plugs
 * them in; with rw_mounted, its own writable disk, mounted ahead, is the
 * container's.
 */
static void set_up_guest(struct container *c, bool pooled, bool rw_mounted)
{
	struct guest_client *gc = vm_guest(c->vm);
	struct guest_request rq;
	bool ro = json_is_true(json_object_get(c->host_config, "ReadonlyRootfs"));

	struct guest_rootfs_spec spec = { .image_serial = "arca-image",
					  .rw_serial = "arca-rw",
					  .rw_mounted = rw_mounted ? POOL_RW_DIR : NULL,
					  .readonly = ro,
					  .init_layer = true };
	/* Requests are pipelined: the guest runs them in order. */
	struct guest_batch *b = guest_batch_new(gc, pooled ? on_pool_setup_done : on_setup_done, c);
	if (pooled) {
		guest_request_init(&rq, PROTO_OP_SET_HOSTNAME);
		proto_put_str(&rq.w, PROTO_T_HOSTNAME,
			      json_string_value(json_object_get(c->config, "Hostname")));
		guest_batch_add(b, &rq);
	}
	/* The network (links, routes, resolver) and /etc/hostname, hosts, resolv.conf. */
	sandbox_guest_links(c, b);
	guest_batch_add_rootfs(b, &spec);
	sandbox_guest_files(c, b);
	container_mounts_add_requests(c, b, 0, true);
	/* --memory and --cpus as dockerd applies them: the cgroup of the container's processes. */
	container_limits_add(b, json_integer_value(json_object_get(c->host_config, "Memory")),
			     json_integer_value(json_object_get(c->host_config, "NanoCpus")));
	const char *wd = json_string_value(json_object_get(c->config, "WorkingDir"));
	if (wd && wd[0] && !ro) {
		_cleanup_free_ char *dst = xasprintf(GUEST_ROOT "%s", wd);
		guest_req_mkdir(&rq, dst, 0755);
		guest_batch_add(b, &rq);
	}
	guest_batch_end(b);
}

static void on_vm_ready(struct vm *vm, void *userdata)
{
	(void)vm;
	set_up_guest(userdata, false, false);
}

static const struct vm_callbacks vm_cbs = {
	.ready = on_vm_ready,
	.exited = on_vm_exited,
};

/*
 * A maintenance VM holds the disks: a start or remove waits for it to end
 * (*flag set, the op queued), or is refused while an operation still uses it.
 * True when the caller is done (queued or answered).
 */
static bool wait_for_maintenance(struct container *c, struct container_op **ops, bool *flag,
				 container_done_fn cb, void *userdata)
{
	if (container_maintenance_ending(c)) {
		ops_add(ops, cb, userdata);
		*flag = true;
		return true;
	}
	if (!container_in_maintenance(c))
		return false;
	reply_now(c, cb, userdata, EBUSY, ARCA_ERR_CONFLICT,
		  "container %s is busy: a copy, diff or export is using its disk; try again",
		  c->name);
	return true;
}

void container_start(struct container *c, container_done_fn cb, void *userdata)
{
	if (container_is_running(c))
		return reply_now(c, cb, userdata, EALREADY, ARCA_ERR_NOT_MODIFIED,
				 "container %s is already running", c->name);
	if (c->state == CONTAINER_REMOVING || c->state == CONTAINER_DEAD)
		return reply_now(c, cb, userdata, EBUSY, ARCA_ERR_CONFLICT,
				 "container %s is marked for removal and cannot be started",
				 c->name);
	if (wait_for_maintenance(c, &c->start_ops, &c->start_after_maint, cb, userdata))
		return;
	ops_add(&c->start_ops, cb, userdata);
	if (c->starting || c->restart_after_exit)
		return; /* joins the start (or the restart) under way */
	if (c->vm) {
		c->restart_after_exit = true; /* the exited run's VM is still stopping */
		return;
	}
	/* A manual start: the restart policy starts over, as dockerd resets it. */
	cancel_policy_restart(c);
	c->manual_stop = false;
	c->restart_count = 0;
	start_vm(c);
}

/* Boots the VM; the start ops are answered when the main process runs or fails. */
/* A start refused before its VM was spawned; as dockerd, an AutoRemove container goes. */
static void start_refused(struct container *c, struct arca_error *err)
{
	ops_reply(&c->start_ops, c, err);
	arca_error_free(err);
	if (!c->vm && json_is_true(json_object_get(c->host_config, "AutoRemove")))
		finish_remove(c);
}

/* A pooled start's steps, the hot-plugs and the guest's setup, end here. */
static void pool_step_done(struct container *c, int error, const char *what, const char *message)
{
	if (error && !c->pool_error)
		c->pool_error = xasprintf("%s: %s", what, message ? message : strerror(error));
	if (--c->pool_steps > 0)
		return;
	if (c->pool_error) {
		_cleanup_free_ char *why = TAKE_PTR(c->pool_error);
		fail_start(c, why);
		return;
	}
	guest_ready(c);
}

/* Its VM is on the way: the start is under way, a new run begins. */
static void mark_starting(struct container *c)
{
	c->starting = true;
	c->stopping = false;
	c->stop_signal_sent = 0;
	c->run_started = 0;
}

static void on_disk_added(struct vm *vm, int error, const char *message, void *userdata)
{
	(void)vm;
	pool_step_done(userdata, error, "hot-plug its disk", message);
}

/*
 * A VM from the pool (pool.h): its TAP renamed and plumbed, its disks
 * hot-plugged while the guest's setup is under way (its mounts wait for the
 * disks to show up). c may be gone when it returns (a refused AutoRemove
 * start).
 */
static void start_pooled(struct container *c, struct vm *vm, const char *tap,
			 const struct vm_config *cfg, char *rw, bool fresh)
{
	struct arca_error *err = NULL;
	/* A container's disk nothing has used yet is swapped for the VM's, mounted already. */
	bool own_rw = fresh && rename(rw, c->rw_disk) == 0;
	if (!own_rw)
		(void)unlink(rw); /* the VM's goes with it */
	free(rw);
	if (sandbox_prepare_pooled(c, tap, &err) < 0) {
		vm_free(vm); /* its TAP goes with it */
		log_writer_close(c);
		(void)container_persist(c);
		return start_refused(c, err);
	}
	mark_starting(c);
	free(c->pool_error);
	c->pool_error = NULL;
	vm_set_owner(vm, &vm_cbs, c);
	c->vm = vm;
	c->vm_id = xstrdup(vm_id(vm));
	log_debug("container %.12s: VM %s from the pool", c->id, c->vm_id);
	/* Each disk, the guest's setup, and one more until all are under way. */
	size_t n_disks = own_rw ? 1 : cfg->n_disks; /* the image's comes first */
	c->pool_steps = (unsigned)n_disks + 2;
	for (size_t i = 0; i < n_disks; i++) {
		struct vm_disk disk = cfg->disks[i];
		disk.scsi = true;
		if (vm_add_disk(vm, &disk, on_disk_added, c, &err) < 0) {
			c->pool_error = xstrdup(err->msg);
			arca_error_free(err);
			err = NULL;
			c->pool_steps -= (unsigned)(n_disks - i); /* never answered */
			break;
		}
	}
	if (c->pool_error)
		c->pool_steps--; /* a disk it would wait for never comes */
	else
		set_up_guest(c, true, own_rw);
	pool_step_done(c, 0, NULL, NULL);
}

/* Spawns the VM; c may be gone when it returns (a refused AutoRemove start). */
static void start_vm(struct container *c)
{
	struct daemon *d = c->d;
	_cleanup_free_ char *disk = NULL;
	struct arca_error *err = NULL;
	_cleanup_strv_free_ char **argv = command_of(c);
	if (!argv[0]) {
		arca_error_set(&err, EINVAL, ARCA_ERR_INVALID, "no command specified");
		return start_refused(c, err);
	}
	if (container_networks_check(c, &err) < 0 || container_mounts_block_conflict(c, &err) < 0 ||
	    image_disk(d->images, c->image_id, &disk, &err) < 0 || log_writer_open(c, &err) < 0) {
		arca_error_wrap(&err, "start container %.12s", c->id);
		return start_refused(c, err);
	}
	/* A label may boot it from another guest set, verified at each start. */
	struct daemon_guest own = { 0 };
	const struct daemon_guest *guest = &d->guest;
	const char *set =
	    json_string_value(json_object_get(json_object_get(c->config, "Labels"), GUEST_LABEL));
	if (set && daemon_guest_from_dir(set, "label", &own, &err) < 0) {
		arca_error_wrap(&err, "start container %.12s: label %s", c->id, GUEST_LABEL);
		log_writer_close(c);
		return start_refused(c, err);
	}
	if (set)
		guest = &own;
	free(c->vm_id); /* a VM of its own, unless the pool has one */
	c->vm_id = NULL;
	struct vm_config cfg;
	container_vm_config(c, disk, &cfg);
	cfg.kernel = guest->kernel;
	cfg.initramfs = guest->initramfs;
	json_decref(c->guest);
	c->guest = daemon_guest_json(guest);
	char tap[16], *pool_rw = NULL;
	struct vm *pooled =
	    !set && sandbox_wants_nic(c) ? pool_take(d->pool, &cfg, tap, &pool_rw) : NULL;
	bool fresh = c->rw_fresh;
	c->rw_fresh = false; /* a VM has had it */
	if (pooled) {
		start_pooled(c, pooled, tap, &cfg, pool_rw, fresh);
		return;
	}
	if (sandbox_prepare(c, &cfg, &err) < 0) {
		daemon_guest_done(&own);
		log_writer_close(c);
		(void)container_persist(c);
		return start_refused(c, err);
	}
	mark_starting(c);
	int started = vm_start(d->event, &cfg, &vm_cbs, c, &c->vm, &err);
	daemon_guest_done(&own); /* the VM has its own copies of the paths */
	if (started < 0) {
		c->starting = false;
		log_writer_close(c);
		sandbox_release(c);
		(void)container_persist(c);
		return start_refused(c, err);
	}
	sandbox_vm_started(c);
}

static void emit_kill(struct container *c, int sig)
{
	char num[16];
	snprintf(num, sizeof(num), "%d", sig);
	events_container(c->d->events, c, "kill", json_pack("{s:s}", "signal", num));
}

static int on_stop_timer(struct event_source *s, usec_t now, void *userdata)
{
	struct container *c = userdata;
	(void)now;
	(void)s;
	if (!container_is_running(c) || !c->vm)
		return 0;
	if (c->stop_signal_sent != SIGKILL && c->proc) {
		/* The grace period is over. */
		c->stop_signal_sent = SIGKILL;
		(void)guest_proc_signal(c->proc, SIGKILL);
		return event_source_set_time(s, now_usec(CLOCK_MONOTONIC) + KILL_GRACE_USEC);
	}
	/* Even SIGKILL did not end it: the VM goes. */
	vm_stop(c->vm, 0);
	return 0;
}

static void arm_stop_timer(struct container *c, usec_t delay)
{
	usec_t when = now_usec(CLOCK_MONOTONIC) + delay;
	if (c->stop_timer)
		(void)event_source_set_time(c->stop_timer, when);
	else
		(void)event_add_time(c->d->event, &c->stop_timer, when, on_stop_timer, c);
}

static void resume_if_paused(struct container *c)
{
	if (c->state == CONTAINER_PAUSED && c->vm) {
		(void)vm_resume(c->vm, NULL, NULL);
		c->state = CONTAINER_RUNNING;
		(void)container_persist(c);
	}
}

void container_stop(struct container *c, int timeout, const char *signal, container_done_fn cb,
		    void *userdata)
{
	if (c->state == CONTAINER_RESTARTING && c->vm) {
		/* The policy restart is booting its VM: that VM goes, and no restart follows. */
		ops_add(&c->stop_ops, cb, userdata);
		c->stopping = c->stop_event = c->manual_stop = true;
		(void)container_persist(c);
		vm_stop(c->vm, 0);
		return;
	}
	if (c->state == CONTAINER_RESTARTING) {
		cancel_policy_restart(c);
		c->manual_stop = true;
		(void)container_persist(c);
		events_container(c->d->events, c, "stop", NULL);
		return reply_now(c, cb, userdata, 0, ARCA_ERR_INTERNAL, NULL);
	}
	if (container_is_running(c) && !c->proc && c->vm) {
		/* Still being adopted (or paused since before a daemon restart): the VM goes. */
		ops_add(&c->stop_ops, cb, userdata);
		c->stopping = c->stop_event = c->manual_stop = true;
		resume_if_paused(c);
		vm_stop(c->vm, VM_STOP_GRACE);
		return;
	}
	if (!container_is_running(c) || !c->proc)
		return reply_now(c, cb, userdata, EALREADY, ARCA_ERR_NOT_MODIFIED,
				 "container %s is already stopped", c->name);
	const char *cfg_sig = json_string_value(json_object_get(c->config, "StopSignal"));
	int sig = parse_signal(signal && signal[0] ? signal : cfg_sig, SIGTERM);
	if (sig < 0)
		return reply_now(c, cb, userdata, EINVAL, ARCA_ERR_INVALID, "Invalid signal: %s",
				 signal ? signal : cfg_sig);
	if (timeout < 0) {
		json_t *st = json_object_get(c->config, "StopTimeout");
		timeout = json_is_integer(st) ? (int)json_integer_value(st) : DEFAULT_STOP_TIMEOUT;
	}
	ops_add(&c->stop_ops, cb, userdata);
	c->stopping = true;
	c->stop_event = true;
	c->manual_stop = true;
	(void)container_persist(c);
	resume_if_paused(c);
	c->stop_signal_sent = sig;
	emit_kill(c, sig);
	(void)guest_proc_signal(c->proc, sig);
	/* timeout < 0 after the default means wait forever, as Docker's -1. */
	if (timeout >= 0)
		arm_stop_timer(c, (usec_t)timeout * USEC_PER_SEC);
}

void container_kill(struct container *c, const char *signal, container_done_fn cb, void *userdata)
{
	int sig = parse_signal(signal, SIGKILL);
	if (sig < 0)
		return reply_now(c, cb, userdata, EINVAL, ARCA_ERR_INVALID, "Invalid signal: %s",
				 signal);
	if (c->state == CONTAINER_RESTARTING)
		return reply_now(c, cb, userdata, EBUSY, ARCA_ERR_CONFLICT,
				 "Container %s is restarting, wait until the container is "
				 "running",
				 c->id);
	if (!container_is_running(c) || !c->proc)
		return reply_now(c, cb, userdata, ESRCH, ARCA_ERR_CONFLICT,
				 "Cannot kill container: %s: container %s is not running", c->name,
				 c->id);
	c->manual_stop = true;
	(void)container_persist(c);
	c->stop_signal_sent = sig;
	emit_kill(c, sig);
	if (sig == SIGKILL) {
		/* As dockerd: a SIGKILL is answered once the container is not running.
		 * The grace timer ends the VM if the guest does not act on it. */
		c->stopping = true;
		resume_if_paused(c);
		arm_stop_timer(c, KILL_GRACE_USEC);
		ops_add(&c->stop_ops, cb, userdata);
		(void)guest_proc_signal(c->proc, sig);
		return;
	}
	int r = guest_proc_signal(c->proc, sig);
	if (r < 0)
		return reply_now(c, cb, userdata, -r, ARCA_ERR_INTERNAL, "kill container %s: %s",
				 c->name, strerror(-r));
	reply_now(c, cb, userdata, 0, ARCA_ERR_INTERNAL, NULL);
}

static void on_restart_stopped(struct container *c, const struct arca_error *err, void *userdata)
{
	(void)err;
	(void)c;
	(void)userdata;
}

void container_restart(struct container *c, int timeout, container_done_fn cb, void *userdata)
{
	c->restart_event = true;
	if (!container_is_running(c) || !c->proc) {
		container_start(c, cb, userdata);
		return;
	}
	/* Start again once the VM is gone; the caller is answered when it runs. */
	ops_add(&c->start_ops, cb, userdata);
	c->restart_after_exit = true;
	container_stop(c, timeout, NULL, on_restart_stopped, NULL);
}

struct pause_ctx {
	struct container *c;
	bool pause;
	container_done_fn cb;
	void *userdata;
};

static void on_paused(struct vm *vm, int error, const char *message, void *userdata)
{
	struct pause_ctx *p = userdata;
	struct container *c = p->c;
	(void)vm;
	if (error)
		reply_now(c, p->cb, p->userdata, EIO, ARCA_ERR_INTERNAL, "%s container %s: %s",
			  p->pause ? "pause" : "unpause", c->name, message);
	else {
		c->state = p->pause ? CONTAINER_PAUSED : CONTAINER_RUNNING;
		(void)container_persist(c);
		events_container(c->d->events, c, p->pause ? "pause" : "unpause", NULL);
		if (!p->pause && c->restoring)
			ops_add(&c->start_ops, p->cb, p->userdata); /* answered once adopted */
		else
			reply_now(c, p->cb, p->userdata, 0, ARCA_ERR_INTERNAL, NULL);
	}
	free(p);
}

void container_pause(struct container *c, bool pause, container_done_fn cb, void *userdata)
{
	if (!container_is_running(c) || !c->vm)
		return reply_now(c, cb, userdata, ESRCH, ARCA_ERR_CONFLICT,
				 "Container %s is not running", c->id);
	if (pause && c->state == CONTAINER_PAUSED)
		return reply_now(c, cb, userdata, EALREADY, ARCA_ERR_CONFLICT,
				 "Container %s is already paused", c->id);
	if (!pause && c->state != CONTAINER_PAUSED)
		return reply_now(c, cb, userdata, EALREADY, ARCA_ERR_CONFLICT,
				 "Container %s is not paused", c->id);
	struct pause_ctx *p = xnew0(struct pause_ctx, 1);
	*p = (struct pause_ctx){ c, pause, cb, userdata };
	int r = pause ? vm_pause(c->vm, on_paused, p) : vm_resume(c->vm, on_paused, p);
	if (r < 0) {
		free(p);
		reply_now(c, cb, userdata, -r, ARCA_ERR_INTERNAL, "%s container %s: %s",
			  pause ? "pause" : "unpause", c->name, strerror(-r));
	}
}

void container_wait(struct container *c, enum wait_condition cond, container_wait_fn cb,
		    void *userdata)
{
	if (cond == WAIT_NOT_RUNNING && !container_is_running(c) && !c->starting) {
		cb(c->exit_code, c->error, userdata);
		return;
	}
	struct container_waiter *w = xnew0(struct container_waiter, 1);
	*w = (struct container_waiter){ .cond = cond, .cb = cb, .userdata = userdata };
	w->next = c->waiters;
	c->waiters = w;
}

void container_cancel_wait(struct container *c, void *userdata)
{
	for (struct container_waiter **pw = &c->waiters; *pw;) {
		struct container_waiter *w = *pw;
		if (w->userdata == userdata) {
			*pw = w->next;
			free(w);
		} else {
			pw = &w->next;
		}
	}
}

static void finish_remove(struct container *c)
{
	struct daemon *d = c->d;
	struct arca_error *err = NULL;
	c->state = CONTAINER_REMOVING;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	if (db_prepare(d->db, "DELETE FROM containers WHERE id = ?", &s, &err) >= 0) {
		sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE)
			db_error(d->db, SQLITE_ERROR, "remove container", &err);
	}
	if (err) {
		/* Keep it: nothing stored may be lost on a failed remove. */
		c->state = CONTAINER_DEAD;
		free(c->error);
		c->error = xstrdup(err->msg);
		ops_reply(&c->stop_ops, c, err);
		arca_error_free(err);
		return;
	}
	trash_dir(d, c->dir);
	bool auto_remove = json_is_true(json_object_get(c->host_config, "AutoRemove"));
	_cleanup_strv_free_ char **anonymous =
	    c->remove_volumes || auto_remove ? container_mounts_anonymous(c) : strv_copy(NULL);
	hashmap_remove(d->containers, c->id);
	events_container(d->events, c, "destroy", NULL);
	exec_forget_container(d, c->id);
	container_io_ended(c);
	notify_waiters(c, true);
	struct container_op *ops = c->stop_ops;
	c->stop_ops = NULL;
	while (ops) {
		struct container_op *o = ops;
		ops = o->next;
		o->cb(c, NULL, o->userdata);
		free(o);
	}
	container_free(c);
	for (char **n = anonymous; *n; n++)
		volume_remove_if_unused(d, *n);
}

void container_remove(struct container *c, bool force, bool volumes, container_done_fn cb,
		      void *userdata)
{
	c->remove_volumes |= volumes;
	if (c->state == CONTAINER_REMOVING || c->removing_after_exit)
		return reply_now(c, cb, userdata, EBUSY, ARCA_ERR_CONFLICT,
				 "removal of container %s is already in progress", c->name);
	if (wait_for_maintenance(c, &c->stop_ops, &c->remove_after_maint, cb, userdata))
		return;
	if (c->state == CONTAINER_RESTARTING && !force)
		return reply_now(c, cb, userdata, EBUSY, ARCA_ERR_CONFLICT,
				 "You cannot remove a restarting container %s. Stop the container "
				 "before attempting removal or force remove",
				 c->id);
	cancel_policy_restart(c);
	if ((container_is_running(c) || c->starting) && !force)
		return reply_now(c, cb, userdata, EBUSY, ARCA_ERR_CONFLICT,
				 "cannot remove container \"/%s\": container is %s: stop the "
				 "container before removing or force remove",
				 c->name, c->state == CONTAINER_PAUSED ? "paused" : "running");
	ops_add(&c->stop_ops, cb, userdata);
	if (c->vm) {
		/* Kill it (or let its VM finish stopping); the removal completes when it is gone.
		 */
		c->removing_after_exit = true;
		c->restart_after_exit = false;
		c->stopping = true;
		if (container_is_running(c) || c->starting)
			vm_stop(c->vm, 0);
		return;
	}
	finish_remove(c);
}

static void on_boot_started(struct container *c, const struct arca_error *err, void *userdata)
{
	(void)userdata;
	if (!err)
		return;
	log_warn("container %.12s (%s) not started by its restart policy: %s", c->id, c->name,
		 err->msg);
	free(c->error);
	c->error = xstrdup(err->msg);
	(void)container_persist(c);
}

static void maintenance_over(struct container *c)
{
	if (c->remove_after_maint) {
		c->remove_after_maint = false;
		c->start_after_maint = false;
		finish_remove(c); /* answers the removes that waited */
		return;
	}
	if (c->start_after_maint) {
		c->start_after_maint = false;
		container_start(c, NULL, NULL); /* answers the starts that waited */
	}
}

/* --- live restore --- */

bool container_leave_running(struct container *c)
{
	bool steady = c->state == CONTAINER_RUNNING || c->state == CONTAINER_PAUSED;
	if (!c->vm || !c->proc || !steady || c->starting || c->stopping || c->restoring ||
	    c->stop_when_idle || vm_get_state(c->vm) != VM_RUNNING)
		return false;
	container_health_stop(c);
	container_io_detach(c);
	c->proc = guest_proc_free(c->proc);
	c->vm = vm_release(c->vm);
	/* Its TAP, veths and firewall rules stay for the next daemon, which binds its ports again.
	 */
	c->sandbox = sandbox_free(c->sandbox);
	log_info("container %.12s (%s): left running (live restore)", c->id, c->name);
	return true;
}

static void restore_failed(struct container *c, const char *why)
{
	log_warn("container %.12s (%s): cannot re-attach its VM: %s", c->id, c->name, why);
	_cleanup_free_ char *msg =
	    xasprintf("the daemon restarted and could not re-attach the VM: %s", why);
	container_set_exited(c, 255, msg);
	c->vm = vm_free(c->vm);
	sandbox_release(c);
	(void)container_persist(c);
	c->proc = guest_proc_free(c->proc);
	log_writer_close(c);
	if (vm_clear_stale(c->d->cfg.run_dir, container_vm_id(c), 3 * USEC_PER_SEC) < 0)
		log_warn("container %.12s: a VM of the previous daemon still runs", c->id);
	struct arca_error *err = NULL;
	arca_error_set(&err, EIO, ARCA_ERR_INTERNAL, "%s", c->error);
	ops_reply(&c->start_ops, c, err);
	arca_error_free(err);
}

static void on_adopted(struct guest_proc *p, int error, const char *message, uint32_t pid,
		       void *userdata)
{
	struct container *c = userdata;
	(void)p;
	c->restoring = false;
	if (error || !container_is_running(c)) {
		/* The guest does not know it (its exit, status < 0, follows), or it ended. */
		if (error)
			log_warn("container %.12s: its process is gone: %s", c->id, message);
		ops_reply(&c->start_ops, c, NULL);
		return;
	}
	c->pid = pid;
	c->run_started = now_usec(CLOCK_MONOTONIC);
	remember_vm(c);
	(void)container_persist(c);
	if (c->state == CONTAINER_PAUSED)
		(void)vm_pause(c->vm, NULL, NULL); /* as it was when the daemon died */
	container_health_start(c);
	ops_reply(&c->start_ops, c, NULL); /* an unpause that waited for it */
	log_info("container %.12s (%s): re-attached to its running VM", c->id, c->name);
}

static const struct guest_proc_ops adopted_ops = {
	.started = on_adopted,
	.output = on_proc_output,
	.stdin_ready = on_proc_stdin_ready,
	.exited = on_proc_exited,
};

static void on_restore_ready(struct vm *vm, void *userdata)
{
	struct container *c = userdata;
	struct arca_error *err = NULL;
	struct guest_proc_ids ids = { .proc = c->proc_ids[0],
				      .in = c->proc_ids[1],
				      .out = c->proc_ids[2],
				      .err = c->proc_ids[3] };
	int r = log_writer_open(c, &err);
	if (r >= 0)
		r = guest_proc_adopt(vm_guest(vm), &ids, &adopted_ops, c, &c->proc);
	if (r < 0) {
		restore_failed(c, err ? err->msg : strerror(-r));
		arca_error_free(err);
	}
}

static const struct vm_callbacks restore_cbs = {
	.ready = on_restore_ready,
	.exited = on_vm_exited,
};

bool container_restoring(struct daemon *d)
{
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->containers, &it, NULL, &v))
		if (((struct container *)v)->restoring)
			return true;
	return false;
}

/* A container the previous daemon left running: adopt its VM, or record that it stopped. */
static bool restore_wanted(struct container *c)
{
	bool was_running = c->state == CONTAINER_RUNNING || c->state == CONTAINER_PAUSED ||
			   c->state == CONTAINER_RESTARTING;
	if (was_running && c->state != CONTAINER_RESTARTING && c->vm_pid > 0 && c->proc_ids[0]) {
		c->restoring = true; /* its VM may still run (live restore) */
		return true;
	}
	/* Also a VM whose start the previous daemon did not see through: it holds the TAP. */
	if (vm_clear_stale(c->d->cfg.run_dir, container_vm_id(c), 3 * USEC_PER_SEC) < 0)
		log_warn("container %.12s: a VM of the previous daemon still runs", c->id);
	if (was_running) {
		container_set_exited(c, 255, "the daemon restarted while the container ran");
		sandbox_release(c); /* what its network left: veths, addresses */
		(void)container_persist(c);
	}
	return false;
}

void container_restore_all(struct daemon *d)
{
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->containers, &it, NULL, &v)) {
		struct container *c = v;
		if (!restore_wanted(c))
			continue;
		_cleanup_free_ char *disk = NULL;
		struct arca_error *err = NULL;
		struct vm_config cfg;
		int r = image_disk(d->images, c->image_id, &disk, &err);
		if (r >= 0) {
			container_vm_config(c, disk, &cfg);
			cfg.vsock_cid = c->vsock_cid;
			/* A paused one runs while it is adopted, then pauses again. */
			r = vm_attach(d->event, &cfg, c->vm_pid, c->state == CONTAINER_PAUSED,
				      &restore_cbs, c, &c->vm, &err);
		}
		/* Its network: the VMM kept the TAP and the veths; the ports are bound again. */
		if (r >= 0 && sandbox_adopt(c, &err) < 0) {
			log_warn("container %.12s (%s): its network: %s", c->id, c->name, err->msg);
			arca_error_free(err);
			err = NULL;
		}
		if (r < 0) {
			restore_failed(c, err ? err->msg : strerror(-r));
			arca_error_free(err);
		}
	}
}

void container_restart_policies_at_boot(struct daemon *d)
{
	size_t it = 0;
	void *v;
	while (hashmap_iter(d->containers, &it, NULL, &v)) {
		struct container *c = v;
		bool ran = c->started_at && strncmp(c->started_at, "0001-", 5) != 0;
		if (ran && c->state == CONTAINER_EXITED &&
		    restart_policy_at_boot(json_object_get(c->host_config, "RestartPolicy"),
					   c->exit_code, c->manual_stop, c->restart_count)) {
			log_info("starting %.12s (%s): its restart policy", c->id, c->name);
			container_start(c, on_boot_started, NULL);
		}
	}
}

int container_resize(struct container *c, unsigned rows, unsigned cols, struct arca_error **err)
{
	c->tty_rows = rows;
	c->tty_cols = cols;
	if (!c->proc || !container_is_running(c))
		return arca_error_set(err, ESRCH, ARCA_ERR_CONFLICT, "Container %s is not running",
				      c->id);
	int r = guest_proc_resize(c->proc, rows, cols);
	if (r < 0)
		return arca_error_errno(err, r, "resize");
	char h[12], w[12];
	snprintf(h, sizeof(h), "%u", rows);
	snprintf(w, sizeof(w), "%u", cols);
	events_container(c->d->events, c, "resize",
			 json_pack("{s:s, s:s}", "height", h, "width", w));
	return 0;
}

const struct container_hooks container_lifecycle_hooks = {
	.helpers_idle = helpers_idle,
	.maintenance_over = maintenance_over,
};
