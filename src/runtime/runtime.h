/* SPDX-License-Identifier: Apache-2.0 */
/* arca-runtime's commands (one file each group) and what they share: the global options. */
#pragma once

#include <stdbool.h>

#include "rt-log.h"

struct rt_ctx {
	const char *root;   /* --root, default RT_DEFAULT_ROOT ($ARCA_RUNTIME_ROOT) */
	const char *vm_dir; /* the VMs' run directories: RT_VM_DIR ($ARCA_RUNTIME_VM_DIR) */
	struct rt_log log;
	bool debug;
};

/* Each returns the process's exit status; errors are logged through ctx->log. */
int rt_cmd_create(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_exec(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_start(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_state(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_pause(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_resume(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_ps(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_update(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_kill(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_delete(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_list(struct rt_ctx *ctx, int argc, char **argv);
int rt_cmd_features(struct rt_ctx *ctx, int argc, char **argv);
