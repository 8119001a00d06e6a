/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP address management as dockerd's default IPAM driver does it
 * (libnetwork/ipams/defaultipam, ipamutils): a network's subnets (given, or
 * the first free one of Docker's default pools, skipping what the host
 * routes), its gateway, the range addresses come from, the auxiliary
 * addresses kept out, and the addresses of endpoints (the lowest free one,
 * as dockerd's allocator gives them).
 * Pure: no I/O; the caller says which addresses are in use.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "host-link.h"

/* One subnet of a network: IPAM.Config[i] resolved. */
struct ipam_subnet {
	struct host_prefix subnet;  /* network address and length */
	struct host_prefix range;   /* IPRange: where endpoints' addresses come from */
	uint8_t gateway[16];	    /* the bridge's address */
	struct host_prefix aux[16]; /* AuxiliaryAddresses: never handed out (len = full) */
	char aux_name[16][64];	    /* ... and their names */
	size_t n_aux;
};

/* "172.18.0.0/16", "fd00::/64" (host bits must be zero unless loose). */
int ipam_prefix_parse(const char *s, bool loose, struct host_prefix *ret);
/* An address alone ("172.18.0.1"), as a full-length prefix. */
int ipam_addr_parse(const char *s, struct host_prefix *ret);
/* Clears the host bits: "172.17.0.1/16" -> "172.17.0.0/16". */
void ipam_prefix_mask(struct host_prefix *p);
void ipam_prefix_format(const struct host_prefix *p, bool with_len, char *buf, size_t len);
bool ipam_prefix_contains(const struct host_prefix *outer, const uint8_t addr[16]);
bool ipam_prefix_overlaps(const struct host_prefix *a, const struct host_prefix *b);

/* An address pool (dockerd's default-address-pools entry): subnets of `size` bits from base. */
struct ipam_pool {
	struct host_prefix base;
	unsigned size;
};

/* {"base": "10.10.0.0/16", "size": 24}, checked: IPv4, size within base's length and 30. */
int ipam_pool_check(const char *base, long long size, struct ipam_pool *ret,
		    struct arca_error **err);

/*
 * The first subnet of the pools (NULL: Docker's default local pools,
 * 172.17-31.x.x/16, then 192.168.x.0/20 slices) that overlaps none of
 * taken[]; -ENOSPC when all do ("all predefined address pools have been fully
 * subnetted").
 */
int ipam_default_subnet(const struct ipam_pool *pools, size_t n_pools,
			const struct host_prefix *taken, size_t n_taken, struct host_prefix *ret,
			struct arca_error **err);

/*
 * One IPAM.Config entry ({Subnet, IPRange, Gateway, AuxiliaryAddresses}),
 * checked as dockerd checks it; a missing gateway is the first address of
 * the ip-range (or of the subnet). 400 with dockerd's message on a bad one.
 */
int ipam_subnet_from_json(json_t *entry, struct ipam_subnet *ret, struct arca_error **err);
/* The entry with Subnet, Gateway, and IPRange and AuxiliaryAddresses when set. */
json_t *ipam_subnet_to_json(const struct ipam_subnet *s);

/*
 * The lowest free address of s's range for an endpoint: never the network,
 * broadcast, gateway or an auxiliary address, nor one in_use says is taken.
 * -ENOSPC when full.
 */
int ipam_next_address(const struct ipam_subnet *s, bool (*in_use)(const uint8_t addr[16], void *),
		      void *userdata, uint8_t ret[16]);
/* An address the client asked for (--ip): inside the subnet, not reserved. */
int ipam_check_address(const struct ipam_subnet *s, const uint8_t addr[16],
		       struct arca_error **err);
