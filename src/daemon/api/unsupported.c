/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operations Arca does not serve yet: each answers with a Docker-style error
 * that says so, instead of a 404 that would look like a missing container.
 * A request about a container that does not exist still gets the 404.
 */
#include "api.h"

#include <string.h>

#include "cleanup.h"
#include "daemon.h"

void api_unsupported(struct api_ctx *ctx)
{
	if (ctx->param && strncmp(ctx->op, "Container", 9) == 0) {
		_cleanup_error_ struct arca_error *err = NULL;
		if (!daemon_find_container(ctx->d, ctx->param, &err)) {
			api_reply_error(ctx, err);
			return;
		}
	}
	http_reply_errorf(ctx->conn, 501, "%s is not supported by Arca yet", ctx->op);
}

void api_swarm_unsupported(struct api_ctx *ctx)
{
	http_reply_errorf(ctx->conn, 503,
			  "This node is not a swarm manager. Use \"docker swarm init\" or \"docker "
			  "swarm join\" to connect this node to swarm and try again.");
}
