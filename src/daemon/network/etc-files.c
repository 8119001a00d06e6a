/* SPDX-License-Identifier: Apache-2.0 */
/* A container's /etc/hosts and /etc/resolv.conf (see etc-files.h). */
#include "etc-files.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "cleanup.h"
#include "strv.h"

#define RESOLVER_ADDR "127.0.0.11"

static bool is_v6(const char *ip)
{
	return strchr(ip, ':') != NULL;
}

char *etc_hosts(const struct etc_hosts_spec *s)
{
	char *out = xstrdup("127.0.0.1\tlocalhost\n");
	if (s->ipv6)
		strappendf(
		    &out,
		    "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\n"
		    "ff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
	for (size_t i = 0; i < s->n_extra; i++)
		if (s->ipv6 || !is_v6(s->extra[i].ip))
			strappendf(&out, "%s\t%s\n", s->extra[i].ip, s->extra[i].names);
	/* hostname[.domainname], and the short form when that has a dot. */
	const char *dom = s->domainname && s->domainname[0] ? s->domainname : NULL;
	_cleanup_free_ char *full =
	    dom ? xasprintf("%s.%s", s->hostname, dom) : xstrdup(s->hostname ? s->hostname : "");
	const char *dot = strchr(full, '.');
	_cleanup_free_ char *names =
	    dot ? xasprintf("%s %.*s", full, (int)(dot - full), full) : xstrdup(full);
	for (size_t i = 0; i < s->n_own; i++)
		if (s->ipv6 || !is_v6(s->own_ips[i]))
			strappendf(&out, "%s\t%s\n", s->own_ips[i], names);
	return out;
}

struct host_conf {
	char **nameservers;
	char **search;
	char **options;
	char **other;
};

static void host_conf_done(struct host_conf *h)
{
	strv_free(h->nameservers);
	strv_free(h->search);
	strv_free(h->options);
	strv_free(h->other);
}

static char **words(const char *s)
{
	char **out = strv_copy(NULL);
	_cleanup_free_ char *copy = xstrdup(s);
	char *save = NULL;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		out = strv_append(out, w);
	return out;
}

/* resolvconf's processLine: nameserver, search/domain (last wins), options, the rest kept. */
static void parse_host_conf(const char *text, struct host_conf *h)
{
	h->nameservers = strv_copy(NULL);
	h->search = strv_copy(NULL);
	h->options = strv_copy(NULL);
	h->other = strv_copy(NULL);
	_cleanup_free_ char *copy = xstrdup(text ? text : "");
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || line[0] == '#' || line[0] == ';')
			continue;
		_cleanup_strv_free_ char **w = words(line);
		if (strcmp(w[0], "nameserver") == 0 && w[1]) {
			h->nameservers = strv_append(h->nameservers, w[1]);
		} else if ((strcmp(w[0], "search") == 0 || strcmp(w[0], "domain") == 0)) {
			strv_free(h->search);
			h->search = strv_copy(w + 1);
		} else if (strcmp(w[0], "options") == 0) {
			for (char **o = w + 1; *o; o++)
				h->options = strv_append(h->options, *o);
		} else {
			h->other = strv_append(h->other, line);
		}
	}
}

static bool is_loopback(const char *ns)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, ns, a) == 1)
		return a[0] == 127;
	return inet_pton(AF_INET6, ns, a) == 1 && strcmp(ns, "::1") == 0;
}

static bool has_ndots(char *const *opts)
{
	for (char *const *o = opts; o && *o; o++)
		if (strncmp(*o, "ndots:", 6) == 0)
			return true;
	return false;
}

static void add_line(char **out, const char *key, char *const *list)
{
	if (!list || !list[0])
		return;
	strappendf(out, "%s", key);
	for (char *const *p = list; *p; p++)
		strappendf(out, " %s", *p);
	strappendf(out, "\n");
}

char *etc_resolv_conf(const struct etc_resolv_spec *s, char ***ret_upstreams)
{
	struct host_conf h;
	parse_host_conf(s->host_conf, &h);
	bool o_dns = s->dns && s->dns[0], o_search = s->search && s->search[0],
	     o_opts = s->options && s->options[0];
	_cleanup_strv_free_ char **search = strv_copy(NULL);
	for (char *const *p = o_search ? s->search : h.search; p && *p; p++)
		if (strcmp(*p, ".") != 0)
			search = strv_append(search, *p);
	_cleanup_strv_free_ char **opts = strv_copy(o_opts ? s->options : h.options);
	_cleanup_strv_free_ char **servers = strv_copy(NULL);
	char **upstreams = strv_copy(NULL);
	_cleanup_free_ char *ext = xstrdup("");
	bool defaults = false;
	const char *ndots_from = NULL;
	if (s->internal) {
		servers = strv_append(servers, RESOLVER_ADDR);
		for (char *const *p = o_dns ? s->dns : h.nameservers; p && *p; p++) {
			if (strcmp(*p, RESOLVER_ADDR) == 0)
				continue; /* never itself */
			upstreams = strv_append(upstreams, *p);
			strappendf(&ext, "%s%s%s%s", ext[0] ? " " : "", o_dns ? "" : "host(", *p,
				   o_dns ? "" : ")");
		}
		if (has_ndots(opts)) {
			ndots_from = o_opts ? "override" : "host";
		} else {
			opts = strv_append(opts, "ndots:0");
			ndots_from = "internal";
		}
	} else {
		for (char *const *p = o_dns ? s->dns : h.nameservers; p && *p; p++)
			if (o_dns || (!is_loopback(*p) && (s->ipv6 || !strchr(*p, ':'))))
				servers = strv_append(servers, *p);
		if (!servers[0]) {
			static const char *const v4[] = { "8.8.8.8", "8.8.4.4", NULL };
			static const char *const v6[] = { "2001:4860:4860::8888",
							  "2001:4860:4860::8844", NULL };
			for (size_t i = 0; v4[i]; i++)
				servers = strv_append(servers, v4[i]);
			for (size_t i = 0; s->ipv6 && v6[i]; i++)
				servers = strv_append(servers, v6[i]);
			defaults = true;
		}
		if (has_ndots(opts))
			ndots_from = o_opts ? "override" : "host";
	}
	char *out = xstrdup("# Generated by Docker Engine.\n"
			    "# This file can be edited; Docker Engine will not make further "
			    "changes once it\n# has been modified.\n\n");
	for (char **p = servers; *p; p++)
		strappendf(&out, "nameserver %s\n", *p);
	add_line(&out, "search", search);
	add_line(&out, "options", opts);
	for (char **p = h.other; *p; p++)
		strappendf(&out, "%s\n", *p);
	strappendf(&out, "\n# Based on host file: '%s' (%s)\n", s->host_path,
		   s->internal ? "internal resolver" : "legacy");
	if (defaults)
		strappendf(&out, "# Used default nameservers.\n");
	if (s->internal && ext[0])
		strappendf(&out, "# ExtServers: [%s]\n", ext);
	strappendf(&out, "# Overrides: [%s%s%s%s%s]\n", o_dns ? "nameservers" : "",
		   o_dns && (o_search || o_opts) ? " " : "", o_search ? "search" : "",
		   o_search && o_opts ? " " : "", o_opts ? "options" : "");
	if (ndots_from)
		strappendf(&out, "# Option ndots from: %s\n", ndots_from);
	host_conf_done(&h);
	*ret_upstreams = upstreams;
	return out;
}
