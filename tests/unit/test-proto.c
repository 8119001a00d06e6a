/* SPDX-License-Identifier: Apache-2.0 */
/* src/proto/proto.c: frame and TLV codec, including every rejection path. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "conn.h"
#include "proto.h"
#include "tap.h"

static uint8_t buf[PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD];

static void test_frame_roundtrip(void)
{
	struct proto_writer w;
	struct proto_frame f;

	proto_writer_init(&w, buf, sizeof(buf));
	proto_begin_request(&w, 42, PROTO_OP_MOUNT);
	proto_put_str(&w, PROTO_T_SOURCE, "proc");
	proto_put_u64(&w, PROTO_T_MOUNT_FLAGS, 0x1234567890ULL);
	proto_put_u32(&w, PROTO_T_PARENTS, 1);
	ssize_t n = proto_writer_finish(&w, PROTO_REQUEST, 0);
	ok(n > PROTO_HDR_SIZE, "request encodes");

	/* Every strict prefix needs more bytes; the whole frame decodes. */
	int prefixes_ok = 1;
	for (ssize_t i = 0; i < n; i++)
		if (proto_frame_decode(buf, (size_t)i, &f) != 0)
			prefixes_ok = 0;
	ok(prefixes_ok, "every prefix asks for more bytes");
	is_int(proto_frame_decode(buf, (size_t)n, &f), n, "whole frame decodes");
	is_int(f.type, PROTO_REQUEST, "type");

	uint32_t id;
	uint16_t op;
	struct proto_reader r;
	is_int(proto_request_parse(&f, &id, &op, &r), 0, "request prefix parses");
	is_int(id, 42, "id");
	is_int(op, PROTO_OP_MOUNT, "op");

	const char *src = NULL;
	uint64_t flags = 0;
	bool parents = false;
	struct proto_field_spec spec[] = {
		{ PROTO_T_SOURCE, PROTO_F_STR, &src, true },
		{ PROTO_T_MOUNT_FLAGS, PROTO_F_U64, &flags, true },
		{ PROTO_T_PARENTS, PROTO_F_BOOL, &parents, false },
	};
	is_int(proto_parse_fields(&r, spec, 3), 0, "fields parse");
	is_str(src, "proc", "string field");
	ok(flags == 0x1234567890ULL, "u64 field");
	ok(parents, "bool field");

	const char *target = NULL;
	struct proto_field_spec need[] = { { PROTO_T_TARGET, PROTO_F_STR, &target, true } };
	is_int(proto_parse_fields(&r, need, 1), -EPROTO, "missing required field is rejected");
}

static void test_header_rejections(void)
{
	struct proto_frame f;
	uint8_t h[PROTO_HDR_SIZE + 8] = { 0 };

	proto_frame_encode_header(h, PROTO_DATA, 0, 0, 0);
	is_int(proto_frame_decode(h, PROTO_HDR_SIZE, &f), -EPROTO, "DATA on stream 0 rejected");
	proto_frame_encode_header(h, PROTO_REQUEST, 0, 5, 0);
	is_int(proto_frame_decode(h, PROTO_HDR_SIZE, &f), -EPROTO, "REQUEST on stream 5 rejected");
	proto_frame_encode_header(h, 0, 0, 0, 0);
	is_int(proto_frame_decode(h, PROTO_HDR_SIZE, &f), -EPROTO, "type 0 rejected");
	proto_frame_encode_header(h, 99, 0, 1, 0);
	is_int(proto_frame_decode(h, PROTO_HDR_SIZE, &f), -EPROTO, "unknown type rejected");
	proto_frame_encode_header(h, PROTO_DATA, 1, 1, 0);
	is_int(proto_frame_decode(h, PROTO_HDR_SIZE, &f), -EPROTO, "nonzero flags rejected");
	proto_frame_encode_header(h, PROTO_DATA, 0, 1, 0);
	h[11] = 1;
	is_int(proto_frame_decode(h, PROTO_HDR_SIZE, &f), -EPROTO, "reserved bits rejected");
	proto_frame_encode_header(h, PROTO_DATA, 0, 1, PROTO_MAX_PAYLOAD + 1);
	is_int(proto_frame_decode(h, PROTO_HDR_SIZE, &f), -EMSGSIZE,
	       "oversize payload rejected before it arrives");
	proto_frame_encode_header(h, PROTO_CREDIT, 0, 1, 3);
	is_int(proto_frame_decode(h, sizeof(h), &f), -EPROTO, "CREDIT must be 4 bytes");
	proto_frame_encode_header(h, PROTO_CLOSE, 0, 1, 1);
	is_int(proto_frame_decode(h, sizeof(h), &f), -EPROTO, "CLOSE must be empty");
	proto_frame_encode_header(h, PROTO_CREDIT, 0, 1, 4);
	memset(h + PROTO_HDR_SIZE, 0, 4);
	is_int(proto_frame_decode(h, PROTO_HDR_SIZE + 4, &f), PROTO_HDR_SIZE + 4, "CREDIT decodes");
	uint32_t credit;
	is_int(proto_credit_parse(&f, &credit), -EPROTO, "zero credit rejected");
	h[PROTO_HDR_SIZE + 3] = 0x7f;
	proto_frame_decode(h, PROTO_HDR_SIZE + 4, &f);
	is_int(proto_credit_parse(&f, &credit), -EPROTO, "credit over the window rejected");
}

