/* SPDX-License-Identifier: Apache-2.0 */
/* Published ports and the userland proxy (see ports.h). */
#include "ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "event.h"
#include "fd-util.h"
#include "parse-util.h"
#include "time-util.h"

#define RELAY_BUF     (64u * 1024u)
#define MAX_TCP	      1024		  /* connections per port (2 x 64 KiB buffers each) */
#define MAX_UDP_FLOWS 1024		  /* clients per UDP port */
#define UDP_IDLE      (90 * USEC_PER_SEC) /* docker-proxy's UDP timeout */
#define UDP_MAX	      65535

/* --- parsing --- */

static int bad(struct arca_error **err, const char *what)
{
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid port specification: %s",
			      what);
}

/* "80/tcp" -> 80, "tcp". */
static int parse_key(const char *key, uint16_t *port, char proto[5], struct arca_error **err)
{
	const char *slash = strchr(key, '/');
	const char *p = slash ? slash + 1 : "tcp";
	char num[8];
	size_t n = slash ? (size_t)(slash - key) : strlen(key);
	uint32_t v;
	if (!n || n >= sizeof(num))
		return bad(err, key);
	memcpy(num, key, n);
	num[n] = '\0';
	if (safe_atou32(num, &v) < 0 || v < 1 || v > 65535 ||
	    (strcmp(p, "tcp") && strcmp(p, "udp") && strcmp(p, "sctp")))
		return bad(err, key);
	*port = (uint16_t)v;
	snprintf(proto, 5, "%s", p);
	return 0;
}

/* "8080", "8000-8010", "" (any). */
static int parse_host_port(const char *s, uint16_t *lo, uint16_t *hi, struct arca_error **err)
{
	*lo = *hi = 0;
	if (!s || !s[0])
		return 0;
	char a[8] = "", b[8] = "";
	const char *dash = strchr(s, '-');
	uint32_t x, y;
	size_t n = dash ? (size_t)(dash - s) : strlen(s);
	if (n >= sizeof(a) || (dash && strlen(dash + 1) >= sizeof(b)))
		return bad(err, s);
	memcpy(a, s, n);
	if (dash)
		snprintf(b, sizeof(b), "%s", dash + 1);
	if (safe_atou32(a, &x) < 0 || x < 1 || x > 65535)
		return bad(err, s);
	y = x;
	if (dash && (safe_atou32(b, &y) < 0 || y < x || y > 65535))
		return bad(err, s);
	*lo = (uint16_t)x;
	*hi = (uint16_t)y;
	return 0;
}

static void add(struct port_spec **v, size_t *n, const struct port_spec *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = *s;
}

int ports_parse(json_t *config, json_t *host_config, struct port_spec **ret, size_t *ret_n,
		struct arca_error **err)
{
	struct port_spec *v = NULL;
	size_t n = 0;
	const char *key;
	json_t *list;
	int r = 0;
	json_t *bindings = json_object_get(host_config, "PortBindings");
	if (bindings && !json_is_null(bindings) && !json_is_object(bindings))
		return bad(err, "HostConfig.PortBindings must be a map");
	json_object_foreach(bindings, key, list)
	{
		struct port_spec s = { 0 };
		if ((r = parse_key(key, &s.ctr_port, s.proto, err)) < 0)
			break;
		size_t i;
		json_t *b;
		if (!json_is_array(list) || !json_array_size(list)) {
			add(&v, &n, &s); /* "80/tcp": null publishes on any port */
			continue;
		}
		json_array_foreach(list, i, b)
		{
			const char *ip = json_string_value(json_object_get(b, "HostIp"));
			const char *hp = json_string_value(json_object_get(b, "HostPort"));
			unsigned char addr[16];
			struct port_spec one = s;
			if (ip && ip[0] && inet_pton(AF_INET, ip, addr) != 1 &&
			    inet_pton(AF_INET6, ip, addr) != 1) {
				r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						   "invalid IP address: %s", ip);
				break;
			}
			snprintf(one.host_ip, sizeof(one.host_ip), "%s", ip ? ip : "");
			if ((r = parse_host_port(hp, &one.lo, &one.hi, err)) < 0)
				break;
			add(&v, &n, &one);
		}
		if (r < 0)
			break;
	}
	if (r >= 0 && json_is_true(json_object_get(host_config, "PublishAllPorts"))) {
		json_object_foreach(json_object_get(config, "ExposedPorts"), key, list)
		{
			struct port_spec s = { 0 };
			if ((r = parse_key(key, &s.ctr_port, s.proto, err)) < 0)
				break;
			bool have = false;
			for (size_t i = 0; i < n; i++)
				have |= v[i].ctr_port == s.ctr_port && !strcmp(v[i].proto, s.proto);
			if (!have)
				add(&v, &n, &s);
		}
	}
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* --- the proxy --- */

