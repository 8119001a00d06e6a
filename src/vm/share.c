/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's shared host paths: virtiofsd over a private mount tree (see share.h). */
#include "share.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"

/* Only async-signal-safe calls after fork (arcad has threads): the message and errno. */
static _Noreturn void die(const char *what, const char *path)
{
	char num[16];
	int e = errno, n = 0;
	char rev[16];
	do
		rev[n++] = (char)('0' + e % 10);
	while ((e /= 10) && n < (int)sizeof(rev));
	for (int i = 0; i < n; i++)
		num[i] = rev[n - 1 - i];
	(void)!write(2, "share: ", 7);
	(void)!write(2, what, strlen(what));
	if (path) {
		(void)!write(2, " ", 1);
		(void)!write(2, path, strlen(path));
	}
	(void)!write(2, ": errno ", 8);
	(void)!write(2, num, (size_t)n);
	(void)!write(2, "\n", 1);
	_exit(1);
}

struct plan {
	const char *root;
	const struct vm_share *shares;
	char **targets; /* <root>/<i> */
	size_t n;
	int listen_fd;
	const char *log_path;
	bool die_with_parent;
	pid_t parent;
	char *const *argv; /* virtiofsd's, its --fd set for fd 3 */
};

/*
 * Docker's rbind: the mounts below the source come along, private, and ro,
 * nosuid and nodev hold for every one of them (mount_setattr, AT_RECURSIVE).
 * A kernel without mount_setattr gets the plain bind, where nothing below the
 * source is reachable, rather than a writable submount under a ro bind.
 */
static int bind_share(const char *source, const char *target, bool readonly)
{
	struct mount_attr attr = {
		.attr_set =
		    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0),
	};
	if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	if (mount_setattr(AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS || umount2(target, MNT_DETACH) < 0)
		return -1;
	unsigned long ro = readonly ? MS_RDONLY : 0;
	if (mount(source, target, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | ro, NULL) < 0)
		return -1;
	return 0;
}

/* In the child: the tree, then virtiofsd. */
static _Noreturn void child(const struct plan *p)
{
	sigset_t none;
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (p->die_with_parent) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != p->parent)
			_exit(1);
	}
	(void)setsid();
	int log = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fd = fcntl(p->listen_fd, F_DUPFD_CLOEXEC, 10);
	if (log < 0 || null < 0 || fd < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 ||
	    dup2(log, 2) < 0 || dup2(fd, 3) < 0)
		_exit(127);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("a private mount namespace", NULL);
	/* The root is a small tmpfs: only mount points live there, read-only once made. */
	if ((mkdir(p->root, 0700) < 0 && errno != EEXIST) ||
	    mount("tmpfs", p->root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=64k,mode=0755") < 0)
		die("the root", p->root);
	for (size_t i = 0; i < p->n; i++) {
		const struct vm_share *s = &p->shares[i];
		struct stat st;
		/* The source itself may be a symlink the user named: it is resolved here, on
		 * the host, as dockerd resolves a bind's source. Inside it, virtiofsd's
		 * sandbox keeps every lookup within the tree. */
		if (stat(s->source, &st) < 0)
			die("no such path", s->source);
		int r = 0;
		if (S_ISDIR(st.st_mode)) {
			r = mkdir(p->targets[i], 0755);
		} else {
			int f = open(p->targets[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			r = f < 0 ? -1 : close(f);
		}
		if (r < 0 || bind_share(s->source, p->targets[i], s->readonly) < 0)
			die("bind", s->source);
	}
	if (mount(NULL, p->root, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=64k,mode=0755") < 0)
		die("seal the root", p->root);
	/* virtiofsd's --fd=3 stays open across exec, and blocks: it accepts once, and
	 * a non-blocking accept would end it at once. */
	int fl = fcntl(3, F_GETFL);
	if (fcntl(3, F_SETFD, 0) < 0 || fl < 0 || fcntl(3, F_SETFL, fl & ~O_NONBLOCK) < 0)
		_exit(127);
	execv(p->argv[0], p->argv);
	die("exec", p->argv[0]);
}

int vm_share_spawn(const char *run_dir, const struct vm_share *shares, size_t n, int listen_fd,
		   const char *log_path, bool die_with_parent, pid_t *ret_pid,
		   struct arca_error **err)
{
	if (n > VM_MAX_SHARES)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%zu shared paths: a VM takes at most %d", n, VM_MAX_SHARES);
	for (size_t i = 0; i < n; i++)
		if (!shares[i].source || shares[i].source[0] != '/')
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "shared path %zu is not absolute", i);
	if (access(VM_VIRTIOFSD_PATH, X_OK) < 0)
		return arca_error_errno(err, errno, "virtiofsd `%s` (Debian's qemu-system-common)",
					VM_VIRTIOFSD_PATH);
	_cleanup_free_ char *root = xasprintf("%s/share", run_dir);
	_cleanup_free_ char *source_arg = xasprintf("source=%s", root);
	char **targets = xnew0(char *, n + 1);
	for (size_t i = 0; i < n; i++)
		targets[i] = xasprintf("%s/%zu", root, i);
	/* cache=auto: a second's attribute cache, so containers sharing a volume see each
	 * other's writes within about a second; xattr for what images keep in them. */
	char *const argv[] = { (char *)VM_VIRTIOFSD_PATH,
			       (char *)"--fd=3",
			       (char *)"-o",
			       source_arg,
			       (char *)"-o",
			       (char *)"cache=auto",
			       (char *)"-o",
			       (char *)"xattr",
			       (char *)"-o",
			       (char *)"sandbox=namespace",
			       NULL };
	struct plan p = { .root = root,
			  .shares = shares,
			  .targets = targets,
			  .n = n,
			  .listen_fd = listen_fd,
			  .log_path = log_path,
			  .die_with_parent = die_with_parent,
			  .parent = getpid(),
			  .argv = argv };
	pid_t pid = fork();
	if (pid == 0)
		child(&p);
	int e = errno;
	for (size_t i = 0; i < n; i++)
		free(targets[i]);
	free(targets);
	if (pid < 0)
		return arca_error_errno(err, e, "fork");
	*ret_pid = pid;
	return 0;
}