static void test_tlv_rejections(void)
{
	struct proto_reader r;
	struct proto_field fld;

	uint8_t trunc[] = { 1, 0, 10, 0, 0, 0, 'a' }; /* declares 10 bytes, has 1 */
	proto_reader_init(&r, trunc, sizeof(trunc));
	is_int(proto_reader_next(&r, &fld), -EPROTO, "field longer than the message rejected");

	uint8_t short_hdr[] = { 1, 0, 0 };
	proto_reader_init(&r, short_hdr, sizeof(short_hdr));
	is_int(proto_reader_next(&r, &fld), -EPROTO, "partial field header rejected");

	uint8_t tag0[] = { 0, 0, 0, 0, 0, 0 };
	proto_reader_init(&r, tag0, sizeof(tag0));
	is_int(proto_reader_next(&r, &fld), -EPROTO, "tag 0 rejected");

	uint8_t nonul[] = { PROTO_T_PATH, 0, 2, 0, 0, 0, 'a', 'b' };
	proto_reader_init(&r, nonul, sizeof(nonul));
	is_int(proto_reader_next(&r, &fld), 1, "field reads");
	const char *s;
	is_int(proto_field_str(&fld, &s), -EPROTO, "string without NUL rejected");

	uint8_t inner[] = { PROTO_T_PATH, 0, 3, 0, 0, 0, 'a', 0, 0 };
	proto_reader_init(&r, inner, sizeof(inner));
	proto_reader_next(&r, &fld);
	is_int(proto_field_str(&fld, &s), -EPROTO, "string with inner NUL rejected");

	uint8_t badbool[] = { PROTO_T_TTY, 0, 4, 0, 0, 0, 2, 0, 0, 0 };
	bool b;
	proto_reader_init(&r, badbool, sizeof(badbool));
	proto_reader_next(&r, &fld);
	is_int(proto_field_bool(&fld, &b), -EPROTO, "bool other than 0/1 rejected");

	uint8_t dup[] = { PROTO_T_TTY, 0, 4, 0, 0, 0, 1, 0, 0, 0,
			  PROTO_T_TTY, 0, 4, 0, 0, 0, 1, 0, 0, 0 };
	struct proto_field_spec spec[] = { { PROTO_T_TTY, PROTO_F_BOOL, &b, false } };
	proto_reader_init(&r, dup, sizeof(dup));
	is_int(proto_parse_fields(&r, spec, 1), -EPROTO, "duplicate field rejected");

	uint8_t unknown[] = { 200, 0, 1, 0, 0, 0, 'x' };
	proto_reader_init(&r, unknown, sizeof(unknown));
	is_int(proto_parse_fields(&r, spec, 1), 0, "unknown fields are skipped");
}

static void test_writer_overflow(void)
{
	uint8_t small[PROTO_HDR_SIZE + 8];
	struct proto_writer w;
	proto_writer_init(&w, small, sizeof(small));
	proto_put_str(&w, PROTO_T_PATH, "this does not fit");
	is_int(proto_writer_finish(&w, PROTO_EVENT, 0), -EMSGSIZE,
	       "overflow reported, not written");
}

static void test_response_event(void)
{
	struct proto_writer w;
	struct proto_frame f;
	struct proto_reader r;
	uint32_t id, err;
	uint16_t ev;

	proto_writer_init(&w, buf, sizeof(buf));
	proto_begin_response(&w, 7, 5000);
	ssize_t n = proto_writer_finish(&w, PROTO_RESPONSE, 0);
	proto_frame_decode(buf, (size_t)n, &f);
	is_int(proto_response_parse(&f, &id, &err, &r), -EPROTO, "errno beyond 4095 rejected");

	proto_writer_init(&w, buf, sizeof(buf));
	proto_begin_event(&w, 999);
	n = proto_writer_finish(&w, PROTO_EVENT, 0);
	proto_frame_decode(buf, (size_t)n, &f);
	is_int(proto_event_parse(&f, &ev, &r), -EPROTO, "unknown event rejected");

	proto_writer_init(&w, buf, sizeof(buf));
	proto_begin_event(&w, PROTO_EV_PROC_EXIT);
	proto_put_u32(&w, PROTO_T_PROC_ID, 3);
	n = proto_writer_finish(&w, PROTO_EVENT, 0);
	proto_frame_decode(buf, (size_t)n, &f);
	is_int(proto_event_parse(&f, &ev, &r), 0, "exit event parses");
	is_int(ev, PROTO_EV_PROC_EXIT, "event type");
}

static void test_window(void)
{
	struct proto_window w;
	proto_window_init(&w);
	is_int(proto_window_on_data(&w, PROTO_INITIAL_WINDOW), 0, "a full window is accepted");
	is_int(proto_window_on_data(&w, 1), -EPROTO, "one byte beyond the window is a violation");
	proto_window_on_consumed(&w, 1000);
	is_int(proto_window_take_credit(&w, false), 0, "small consumption is batched");
	is_int(proto_window_take_credit(&w, true), 1000, "forced credit returns what was consumed");
	is_int(proto_window_on_data(&w, 1000), 0, "credited bytes may be sent again");
	is_int(proto_window_on_credit(&w, 1), -EPROTO, "credit beyond the window is a violation");
	w.send = 0;
	is_int(proto_window_on_credit(&w, 4096), 0, "credit restores the send window");
	is_int(w.send, 4096, "send window");
}

int main(void)
{
	test_frame_roundtrip();
	test_header_rejections();
	test_tlv_rejections();
	test_writer_overflow();
	test_response_event();
	test_window();
	is_str(proto_op_name(PROTO_OP_SHUTDOWN), "shutdown", "op names");
	is_str(proto_op_name(999), "unknown", "unknown op name");
	return tap_done();
}
