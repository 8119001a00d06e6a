/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Networks as the API sees them: the predefined bridge, host and none, and
 * user-defined bridge networks (docker network create, Compose's project
 * networks), stored in SQLite. Each network of the bridge driver is one
 * Linux bridge that arcad owns (arca0 for the default one, arca-<id> or
 * com.docker.network.bridge.name for the others), with the gateway
 * addresses of its subnets, made at create (and again at a start of the
 * daemon if it is gone) and removed with the network. What the containers'
 * VMs do on it is the sandbox's (sandbox.h); docs/networking.md has the
 * design.
 *
 * A container's attachments live on the container (container.h, networks);
 * this module owns the networks themselves.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "ipam.h"
#include "names.h"

struct daemon;
struct container;

#define NETWORK_DEFAULT_BRIDGE "arca0"
#define NETWORK_DEFAULT_MTU    1500

struct network {
	char id[ID_HEX_LEN + 1];
	char *name;
	char *driver;
	char *created;
	bool builtin; /* bridge, host, none: cannot be created or removed */
	bool internal, attachable, enable_ipv6;
	json_t *labels;	 /* object */
	json_t *options; /* object */
	json_t *ipam;	 /* {Driver, Config, Options}, as inspect shows it */
	/* The bridge driver's: the Linux bridge, the subnets IPAM resolved (IPv4 first). */
	char *bridge;
	struct ipam_subnet *subnets;
	size_t n_subnets;
	uint32_t mtu;
	bool icc, masquerade;
	bool user_subnets; /* the client gave the subnets: --ip is allowed */
};

/* Endpoint keys of Arca's own, kept with the container and never shown. */
#define NETWORK_EP_DESIRED_MAC "ArcaDesiredMac" /* the MAC the client asked for */
#define NETWORK_EP_VLAN	       "ArcaVlan"	/* its VLAN on the VM's trunk */
#define NETWORK_EP_IFNAME      "ArcaIfname"	/* eth0, eth1, ... in the container */

/* "02:42:ac:11:00:02" (a unicast address) into bytes. */
bool network_mac_parse(const char *s, uint8_t ret[6]);

/* A network of the bridge driver: a Linux bridge, addresses, a firewall entry. */
bool network_has_bridge(const struct network *n);
/* The subnet of a family (AF_INET, AF_INET6), or NULL. */
const struct ipam_subnet *network_subnet(const struct network *n, int family);

extern const struct db_migration network_migrations[];
extern const size_t network_n_migrations;

/*
 * The predefined networks, then every stored one, into d->networks; the
 * default bridge gets its subnet (the one arca0 has, or the first free
 * default pool); every bridge is made (or kept) and the bridges of networks
 * that are gone are removed.
 */
int network_load_all(struct daemon *d, struct arca_error **err);
struct network *network_free(struct network *n);

/* By exact name, full ID, or unique ID prefix; 404 if none, 400 if ambiguous. */
int network_find(struct daemon *d, const char *ref, struct network **ret, struct arca_error **err);
/*
 * NetworkCreate's body, validated and its IPAM resolved; the bridge is made,
 * the network stored and added ("create" event). *ret_warning (caller
 * frees) names options that are kept but not applied, or NULL.
 */
int network_create(struct daemon *d, json_t *body, struct network **ret, char **ret_warning,
		   struct arca_error **err);
/* NetworkDelete: refused for predefined networks and those with running containers. */
int network_remove(struct daemon *d, struct network *n, struct arca_error **err);

/* Containers attached (running or not), and attached and running. */
unsigned network_users(struct daemon *d, const struct network *n, bool running_only);

/* Docker's network object; with_containers lists the running containers on it. */
json_t *network_json(struct daemon *d, const struct network *n, bool with_containers);

/*
 * A container's endpoint on n, as NetworkSettings.Networks holds it.
 * endpoint_config is the client's EndpointSettings (may be NULL). Aliases
 * and --ip are refused on predefined networks, as dockerd does; an --ip
 * must be in the network's subnet; on user-defined ones the short container
 * ID is added to the aliases for clients before API 1.45 (Compose relies on
 * it) and to the DNS names always. The operational fields (EndpointID,
 * addresses, MacAddress) stay empty until the container runs.
 */
int network_endpoint(const struct network *n, const struct container *c, json_t *endpoint_config,
		     int api_minor, json_t **ret, struct arca_error **err);
