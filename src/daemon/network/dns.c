/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded DNS server (see dns.h). */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "dns-msg.h"
#include "event.h"
#include "guest-client.h"
#include "hashmap.h"
#include "log.h"
#include "strv.h"
#include "network.h"
#include "sandbox-internal.h"
#include "time-util.h"
#include "vm.h"

#define MAX_INFLIGHT  1024
#define MAX_UPSTREAMS 3
#define UPSTREAM_WAIT (4 * USEC_PER_SEC)
#define MAX_ANSWERS   32
#define MAX_MSG	      65535

struct forward {
	struct forward *next;
	struct dns *dns;
	struct daemon *d;
	char container[ID_HEX_LEN + 1];
	uint32_t guest_id;
	bool tcp;
	uint16_t client_id, our_id;
	uint8_t *query; /* as the client sent it, our id in it */
	size_t len;
	char **servers;
	size_t next_server;
	int fd;
	struct event_source *io, *timer;
	uint8_t *buf; /* TCP: the length prefix and the response */
	size_t have, want, sent;
};

struct dns {
	struct event *event;
	struct forward *inflight;
	unsigned n_inflight;
};

struct dns *dns_new(struct event *e)
{
	struct dns *dns = xnew0(struct dns, 1);
	dns->event = e;
	return dns;
}

static void forward_free(struct forward *f)
{
	struct dns *dns = f->dns;
	for (struct forward **p = &dns->inflight; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	dns->n_inflight--;
	event_source_free(f->io);
	event_source_free(f->timer);
	safe_close(f->fd);
	strv_free(f->servers);
	free(f->query);
	free(f->buf);
	free(f);
}

struct dns *dns_free(struct dns *dns)
{
	if (!dns)
		return NULL;
	while (dns->inflight)
		forward_free(dns->inflight);
	free(dns);
	return NULL;
}

/* Sends the answer to the guest that asked (if its container still runs). */
static void reply(struct daemon *d, const char *id, uint32_t guest_id, const uint8_t *msg,
		  size_t len)
{
	struct container *c = daemon_find_container(d, id, NULL);
	if (!c || !c->vm || !len)
		return;
	struct guest_request rq;
	guest_request_init(&rq, PROTO_OP_DNS_REPLY);
	proto_put_u32(&rq.w, PROTO_T_DNS_ID, guest_id);
	proto_put_bytes(&rq.w, PROTO_T_DATA, msg, len);
	(void)guest_client_call(vm_guest(c->vm), &rq, NULL, NULL);
}

static void reply_code(struct daemon *d, const char *id, uint32_t guest_id,
		       const struct dns_question *q, const uint8_t *query, uint8_t rcode)
{
	uint8_t out[1024];
	size_t n = dns_build_reply(q, query, rcode, NULL, 0, out, sizeof(out));
	reply(d, id, guest_id, out, n);
}

/* --- names on the asker's networks --- */

struct found {
	struct dns_answer a[MAX_ANSWERS];
	size_t n;
	bool name_exists; /* some container has the name, whatever its addresses */
};

static bool has_name(json_t *ep, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(ep, "DNSNames"), i, v)
	{
		const char *s = json_string_value(v);
		if (s && strcasecmp(s, name) == 0)
			return true;
	}
	return false;
}

static void add_addr(struct found *f, json_t *ep, uint16_t qtype)
{
	const char *key = qtype == DNS_TYPE_AAAA ? "GlobalIPv6Address" : "IPAddress";
	const char *ip = sandbox_ep_str(ep, key);
	f->name_exists = true;
	if (!ip[0] || f->n >= MAX_ANSWERS)
		return;
	struct dns_answer *a = &f->a[f->n];
	*a = (struct dns_answer){ .type = qtype };
	if (inet_pton(qtype == DNS_TYPE_AAAA ? AF_INET6 : AF_INET, ip, a->addr) == 1)
		f->n++;
}

