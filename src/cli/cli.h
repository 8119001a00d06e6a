/* SPDX-License-Identifier: Apache-2.0 */
/* The arca CLI: one file per verb, dispatched through tables (rule N4). */
#pragma once

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

/* Dispatches argv[0] of a nested command group; prints the group's help on error. */
int cli_dispatch(const char *group, const struct cli_command *table, int argc, char **argv);

#include <jansson.h>

int cmd_vm(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_guest(int argc, char **argv);
/* The ext4 disk and the config ("config" object) of an image in the store at root. */
int cli_image_root_disk(const char *root, const char *name, char **ret_disk, json_t **ret_config);
int cmd_vm_run(int argc, char **argv);

/* Exit codes as in `docker run`: 125 for our own failures. */
#define CLI_EXIT_FAILURE 125
