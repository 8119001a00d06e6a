/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A VM's TAP device: opened by arcad under the name it chose, handed to the
 * VMM as an fd, and not persistent, so it goes with the last process that
 * holds it open (the VMM, once arcad closed its copy).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* Opens TAP `name` (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR); returns its fd (O_CLOEXEC). */
int tap_open(const char *name, struct arca_error **err);
/* True when /dev/vhost-net can be opened: the VMM then moves packets in the kernel. */
bool tap_vhost_available(void);
/* A random unicast, locally administered MAC address. */
void tap_random_mac(uint8_t mac[6]);
