/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the guest protocol decoder (src/proto/proto.c). Decodes
 * a byte stream as consecutive frames and runs every message parser and
 * field accessor over each one, as the host does with guest input.
 */
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

static void walk_fields(const struct proto_reader *body)
{
	struct proto_reader r = *body;
	struct proto_field f;
	while (proto_reader_next(&r, &f) > 0) {
		uint32_t u32;
		uint64_t u64;
		bool b;
		const char *s;
		(void)proto_field_u32(&f, &u32);
		(void)proto_field_u64(&f, &u64);
		(void)proto_field_bool(&f, &b);
		(void)proto_field_str(&f, &s);
	}
	uint32_t id = 0, status = 0, major = 0;
	uint64_t boot = 0;
	const char *msg = NULL;
	struct proto_field data;
	struct proto_field_spec spec[] = {
		{ PROTO_T_PROC_ID, PROTO_F_U32, &id, false },
		{ PROTO_T_EXIT_STATUS, PROTO_F_U32, &status, false },
		{ PROTO_T_VERSION_MAJOR, PROTO_F_U32, &major, false },
		{ PROTO_T_BOOT_NS, PROTO_F_U64, &boot, false },
		{ PROTO_T_MESSAGE, PROTO_F_STR, &msg, false },
		{ PROTO_T_DATA, PROTO_F_BYTES, &data, false },
	};
	(void)proto_parse_fields(body, spec, sizeof(spec) / sizeof(spec[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct proto_frame f;
		ssize_t n = proto_frame_decode(data + off, size - off, &f);
		if (n <= 0)
			break;
		off += (size_t)n;

		struct proto_reader body;
		uint32_t id, err, credit;
		uint16_t op, ev;
		if (proto_request_parse(&f, &id, &op, &body) == 0)
			walk_fields(&body);
		if (proto_response_parse(&f, &id, &err, &body) == 0)
			walk_fields(&body);
		if (proto_event_parse(&f, &ev, &body) == 0)
			walk_fields(&body);
		(void)proto_credit_parse(&f, &credit);
		if (f.type == PROTO_HELLO) {
			proto_reader_init(&body, f.payload, f.len);
			walk_fields(&body);
		}
	}
	return 0;
}
