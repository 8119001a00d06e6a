/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A build VM on a Docker network (docs/build.md). Builds run on worker
 * threads and the networks belong to the loop, so these run on the loop
 * thread (the build asks through workers_call). The VM gets a transient
 * container record (c->build; kept in d->build_vms, never listed nor saved)
 * with one endpoint, and the sandbox code does the rest as for a container:
 * its address, TAP, veth, trunk and firewall. Its resolver is the upstream
 * servers: a build step has no resolver at 127.0.0.11, so container names
 * on the network do not resolve in it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "guest-client.h"

struct container;
struct daemon;

#define BUILD_NET_MAX_REQS 4

struct build_net_attach {
	/* in */
	struct daemon *d;
	const char *vm_id;	  /* the build VM's, unique */
	const char *network;	  /* "bridge", or a network's name or ID */
	char *const *extra_hosts; /* "host:ip" */
	/* out */
	struct container *rec;
	int tap_fd; /* the VM's NIC, until build_net_started */
	uint8_t mac[6];
	bool vhost;
	struct guest_request reqs[BUILD_NET_MAX_REQS]; /* its links and default route */
	size_t n_reqs;
	char *hosts, *resolv; /* its /etc files */
	struct arca_error *err;
};

/* Each a work_fn for workers_call (arg: the struct build_net_attach). */
int build_net_attach(void *arg);
int build_net_started(void *arg); /* the VMM holds the TAP: our copy is closed */
int build_net_detach(void *arg);  /* everything undone, the record freed */
/* Checks a build's networkmode before it starts: 400/404 as dockerd would answer. */
int build_net_check(struct daemon *d, const char *network, struct arca_error **err);
