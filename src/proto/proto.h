/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host <-> guest wire protocol, compiled into both arca-init and the host.
 * See docs/guest-protocol.md for the full description.
 *
 * A connection is one byte stream (virtio-serial port or vsock) carrying
 * frames. Stream 0 is the control stream (HELLO, REQUEST, RESPONSE, EVENT);
 * other streams carry data (DATA, CREDIT, CLOSE) under credit-based flow
 * control. Message payloads are sequences of TLV fields.
 *
 * Decoding is bounded and allocation-free: the decoders return views into the
 * caller's buffer and reject anything malformed. Everything the guest sends is
 * hostile input to the host.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROTO_VERSION_MAJOR 1
#define PROTO_VERSION_MINOR 2

#define PROTO_HDR_SIZE	       12
#define PROTO_MAX_PAYLOAD      (256u * 1024u) /* any frame */
#define PROTO_DATA_CHUNK       (64u * 1024u)  /* largest DATA payload a sender emits */
#define PROTO_INITIAL_WINDOW   (256u * 1024u) /* per stream and direction */
#define PROTO_MAX_STRLIST      4096u	      /* argv, env, groups entries */
#define PROTO_SERIAL_PORT_NAME "arca.0"	      /* virtio-serial port name */
#define PROTO_VSOCK_PORT       1024u	      /* guest listens here on vsock */

enum proto_frame_type {
	PROTO_HELLO = 1,
	PROTO_REQUEST = 2,
	PROTO_RESPONSE = 3,
	PROTO_EVENT = 4,
	PROTO_DATA = 5,
	PROTO_CREDIT = 6,
	PROTO_CLOSE = 7,
	_PROTO_FRAME_TYPE_MAX,
};

enum proto_op {
	PROTO_OP_PING = 1,
	PROTO_OP_MOUNT = 2,
	PROTO_OP_UMOUNT = 3,
	PROTO_OP_MKDIR = 4,
	PROTO_OP_WRITE_FILE = 5,
	PROTO_OP_PROC_CREATE = 6,
	PROTO_OP_PROC_START = 7,
	PROTO_OP_PROC_SIGNAL = 8,
	PROTO_OP_PROC_RESIZE = 9,
	PROTO_OP_PROC_DELETE = 10,
	PROTO_OP_SET_TIME = 11,
	PROTO_OP_SYNC = 12,
	PROTO_OP_SHUTDOWN = 13,
	PROTO_OP_SET_HOSTNAME = 14,
	PROTO_OP_PROC_ATTACH = 15,
	PROTO_OP_SYMLINK = 16,
	/* 1.2: the container's network (docs/networking.md) */
	PROTO_OP_NET_LINK_ADD = 17, /* a VLAN of the trunk as IFNAME in the container */
	PROTO_OP_NET_LINK_DEL = 18,
	PROTO_OP_NET_ROUTE = 19, /* the default routes: via GATEWAY on IFNAME, or none */
	PROTO_OP_NET_DNS = 20,	 /* serve (ENABLE) or stop the resolver at 127.0.0.11 */
	PROTO_OP_DNS_REPLY = 21, /* the answer to an EV_DNS_QUERY */
	_PROTO_OP_MAX,
};

enum proto_event_type {
	PROTO_EV_PROC_EXIT = 1,
	PROTO_EV_DNS_QUERY = 2, /* 1.2: a query a container sent to 127.0.0.11 */
	_PROTO_EV_MAX,
};

