/* SPDX-License-Identifier: Apache-2.0 */
/* The VM a build stage runs its steps in (see build-vm.h). */
#include "build-vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-helper.h"
#include "event.h"
#include "fd-util.h"
#include "guest-client.h"
#include "guest-setup.h"
#include "strv.h"
#include "vm.h"

#define LOWER	   "/run/arca/lower"
#define SCRATCH	   "/run/arca/rw"
#define EMPTY	   SCRATCH "/empty" /* FROM scratch: the lowest layer */
#define COPY_DIR   SCRATCH "/copy"  /* a COPY's sources, from the host */
#define FROM_DIR   "/run/arca/from"
#define BUILD_ETC  "/run/arca/build-etc"
#define MAX_LAYERS 120 /* overlayfs' options fit in a page */
#define BOOT_WAIT  (180 * USEC_PER_SEC)
#define BUSYBOX	   "/bin/busybox"
#define INIT	   "/init"

struct build_vm {
	struct event *e;
	struct vm *vm;
	bool ready, exited;
	char *exit_msg;
	unsigned layers;
	bool scratch_base; /* FROM scratch: no image disk */
	bool root_mounted;
	bool (*cancelled)(void *userdata);
	void *userdata;
};

static void on_ready(struct vm *vm, void *userdata)
{
	(void)vm;
	struct build_vm *v = userdata;
	v->ready = true;
}

static void on_exited(struct vm *vm, int error, void *userdata)
{
	struct build_vm *v = userdata;
	v->exited = true;
	free(v->exit_msg);
	v->exit_msg =
	    xstrdup(error < 0 && vm_last_error(vm) ? vm_last_error(vm) : "the build VM stopped");
}

static const struct vm_callbacks cbs = { .ready = on_ready, .exited = on_exited };

/* Runs the loop until *flag, the VM is gone, or the client went. */
static int wait_for(struct build_vm *v, const bool *flag, struct arca_error **err)
{
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + BOOT_WAIT;
	while (!*flag) {
		if (v->exited)
			return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "%s", v->exit_msg);
		if (v->cancelled && v->cancelled(v->userdata))
			return arca_error_set(err, ECANCELED, ARCA_ERR_INTERNAL, "build cancelled");
		(void)event_run(v->e, 100 * USEC_PER_MSEC);
		if (!v->ready && now_usec(CLOCK_MONOTONIC) > deadline)
			return arca_error_set(err, ETIMEDOUT, ARCA_ERR_INTERNAL,
					      "the build VM did not boot");
	}
	return 0;
}

/* --- batches of requests, waited for --- */

struct waited {
	bool done;
	int error;
	char *message;
};

static void on_batch(int error, const char *message, void *userdata)
{
	struct waited *w = userdata;
	w->done = true;
	w->error = error;
	w->message = error ? xstrdup(message ? message : strerror(error)) : NULL;
}

static int batch_end(struct build_vm *v, struct guest_batch *b, struct waited *w, const char *what,
		     struct arca_error **err)
{
	guest_batch_end(b);
	int r = wait_for(v, &w->done, err);
	if (r >= 0 && w->error)
		r = arca_error_set(err, w->error, ARCA_ERR_INTERNAL, "%s: %s", what, w->message);
	free(w->message);
	return r;
}

