/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parts of a network that reach the host (network-setup.c): its driver
 * options, its IPAM resolved at create, its Linux bridge, and the
 * reconciliation at a start of the daemon. Used by network.c only.
 */
#pragma once

#include <jansson.h>

#include "error.h"

struct daemon;
struct network;

/* The bridge name, MTU, icc and masquerade from n->options (and the builtins' defaults). */
void network_apply_options(struct network *n);
/*
 * The create body's Options, checked: a bad bridge name or MTU is a 400;
 * an option arcad keeps but does not apply is named in *ret_warning.
 */
int network_check_options(json_t *options, char **ret_warning, struct arca_error **err);
/*
 * IPAM for a new network: the given subnets checked (403 when one overlaps
 * another network's), or the first free default pool (and a ULA /64 with
 * IPv6), into n->subnets.
 */
int network_resolve_ipam(struct daemon *d, struct network *n, struct arca_error **err);
/* Makes n's bridge (or keeps it) with its gateways, up. */
int network_bridge_up(struct daemon *d, const struct network *n, struct arca_error **err);
void network_bridge_down(struct daemon *d, const struct network *n);
/*
 * At a start of the daemon: the default bridge's subnet (arca0's address,
 * or the first free pool), every bridge up, and the arca bridges no
 * network owns removed.
 */
int network_setup_host(struct daemon *d, struct arca_error **err);
