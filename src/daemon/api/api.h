/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Engine API layer: one handler per operationId, named after it
 * (ContainerCreate -> api_container_create). Handlers are thin: they parse
 * and validate the request, call the domain code (container*.c, exec.c,
 * libarca-image), and render the reply in Docker's shape.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http-server.h"
#include "registry.h"

struct daemon;

#define API_VERSION_MAX_MINOR 51
#define API_VERSION_MIN_MINOR 24

struct api_ctx {
	struct daemon *d;
	struct http_conn *conn;
	struct http_request *req;
	int api_minor;	/* from /v1.xx, or the maximum */
	char *param;	/* {id} or {name} */
	const char *op; /* the operationId */
};

typedef void (*api_handler)(struct api_ctx *ctx);

/* The request body as a JSON object (NULL body gives {}); on error the reply is sent. */
json_t *api_body_json(struct api_ctx *ctx, bool required);
/*
 * Docker's filters query parameter as {key: [values]}, its keys among known
 * (NULL-terminated; NULL: any); NULL (and 400 replied) when invalid.
 */
json_t *api_filters(struct api_ctx *ctx, const char *const *known);
/* The filters of a prune (until, label, label!) and until in ns (0: none); NULL if replied. */
json_t *api_prune_filters(struct api_ctx *ctx, int64_t *until);
void api_reply_error(struct api_ctx *ctx, const struct arca_error *err);
/* Does item pass every filter ({key: [values]})? one() tests a value of a key; a label
 * filter needs all its values to match, any other key one of them. */
typedef bool (*api_filter_fn)(const void *item, const char *key, const char *value, void *ud);
bool api_filters_match(json_t *filters, api_filter_fn one, const void *item, void *ud);
/* A label filter, KEY or KEY=VALUE, against a labels object. */
bool api_label_match(json_t *labels, const char *spec);

/* X-Registry-Auth (base64 or base64url JSON); fields NULL when absent or empty. */
struct api_registry_auth {
	char *user, *pass, *token, *regtoken;
};
void api_registry_auth_parse(const char *header, struct api_registry_auth *ret);
/* A header's base64 or base64url JSON object (X-Registry-Auth/-Config); NULL if it is none. */
json_t *api_base64_json(const char *header);
void api_registry_auth_done(struct api_registry_auth *a);
/* The credentials as the registry client takes them (borrowed from a). */
struct registry_auth api_registry_auth_view(const struct api_registry_auth *a);
/* The {id} container, or NULL with the 404 (or 400) replied. */
struct container *api_find_container(struct api_ctx *ctx);
/* The h and w query parameters of a resize; false (and 400 replied) when invalid. */
bool api_resize_params(struct api_ctx *ctx, unsigned *rows, unsigned *cols);

/* system.c */
void api_distribution_inspect(struct api_ctx *ctx);
void api_system_ping(struct api_ctx *ctx);
void api_system_ping_head(struct api_ctx *ctx);
void api_system_version(struct api_ctx *ctx);
void api_system_info(struct api_ctx *ctx);
void api_system_auth(struct api_ctx *ctx);
void api_system_events(struct api_ctx *ctx);
void api_system_data_usage(struct api_ctx *ctx);
/* containers.c */
void api_container_list(struct api_ctx *ctx);
void api_container_create(struct api_ctx *ctx);
void api_container_inspect(struct api_ctx *ctx);
void api_container_delete(struct api_ctx *ctx);
void api_container_rename(struct api_ctx *ctx);
void api_container_prune(struct api_ctx *ctx);
void api_container_update(struct api_ctx *ctx);
/* containers-lifecycle.c */
void api_container_start(struct api_ctx *ctx);
void api_container_stop(struct api_ctx *ctx);
void api_container_restart(struct api_ctx *ctx);
void api_container_kill(struct api_ctx *ctx);
void api_container_pause(struct api_ctx *ctx);
void api_container_unpause(struct api_ctx *ctx);
void api_container_wait(struct api_ctx *ctx);
/* containers-io.c */
void api_container_attach(struct api_ctx *ctx);
void api_container_logs(struct api_ctx *ctx);
void api_container_resize(struct api_ctx *ctx);
/* containers-observe.c */
void api_container_top(struct api_ctx *ctx);
void api_container_stats(struct api_ctx *ctx);
/* containers-fs.c */
void api_container_archive_info(struct api_ctx *ctx);
void api_container_archive(struct api_ctx *ctx);
void api_put_container_archive(struct api_ctx *ctx);
void api_container_export(struct api_ctx *ctx);
void api_container_changes(struct api_ctx *ctx);
/* images-commit.c */
void api_image_commit(struct api_ctx *ctx);
/* exec.c */
void api_container_exec(struct api_ctx *ctx);
void api_exec_start(struct api_ctx *ctx);
void api_exec_resize(struct api_ctx *ctx);
void api_exec_inspect(struct api_ctx *ctx);
/* images.c */
struct image_list_opts;
/* image_list with each image's Containers count. */
int api_images_counted(struct api_ctx *ctx, const struct image_list_opts *o, json_t **ret,
		       struct arca_error **err);
void api_image_list(struct api_ctx *ctx);
void api_image_inspect(struct api_ctx *ctx);
void api_image_history(struct api_ctx *ctx);
void api_image_tag(struct api_ctx *ctx);
void api_image_delete(struct api_ctx *ctx);
void api_image_prune(struct api_ctx *ctx);
/* Which container uses an image (an image_users finder; userdata: the daemon). */
char *api_image_user(const char *id, bool *running, void *userdata);
/* build.c */
void api_image_build(struct api_ctx *ctx);
void api_build_prune(struct api_ctx *ctx);
/* images-transfer.c */
void api_image_create(struct api_ctx *ctx);
void api_image_push(struct api_ctx *ctx);
void api_image_get(struct api_ctx *ctx);
void api_image_get_all(struct api_ctx *ctx);
void api_image_load(struct api_ctx *ctx);
/* volumes.c */
void api_volume_list(struct api_ctx *ctx);
void api_volume_create(struct api_ctx *ctx);
void api_volume_inspect(struct api_ctx *ctx);
void api_volume_delete(struct api_ctx *ctx);
void api_volume_prune(struct api_ctx *ctx);
/* networks.c */
void api_network_list(struct api_ctx *ctx);
void api_network_inspect(struct api_ctx *ctx);
void api_network_create(struct api_ctx *ctx);
void api_network_delete(struct api_ctx *ctx);
void api_network_connect(struct api_ctx *ctx);
void api_network_disconnect(struct api_ctx *ctx);
void api_network_prune(struct api_ctx *ctx);
/* unsupported.c */
void api_unsupported(struct api_ctx *ctx);
void api_swarm_unsupported(struct api_ctx *ctx);

/* routes.c */
void api_dispatch(struct http_conn *c, struct http_request *r, void *userdata);
bool api_wants_stream(struct http_conn *c, const struct http_request *r, void *userdata);
