/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The commands on an existing container: start, state, kill, delete, list,
 * and the static `features`. Each reads state.json; only `start` talks to
 * the monitor (ctl.sock); kill signals the monitor, which relays it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cgroup.h"
#include "cleanup.h"
#include "ctl.h"
#include "fd-util.h"
#include "net.h"
#include "parse-util.h"
#include "pidfd.h"
#include "runtime.h"
#include "state.h"
#include "vm.h"

#define START_TIMEOUT_MS (120 * 1000)

/* The options of a command that takes an ID and maybe one more argument. */
static int args_id(struct rt_ctx *ctx, int argc, char **argv, int optind_, int max_extra,
		   const char **ret_id)
{
	if (optind_ >= argc || argc - optind_ - 1 > max_extra) {
		rt_log(&ctx->log, RT_LOG_ERROR, "%s: wrong number of arguments", argv[0]);
		return -EINVAL;
	}
	*ret_id = argv[optind_];
	return 0;
}

static int load(struct rt_ctx *ctx, const char *id, struct rt_state *st)
{
	_cleanup_error_ struct arca_error *err = NULL;
	if (rt_state_read(ctx->root, id, st, &err) < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "%s", err->msg);
		return -ENOENT;
	}
	return 0;
}

/* Asks the monitor for `request` (ctl.h): 0 once it answered "ok". */
static int ask_monitor(struct rt_ctx *ctx, const char *id, const char *request)
{
	_cleanup_free_ char *dir = rt_container_dir(ctx->root, id);
	_cleanup_close_ int fd = rt_ctl_connect(dir);
	char buf[4096];
	int r = fd < 0 ? fd : rt_ctl_send(fd, request, strlen(request), NULL, 0);
	if (r < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "reach the container's monitor: %s", strerror(-r));
		return r;
	}
	ssize_t n = rt_ctl_recv(fd, buf, sizeof(buf), START_TIMEOUT_MS, NULL, NULL);
	if (n > 0 && strcmp(buf, "ok") == 0)
		return 0;
	rt_log(&ctx->log, RT_LOG_ERROR, "%s",
	       n > 0 && strncmp(buf, "error: ", 7) == 0 ? buf + 7
							: "the container's monitor did not answer");
	return -EIO;
}

int rt_cmd_start(struct rt_ctx *ctx, int argc, char **argv)
{
	const char *id;
	struct rt_state st = { 0 };
	int code = 1;
	if (args_id(ctx, argc, argv, 1, 0, &id) < 0 || load(ctx, id, &st) < 0)
		return 1;
	const char *status = rt_state_status(&st);
	if (strcmp(status, "created") != 0)
		rt_log(&ctx->log, RT_LOG_ERROR, "cannot start a container that is %s", status);
	else if (ask_monitor(ctx, id, "start") == 0)
		code = 0;
	rt_state_done(&st);
	return code;
}

/* pause, resume: the whole VM stops (QMP stop) or goes on. */
static int pause_or_resume(struct rt_ctx *ctx, int argc, char **argv, const char *want)
{
	const char *id;
	struct rt_state st = { 0 };
	int code = 1;
	if (args_id(ctx, argc, argv, 1, 0, &id) < 0 || load(ctx, id, &st) < 0)
		return 1;
	const char *status = rt_state_status(&st);
	if (strcmp(status, want) != 0)
		rt_log(&ctx->log, RT_LOG_ERROR, "container %s is %s, not %s", id, status, want);
	else if (ask_monitor(ctx, id, argv[0]) == 0)
		code = 0;
	rt_state_done(&st);
	return code;
}

int rt_cmd_pause(struct rt_ctx *ctx, int argc, char **argv)
{
	return pause_or_resume(ctx, argc, argv, "running");
}

int rt_cmd_resume(struct rt_ctx *ctx, int argc, char **argv)
{
	return pause_or_resume(ctx, argc, argv, "paused");
}

/* The host's processes of the container: those of its cgroup (the monitor, QEMU, virtiofsd).
 * The guest's own processes are the VM's business. */
int rt_cmd_ps(struct rt_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { NULL, 0, NULL, 0 } };
	const char *id;
	struct rt_state st = { 0 };
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c != 'f' || (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)) {
			rt_log(&ctx->log, RT_LOG_ERROR, "ps: --format is json or table");
			return 1;
		}
		json = strcmp(optarg, "json") == 0;
	}
	/* runc passes what follows the id to ps(1); here there is no such program to ask. */
	if (args_id(ctx, argc, argv, optind, 64, &id) < 0 || load(ctx, id, &st) < 0)
		return 1;
	size_t n = 0;
	_cleanup_free_ pid_t *pids = st.cgroup && strcmp(rt_state_status(&st), "stopped") != 0
					 ? rt_cgroup_pids(st.cgroup, &n)
					 : NULL;
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
	} else {
		printf("%-8s %s\n", "PID", "CMD");
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *path = xasprintf("/proc/%d/comm", (int)pids[i]);
			_cleanup_free_ char *comm = NULL;
			if (read_file_at(AT_FDCWD, path, 256, &comm, NULL) < 0)
				continue;
			printf("%-8d %s", (int)pids[i], comm);
		}
	}
	rt_state_done(&st);
	return 0;
}