enum proto_tag {
	PROTO_T_VERSION_MAJOR = 1, /* u32 */
	PROTO_T_VERSION_MINOR,	   /* u32 */
	PROTO_T_BOOT_NS,	   /* u64: CLOCK_BOOTTIME when arca-init started */
	PROTO_T_READY_NS,	   /* u64: CLOCK_BOOTTIME when it served its channel */
	PROTO_T_MESSAGE,	   /* str: error text */
	PROTO_T_DATA,		   /* bytes */
	PROTO_T_SOURCE,		   /* str */
	PROTO_T_TARGET,		   /* str */
	PROTO_T_FSTYPE,		   /* str */
	PROTO_T_MOUNT_FLAGS,	   /* u64: MS_* */
	PROTO_T_OPTIONS,	   /* str: mount data */
	PROTO_T_PATH,		   /* str */
	PROTO_T_MODE,		   /* u32 */
	PROTO_T_PARENTS,	   /* u32 bool: create parents */
	PROTO_T_APPEND,		   /* u32 bool */
	PROTO_T_PROC_ID,	   /* u32: host-chosen process id */
	PROTO_T_ARGV,		   /* str, repeated */
	PROTO_T_ENV,		   /* str, repeated */
	PROTO_T_CWD,		   /* str */
	PROTO_T_USER,		   /* str: Docker user spec, resolved in the guest */
	PROTO_T_GROUP_ADD,	   /* str, repeated */
	PROTO_T_RLIMIT,		   /* bytes: u32 resource, u64 soft, u64 hard */
	PROTO_T_TTY,		   /* u32 bool */
	PROTO_T_ROWS,		   /* u32 */
	PROTO_T_COLS,		   /* u32 */
	PROTO_T_STDIN_STREAM,	   /* u32 stream id, 0 = none */
	PROTO_T_STDOUT_STREAM,	   /* u32 */
	PROTO_T_STDERR_STREAM,	   /* u32 */
	PROTO_T_ROOT,		   /* str: directory the process is chrooted into */
	PROTO_T_PID,		   /* u32 */
	PROTO_T_EXIT_STATUS,	   /* u32: exit code, 128+signo when killed */
	PROTO_T_SIGNAL,		   /* u32 */
	PROTO_T_TIME_NS,	   /* u64: CLOCK_REALTIME */
	PROTO_T_HOSTNAME,	   /* str */
	PROTO_T_INIT_VERSION,	   /* str */
	PROTO_T_UMOUNT_FLAGS,	   /* u32: MNT_* */
	PROTO_T_STDIN_ONCE,	   /* u32 bool: close stdin on its stream's CLOSE (always) */
	PROTO_T_EXEC_GUEST,	   /* u32 bool: argv[0] is a guest-root path, run inside ROOT */
	PROTO_T_NEXT_PROC,	   /* u32: above every process id in use */
	PROTO_T_NEXT_STREAM,	   /* u32: above every stream id in use */
	PROTO_T_CGROUP,		   /* str: a cgroup of /sys/fs/cgroup the process joins */
	PROTO_T_NETNS, /* u32 bool: in the container's network namespace (a process; a mount, sysfs)
			*/
	PROTO_T_VLAN,  /* u32: 802.1Q id on the trunk, 1..4094 */
	PROTO_T_MAC,   /* bytes[6] */
	PROTO_T_IFNAME,	 /* str: a name in the container's network namespace */
	PROTO_T_MTU,	 /* u32 */
	PROTO_T_ADDRESS, /* bytes, repeated: u8 family (4|6), u8 prefix, 4|16 addr */
	PROTO_T_GATEWAY, /* bytes, repeated: u8 family (4|6), 4|16 addr */
	PROTO_T_ENABLE,	 /* u32 bool */
	PROTO_T_DNS_ID,	 /* u32: the guest's id of a pending query */
	PROTO_T_DNS_TCP, /* u32 bool: the query came over TCP */
	_PROTO_T_MAX,
};

struct proto_frame {
	uint8_t type;
	uint8_t flags;
	uint32_t stream;
	uint32_t len;
	const uint8_t *payload;
};

/*
 * Decode one frame from buf. Returns the number of bytes it occupies
 * (> 0) when complete, 0 when more bytes are needed, -EPROTO when the header
 * is invalid, -EMSGSIZE when it declares a payload over PROTO_MAX_PAYLOAD.
 */
