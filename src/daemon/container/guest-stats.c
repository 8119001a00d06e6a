/* SPDX-License-Identifier: Apache-2.0 */
/* Parsers for top and stats over guest text, and Docker's stats JSON. */
#include "guest-stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "parse-util.h"
#include "time-util.h"

#define USER_HZ_NS   10000000ull /* one USER_HZ tick (100 Hz) in ns */
#define TOP_MAX_ROWS 4096
#define TOP_MAX_COLS 32

const char *const guest_stats_argv[] = {
	"/bin/sh",
	"-c",
	"head -n 100000 /proc/meminfo /proc/stat /proc/net/dev /proc/diskstats;"
	" echo '==> ps <=='; ps -o pid,ppid",
	NULL,
};

enum section { S_NONE, S_MEMINFO, S_STAT, S_NETDEV, S_DISKSTATS, S_PS };

/* Splits s in place on blanks into at most max fields; returns the count. */
static size_t split_fields(char *s, char **fields, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(s, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
		fields[n++] = t;
	return n;
}

/* A field as a number; 0 when it is not one (the guest's text is not trusted). */
static uint64_t num(const char *s)
{
	uint64_t v;
	return safe_atou64(s, &v) == 0 ? v : 0;
}

static void meminfo_line(char *line, struct guest_sample *s)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "MemTotal:", offsetof(struct guest_sample, mem_total) },
		{ "MemFree:", offsetof(struct guest_sample, mem_free) },
		{ "MemAvailable:", offsetof(struct guest_sample, mem_available) },
		{ "Cached:", offsetof(struct guest_sample, cached) },
		{ "AnonPages:", offsetof(struct guest_sample, anon) },
		{ "Shmem:", offsetof(struct guest_sample, shmem) },
		{ "Active(file):", offsetof(struct guest_sample, active_file) },
		{ "Inactive(file):", offsetof(struct guest_sample, inactive_file) },
		{ "Active(anon):", offsetof(struct guest_sample, active_anon) },
		{ "Inactive(anon):", offsetof(struct guest_sample, inactive_anon) },
	};
	char *f[3];
	if (split_fields(line, f, 3) < 2)
		return;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		if (strcmp(f[0], keys[i].key) == 0) {
			uint64_t kib = num(f[1]);
			*(uint64_t *)((char *)s + keys[i].off) =
			    kib > UINT64_MAX / 1024 ? 0 : kib * 1024;
		}
}

static void stat_line(char *line, struct guest_sample *s)
{
	char *f[11];
	size_t n = split_fields(line, f, 11);
	if (n < 1)
		return;
	if (strcmp(f[0], "cpu") == 0 && n >= 9) {
		s->cpu_user = num(f[1]);
		s->cpu_nice = num(f[2]);
		s->cpu_system = num(f[3]);
		s->cpu_idle = num(f[4]);
		s->cpu_iowait = num(f[5]);
		s->cpu_irq = num(f[6]);
		s->cpu_softirq = num(f[7]);
		s->cpu_steal = num(f[8]);
	} else if (strncmp(f[0], "cpu", 3) == 0 && f[0][3] >= '0' && f[0][3] <= '9' &&
		   s->online_cpus < 4096) {
		s->online_cpus++;
	}
}

