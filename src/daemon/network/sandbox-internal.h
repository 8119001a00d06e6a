/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox's state, shared by sandbox.c (links, ports) and sandbox-etc.c (files, links, DNS). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "names.h"
#include "ports.h"

struct container;
struct guest_batch;
struct network;

#define MAX_ENDPOINTS 64 /* networks per container (dockerd has no limit; VLANs do: 4094) */

struct sb_ep {
	char network_id[ID_HEX_LEN + 1];
	char port[16], leg[16]; /* the veth pair: in the bridge, and the trunk's leg */
	uint16_t vlan;
	int leg_index;
};

struct sb_port {
	struct port_proxy *proxy;
	struct port_spec spec;
	char ctr_ip[64];
	char bridge[16];
};

struct sandbox {
	char tap[16];
	int tap_fd; /* until the VMM holds it */
	int tap_index;
	struct sb_ep *eps;
	size_t n_eps;
	struct sb_port *ports;
	size_t n_ports;
	char **upstreams; /* where the resolver at 127.0.0.11 forwards (resolv.conf's servers) */
	bool forwards;	  /* it forwards at all: a network with a way out */
};

/* An endpoint's string field ("" when absent), and its network. */
const char *sandbox_ep_str(json_t *ep, const char *key);
struct network *sandbox_ep_network(struct container *c, json_t *ep);

/* sandbox-etc.c: the container joined a user-defined network: the resolver at 127.0.0.11. */
bool sandbox_etc_internal_resolver(struct container *c);
/*
 * /etc/hostname, /etc/hosts and /etc/resolv.conf written in the guest (and,
 * with initial, bound into the root); the resolver's upstreams kept.
 */
void sandbox_etc_write(struct container *c, struct guest_batch *b, bool initial);
/* The texts of /etc/hosts and /etc/resolv.conf sandbox_etc_write writes (caller frees). */
char *sandbox_etc_hosts(struct container *c);
char *sandbox_etc_resolv(struct container *c);
/* The resolver's upstreams again, without writing anything (an adopted container). */
void sandbox_etc_refresh(struct container *c);
