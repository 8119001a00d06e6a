/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A running container's /etc/hostname, /etc/hosts and /etc/resolv.conf, and
 * dockerd's legacy links (--link on the default bridge): their /etc/hosts
 * lines and environment variables.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "etc-files.h"
#include "fd-util.h"
#include "guest-client.h"
#include "guest-setup.h"
#include "hashmap.h"
#include "network.h"
#include "sandbox-internal.h"
#include "sandbox.h"
#include "strv.h"

#define HOST_RESOLV "/etc/resolv.conf"

bool sandbox_etc_internal_resolver(struct container *c)
{
	if (c->build)
		return false; /* a build VM has no resolver at 127.0.0.11 (build-net.h) */
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		struct network *n = sandbox_ep_network(c, ep);
		if (n && !n->builtin && network_has_bridge(n) &&
		    sandbox_ep_str(ep, NETWORK_EP_IFNAME)[0])
			return true;
	}
	return false;
}

/* A legacy link: the child container and the alias the parent knows it by. */
struct link {
	struct container *child;
	char alias[256];
};

/* HostConfig.Links entries ("db:alias", "db", or dockerd's "/db:/web/alias") that resolve. */
static size_t links_of(struct container *c, struct link *out, size_t max)
{
	size_t n = 0, i;
	json_t *v;
	json_array_foreach(json_object_get(c->host_config, "Links"), i, v)
	{
		const char *s = json_string_value(v);
		if (!s || n >= max)
			continue;
		_cleanup_free_ char *name = xstrdup(s[0] == '/' ? s + 1 : s);
		char *colon = strchr(name, ':');
		const char *alias = name;
		if (colon) {
			*colon = '\0';
			alias = colon + 1;
			const char *slash = strrchr(alias, '/');
			if (slash)
				alias = slash + 1;
		}
		struct container *child = daemon_find_container(c->d, name, NULL);
		if (!child || !alias[0])
			continue;
		out[n].child = child;
		snprintf(out[n].alias, sizeof(out[n].alias), "%s", alias);
		n++;
	}
	return n;
}

/* The child's endpoint on the default bridge, where legacy links live. */
static json_t *bridge_endpoint(struct container *c)
{
	json_t *ep = json_object_get(c->networks, "bridge");
	return ep && sandbox_ep_str(ep, "IPAddress")[0] ? ep : NULL;
}

static char *env_name(const char *alias)
{
	char *s = xstrdup(alias);
	for (char *p = s; *p; p++)
		*p = (*p >= 'a' && *p <= 'z')				      ? (char)(*p - 32)
		     : ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p
									      : '_';
	return s;
}

struct xport {
	unsigned port;
	char proto[8];
};

static int xport_cmp(const void *a, const void *b)
{
	const struct xport *x = a, *y = b;
	bool xt = strcmp(x->proto, "tcp") == 0, yt = strcmp(y->proto, "tcp") == 0;
	if (xt != yt)
		return xt ? -1 : 1;
	int c = strcmp(x->proto, y->proto);
	return c ? c : (int)x->port - (int)y->port;
}