int build_vm_start(struct event *e, const struct build_vm_config *cfg, struct build_vm **ret,
		   struct arca_error **err)
{
	if (cfg->n_from > BUILD_VM_MAX_FROM)
		return arca_error_set(err, E2BIG, ARCA_ERR_INVALID,
				      "a build stage copies from at most %d images",
				      BUILD_VM_MAX_FROM);
	struct build_vm *v = xnew0(struct build_vm, 1);
	v->e = e;
	v->cancelled = cfg->cancelled;
	v->userdata = cfg->userdata;
	v->layers = cfg->layers;
	v->scratch_base = !cfg->image_disk;
	struct vm_config vc = {
		.id = cfg->id,
		.runtime_dir = cfg->run_dir,
		.kernel = cfg->kernel,
		.initramfs = cfg->initramfs,
		.memory_mb = cfg->memory_mb,
		.cpus = cfg->cpus,
		.use_vsock = cfg->use_vsock,
		.accel = cfg->accel,
		.die_with_parent = true, /* a build VM ends with its build */
		.net_fd = cfg->net_fd,
		.net_vhost = cfg->net_vhost,
	};
	memcpy(vc.net_mac, cfg->net_mac, 6);
	char serials[BUILD_VM_MAX_FROM][32];
	vc.disks[vc.n_disks++] =
	    (struct vm_disk){ .path = cfg->scratch, .serial = "arca-rw", .readonly = false };
	if (cfg->image_disk)
		vc.disks[vc.n_disks++] = (struct vm_disk){ .path = cfg->image_disk,
							   .serial = "arca-image",
							   .readonly = true };
	for (size_t i = 0; i < cfg->n_from; i++) {
		snprintf(serials[i], sizeof(serials[i]), "arca-from%zu", i);
		vc.disks[vc.n_disks++] = (struct vm_disk){ .path = cfg->from_disks[i],
							   .serial = serials[i],
							   .readonly = true,
							   .scsi = true };
	}
	int r = vm_start(e, &vc, &cbs, v, &v->vm, err);
	if (r >= 0)
		r = wait_for(v, &v->ready, err);
	if (r >= 0) {
		struct waited w = { 0 };
		struct guest_batch *b = guest_batch_new(vm_guest(v->vm), on_batch, &w);
		struct guest_request rq;
		guest_req_mount(&rq, "blkserial:arca-rw", SCRATCH, "ext4", 0, NULL);
		guest_batch_add(b, &rq);
		if (cfg->image_disk) {
			guest_req_mount(&rq, "blkserial:arca-image", LOWER, "ext4", MS_RDONLY,
					NULL);
			guest_batch_add(b, &rq);
		} else {
			guest_req_mkdir(&rq, EMPTY, 0755);
			guest_batch_add(b, &rq);
		}
		for (size_t i = 0; i < cfg->n_from; i++) {
			_cleanup_free_ char *src = xasprintf("blkserial:%s", serials[i]);
			_cleanup_free_ char *dst = xasprintf(FROM_DIR "/%zu", i);
			guest_req_mount(&rq, src, dst, "ext4", MS_RDONLY, NULL);
			guest_batch_add(b, &rq);
		}
		/* Its links and route on the network, in the namespace the steps join. */
		for (size_t i = 0; i < cfg->n_net_reqs; i++)
			guest_batch_add(b, &cfg->net_reqs[i]);
		r = batch_end(v, b, &w, "mount the build's disks", err);
	}
	if (r < 0) {
		build_vm_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

unsigned build_vm_layers(const struct build_vm *v)
{
	return v->layers;
}

struct build_vm *build_vm_free(struct build_vm *v)
{
	if (!v)
		return NULL;
	if (v->vm && !v->exited) {
		vm_stop(v->vm, 2 * USEC_PER_SEC);
		usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;
		while (!v->exited && now_usec(CLOCK_MONOTONIC) < deadline)
			(void)event_run(v->e, 100 * USEC_PER_MSEC);
	}
	v->vm = vm_free(v->vm);
	free(v->exit_msg);
	free(v);
	return NULL;
}

static void add_umount_root(struct guest_batch *b)
{
	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_UMOUNT);
	proto_put_str(&rq.w, PROTO_T_TARGET, GUEST_ROOT);
	proto_put_u32(&rq.w, PROTO_T_UMOUNT_FLAGS, MNT_DETACH); /* with what is mounted in it */
	guest_batch_add(b, &rq);
}

int build_vm_new_layer(struct build_vm *v, const char *hosts, const char *resolv,
		       struct arca_error **err)
{
	if (v->layers >= MAX_LAYERS)
		return arca_error_set(err, E2BIG, ARCA_ERR_INVALID,
				      "a build stage makes at most %d layers", MAX_LAYERS);
	struct waited w = { 0 };
	struct guest_batch *b = guest_batch_new(vm_guest(v->vm), on_batch, &w);
	struct guest_request rq;
	if (v->root_mounted)
		add_umount_root(b);
	unsigned k = ++v->layers;
	_cleanup_free_ char *upper = xasprintf(SCRATCH "/u%u", k);
	_cleanup_free_ char *work = xasprintf(SCRATCH "/w%u", k);
	guest_req_mkdir(&rq, upper, 0755);
	guest_batch_add(b, &rq);
	guest_req_mkdir(&rq, work, 0755);
	guest_batch_add(b, &rq);
	/* The newest layer first, the image last. */
	_cleanup_free_ char *lower = xstrdup("");
	for (unsigned i = k - 1; i >= 1; i--)
		strappendf(&lower, SCRATCH "/u%u:", i);
	strappendf(&lower, "%s", v->scratch_base ? EMPTY : LOWER);
	_cleanup_free_ char *opts =
	    xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	guest_req_mount(&rq, "overlay", GUEST_ROOT, "overlay", 0, opts);
	guest_batch_add(b, &rq);
	/* Mount points made here are left out of the layer (build-step.c's exclude list). */
	guest_batch_add_system_mounts(b);
	/* The build's /etc/hosts and resolv.conf, bound over the image's (never committed). */
	struct {
		const char *name, *data;
	} files[] = { { "hosts", hosts }, { "resolv.conf", resolv } };
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *src = xasprintf(BUILD_ETC "/%s", files[i].name);
		_cleanup_free_ char *dst = xasprintf(GUEST_ROOT "/etc/%s", files[i].name);
		guest_req_write_file(&rq, src, files[i].data, strlen(files[i].data), 0644);
		guest_batch_add(b, &rq);
		guest_req_mount(&rq, src, dst, "", MS_BIND, NULL);
		guest_batch_add(b, &rq);
	}
	v->root_mounted = true;
	return batch_end(v, b, &w, "prepare the step's root", err);
}

