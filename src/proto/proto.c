/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frame and TLV codec. Every decoder bounds-checks before it reads and never
 * allocates; every encoder writes into a fixed buffer and reports overflow
 * instead of growing. All integers are little-endian on the wire.
 */
#include "proto.h"

#include <errno.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static bool is_control(uint8_t type)
{
	return type >= PROTO_HELLO && type <= PROTO_EVENT;
}

ssize_t proto_frame_decode(const uint8_t *buf, size_t len, struct proto_frame *ret)
{
	if (len < PROTO_HDR_SIZE)
		return 0;

	uint32_t plen = get32(buf);
	uint32_t stream = get32(buf + 4);
	uint8_t type = buf[8];
	uint8_t flags = buf[9];
	uint16_t reserved = get16(buf + 10);

	if (type == 0 || type >= _PROTO_FRAME_TYPE_MAX || flags != 0 || reserved != 0)
		return -EPROTO;
	if (is_control(type) != (stream == 0))
		return -EPROTO;
	if (plen > PROTO_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (type == PROTO_CREDIT && plen != 4)
		return -EPROTO;
	if (type == PROTO_CLOSE && plen != 0)
		return -EPROTO;
	if (len - PROTO_HDR_SIZE < plen)
		return 0;

	*ret = (struct proto_frame){
		.type = type,
		.flags = flags,
		.stream = stream,
		.len = plen,
		.payload = buf + PROTO_HDR_SIZE,
	};
	return (ssize_t)(PROTO_HDR_SIZE + plen);
}

void proto_frame_encode_header(uint8_t hdr[PROTO_HDR_SIZE], uint8_t type, uint8_t flags,
			       uint32_t stream, uint32_t len)
{
	put32(hdr, len);
	put32(hdr + 4, stream);
	hdr[8] = type;
	hdr[9] = flags;
	put16(hdr + 10, 0);
}

void proto_reader_init(struct proto_reader *r, const uint8_t *p, size_t len)
{
	*r = (struct proto_reader){ .p = p, .len = len, .off = 0 };
}

int proto_reader_next(struct proto_reader *r, struct proto_field *ret)
{
	if (r->off == r->len)
		return 0;
	if (r->len - r->off < 6)
		return -EPROTO;

	const uint8_t *h = r->p + r->off;
	uint16_t tag = get16(h);
	uint32_t flen = get32(h + 2);
	if (tag == 0 || flen > r->len - r->off - 6)
		return -EPROTO;

	*ret = (struct proto_field){ .tag = tag, .len = flen, .val = h + 6 };
	r->off += 6 + (size_t)flen;
	return 1;
}

int proto_field_u32(const struct proto_field *f, uint32_t *ret)
{
	if (f->len != 4)
		return -EPROTO;
	*ret = get32(f->val);
	return 0;
}

int proto_field_u64(const struct proto_field *f, uint64_t *ret)
{
	if (f->len != 8)
		return -EPROTO;
	*ret = get64(f->val);
	return 0;
}

int proto_field_bool(const struct proto_field *f, bool *ret)
{
	uint32_t v;
	if (proto_field_u32(f, &v) < 0 || v > 1)
		return -EPROTO;
	*ret = v == 1;
	return 0;
}

int proto_field_str(const struct proto_field *f, const char **ret)
{
	if (f->len == 0 || f->val[f->len - 1] != '\0')
		return -EPROTO;
	if (memchr(f->val, '\0', f->len - 1))
		return -EPROTO;
	*ret = (const char *)f->val;
	return 0;
}

int proto_request_parse(const struct proto_frame *f, uint32_t *ret_id, uint16_t *ret_op,
			struct proto_reader *ret_body)
{
	if (f->type != PROTO_REQUEST || f->len < 8)
		return -EPROTO;
	uint16_t op = get16(f->payload + 4);
	if (op == 0 || op >= _PROTO_OP_MAX || get16(f->payload + 6) != 0)
		return -EPROTO;
	*ret_id = get32(f->payload);
	*ret_op = op;
	proto_reader_init(ret_body, f->payload + 8, f->len - 8);
	return 0;
}

int proto_response_parse(const struct proto_frame *f, uint32_t *ret_id, uint32_t *ret_error,
			 struct proto_reader *ret_body)
{
	if (f->type != PROTO_RESPONSE || f->len < 8)
		return -EPROTO;
	uint32_t error = get32(f->payload + 4);
	if (error > 4095) /* an errno, or nothing we understand */
		return -EPROTO;
	*ret_id = get32(f->payload);
	*ret_error = error;
	proto_reader_init(ret_body, f->payload + 8, f->len - 8);
	return 0;
}

int proto_event_parse(const struct proto_frame *f, uint16_t *ret_event,
		      struct proto_reader *ret_body)
{
	if (f->type != PROTO_EVENT || f->len < 4)
		return -EPROTO;
	uint16_t ev = get16(f->payload);
	if (ev == 0 || ev >= _PROTO_EV_MAX || get16(f->payload + 2) != 0)
		return -EPROTO;
	*ret_event = ev;
	proto_reader_init(ret_body, f->payload + 4, f->len - 4);
	return 0;
}

int proto_credit_parse(const struct proto_frame *f, uint32_t *ret)
{
	if (f->type != PROTO_CREDIT || f->len != 4)
		return -EPROTO;
	uint32_t v = get32(f->payload);
	if (v == 0 || v > PROTO_INITIAL_WINDOW)
		return -EPROTO;
	*ret = v;
	return 0;
}

void proto_writer_init(struct proto_writer *w, uint8_t *buf, size_t cap)
{
	*w = (struct proto_writer){ .buf = buf, .cap = cap, .len = PROTO_HDR_SIZE };
	if (cap < PROTO_HDR_SIZE)
		w->overflow = true;
}

static uint8_t *reserve(struct proto_writer *w, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return NULL;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

void proto_put_raw(struct proto_writer *w, const void *p, size_t n)
{
	uint8_t *d = reserve(w, n);
	if (d && n)
		memcpy(d, p, n);
}

void proto_put_u16_raw(struct proto_writer *w, uint16_t v)
{
	uint8_t *d = reserve(w, 2);
	if (d)
		put16(d, v);
}

void proto_put_u32_raw(struct proto_writer *w, uint32_t v)
{
	uint8_t *d = reserve(w, 4);
	if (d)
		put32(d, v);
}

void proto_put_bytes(struct proto_writer *w, uint16_t tag, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		w->overflow = true;
		return;
	}
	uint8_t *d = reserve(w, 6 + n);
	if (!d)
		return;
	put16(d, tag);
	put32(d + 2, (uint32_t)n);
	if (n)
		memcpy(d + 6, p, n);
}

void proto_put_u32(struct proto_writer *w, uint16_t tag, uint32_t v)
{
	uint8_t b[4];
	put32(b, v);
	proto_put_bytes(w, tag, b, sizeof(b));
}

void proto_put_u64(struct proto_writer *w, uint16_t tag, uint64_t v)
{
	uint8_t b[8];
	put64(b, v);
	proto_put_bytes(w, tag, b, sizeof(b));
}

void proto_put_str(struct proto_writer *w, uint16_t tag, const char *s)
{
	proto_put_bytes(w, tag, s, strlen(s) + 1);
}

ssize_t proto_writer_finish(struct proto_writer *w, uint8_t type, uint32_t stream)
{
	if (w->overflow || w->len - PROTO_HDR_SIZE > PROTO_MAX_PAYLOAD)
		return -EMSGSIZE;
	proto_frame_encode_header(w->buf, type, 0, stream, (uint32_t)(w->len - PROTO_HDR_SIZE));
	return (ssize_t)w->len;
}

void proto_begin_request(struct proto_writer *w, uint32_t id, uint16_t op)
{
	proto_put_u32_raw(w, id);
	proto_put_u16_raw(w, op);
	proto_put_u16_raw(w, 0);
}

void proto_begin_response(struct proto_writer *w, uint32_t id, uint32_t error)
{
	proto_put_u32_raw(w, id);
	proto_put_u32_raw(w, error);
}

void proto_begin_event(struct proto_writer *w, uint16_t event)
{
	proto_put_u16_raw(w, event);
	proto_put_u16_raw(w, 0);
}

const char *proto_op_name(uint16_t op)
{
	static const char *const names[] = {
		[PROTO_OP_PING] = "ping",
		[PROTO_OP_MOUNT] = "mount",
		[PROTO_OP_UMOUNT] = "umount",
		[PROTO_OP_MKDIR] = "mkdir",
		[PROTO_OP_WRITE_FILE] = "write-file",
		[PROTO_OP_PROC_CREATE] = "proc-create",
		[PROTO_OP_PROC_START] = "proc-start",
		[PROTO_OP_PROC_SIGNAL] = "proc-signal",
		[PROTO_OP_PROC_RESIZE] = "proc-resize",
		[PROTO_OP_PROC_DELETE] = "proc-delete",
		[PROTO_OP_SET_TIME] = "set-time",
		[PROTO_OP_SYNC] = "sync",
		[PROTO_OP_SHUTDOWN] = "shutdown",
		[PROTO_OP_SET_HOSTNAME] = "set-hostname",
		[PROTO_OP_PROC_ATTACH] = "proc-attach",
		[PROTO_OP_SYMLINK] = "symlink",
		[PROTO_OP_NET_LINK_ADD] = "net-link-add",
		[PROTO_OP_NET_LINK_DEL] = "net-link-del",
		[PROTO_OP_NET_ROUTE] = "net-route",
		[PROTO_OP_NET_DNS] = "net-dns",
		[PROTO_OP_DNS_REPLY] = "dns-reply",
	};
	if (op >= sizeof(names) / sizeof(names[0]) || !names[op])
		return "unknown";
	return names[op];
}

int proto_parse_fields(const struct proto_reader *r, const struct proto_field_spec *spec,
		       size_t n_spec)
{
	struct proto_reader it = *r;
	struct proto_field f;
	uint64_t seen = 0; /* bit i: spec[i] seen */
	int k;

	if (n_spec > 64)
		return -EINVAL;
	while ((k = proto_reader_next(&it, &f)) > 0) {
		for (size_t i = 0; i < n_spec; i++) {
			if (spec[i].tag != f.tag)
				continue;
			if (seen & (1ULL << i))
				return -EPROTO;
			seen |= 1ULL << i;
			int r2;
			switch (spec[i].type) {
			case PROTO_F_U32: r2 = proto_field_u32(&f, spec[i].dest); break;
			case PROTO_F_U64: r2 = proto_field_u64(&f, spec[i].dest); break;
			case PROTO_F_BOOL: r2 = proto_field_bool(&f, spec[i].dest); break;
			case PROTO_F_STR: r2 = proto_field_str(&f, spec[i].dest); break;
			case PROTO_F_BYTES:
				*(struct proto_field *)spec[i].dest = f;
				r2 = 0;
				break;
			default: r2 = -EINVAL;
			}
			if (r2 < 0)
				return r2;
			break;
		}
	}
	if (k < 0)
		return k;
	for (size_t i = 0; i < n_spec; i++)
		if (spec[i].required && !(seen & (1ULL << i)))
			return -EPROTO;
	return 0;
}
