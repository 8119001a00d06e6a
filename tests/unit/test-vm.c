/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/vm/vm.c failure paths with a fake VMM: a VMM that dies at once, and
 * one that never answers. Either way exited() reports an error with the
 * VMM's own words, the run directory is gone, no child is left and no fd
 * leaks. A VMM whose owner died is ended by vm_clear_stale, found by the
 * PID file in its run directory, and a PID that is not its VMM is left alone.
 * (Real boots are covered by the integration tests.)
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event.h"
#include "tap.h"
#include "vm.h"

static char dir[] = "/tmp/arca-vmtest-XXXXXX";
static int exited_calls, exited_error;

static void on_exited(struct vm *vm, int error, void *ud)
{
	(void)vm;
	exited_calls++;
	exited_error = error;
	event_exit(ud, 0);
}

static const struct vm_callbacks cbs = { .exited = on_exited };

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void write_script(const char *path, const char *body)
{
	FILE *f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

static void run_case(const char *name, const char *script, usec_t boot_timeout, int want_error,
		     const char *want_msg)
{
	char qemu[300], rundir[300], vmdir[400];
	struct event *e = NULL;
	struct vm *vm = NULL;
	struct arca_error *err = NULL;

	snprintf(qemu, sizeof(qemu), "%s/fake-qemu-%s", dir, name);
	snprintf(rundir, sizeof(rundir), "%s/run", dir);
	write_script(qemu, script);
	exited_calls = 0;
	int fds_before = count_fds();

	event_new(&e);
	struct accel_choice tcg = { .accel = VM_ACCEL_TCG, .reason = "TCG: the test's choice" };
	struct vm_config cfg = {
		.id = name,
		.runtime_dir = rundir,
		.qemu = qemu,
		.kernel = "/dev/null",
		.initramfs = "/dev/null",
		.boot_timeout = boot_timeout,
		.accel = &tcg,
	};
	is_int(vm_start(e, &cfg, &cbs, e, &vm, &err), 0, "%s: spawned", name);
	snprintf(vmdir, sizeof(vmdir), "%s/%s", rundir, name);
	struct stat st;
	ok(stat(vmdir, &st) == 0, "%s: run directory exists while running", name);
	event_loop(e);
	is_int(exited_calls, 1, "%s: exited once", name);
	is_int(exited_error, want_error, "%s: error code", name);
	ok(vm_last_error(vm) && strstr(vm_last_error(vm), want_msg), "%s: message has `%s`", name,
	   want_msg);
	ok(stat(vmdir, &st) < 0 && errno == ENOENT, "%s: run directory removed", name);
	vm_free(vm);
	event_free(e);
	ok(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "%s: no child left", name);
	is_int(count_fds(), fds_before, "%s: no fd leaked", name);
}

/* A VMM whose owner is gone (vm_release: no kill, no wait), not answering QMP. */
static void stale_case(void)
{
	char qemu[300], rundir[300], fifo[300], pidfile[500], other[400];
	snprintf(qemu, sizeof(qemu), "%s/fake-qemu-stale", dir);
	snprintf(rundir, sizeof(rundir), "%s/run", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	(void)mkfifo(fifo, 0600);
	char body[400];
	snprintf(body, sizeof(body), "read x <> %s", fifo); /* sh keeps its argv: no exec */
	write_script(qemu, body);
	struct event *e = NULL;
	struct vm *vm = NULL;
	struct arca_error *err = NULL;
	event_new(&e);
	struct accel_choice tcg = { .accel = VM_ACCEL_TCG, .reason = "TCG: the test's choice" };
	struct vm_config cfg = { .id = "stale",
				 .runtime_dir = rundir,
				 .qemu = qemu,
				 .kernel = "/dev/null",
				 .initramfs = "/dev/null",
				 .boot_timeout = 60 * USEC_PER_SEC,
				 .accel = &tcg };
	is_int(vm_start(e, &cfg, &cbs, e, &vm, &err), 0, "stale: spawned");
	pid_t pid = vm_pid(vm);
	vm_release(vm); /* as a killed daemon leaves it */
	event_free(e);
	snprintf(pidfile, sizeof(pidfile), "%s/stale/vmm.pid", rundir);
	struct stat st;
	for (int i = 0; i < 500 && (stat(pidfile, &st) < 0 || st.st_size == 0); i++)
		usleep(10 * 1000); /* the child writes it after the fork */
	FILE *f = fopen(pidfile, "r");
	int written = 0;
	ok(f && fscanf(f, "%d", &written) == 1 && written == pid, "stale: its PID file names it");
	if (f)
		fclose(f);
	/* The child writes the file before its exec; a daemon's restart comes long after. */
	char cmdline_path[64], cmdline[512] = "";
	snprintf(cmdline_path, sizeof(cmdline_path), "/proc/%d/cmdline", (int)pid);
	for (int i = 0; i < 500 && !memmem(cmdline, sizeof(cmdline), "arca-stale", 10); i++) {
		usleep(10 * 1000);
		f = fopen(cmdline_path, "r");
		if (f) {
			(void)!fread(cmdline, 1, sizeof(cmdline) - 1, f);
			fclose(f);
		}
	}
	int r = vm_clear_stale(rundir, "stale", 5 * USEC_PER_SEC);
	is_int(r, 0, "stale: cleared");
	if (r < 0)
		(void)kill(pid, SIGKILL); /* no process left behind either way */
	int status = 0;
	ok(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "stale: its VMM was killed");
	snprintf(other, sizeof(other), "%s/stale", rundir);
	ok(stat(other, &st) < 0 && errno == ENOENT, "stale: run directory removed");

	/* A PID file whose PID is now another process's: that process is left alone. */
	snprintf(other, sizeof(other), "%s/reused", rundir);
	mkdir(other, 0700);
	snprintf(pidfile, sizeof(pidfile), "%s/vmm.pid", other);
	f = fopen(pidfile, "w");
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	is_int(vm_clear_stale(rundir, "reused", USEC_PER_SEC), 0, "reused: cleared");
	ok(stat(other, &st) < 0 && errno == ENOENT, "reused: run directory removed (and we live)");
}

int main(void)
{
	ok(mkdtemp(dir) != NULL, "temp dir");

	run_case("dies", "echo 'qemu-fake: cannot start' >&2; exit 1", 0, -ECHILD, "cannot start");
	run_case("hangs", "echo 'qemu-fake: hanging' >&2; exec sleep 1000", 300 * USEC_PER_MSEC,
		 -ETIMEDOUT, "did not answer");
	stale_case();

	/* Configuration errors are reported before anything is spawned. */
	struct event *e = NULL;
	struct vm *vm = NULL;
	struct arca_error *err = NULL;
	event_new(&e);
	struct vm_config bad = { .id = "../escape",
				 .runtime_dir = dir,
				 .kernel = "/dev/null",
				 .initramfs = "/dev/null" };
	ok(vm_start(e, &bad, &cbs, e, &vm, &err) < 0 && err->kind == ARCA_ERR_INVALID,
	   "an id with a slash is rejected");
	err = arca_error_free(err);
	struct vm_config dup = { .id = "dup",
				 .runtime_dir = dir,
				 .kernel = "/dev/null",
				 .initramfs = "/dev/null",
				 .qemu = "/bin/false" };
	char dupdir[300];
	snprintf(dupdir, sizeof(dupdir), "%s/dup", dir);
	mkdir(dupdir, 0700);
	ok(vm_start(e, &dup, &cbs, e, &vm, &err) < 0 && err->kind == ARCA_ERR_CONFLICT,
	   "an existing VM id is a conflict");
	struct stat st;
	ok(stat(dupdir, &st) == 0, "and its directory is left alone");
	err = arca_error_free(err);
	ok(vm_free(NULL) == NULL, "vm_free(NULL)");
	event_free(e);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	return tap_done();
}
