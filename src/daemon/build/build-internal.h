/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The builder's state, shared by its files: builder.c (stages, FROM, ARG,
 * the end), build-step.c (a step's cache lookup and commit, RUN, COPY and
 * ADD, the stage VM) and build-output.c (dockerd's stream). One build, one
 * thread: nothing here is shared with the daemon's loop.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "buf.h"
#include "build-args.h"
#include "build-config.h"
#include "build-context.h"
#include "build-vm.h"
#include "builder.h"
#include "dockerfile.h"
#include "image.h"

struct event;

struct build_stage {
	char *name; /* AS name, lower case; NULL */
	const struct df_inst *from;
	const struct df_inst **insts; /* its instructions after FROM */
	size_t n_insts;
	char *image_id; /* its result */
};

struct builder {
	const struct build_env *env;
	const struct build_request *req;
	struct build_result *res;
	struct image_store *store;
	struct event *e;
	struct build_context *ctx;
	struct dockerfile *df;
	struct build_args args;
	struct df_inst *label_insts; /* the request's labels, as LABEL steps */
	size_t n_label_insts;
	struct build_stage *stages;
	size_t n_stages;
	const struct df_inst **meta; /* ARGs before the first FROM */
	size_t n_meta;
	int step, total;
	json_t *cache_allowed; /* cachefrom: the images a cache hit may be; NULL: any */
	char **cache_sources;  /* cachefrom: the images named, whose history may give a step */

	/* output (build-output.c) */
	bool quiet;
	struct buf held; /* quiet: the transcript, written only on failure */

	/* the current stage */
	size_t stage;
	char *image_id; /* its image so far; NULL: FROM scratch, nothing committed */
	struct build_config_ctx cc;
	bool busted; /* a cache miss happened in this stage: no more hits */

	/* its VM (build-step.c), started on the first step that needs one */
	struct build_vm *vm;
	char *vm_scratch;
	char *vm_base_disk; /* NULL: scratch */
	char *from_ids[BUILD_VM_MAX_FROM];
	char *from_disks[BUILD_VM_MAX_FROM];
	size_t n_from;
	unsigned vm_seq;
	struct build_vm_net net; /* its NIC, when the build asked for a network */
	bool net_on;
};

/* build-output.c */
void out_stream(struct builder *b, const char *text);
void out_streamf(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A RUN's stderr chunk, red as dockerd shows it. */
void out_stderr(struct builder *b, const void *data, size_t len);
void out_stdout(struct builder *b, const void *data, size_t len);
/* Any message (a pull's progress, aux); borrowed. */
void out_json(struct builder *b, json_t *msg);
/* quiet: the transcript goes out (a failure). */
void out_flush_held(struct builder *b);
bool out_cancelled(const struct builder *b);

/* build-step.c */
/* Expansion of a word with the stage's variables (Env, then ARGs). */
const char *step_lookup(const char *name, void *userdata);
/* A config-only step's commit: its history text after "#(nop)", WORKDIR's spelling. */
int step_commit_config(struct builder *b, const char *text, bool one_word, struct arca_error **err);
int step_run(struct builder *b, const struct df_inst *i, struct arca_error **err);
int step_copy(struct builder *b, const struct df_inst *i, struct arca_error **err);
/* Ends the stage's VM and removes its scratch disk. */
void step_stage_end(struct builder *b);
/* The shell prefix dockerd writes in history ("/bin/sh -c"). */
char *step_shell_prefix(const struct builder *b);
/*
 * A COPY --from value: a stage (by name or index) or an image (pulled when
 * missing, if pull). 1 and *ret_id, 0 when not found and not pulled.
 */
int step_resolve_from(struct builder *b, const char *value, bool pull, char **ret_id,
		      struct arca_error **err);

/* builder.c: pulls ref with the build's credentials, its progress in the stream. */
int build_pull(struct builder *b, const char *ref, char **ret_id, struct arca_error **err);