struct pipe_dir {
	uint8_t *buf;
	size_t len, off;
	bool eof; /* the source ended: the sink gets a FIN once the buffer is out */
};

struct tcp_conn {
	struct tcp_conn *next;
	struct port_proxy *p;
	int fd[2]; /* client, container */
	struct event_source *src[2];
	struct pipe_dir dir[2]; /* [0]: client -> container, [1]: back */
	bool connected;
};

struct udp_flow {
	struct udp_flow *next;
	struct port_proxy *p;
	int listen; /* the socket the client talks to */
	struct sockaddr_storage client;
	socklen_t client_len;
	int fd; /* connected to the container */
	struct event_source *src;
	usec_t last;
};

struct port_proxy {
	struct event *event;
	char proto[5];
	uint16_t host_port;
	struct sockaddr_in target;
	int fds[2]; /* IPv4 and IPv6 sockets, -1 when not bound */
	struct event_source *srcs[2];
	struct tcp_conn *conns;
	unsigned n_conns;
	struct udp_flow *flows;
	unsigned n_flows;
	struct event_source *reaper; /* idle UDP flows */
};

static void tcp_close(struct tcp_conn *c)
{
	struct port_proxy *p = c->p;
	for (struct tcp_conn **q = &p->conns; *q; q = &(*q)->next)
		if (*q == c) {
			*q = c->next;
			break;
		}
	for (int i = 0; i < 2; i++) {
		event_source_free(c->src[i]);
		safe_close(c->fd[i]);
		free(c->dir[i].buf);
	}
	free(c);
	p->n_conns--;
}

/* The epoll interest of each side: read while its buffer has room, write while the other's has
 * data. */
static void tcp_arm(struct tcp_conn *c)
{
	for (int i = 0; i < 2; i++) {
		struct pipe_dir *in = &c->dir[i], *out = &c->dir[1 - i];
		uint32_t ev = 0;
		if (!in->eof && in->len < RELAY_BUF && (i == 0 || c->connected))
			ev |= EPOLLIN;
		if (out->len > out->off || (i == 1 && !c->connected))
			ev |= EPOLLOUT;
		(void)event_source_set_io_events(c->src[i], ev);
	}
}

static int tcp_io(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct tcp_conn *c = userdata;
	int side = fd == c->fd[0] ? 0 : 1;
	if (side == 1 && !c->connected && (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
			tcp_close(c); /* the container does not listen: the client gets a reset */
			return 0;
		}
		c->connected = true;
	}
	struct pipe_dir *in = &c->dir[side], *out = &c->dir[1 - side];
	if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !in->eof && in->len < RELAY_BUF) {
		ssize_t n = read(fd, in->buf + in->len, RELAY_BUF - in->len);
		if (n > 0)
			in->len += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			in->eof = true;
	}
	/* Write what each direction has to its sink. */
	for (int d = 0; d < 2; d++) {
		struct pipe_dir *p = &c->dir[d];
		int sink = c->fd[1 - d];
		if (d == 0 && !c->connected)
			continue;
		while (p->off < p->len) {
			ssize_t n = send(sink, p->buf + p->off, p->len - p->off, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0) {
				tcp_close(c);
				return 0;
			}
			p->off += (size_t)n;
		}
		if (p->off == p->len) {
			p->off = p->len = 0;
			if (p->eof)
				(void)shutdown(sink, SHUT_WR);
		}
	}
	(void)out;
	if (c->dir[0].eof && c->dir[1].eof && !c->dir[0].len && !c->dir[1].len) {
		tcp_close(c);
		return 0;
	}
	tcp_arm(c);
	return 0;
}

