/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker top and docker stats (container-observe.c): what runs in the
 * container's VM and what it uses, read by helpers there.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

struct container;
struct stream;

/* A result (borrowed) or why there is none. */
typedef void (*container_json_fn)(const struct arca_error *err, json_t *result, void *ud);

/* ContainerTop's {Titles, Processes}, from ps with ps_args (NULL: Docker's columns). */
int container_top(struct container *c, const char *ps_args, container_json_fn cb, void *ud,
		  struct arca_error **err);
/*
 * With out: a sample each second as a JSON line until the client goes or the
 * container stops, then out ends. Without: one sample to cb (with its
 * precpu, a second earlier, unless one_shot). A stopped container gives one
 * sample of zeros. An error here (paused) is returned, and cb is not called.
 */
int container_stats(struct container *c, struct stream *out, bool one_shot, container_json_fn cb,
		    void *ud, struct arca_error **err);
