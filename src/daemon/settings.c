/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arcad's settings (settings.h): daemon.json read with dockerd's rules, and
 * merged under the flags. Messages follow dockerd's, so a user who knows
 * /etc/docker/daemon.json recognises them.
 */
#include "settings.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "cleanup.h"
#include "log.h"
#include "strv.h"

static const char *const keys[SETTING__COUNT] = {
	[SETTING_HOST] = "hosts",
	[SETTING_DATA_ROOT] = "data-root",
	[SETTING_EXEC_ROOT] = "exec-root",
	[SETTING_GROUP] = "group",
	[SETTING_INSECURE] = "insecure-registries",
	[SETTING_LOG_LEVEL] = "log-level",
	[SETTING_DEBUG] = "debug",
	[SETTING_KERNEL] = "kernel",
	[SETTING_INITRAMFS] = "initramfs",
	[SETTING_MEMORY] = "default-memory",
	[SETTING_LIVE_RESTORE] = "live-restore",
	[SETTING_LABELS] = "labels",
	[SETTING_ADDRESS_POOLS] = "default-address-pools",
};

/* dockerd's keys that arcad does not apply (yet): refused by name, never ignored. */
static const char *const unsupported[] = { "allow-nondistributable-artifacts",
					   "authorization-plugins",
					   "bip",
					   "bridge",
					   "cgroup-parent",
					   "containerd",
					   "cpu-rt-period",
					   "cpu-rt-runtime",
					   "data-root-mount",
					   "default-cgroupns-mode",
					   "default-gateway",
					   "default-gateway-v6",
					   "default-ipc-mode",
					   "default-runtime",
					   "default-shm-size",
					   "default-ulimits",
					   "dns",
					   "dns-opts",
					   "dns-search",
					   "exec-opts",
					   "experimental",
					   "features",
					   "fixed-cidr",
					   "fixed-cidr-v6",
					   "icc",
					   "init",
					   "init-path",
					   "ip",
					   "ip-forward",
					   "ip-masq",
					   "ip6tables",
					   "iptables",
					   "ipv6",
					   "log-driver",
					   "log-format",
					   "log-opts",
					   "max-concurrent-downloads",
					   "max-concurrent-uploads",
					   "max-download-attempts",
					   "metrics-addr",
					   "mtu",
					   "no-new-privileges",
					   "node-generic-resources",
					   "oom-score-adjust",
					   "pidfile",
					   "raw-logs",
					   "registry-mirrors",
					   "runtimes",
					   "seccomp-profile",
					   "selinux-enabled",
					   "shutdown-timeout",
					   "storage-driver",
					   "storage-opts",
					   "swarm-default-advertise-addr",
					   "tls",
					   "tlscacert",
					   "tlscert",
					   "tlskey",
					   "tlsverify",
					   "userland-proxy",
					   "userland-proxy-path",
					   "userns-remap" };

const char *settings_key(enum setting s)
{
	return keys[s];
}

int settings_parse_host(const char *value, char **ret, struct arca_error **err)
{
	const char *path = strncmp(value, "unix://", 7) == 0 ? value + 7 : value;
	if (path[0] != '/')
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "host `%s`: arcad serves the API on a unix socket only "
				      "(unix:///path); TCP would be unauthenticated",
				      value);
	*ret = xstrdup(path);
	return 0;
}

static enum setting setting_of(const char *key)
{
	for (int i = 0; i < SETTING__COUNT; i++)
		if (strcmp(keys[i], key) == 0)
			return (enum setting)i;
	return SETTING__COUNT;
}

static bool is_unsupported(const char *key)
{
	for (size_t i = 0; i < ELEMENTSOF(unsupported); i++)
		if (strcmp(unsupported[i], key) == 0)
			return true;
	return false;
}

static char *joined(char *const *l)
{
	char *s = xstrdup("");
	for (size_t i = 0; l && l[i]; i++)
		strappendf(&s, "%s%s", i ? ", " : "", l[i]);
	return s;
}

/* An absolute path (a string); what a relative one would be relative to is unclear. */
static int path_value(json_t *v, const char *key, const char *path, char **ret,
		      struct arca_error **err)
{
	const char *s = json_string_value(v);
	if (!s || s[0] != '/')
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s: %s must be an absolute path", path, key);
	free(*ret);
	*ret = xstrdup(s);
	return 0;
}