/* --- processes --- */

struct run {
	struct build_vm *v;
	struct guest_proc *proc;
	build_output_fn out;
	void *userdata;
	struct buf *collect; /* stderr kept for a message, when out is NULL */
	bool started, exited;
	int status;
	int start_error;
	char *start_msg;
	int in_fd; /* fed to stdin, -1 when none */
	bool in_eof;
};

static void on_started(struct guest_proc *p, int error, const char *message, uint32_t pid,
		       void *userdata)
{
	struct run *r = userdata;
	(void)p;
	(void)pid;
	r->started = true;
	if (error) {
		r->start_error = error;
		r->start_msg = xstrdup(message ? message : strerror(error));
	}
}

static void drain(struct run *r, int fd)
{
	const uint8_t *d;
	size_t n;
	while ((n = guest_proc_peek(r->proc, fd, &d)) > 0) {
		if (r->out)
			r->out(fd, d, n, r->userdata);
		else if (r->collect && fd == 2 && buf_len(r->collect) < 4096)
			buf_append(r->collect, d, n);
		guest_proc_consume(r->proc, fd, n);
	}
}

static void on_output(struct guest_proc *p, int fd, void *userdata)
{
	(void)p;
	drain(userdata, fd);
}

static void feed(struct run *r)
{
	uint8_t buf[65536];
	while (r->in_fd >= 0 && !r->in_eof) {
		size_t room = guest_proc_stdin_room(r->proc);
		if (!room)
			return; /* stdin_ready brings us back */
		ssize_t n = read(r->in_fd, buf, MIN(room, sizeof(buf)));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r->in_eof = true;
			(void)guest_proc_close_stdin(r->proc);
			return;
		}
		if (guest_proc_write_stdin(r->proc, buf, (size_t)n) < 0) {
			r->in_eof = true;
			return;
		}
	}
}

static void on_stdin_ready(struct guest_proc *p, void *userdata)
{
	(void)p;
	feed(userdata);
}

static void on_proc_exited(struct guest_proc *p, int status, void *userdata)
{
	struct run *r = userdata;
	(void)p;
	r->exited = true;
	r->status = status;
}

