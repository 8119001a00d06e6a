/* SPDX-License-Identifier: Apache-2.0 */
/* Strict number parsing: the whole string must be a number in range. */
#pragma once

#include <stdint.h>

int safe_atou32(const char *s, uint32_t *ret);
int safe_atou64(const char *s, uint64_t *ret);
int safe_atoi(const char *s, int *ret);
/* Parses a size like "512", "512m", "1g", "64k" (binary units). */
int parse_size(const char *s, uint64_t *ret);