char **sandbox_link_env(struct container *c)
{
	char **env = strv_copy(NULL);
	struct link links[64];
	size_t n = links_of(c, links, ELEMENTSOF(links));
	for (size_t l = 0; l < n; l++) {
		json_t *ep = bridge_endpoint(links[l].child);
		if (!ep)
			continue;
		const char *ip = sandbox_ep_str(ep, "IPAddress");
		_cleanup_free_ char *a = env_name(links[l].alias);
		struct xport ports[256];
		size_t np = 0;
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(links[l].child->config, "ExposedPorts"), key, v)
		{
			if (np >= ELEMENTSOF(ports))
				break;
			const char *slash = strchr(key, '/');
			ports[np].port = (unsigned)atoi(key);
			snprintf(ports[np].proto, sizeof(ports[np].proto), "%s",
				 slash ? slash + 1 : "tcp");
			if (ports[np].port)
				np++;
		}
		qsort(ports, np, sizeof(*ports), xport_cmp);
		if (np)
			env = strv_append_take(env, xasprintf("%s_PORT=%s://%s:%u", a,
							      ports[0].proto, ip, ports[0].port));
		for (size_t i = 0; i < np; i++) {
			_cleanup_free_ char *P = env_name(ports[i].proto);
			const char *p = ports[i].proto;
			unsigned num = ports[i].port;
			env = strv_append_take(
			    env, xasprintf("%s_PORT_%u_%s=%s://%s:%u", a, num, P, p, ip, num));
			env = strv_append_take(env,
					       xasprintf("%s_PORT_%u_%s_ADDR=%s", a, num, P, ip));
			env = strv_append_take(env,
					       xasprintf("%s_PORT_%u_%s_PORT=%u", a, num, P, num));
			env = strv_append_take(env,
					       xasprintf("%s_PORT_%u_%s_PROTO=%s", a, num, P, p));
		}
		env =
		    strv_append_take(env, xasprintf("%s_NAME=/%s/%s", a, c->name, links[l].alias));
		size_t i;
		json_array_foreach(json_object_get(links[l].child->config, "Env"), i, v)
		{
			const char *e = json_string_value(v);
			if (!e || !strchr(e, '=') || strncmp(e, "HOME=", 5) == 0 ||
			    strncmp(e, "PATH=", 5) == 0)
				continue;
			env = strv_append_take(env, xasprintf("%s_ENV_%s", a, e));
		}
	}
	return env;
}

/* The default bridge's gateway: what host-gateway means, as on Linux dockerd. */
static const char *host_gateway(struct container *c, char buf[64])
{
	size_t it = 0;
	void *v;
	while (hashmap_iter(c->d->networks, &it, NULL, &v)) {
		const struct network *n = v;
		const struct ipam_subnet *s = n->builtin ? network_subnet(n, AF_INET) : NULL;
		if (s && strcmp(n->name, "bridge") == 0) {
			struct host_prefix g = s->subnet;
			memcpy(g.addr, s->gateway, 16);
			ipam_prefix_format(&g, false, buf, 64);
			return buf;
		}
	}
	return NULL;
}

static char *hosts_text(struct container *c)
{
	struct etc_host extra[320];
	size_t n_extra = 0;
	char gwbuf[64];
	char **owned = strv_copy(NULL); /* strings the entries point into */
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c->host_config, "ExtraHosts"), i, v)
	{
		const char *e = json_string_value(v);
		const char *sep = e ? strchr(e, ':') : NULL;
		if (!sep || n_extra >= 256)
			continue;
		const char *ip = sep + 1;
		if (strcmp(ip, "host-gateway") == 0 && !(ip = host_gateway(c, gwbuf)))
			continue;
		owned = strv_append_take(owned, xstrndup(e, (size_t)(sep - e)));
		owned = strv_append(owned, ip);
		size_t k = strv_length(owned);
		extra[n_extra++] = (struct etc_host){ .ip = owned[k - 1], .names = owned[k - 2] };
	}
	if (bridge_endpoint(c)) {
		struct link links[64];
		size_t n = links_of(c, links, ELEMENTSOF(links));
		for (size_t l = 0; l < n && n_extra < ELEMENTSOF(extra); l++) {
			json_t *ep = bridge_endpoint(links[l].child);
			if (!ep)
				continue;
			const char *host =
			    json_string_value(json_object_get(links[l].child->config, "Hostname"));
			bool same = strcmp(links[l].alias, links[l].child->name) == 0;
			owned = strv_append_take(
			    owned, xasprintf("%s %s%s%s", links[l].alias, host ? host : "",
					     same ? "" : " ", same ? "" : links[l].child->name));
			owned = strv_append(owned, sandbox_ep_str(ep, "IPAddress"));
			size_t k = strv_length(owned);
			extra[n_extra++] =
			    (struct etc_host){ .ip = owned[k - 1], .names = owned[k - 2] };
		}
	}
	const char *own[2 * MAX_ENDPOINTS];
	size_t n_own = 0;
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		const char *keys[] = { "IPAddress", "GlobalIPv6Address" };
		for (size_t j = 0; j < 2 && n_own < ELEMENTSOF(own); j++)
			if (sandbox_ep_str(ep, keys[j])[0])
				own[n_own++] = sandbox_ep_str(ep, keys[j]);
	}
	struct etc_hosts_spec spec = {
		.ipv6 = true, /* the guest's lo has ::1 */
		.extra = extra,
		.n_extra = n_extra,
		.own_ips = own,
		.n_own = n_own,
		.hostname = json_string_value(json_object_get(c->config, "Hostname")),
		.domainname = json_string_value(json_object_get(c->config, "Domainname")),
	};
	char *text = etc_hosts(&spec);
	strv_free(owned);
	return text;
}

