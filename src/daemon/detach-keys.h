/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Docker's detach sequence ("ctrl-p,ctrl-q" by default, or a client's
 * detachKeys): spotted in a client's stdin, where it ends the attach or exec
 * session without reaching the process. A partial match that fails is
 * passed on as typed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DETACH_KEYS_DEFAULT "ctrl-p,ctrl-q"
#define DETACH_KEYS_MAX	    8

struct detach_keys {
	uint8_t seq[DETACH_KEYS_MAX];
	size_t len;   /* bytes in seq (1 to DETACH_KEYS_MAX) */
	size_t match; /* bytes of seq seen so far */
};

/* spec NULL or "" gives the default; false when spec is not Docker's syntax. */
bool detach_keys_parse(const char *spec, struct detach_keys *ret);

/* Appends the bytes meant for the process to out; true once the sequence is
 * complete (the bytes after it are dropped, as the session ends). */
bool detach_keys_feed(struct detach_keys *k, const uint8_t *p, size_t n, struct buf *out);