int rt_cmd_update(struct rt_ctx *ctx, int argc, char **argv)
{
	rt_log(&ctx->log, RT_LOG_ERROR,
	       "update: a running VM's memory and CPUs are fixed at create (linux.resources)");
	return 1;
}

int rt_cmd_state(struct rt_ctx *ctx, int argc, char **argv)
{
	const char *id;
	struct rt_state st = { 0 };
	if (args_id(ctx, argc, argv, 1, 0, &id) < 0 || load(ctx, id, &st) < 0)
		return 1;
	json_t *o = rt_state_json(&st);
	char *text = json_dumps(o, JSON_INDENT(2));
	printf("%s\n", text);
	free(text);
	json_decref(o);
	rt_state_done(&st);
	return 0;
}

static int parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {
		{ "HUP", SIGHUP },   { "INT", SIGINT },	      { "QUIT", SIGQUIT },
		{ "ILL", SIGILL },   { "TRAP", SIGTRAP },     { "ABRT", SIGABRT },
		{ "IOT", SIGIOT },   { "BUS", SIGBUS },	      { "FPE", SIGFPE },
		{ "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
		{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE },     { "ALRM", SIGALRM },
		{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },
		{ "CONT", SIGCONT }, { "STOP", SIGSTOP },     { "TSTP", SIGTSTP },
		{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
		{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },     { "VTALRM", SIGVTALRM },
		{ "PROF", SIGPROF }, { "WINCH", SIGWINCH },   { "IO", SIGIO },
		{ "PWR", SIGPWR },   { "SYS", SIGSYS },
	};
	int n;
	if (safe_atoi(s, &n) == 0)
		return n > 0 && n < 65 ? n : -EINVAL;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].sig;
	return -EINVAL;
}

/* A descriptor of the container's monitor while it is still that process (its start
 * time as state.json has it, not a later process with its PID); < 0 otherwise. */
static int monitor_pidfd(const struct rt_state *st)
{
	int pidfd = pidfd_open_(st->pid);
	if (pidfd >= 0 && rt_proc_start_time(st->pid, NULL) != st->pid_start)
		pidfd = safe_close(pidfd);
	return pidfd;
}

int rt_cmd_kill(struct rt_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' },
					      { NULL, 0, NULL, 0 } };
	const char *id;
	struct rt_state st = { 0 };
	int c, code = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1)
		if (c != 'a')
			return 1;
	if (args_id(ctx, argc, argv, optind, 1, &id) < 0)
		return 1;
	int sig = parse_signal(optind + 1 < argc ? argv[optind + 1] : "TERM");
	if (sig < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "unknown signal `%s`", argv[optind + 1]);
		return 1;
	}
	if (load(ctx, id, &st) < 0)
		return 1;
	/* The monitor relays it to the guest process; SIGKILL and SIGSTOP, which it
	 * cannot catch, end (or freeze) the monitor and with it the VM. */
	_cleanup_close_ int pidfd =
	    strcmp(rt_state_status(&st), "stopped") == 0 ? -EBADF : monitor_pidfd(&st);
	if (pidfd < 0 || pidfd_send_signal_(pidfd, sig) < 0)
		rt_log(&ctx->log, RT_LOG_ERROR, "container not running");
	else
		code = 0;
	rt_state_done(&st);
	return code;
}

/* Ends what is left of a container and removes it: monitor, cgroup, VM directory, state. */
static int destroy(struct rt_ctx *ctx, const char *id, struct rt_state *st)
{
	_cleanup_error_ struct arca_error *err = NULL;
	_cleanup_close_ int pidfd = monitor_pidfd(st);
	if (pidfd >= 0)
		(void)pidfd_kill_wait(pidfd, 10 * USEC_PER_SEC);
	if (st->cgroup && rt_cgroup_destroy(st->cgroup, 10 * USEC_PER_SEC, &err) < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "%s", err->msg);
		return -EBUSY;
	}
	/* A killed monitor could not give the namespace's links back: done here. */
	if (st->netns && st->net_links)
		rt_net_clear(st->netns, st->net_links);
	_cleanup_free_ char *vm_id = rt_vm_id(ctx->root, id);
	if (vm_clear_stale(ctx->vm_dir, vm_id, 5 * USEC_PER_SEC) < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "the container's VM is still running");
		return -EBUSY;
	}
	_cleanup_free_ char *dir = rt_container_dir(ctx->root, id);
	int r = rm_rf(dir);
	if (r < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "remove %s: %s", dir, strerror(-r));
		return r;
	}
	return 0;
}

