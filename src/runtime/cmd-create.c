/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `create`: read and check the bundle, make <root>/<id>, fork the monitor
 * (monitor.c) and wait until it says the VM is up with the container's file
 * system mounted; then write --pid-file (last, atomically) and return. The
 * monitor is reparented to the caller, a subreaper that waits on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "cgroup.h"
#include "cleanup.h"
#include "fd-util.h"
#include "monitor.h"
#include "parse-util.h"
#include "runtime.h"
#include "state.h"
#include "strv.h"

struct create_opts {
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	unsigned preserve_fds;
	const char *id;
};

static int parse(struct rt_ctx *ctx, int argc, char **argv, struct create_opts *o)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "console-socket", required_argument, NULL, 'c' },
		{ "preserve-fds", required_argument, NULL, 'P' },
		{ "no-pivot", no_argument, NULL, 'n' },
		{ "no-new-keyring", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+b:", opts, NULL)) != -1) {
		switch (c) {
		case 'b': o->bundle = optarg; break;
		case 'p': o->pid_file = optarg; break;
		case 'c': o->console_socket = optarg; break;
		case 'P':
			if (safe_atou32(optarg, &o->preserve_fds) < 0) {
				rt_log(&ctx->log, RT_LOG_ERROR, "--preserve-fds: not a number: %s",
				       optarg);
				return -EINVAL;
			}
			break;
		case 'n':
		case 'k': break; /* pivot_root and keyrings are the guest's business */
		default: rt_log(&ctx->log, RT_LOG_ERROR, "create: unknown option"); return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		rt_log(&ctx->log, RT_LOG_ERROR, "create: usage: create [OPTIONS] ID");
		return -EINVAL;
	}
	o->id = argv[optind];
	if (!o->bundle)
		o->bundle = ".";
	return 0;
}

/* A path of the spec made absolute against the bundle, resolved, and there. */
static char *resolve(const char *bundle, const char *path, bool want_dir, const char *what,
		     struct arca_error **err)
{
	_cleanup_free_ char *joined =
	    path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", bundle, path);
	char *real = realpath(joined, NULL);
	struct stat st;
	if (!real || stat(real, &st) < 0) {
		arca_error_errno(err, errno, "%s %s", what, joined);
		free(real);
		return NULL;
	}
	if (want_dir && !S_ISDIR(st.st_mode)) {
		arca_error_set(err, ENOTDIR, ARCA_ERR_INVALID, "%s %s: not a directory", what,
			       joined);
		free(real);
		return NULL;
	}
	return real;
}

/* The monitor's answer: "ok", or its error. */
static int wait_ready(int fd, char **ret_error)
{
	char buf[4096];
	ssize_t n = loop_read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (n > 0 && strcmp(buf, "ok") == 0)
		return 0;
	*ret_error = xstrdup(buf[0] ? buf : "the monitor exited before the container was up");
	return -EIO;
}

