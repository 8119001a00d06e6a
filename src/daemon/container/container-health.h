/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Health checks (Config.Healthcheck, from the image or from create): the
 * probe runs in the container's VM, in its root, with its environment, every
 * Interval; a probe longer than Timeout is killed and fails. Retries failures
 * in a row make the container unhealthy (failures inside StartPeriod do not
 * count); one success makes it healthy. Each change of status emits Docker's
 * "health_status: <status>" event; the last five results are kept, as dockerd
 * keeps them, and shown by inspect.
 */
#pragma once

#include <jansson.h>

#include "error.h"

struct container;
struct health;

/* Validates a Healthcheck object as dockerd does (NULL or null: none). */
int healthcheck_check(json_t *hc, struct arca_error **err);

/* The main process started / the container stopped. */
void container_health_start(struct container *c);
void container_health_stop(struct container *c);
struct health *health_free(struct health *h);

/* "starting", "healthy", "unhealthy"; NULL without a health check. */
const char *container_health_status(const struct container *c);
/* State.Health for inspect (new reference), NULL without a health check. */
json_t *container_health_json(const struct container *c);