int rt_cmd_delete(struct rt_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
					      { NULL, 0, NULL, 0 } };
	const char *id;
	struct rt_state st = { 0 };
	bool force = false;
	int c, code = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c != 'f')
			return 1;
		force = true;
	}
	if (args_id(ctx, argc, argv, optind, 0, &id) < 0)
		return 1;
	_cleanup_error_ struct arca_error *err = NULL;
	int r = rt_state_read(ctx->root, id, &st, &err);
	if (r == -ENOENT && force && rt_id_valid(id)) {
		/* Gone already, or a create that never got as far as a state: as runc, success
		 * once nothing is left. */
		_cleanup_free_ char *dir = rt_container_dir(ctx->root, id);
		return rm_rf(dir) < 0 ? 1 : 0;
	}
	if (r < 0) {
		rt_log(&ctx->log, RT_LOG_ERROR, "%s", err->msg);
		return 1;
	}
	const char *status = rt_state_status(&st);
	if (!force && strcmp(status, "stopped") != 0 && strcmp(status, "created") != 0) {
		rt_log(&ctx->log, RT_LOG_ERROR,
		       "cannot delete container %s that is not stopped: %s", id, status);
		goto out;
	}
	code = destroy(ctx, id, &st) < 0 ? 1 : 0;
out:
	rt_state_done(&st);
	return code;
}

int rt_cmd_list(struct rt_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					      { "quiet", no_argument, NULL, 'q' },
					      { NULL, 0, NULL, 0 } };
	bool json = false, quiet = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
		if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
			json = strcmp(optarg, "json") == 0;
		else if (c == 'q')
			quiet = true;
		else
			return 1;
	}
	json_t *all = json_array();
	DIR *d = opendir(ctx->root);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		struct rt_state st = { 0 };
		if (!rt_id_valid(de->d_name) || rt_state_read(ctx->root, de->d_name, &st, NULL) < 0)
			continue;
		json_array_append_new(all, rt_state_json(&st));
		rt_state_done(&st);
	}
	if (d)
		closedir(d);
	size_t i;
	json_t *v;
	if (json) {
		char *text = json_dumps(all, JSON_COMPACT);
		printf("%s\n", text);
		free(text);
	} else {
		if (!quiet)
			printf("%-20s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE",
			       "CREATED", "OWNER");
		json_array_foreach(all, i, v)
		{
			const char *id = json_string_value(json_object_get(v, "id"));
			if (quiet)
				printf("%s\n", id);
			else
				printf("%-20s %-8lld %-10s %-40s %-30s %s\n", id,
				       (long long)json_integer_value(json_object_get(v, "pid")),
				       json_string_value(json_object_get(v, "status")),
				       json_string_value(json_object_get(v, "bundle")),
				       json_string_value(json_object_get(v, "created")),
				       json_string_value(json_object_get(v, "owner")));
		}
	}
	json_decref(all);
	return 0;
}

int rt_cmd_features(struct rt_ctx *ctx, int argc, char **argv)
{
	static const char features[] =
	    "{\n"
	    "  \"ociVersionMin\": \"1.0.0\",\n"
	    "  \"ociVersionMax\": \"" RT_OCI_VERSION "\",\n"
	    "  \"hooks\": [],\n"
	    "  \"mountOptions\": [\"ro\", \"rw\", \"nosuid\", \"suid\", \"nodev\", \"dev\", "
	    "\"noexec\", \"exec\", \"sync\", \"async\", \"dirsync\", \"noatime\", \"atime\", "
	    "\"nodiratime\", \"diratime\", \"relatime\", \"norelatime\", \"strictatime\", "
	    "\"nostrictatime\", \"bind\", \"rbind\", \"private\", \"rprivate\", \"shared\", "
	    "\"rshared\", \"slave\", \"rslave\", \"unbindable\", \"runbindable\"],\n"
	    "  \"linux\": {\n"
	    "    \"namespaces\": [\"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", \"uts\"],\n"
	    "    \"cgroup\": { \"v1\": true, \"v2\": true, \"systemd\": false },\n"
	    "    \"seccomp\": { \"enabled\": false },\n"
	    "    \"apparmor\": { \"enabled\": false },\n"
	    "    \"selinux\": { \"enabled\": false }\n"
	    "  },\n"
	    "  \"annotations\": { \"io.github.arca.runtime\": \"vm\" }\n"
	    "}\n";
	fputs(features, stdout);
	return 0;
}
