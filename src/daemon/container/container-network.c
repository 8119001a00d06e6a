/* SPDX-License-Identifier: Apache-2.0 */
/* docker network connect and disconnect (see container-network.h). */
#include "container-network.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "events.h"
#include "hashmap.h"
#include "network.h"
#include "sandbox.h"

struct net_op {
	char id[ID_HEX_LEN + 1];
	char network[ID_HEX_LEN + 1];
	struct daemon *d;
	bool connect;
	container_net_fn cb;
	void *userdata;
};

static void emit(struct container *c, struct network *n, const char *action)
{
	events_emit(
	    c->d->events, "network", action, n->id,
	    json_pack("{s:s, s:s, s:s}", "container", c->id, "name", n->name, "type", n->driver));
}

static void on_live(struct container *c, const struct arca_error *err, void *userdata)
{
	struct net_op *op = userdata;
	struct network *n = hashmap_get(op->d->networks, op->network);
	_cleanup_error_ struct arca_error *save = NULL;
	if (err && op->connect && n) {
		/* Not live: not recorded either. */
		json_object_del(c->networks, n->name);
	}
	if (!err && container_save(c, &save) < 0)
		err = save;
	if (!err && n)
		emit(c, n, op->connect ? "connect" : "disconnect");
	op->cb(c, err, op->userdata);
	free(op);
}

static struct net_op *net_op(struct container *c, struct network *n, bool connect,
			     container_net_fn cb, void *userdata)
{
	struct net_op *op = xnew0(struct net_op, 1);
	memcpy(op->id, c->id, sizeof(op->id));
	memcpy(op->network, n->id, sizeof(op->network));
	op->d = c->d;
	op->connect = connect;
	op->cb = cb;
	op->userdata = userdata;
	return op;
}

static bool live(const struct container *c)
{
	return container_is_running(c) && c->vm && c->sandbox;
}

void container_network_connect(struct container *c, struct network *n, json_t *endpoint_config,
			       int api_minor, container_net_fn cb, void *userdata)
{
	_cleanup_error_ struct arca_error *err = NULL;
	if (c->state == CONTAINER_REMOVING || c->state == CONTAINER_DEAD) {
		arca_error_set(&err, EBUSY, ARCA_ERR_INTERNAL,
			       "Container %s is marked for removal and cannot be connected or "
			       "disconnected to the network",
			       c->id);
		return cb(c, err, userdata);
	}
	/* dockerd accepts a repeated connect of a stopped container silently. */
	if (!live(c) && json_object_get(c->networks, n->name))
		return cb(c, NULL, userdata);
	if (container_network_attach(c, n, endpoint_config, api_minor, &err) < 0)
		return cb(c, err, userdata);
	if (!live(c))
		return on_live(c, NULL, net_op(c, n, true, cb, userdata));
	sandbox_connect(c, n, on_live, net_op(c, n, true, cb, userdata));
}

void container_network_disconnect(struct container *c, struct network *n, container_net_fn cb,
				  void *userdata)
{
	_cleanup_error_ struct arca_error *err = NULL;
	if (strcmp(n->name, "host") == 0) {
		arca_error_set(&err, EINVAL, ARCA_ERR_INVALID,
			       "container cannot be disconnected from host network or connected to "
			       "host network");
		return cb(c, err, userdata);
	}
	if (!json_object_get(c->networks, n->name)) {
		arca_error_set(&err, ENOENT, ARCA_ERR_INTERNAL,
			       "container %s is not connected to %snetwork %s", c->id,
			       live(c) ? "" : "the ", n->name);
		return cb(c, err, userdata);
	}
	if (!live(c)) {
		json_object_del(c->networks, n->name);
		return on_live(c, NULL, net_op(c, n, false, cb, userdata));
	}
	sandbox_disconnect(c, n, on_live, net_op(c, n, false, cb, userdata));
}
