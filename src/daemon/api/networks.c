/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NetworkList and NetworkInspect. Until virtual networks land, the three
 * predefined networks exist and containers get loopback only; inspect says
 * so honestly (no addresses). Creating networks answers "not supported".
 */
#include "api.h"

#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "daemon.h"
#include "hashmap.h"

static const struct {
	const char *name, *id, *driver;
} nets[] = {
	{ "bridge", "b1c4a4a0e5f0b0e4d7d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7", "bridge" },
	{ "host", "a2d5b5b1f6a1c1f5e8e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e", "host" },
	{ "none", "c3e6c6c2a7b2d2a6f9f5e4d3c2b1a0f9e8d7c6b5a49382716050f4e3d2c1b0a9", "null" },
};

static json_t *network_json(struct daemon *d, size_t i, bool with_containers)
{
	json_t *containers = json_object();
	if (with_containers) {
		size_t it = 0;
		void *v;
		while (hashmap_iter(d->containers, &it, NULL, &v)) {
			struct container *c = v;
			const char *m =
			    json_string_value(json_object_get(c->host_config, "NetworkMode"));
			if (!m || !m[0] || strcmp(m, "default") == 0)
				m = "bridge";
			if (strcmp(m, nets[i].name) != 0 || !container_is_running(c))
				continue;
			json_object_set_new(containers, c->id,
					    json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", c->name,
						      "EndpointID", "", "MacAddress", "",
						      "IPv4Address", "", "IPv6Address", ""));
		}
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:[]}, s:b, s:b, s:b,"
			 " s:{s:s}, s:b, s:o, s:{}, s:{}}",
			 "Name", nets[i].name, "Id", nets[i].id, "Created", "2024-01-01T00:00:00Z",
			 "Scope", "local", "Driver", nets[i].driver, "EnableIPv6", 0, "IPAM",
			 "Driver", "default", "Options", "Config", "Internal", 0, "Attachable", 0,
			 "Ingress", 0, "ConfigFrom", "Network", "", "ConfigOnly", 0, "Containers",
			 containers, "Options", "Labels");
}

static bool filter_match(json_t *filters, size_t i)
{
	const char *k;
	json_t *vals;
	json_object_foreach(filters, k, vals)
	{
		bool any = false;
		size_t j;
		json_t *v;
		json_array_foreach(vals, j, v)
		{
			const char *s = json_string_value(v);
			if (!s)
				continue;
			if (strcmp(k, "name") == 0)
				any |= strstr(nets[i].name, s) != NULL;
			else if (strcmp(k, "id") == 0)
				any |= strncmp(nets[i].id, s, strlen(s)) == 0;
			else if (strcmp(k, "driver") == 0)
				any |= strcmp(nets[i].driver, s) == 0;
			else if (strcmp(k, "type") == 0)
				any |= strcmp(s, "builtin") == 0;
			else if (strcmp(k, "scope") == 0)
				any |= strcmp(s, "local") == 0;
			else
				any = false;
		}
		if (!any)
			return false;
	}
	return true;
}

void api_network_list(struct api_ctx *ctx)
{
	json_t *filters = api_filters(ctx);
	if (!filters)
		return;
	const char *k;
	json_t *v;
	json_object_foreach(filters, k, v) if (strcmp(k, "name") && strcmp(k, "id") &&
					       strcmp(k, "driver") && strcmp(k, "type") &&
					       strcmp(k, "scope") && strcmp(k, "label") &&
					       strcmp(k, "dangling"))
	{
		json_decref(filters);
		http_reply_errorf(ctx->conn, 400, "invalid filter '%s'", k);
		return;
	}
	json_t *out = json_array();
	for (size_t i = 0; i < ELEMENTSOF(nets); i++)
		if (filter_match(filters, i))
			json_array_append_new(out, network_json(ctx->d, i, false));
	json_decref(filters);
	http_reply_json(ctx->conn, 200, out);
}

void api_network_inspect(struct api_ctx *ctx)
{
	for (size_t i = 0; i < ELEMENTSOF(nets); i++)
		if (strcmp(ctx->param, nets[i].name) == 0 ||
		    (strlen(ctx->param) >= 3 &&
		     strncmp(nets[i].id, ctx->param, strlen(ctx->param)) == 0)) {
			http_reply_json(ctx->conn, 200, network_json(ctx->d, i, true));
			return;
		}
	http_reply_errorf(ctx->conn, 404, "network %s not found", ctx->param);
}
