/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names and IDs: Docker's validity rule for names, generated adjective_person
 * names, and random 64-hex-digit IDs (containers, execs, networks).
 */
#pragma once

#include <stdbool.h>

#define ID_HEX_LEN   64 /* a full ID: hex digits */
#define SHORT_ID_LEN 12 /* the short form Docker shows (and "%.12s" prints) */

/* [a-zA-Z0-9][a-zA-Z0-9_.-]+, after an optional leading '/'. */
bool name_is_valid(const char *name);
/* A random "adjective_surname"; retry > 0 appends a digit, as Docker does. Caller frees. */
char *name_generate(unsigned retry);
/* A random ID: 64 lowercase hex digits and a NUL. */
void id_generate(char out[ID_HEX_LEN + 1]);
