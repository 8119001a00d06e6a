/* SPDX-License-Identifier: Apache-2.0 */
/* Helper processes in a container's VM: spawn, collect or stream, end once. */
#include "container-helper.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "daemon.h"
#include "event.h"
#include "container-maint.h"
#include "container.h"
#include "guest-client.h"
#include "guest-setup.h"
#include "strv.h"
#include "vm.h"

#define STDERR_MAX (64u * 1024u)

const char *const helper_tar_dir_script =
    "cd \"$1\" || exit 1; set --; for f in * .[!.]* ..?*; do"
    " if [ -e \"$f\" ] || [ -L \"$f\" ]; then set -- \"$@\" \"$f\"; fi; done;"
    " if [ $# = 0 ]; then exec tar -cf - --no-recursion .; fi; exec tar -cf - \"$@\"";

struct helper {
	struct helper *next; /* in the container's list */
	struct container *c;
	struct guest_proc *proc;
	const struct helper_ops *ops;
	void *userdata;
	size_t max_collect;
	struct buf out, err;
	uint32_t pid;
	bool exited, done;
	int status, done_status;
	struct event_source *done_src; /* done runs from the loop, never inside a callback */
};

static void unlink_helper(struct helper *h)
{
	struct container *c = h->c;
	if (!c)
		return;
	for (struct helper **p = &c->helpers; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			break;
		}
	h->c = NULL;
	if (!c->helpers)
		c->d->container_hooks->helpers_idle(c);
}

static int on_done_defer(struct event_source *s, void *userdata)
{
	struct helper *h = userdata;
	(void)s;
	h->done_src = event_source_free(h->done_src);
	h->ops->done(h, h->done_status, h->userdata);
	return 0;
}

/* The owner hears of it on the next loop iteration, so it may free the helper then. */
static void finish(struct helper *h, int status)
{
	if (h->done)
		return;
	h->done = true;
	h->done_status = status;
	struct event *loop = h->c->d->event;
	unlink_helper(h);
	if (event_add_defer(loop, &h->done_src, on_done_defer, h) < 0)
		h->ops->done(h, status, h->userdata); /* out of memory: at once, as a last resort */
}

static void maybe_finish(struct helper *h)
{
	if (h->exited && (!h->ops->output || guest_proc_output_done(h->proc, 1)))
		finish(h, h->status);
}

static void drain_stderr(struct helper *h)
{
	const uint8_t *p;
	size_t n;
	while ((n = guest_proc_peek(h->proc, 2, &p)) > 0) {
		if (buf_len(&h->err) < STDERR_MAX)
			buf_append(&h->err, p, MIN(n, STDERR_MAX - buf_len(&h->err)));
		guest_proc_consume(h->proc, 2, n);
	}
}

static void on_started(struct guest_proc *p, int error, const char *message, uint32_t pid,
		       void *userdata)
{
	struct helper *h = userdata;
	(void)p;
	if (error) {
		buf_append(&h->err, message, strlen(message));
		return; /* an exit (126/127) follows */
	}
	h->pid = pid;
}

static void on_output(struct guest_proc *p, int fd, void *userdata)
{
	struct helper *h = userdata;
	if (fd == 2) {
		drain_stderr(h);
		return;
	}
	if (h->ops->output) {
		h->ops->output(h, h->userdata);
		return;
	}
	const uint8_t *d;
	size_t n;
	while ((n = guest_proc_peek(p, 1, &d)) > 0) {
		if (buf_len(&h->out) + n > h->max_collect) {
			(void)guest_proc_signal(p, SIGKILL);
			finish(h, -E2BIG);
			return;
		}
		buf_append(&h->out, d, n);
		guest_proc_consume(p, 1, n);
	}
}

static void on_stdin_ready(struct guest_proc *p, void *userdata)
{
	struct helper *h = userdata;
	(void)p;
	if (h->ops->stdin_ready)
		h->ops->stdin_ready(h, h->userdata);
}

static void on_exited(struct guest_proc *p, int status, void *userdata)
{
	struct helper *h = userdata;
	(void)p;
	drain_stderr(h);
	h->exited = true;
	h->status = status;
	if (status < 0)
		finish(h, status);
	else
		maybe_finish(h);
}