ssize_t proto_frame_decode(const uint8_t *buf, size_t len, struct proto_frame *ret);
void proto_frame_encode_header(uint8_t hdr[PROTO_HDR_SIZE], uint8_t type, uint8_t flags,
			       uint32_t stream, uint32_t len);

/* --- TLV message bodies --- */

struct proto_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
};

struct proto_field {
	uint16_t tag;
	uint32_t len;
	const uint8_t *val;
};

void proto_reader_init(struct proto_reader *r, const uint8_t *p, size_t len);
/* 1: *ret filled; 0: end of message; -EPROTO: malformed. */
int proto_reader_next(struct proto_reader *r, struct proto_field *ret);

int proto_field_u32(const struct proto_field *f, uint32_t *ret);
int proto_field_u64(const struct proto_field *f, uint64_t *ret);
int proto_field_bool(const struct proto_field *f, bool *ret);
/* A string is sent with its NUL; returns a pointer into the buffer (no interior NUL). */
int proto_field_str(const struct proto_field *f, const char **ret);

/* Message prefixes. Each parse returns 0 and a reader positioned on the TLVs, or -EPROTO. */
int proto_request_parse(const struct proto_frame *f, uint32_t *ret_id, uint16_t *ret_op,
			struct proto_reader *ret_body);
int proto_response_parse(const struct proto_frame *f, uint32_t *ret_id, uint32_t *ret_error,
			 struct proto_reader *ret_body);
int proto_event_parse(const struct proto_frame *f, uint16_t *ret_event,
		      struct proto_reader *ret_body);
/* CREDIT carries one u32 increment (> 0). */
int proto_credit_parse(const struct proto_frame *f, uint32_t *ret);

/* --- encoding into a caller-provided, fixed buffer --- */

struct proto_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

/* Starts a frame at buf: reserves the header. cap includes the header. */
void proto_writer_init(struct proto_writer *w, uint8_t *buf, size_t cap);
void proto_put_raw(struct proto_writer *w, const void *p, size_t n);
void proto_put_u16_raw(struct proto_writer *w, uint16_t v);
void proto_put_u32_raw(struct proto_writer *w, uint32_t v);
void proto_put_bytes(struct proto_writer *w, uint16_t tag, const void *p, size_t n);
void proto_put_u32(struct proto_writer *w, uint16_t tag, uint32_t v);
void proto_put_u64(struct proto_writer *w, uint16_t tag, uint64_t v);
void proto_put_str(struct proto_writer *w, uint16_t tag, const char *s);
/* Writes the header; returns the total frame length, or -EMSGSIZE on overflow. */
ssize_t proto_writer_finish(struct proto_writer *w, uint8_t type, uint32_t stream);

/* Begin a REQUEST / RESPONSE / EVENT body (call right after proto_writer_init). */
void proto_begin_request(struct proto_writer *w, uint32_t id, uint16_t op);
void proto_begin_response(struct proto_writer *w, uint32_t id, uint32_t error);
void proto_begin_event(struct proto_writer *w, uint16_t event);

const char *proto_op_name(uint16_t op);

/* --- table-driven decoding of single-valued fields --- */

enum proto_field_type {
	PROTO_F_U32,
	PROTO_F_U64,
	PROTO_F_BOOL,
	PROTO_F_STR,   /* dest is const char ** into the message buffer */
	PROTO_F_BYTES, /* dest is struct proto_field * */
};

struct proto_field_spec {
	uint16_t tag;
	enum proto_field_type type;
	void *dest;
	bool required;
};

/*
 * Decodes the single-valued fields listed in spec from a whole message.
 * Unknown tags are skipped (newer peers may add fields); tags of repeated
 * fields must not appear in spec. A listed tag seen twice, a field of the
 * wrong size, or a missing required field gives -EPROTO.
 */
int proto_parse_fields(const struct proto_reader *r, const struct proto_field_spec *spec,
		       size_t n_spec);
