/* SPDX-License-Identifier: Apache-2.0 */
/* struct hashmap: power-of-two table, load factor <= 1/2, tombstones on removal. */
#include "hashmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

struct slot {
	char *key; /* NULL: empty; TOMBSTONE: removed */
	void *value;
};

static char tombstone_marker;
#define TOMBSTONE (&tombstone_marker)

struct hashmap {
	struct slot *slots;
	size_t cap;  /* power of two */
	size_t used; /* live keys */
	size_t fill; /* live keys + tombstones */
};

uint64_t hashmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct hashmap *hashmap_new(void)
{
	struct hashmap *m = xnew0(struct hashmap, 1);
	m->cap = 16;
	m->slots = xnew0(struct slot, m->cap);
	return m;
}

struct hashmap *hashmap_free(struct hashmap *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
			free(m->slots[i].key);
	free(m->slots);
	free(m);
	return NULL;
}

static struct slot *find(const struct hashmap *m, const char *key)
{
	size_t mask = m->cap - 1;
	for (size_t i = hashmap_hash(key) & mask;; i = (i + 1) & mask) {
		struct slot *s = &m->slots[i];
		if (!s->key)
			return NULL;
		if (s->key != TOMBSTONE && strcmp(s->key, key) == 0)
			return s;
	}
}

static void grow(struct hashmap *m)
{
	struct slot *old = m->slots;
	size_t old_cap = m->cap;
	m->cap = m->used * 4 > 16 ? m->cap * 2 : m->cap;
	while (m->cap < m->used * 4)
		m->cap *= 2;
	m->slots = xnew0(struct slot, m->cap);
	m->fill = m->used;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].key || old[i].key == TOMBSTONE)
			continue;
		size_t mask = m->cap - 1;
		size_t j = hashmap_hash(old[i].key) & mask;
		while (m->slots[j].key)
			j = (j + 1) & mask;
		m->slots[j] = old[i];
	}
	free(old);
}

void *hashmap_put(struct hashmap *m, const char *key, void *value)
{
	struct slot *s = find(m, key);
	if (s) {
		void *prev = s->value;
		s->value = value;
		return prev;
	}
	if ((m->fill + 1) * 2 > m->cap)
		grow(m);
	size_t mask = m->cap - 1;
	size_t i = hashmap_hash(key) & mask;
	while (m->slots[i].key && m->slots[i].key != TOMBSTONE)
		i = (i + 1) & mask;
	if (!m->slots[i].key)
		m->fill++;
	m->slots[i].key = xstrdup(key);
	m->slots[i].value = value;
	m->used++;
	return NULL;
}

void *hashmap_get(const struct hashmap *m, const char *key)
{
	struct slot *s = find(m, key);
	return s ? s->value : NULL;
}

bool hashmap_contains(const struct hashmap *m, const char *key)
{
	return find(m, key) != NULL;
}

void *hashmap_remove(struct hashmap *m, const char *key)
{
	struct slot *s = find(m, key);
	if (!s)
		return NULL;
	void *v = s->value;
	free(s->key);
	s->key = TOMBSTONE;
	s->value = NULL;
	m->used--;
	return v;
}

size_t hashmap_size(const struct hashmap *m)
{
	return m->used;
}

bool hashmap_iter(const struct hashmap *m, size_t *iter, const char **ret_key, void **ret_value)
{
	for (; *iter < m->cap; (*iter)++) {
		struct slot *s = &m->slots[*iter];
		if (s->key && s->key != TOMBSTONE) {
			if (ret_key)
				*ret_key = s->key;
			if (ret_value)
				*ret_value = s->value;
			(*iter)++;
			return true;
		}
	}
	return false;
}

void **hashmap_values_sorted(const struct hashmap *m, int (*cmp)(const void *, const void *),
			     size_t *ret_n)
{
	size_t n = hashmap_size(m), i = 0, it = 0;
	void **list = xnew0(void *, n + 1);
	void *v;
	while (i < n && hashmap_iter(m, &it, NULL, &v))
		list[i++] = v;
	qsort(list, i, sizeof(*list), cmp);
	*ret_n = i;
	return list;
}