int settings_parse_label(const char *value, struct arca_error **err)
{
	const char *eq = strchr(value, '=');
	if (!eq || eq == value)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "bad attribute format: %s (a label is key=value)", value);
	return 0;
}

static int labels_value(struct arcad_settings *s, json_t *v, const char *path,
			struct arca_error **err)
{
	size_t i;
	json_t *l;
	if (!json_is_array(v))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s: labels must be a list of key=value", path);
	s->labels = strv_free(s->labels);
	json_array_foreach(v, i, l)
	{
		int r = json_is_string(l) ? settings_parse_label(json_string_value(l), err)
					  : arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
							   "labels must be strings");
		if (r < 0) {
			arca_error_wrap(err, "%s", path);
			return r;
		}
		s->labels = strv_append(s->labels, json_string_value(l));
	}
	return 0;
}

void settings_add_pool(struct arcad_settings *s, const struct ipam_pool *p)
{
	s->pools = xrealloc(s->pools, (s->n_pools + 1) * sizeof(*s->pools));
	s->pools[s->n_pools++] = *p;
}

int settings_parse_pool(const char *value, struct ipam_pool *ret, struct arca_error **err)
{
	_cleanup_free_ char *copy = xstrdup(value);
	const char *base = NULL, *size = NULL;
	char *save = NULL;
	for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		if (strncmp(f, "base=", 5) == 0)
			base = f + 5;
		else if (strncmp(f, "size=", 5) == 0)
			size = f + 5;
		else
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "address pool `%s`: unexpected field `%s` (base=CIDR,"
					      "size=N)",
					      value, f);
	}
	char *end = NULL;
	long long n = size ? strtoll(size, &end, 10) : -1;
	if (!base || !size || !size[0] || *end)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "address pool `%s`: base=CIDR,size=N are both needed", value);
	return ipam_pool_check(base, n, ret, err);
}

static int pools_value(struct arcad_settings *s, json_t *v, const char *path,
		       struct arca_error **err)
{
	size_t i;
	json_t *e;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s: default-address-pools must be a list of {\"base\": "
				      "CIDR, \"size\": N}",
				      path);
	free(s->pools);
	s->pools = NULL;
	s->n_pools = 0;
	json_array_foreach(v, i, e)
	{
		json_t *base = json_object_get(e, "base"), *size = json_object_get(e, "size");
		struct ipam_pool p;
		int r = 0;
		if (!json_is_object(e) || !json_is_string(base) || !json_is_integer(size) ||
		    json_object_size(e) != 2)
			r = arca_error_set(
			    err, EINVAL, ARCA_ERR_INVALID,
			    "default-address-pools[%zu]: an entry is {\"base\": CIDR, "
			    "\"size\": N}",
			    i);
		if (r >= 0)
			r = ipam_pool_check(json_string_value(base), json_integer_value(size), &p,
					    err);
		if (r < 0) {
			arca_error_wrap(err, "%s", path);
			return r;
		}
		settings_add_pool(s, &p);
	}
	return 0;
}

