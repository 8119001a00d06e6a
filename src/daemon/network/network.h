/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Networks as the API sees them: the predefined bridge, host and none, and
 * user-defined bridge networks (docker network create, Compose's project
 * networks), stored in SQLite. Until virtual networking lands, a network is
 * bookkeeping only: containers attach to it (NetworkSettings.Networks,
 * aliases, DNS names) but the guest has loopback only, and no endpoint has
 * an address, which inspect says plainly.
 *
 * A container's attachments live on the container (container.h, networks);
 * this module owns the networks themselves.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "db.h"
#include "error.h"
#include "names.h"

struct daemon;
struct container;

struct network {
	char id[ID_HEX_LEN + 1];
	char *name;
	char *driver;
	char *created;
	bool builtin; /* bridge, host, none: cannot be created or removed */
	bool internal, attachable, enable_ipv6;
	json_t *labels;	 /* object */
	json_t *options; /* object */
	json_t *ipam;	 /* {Driver, Config, Options}, as given */
};

extern const struct db_migration network_migrations[];
extern const size_t network_n_migrations;

/* The predefined networks, then every stored one, into d->networks. */
int network_load_all(struct daemon *d, struct arca_error **err);
struct network *network_free(struct network *n);

/* By exact name, full ID, or unique ID prefix; 404 if none, 400 if ambiguous. */
int network_find(struct daemon *d, const char *ref, struct network **ret, struct arca_error **err);
/* NetworkCreate's body, validated; the network is stored and added. */
int network_create(struct daemon *d, json_t *body, struct network **ret, struct arca_error **err);
/* NetworkDelete: refused for predefined networks and those with running containers. */
int network_remove(struct daemon *d, struct network *n, struct arca_error **err);

/* Containers attached (running or not), and attached and running. */
unsigned network_users(struct daemon *d, const struct network *n, bool running_only);

/* Docker's network object; with_containers lists the running containers on it. */
json_t *network_json(struct daemon *d, const struct network *n, bool with_containers);

/*
 * A container's endpoint on n, as NetworkSettings.Networks holds it.
 * endpoint_config is the client's EndpointSettings (may be NULL). Aliases
 * are refused on predefined networks, as dockerd does; on user-defined ones
 * the short container ID is added to the aliases for clients before API
 * 1.45 (Compose relies on it) and to the DNS names always.
 */
int network_endpoint(const struct network *n, const struct container *c, json_t *endpoint_config,
		     int api_minor, json_t **ret, struct arca_error **err);
