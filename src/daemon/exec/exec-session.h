/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exec sessions (docker exec): a process started in a running container's
 * VM, chrooted into its root, with its own stdio over a hijacked connection
 * (or none, detached). Sessions live in the daemon's exec table until their
 * container is removed; a container holds at most EXEC_MAX of them.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "detach-keys.h"
#include "error.h"
#include "names.h"

struct daemon;
struct container;
struct guest_proc;
struct stream;

#define EXEC_MAX 1024

struct exec_session {
	struct daemon *d;
	char id[ID_HEX_LEN + 1];
	char container_id[ID_HEX_LEN + 1];
	json_t *config;
	bool started;
	bool running;
	bool exit_known;
	int exit_code;
	uint32_t pid;
	bool tty;	 /* the process gets a terminal (the create's Tty) */
	bool raw_stream; /* no stdcopy framing (the start's Tty, as dockerd) */
	unsigned rows, cols;
	struct guest_proc *proc;
	struct stream *stream; /* the client's, while attached */
	struct buf pending_in;
	struct detach_keys detach; /* the exec's DetachKeys, or the default */
	bool client_eof;
};

/* Validates an exec create body (pure; fuzzed). */
int exec_config_check(json_t *config, struct arca_error **err);
int exec_create(struct daemon *d, struct container *c, json_t *config, struct exec_session **ret,
		struct arca_error **err);
/* Whether exec_start would refuse now (409: it already ran, or the container stopped). */
int exec_can_start(struct exec_session *e, struct arca_error **err);
/*
 * Starts the process, attached to s (its own reference), or detached when s
 * is NULL. On an error an attached stream has ended: only a detached start
 * has an answer left to give.
 */
int exec_start(struct exec_session *e, struct stream *s, unsigned rows, unsigned cols,
	       struct arca_error **err);
int exec_resize(struct exec_session *e, unsigned rows, unsigned cols, struct arca_error **err);
json_t *exec_inspect(struct exec_session *e);
struct exec_session *exec_find(struct daemon *d, const char *id, struct arca_error **err);
/* Forgets the sessions of a removed container. */
void exec_forget_container(struct daemon *d, const char *container_id);
struct exec_session *exec_free(struct exec_session *e);