static int one(struct arcad_settings *s, enum setting k, json_t *v, const char *path,
	       struct arca_error **err)
{
	const char *key = keys[k];
	switch (k) {
	case SETTING_HOST: {
		if (!json_is_array(v) || json_array_size(v) != 1 ||
		    !json_is_string(json_array_get(v, 0)))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: hosts must be a list of one unix socket "
					      "(arcad serves one)",
					      path);
		free(s->host);
		s->host = NULL;
		int r = settings_parse_host(json_string_value(json_array_get(v, 0)), &s->host, err);
		if (r < 0)
			arca_error_wrap(err, "%s", path);
		return r;
	}
	case SETTING_DATA_ROOT: return path_value(v, key, path, &s->data_root, err);
	case SETTING_EXEC_ROOT: return path_value(v, key, path, &s->exec_root, err);
	case SETTING_KERNEL: return path_value(v, key, path, &s->kernel, err);
	case SETTING_INITRAMFS: return path_value(v, key, path, &s->initramfs, err);
	case SETTING_GROUP:
		if (!json_is_string(v) || !json_string_value(v)[0])
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: group must be a group's name", path);
		free(s->group);
		s->group = xstrdup(json_string_value(v));
		return 0;
	case SETTING_INSECURE: {
		size_t i;
		json_t *h;
		if (!json_is_array(v))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: insecure-registries must be a list of hosts",
					      path);
		s->insecure = strv_free(s->insecure);
		json_array_foreach(v, i, h)
		{
			if (!json_is_string(h) || !json_string_value(h)[0])
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "%s: insecure-registries must be a list of "
						      "hosts",
						      path);
			s->insecure = strv_append(s->insecure, json_string_value(h));
		}
		return 0;
	}
	case SETTING_LOG_LEVEL: {
		const char *l = json_string_value(v);
		int level = !l				  ? -EINVAL
			    : strcasecmp(l, "fatal") == 0 ? LOG_LEVEL_ERROR
							  : log_parse_level(l);
		if (level < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: log-level `%s` is none of debug, info, warn, "
					      "error, fatal",
					      path, l ? l : "(not a string)");
		s->log_level = level;
		return 0;
	}
	case SETTING_DEBUG:
		if (!json_is_boolean(v))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: debug must be true or false", path);
		s->debug = json_is_true(v);
		return 0;
	case SETTING_MEMORY: {
		json_int_t m = json_integer_value(v);
		if (!json_is_integer(v) || m < 64 || m > 1024 * 1024)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: default-memory must be MiB, 64 to 1048576",
					      path);
		s->memory_mb = (unsigned)m;
		return 0;
	}
	case SETTING_LIVE_RESTORE:
		if (!json_is_boolean(v))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: live-restore must be true or false", path);
		s->live_restore = json_is_true(v);
		return 0;
	case SETTING_LABELS: return labels_value(s, v, path, err);
	case SETTING_ADDRESS_POOLS: return pools_value(s, v, path, err);
	case SETTING__COUNT: break;
	}
	return arca_error_set(err, EINVAL, ARCA_ERR_INTERNAL, "%s: %s", path, key);
}

int settings_from_json(const char *text, size_t len, const char *path, struct arcad_settings *s,
		       struct arca_error **err)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s: invalid JSON: %s (line %d)", path, jerr.text, jerr.line);
	if (!json_is_object(j)) {
		json_decref(j);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s: not a JSON object", path);
	}
	_cleanup_strv_free_ char **unknown = NULL, **refused = NULL;
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v)
	{
		if (is_unsupported(key))
			refused = strv_append(refused, key);
		else if (setting_of(key) == SETTING__COUNT)
			unknown = strv_append(unknown, key);
	}
	int r = 0;
	if (unknown || refused) {
		strv_sort(unknown);
		strv_sort(refused);
		_cleanup_free_ char *u = joined(unknown), *f = joined(refused);
		r = arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID, "%s: %s%s%s%s%s", path,
		    unknown ? "the following directives don't match any "
			      "configuration option: "
			    : "",
		    u, unknown && refused ? "; " : "",
		    refused ? "the following directives are not supported by arcad: " : "", f);
	}
	json_object_foreach(j, key, v)
	{
		enum setting k = setting_of(key);
		if (r < 0 || k == SETTING__COUNT)
			continue;
		r = one(s, k, v, path, err);
		if (r >= 0)
			s->set |= 1u << k;
	}
	json_decref(j);
	return r;
}

/* A setting's value as the conflict message shows it. */
static char *shown(const struct arcad_settings *s, enum setting k)
{
	switch (k) {
	case SETTING_HOST: return xstrdup(s->host);
	case SETTING_DATA_ROOT: return xstrdup(s->data_root);
	case SETTING_EXEC_ROOT: return xstrdup(s->exec_root);
	case SETTING_GROUP: return xstrdup(s->group);
	case SETTING_INSECURE: return joined(s->insecure);
	case SETTING_LOG_LEVEL: {
		static const char *const names[] = { "error", "warn", "info", "debug" };
		return xstrdup(s->log_level >= 0 && s->log_level < 4 ? names[s->log_level] : "?");
	}
	case SETTING_DEBUG: return xstrdup(s->debug ? "true" : "false");
	case SETTING_KERNEL: return xstrdup(s->kernel);
	case SETTING_INITRAMFS: return xstrdup(s->initramfs);
	case SETTING_MEMORY: return xasprintf("%u", s->memory_mb);
	case SETTING_LIVE_RESTORE: return xstrdup(s->live_restore ? "true" : "false");
	case SETTING_LABELS: return joined(s->labels);
	case SETTING_ADDRESS_POOLS: {
		char *out = xstrdup("");
		for (size_t i = 0; i < s->n_pools; i++) {
			char b[64];
			ipam_prefix_format(&s->pools[i].base, true, b, sizeof(b));
			strappendf(&out, "%sbase=%s,size=%u", i ? ", " : "", b, s->pools[i].size);
		}
		return out;
	}
	case SETTING__COUNT: break;
	}
	return xstrdup("");
}

