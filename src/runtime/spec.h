/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bundle's config.json (the OCI runtime spec), read into what the VM and
 * its guest process need. Everything in it is the caller's and untrusted:
 * rt_spec_parse checks types and sizes and refuses what arca-runtime cannot
 * honour in a VM (host networking, user namespaces, ...) with a message
 * naming the field. Parsing is pure (no file system access): the fuzz target
 * feeds it any bytes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "guest-client.h"

#define RT_SPEC_MAX_BYTES (4u << 20)
#define RT_MAX_MOUNTS	  128
#define RT_MAX_RLIMITS	  32

struct rt_mount {
	char *destination;   /* absolute, cleaned */
	char *type;	     /* "bind" for bind mounts whatever the spec's type said */
	char *source;	     /* as given; a bind's source is resolved against the bundle */
	unsigned long flags; /* MS_* (MS_BIND | MS_REC for binds) */
	char *data;	     /* the options that are not flags, comma-joined */
};

struct rt_spec {
	/* process */
	char **args;
	char **env;
	char *cwd;
	uint32_t uid, gid;
	char **additional_gids; /* decimal strings, as the guest's group_add takes them */
	bool terminal;
	unsigned rows, cols; /* consoleSize, 0 when not given */
	struct guest_rlimit rlimits[RT_MAX_RLIMITS];
	size_t n_rlimits;
	/* What the spec asks for that a VM does not apply (the guest process keeps the VM's
	 * capabilities, no seccomp filter, no LSM label), comma-joined, for a warning; NULL
	 * when nothing. */
	char *not_applied;

	char *root_path; /* as given: relative means relative to the bundle */
	bool root_readonly;
	char *hostname;
	struct rt_mount *mounts;
	size_t n_mounts;
	char **masked_paths;
	char **readonly_paths;

	/* linux */
	char *cgroups_path;   /* NULL: none given */
	char *netns_path;     /* a network namespace to join; NULL with netns_new */
	bool netns_new;	      /* a new one (the VM's own network) */
	int64_t memory_limit; /* bytes, 0: none */
	int64_t cpu_quota;    /* µs per cpu_period, 0: none */
	uint64_t cpu_period;
	json_t *annotations; /* an object, never NULL after a parse */
};

/* Parses config.json's bytes. On error *err names the offending field. */
int rt_spec_parse(const char *data, size_t len, struct rt_spec *ret, struct arca_error **err);
/* An exec's process.json (the spec's process object): fills only the process fields. */
int rt_process_parse(const char *data, size_t len, struct rt_spec *ret, struct arca_error **err);
void rt_spec_done(struct rt_spec *s);
/* The guest's user spec for the process: "uid:gid". */
char *rt_spec_user(const struct rt_spec *s);
/* The VM's memory in MiB for the spec's limit (default_mb without one). */
unsigned rt_spec_vm_memory_mb(const struct rt_spec *s, unsigned default_mb);
/* The VM's vCPUs for the spec's CPU quota (1 without one). */
unsigned rt_spec_vm_cpus(const struct rt_spec *s);