static int tcp_accept(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct port_proxy *p = userdata;
	for (int k = 0; k < 16; k++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return 0;
		int tfd = p->n_conns < MAX_TCP
			      ? socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
			      : -1;
		if (tfd < 0 ||
		    (connect(tfd, (struct sockaddr *)&p->target, sizeof(p->target)) < 0 &&
		     errno != EINPROGRESS)) {
			safe_close(tfd);
			close(cfd);
			continue;
		}
		struct tcp_conn *c = xnew0(struct tcp_conn, 1);
		c->p = p;
		c->fd[0] = cfd;
		c->fd[1] = tfd;
		for (int i = 0; i < 2; i++)
			c->dir[i].buf = xmalloc(RELAY_BUF);
		c->next = p->conns;
		p->conns = c;
		p->n_conns++;
		if (event_add_io(p->event, &c->src[0], cfd, 0, tcp_io, c) < 0 ||
		    event_add_io(p->event, &c->src[1], tfd, EPOLLOUT, tcp_io, c) < 0) {
			tcp_close(c);
			continue;
		}
		tcp_arm(c);
	}
	return 0;
}

static void flow_free(struct udp_flow *f)
{
	struct port_proxy *p = f->p;
	for (struct udp_flow **q = &p->flows; *q; q = &(*q)->next)
		if (*q == f) {
			*q = f->next;
			break;
		}
	event_source_free(f->src);
	safe_close(f->fd);
	free(f);
	p->n_flows--;
}

/* A reply from the container: back to its client, from the port it wrote to. */
static int udp_reply(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct udp_flow *f = userdata;
	uint8_t buf[UDP_MAX];
	for (int k = 0; k < 32; k++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return 0;
		f->last = now_usec(CLOCK_MONOTONIC);
		(void)sendto(f->listen, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&f->client,
			     f->client_len);
	}
	return 0;
}

static int udp_in(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct port_proxy *p = userdata;
	uint8_t buf[UDP_MAX];
	for (int k = 0; k < 32; k++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return 0;
		struct udp_flow *f = p->flows;
		while (f &&
		       !(f->listen == fd && f->client_len == fl && !memcmp(&f->client, &from, fl)))
			f = f->next;
		if (!f) {
			if (p->n_flows >= MAX_UDP_FLOWS)
				continue;
			int t = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (t < 0 ||
			    connect(t, (struct sockaddr *)&p->target, sizeof(p->target)) < 0) {
				safe_close(t);
				continue;
			}
			f = xnew0(struct udp_flow, 1);
			*f = (struct udp_flow){ .p = p,
						.listen = fd,
						.client = from,
						.client_len = fl,
						.fd = t,
						.next = p->flows };
			p->flows = f;
			p->n_flows++;
			if (event_add_io(p->event, &f->src, t, EPOLLIN, udp_reply, f) < 0) {
				flow_free(f);
				continue;
			}
		}
		f->last = now_usec(CLOCK_MONOTONIC);
		(void)send(f->fd, buf, (size_t)n, MSG_DONTWAIT);
	}
	return 0;
}

static int udp_reap(struct event_source *s, usec_t now, void *userdata)
{
	struct port_proxy *p = userdata;
	for (struct udp_flow *f = p->flows, *next; f; f = next) {
		next = f->next;
		if (now - f->last > UDP_IDLE)
			flow_free(f);
	}
	(void)event_source_set_time(s, now + UDP_IDLE / 3);
	(void)event_source_set_enabled(s, true);
	return 0;
}