static void take(char **to, char **from)
{
	free(*to);
	*to = *from;
	*from = NULL;
}

int settings_merge(struct arcad_settings *flags, struct arcad_settings *file, const char *path,
		   struct arca_error **err)
{
	_cleanup_free_ char *both = xstrdup("");
	for (int k = 0; k < SETTING__COUNT; k++) {
		if (!(flags->set & file->set & (1u << k)))
			continue;
		_cleanup_free_ char *a = shown(flags, k), *b = shown(file, k);
		strappendf(&both, "%s%s: (from flag: %s, from file: %s)", both[0] ? ", " : "",
			   keys[k], a, b);
	}
	if (both[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s: the following directives are specified both as a flag "
				      "and in the configuration file: %s",
				      path, both);
	unsigned from_file = file->set & ~flags->set;
	if (from_file & (1u << SETTING_HOST))
		take(&flags->host, &file->host);
	if (from_file & (1u << SETTING_DATA_ROOT))
		take(&flags->data_root, &file->data_root);
	if (from_file & (1u << SETTING_EXEC_ROOT))
		take(&flags->exec_root, &file->exec_root);
	if (from_file & (1u << SETTING_GROUP))
		take(&flags->group, &file->group);
	if (from_file & (1u << SETTING_KERNEL))
		take(&flags->kernel, &file->kernel);
	if (from_file & (1u << SETTING_INITRAMFS))
		take(&flags->initramfs, &file->initramfs);
	if (from_file & (1u << SETTING_INSECURE)) {
		strv_free(flags->insecure);
		flags->insecure = file->insecure;
		file->insecure = NULL;
	}
	if (from_file & (1u << SETTING_LOG_LEVEL))
		flags->log_level = file->log_level;
	if (from_file & (1u << SETTING_DEBUG))
		flags->debug = file->debug;
	if (from_file & (1u << SETTING_MEMORY))
		flags->memory_mb = file->memory_mb;
	if (from_file & (1u << SETTING_LIVE_RESTORE))
		flags->live_restore = file->live_restore;
	if (from_file & (1u << SETTING_LABELS)) {
		strv_free(flags->labels);
		flags->labels = file->labels;
		file->labels = NULL;
	}
	if (from_file & (1u << SETTING_ADDRESS_POOLS)) {
		free(flags->pools);
		flags->pools = file->pools;
		flags->n_pools = file->n_pools;
		file->pools = NULL;
		file->n_pools = 0;
	}
	flags->set |= from_file;
	return 0;
}

unsigned settings_differ(const struct arcad_settings *a, const struct arcad_settings *b)
{
	unsigned out = 0;
	for (int k = 0; k < SETTING__COUNT; k++) {
		unsigned bit = 1u << k;
		if ((a->set ^ b->set) & bit) {
			out |= bit;
		} else if (a->set & bit) {
			_cleanup_free_ char *x = shown(a, k), *y = shown(b, k);
			if (strcmp(x, y) != 0)
				out |= bit;
		}
	}
	return out;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void settings_copy(const struct arcad_settings *from, struct arcad_settings *to)
{
	*to = *from;
	to->host = dup_or_null(from->host);
	to->data_root = dup_or_null(from->data_root);
	to->exec_root = dup_or_null(from->exec_root);
	to->group = dup_or_null(from->group);
	to->insecure = from->insecure ? strv_copy(from->insecure) : NULL;
	to->kernel = dup_or_null(from->kernel);
	to->initramfs = dup_or_null(from->initramfs);
	to->labels = from->labels ? strv_copy(from->labels) : NULL;
	to->pools = NULL;
	if (from->n_pools) {
		to->pools = xnew0(struct ipam_pool, from->n_pools);
		memcpy(to->pools, from->pools, from->n_pools * sizeof(*to->pools));
	}
}

void settings_done(struct arcad_settings *s)
{
	free(s->host);
	free(s->data_root);
	free(s->exec_root);
	free(s->group);
	strv_free(s->insecure);
	free(s->kernel);
	free(s->initramfs);
	strv_free(s->labels);
	free(s->pools);
	*s = (struct arcad_settings){ 0 };
}
