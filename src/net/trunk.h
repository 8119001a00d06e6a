/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A VM's NIC as an 802.1Q trunk on the host (docs/networking.md): each
 * Docker network the container is on is one VLAN of its TAP, tied to that
 * network's bridge through a veth pair whose bridge port is in the bridge
 * and whose other end (the leg) is free. Two tc-BPF programs (clsact,
 * direct action) move the frames, so the host needs no 8021q module and no
 * bridge VLAN filtering:
 *
 *   TAP ingress (from the guest): tagged 802.1Q with a VLAN of the set ->
 *     pop the tag, redirect to the egress of that VLAN's leg (the frame
 *     then enters the bridge through the port). Anything else (untagged,
 *     802.1ad, an unknown VLAN, a second tag) is dropped.
 *   leg ingress (from the bridge): push the VLAN's tag, redirect to the
 *     egress of the TAP (tun hands the tag to QEMU in band). A frame that
 *     already carries a tag is dropped.
 *
 * The programs are a few instructions, assembled here and loaded with
 * bpf(2) (no compiler, no libbpf), as systemd builds its firewall programs.
 * The TAP's program is regenerated and swapped atomically (REPLACE on one
 * priority and handle) whenever its VLAN set changes; a leg's program goes
 * with its veth. The helpers used are not GPL-only.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct nl_sock;

struct trunk_vlan {
	uint16_t vid; /* 1..4094 */
	int leg;      /* the ifindex of its veth leg */
};

/* Installs (or swaps in) the TAP's program for exactly these VLANs; none drops everything. */
int trunk_set_tap(struct nl_sock *nl, int tap, const struct trunk_vlan *vlans, size_t n,
		  struct arca_error **err);
/* Installs the leg's program: tag with vid, out through the TAP. */
int trunk_set_leg(struct nl_sock *nl, int leg, uint16_t vid, int tap, struct arca_error **err);
/* Removes a link's clsact qdisc, and the programs with it (a link given back to its owner). */
int trunk_clear(struct nl_sock *nl, int ifindex);
