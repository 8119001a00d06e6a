/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm-cycle: boots COUNT VMs, PARALLEL at a time, in one process, runs
 * `true` in each, stops it, and checks that nothing is left behind: no
 * child process, no entry in the runtime directory, no extra fd.
 * Exit 0 when clean. Used by the integration tests and bench/boot.
 *
 *   vm-cycle RUNTIME_DIR COUNT PARALLEL
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event.h"
#include "vm.h"
#include "vsock.h"

struct slot {
	struct cycle *c;
	struct vm *vm;
	struct guest_proc *proc;
	int index;
};

struct cycle {
	struct event *e;
	const char *rundir;
	char *kernel, *initramfs;
	int count, started, finished, failed, active, parallel;
	usec_t boot_total;
};

static void start_next(struct cycle *c);

static void p_exited(struct guest_proc *p, int status, void *ud)
{
	struct slot *s = ud;
	(void)p;
	if (status != 0) {
		fprintf(stderr, "vm %d: true exited %d\n", s->index, status);
		s->c->failed++;
	}
	vm_stop(s->vm, 3 * USEC_PER_SEC);
}

static const struct guest_proc_ops pops = { .exited = p_exited };

static void on_ready(struct vm *vm, void *ud)
{
	struct slot *s = ud;
	char *argv[] = { (char *)"true", NULL };
	struct guest_proc_spec spec = { .argv = argv };
	s->c->boot_total += vm_boot_usec(vm);
	if (guest_proc_spawn(vm_guest(vm), &spec, &pops, s, &s->proc) < 0) {
		s->c->failed++;
		vm_stop(vm, 0);
	}
}

static void on_exited(struct vm *vm, int error, void *ud)
{
	struct slot *s = ud;
	struct cycle *c = s->c;
	if (error < 0) {
		fprintf(stderr, "vm %d: %s\n", s->index, vm_last_error(vm));
		c->failed++;
	}
	s->proc = guest_proc_free(s->proc);
	s->vm = vm_free(s->vm);
	free(s);
	c->finished++;
	c->active--;
	start_next(c);
	if (c->finished == c->count)
		event_exit(c->e, 0);
}

static const struct vm_callbacks cbs = { .ready = on_ready, .exited = on_exited };

static void start_next(struct cycle *c)
{
	while (c->active < c->parallel && c->started < c->count) {
		struct slot *s = calloc(1, sizeof(*s));
		struct arca_error *err = NULL;
		char id[32];
		s->c = c;
		s->index = c->started++;
		snprintf(id, sizeof(id), "cycle-%d-%d", (int)getpid(), s->index);
		struct vm_config cfg = { .id = id,
					 .runtime_dir = c->rundir,
					 .kernel = c->kernel,
					 .initramfs = c->initramfs,
					 .use_vsock = vsock_available() };
		if (vm_start(c->e, &cfg, &cbs, s, &s->vm, &err) < 0) {
			fprintf(stderr, "vm %d: %s\n", s->index, err->msg);
			arca_error_free(err);
			free(s);
			c->failed++;
			c->finished++;
			continue;
		}
		c->active++;
	}
}

static int count_dir(const char *path)
{
	int n = 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	struct cycle c = { 0 };
	struct arca_error *err = NULL;

	if (argc != 4) {
		fprintf(stderr, "usage: vm-cycle RUNTIME_DIR COUNT PARALLEL\n");
		return 2;
	}
	c.rundir = argv[1];
	c.count = atoi(argv[2]);
	c.parallel = atoi(argv[3]);
	if (vm_find_kernel(NULL, &c.kernel, &err) < 0 ||
	    vm_find_initramfs(NULL, &c.initramfs, &err) < 0) {
		fprintf(stderr, "%s\n", err->msg);
		return 2;
	}
	int fds_before = count_dir("/proc/self/fd");
	event_new(&c.e);
	usec_t t0 = now_usec(CLOCK_MONOTONIC);
	start_next(&c);
	if (c.finished < c.count)
		event_loop(c.e);
	usec_t took = now_usec(CLOCK_MONOTONIC) - t0;
	event_free(c.e);

	int fds_after = count_dir("/proc/self/fd");
	int left = count_dir(c.rundir);
	int child = waitpid(-1, NULL, WNOHANG);
	bool no_child = child < 0 && errno == ECHILD;
	printf("vms=%d failed=%d seconds=%.2f mean_boot_ms=%.0f fds_before=%d fds_after=%d "
	       "rundir_entries=%d children_left=%s\n",
	       c.count, c.failed, (double)took / 1e6,
	       c.count ? (double)c.boot_total / c.count / 1e3 : 0.0, fds_before, fds_after, left,
	       no_child ? "no" : "yes");
	free(c.kernel);
	free(c.initramfs);
	return c.failed == 0 && fds_after == fds_before && left == 0 && no_child ? 0 : 1;
}
