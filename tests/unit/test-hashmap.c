/* SPDX-License-Identifier: Apache-2.0 */
/* src/common/hashmap.c: put/get/remove across growth and tombstones. */
#include <stdio.h>

#include "hashmap.h"
#include "tap.h"

int main(void)
{
	struct hashmap *m = hashmap_new();
	char key[32];
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		hashmap_put(m, key, (void *)(long)(i + 1));
	}
	is_int(hashmap_size(m), 10000, "size after growth");
	int bad = 0;
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		bad += hashmap_get(m, key) != (void *)(long)(i + 1);
	}
	is_int(bad, 0, "every value found");
	for (int i = 0; i < 10000; i += 2) {
		snprintf(key, sizeof(key), "k%d", i);
		hashmap_remove(m, key);
	}
	is_int(hashmap_size(m), 5000, "removals");
	ok(!hashmap_contains(m, "k0") && hashmap_contains(m, "k1"), "removed vs kept");
	ok(hashmap_put(m, "k1", (void *)7L) == (void *)2L, "replace returns the old value");
	size_t it = 0, n = 0;
	const char *k;
	while (hashmap_iter(m, &it, &k, NULL))
		n++;
	is_int(n, 5000, "iteration sees every live key");
	ok(hashmap_free(NULL) == NULL, "free(NULL)");
	hashmap_free(m);
	return tap_done();
}
