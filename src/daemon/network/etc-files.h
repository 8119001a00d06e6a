/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's /etc/hosts and /etc/resolv.conf, as dockerd 28 writes them
 * (libnetwork/etchosts, internal/resolvconf): pure text builders, unit
 * tested against dockerd's output.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct etc_host {
	const char *ip;	   /* "172.18.0.2", "fd00::2" */
	const char *names; /* space separated */
};

struct etc_hosts_spec {
	bool ipv6; /* the container has IPv6 (::1 on lo): the IPv6 defaults are written */
	/* --add-host entries (host-gateway already replaced), then legacy links */
	const struct etc_host *extra;
	size_t n_extra;
	/* the container's own addresses, one line each with its hostname */
	const char *const *own_ips;
	size_t n_own;
	const char *hostname;
	const char *domainname;
};

/* The file's text (caller frees). */
char *etc_hosts(const struct etc_hosts_spec *s);

struct etc_resolv_spec {
	const char *host_conf; /* the host's resolv.conf text ("" when unreadable) */
	const char *host_path; /* where it came from, for the trailing comment */
	char *const *dns;      /* HostConfig.Dns (NULL or empty: the host's) */
	char *const *search;   /* HostConfig.DnsSearch */
	char *const *options;  /* HostConfig.DnsOptions */
	bool internal;	       /* on a user-defined network: the resolver at 127.0.0.11 */
	bool ipv6;	       /* the container has IPv6 (legacy mode keeps IPv6 servers) */
};

/*
 * The file's text (caller frees); *ret_upstreams (a strv, caller frees) gets
 * the servers the internal resolver forwards to: the host's nameservers (all
 * of them, loopback included: arcad asks them from the host) then --dns.
 */
char *etc_resolv_conf(const struct etc_resolv_spec *s, char ***ret_upstreams);