/* The endpoints of c's user-defined networks (only `network` when given) whose names match. */
static void lookup(struct container *c, const char *name, const char *network, uint16_t qtype,
		   struct found *f)
{
	struct daemon *d = c->d;
	const char *k;
	json_t *mine;
	json_object_foreach(c->networks, k, mine)
	{
		struct network *n = sandbox_ep_network(c, mine);
		if (!n || n->builtin || !sandbox_ep_str(mine, NETWORK_EP_IFNAME)[0] ||
		    (network && strcasecmp(n->name, network) != 0))
			continue;
		size_t it = 0;
		void *v;
		while (hashmap_iter(d->containers, &it, NULL, &v)) {
			struct container *o = v;
			json_t *ep = json_object_get(o->networks, n->name);
			if (ep && sandbox_ep_str(ep, NETWORK_EP_IFNAME)[0] && has_name(ep, name))
				add_addr(f, ep, qtype);
		}
	}
}

/* One link ("name:alias", "/name:/parent/alias" or "name") of c naming `name`: its target's
 * endpoints on the networks they share. */
static void link_match(struct container *c, const char *link, const char *name, uint16_t qtype,
		       struct found *f)
{
	const char *colon = link ? strchr(link, ':') : NULL;
	const char *alias = colon ? colon + 1 : link;
	const char *slash = alias ? strrchr(alias, '/') : NULL;
	if (slash)
		alias = slash + 1;
	if (!alias || strcasecmp(alias, name) != 0)
		return;
	_cleanup_free_ char *target = xstrdup(link[0] == '/' ? link + 1 : link);
	char *cut = strchr(target, ':');
	if (cut)
		*cut = '\0';
	struct container *o = daemon_find_container(c->d, target, NULL);
	const char *k;
	json_t *mine;
	json_object_foreach(c->networks, k, mine)
	{
		json_t *ep = o ? json_object_get(o->networks, k) : NULL;
		struct network *n = sandbox_ep_network(c, mine);
		if (ep && n && !n->builtin && sandbox_ep_str(ep, NETWORK_EP_IFNAME)[0])
			add_addr(f, ep, qtype);
	}
}

/* The container's own links (visible to it alone): --link at create, and the Links of its
 * endpoints (docker network connect --link). */
static void lookup_links(struct container *c, const char *name, uint16_t qtype, struct found *f)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c->host_config, "Links"), i, v)
	    link_match(c, json_string_value(v), name, qtype, f);
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		json_array_foreach(json_object_get(ep, "Links"), i, v)
		    link_match(c, json_string_value(v), name, qtype, f);
	}
}

/* dockerd's candidates for "a.b.c": the whole name, then name "a.b" on network "c", ... */
static void resolve_name(struct container *c, const char *qname, uint16_t qtype, struct found *f)
{
	lookup_links(c, qname, qtype, f);
	lookup(c, qname, NULL, qtype, f);
	_cleanup_free_ char *copy = xstrdup(qname);
	for (char *dot = strrchr(copy, '.'); dot && !f->name_exists; dot = strrchr(copy, '.')) {
		*dot = '\0';
		const char *network = qname + (dot - copy) + 1;
		lookup(c, copy, network, qtype, f);
	}
}

/* PTR: "<first DNS name>.<network>" of the endpoint with that address on c's networks. */
static bool resolve_ptr(struct container *c, int family, const uint8_t addr[16], char *out,
			size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	inet_ntop(family, addr, ip, sizeof(ip));
	const char *key = family == AF_INET6 ? "GlobalIPv6Address" : "IPAddress";
	const char *k;
	json_t *mine;
	json_object_foreach(c->networks, k, mine)
	{
		struct network *n = sandbox_ep_network(c, mine);
		if (!n || n->builtin || !sandbox_ep_str(mine, NETWORK_EP_IFNAME)[0])
			continue;
		size_t it = 0;
		void *v;
		while (hashmap_iter(c->d->containers, &it, NULL, &v)) {
			json_t *ep = json_object_get(((struct container *)v)->networks, n->name);
			const char *first =
			    json_string_value(json_array_get(json_object_get(ep, "DNSNames"), 0));
			if (ep && first && strcmp(sandbox_ep_str(ep, key), ip) == 0) {
				snprintf(out, len, "%s.%s", first, n->name);
				return true;
			}
		}
	}
	return false;
}