static const struct guest_proc_ops run_ops = {
	.started = on_started,
	.output = on_output,
	.stdin_ready = on_stdin_ready,
	.exited = on_proc_exited,
};

/* Spawns spec, feeds in_fd (when >= 0), waits for the exit and the end of its output. */
static int run_proc(struct build_vm *v, const struct guest_proc_spec *spec, int in_fd,
		    build_output_fn out, void *userdata, struct buf *collect, int *ret_status,
		    struct arca_error **err)
{
	struct run r = {
		.v = v, .out = out, .userdata = userdata, .collect = collect, .in_fd = in_fd
	};
	int k = guest_proc_spawn(vm_guest(v->vm), spec, &run_ops, &r, &r.proc);
	if (k < 0)
		return arca_error_errno(err, -k, "run a build step");
	if (in_fd >= 0)
		feed(&r);
	bool all = false;
	while (!all) {
		all = r.exited && guest_proc_output_done(r.proc, 1) &&
		      guest_proc_output_done(r.proc, 2);
		if (all)
			break;
		k = wait_for(v, &r.exited, err);
		if (k < 0)
			break;
		drain(&r, 1);
		drain(&r, 2);
		if (r.exited &&
		    !(guest_proc_output_done(r.proc, 1) && guest_proc_output_done(r.proc, 2)))
			(void)event_run(v->e, 10 * USEC_PER_MSEC);
	}
	drain(&r, 1);
	drain(&r, 2);
	if (k >= 0 && r.start_error)
		k = arca_error_set(err, r.start_error, ARCA_ERR_INTERNAL, "%s", r.start_msg);
	if (k >= 0)
		*ret_status = r.status;
	guest_proc_free(r.proc);
	free(r.start_msg);
	return k;
}

int build_vm_run(struct build_vm *v, const struct build_vm_proc *p, build_output_fn out,
		 void *userdata, int *ret_status, struct arca_error **err)
{
	if (p->cwd && p->cwd[0]) {
		struct waited w = { 0 };
		struct guest_batch *b = guest_batch_new(vm_guest(v->vm), on_batch, &w);
		struct guest_request rq;
		_cleanup_free_ char *d = xasprintf(GUEST_ROOT "%s", p->cwd);
		guest_req_mkdir(&rq, d, 0755);
		guest_batch_add(b, &rq);
		int r = batch_end(v, b, &w, "create the working directory", err);
		if (r < 0)
			return r;
	}
	struct guest_proc_spec spec = {
		.argv = p->argv,
		.env = p->env,
		.cwd = p->cwd && p->cwd[0] ? p->cwd : "/",
		.user = p->user && p->user[0] ? p->user : NULL,
		.root = GUEST_ROOT,
		.netns = true, /* its lo, and only the networks the build asked for */
		.attach_stdout = true,
		.attach_stderr = true,
	};
	return run_proc(v, &spec, -1, out, userdata, NULL, ret_status, err);
}

/*
 * A tool of the guest's own (busybox, arca-init), fed in_fd (when >= 0).
 * Its stderr makes the message of a failure: "what: stderr", or the stderr
 * alone (a user's error) when what is NULL.
 */
static int tool(struct build_vm *v, char *const *argv, int in_fd, const char *what,
		struct arca_error **err)
{
	struct buf errs = { 0 };
	struct guest_proc_spec spec = {
		.argv = argv,
		.exec_guest = true,
		.cwd = "/",
		.attach_stdin = in_fd >= 0,
		.attach_stderr = true,
	};
	int status = 0;
	int r = run_proc(v, &spec, in_fd, NULL, NULL, &errs, &status, err);
	if (r >= 0 && status != 0) {
		size_t n = buf_len(&errs);
		_cleanup_free_ char *text = xstrndup((const char *)buf_peek(&errs), n);
		while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
			text[--n] = '\0';
		if (what)
			r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "%s: %s", what,
					   text[0] ? text : "failed");
		else
			r = arca_error_set(err, EIO, ARCA_ERR_INVALID, "%s",
					   text[0] ? text : "copy failed");
	}
	buf_done(&errs);
	return r;
}

