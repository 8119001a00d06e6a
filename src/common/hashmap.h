/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A string-keyed hash map (open addressing, linear probing, FNV-1a). The map
 * owns copies of its keys; values are borrowed pointers the caller manages.
 * Not thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap;

/* The map's hash of a string (FNV-1a, 64 bits; its offset basis is the one this map has
 * always used): also for a name that must stay the same for the same string. */
uint64_t hashmap_hash(const char *s);

struct hashmap *hashmap_new(void);
struct hashmap *hashmap_free(struct hashmap *m);
static inline void hashmap_freep(struct hashmap **m)
{
	if (*m)
		*m = hashmap_free(*m);
}
/* Inserts or replaces; returns the previous value (or NULL). */
void *hashmap_put(struct hashmap *m, const char *key, void *value);
void *hashmap_get(const struct hashmap *m, const char *key);
bool hashmap_contains(const struct hashmap *m, const char *key);
/* Removes key; returns its value (or NULL). */
void *hashmap_remove(struct hashmap *m, const char *key);
size_t hashmap_size(const struct hashmap *m);
/* Iteration: *iter starts at 0; returns false at the end. */
bool hashmap_iter(const struct hashmap *m, size_t *iter, const char **ret_key, void **ret_value);
/* The values, sorted by cmp (qsort's, on pointers to the values), NULL-terminated;
 * *ret_n counts them. Caller frees the array (not the values). */
void **hashmap_values_sorted(const struct hashmap *m, int (*cmp)(const void *, const void *),
			     size_t *ret_n);
