/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arca-init's context: everything PID 1 owns hangs off struct guest_init
 * (rule S1). Single-threaded; all work happens in event-loop callbacks.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "conn.h"
#include "time-util.h"

struct event;
struct event_source;

enum channel_kind {
	CHANNEL_SERIAL,
	CHANNEL_VSOCK,
};

/* One direction of one process stdio stream. */
struct pstream {
	struct proc *proc;
	uint32_t id; /* 0 = not in use */
	int fd;	     /* our end: write end for stdin, read end for stdout/stderr */
	struct event_source *src;
	struct proto_window win;
	struct buf pending; /* stdin: received, not yet written to fd (<= window) */
	struct buf unacked; /* out: sent, not yet credited back (<= window): replayed
			       to a host that re-attaches after losing its connection */
	bool eof;	    /* stdin: host sent CLOSE; out: we sent CLOSE */
	bool detached;	    /* out: its host went away; silent until PROC_ATTACH */
};

enum proc_state {
	PROC_CREATED,
	PROC_RUNNING,
	PROC_EXITED,
};

struct proc {
	struct guest_init *init;
	struct proc *next;
	uint32_t id;
	enum proc_state state;
	pid_t pid;
	int exit_status;
	bool exit_reported;

	char **argv;
	char **env;
	char *cwd;
	char *user;
	char **group_add;
	char *root;
	bool exec_guest; /* argv[0] opened in our root, executed inside root */
	char *cgroup;	 /* joined before exec: /sys/fs/cgroup/<cgroup> (one name) */
	bool netns;	 /* joins the container's network namespace */
	struct rlimit_spec {
		uint32_t resource;
		uint64_t soft, hard;
	} * rlimits;
	size_t n_rlimits;
	bool tty;
	uint16_t rows, cols;

	int pty_master; /* tty mode: kept for resize */
	struct pstream in, out, err;
};

/* net.c: the container's network namespace and its links. */
struct nl_sock;
struct guest_net {
	int root_ns;		 /* the guest's own network namespace (the trunk's) */
	int ctr_ns;		 /* the container's: its processes join it */
	struct nl_sock *nl_root; /* rtnetlink in each */
	struct nl_sock *nl_ctr;
	int trunk; /* ifindex of the trunk, once brought up */
	/* A spare link made at boot for a container's usual first network (VLAN 1 as
	 * eth0, down, in the container's namespace): registering a link is the slow part
	 * of NET_LINK_ADD. Its ifindex until taken or dropped, else 0. */
	int spare;
};

struct net_addr {
	int family; /* AF_INET, AF_INET6 */
	uint8_t prefix;
	uint8_t addr[16];
};

#define NET_MAX_ADDRS 4
struct net_link_spec {
	uint16_t vlan;
	uint8_t mac[6];
	const char *ifname;
	uint32_t mtu;
	struct net_addr addrs[NET_MAX_ADDRS];
	size_t n_addrs;
};

/* dns-relay.c: the resolver at 127.0.0.11, answered by the host. */
struct dns_relay;

struct guest_init {
	struct event *event;
	enum channel_kind channel;
	bool ephemeral; /* arca.ephemeral: a VM no daemon adopts ends with its host */
	int listen_fd;	/* vsock */
	struct proto_conn *conn;
	struct event_source *reconnect_timer;
	struct proc *procs;
	nsec_t boot_ns;
	nsec_t ready_ns;
	bool shutting_down;
	struct guest_net net;
	struct dns_relay *dns;
	char **default_env; /* /etc/arca-env (a guest set's env): under every process's own */
};

/* channel.c */
int channel_open(struct guest_init *gi);
void channel_done(struct guest_init *gi);
int channel_send_hello(struct guest_init *gi);

/* rpc.c */
int rpc_on_frame(struct guest_init *gi, const struct proto_frame *f);
int rpc_send_event_exit(struct guest_init *gi, const struct proc *p);

/* proc.c */
struct proc *proc_find(struct guest_init *gi, uint32_t id);
struct proc *proc_find_pid(struct guest_init *gi, pid_t pid);
struct proc *proc_find_stream(struct guest_init *gi, uint32_t stream, struct pstream **ret);
struct proc *proc_free(struct proc *p);
void proc_unlink_free(struct guest_init *gi, struct proc *p);
int proc_start(struct proc *p, char *errbuf, size_t errlen);
void proc_exited(struct proc *p, int status);
void proc_check_done(struct proc *p);

/* stdio.c */
int stdio_setup(struct proc *p);
int stdio_on_data(struct proc *p, struct pstream *s, const uint8_t *data, uint32_t n);
int stdio_on_close(struct proc *p, struct pstream *s);
int stdio_on_credit(struct proc *p, struct pstream *s, uint32_t n);
void stdio_drain_after_exit(struct proc *p);
void stdio_resume_all(struct guest_init *gi);
/* A new host adopts the process: fresh windows, unacknowledged output sent again. */
void stdio_reattach(struct proc *p);
/* The host connection is gone: outputs wait for a host that adopts them. */
void stdio_detach_all(struct guest_init *gi);
void pstream_done(struct pstream *s);
bool stdio_outputs_done(const struct proc *p);

/* reaper.c */
int reaper_setup(struct guest_init *gi);
void reaper_reap(struct guest_init *gi);

/* user.c */
struct user_ids {
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	char *home;
};
int user_resolve(const char *root, const char *spec, char *const *group_add, struct user_ids *ret,
		 char *errbuf, size_t errlen);
void user_ids_done(struct user_ids *u);
/* A COPY --chown spec (user[:group], the group defaulting to the user string). */
int user_chown_ids(const char *root, const char *spec, uid_t *ret_uid, gid_t *ret_gid, char *errbuf,
		   size_t errlen);

/* net.c */
int net_setup(struct guest_init *gi);
/* PID 1 steps into the container's network namespace and back (sockets made there stay). */
int net_enter_container(struct guest_init *gi);
int net_leave_container(struct guest_init *gi);
int net_link_add(struct guest_init *gi, const struct net_link_spec *spec, char *err, size_t errlen);
int net_link_del(struct guest_init *gi, const char *ifname, char *err, size_t errlen);
/* Removes the spare link if no NET_LINK_ADD took it: before a process joins the namespace. */
void net_drop_spare(struct guest_init *gi);
int net_route(struct guest_init *gi, const char *ifname, const struct net_addr *gw4,
	      const struct net_addr *gw6, char *err, size_t errlen);

/* dns-relay.c */
int dns_relay_enable(struct guest_init *gi, bool on, char *err, size_t errlen);
int dns_relay_reply(struct guest_init *gi, uint32_t id, const uint8_t *data, size_t len);
void dns_relay_free(struct guest_init *gi);

/* opaque.c: `/init opaque mark|unmark DIR` (a helper, not PID 1) */
int opaque_main(int argc, char **argv);
/* copy.c: `/init copy ...`, a build's COPY and ADD (a helper, not PID 1) */
int copy_main(int argc, char **argv);

/* mount.c */
int mount_resolve_source(const char *source, char *buf, size_t len);
int do_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
	     const char *options, bool mkdir_target);
int mount_base_filesystems(void);
void mount_teardown(void);