static const struct guest_proc_ops proc_ops = {
	.started = on_started,
	.output = on_output,
	.stdin_ready = on_stdin_ready,
	.exited = on_exited,
};

int helper_start(struct container *c, const struct helper_spec *spec, const struct helper_ops *ops,
		 void *userdata, struct helper **ret, struct arca_error **err)
{
	struct vm *vm = c->state == CONTAINER_PAUSED	    ? NULL
			: spec->during_start && c->starting ? c->vm
							    : container_helper_vm(c);
	if (!vm)
		return arca_error_set(err, ESRCH, ARCA_ERR_CONFLICT, "container %s is not running",
				      c->id);
	char path[] = "PATH=/bin:/sbin:/usr/bin:/usr/sbin";
	char *const env[] = { path, NULL };
	/* busybox: "/bin/busybox APPLET ARGS..." from the guest's root. */
	_cleanup_strv_free_ char **argv = strv_copy(NULL);
	if (spec->busybox)
		argv = strv_append(argv, "/bin/busybox");
	for (char *const *a = spec->argv; *a; a++)
		argv = strv_append(argv, *a);
	struct guest_proc_spec ps = {
		.argv = argv,
		.exec_guest = spec->busybox,
		.env = spec->env ? spec->env : env,
		.cwd = "/",
		.root = spec->in_container ? GUEST_ROOT : NULL,
		.netns = spec->in_container || spec->netns,
		.attach_stdin = spec->with_stdin,
		.attach_stdout = true,
		.attach_stderr = true,
	};
	struct helper *h = xnew0(struct helper, 1);
	h->c = c;
	h->ops = ops;
	h->userdata = userdata;
	h->max_collect = spec->max_collect ? spec->max_collect : 1u << 20;
	int r = guest_proc_spawn(vm_guest(vm), &ps, &proc_ops, h, &h->proc);
	if (r < 0) {
		free(h);
		return arca_error_errno(err, r, "run a helper in container %.12s", c->id);
	}
	h->next = c->helpers;
	c->helpers = h;
	*ret = h;
	return 0;
}

struct helper *helper_free(struct helper *h)
{
	if (!h)
		return NULL;
	unlink_helper(h);
	h->done_src = event_source_free(h->done_src);
	if (h->proc && !h->exited)
		(void)guest_proc_signal(h->proc, SIGKILL);
	h->proc = guest_proc_free(h->proc);
	buf_done(&h->out);
	buf_done(&h->err);
	free(h);
	return NULL;
}

uint32_t helper_pid(const struct helper *h)
{
	return h->pid;
}

const struct buf *helper_stdout(const struct helper *h)
{
	return &h->out;
}

const char *helper_stderr(struct helper *h)
{
	while (buf_len(&h->err) && strchr(" \t\r\n", buf_peek(&h->err)[buf_len(&h->err) - 1]))
		h->err.len--;
	buf_append(&h->err, "", 1);
	h->err.len--; /* keep the NUL past the end */
	return (const char *)buf_peek(&h->err);
}

size_t helper_peek(struct helper *h, const uint8_t **ret)
{
	return h->proc ? guest_proc_peek(h->proc, 1, ret) : 0;
}

void helper_consume(struct helper *h, size_t n)
{
	guest_proc_consume(h->proc, 1, n);
	maybe_finish(h);
}

size_t helper_stdin_room(const struct helper *h)
{
	return h->proc && !h->exited ? guest_proc_stdin_room(h->proc) : 0;
}

int helper_write_stdin(struct helper *h, const void *p, size_t n)
{
	return guest_proc_write_stdin(h->proc, p, n);
}

int helper_close_stdin(struct helper *h)
{
	return h->exited ? 0 : guest_proc_close_stdin(h->proc);
}

void container_helpers_fail(struct container *c)
{
	while (c->helpers) {
		c->helpers->exited = true; /* nothing to signal: the VM is going */
		finish(c->helpers, -EPIPE);
	}
}
