/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's resolver at 127.0.0.11:53 (UDP and TCP), as dockerd's
 * embedded DNS server appears on user-defined networks. arca-init only
 * relays: each query goes to the host as an EV_DNS_QUERY event, and the
 * host (which knows the container's networks, the names on them and the
 * upstream servers) answers with DNS_REPLY. The relay never parses DNS:
 * it bounds sizes and counts, and matches replies to askers by its own id.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "event.h"
#include "init.h"
#include "log.h"

#define DNS_MAX_PENDING 128   /* queries waiting for the host; the oldest is dropped */
#define DNS_MAX_TCP	16    /* open TCP connections */
#define DNS_UDP_MAX	4096  /* a UDP query (EDNS payloads are at most this) */
#define DNS_TCP_MAX	65535 /* a TCP message (its 2-byte length) */
#define DNS_ADDR	"127.0.0.11"

struct dns_tcp {
	struct dns_tcp *next;
	struct dns_relay *relay;
	uint64_t serial; /* replies find their connection by it, not by pointer */
	int fd;
	struct event_source *src;
	uint8_t buf[2 + DNS_TCP_MAX];
	size_t len;
};

struct dns_pending {
	uint32_t id; /* 0: free */
	bool tcp;
	uint64_t serial; /* tcp: the connection */
	struct sockaddr_in from;
};

struct dns_relay {
	struct guest_init *gi;
	int udp, tcp;
	struct event_source *udp_src, *tcp_src;
	struct dns_pending pending[DNS_MAX_PENDING];
	size_t next_slot;
	uint32_t next_id;
	struct dns_tcp *conns;
	unsigned n_conns;
	uint64_t next_serial;
};