/* --- forwarding --- */

static void forward_next(struct forward *f);

static void forward_done(struct forward *f, const uint8_t *msg, size_t len)
{
	uint8_t *copy = xmalloc(len);
	memcpy(copy, msg, len);
	dns_set_id(copy, f->client_id);
	reply(f->d, f->container, f->guest_id, copy, len);
	free(copy);
	forward_free(f);
}

/* An upstream's answer: relayed unless SERVFAIL or REFUSED, which try the next one. */
static void forward_answer(struct forward *f, const uint8_t *msg, size_t len)
{
	uint16_t id;
	if (!dns_reply_id(msg, len, &id) || id != f->our_id)
		return; /* not ours: keep waiting */
	uint8_t rcode = msg[3] & 0x0f;
	if (rcode == DNS_RCODE_SERVFAIL || rcode == DNS_RCODE_REFUSED) {
		forward_next(f);
		return;
	}
	forward_done(f, msg, len);
}

static int on_udp(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct forward *f = userdata;
	uint8_t buf[MAX_MSG];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) {
		forward_next(f); /* refused: the next server */
		return 0;
	}
	forward_answer(f, buf, (size_t)n);
	return 0;
}

static int on_tcp(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct forward *f = userdata;
	if (f->sent < f->len + 2) {
		uint8_t hdr[2] = { (uint8_t)(f->len >> 8), (uint8_t)f->len };
		struct iovec iov[2] = { { hdr, 2 }, { f->query, f->len } };
		size_t skip = f->sent;
		for (int i = 0; i < 2 && skip; i++) {
			size_t k = skip < iov[i].iov_len ? skip : iov[i].iov_len;
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + k;
			iov[i].iov_len -= k;
			skip -= k;
		}
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			forward_next(f);
			return 0;
		}
		if (n > 0)
			f->sent += (size_t)n;
		if (f->sent == f->len + 2)
			(void)event_source_set_io_events(s, EPOLLIN);
		return 0;
	}
	if (!f->buf)
		f->buf = xmalloc(2 + MAX_MSG);
	size_t want = f->have < 2 ? 2 : 2 + ((size_t)f->buf[0] << 8 | f->buf[1]);
	ssize_t n = read(fd, f->buf + f->have, want - f->have);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		forward_next(f);
		return 0;
	}
	f->have += (size_t)n;
	if (f->have >= 2 && f->have == 2 + ((size_t)f->buf[0] << 8 | f->buf[1]))
		forward_answer(f, f->buf + 2, f->have - 2);
	return 0;
}

static int on_timeout(struct event_source *s, usec_t now, void *userdata)
{
	forward_next(userdata);
	return 0;
}

