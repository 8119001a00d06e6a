/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: top and stats parsers over guest text (src/daemon/guest-stats.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "guest-stats.h"
#include "tap.h"

static const char sample[] =
    "==> /proc/meminfo <==\n"
    "MemTotal:         250000 kB\n"
    "MemFree:          200000 kB\n"
    "MemAvailable:     220000 kB\n"
    "Cached:            10000 kB\n"
    "Inactive(file):     4000 kB\n"
    "AnonPages:          3000 kB\n"
    "\n==> /proc/stat <==\n"
    "cpu  300 0 100 500 0 0 0 0 0 0\n"
    "cpu0 300 0 100 500 0 0 0 0 0 0\n"
    "intr 1234\n"
    "\n==> /proc/net/dev <==\n"
    "Inter-|   Receive                            |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes ...\n"
    "    lo:     100       1    0    0    0     0          0         0      100       1    0    0  "
    "  0     0       0          0\n"
    "dummy0:       0       0    0    0    0     0          0         0        0       0    0    0  "
    "  0     0       0          0\n"
    "  eth0:    2000      20    1    2    0     0          0         0     3000      30    3    4  "
    "  0     0       0          0\n"
    "\n==> /proc/diskstats <==\n"
    " 254       0 vda 100 0 2000 50 0 0 0 0 0 60 50 0 0 0 0\n"
    " 254       1 vda1 1 0 2 0 0 0 0 0 0 0 0 0 0 0 0\n"
    " 254      16 vdb 10 0 20 5 7 0 80 9 0 10 14 0 0 0 0\n"
    "==> ps <==\n"
    "PID   PPID\n"
    "    1     0\n    2     0\n    3     2\n   32     1\n   33    32\n   40     1\n   41    40\n";

static void test_stats(void)
{
	struct guest_sample s;
	ok(guest_stats_parse(sample, strlen(sample), 40, &s) == 0, "parses");
	is_int((int)(s.mem_total / 1024), 250000, "MemTotal in bytes");
	is_int((int)(s.inactive_file / 1024), 4000, "Inactive(file)");
	is_int((int)s.cpu_user, 300, "cpu user ticks");
	is_int((int)s.online_cpus, 1, "one vCPU");
	is_int((int)s.pids, 2, "container processes: not init, kthreads or the sampler");
	is_int((int)s.n_nets, 1, "lo and dummy0 left out");
	is_str(s.nets[0].name, "eth0", "eth0");
	is_int((int)s.nets[0].tx_bytes, 3000, "tx bytes");
	is_int((int)s.n_disks, 2, "whole disks only");
	is_int((int)s.disks[1].write_bytes, 80 * 512, "written bytes");
	json_t *j = guest_stats_json("id", "web", &s, NULL, 256u << 20, 2000000000, 0);
	is_int(
	    (int)json_integer_value(json_object_get(json_object_get(j, "memory_stats"), "limit")),
	    256 << 20, "limit is the VM's memory");
	is_str(json_string_value(json_object_get(j, "name")), "/web", "name");
	ok(json_integer_value(json_object_get(
	       json_object_get(json_object_get(j, "cpu_stats"), "cpu_usage"), "total_usage")) ==
	       4000000000LL,
	   "cpu total in ns");
	json_t *mem = json_object_get(j, "memory_stats");
	ok(json_integer_value(json_object_get(mem, "usage")) ==
	       json_integer_value(json_object_get(json_object_get(mem, "stats"), "guest_usage")),
	   "without the host's figure, usage is the guest's");
	json_decref(j);
	const char *rollup = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss: 110000 kB\n"
			     "Pss: 100000 kB\nPss_Anon: 70000 kB\nPss_File: 30000 kB\n"
			     "Pss_Shmem: 1000 kB\nAnonymous: 70000 kB\n";
	ok(host_memory_parse(rollup, strlen(rollup), &s.host_bytes) == 0 &&
	       s.host_bytes == 71000ull * 1024,
	   "the VMM's memory: anonymous and shmem, proportional");
	j = guest_stats_json("id", "web", &s, NULL, 256u << 20, 2000000000, 0);
	mem = json_object_get(j, "memory_stats");
	ok(json_integer_value(json_object_get(mem, "usage")) == 71000ll * 1024 &&
	       json_integer_value(json_object_get(json_object_get(mem, "stats"),
						  "guest_inactive_file")) == 4000ll * 1024 &&
	       !json_object_get(json_object_get(mem, "stats"), "inactive_file") &&
	       json_integer_value(json_object_get(json_object_get(mem, "stats"), "available")) ==
		   (json_int_t)s.mem_available,
	   "usage is what the host pays; the guest's cache is not subtracted from it");
	json_decref(j);
	uint64_t v = 7;
	ok(host_memory_parse("Rss: 5 kB\n", 10, &v) < 0 && v == 7, "no Pss_Anon: unknown");
	ok(host_memory_parse("Pss_Anon: 18446744073709551615 kB\n", 35, &v) < 0,
	   "an overflow refused");
	ok(guest_stats_parse("garbage", 7, 0, &s) < 0, "garbage refused");
	ok(guest_stats_parse(sample, 40, 0, &s) < 0, "truncated refused");
}

static void test_top(void)
{
	const char *text =
	    "PID   PPID\n    1     0\n    2     0\n    3     2\n   32     1\n"
	    "   40     1\n   41    40\n==> ps <==\n"
	    "USER  PID  COMMAND\nroot    1 /init\nroot    3 [rcu_gp]\n"
	    "root   32 sh -c while true; do :; done\nroot   40 ps -o user,pid,args\n";
	json_t *j = NULL;
	struct arca_error *err = NULL;
	ok(guest_top_parse(text, strlen(text), 40, &j, &err) == 0, "parses");
	json_t *procs = json_object_get(j, "Processes");
	is_int((int)json_array_size(procs), 1, "only the container's process");
	is_str(json_string_value(json_array_get(json_array_get(procs, 0), 2)),
	       "sh -c while true; do :; done", "the command keeps its blanks");
	is_int((int)json_array_size(json_object_get(j, "Titles")), 3, "titles");
	json_decref(j);
	const char *nopid = "==> ps <==\nUSER COMMAND\nroot sh\n";
	ok(guest_top_parse(nopid, strlen(nopid), 0, &j, &err) < 0 && err, "no PID column");
	err = arca_error_free(err);
	ok(guest_top_parse("", 0, 0, &j, &err) < 0, "nothing printed");
	arca_error_free(err);
}

int main(void)
{
	test_stats();
	test_top();
	return tap_done();
}
