/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's firewall: arcad's nftables table (net/nft.h) rendered from
 * the bridge networks and the ports the running containers publish, and
 * applied when that differs from what was last applied. Called by whoever
 * changes either (a network created or removed, a sandbox made or gone).
 */
#pragma once

struct daemon;

/* Applies the ruleset if it changed; a failure is logged (and shown by docker info). */
void firewall_update(struct daemon *d);
/* The last failure to apply it, or NULL. */
const char *firewall_error(const struct daemon *d);
