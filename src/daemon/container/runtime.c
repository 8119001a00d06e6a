/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a container's record says its VM and processes get: the state
 * queries, the environment, the VM's size and disks, Docker's signal names.
 * Pure reads of the record: the parts of container/ use them without the
 * lifecycle.
 */
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-mounts.h"
#include "container.h"
#include "daemon.h"
#include "parse-util.h"
#include "strv.h"
#include "vm.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },	      { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT },     { "BUS", SIGBUS },   { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
	{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },   { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO },     { "PWR", SIGPWR },	      { "SYS", SIGSYS },
};

/* "SIGTERM", "TERM", "15"; -1 when invalid, dflt when empty. */
int parse_signal(const char *s, int dflt)
{
	if (!s || !s[0])
		return dflt;
	int n;
	if (safe_atoi(s, &n) == 0)
		return n > 0 && n < _NSIG ? n : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < ELEMENTSOF(signals); i++)
		if (strcasecmp(s, signals[i].name) == 0)
			return signals[i].sig;
	if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
		int base = s[2] == 'M' && s[3] == 'I' ? SIGRTMIN : SIGRTMAX, off = 0;
		if (s[5] == '+' || s[5] == '-') {
			if (safe_atoi(s + 6, &off) < 0)
				return -1;
			off = s[5] == '-' ? -off : off;
		}
		int v = base + off;
		return v >= SIGRTMIN && v <= SIGRTMAX ? v : -1;
	}
	return -1;
}

bool container_is_running(const struct container *c)
{
	return c->state == CONTAINER_RUNNING || c->state == CONTAINER_PAUSED;
}

char **container_runtime_env(struct container *c, json_t *extra_env)
{
	char **env = strv_copy(NULL);
	json_t *lists[] = { json_object_get(c->config, "Env"), extra_env };
	bool has_path = false, has_host = false, has_term = false;
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *v;
		json_array_foreach(lists[l], i, v)
		{
			const char *e = json_string_value(v);
			if (!e || !strchr(e, '='))
				continue;
			size_t klen = strcspn(e, "=");
			for (char **p = env; *p; p++)
				if (strncmp(*p, e, klen + 1) == 0) {
					free(*p);
					*p = xstrdup(e);
					goto next;
				}
			env = strv_append(env, e);
		next:;
		}
	}
	for (char **p = env; *p; p++) {
		has_path |= strncmp(*p, "PATH=", 5) == 0;
		has_host |= strncmp(*p, "HOSTNAME=", 9) == 0;
		has_term |= strncmp(*p, "TERM=", 5) == 0;
	}
	if (!has_path)
		env = strv_append(env, DEFAULT_PATH);
	if (!has_host)
		env = strv_append_take(
		    env, xasprintf("HOSTNAME=%s",
				   json_string_value(json_object_get(c->config, "Hostname"))));
	if (!has_term && json_is_true(json_object_get(c->config, "Tty")))
		env = strv_append(env, "TERM=xterm");
	return env;
}

static unsigned vm_memory_mb(struct container *c)
{
	json_int_t bytes = json_integer_value(json_object_get(c->host_config, "Memory"));
	if (bytes <= 0)
		return c->d->cfg.default_memory_mb;
	uint64_t mb = ((uint64_t)bytes + (1 << 20) - 1) >> 20;
	return (unsigned)MIN(mb + GUEST_RESERVE_MB, (uint64_t)UINT_MAX);
}

uint64_t container_memory_bytes(struct container *c)
{
	json_int_t bytes = json_integer_value(json_object_get(c->host_config, "Memory"));
	return bytes > 0 ? (uint64_t)bytes : (uint64_t)c->d->cfg.default_memory_mb << 20;
}

static unsigned vm_cpus(struct container *c)
{
	json_int_t nano = json_integer_value(json_object_get(c->host_config, "NanoCpus"));
	json_int_t count = json_integer_value(json_object_get(c->host_config, "CpuCount"));
	unsigned n = nano > 0 ? (unsigned)((nano + 999999999) / 1000000000) : 0;
	if (!n && count > 0)
		n = (unsigned)count;
	return n ? MIN(n, 64u) : c->d->cfg.default_cpus;
}

const char *container_vm_id(const struct container *c)
{
	return c->vm_id ? c->vm_id : c->id;
}

void container_vm_config(struct container *c, const char *image_disk, struct vm_config *cfg)
{
	struct daemon *d = c->d;
	*cfg = (struct vm_config){
		.id = container_vm_id(c),
		.runtime_dir = d->cfg.run_dir,
		.kernel = d->guest.kernel,
		.initramfs = d->guest.initramfs,
		.memory_mb = vm_memory_mb(c),
		.cpus = vm_cpus(c),
		.hostname = json_string_value(json_object_get(c->config, "Hostname")),
		.debug = d->cfg.debug,
		.die_with_parent = false, /* it outlives a daemon that dies: live restore */
		.use_vsock = d->use_vsock,
		.accel = &d->accel,
		.disks = { { .path = image_disk, .serial = "arca-image", .readonly = true },
			   { .path = c->rw_disk, .serial = "arca-rw", .readonly = false } },
		.n_disks = 2,
	};
	cfg->n_shares = container_mounts_shares(c, &cfg->shares);
	container_mounts_disks(c, 0, cfg);
}

int64_t container_disk_usage(const struct container *c)
{
	/* What removing the container gives back: its sparse disk and its logs. */
	int64_t total = 0;
	const char *paths[] = { c->rw_disk, c->log_path };
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		struct stat st;
		if (paths[i] && stat(paths[i], &st) == 0)
			total += (int64_t)st.st_blocks * 512;
	}
	return total;
}

char **container_group_add(const struct container *c)
{
	char **out = strv_copy(NULL);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c->host_config, "GroupAdd"), i, v)
	{
		if (json_is_string(v))
			out = strv_append(out, json_string_value(v));
	}
	return out;
}