static void tcp_close(struct dns_relay *d, struct dns_tcp *t)
{
	for (struct dns_tcp **p = &d->conns; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	event_source_free(t->src);
	safe_close(t->fd);
	free(t);
	d->n_conns--;
}

/* Sends one query to the host; a full table drops its oldest entry. */
static void forward(struct dns_relay *d, const uint8_t *q, size_t len, bool tcp, uint64_t serial,
		    const struct sockaddr_in *from)
{
	struct guest_init *gi = d->gi;
	if (!gi->conn || len < 12)
		return; /* no host to ask, or not even a DNS header */
	struct dns_pending *p = &d->pending[d->next_slot];
	d->next_slot = (d->next_slot + 1) % DNS_MAX_PENDING;
	if (++d->next_id == 0)
		d->next_id = 1;
	*p = (struct dns_pending){ .id = d->next_id, .tcp = tcp, .serial = serial };
	if (from)
		p->from = *from;
	size_t cap = PROTO_HDR_SIZE + 64 + len;
	_cleanup_free_ uint8_t *buf = xmalloc(cap);
	struct proto_writer w;
	proto_writer_init(&w, buf, cap);
	proto_begin_event(&w, PROTO_EV_DNS_QUERY);
	proto_put_u32(&w, PROTO_T_DNS_ID, p->id);
	proto_put_u32(&w, PROTO_T_DNS_TCP, tcp);
	proto_put_bytes(&w, PROTO_T_DATA, q, len);
	ssize_t n = proto_writer_finish(&w, PROTO_EVENT, 0);
	if (n < 0 || proto_conn_send(gi->conn, buf, (size_t)n) < 0)
		p->id = 0;
}

static int on_udp(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct dns_relay *d = userdata;
	uint8_t q[DNS_UDP_MAX];
	for (int i = 0; i < 32; i++) { /* a bounded batch per wakeup */
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, q, sizeof(q), MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return 0; /* drained (EAGAIN), or a transient error */
		if ((size_t)n <= sizeof(q) && fl == sizeof(from))
			forward(d, q, (size_t)n, false, 0, &from);
	}
	return 0;
}

static int on_tcp_data(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct dns_tcp *t = userdata;
	struct dns_relay *d = t->relay;
	ssize_t n = read(fd, t->buf + t->len, sizeof(t->buf) - t->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		tcp_close(d, t);
		return 0;
	}
	t->len += (size_t)n;
	while (t->len >= 2) {
		size_t mlen = (size_t)t->buf[0] << 8 | t->buf[1];
		if (t->len < 2 + mlen)
			break;
		forward(d, t->buf + 2, mlen, true, t->serial, NULL);
		memmove(t->buf, t->buf + 2 + mlen, t->len - 2 - mlen);
		t->len -= 2 + mlen;
	}
	return 0;
}

static int on_tcp_accept(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct dns_relay *d = userdata;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return 0;
	if (d->n_conns >= DNS_MAX_TCP) {
		close(c);
		return 0;
	}
	struct dns_tcp *t = xnew0(struct dns_tcp, 1);
	t->relay = d;
	t->fd = c;
	t->serial = ++d->next_serial;
	if (event_add_io(d->gi->event, &t->src, c, EPOLLIN, on_tcp_data, t) < 0) {
		close(c);
		free(t);
		return 0;
	}
	t->next = d->conns;
	d->conns = t;
	d->n_conns++;
	return 0;
}

static int bound_socket(int type, char *err, size_t errlen)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	inet_pton(AF_INET, DNS_ADDR, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0)) {
		int r = -errno;
		snprintf(err, errlen, "bind %s:53/%s: %s", DNS_ADDR,
			 type == SOCK_STREAM ? "tcp" : "udp", strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

void dns_relay_free(struct guest_init *gi)
{
	struct dns_relay *d = gi->dns;
	if (!d)
		return;
	while (d->conns)
		tcp_close(d, d->conns);
	event_source_free(d->udp_src);
	event_source_free(d->tcp_src);
	safe_close(d->udp);
	safe_close(d->tcp);
	free(d);
	gi->dns = NULL;
}

int dns_relay_enable(struct guest_init *gi, bool on, char *err, size_t errlen)
{
	if (!on || gi->dns) {
		if (!on)
			dns_relay_free(gi);
		return 0;
	}
	struct dns_relay *d = xnew0(struct dns_relay, 1);
	d->gi = gi;
	d->udp = d->tcp = -EBADF;
	gi->dns = d;
	/* The sockets belong to the container's namespace, where its lo is. */
	int r = net_enter_container(gi);
	if (r < 0) {
		snprintf(err, errlen, "enter the container's network: %s", strerror(-r));
		dns_relay_free(gi);
		return r;
	}
	d->udp = bound_socket(SOCK_DGRAM, err, errlen);
	d->tcp = d->udp < 0 ? -EBADF : bound_socket(SOCK_STREAM, err, errlen);
	int back = net_leave_container(gi);
	r = d->udp < 0 ? d->udp : d->tcp < 0 ? d->tcp : back;
	if (r >= 0)
		r = event_add_io(gi->event, &d->udp_src, d->udp, EPOLLIN, on_udp, d);
	if (r >= 0)
		r = event_add_io(gi->event, &d->tcp_src, d->tcp, EPOLLIN, on_tcp_accept, d);
	if (r < 0) {
		if (!err[0])
			snprintf(err, errlen, "serve %s: %s", DNS_ADDR, strerror(-r));
		dns_relay_free(gi);
	}
	return r;
}

int dns_relay_reply(struct guest_init *gi, uint32_t id, const uint8_t *data, size_t len)
{
	struct dns_relay *d = gi->dns;
	if (!d || !id || len > DNS_TCP_MAX)
		return 0; /* stopped meanwhile, or nonsense: the asker times out */
	for (size_t i = 0; i < DNS_MAX_PENDING; i++) {
		struct dns_pending *p = &d->pending[i];
		if (p->id != id)
			continue;
		p->id = 0;
		if (!p->tcp) {
			(void)sendto(d->udp, data, len, MSG_DONTWAIT, (struct sockaddr *)&p->from,
				     sizeof(p->from));
			return 0;
		}
		for (struct dns_tcp *t = d->conns; t; t = t->next) {
			if (t->serial != p->serial)
				continue;
			uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
			struct iovec iov[2] = { { hdr, 2 }, { (void *)data, len } };
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
			/* A client that does not read its answers loses its connection. */
			if (sendmsg(t->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)(2 + len))
				tcp_close(d, t);
			break;
		}
		return 0;
	}
	return 0;
}
