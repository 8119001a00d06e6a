/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `docker top` and `docker stats` show, from text a helper printed in
 * the guest (busybox ps, /proc files). The text is untrusted: every parser
 * is bounded, ignores what it does not know, and is fuzzed (fuzz-guest-stats).
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define STATS_MAX_DEVS 8

/* The command a stats sample runs in the guest (busybox sh). */
extern const char *const guest_stats_argv[];

struct guest_dev_io {
	char name[16];
	uint32_t major, minor;
	uint64_t read_bytes, write_bytes, reads, writes;
};

struct guest_net_io {
	char name[16];
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

struct guest_sample {
	/* /proc/meminfo, bytes */
	uint64_t mem_total, mem_free, mem_available, cached, anon, shmem, active_file,
	    inactive_file, active_anon, inactive_anon;
	/* /proc/stat "cpu" line, in USER_HZ ticks */
	uint64_t cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_iowait, cpu_irq, cpu_softirq,
	    cpu_steal;
	unsigned online_cpus;
	unsigned pids; /* processes, without arca-init, kernel threads and the sampler */
	struct guest_dev_io disks[STATS_MAX_DEVS];
	size_t n_disks;
	struct guest_net_io nets[STATS_MAX_DEVS];
	size_t n_nets;
	/* Not the guest's: what the host pays for the VM (host_memory_parse), 0 if unknown */
	uint64_t host_bytes;
};

/*
 * Parses the output of guest_stats_argv. sampler_pid is the helper's guest
 * PID (it and its children are not counted). -EINVAL when a section is missing.
 */
int guest_stats_parse(const char *text, size_t len, uint32_t sampler_pid, struct guest_sample *ret);

/*
 * The VMM's /proc/PID/smaps_rollup: Pss_Anon + Pss_Shmem in bytes, the
 * guest's RAM, QEMU's code buffer and heap as the host pays for them (pages
 * KSM merged split among the VMs sharing them). -EINVAL without either field.
 */
int host_memory_parse(const char *text, size_t len, uint64_t *ret);

/*
 * Docker's stats JSON (API 1.51 shape). Memory usage is cur->host_bytes when
 * known, with the guest's own figure as stats.guest_usage; else the guest's. pre may be NULL
 * (precpu empty); memory_limit is the VM's memory. read_ns/preread_ns: sample times.
 */
json_t *guest_stats_json(const char *id, const char *name, const struct guest_sample *cur,
			 const struct guest_sample *pre, uint64_t memory_limit, int64_t read_ns,
			 int64_t preread_ns);

/*
 * ContainerTop's helper: `sh -c guest_top_script -- PS_ARGS...` prints the
 * PIDs and parents of everything (to know what to hide), a marker, then
 * execs the user's ps in the same process.
 */
extern const char *const guest_top_script;

/*
 * That output to ContainerTop's {"Titles", "Processes"}, leaving out
 * arca-init (PID 1), kernel threads and the helper itself (ps_pid).
 */
int guest_top_parse(const char *text, size_t len, uint32_t ps_pid, json_t **ret,
		    struct arca_error **err);
