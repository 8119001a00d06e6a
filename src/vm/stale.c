/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding a VMM again without its owner: the PID file its process writes
 * before the exec, the check that a PID still names it, and the end of a
 * VM a dead owner left that no one adopts (vm_clear_stale).
 */
#include "vm-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "parse-util.h"

void vmm_pid_write(const char *path)
{
	/* In a forked child of a threaded daemon: async-signal-safe calls only. */
	char buf[16];
	size_t n = sizeof(buf);
	buf[--n] = '\n';
	for (unsigned long v = (unsigned long)getpid(); n > 0;) {
		buf[--n] = (char)('0' + v % 10);
		v /= 10;
		if (!v)
			break;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)!write(fd, buf + n, sizeof(buf) - n);
	(void)close(fd);
}

/* Whether arg names dir (-chroot), a path in it, or the VM's -name arca-<id>. */
static bool arg_names(const char *arg, const char *dir, const char *name)
{
	size_t nlen = strlen(name), dlen = strlen(dir);
	if (strncmp(arg, name, nlen) == 0 && (arg[nlen] == '\0' || arg[nlen] == ','))
		return true;
	for (const char *at = arg; (at = strstr(at, dir)); at++)
		if (at[dlen] == '\0' || at[dlen] == '/' || at[dlen] == ',')
			return true; /* not a longer id's directory */
	return false;
}

bool vmm_is_ours(pid_t pid, const char *dir)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/cmdline", (int)pid);
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;
	/* (Ours are a few KiB; a command line over 64 KiB is not a VMM of ours.) */
	if (read_file_at(AT_FDCWD, path, 64 * 1024, &buf, &n) < 0 || n == 0)
		return false;
	const char *slash = strrchr(dir, '/');
	_cleanup_free_ char *name = xasprintf("arca-%s", slash ? slash + 1 : dir);
	for (const char *arg = buf; arg < buf + n; arg += strlen(arg) + 1)
		if (arg_names(arg, dir, name))
			return true;
	return false;
}

/* The PID in dir's PID file, when that process is still its VMM; 0 if not. */
static pid_t read_vmm_pid(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/" VMM_PID_FILE, dir);
	_cleanup_free_ char *text = NULL;
	int pid = 0;
	if (read_file_at(AT_FDCWD, path, 16, &text, NULL) < 0)
		return 0;
	text[strcspn(text, "\n")] = '\0';
	if (safe_atoi(text, &pid) < 0 || pid <= 0)
		return 0;
	return vmm_is_ours(pid, dir) ? pid : 0;
}

/* A listener is there: connected, or its backlog full (it does not accept: never block). */
static bool socket_answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	return fd >= 0 && (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN);
}

/* Tells a VMM nobody owns any more to quit, over its QMP socket (no PID needed). */
static void qmp_quit(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 2 };
	/* the send timeout bounds the connect too, should its backlog be full */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return;
	char buf[4096];
	static const char cmds[] = "{\"execute\":\"qmp_capabilities\"}\n"
				   "{\"execute\":\"quit\"}\n";
	(void)!read(fd, buf, sizeof(buf)); /* the greeting */
	(void)!write(fd, cmds, sizeof(cmds) - 1);
	while (read(fd, buf, sizeof(buf)) > 0)
		; /* until it closes */
}

int vm_clear_stale(const char *runtime_dir, const char *id, usec_t wait)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", runtime_dir, id);
	struct stat st;
	if (stat(dir, &st) < 0)
		return 0;
	/*
	 * A VM left running by a dead owner, that no one will adopt: it goes.
	 * Killed by its PID where the file names it (nothing of its own to lose:
	 * its guest was not asked to stop either way). Over QMP otherwise (a
	 * directory of an arcad that wrote no PID file), which a VMM that is still
	 * starting may not hear: QEMU drops the requests of a client that closed.
	 */
	pid_t pid = read_vmm_pid(dir);
	if (pid > 0) {
		_cleanup_close_ int pidfd = pidfd_open_(pid);
		int r = pidfd < 0 ? (errno == ESRCH ? 0 : -errno) : pidfd_kill_wait(pidfd, wait);
		return r < 0 ? r : rm_rf(dir);
	}
	_cleanup_free_ char *qmp = xasprintf("%s/qmp.sock", dir);
	if (socket_answers(qmp))
		qmp_quit(qmp);
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + wait;
	while (socket_answers(qmp)) {
		if (now_usec(CLOCK_MONOTONIC) >= deadline)
			return -EBUSY;
		(void)usleep(50 * 1000);
	}
	return rm_rf(dir);
}
