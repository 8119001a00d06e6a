/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `arca vm run`: boot a VM, run one command in it with its stdio wired to
 * ours, forward signals and the terminal size, and exit with its status.
 *
 * Everything runs on one event loop. The command's stdio is joined to ours
 * by a stdio relay (stdio-relay.h: a slow reader throttles the guest process
 * instead of growing our memory). The command's exit is final once its
 * output is fully written; then the VM is stopped and we exit with the
 * command's status.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "cli.h"
#include "event.h"
#include "fd-util.h"
#include "guest-config.h"
#include "guest-manifest.h"
#include "guest-setup.h"
#include "log.h"
#include "parse-util.h"
#include "stdio-relay.h"
#include "strv.h"
#include "tty.h"
#include "vm.h"
#include "vsock.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct run {
	struct event *event;
	struct vm *vm;
	struct stdio_relay *relay; /* the command's, or the boot script's */

	/* options */
	bool tty, interactive, debug, timing;
	usec_t t_start;
	unsigned memory_mb, cpus;
	const char *rootfs, *workdir, *user, *kernel, *initramfs, *console_log, *hostname;
	const char *image, *root;
	char *image_disk;
	const char *guest; /* --guest: a verified guest asset set */
	char *guest_kernel, *guest_initramfs, *guest_rootfs; /* its files */
	bool boot_script; /* its rootfs has GUEST_ROOTFS_INIT, run before the command */
	bool booting;	  /* proc is that script: all of its output goes to stderr */
	struct event_source *next_src; /* the command's spawn, once the script is freed */
	json_t *image_config;
	char **argv;
	char **env;

	struct tty_state tty_state;
	bool proc_started;
	bool finishing;
	int exit_code;
};

static void finish(struct run *run, int code);
static int on_booted(struct event_source *s, void *userdata);

static void on_proc_started(struct stdio_relay *r, int error, const char *message, uint32_t pid,
			    void *userdata)
{
	struct run *run = userdata;
	run->proc_started = true;
	if (error)
		fprintf(stderr, "arca: %s\n", message ? message : strerror(error));
}

/* The command (or the boot script) exited and its output is written. */
static void on_proc_done(struct stdio_relay *r, int status, void *userdata)
{
	struct run *run = userdata;
	if (status < 0) {
		fprintf(stderr, "arca: lost the connection to the guest\n");
		status = CLI_EXIT_FAILURE;
	} else if (run->booting && status != 0) {
		fprintf(stderr, "arca: the root filesystem's init script %s exited with %d\n",
			GUEST_ROOTFS_INIT, status);
		status = CLI_EXIT_FAILURE;
	} else if (run->booting) {
		/* The command next, from the loop: this runs inside the script's callbacks. */
		if (!run->next_src &&
		    event_add_defer(run->event, &run->next_src, on_booted, run) < 0)
			finish(run, CLI_EXIT_FAILURE);
		return;
	}
	finish(run, status);
}

static const struct stdio_relay_ops relay_ops = {
	.started = on_proc_started,
	.done = on_proc_done,
};

static void spawn_command(struct run *run)
{
	struct guest_proc_spec spec = {
		.argv = run->argv,
		.env = run->env,
		.cwd = run->workdir,
		.user = run->user,
		.root = run->rootfs ? GUEST_ROOT : NULL,
		.tty = run->tty,
		.attach_stdin = run->interactive,
		.attach_stdout = true,
		.attach_stderr = true,
	};
	if (run->tty)
		(void)tty_get_size(&spec.rows, &spec.cols);
	run->relay = stdio_relay_new(run->event, run->interactive ? STDIN_FILENO : -1,
				     STDOUT_FILENO, STDERR_FILENO, &relay_ops, run);
	int r = stdio_relay_spawn(run->relay, vm_guest(run->vm), &spec);
	if (r < 0) {
		fprintf(stderr, "arca: run the command: %s\n", strerror(-r));
		finish(run, CLI_EXIT_FAILURE);
	}
}