static void copy_name(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

static void netdev_line(char *line, struct guest_sample *s)
{
	char *colon = strchr(line, ':');
	if (!colon || s->n_nets >= STATS_MAX_DEVS)
		return;
	*colon = '\0';
	char *name = line;
	while (*name == ' ')
		name++;
	char *f[16];
	/* The loopback and the kernel's own stub devices are no container network. */
	static const char *const skip[] = { "lo",     "dummy",	"sit", "tunl",
					    "ip6tnl", "ip_vti", "gre", "erspan" };
	for (size_t i = 0; i < ELEMENTSOF(skip); i++)
		if (strncmp(name, skip[i], strlen(skip[i])) == 0)
			return;
	if (split_fields(colon + 1, f, 16) < 16)
		return;
	struct guest_net_io *n = &s->nets[s->n_nets++];
	copy_name(n->name, sizeof(n->name), name);
	n->rx_bytes = num(f[0]);
	n->rx_packets = num(f[1]);
	n->rx_errors = num(f[2]);
	n->rx_dropped = num(f[3]);
	n->tx_bytes = num(f[8]);
	n->tx_packets = num(f[9]);
	n->tx_errors = num(f[10]);
	n->tx_dropped = num(f[11]);
}

static void diskstats_line(char *line, struct guest_sample *s)
{
	char *f[14];
	if (split_fields(line, f, 14) < 14 || s->n_disks >= STATS_MAX_DEVS)
		return;
	/* Whole virtio disks only (vda, vdb), not partitions or ram disks. */
	if (strncmp(f[2], "vd", 2) != 0 || strlen(f[2]) != 3)
		return;
	struct guest_dev_io *d = &s->disks[s->n_disks++];
	copy_name(d->name, sizeof(d->name), f[2]);
	d->major = (uint32_t)num(f[0]);
	d->minor = (uint32_t)num(f[1]);
	d->reads = num(f[3]);
	d->read_bytes = num(f[5]) * 512;
	d->writes = num(f[7]);
	d->write_bytes = num(f[9]) * 512;
}

static void ps_line(char *line, uint32_t sampler, struct guest_sample *s)
{
	char *f[3];
	if (split_fields(line, f, 3) < 2 || strcmp(f[0], "PID") == 0)
		return;
	uint64_t pid = num(f[0]), ppid = num(f[1]);
	if (pid <= 2 || ppid == 2 || pid == sampler || ppid == sampler)
		return;
	if (s->pids < UINT32_MAX)
		s->pids++;
}

int guest_stats_parse(const char *text, size_t len, uint32_t sampler_pid, struct guest_sample *ret)
{
	*ret = (struct guest_sample){ 0 };
	_cleanup_free_ char *copy = xstrndup(text, len);
	enum section sec = S_NONE;
	unsigned seen = 0;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "==> ", 4) == 0) {
			sec = strstr(line, "/proc/meminfo")	? S_MEMINFO
			      : strstr(line, "/proc/stat")	? S_STAT
			      : strstr(line, "/proc/net/dev")	? S_NETDEV
			      : strstr(line, "/proc/diskstats") ? S_DISKSTATS
			      : strstr(line, "ps <==")		? S_PS
								: S_NONE;
			seen |= 1u << sec;
			continue;
		}
		switch (sec) {
		case S_MEMINFO: meminfo_line(line, ret); break;
		case S_STAT: stat_line(line, ret); break;
		case S_NETDEV: netdev_line(line, ret); break;
		case S_DISKSTATS: diskstats_line(line, ret); break;
		case S_PS: ps_line(line, sampler_pid, ret); break;
		case S_NONE: break;
		}
	}
	unsigned want = 1u << S_MEMINFO | 1u << S_STAT | 1u << S_PS;
	return (seen & want) == want && ret->mem_total ? 0 : -EINVAL;
}

int host_memory_parse(const char *text, size_t len, uint64_t *ret)
{
	_cleanup_free_ char *copy = xstrndup(text, len);
	uint64_t kib = 0;
	bool found = false;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[3];
		if (split_fields(line, f, 3) < 2 ||
		    (strcmp(f[0], "Pss_Anon:") != 0 && strcmp(f[0], "Pss_Shmem:") != 0))
			continue;
		uint64_t v = num(f[1]);
		if (v > UINT64_MAX / 1024 - kib)
			return -EINVAL;
		kib += v;
		found = true;
	}
	if (!found)
		return -EINVAL;
	*ret = kib * 1024;
	return 0;
}

static json_t *cpu_json(const struct guest_sample *s)
{
	if (!s)
		return json_pack("{s:{s:i, s:i, s:i}, s:i, s:{s:i, s:i, s:i}}", "cpu_usage",
				 "total_usage", 0, "usage_in_kernelmode", 0, "usage_in_usermode", 0,
				 "system_cpu_usage", 0, "throttling_data", "periods", 0,
				 "throttled_periods", 0, "throttled_time", 0);
	uint64_t user = s->cpu_user + s->cpu_nice;
	uint64_t kernel = s->cpu_system + s->cpu_irq + s->cpu_softirq;
	uint64_t busy = user + kernel + s->cpu_steal;
	uint64_t all = busy + s->cpu_idle + s->cpu_iowait;
	return json_pack(
	    "{s:{s:I, s:I, s:I}, s:I, s:i, s:{s:i, s:i, s:i}}", "cpu_usage", "total_usage",
	    (json_int_t)(busy * USER_HZ_NS), "usage_in_kernelmode",
	    (json_int_t)(kernel * USER_HZ_NS), "usage_in_usermode", (json_int_t)(user * USER_HZ_NS),
	    "system_cpu_usage", (json_int_t)(all * USER_HZ_NS), "online_cpus", (int)s->online_cpus,
	    "throttling_data", "periods", 0, "throttled_periods", 0, "throttled_time", 0);
}

