/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A build's ARGs as dockerd's classic builder treats them (moby's
 * builder/dockerfile/buildargs.go): the request's buildargs, the meta ARGs
 * before the first FROM (seen by FROM lines, and by a stage only when it
 * declares the name again without a value), each stage's own declarations,
 * and the proxy variables every stage may use without declaring them
 * (kept out of the cache key and the history unless declared). Pure.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct build_args {
	json_t *given;	    /* the request's: name -> string, or null ("named, no value") */
	json_t *meta;	    /* meta ARGs: name -> value or null */
	json_t *declared;   /* this stage's ARGs: name -> value or null */
	json_t *referenced; /* every name an ARG declared: name -> true */
};

/* given: the request's buildargs object (borrowed, copied); NULL: none. */
void build_args_init(struct build_args *a, json_t *given);
void build_args_done(struct build_args *a);

/* ARG before the first FROM; dflt is expanded (NULL: none). */
void build_args_add_meta(struct build_args *a, const char *name, const char *dflt);
/* For FROM's words: the meta ARGs' values (a shlex_lookup_fn; userdata = a). */
const char *build_args_meta_lookup(const char *name, void *userdata);

/* A new stage: nothing declared yet. */
void build_args_reset_stage(struct build_args *a);
/* ARG in a stage; dflt is expanded (NULL: none). */
void build_args_declare(struct build_args *a, const char *name, const char *dflt);
/* The value a stage sees for name (declared, or a proxy variable given), NULL if none. */
const char *build_args_value(const struct build_args *a, const char *name);

/*
 * RUN's extra environment: "k=v" for every arg the stage sees that has a
 * value and that env (the config's "Env" array) does not set. Sorted.
 */
char **build_args_run_env(const struct build_args *a, json_t *env);
/*
 * The "|N k=v ..." words dockerd puts before a RUN's command in its cache
 * key and history (NULL when run_env is empty): run_env minus the proxy
 * variables the Dockerfile did not declare.
 */
char **build_args_run_prefix(const struct build_args *a, char *const *run_env);

/* Names given in the request that no ARG declared (proxies excepted), sorted. */
char **build_args_unused(const struct build_args *a);
/* A proxy variable (HTTP_PROXY, no_proxy, ...)? */
bool build_args_is_builtin(const char *name);
