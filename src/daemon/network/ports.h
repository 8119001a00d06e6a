/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Published ports (docker run -p, -P): the bindings a container asks for,
 * and the userland proxy that holds each host port (as dockerd's
 * docker-proxy does): it owns the socket, so a port in use is refused with
 * dockerd's "port is already allocated", and it serves what the firewall's
 * DNAT does not see: connections to 127.0.0.1 and from the container's own
 * bridge. TCP and UDP.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct event;

struct port_spec {
	char proto[5]; /* tcp, udp, sctp */
	uint16_t ctr_port;
	char host_ip[48]; /* "" : every address, IPv4 and IPv6 */
	uint16_t lo, hi;  /* host ports; 0: any free one */
};

/*
 * The bindings of HostConfig.PortBindings, and with PublishAllPorts one per
 * Config.ExposedPorts entry on a free port. 400 for a malformed one (it is
 * checked at create too).
 */
int ports_parse(json_t *config, json_t *host_config, struct port_spec **ret, size_t *ret_n,
		struct arca_error **err);

/* One bound host port. */
struct port_proxy;

/*
 * Binds spec's port (a free one from the kernel's ephemeral range when it
 * asks for any, the same on IPv4 and IPv6) and forwards to ctr_ip. The
 * error is dockerd's: "Bind for 0.0.0.0:8080 failed: port is already
 * allocated". *cursor keeps the last port handed out, so the next search
 * starts after it, as dockerd's allocator does.
 */
int port_proxy_open(struct event *e, const struct port_spec *spec, const char *ctr_ip,
		    uint16_t *cursor, struct port_proxy **ret, struct arca_error **err);
struct port_proxy *port_proxy_free(struct port_proxy *p);
/* What it holds: the host port, and whether an IPv6 socket was bound too. */
uint16_t port_proxy_host_port(const struct port_proxy *p);
bool port_proxy_has_ipv6(const struct port_proxy *p);
