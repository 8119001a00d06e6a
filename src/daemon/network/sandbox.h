/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's network while it runs (Docker calls it the sandbox; the
 * design is docs/networking.md). Before its VM starts, each endpoint (one
 * per Docker network in c->networks) gets its address, MAC, VLAN and
 * interface name; the VM's TAP is opened; a veth pair per endpoint ties
 * the VLAN to the network's bridge (trunk.h); the published ports are
 * bound (ports.h) and the firewall is updated. When the guest is up, its
 * links, routes and resolver are configured over the protocol, with
 * /etc/hosts and /etc/resolv.conf. Connect and disconnect do the same for
 * one endpoint while it runs. When the VM is gone everything is undone, and
 * the endpoints' operational fields are cleared, as dockerd clears them.
 *
 * The sandbox is the one writer of the endpoints' operational fields
 * (EndpointID, addresses, MacAddress, Arca's VLAN and interface name).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct container;
struct daemon;
struct guest_batch;
struct network;
struct nft_port;
struct vm_config;

/*
 * The network a start gives the VM: endpoints resolved, TAP (its fd in
 * cfg->net_fd, kept until sandbox_vm_started), veths, ports bound,
 * firewall. On error nothing is left behind. A container without a bridge
 * network (--network none) gets no NIC.
 */
int sandbox_prepare(struct container *c, struct vm_config *cfg, struct arca_error **err);
/* Whether c is on a network with a bridge, so its VM has a NIC. */
bool sandbox_wants_nic(struct container *c);
/*
 * The same for a pooled VM that c claims (pool.h): its NIC's TAP, `tap`
 * (down, held by the VMM), is renamed to c's and plumbed. c must want a NIC.
 */
int sandbox_prepare_pooled(struct container *c, const char *tap, struct arca_error **err);
/* The VMM holds the TAP now: arcad's copy is closed, so the TAP dies with the VMM. */
void sandbox_vm_started(struct container *c);
/*
 * The guest side of it, added to the start's setup batches: its links,
 * routes and resolver (which need no root filesystem), then /etc/hostname,
 * hosts and resolv.conf in the root.
 */
void sandbox_guest_links(struct container *c, struct guest_batch *b);
void sandbox_guest_files(struct container *c, struct guest_batch *b);
/*
 * The VM is gone (or never started): veths removed, ports closed, conntrack
 * forgotten, firewall updated, operational fields cleared. On a container
 * without a sandbox (a dead daemon's), what its endpoints left is removed.
 */
void sandbox_release(struct container *c);
/*
 * A restarted daemon adopts a running container's network: the TAP and
 * veths the VMM kept, its ports bound again, the firewall re-applied.
 * Anything missing is made again.
 */
int sandbox_adopt(struct container *c, struct arca_error **err);

/* At a start of the daemon, after the adoptions: veths no endpoint names (a start that a
 * dying daemon left half done) are removed. */
void sandbox_remove_orphans(struct daemon *d);

/* Environment of --link (dockerd's legacy link variables), for the main process (strv). */
char **sandbox_link_env(struct container *c);

typedef void (*sandbox_done_fn)(struct container *c, const struct arca_error *err, void *userdata);
/*
 * docker network connect / disconnect of a running container: the endpoint
 * is made (or removed) on the host and in the guest, /etc/hosts follows;
 * cb runs when the guest answered (maybe before this returns).
 */
void sandbox_connect(struct container *c, struct network *n, sandbox_done_fn cb, void *userdata);
void sandbox_disconnect(struct container *c, struct network *n, sandbox_done_fn cb, void *userdata);

struct guest_request;
/*
 * A build VM's network (build-net.h), after sandbox_prepare: the guest
 * requests for its links and default route, into reqs (at most max; the
 * caller sends them). Returns how many.
 */
size_t sandbox_build_requests(struct container *c, struct guest_request *reqs, size_t max);

/* NetworkSettings.Ports: every bound port, and null for the exposed ones without (new ref). */
json_t *sandbox_ports_json(struct container *c);
/* The ports of every running container, as the firewall publishes them (caller frees). */
size_t sandbox_nft_ports(struct daemon *d, struct nft_port **ret);

struct sandbox *sandbox_free(struct sandbox *sb);