int build_vm_copy(struct build_vm *v, int tar_fd, const struct build_vm_copy *c,
		  struct arca_error **err)
{
	int r = 0;
	_cleanup_free_ char *src_root = NULL;
	if (c->from < 0) {
		char *mk[] = { (char *)BUSYBOX,
			       (char *)"sh",
			       (char *)"-c",
			       (char *)"rm -rf \"$1\" && mkdir -p \"$1\"",
			       (char *)"sh",
			       (char *)COPY_DIR,
			       NULL };
		char *untar[] = { (char *)BUSYBOX, (char *)"tar",    (char *)"-x",
				  (char *)"-C",	   (char *)COPY_DIR, NULL };
		r = tool(v, mk, -1, "prepare the copy", err);
		if (r >= 0)
			r = tool(v, untar, tar_fd, "receive the files", err);
		src_root = xstrdup(COPY_DIR);
	} else {
		src_root = xasprintf(FROM_DIR "/%d", c->from);
	}
	if (r >= 0) {
		_cleanup_strv_free_ char **argv = NULL;
		argv = strv_append(argv, INIT);
		argv = strv_append(argv, "copy");
		argv = strv_append(argv, "--cmd");
		argv = strv_append(argv, c->cmd);
		if (c->chown) {
			argv = strv_append(argv, "--chown");
			argv = strv_append(argv, c->chown);
		}
		if (c->glob)
			argv = strv_append(argv, "--glob");
		argv = strv_append(argv, GUEST_ROOT);
		argv = strv_append(argv, c->dest);
		argv = strv_append(argv, src_root);
		for (char *const *s = c->srcs; s && *s; s++)
			argv = strv_append(argv, *s);
		r = tool(v, argv, -1, NULL, err);
	}
	if (c->from < 0) {
		char *clean[] = { (char *)BUSYBOX, (char *)"rm", (char *)"-rf", (char *)COPY_DIR,
				  NULL };
		(void)tool(v, clean, -1, "clean up", NULL);
	}
	return r;
}

static void to_fd(int fd, const uint8_t *data, size_t len, void *userdata)
{
	int *out = userdata;
	if (fd == 1 && *out >= 0 && loop_write(*out, data, len) < 0)
		*out = -1;
}

int build_vm_commit(struct build_vm *v, int out_fd, struct arca_error **err)
{
	_cleanup_free_ char *upper = xasprintf(SCRATCH "/u%u", v->layers);
	if (v->root_mounted) {
		struct waited w = { 0 };
		struct guest_batch *b = guest_batch_new(vm_guest(v->vm), on_batch, &w);
		add_umount_root(b);
		int r = batch_end(v, b, &w, "unmount the step's root", err);
		if (r < 0)
			return r;
		v->root_mounted = false;
	}
	char *mark[] = { (char *)INIT, (char *)"opaque", (char *)"mark", upper, NULL };
	char *unmark[] = { (char *)INIT, (char *)"opaque", (char *)"unmark", upper, NULL };
	int r = tool(v, mark, -1, "mark opaque directories", err);
	if (r >= 0) {
		char *tar[] = {
			(char *)BUSYBOX, (char *)"sh", (char *)"-c", (char *)helper_tar_dir_script,
			(char *)"sh",	 upper,	       NULL
		};
		struct buf errs = { 0 };
		struct guest_proc_spec spec = { .argv = tar,
						.exec_guest = true,
						.cwd = "/",
						.attach_stdout = true,
						.attach_stderr = true };
		int fd = out_fd, status = 0;
		r = run_proc(v, &spec, -1, to_fd, &fd, &errs, &status, err);
		if (r >= 0 && (status != 0 || fd < 0))
			r = arca_error_set(err, EIO, ARCA_ERR_INTERNAL,
					   "read the step's changes (%d)", status);
		buf_done(&errs);
	}
	(void)tool(v, unmark, -1, "unmark opaque directories", NULL);
	return r;
}