/*
 * The set's rootfs.init: as root, in the root filesystem's /, with the
 * guest's default environment and no stdin, before the command; what it
 * changes is in the same discarded overlay as the command's changes.
 */
static void spawn_boot_script(struct run *run)
{
	char *argv[] = { (char *)GUEST_ROOTFS_INIT, NULL };
	char *env[] = { (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			NULL };
	struct guest_proc_spec spec = {
		.argv = argv,
		.env = env,
		.cwd = "/",
		.root = GUEST_ROOT,
		.attach_stdout = true,
		.attach_stderr = true,
	};
	run->booting = true;
	/* All of its output goes to stderr: the command's stdout is the command's. */
	run->relay = stdio_relay_new(run->event, -1, STDERR_FILENO, STDERR_FILENO, &relay_ops, run);
	int r = stdio_relay_spawn(run->relay, vm_guest(run->vm), &spec);
	if (r < 0) {
		fprintf(stderr, "arca: run %s: %s\n", GUEST_ROOTFS_INIT, strerror(-r));
		finish(run, CLI_EXIT_FAILURE);
	}
}

static int on_booted(struct event_source *s, void *userdata)
{
	struct run *run = userdata;
	(void)s;
	run->next_src = event_source_free(run->next_src);
	run->relay = stdio_relay_free(run->relay);
	run->booting = false;
	run->proc_started = false;
	if (!run->finishing)
		spawn_command(run);
	return 0;
}

static void on_rootfs(int error, const char *message, void *userdata)
{
	struct run *run = userdata;
	if (error) {
		fprintf(stderr, "arca: set up the root filesystem: %s\n", message);
		finish(run, CLI_EXIT_FAILURE);
		return;
	}
	if (run->boot_script)
		spawn_boot_script(run);
	else
		spawn_command(run);
}

static void on_vm_ready(struct vm *vm, void *userdata)
{
	struct run *run = userdata;
	if (run->finishing)
		return;
	if (run->rootfs) {
		struct guest_rootfs_spec spec = { .image_serial = "arca-root" };
		(void)guest_setup_rootfs(vm_guest(vm), &spec, on_rootfs, run);
		return;
	}
	spawn_command(run);
}

static void on_vm_exited(struct vm *vm, int error, void *userdata)
{
	struct run *run = userdata;
	if (error < 0 && !run->finishing) {
		fprintf(stderr, "arca: %s\n", vm_last_error(vm) ? vm_last_error(vm) : "VM failed");
		run->exit_code = CLI_EXIT_FAILURE;
	}
	if (run->exit_code < 0)
		run->exit_code = CLI_EXIT_FAILURE;
	if (run->timing)
		fprintf(stderr,
			"arca-timing: spawn_to_first_rpc_ms=%.1f guest_kernel_to_init_ms=%.1f "
			"guest_init_to_ready_ms=%.1f total_ms=%.1f accel=%s\n",
			(double)vm_boot_usec(vm) / 1e3, (double)vm_hello(vm)->boot_ns / 1e6,
			(double)guest_hello_init_ns(vm_hello(vm)) / 1e6,
			(double)(now_usec(CLOCK_MONOTONIC) - run->t_start) / 1e3,
			accel_name(vm_accel(vm)->accel));
	event_exit(run->event, run->exit_code);
}

static const struct vm_callbacks vm_cbs = {
	.ready = on_vm_ready,
	.exited = on_vm_exited,
};

static void finish(struct run *run, int code)
{
	if (run->finishing)
		return;
	run->finishing = true;
	run->exit_code = code;
	tty_restore(&run->tty_state);
	if (run->relay)
		stdio_relay_stop_input(run->relay);
	vm_stop(run->vm, 3 * USEC_PER_SEC);
}

static int on_signal(struct event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct run *run = userdata;
	(void)s;
	int sig = (int)si->ssi_signo;

	struct guest_proc *p = run->relay ? stdio_relay_proc(run->relay) : NULL;
	if (sig == SIGWINCH) {
		unsigned rows, cols;
		if (p && run->tty && tty_get_size(&rows, &cols) == 0)
			(void)guest_proc_resize(p, rows, cols);
		return 0;
	}
	if (p && run->proc_started && !guest_proc_exited(p, NULL)) {
		(void)guest_proc_signal(p, sig);
		return 0;
	}
	/* Nothing to forward to yet: give up on the run. */
	finish(run, 128 + sig);
	return 0;
}

static const char *runtime_dir(void)
{
	static char buf[256];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (getenv("ARCA_RUNTIME_DIR"))
		return getenv("ARCA_RUNTIME_DIR");
	if (geteuid() == 0)
		return "/run/arca/vm";
	if (xdg && xdg[0])
		snprintf(buf, sizeof(buf), "%s/arca/vm", xdg);
	else
		snprintf(buf, sizeof(buf), "/tmp/arca-%u/vm", (unsigned)geteuid());
	return buf;
}

/*
 * Removes run directories left by `arca vm run` processes that were killed
 * with SIGKILL (their ids end in -PID and that PID no longer exists).
 */
static void sweep_stale(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *dash = strrchr(de->d_name, '-');
		int pid;
		if (strncmp(de->d_name, "run-", 4) != 0 || !dash || safe_atoi(dash + 1, &pid) < 0 ||
		    pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
		(void)rm_rf(path);
	}
	closedir(d);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: arca vm run [OPTIONS] -- COMMAND [ARG...]\n\n"
		"  -m, --memory MB       guest memory (default 256)\n"
		"      --cpus N          vCPUs (default 1)\n"
		"      --rootfs IMG      run COMMAND in this ext4 image (changes are discarded)\n"
		"      --image NAME      run in an image from the store (its disk, env, cmd...)\n"
		"      --root DIR        the image store (default /var/lib/arca, or $ARCA_ROOT)\n"
		"  -t, --tty             allocate a pseudo-terminal\n"
		"  -i, --interactive     forward stdin\n"
		"  -e, --env K=V         set an environment variable\n"
		"  -w, --workdir DIR     working directory\n"
		"  -u, --user USER[:GROUP]\n"
		"      --hostname NAME   guest hostname\n"
		"      --kernel PATH     guest kernel (default: the cached Arca kernel)\n"
		"      --initramfs PATH  guest initramfs (default: next to this binary)\n"
		"      --guest DIR       a guest set from `arca guest build` (verified first)\n"
		"      --console-log PATH  keep the guest console here\n"
		"      --debug           arca-init debug logging on the console\n"
		"      --timing          print boot and run timings on stderr at exit\n");
}