json_t *guest_stats_json(const char *id, const char *name, const struct guest_sample *cur,
			 const struct guest_sample *pre, uint64_t memory_limit, int64_t read_ns,
			 int64_t preread_ns)
{
	_cleanup_free_ char *read = time_format_rfc3339((nsec_t)read_ns);
	_cleanup_free_ char *preread =
	    pre ? time_format_rfc3339((nsec_t)preread_ns) : xstrdup("0001-01-01T00:00:00Z");
	json_t *j = json_pack("{s:s+, s:s, s:s, s:s, s:i, s:{}}", "name", "/", name, "id", id,
			      "read", read, "preread", preread, "num_procs", 0, "storage_stats");
	json_object_set_new(j, "cpu_stats", cpu_json(cur));
	json_object_set_new(j, "precpu_stats", cpu_json(pre));
	if (!cur) {
		/* A container that does not run: zeros, as dockerd sends. */
		json_object_set_new(j, "pids_stats", json_object());
		json_object_set_new(j, "blkio_stats",
				    json_pack("{s:n}", "io_service_bytes_recursive"));
		json_object_set_new(j, "memory_stats", json_object());
		return j;
	}
	json_object_set_new(j, "pids_stats", json_pack("{s:i}", "current", (int)cur->pids));
	json_t *io = json_array();
	for (size_t i = 0; i < cur->n_disks; i++) {
		const struct guest_dev_io *d = &cur->disks[i];
		json_array_append_new(io, json_pack("{s:i, s:i, s:s, s:I}", "major", (int)d->major,
						    "minor", (int)d->minor, "op", "read", "value",
						    (json_int_t)d->read_bytes));
		json_array_append_new(io, json_pack("{s:i, s:i, s:s, s:I}", "major", (int)d->major,
						    "minor", (int)d->minor, "op", "write", "value",
						    (json_int_t)d->write_bytes));
	}
	json_object_set_new(j, "blkio_stats",
			    json_pack("{s:o, s:n, s:n, s:n, s:n, s:n, s:n, s:n}",
				      "io_service_bytes_recursive", io, "io_serviced_recursive",
				      "io_queue_recursive", "io_service_time_recursive",
				      "io_wait_time_recursive", "io_merged_recursive",
				      "io_time_recursive", "sectors_recursive"));
	uint64_t used = cur->mem_total > cur->mem_free ? cur->mem_total - cur->mem_free : 0;
	json_t *stats =
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "anon", (json_int_t)cur->anon,
		      "file", (json_int_t)cur->cached, "shmem", (json_int_t)cur->shmem,
		      "active_file", (json_int_t)cur->active_file, "active_anon",
		      (json_int_t)cur->active_anon, "inactive_anon", (json_int_t)cur->inactive_anon,
		      "available", (json_int_t)cur->mem_available, "guest_usage", (json_int_t)used);
	/*
	 * The guest's page cache: what the CLI subtracts from usage when usage is the
	 * guest's; the host's figure is memory the host pays for, cache or not.
	 */
	json_object_set_new(stats, cur->host_bytes ? "guest_inactive_file" : "inactive_file",
			    json_integer((json_int_t)cur->inactive_file));
	json_object_set_new(j, "memory_stats",
			    json_pack("{s:I, s:o, s:I}", "usage",
				      (json_int_t)(cur->host_bytes ? cur->host_bytes : used),
				      "stats", stats, "limit", (json_int_t)memory_limit));
	if (cur->n_nets) {
		json_t *nets = json_object();
		for (size_t i = 0; i < cur->n_nets; i++) {
			const struct guest_net_io *n = &cur->nets[i];
			json_object_set_new(
			    nets, n->name,
			    json_pack(
				"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_bytes",
				(json_int_t)n->rx_bytes, "rx_packets", (json_int_t)n->rx_packets,
				"rx_errors", (json_int_t)n->rx_errors, "rx_dropped",
				(json_int_t)n->rx_dropped, "tx_bytes", (json_int_t)n->tx_bytes,
				"tx_packets", (json_int_t)n->tx_packets, "tx_errors",
				(json_int_t)n->tx_errors, "tx_dropped", (json_int_t)n->tx_dropped));
		}
		json_object_set_new(j, "networks", nets);
	}
	return j;
}

