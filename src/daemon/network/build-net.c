/* SPDX-License-Identifier: Apache-2.0 */
/* A build VM on a Docker network (see build-net.h). */
#include "build-net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "hashmap.h"
#include "names.h"
#include "network.h"
#include "sandbox-internal.h"
#include "sandbox.h"
#include "vm.h"

int build_net_check(struct daemon *d, const char *network, struct arca_error **err)
{
	if (strcmp(network, "host") == 0 || strncmp(network, "container:", 10) == 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "network mode \"%s\" is not available to a build: a build "
				      "VM has its own network stack (use bridge or a network)",
				      network);
	struct network *n = NULL;
	int r = network_find(d, network, &n, err);
	if (r < 0)
		return r;
	if (!network_has_bridge(n))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "network %s gives a build no network: leave --network out",
				      network);
	return 0;
}

int build_net_attach(void *arg)
{
	struct build_net_attach *a = arg;
	struct daemon *d = a->d;
	a->tap_fd = -EBADF;
	struct network *n = NULL;
	int r = network_find(d, a->network, &n, &a->err);
	if (r < 0)
		return r;
	struct container *c = xnew0(struct container, 1);
	c->d = d;
	c->build = true;
	id_generate(c->id); /* its TAP and veths are named after it */
	c->name = xstrdup(a->vm_id);
	c->config = json_pack("{s:s}", "Hostname", "buildkitsandbox");
	json_t *hosts = json_array();
	for (char *const *h = a->extra_hosts; h && *h; h++)
		json_array_append_new(hosts, json_string(*h));
	c->host_config = json_pack("{s:s, s:o}", "NetworkMode", n->name, "ExtraHosts", hosts);
	c->networks = json_object();
	json_t *ep = NULL;
	r = network_endpoint(n, c, NULL, 51, &ep, &a->err);
	if (r < 0) {
		container_free(c);
		return r;
	}
	json_object_set_new(c->networks, n->name, ep);
	(void)hashmap_put(d->build_vms, c->id, c); /* its address is taken from now on */
	struct vm_config cfg = { .net_fd = -1 };
	r = sandbox_prepare(c, &cfg, &a->err);
	if (r < 0) {
		hashmap_remove(d->build_vms, c->id);
		container_free(c);
		return r;
	}
	a->rec = c;
	a->tap_fd = cfg.net_fd;
	memcpy(a->mac, cfg.net_mac, 6);
	a->vhost = cfg.net_vhost;
	a->n_reqs = sandbox_build_requests(c, a->reqs, BUILD_NET_MAX_REQS);
	a->hosts = sandbox_etc_hosts(c);
	a->resolv = sandbox_etc_resolv(c);
	return 0;
}

int build_net_started(void *arg)
{
	struct build_net_attach *a = arg;
	if (a->rec)
		sandbox_vm_started(a->rec);
	a->tap_fd = -EBADF; /* it was the sandbox's copy: closed there */
	return 0;
}

int build_net_detach(void *arg)
{
	struct build_net_attach *a = arg;
	struct container *c = a->rec;
	if (!c)
		return 0;
	hashmap_remove(a->d->build_vms, c->id);
	sandbox_release(c);
	container_free(c);
	a->rec = NULL;
	return 0;
}