static int parse_args(struct run *run, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "rootfs", required_argument, NULL, 'r' },
		{ "image", required_argument, NULL, 'G' },
		{ "root", required_argument, NULL, 'R' },
		{ "tty", no_argument, NULL, 't' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initramfs", required_argument, NULL, 'I' },
		{ "guest", required_argument, NULL, 'g' },
		{ "console-log", required_argument, NULL, 'C' },
		{ "debug", no_argument, NULL, 'd' },
		{ "timing", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t v;
	int c;

	run->env = strv_copy(NULL);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+m:tie:w:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
		case 'c':
			if (safe_atou32(optarg, &v) < 0 || v == 0) {
				fprintf(stderr, "arca: invalid number `%s`\n", optarg);
				return -EINVAL;
			}
			if (c == 'm')
				run->memory_mb = v;
			else
				run->cpus = v;
			break;
		case 'r': run->rootfs = optarg; break;
		case 'G': run->image = optarg; break;
		case 'R': run->root = optarg; break;
		case 't': run->tty = true; break;
		case 'i': run->interactive = true; break;
		case 'e':
			if (!strchr(optarg, '=')) {
				fprintf(stderr, "arca: --env wants KEY=VALUE, got `%s`\n", optarg);
				return -EINVAL;
			}
			run->env = strv_append(run->env, optarg);
			break;
		case 'w': run->workdir = optarg; break;
		case 'u': run->user = optarg; break;
		case 'H': run->hostname = optarg; break;
		case 'k': run->kernel = optarg; break;
		case 'I': run->initramfs = optarg; break;
		case 'g': run->guest = optarg; break;
		case 'C': run->console_log = optarg; break;
		case 'd': run->debug = true; break;
		case 'T': run->timing = true; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind >= argc && !run->image) {
		usage(stderr);
		return -EINVAL;
	}
	if (run->guest && (run->kernel || run->initramfs)) {
		fprintf(stderr,
			"arca: --guest gives the kernel and initramfs: not with --kernel or "
			"--initramfs\n");
		return -EINVAL;
	}
	if (run->image && run->rootfs) {
		fprintf(stderr, "arca: --image and --rootfs exclude each other\n");
		return -EINVAL;
	}
	run->argv = strv_copy(argv + optind);
	return 0;
}

