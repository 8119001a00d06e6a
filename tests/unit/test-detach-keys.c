/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the detach sequence (src/daemon/detach-keys.c). */
#include "detach-keys.h"
#include "tap.h"

static void test_parse(void)
{
	struct detach_keys k;
	ok(detach_keys_parse(NULL, &k) && k.len == 2 && k.seq[0] == 16 && k.seq[1] == 17,
	   "NULL is ctrl-p,ctrl-q");
	ok(detach_keys_parse("", &k) && k.len == 2 && k.seq[0] == 16, "\"\" is the default too");
	ok(detach_keys_parse("ctrl-e,e", &k) && k.len == 2 && k.seq[0] == 5 && k.seq[1] == 'e',
	   "ctrl-e,e");
	ok(detach_keys_parse("ctrl-@,ctrl-[,ctrl-_", &k) && k.len == 3 && k.seq[0] == 0 &&
	       k.seq[1] == 27 && k.seq[2] == 31,
	   "ctrl-@, ctrl-[ and ctrl-_");
	ok(!detach_keys_parse("ctrl-1", &k), "ctrl-1 refused");
	ok(!detach_keys_parse("ab", &k), "a two-letter key refused");
	ok(!detach_keys_parse("a,a,a,a,a,a,a,a,a", &k), "nine keys refused");
}

static void test_feed(void)
{
	struct detach_keys k;
	struct buf out = { 0 };
	(void)detach_keys_parse(NULL, &k);
	ok(!detach_keys_feed(&k, (const uint8_t *)"ab\x10", 3, &out), "a partial match waits");
	is_int(buf_len(&out), 2, "the bytes before it pass");
	ok(!detach_keys_feed(&k, (const uint8_t *)"x", 1, &out), "a failed match");
	is_int(buf_len(&out), 4, "passes the held byte and the new one");
	ok(memcmp(buf_peek(&out), "ab\x10x", 4) == 0, "in the order typed");
	ok(!detach_keys_feed(&k, (const uint8_t *)"\x10\x10", 2, &out), "ctrl-p twice");
	ok(detach_keys_feed(&k, (const uint8_t *)"\x11zz", 3, &out), "then ctrl-q detaches");
	is_int(buf_len(&out), 5, "the first ctrl-p passed, the sequence and the rest did not");
	buf_done(&out);
}

int main(void)
{
	test_parse();
	test_feed();
	return tap_done();
}
