/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vsock flavour of the guest channel: where /dev/vhost-vsock exists the
 * guest listens on PROTO_VSOCK_PORT and the host dials its CID, retrying
 * every 50 ms until arca-init listens (the VM's boot timeout bounds it).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct event;
struct vsock_dialer;

bool vsock_available(void);
/* A random guest CID in the valid range (3 .. 2^31). */
uint32_t vsock_random_cid(void);

typedef void (*vsock_connected_fn)(int fd, void *userdata);
int vsock_dialer_new(struct event *e, uint32_t cid, uint32_t port, vsock_connected_fn cb,
		     void *userdata, struct vsock_dialer **ret);
struct vsock_dialer *vsock_dialer_free(struct vsock_dialer *d);
