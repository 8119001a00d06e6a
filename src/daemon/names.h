/* SPDX-License-Identifier: Apache-2.0 */
/* Container names: Docker's validity rule and generated adjective_person names. */
#pragma once

#include <stdbool.h>

/* [a-zA-Z0-9][a-zA-Z0-9_.-]+, after an optional leading '/'. */
bool name_is_valid(const char *name);
/* A random "adjective_surname"; retry > 0 appends a digit, as Docker does. Caller frees. */
char *name_generate(unsigned retry);
