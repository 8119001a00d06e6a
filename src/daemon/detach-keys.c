/* SPDX-License-Identifier: Apache-2.0 */
/* The detach sequence: parsing Docker's syntax and matching it in stdin. */
#include "detach-keys.h"

#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "cleanup.h"

bool detach_keys_parse(const char *spec, struct detach_keys *ret)
{
	*ret = (struct detach_keys){ 0 };
	if (!spec || !spec[0]) /* as dockerd: empty is the default */
		spec = DETACH_KEYS_DEFAULT;
	_cleanup_free_ char *copy = xstrdup(spec);
	char *save = NULL;
	for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		if (ret->len >= DETACH_KEYS_MAX)
			return false;
		if (strncasecmp(k, "ctrl-", 5) == 0 && strlen(k) == 6) {
			char ch = k[5];
			if (ch >= 'a' && ch <= 'z')
				ret->seq[ret->len++] = (uint8_t)(ch - 'a' + 1);
			else if (ch == '@')
				ret->seq[ret->len++] = 0;
			else if (ch >= '[' && ch <= '_')
				ret->seq[ret->len++] = (uint8_t)(ch - '[' + 27);
			else
				return false;
		} else if (strlen(k) == 1) {
			ret->seq[ret->len++] = (uint8_t)k[0];
		} else {
			return false;
		}
	}
	return true;
}

bool detach_keys_feed(struct detach_keys *k, const uint8_t *p, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (k->len && p[i] == k->seq[k->match]) {
			if (++k->match == k->len)
				return true;
			continue;
		}
		if (k->match) {
			buf_append(out, k->seq, k->match);
			k->match = 0;
			/* This byte may start the sequence again. */
			if (k->len && p[i] == k->seq[0]) {
				k->match = 1;
				continue;
			}
		}
		buf_append(out, p + i, 1);
	}
	return false;
}
