/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's multiplexed stream framing for attach, exec and logs without a
 * TTY: an 8-byte header [stream, 0, 0, 0, size as big-endian u32] then the
 * payload. Stream 0 stdin, 1 stdout, 2 stderr, 3 systemerr.
 */
#pragma once

#include <stdint.h>

static inline void stdcopy_header(uint8_t hdr[8], int stream, uint32_t len)
{
	hdr[0] = (uint8_t)stream;
	hdr[1] = hdr[2] = hdr[3] = 0;
	hdr[4] = (uint8_t)(len >> 24);
	hdr[5] = (uint8_t)(len >> 16);
	hdr[6] = (uint8_t)(len >> 8);
	hdr[7] = (uint8_t)len;
}
