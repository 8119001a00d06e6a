/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `docker build` with dockerd's classic builder semantics (docs/build.md):
 * the whole build, run on a worker thread with its own image store handle
 * and event loop. It reads the context tar from in_fd and writes dockerd's
 * JSON stream to out_fd; the API layer (api/build.c) only carries bytes
 * and picks the HTTP status.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "guest-client.h"
#include "registry.h"

/* The request, parsed and checked by the API layer (read-only here). */
struct accel_choice;

struct build_request {
	char **tags;	   /* full references, ":latest" added; may be empty */
	char *dockerfile;  /* NULL: "Dockerfile" */
	json_t *buildargs; /* name -> string or null */
	json_t *labels;	   /* name -> string */
	char *target;	   /* NULL: the last stage */
	bool nocache, pull, quiet, aux;
	char **cachefrom;      /* image references; NULL: the local cache */
	char **extrahosts;     /* "host:ip" */
	unsigned memory_mb;    /* 0: the daemon's default */
	char *platform;	       /* NULL: the host's */
	json_t *registry_auth; /* X-Registry-Config: registry -> auth object; may be NULL */
	char **warnings;       /* options not applied, printed before the first step */
};

/* A build VM's NIC on a Docker network, from the daemon (docs/build.md). */
struct build_vm_net {
	int tap_fd; /* for the VMM */
	uint8_t mac[6];
	bool vhost;
	struct guest_request *reqs; /* the guest's links and route, sent once it is up */
	size_t n_reqs;
	const char *hosts, *resolv; /* the steps' /etc files */
	void *handle;		    /* the daemon's */
};

/* The daemon's side of it, run on its loop thread (api/build.c, network/build-net.c). */
struct build_net_ops {
	int (*attach)(void *userdata, const char *vm_id, struct build_vm_net *ret,
		      struct arca_error **err);
	void (*started)(void *userdata, struct build_vm_net *net); /* the VMM holds the TAP */
	void (*detach)(void *userdata, struct build_vm_net *net);
};

/* What the daemon lends a build. */
struct build_env {
	const char *id;	     /* the build's, for its directory and VM names */
	const char *root;    /* the image store */
	const char *dir;     /* the build's directory (context, disks), removed after */
	const char *run_dir; /* VM run directories */
	const char *kernel, *initramfs;
	unsigned default_memory_mb;
	bool use_vsock;
	const struct accel_choice *accel; /* the daemon's */
	char *const *insecure;
	char *const *mirrors; /* Docker Hub's, for FROM */
	unsigned max_downloads;
	int in_fd;			 /* the context tar */
	int out_fd;			 /* JSON lines, "\r\n"-ended (non-blocking) */
	const bool *cancel;		 /* the client went (read atomically) */
	const bool *stopping;		 /* the daemon stops (read atomically) */
	const struct build_net_ops *net; /* NULL: the steps have no network (only lo) */
	void *net_userdata;
};

struct build_result {
	char *image_id; /* "sha256:..." on success */
	bool started;	/* output went out: an error is reported in the stream */
	int exit_code;	/* a failing RUN's, for errorDetail.code (0: none) */
	char **tagged;	/* full references that were tagged (for the events) */
};

int build_run(const struct build_env *env, const struct build_request *req,
	      struct build_result *ret, struct arca_error **err);
void build_result_done(struct build_result *r);
void build_request_done(struct build_request *r);