/* --guest DIR: the set verifies (every checksum, the buildId), then its files boot. */
static int use_guest_set(struct run *run, struct arca_error **err)
{
	struct guest_set set;
	int r = guest_set_open(run->guest, &set, err);
	if (r < 0)
		return r;
	run->guest_kernel = TAKE_PTR(set.kernel);
	run->guest_initramfs = TAKE_PTR(set.initramfs);
	run->kernel = run->guest_kernel;
	run->initramfs = run->guest_initramfs;
	/* Its root filesystem, unless the command names another (--rootfs, --image). */
	if (set.rootfs && !run->rootfs && !run->image) {
		run->guest_rootfs = TAKE_PTR(set.rootfs);
		run->rootfs = run->guest_rootfs;
		run->boot_script = set.rootfs_init;
	}
	guest_set_done(&set);
	return 0;
}

static bool env_has(char *const *env, const char *key, size_t klen)
{
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
			return true;
	return false;
}

/*
 * Docker's rules for a container made from an image: the command is the
 * entrypoint plus our arguments (or the image's Cmd); the environment is
 * the image's with ours on top; working directory and user default to the
 * image's.
 */
static int apply_image(struct run *run)
{
	json_t *cfg = NULL;
	if (cli_image_root_disk(run->root, run->image, &run->image_disk, &cfg) < 0)
		return -ENOENT;
	run->rootfs = run->image_disk;

	char **env = strv_copy(NULL);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(cfg, "Env"), i, v)
	{
		const char *e = json_string_value(v);
		if (e && strchr(e, '=') && !env_has(run->env, e, strcspn(e, "=")))
			env = strv_append(env, e);
	}
	for (char **e = run->env; *e; e++)
		env = strv_append(env, *e);
	strv_free(run->env);
	run->env = env;

	char **argv = strv_copy(NULL);
	json_array_foreach(json_object_get(cfg, "Entrypoint"), i, v) if (json_string_value(v))
	    argv = strv_append(argv, json_string_value(v));
	if (run->argv[0])
		for (char **a = run->argv; *a; a++)
			argv = strv_append(argv, *a);
	else
		json_array_foreach(json_object_get(cfg, "Cmd"), i, v) if (json_string_value(v))
		    argv = strv_append(argv, json_string_value(v));
	strv_free(run->argv);
	run->argv = argv;

	const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
	const char *user = json_string_value(json_object_get(cfg, "User"));
	if (!run->workdir && wd && wd[0])
		run->workdir = wd; /* cfg lives as long as the run: kept below */
	if (!run->user && user && user[0])
		run->user = user;
	run->image_config = cfg;
	if (!run->argv[0]) {
		fprintf(stderr, "arca: no command specified, and the image has none\n");
		return -EINVAL;
	}
	return 0;
}

static void finish_env(struct run *run)
{
	if (!env_has(run->env, "PATH", 4))
		run->env = strv_append(run->env, DEFAULT_PATH);
	if (run->tty) {
		bool has_term = false;
		for (char **e = run->env; *e; e++)
			has_term |= strncmp(*e, "TERM=", 5) == 0;
		if (!has_term)
			run->env = strv_append(run->env, "TERM=xterm");
	}
}

