/* SPDX-License-Identifier: Apache-2.0 */
/* arca: the command-line entry point; main() only wires the command table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "version.h"

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("arca %s (commit %s)\n", ARCA_VERSION, ARCA_GIT_COMMIT);
	return 0;
}

static const struct cli_command vm_commands[] = {
	{ "run", cmd_vm_run, "boot a VM and run a command in it" },
	{ NULL, NULL, NULL },
};

int cmd_vm(int argc, char **argv)
{
	return cli_dispatch("vm", vm_commands, argc - 1, argv + 1);
}

static const struct cli_command commands[] = {
	{ "vm", cmd_vm, "run commands in a lightweight VM" },
	{ "image", cmd_image, "manage images: pull, push, ls, rm, save, load, import..." },
	{ "guest", cmd_guest, "guest asset sets: build a kernel and initramfs, verify one" },
	{ "version", cmd_version, "print the version" },
	{ NULL, NULL, NULL },
};

int cli_dispatch(const char *group, const struct cli_command *table, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "--help") != 0 && strcmp(argv[0], "-h") != 0) {
		for (const struct cli_command *c = table; c->name; c++)
			if (strcmp(c->name, argv[0]) == 0)
				return c->run(argc, argv);
		fprintf(stderr, "arca: unknown command `%s%s%s`\n", group ? group : "",
			group ? " " : "", argv[0]);
	}
	fprintf(stderr, "usage: arca %s%sCOMMAND ...\n\ncommands:\n", group ? group : "",
		group ? " " : "");
	for (const struct cli_command *c = table; c->name; c++)
		fprintf(stderr, "  %-10s %s\n", c->name, c->help);
	return argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) ? 0 : 2;
}

int main(int argc, char **argv)
{
	const char *level = getenv("ARCA_LOG_LEVEL");
	int l = level ? log_parse_level(level) : LOG_LEVEL_WARN;
	log_setup("arca", l < 0 ? LOG_LEVEL_WARN : (enum log_level)l);
	return cli_dispatch(NULL, commands, argc - 1, argv + 1);
}
