/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arca-init: PID 1 of every Arca guest.
 *
 * Boot: mount the base filesystems, set the hostname from the kernel command
 * line, take SIGCHLD through a signalfd, open the host channel and serve RPCs
 * from the event loop forever. PID 1 never exits: a fatal setup error, or a
 * SHUTDOWN request, ends in reboot(), which with QEMU's -no-reboot stops the VM.
 *
 * Kernel command line parameters read here:
 *   arca.channel=serial|vsock   the host channel (default serial)
 *   arca.hostname=NAME          initial hostname
 *   arca.debug                  debug logging on the console
 *   arca.ephemeral              the host never comes back: its leaving ends the VM
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "strv.h"
#include "event.h"
#include "fd-util.h"
#include "init.h"
#include "log.h"

static _Noreturn void halt_vm(void)
{
	sync();
	(void)reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

/* Finds `key=value` (or a bare `key`, giving "") on the kernel command line. */
static int cmdline_get(const char *cmdline, const char *key, char *val, size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ' || *p == '\n')
			p++;
		const char *end = p + strcspn(p, " \n");
		if ((size_t)(end - p) >= klen && strncmp(p, key, klen) == 0 &&
		    (p + klen == end || p[klen] == '=')) {
			const char *v = p + klen == end ? end : p + klen + 1;
			size_t n = (size_t)(end - v);
			if (n >= len)
				return -ENAMETOOLONG;
			memcpy(val, v, n);
			val[n] = '\0';
			return 1;
		}
		p = end;
	}
	return 0;
}

static void setup_console(void)
{
	/* The kernel opened /dev/console on 0-2 if the initramfs has the node. */
	if (fcntl(STDERR_FILENO, F_GETFD) >= 0)
		return;
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			(void)dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static int apply_cmdline(struct guest_init *gi)
{
	_cleanup_free_ char *cmdline = NULL;
	char val[256];

	int r = read_file_at(AT_FDCWD, "/proc/cmdline", 4096, &cmdline, NULL);
	if (r < 0)
		return log_error_errno(r, "read /proc/cmdline: %m");

	if (cmdline_get(cmdline, "arca.debug", val, sizeof(val)) > 0)
		log_setup("arca-init", LOG_LEVEL_DEBUG);
	gi->channel = CHANNEL_SERIAL;
	if (cmdline_get(cmdline, "arca.channel", val, sizeof(val)) > 0 && strcmp(val, "vsock") == 0)
		gi->channel = CHANNEL_VSOCK;
	gi->ephemeral = cmdline_get(cmdline, "arca.ephemeral", val, sizeof(val)) > 0;
	if (cmdline_get(cmdline, "arca.hostname", val, sizeof(val)) > 0 && val[0] &&
	    sethostname(val, strlen(val)) < 0)
		log_warn("sethostname `%s` failed: %m, ignoring", val);
	return 0;
}

/*
 * Loads the kernel modules listed in /etc/arca-modules, in order (the
 * initramfs builder puts dependencies first). Only a modular kernel, such as
 * Debian's fallback, ships that list; Arca's own kernel has everything built in.
 */
static void load_modules(void)
{
	_cleanup_free_ char *list = NULL;
	if (read_file_at(AT_FDCWD, "/etc/arca-modules", 64 * 1024, &list, NULL) < 0)
		return;
	char *save = NULL;
	for (char *path = strtok_r(list, "\n", &save); path; path = strtok_r(NULL, "\n", &save)) {
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
			log_warn("load module `%s`: %m, ignoring", path);
	}
}

/*
 * The default environment a guest set bakes in (/etc/arca-env, KEY=VALUE
 * lines, written by mkinitramfs.py from the set's config): every process gets
 * it under its own. Malformed lines are skipped.
 */
static char **load_default_env(void)
{
	_cleanup_free_ char *text = NULL;
	char **env = strv_copy(NULL);
	if (read_file_at(AT_FDCWD, "/etc/arca-env", 64 * 1024, &text, NULL) < 0)
		return env;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(l, '=');
		if (eq && eq != l)
			env = strv_append(env, l);
		else
			log_warn("/etc/arca-env: `%s` is not KEY=VALUE, ignoring", l);
	}
	return env;
}

static int on_term_signal(struct event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	(void)s;
	(void)ud;
	/* The host stops us over the channel; a stray signal to PID 1 is ignored. */
	log_debug("ignoring signal %u sent to pid 1", si->ssi_signo);
	return 0;
}

int main(int argc, char **argv)
{
	/* Run by the host as a helper, not as PID 1. */
	if (argc > 1 && strcmp(argv[1], "opaque") == 0)
		return opaque_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "copy") == 0)
		return copy_main(argc, argv);

	struct guest_init gi = { .listen_fd = -EBADF };
	_cleanup_(event_freep) struct event *e = NULL;
	_cleanup_event_source_ struct event_source *sterm = NULL, *sint = NULL, *shup = NULL;
	int r;

	gi.boot_ns = now_nsec(CLOCK_BOOTTIME);
	log_setup("arca-init", LOG_LEVEL_INFO);
	if (getpid() != 1)
		log_warn("not running as pid 1, ignoring");

	r = mount_base_filesystems();
	nsec_t t_mounts = now_nsec(CLOCK_BOOTTIME);
	setup_console();
	if (r < 0) {
		log_error_errno(r, "mounting base filesystems failed: %m");
		halt_vm();
	}
	if (apply_cmdline(&gi) < 0)
		halt_vm();
	load_modules();
	gi.default_env = load_default_env();
	nsec_t t_setup = now_nsec(CLOCK_BOOTTIME);

	r = event_new(&e);
	if (r < 0) {
		log_error_errno(r, "event loop: %m");
		halt_vm();
	}
	gi.event = e;
	r = reaper_setup(&gi);
	if (r >= 0)
		r = event_add_signal(e, &sterm, SIGTERM, on_term_signal, &gi);
	if (r >= 0)
		r = event_add_signal(e, &sint, SIGINT, on_term_signal, &gi);
	if (r >= 0)
		r = event_add_signal(e, &shup, SIGHUP, on_term_signal, &gi);
	if (r < 0) {
		log_error_errno(r, "signal setup: %m");
		halt_vm();
	}
	nsec_t t_events = now_nsec(CLOCK_BOOTTIME);
	/* The container's network namespace with lo up; without it, processes share ours. */
	r = net_setup(&gi);
	if (r < 0)
		log_warn("container network namespace: %s, processes use the VM's", strerror(-r));
	nsec_t t_net = now_nsec(CLOCK_BOOTTIME);
	r = channel_open(&gi);
	if (r < 0) {
		log_error_errno(r, "opening the host channel failed: %m");
		halt_vm();
	}
	/* Where a boot goes before the host hears from us (bench/boot's init_to_ready). */
	log_debug("boot: mounts %llu us, console/cmdline/env %llu us, events %llu us, network %llu "
		  "us, channel open %llu us",
		  (unsigned long long)(t_mounts - gi.boot_ns) / 1000,
		  (unsigned long long)(t_setup - t_mounts) / 1000,
		  (unsigned long long)(t_events - t_setup) / 1000,
		  (unsigned long long)(t_net - t_events) / 1000,
		  (unsigned long long)(now_nsec(CLOCK_BOOTTIME) - t_net) / 1000);

	r = event_loop(e);
	log_error("event loop ended (%d), stopping the VM", r);
	channel_done(&gi);
	halt_vm();
}