int rt_cmd_create(struct rt_ctx *ctx, int argc, char **argv)
{
	struct create_opts o = { 0 };
	struct rt_spec spec = { 0 };
	_cleanup_error_ struct arca_error *err = NULL;
	_cleanup_free_ char *bundle = NULL, *config = NULL, *text = NULL, *rootfs = NULL;
	_cleanup_free_ char *dir = NULL, *cgroup = NULL, *error = NULL;
	char **binds = NULL;
	int r, code = 1;

	if (parse(ctx, argc, argv, &o) < 0)
		return 1;
	if (!rt_id_valid(o.id)) {
		rt_log(&ctx->log, RT_LOG_ERROR, "invalid container id `%s`", o.id);
		return 1;
	}
	if (o.preserve_fds) {
		rt_log(&ctx->log, RT_LOG_ERROR,
		       "--preserve-fds: passing file descriptors into a VM is not supported");
		return 1;
	}
	bundle = realpath(o.bundle, NULL);
	if (!bundle) {
		rt_log(&ctx->log, RT_LOG_ERROR, "bundle %s: %s", o.bundle, strerror(errno));
		return 1;
	}
	config = xasprintf("%s/config.json", bundle);
	r = read_file_at(AT_FDCWD, config, RT_SPEC_MAX_BYTES, &text, NULL);
	if (r < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "read %s: %s", config, strerror(-r));
		return 1;
	}
	if (rt_spec_parse(text, strlen(text), &spec, &err) < 0)
		goto out;
	if (spec.terminal != (o.console_socket != NULL)) {
		rt_log(&ctx->log, RT_LOG_ERROR,
		       spec.terminal ? "process.terminal is set: --console-socket is needed"
				     : "--console-socket given, but process.terminal is not set");
		goto out_spec;
	}
	if (spec.netns_path && access(spec.netns_path, R_OK) < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "the network namespace %s: %s", spec.netns_path,
		       strerror(errno));
		goto out_spec;
	}
	if (spec.not_applied) /* as runc warns of what it cannot apply, and goes on */
		rt_log(&ctx->log, RT_LOG_WARN,
		       "not applied in the VM, which is the container's boundary: %s",
		       spec.not_applied);
	rootfs = resolve(bundle, spec.root_path, true, "root.path", &err);
	if (!rootfs)
		goto out;
	binds = xnew0(char *, spec.n_mounts + 1);
	for (size_t i = 0; i < spec.n_mounts; i++)
		if (strcmp(spec.mounts[i].type, "bind") == 0 &&
		    !(binds[i] =
			  resolve(bundle, spec.mounts[i].source, false, "mount source", &err)))
			goto out;
	if (rt_cgroup_path(spec.cgroups_path, o.id, &cgroup, &err) < 0)
		goto out;

	r = mkdir_p(ctx->root, 0700);
	if (r < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "create %s: %s", ctx->root, strerror(-r));
		goto out_spec;
	}
	dir = rt_container_dir(ctx->root, o.id);
	if (mkdir(dir, 0700) < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR,
		       errno == EEXIST ? "container with id exists: %s" : "create %s: %m",
		       errno == EEXIST ? o.id : dir);
		goto out_spec;
	}

	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "pipe: %s", strerror(errno));
		goto out_dir;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		goto out_dir;
	}
	if (pid == 0) {
		close(pipefd[0]);
		struct rt_log mlog = ctx->log;
		mlog.quiet_stderr = true;
		struct monitor_args a = {
			.root = ctx->root,
			.id = o.id,
			.dir = dir,
			.vm_dir = ctx->vm_dir,
			.bundle = bundle,
			.rootfs = rootfs,
			.bind_sources = binds,
			.spec = &spec,
			.cgroup = cgroup,
			.ready_fd = pipefd[1],
			.console_socket = o.console_socket,
			.log = &mlog,
			.debug = ctx->debug,
		};
		exit(monitor_run(&a)); /* exit: a sanitizer build checks the monitor for leaks */
	}
	close(pipefd[1]);
	r = wait_ready(pipefd[0], &error);
	close(pipefd[0]);
	if (r < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "%s", error);
		(void)waitpid(pid, NULL, 0);
		(void)rt_cgroup_destroy(cgroup, 10 * USEC_PER_SEC, NULL);
		goto out_dir;
	}
	if (o.pid_file && rt_write_pid_file(o.pid_file, pid, &err) < 0) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		(void)rt_cgroup_destroy(cgroup, 10 * USEC_PER_SEC, NULL);
		goto out_dir;
	}
	code = 0;
	goto out_spec;

out_dir:
	(void)rm_rf(dir);
out:
	if (err)
		rt_log(&ctx->log, RT_LOG_ERROR, "%s", err->msg);
out_spec:
	for (size_t i = 0; binds && i < spec.n_mounts; i++)
		free(binds[i]);
	free(binds);
	rt_spec_done(&spec);
	return code;
}