static int add_signals(struct run *run, struct event_source **srcs)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
		int r = event_add_signal(run->event, &srcs[i], sigs[i], on_signal, run);
		if (r < 0)
			return r;
	}
	return 0;
}

int cmd_vm_run(int argc, char **argv)
{
	struct run run = { .exit_code = -1, .t_start = now_usec(CLOCK_MONOTONIC) };
	_cleanup_(event_freep) struct event *e = NULL;
	_cleanup_free_ char *kernel = NULL, *initramfs = NULL, *id = NULL;
	_cleanup_error_ struct arca_error *err = NULL;
	struct event_source *sig_srcs[7] = { 0 };
	uint8_t rnd[6] = { 0 };
	int r;

	r = parse_args(&run, argc, argv);
	if (r == 1) { /* --help */
		strv_free(run.env);
		return 0;
	}
	if (r < 0)
		goto out;
	if (run.guest && use_guest_set(&run, &err) < 0) {
		fprintf(stderr, "arca: --guest: %s\n", err->msg);
		r = -EINVAL;
		goto out;
	}
	if (vm_find_kernel(run.kernel, &kernel, &err) < 0 ||
	    vm_find_initramfs(run.initramfs, &initramfs, &err) < 0) {
		fprintf(stderr, "arca: %s\n", err->msg);
		r = -EINVAL;
		goto out;
	}
	if (run.image && apply_image(&run) < 0) {
		r = -EINVAL;
		goto out;
	}
	finish_env(&run);
	if (run.rootfs && access(run.rootfs, R_OK) < 0) {
		fprintf(stderr, "arca: rootfs `%s`: %s\n", run.rootfs, strerror(errno));
		r = -EINVAL;
		goto out;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	r = event_new(&e);
	if (r >= 0) {
		run.event = e;
		r = add_signals(&run, sig_srcs);
	}
	if (r < 0) {
		fprintf(stderr, "arca: event loop: %s\n", strerror(-r));
		goto out;
	}

	if (getrandom(rnd, sizeof(rnd), 0) < 0)
		memset(rnd, 0, sizeof(rnd));
	id = xasprintf("run-%02x%02x%02x%02x%02x%02x-%d", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		       rnd[5], (int)getpid());
	sweep_stale(runtime_dir());
	struct vm_config cfg = {
		.id = id,
		.runtime_dir = runtime_dir(),
		.kernel = kernel,
		.initramfs = initramfs,
		.memory_mb = run.memory_mb,
		.cpus = run.cpus,
		.hostname = run.hostname,
		.console_log = run.console_log,
		.debug = run.debug,
		.die_with_parent = true,
		.use_vsock = vsock_available(),
	};
	if (run.rootfs) {
		cfg.disks[0] =
		    (struct vm_disk){ .path = run.rootfs, .serial = "arca-root", .readonly = true };
		cfg.n_disks = 1;
	}

	if (run.tty && run.interactive && isatty(STDIN_FILENO))
		(void)tty_make_raw(&run.tty_state, STDIN_FILENO);

	r = vm_start(e, &cfg, &vm_cbs, &run, &run.vm, &err);
	if (r < 0) {
		tty_restore(&run.tty_state);
		fprintf(stderr, "arca: %s\n", err->msg);
		goto out;
	}
	r = event_loop(e);

out:
	tty_restore(&run.tty_state);
	run.next_src = event_source_free(run.next_src);
	run.relay = stdio_relay_free(run.relay);
	run.vm = vm_free(run.vm);
	for (size_t i = 0; i < ELEMENTSOF(sig_srcs); i++)
		sig_srcs[i] = event_source_free(sig_srcs[i]);
	strv_free(run.argv);
	strv_free(run.env);
	free(run.image_disk);
	free(run.guest_kernel);
	free(run.guest_initramfs);
	free(run.guest_rootfs);
	json_decref(run.image_config);
	if (r < 0)
		return r == -EINVAL ? 2 : CLI_EXIT_FAILURE;
	return r;
}
