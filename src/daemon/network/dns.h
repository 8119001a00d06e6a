/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded DNS server that containers on user-defined networks reach
 * at 127.0.0.11 (the guest relays their queries: guest-init/dns-relay.c).
 * As dockerd's (libnetwork/resolver.go): container names, network aliases,
 * --link aliases, short IDs and hostnames of the containers on the asker's
 * own networks, also as "<name>.<network>", with TTL 600; PTR for their
 * addresses; NODATA (not NXDOMAIN) for a name without an address of the
 * family asked; everything else forwarded to the upstream servers of the
 * asker's resolv.conf (from the host's network namespace, so a loopback
 * resolver works), up to three in turn, 4 s each, over the client's
 * transport; SERVFAIL when none answers, REFUSED beyond 1024 queries in
 * flight. A container only on internal networks gets no forwarding.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct event;
struct dns;

struct dns *dns_new(struct event *e);
struct dns *dns_free(struct dns *dns);

/* A query from container id's guest (its relay's id for it): answered with DNS_REPLY. */
void dns_query(struct daemon *d, const char *container_id, uint32_t guest_id, bool tcp,
	       const uint8_t *data, size_t len);