/* Asks the next upstream server; SERVFAIL to the client when there is none left. */
static void forward_next(struct forward *f)
{
	f->io = event_source_free(f->io);
	f->fd = safe_close(f->fd);
	f->have = f->sent = 0;
	while (f->next_server < strv_length(f->servers) && f->next_server < MAX_UPSTREAMS) {
		const char *server = f->servers[f->next_server++];
		struct sockaddr_storage ss = { 0 };
		socklen_t sl;
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		if (inet_pton(AF_INET, server, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons(53);
			sl = sizeof(*a4);
		} else if (inet_pton(AF_INET6, server, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons(53);
			sl = sizeof(*a6);
		} else {
			continue;
		}
		int fd =
		    socket(ss.ss_family,
			   (f->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		if (!f->tcp && send(fd, f->query, f->len, MSG_DONTWAIT) < 0) {
			close(fd);
			continue;
		}
		f->fd = fd;
		if (event_add_io(f->dns->event, &f->io, fd, f->tcp ? EPOLLOUT : EPOLLIN,
				 f->tcp ? on_tcp : on_udp, f) < 0)
			break;
		(void)event_source_set_time(f->timer, now_usec(CLOCK_MONOTONIC) + UPSTREAM_WAIT);
		(void)event_source_set_enabled(f->timer, true);
		return;
	}
	/* No upstream answered: SERVFAIL, as dockerd 28 does. */
	struct dns_question q;
	dns_set_id(f->query, f->client_id);
	if (dns_parse_query(f->query, f->len, &q) == 0)
		reply_code(f->d, f->container, f->guest_id, &q, f->query, DNS_RCODE_SERVFAIL);
	forward_free(f);
}

static void forward(struct daemon *d, struct container *c, uint32_t guest_id, bool tcp,
		    const uint8_t *data, size_t len, const struct dns_question *q)
{
	struct dns *dns = d->dns;
	struct sandbox *sb = c->sandbox;
	if (!sb || !sb->forwards || !sb->upstreams || !sb->upstreams[0])
		return reply_code(d, c->id, guest_id, q, data, DNS_RCODE_SERVFAIL);
	if (dns->n_inflight >= MAX_INFLIGHT)
		return reply_code(d, c->id, guest_id, q, data, DNS_RCODE_REFUSED);
	struct forward *f = xnew0(struct forward, 1);
	f->dns = dns;
	f->d = d;
	memcpy(f->container, c->id, sizeof(f->container));
	f->guest_id = guest_id;
	f->tcp = tcp;
	f->client_id = q->id;
	if (getrandom(&f->our_id, sizeof(f->our_id), 0) != sizeof(f->our_id))
		f->our_id = (uint16_t)(now_usec(CLOCK_MONOTONIC) ^ guest_id);
	f->query = xmalloc(len);
	memcpy(f->query, data, len);
	f->len = len;
	dns_set_id(f->query, f->our_id);
	f->servers = strv_copy(sb->upstreams);
	f->fd = -EBADF;
	f->next = dns->inflight;
	dns->inflight = f;
	dns->n_inflight++;
	if (event_add_time_relative(dns->event, &f->timer, UPSTREAM_WAIT, on_timeout, f) < 0) {
		forward_free(f);
		return;
	}
	forward_next(f);
}

void dns_query(struct daemon *d, const char *container_id, uint32_t guest_id, bool tcp,
	       const uint8_t *data, size_t len)
{
	struct container *c = daemon_find_container(d, container_id, NULL);
	struct dns_question q;
	if (!c || !c->vm || dns_parse_query(data, len, &q) < 0)
		return; /* not a query we can answer: the client times out, as with garbage */
	size_t max = tcp ? MAX_MSG : q.udp_size;
	uint8_t out[MAX_MSG];
	if (q.qclass == DNS_CLASS_IN && (q.qtype == DNS_TYPE_A || q.qtype == DNS_TYPE_AAAA) &&
	    q.name[0]) {
		struct found f = { .n = 0 };
		resolve_name(c, q.name, q.qtype, &f);
		if (f.name_exists) {
			/* NODATA when it has no address of this family: never forwarded. */
			size_t n = dns_build_reply(&q, data, DNS_RCODE_NOERROR, f.a, f.n, out, max);
			return reply(d, c->id, guest_id, out, n);
		}
	} else if (q.qclass == DNS_CLASS_IN && q.qtype == DNS_TYPE_PTR) {
		int family;
		uint8_t addr[16];
		char name[DNS_NAME_MAX + 1];
		if (dns_ptr_name_to_addr(q.name, &family, addr) == 0 &&
		    resolve_ptr(c, family, addr, name, sizeof(name))) {
			struct dns_answer a = { .type = DNS_TYPE_PTR, .ptr = name };
			size_t n = dns_build_reply(&q, data, DNS_RCODE_NOERROR, &a, 1, out, max);
			return reply(d, c->id, guest_id, out, n);
		}
	}
	forward(d, c, guest_id, tcp, data, len, &q);
}