static char **strings(json_t *list)
{
	char **out = strv_copy(NULL);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) if (json_is_string(v)) out =
	    strv_append(out, json_string_value(v));
	return out;
}

static char *resolv_text(struct container *c)
{
	_cleanup_free_ char *host = NULL;
	if (read_file_at(AT_FDCWD, HOST_RESOLV, 64 * 1024, &host, NULL) < 0)
		host = xstrdup("");
	_cleanup_strv_free_ char **dns = strings(json_object_get(c->host_config, "Dns"));
	_cleanup_strv_free_ char **search = strings(json_object_get(c->host_config, "DnsSearch"));
	_cleanup_strv_free_ char **opts = strings(json_object_get(c->host_config, "DnsOptions"));
	/* The daemon's dns, dns-search and dns-opts stand in for what a container left out. */
	struct daemon_config *dc = &c->d->cfg;
	bool v6 = false, out = false;
	const char *k;
	json_t *ep;
	json_object_foreach(c->networks, k, ep)
	{
		struct network *n = sandbox_ep_network(c, ep);
		v6 |= sandbox_ep_str(ep, "GlobalIPv6Address")[0] != '\0';
		out |= n && network_has_bridge(n) && !n->internal &&
		       sandbox_ep_str(ep, NETWORK_EP_IFNAME)[0];
	}
	struct etc_resolv_spec spec = {
		.host_conf = host,
		.host_path = HOST_RESOLV,
		.dns = dns && dns[0] ? dns : dc->dns,
		.search = search && search[0] ? search : dc->dns_search,
		.options = opts && opts[0] ? opts : dc->dns_opts,
		.internal = sandbox_etc_internal_resolver(c),
		.ipv6 = v6,
	};
	char **upstreams = NULL;
	char *text = etc_resolv_conf(&spec, &upstreams);
	if (c->sandbox) {
		strv_free(c->sandbox->upstreams);
		c->sandbox->upstreams = upstreams;
		c->sandbox->forwards = out;
	} else {
		strv_free(upstreams);
	}
	return text;
}

void sandbox_etc_write(struct container *c, struct guest_batch *b, bool initial)
{
	const char *host = json_string_value(json_object_get(c->config, "Hostname"));
	_cleanup_free_ char *hostname = xasprintf("%s\n", host ? host : "");
	_cleanup_free_ char *hosts = hosts_text(c);
	_cleanup_free_ char *resolv = resolv_text(c);
	struct {
		const char *name;
		const char *data;
	} files[] = { { "hostname", hostname }, { "hosts", hosts }, { "resolv.conf", resolv } };
	struct guest_request rq;
	/* Rewritten in place: the bind mount into the root sees the new content. */
	for (size_t k = initial ? 0 : 1; k < ELEMENTSOF(files); k++) {
		_cleanup_free_ char *src = xasprintf("/run/arca/etc/%s", files[k].name);
		guest_req_write_file(&rq, src, files[k].data, strlen(files[k].data), 0644);
		guest_batch_add(b, &rq);
		if (!initial)
			continue;
		_cleanup_free_ char *dst = xasprintf(GUEST_ROOT "/etc/%s", files[k].name);
		guest_req_mount(&rq, src, dst, "", MS_BIND, NULL);
		guest_batch_add(b, &rq);
	}
}

char *sandbox_etc_hosts(struct container *c)
{
	return hosts_text(c);
}

char *sandbox_etc_resolv(struct container *c)
{
	return resolv_text(c);
}

void sandbox_etc_refresh(struct container *c)
{
	free(resolv_text(c));
}