/* Guest text may not be UTF-8: such a field shows as "?" rather than vanish. */
static json_t *text_json(const char *s)
{
	json_t *j = json_string(s);
	return j ? j : json_string("?");
}

const char *const guest_top_script = "ps -o pid,ppid; echo '==> ps <=='; exec ps \"$@\"";

/* The PIDs not to show: arca-init, kernel threads, the helper's first ps. */
struct pid_set {
	uint64_t pids[TOP_MAX_ROWS];
	size_t n;
};

static bool pid_in(const struct pid_set *set, uint64_t pid)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->pids[i] == pid)
			return true;
	return false;
}

int guest_top_parse(const char *text, size_t len, uint32_t ps_pid, json_t **ret,
		    struct arca_error **err)
{
	_cleanup_free_ char *copy = xstrndup(text, len);
	_cleanup_free_ struct pid_set *hidden = xnew0(struct pid_set, 1);
	char *save = NULL;
	char *line = strtok_r(copy, "\n", &save);
	for (; line && strcmp(line, "==> ps <==") != 0; line = strtok_r(NULL, "\n", &save)) {
		char *f[3];
		if (split_fields(line, f, 3) < 2 || strcmp(f[0], "PID") == 0)
			continue;
		uint64_t pid = num(f[0]), ppid = num(f[1]);
		if ((pid <= 2 || ppid == 2 || ppid == ps_pid) && hidden->n < TOP_MAX_ROWS)
			hidden->pids[hidden->n++] = pid;
	}
	char *header = line ? strtok_r(NULL, "\n", &save) : NULL;
	char *titles[TOP_MAX_COLS];
	size_t ncols = header ? split_fields(header, titles, TOP_MAX_COLS) : 0;
	if (!ncols)
		return arca_error_set(err, EINVAL, ARCA_ERR_INTERNAL, "ps printed nothing");
	ssize_t pid_col = -1;
	json_t *jt = json_array();
	for (size_t i = 0; i < ncols; i++) {
		if (strcmp(titles[i], "PID") == 0)
			pid_col = (ssize_t)i;
		json_array_append_new(jt, text_json(titles[i]));
	}
	if (pid_col < 0) {
		json_decref(jt);
		return arca_error_set(err, EINVAL, ARCA_ERR_INTERNAL,
				      "Couldn't find PID field in ps output");
	}
	json_t *procs = json_array();
	size_t rows = 0;
	for (line = strtok_r(NULL, "\n", &save); line && rows < TOP_MAX_ROWS;
	     line = strtok_r(NULL, "\n", &save)) {
		/* The last column (the command) keeps its blanks. */
		char *f[TOP_MAX_COLS];
		size_t n = 0;
		char *p = line;
		while (n < ncols) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (!*p)
				break;
			f[n++] = p;
			if (n == ncols)
				break;
			while (*p && *p != ' ' && *p != '\t')
				p++;
			if (*p)
				*p++ = '\0';
		}
		if ((n != ncols && n != ncols - 1) || (size_t)pid_col >= n)
			continue;
		uint64_t pid = num(f[pid_col]);
		if (pid == ps_pid || pid_in(hidden, pid))
			continue;
		json_t *row = json_array();
		for (size_t i = 0; i < ncols; i++)
			json_array_append_new(row, text_json(i < n ? f[i] : ""));
		json_array_append_new(procs, row);
		rows++;
	}
	*ret = json_pack("{s:o, s:o}", "Titles", jt, "Processes", procs);
	return 0;
}