/* One socket on ip:port; -errno (EADDRINUSE: taken). */
static int bind_one(const struct port_spec *spec, int family, const char *ip, uint16_t port)
{
	bool tcp = strcmp(spec->proto, "udp") != 0;
	int fd = socket(family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
			strcmp(spec->proto, "sctp") == 0 ? IPPROTO_SCTP : 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	if (family == AF_INET6) {
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (ip && inet_pton(AF_INET6, ip, &a->sin6_addr) != 1)
			a->sin6_addr = in6addr_any;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		if (!ip || inet_pton(AF_INET, ip, &a->sin_addr) != 1)
			a->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(*a);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (tcp && listen(fd, 128) < 0)) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* The kernel's ephemeral range, where dockerd picks random host ports. */
static void ephemeral_range(uint16_t *lo, uint16_t *hi)
{
	_cleanup_free_ char *s = NULL;
	unsigned a = 0, b = 0;
	if (read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_local_port_range", 64, &s, NULL) >= 0 &&
	    sscanf(s, "%u %u", &a, &b) == 2 && a && a <= b && b <= 65535) {
		*lo = (uint16_t)a;
		*hi = (uint16_t)b;
		return;
	}
	*lo = 49153;
	*hi = 60999;
}

/* Binds what spec asks for on port: IPv4 and/or IPv6; 0, or the first failure. */
static int bind_port(const struct port_spec *spec, uint16_t port, int fds[2])
{
	const char *ip = spec->host_ip[0] ? spec->host_ip : NULL;
	bool v6only = ip && strchr(ip, ':');
	fds[0] = fds[1] = -1;
	if (!v6only) {
		fds[0] = bind_one(spec, AF_INET, ip, port);
		if (fds[0] < 0)
			return fds[0];
	}
	if (v6only || !ip) {
		int fd = bind_one(spec, AF_INET6, ip, port);
		if (fd < 0 && (v6only || fd == -EADDRINUSE)) {
			safe_close(fds[0]);
			fds[0] = -1;
			return fd;
		}
		fds[1] = fd < 0 ? -1 : fd; /* a host without IPv6 publishes IPv4 only */
	}
	return 0;
}

int port_proxy_open(struct event *e, const struct port_spec *spec, const char *ctr_ip,
		    uint16_t *cursor, struct port_proxy **ret, struct arca_error **err)
{
	uint16_t lo = spec->lo, hi = spec->hi;
	bool any = !lo;
	if (any)
		ephemeral_range(&lo, &hi);
	unsigned span = (unsigned)hi - lo + 1;
	unsigned start = any && *cursor >= lo && *cursor < hi ? *cursor + 1u - lo : 0;
	int fds[2] = { -1, -1 }, r = -EADDRINUSE;
	uint16_t port = 0;
	for (unsigned k = 0; k < span && r < 0; k++) {
		port = (uint16_t)(lo + (start + k) % span);
		r = bind_port(spec, port, fds);
		if (r < 0 && r != -EADDRINUSE && r != -EACCES)
			break;
	}
	if (r < 0) {
		const char *ip = spec->host_ip[0] ? spec->host_ip : "0.0.0.0";
		bool v6 = strchr(ip, ':') != NULL;
		if (r == -EADDRINUSE || r == -EACCES)
			return arca_error_set(
			    err, EADDRINUSE, ARCA_ERR_INTERNAL,
			    "Bind for %s%s%s:%u failed: port is already allocated", v6 ? "[" : "",
			    ip, v6 ? "]" : "", lo == hi ? lo : port);
		return arca_error_errno(err, -r, "bind %s:%u/%s", ip, port, spec->proto);
	}
	if (any)
		*cursor = port;
	struct port_proxy *p = xnew0(struct port_proxy, 1);
	p->event = e;
	snprintf(p->proto, sizeof(p->proto), "%s", spec->proto);
	p->host_port = port;
	p->target.sin_family = AF_INET;
	p->target.sin_port = htons(spec->ctr_port);
	inet_pton(AF_INET, ctr_ip, &p->target.sin_addr);
	bool udp = strcmp(spec->proto, "udp") == 0;
	for (int i = 0; i < 2; i++) {
		p->fds[i] = fds[i];
		if (fds[i] >= 0 && event_add_io(e, &p->srcs[i], fds[i], EPOLLIN,
						udp ? udp_in : tcp_accept, p) < 0) {
			port_proxy_free(p);
			return arca_error_errno(err, ENOMEM, "watch port %u", port);
		}
	}
	if (udp && event_add_time_relative(e, &p->reaper, UDP_IDLE / 3, udp_reap, p) < 0) {
		port_proxy_free(p);
		return arca_error_errno(err, ENOMEM, "watch port %u", port);
	}
	*ret = p;
	return 0;
}

struct port_proxy *port_proxy_free(struct port_proxy *p)
{
	if (!p)
		return NULL;
	while (p->conns)
		tcp_close(p->conns);
	while (p->flows)
		flow_free(p->flows);
	for (int i = 0; i < 2; i++) {
		event_source_free(p->srcs[i]);
		safe_close(p->fds[i]);
	}
	event_source_free(p->reaper);
	free(p);
	return NULL;
}

uint16_t port_proxy_host_port(const struct port_proxy *p)
{
	return p->host_port;
}

bool port_proxy_has_ipv6(const struct port_proxy *p)
{
	return p->fds[1] >= 0;
}
