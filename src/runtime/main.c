/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arca-runtime: a runc-compatible OCI runtime whose containers each run in
 * a VM (docs/runtime.md). Global options, then one command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"
#include "state.h"
#include "version.h"

static const struct {
	const char *name;
	int (*fn)(struct rt_ctx *ctx, int argc, char **argv);
} commands[] = {
	{ "create", rt_cmd_create },	 { "start", rt_cmd_start },   { "state", rt_cmd_state },
	{ "kill", rt_cmd_kill },	 { "delete", rt_cmd_delete }, { "list", rt_cmd_list },
	{ "features", rt_cmd_features }, { "exec", rt_cmd_exec },     { "pause", rt_cmd_pause },
	{ "resume", rt_cmd_resume },	 { "ps", rt_cmd_ps },	      { "update", rt_cmd_update },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: arca-runtime [--root DIR] [--log FILE] [--log-format text|json] "
		"[--debug] COMMAND [ARGS]\n\n"
		"commands: create, start, state, kill, delete, exec, pause, resume, ps, update,\n"
		"          list, features\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "systemd-cgroup", no_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rt_ctx ctx = { .root = getenv("ARCA_RUNTIME_ROOT") };
	const char *log_path = NULL, *log_format = NULL;
	int c;

	if (!ctx.root || !ctx.root[0])
		ctx.root = RT_DEFAULT_ROOT;
	ctx.vm_dir = getenv("ARCA_RUNTIME_VM_DIR");
	if (!ctx.vm_dir || ctx.vm_dir[0] != '/')
		ctx.vm_dir = RT_VM_DIR;
	while ((c = getopt_long(argc, argv, "+dhv", opts, NULL)) != -1) {
		switch (c) {
		case 'r': ctx.root = optarg; break;
		case 'l': log_path = optarg; break;
		case 'f': log_format = optarg; break;
		case 'd': ctx.debug = true; break;
		case 's': break; /* the cgroupsPath's form says which it is */
		case 'v':
			printf("arca-runtime version %s\ncommit: %s\nspec: %s\n", ARCA_VERSION,
			       ARCA_GIT_COMMIT, RT_OCI_VERSION);
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (rt_log_open(&ctx.log, log_path, log_format) < 0) {
		fprintf(stderr, "arca-runtime: cannot open the log %s (format %s)\n",
			log_path ? log_path : "-", log_format ? log_format : "text");
		return 1;
	}
	ctx.log.debug = ctx.debug;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (ctx.root[0] != '/') {
		rt_log(&ctx.log, RT_LOG_ERROR, "--root must be an absolute path");
		return 1;
	}
	const char *cmd = argv[optind];
	int code = -1;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			code = commands[i].fn(&ctx, argc - optind, argv + optind);
	if (code < 0) {
		rt_log(&ctx.log, RT_LOG_ERROR, "command `%s` is not supported by arca-runtime",
		       cmd);
		code = 1;
	}
	rt_log_close(&ctx.log);
	return code;
}
