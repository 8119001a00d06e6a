/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker network connect and disconnect (container-network.c): the
 * container's record, and for a running container its sandbox too
 * (network/sandbox.h), then the "connect"/"disconnect" event.
 */
#pragma once

#include <jansson.h>

#include "error.h"

struct container;
struct network;

typedef void (*container_net_fn)(struct container *c, const struct arca_error *err, void *userdata);

/* cb runs once the endpoint is recorded (and, when it runs, live in its VM). */
void container_network_connect(struct container *c, struct network *n, json_t *endpoint_config,
			       int api_minor, container_net_fn cb, void *userdata);
void container_network_disconnect(struct container *c, struct network *n, container_net_fn cb,
				  void *userdata);
