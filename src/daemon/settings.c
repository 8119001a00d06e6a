/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arcad's settings (settings.h): daemon.json read with dockerd's rules, and
 * merged under the flags. One table says, for each setting, its key, its flag,
 * its kind and where it lives; reading, showing, merging, copying and freeing
 * go by kind. Messages follow dockerd's, so a user who knows
 * /etc/docker/daemon.json recognises them.
 */
#include "settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "cleanup.h"
#include "log-config.h"
#include "log.h"
#include "parse-util.h"
#include "strv.h"

enum kind {
	K_HOST,	 /* char *: a unix socket (hosts is a list of one) */
	K_PATH,	 /* char *: an absolute path */
	K_NAME,	 /* char *: a non-empty string */
	K_LIST,	 /* char **: strings, each checked by item() */
	K_MAP,	 /* char **: a map of strings, kept as key=value */
	K_BOOL,	 /* bool */
	K_UINT,	 /* unsigned, min..max */
	K_LEVEL, /* int: a log level */
	K_POOLS, /* struct ipam_pool *pools, n_pools */
};

typedef int (*item_fn)(const char *value, struct arca_error **err);

struct spec {
	const char *key;
	const char *flag;
	enum kind kind;
	size_t off;
	item_fn item;	   /* K_LIST: checks one entry */
	const char *what;  /* K_LIST, K_UINT: what the value is, for messages */
	unsigned min, max; /* K_UINT */
};

static int check_nonempty(const char *v, struct arca_error **err)
{
	return v[0] ? 0 : arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "an empty entry");
}

static int check_key_value(const char *v, struct arca_error **err)
{
	const char *eq = strchr(v, '=');
	if (!eq || eq == v)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "bad attribute format: %s (key=value)", v);
	return 0;
}

static int check_ip(const char *v, struct arca_error **err)
{
	uint8_t b[16];
	if (inet_pton(AF_INET, v, b) == 1 || inet_pton(AF_INET6, v, b) == 1)
		return 0;
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s is not an ip address", v);
}

/* dockerd's ValidateDNSSearch: labels of letters, digits and inner dashes, or ".". */
static int check_domain(const char *v, struct arca_error **err)
{
	size_t n = strlen(v);
	bool ok = n > 0 && n <= 255;
	if (ok && strcmp(v, ".") != 0) {
		size_t label = 0;
		for (size_t i = 0; ok && i < n; i++) {
			char c = v[i];
			if (c == '.') {
				ok = label > 0 && v[i - 1] != '-';
				label = 0;
			} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
				label++;
			} else {
				ok = false;
			}
		}
		ok = ok && (label > 0 ? v[n - 1] != '-' : n > 1);
	}
	return ok ? 0
		  : arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s is not a valid domain", v);
}

/* dockerd's ValidateMirror: http(s)://host[:port][/], nothing after. */
static int check_mirror(const char *v, struct arca_error **err)
{
	const char *host = strncmp(v, "https://", 8) == 0  ? v + 8
			   : strncmp(v, "http://", 7) == 0 ? v + 7
							   : NULL;
	if (!host)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid mirror: unsupported scheme in %s (http:// or "
				      "https://)",
				      v);
	size_t n = strcspn(host, "/?#");
	if (n == 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid mirror: no host in %s", v);
	if (host[n] && strcmp(host + n, "/") != 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid mirror: path, query, or fragment at end of the URI "
				      "%s",
				      v);
	return 0;
}

#define SPEC(k, f, kd, field, ...)                                                              \
	{                                                                                       \
		.key = k, .flag = f, .kind = kd, .off = offsetof(struct arcad_settings, field), \
		__VA_ARGS__                                                                     \
	}

static const struct spec specs[SETTING__COUNT] = {
	[SETTING_HOST] = SPEC("hosts", "host", K_HOST, host),
	[SETTING_DATA_ROOT] = SPEC("data-root", "data-root", K_PATH, data_root),
	[SETTING_EXEC_ROOT] = SPEC("exec-root", "exec-root", K_PATH, exec_root),
	[SETTING_GROUP] = SPEC("group", "group", K_NAME, group),
	[SETTING_INSECURE] = SPEC("insecure-registries", "insecure-registry", K_LIST, insecure,
				  .item = check_nonempty, .what = "hosts"),
	[SETTING_MIRRORS] = SPEC("registry-mirrors", "registry-mirror", K_LIST, mirrors,
				 .item = check_mirror, .what = "URLs"),
	[SETTING_DOWNLOADS] = SPEC("max-concurrent-downloads", "max-concurrent-downloads", K_UINT,
				   max_downloads, .what = "a count", .min = 1, .max = 64),
	[SETTING_LOG_LEVEL] = SPEC("log-level", "log-level", K_LEVEL, log_level),
	[SETTING_DEBUG] = SPEC("debug", "debug", K_BOOL, debug),
	[SETTING_KERNEL] = SPEC("kernel", "kernel", K_PATH, kernel),
	[SETTING_INITRAMFS] = SPEC("initramfs", "initramfs", K_PATH, initramfs),
	[SETTING_GUEST] = SPEC("guest", "guest", K_PATH, guest),
	[SETTING_MEMORY] = SPEC("default-memory", "default-memory", K_UINT, memory_mb,
				.what = "MiB", .min = 64, .max = 1024 * 1024),
	[SETTING_CPUS] = SPEC("default-cpus", "default-cpus", K_UINT, cpus, .what = "vCPUs",
			      .min = 1, .max = 64),
	[SETTING_POOL_SIZE] = SPEC("vm-pool-size", "vm-pool-size", K_UINT, pool_size,
				   .what = "a count of VMs", .min = 0, .max = 64),
	[SETTING_POOL_MEMORY] = SPEC("vm-pool-memory", "vm-pool-memory", K_UINT, pool_mb,
				     .what = "MiB", .min = 0, .max = 1024 * 1024),
	[SETTING_LIVE_RESTORE] = SPEC("live-restore", "live-restore", K_BOOL, live_restore),
	[SETTING_LABELS] =
	    SPEC("labels", "label", K_LIST, labels, .item = check_key_value, .what = "key=value"),
	[SETTING_ADDRESS_POOLS] =
	    SPEC("default-address-pools", "default-address-pool", K_POOLS, pools),
	[SETTING_DNS] = SPEC("dns", "dns", K_LIST, dns, .item = check_ip, .what = "IP addresses"),
	[SETTING_DNS_SEARCH] = SPEC("dns-search", "dns-search", K_LIST, dns_search,
				    .item = check_domain, .what = "domains"),
	[SETTING_DNS_OPTS] = SPEC("dns-opts", "dns-opt", K_LIST, dns_opts, .item = check_nonempty,
				  .what = "options"),
	[SETTING_LOG_DRIVER] = SPEC("log-driver", "log-driver", K_NAME, log_driver),
	[SETTING_LOG_OPTS] = SPEC("log-opts", "log-opt", K_MAP, log_opts, .item = check_key_value,
				  .what = "strings"),
};

/* dockerd's keys that arcad does not apply (yet): refused by name, never ignored. */
static const char *const unsupported[] = {
	"allow-nondistributable-artifacts",
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
	"log-format",
	"max-concurrent-uploads",
	"max-download-attempts",
	"metrics-addr",
	"mtu",
	"no-new-privileges",
	"node-generic-resources",
	"oom-score-adjust",
	"pidfile",
	"raw-logs",
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
	"userns-remap",
};

#define FIELD(s, k, type) ((type *)((char *)(s) + specs[k].off))

const char *settings_key(enum setting s)
{
	return specs[s].key;
}

const char *settings_flag_name(enum setting s)
{
	return specs[s].flag;
}

bool settings_flag_has_value(enum setting s)
{
	return specs[s].kind != K_BOOL;
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
		if (strcmp(specs[i].key, key) == 0)
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

static int parse_level(const char *l)
{
	return !l ? -EINVAL : strcasecmp(l, "fatal") == 0 ? LOG_LEVEL_ERROR : log_parse_level(l);
}

static void add_pool(struct arcad_settings *s, const struct ipam_pool *p)
{
	s->pools = xrealloc(s->pools, (s->n_pools + 1) * sizeof(*s->pools));
	s->pools[s->n_pools++] = *p;
}

/* --default-address-pool's value: base=CIDR,size=N (dockerd's form). */
static int parse_pool(const char *value, struct ipam_pool *ret, struct arca_error **err)
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

static int uint_value(const struct spec *sp, long long n, unsigned *ret, struct arca_error **err)
{
	if (n < sp->min || n > sp->max)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be %s, %u to %u",
				      sp->key, sp->what, sp->min, sp->max);
	*ret = (unsigned)n;
	return 0;
}

int settings_flag(struct arcad_settings *s, enum setting k, const char *value,
		  struct arca_error **err)
{
	const struct spec *sp = &specs[k];
	int r = 0;
	switch (sp->kind) {
	case K_HOST: {
		char *host = NULL;
		r = settings_parse_host(value, &host, err);
		if (r >= 0) {
			free(*FIELD(s, k, char *));
			*FIELD(s, k, char *) = host;
		}
		break;
	}
	case K_PATH:
	case K_NAME:
		if (!value[0])
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "an empty value");
		free(*FIELD(s, k, char *));
		*FIELD(s, k, char *) = xstrdup(value);
		break;
	case K_LIST:
	case K_MAP:
		r = sp->item(value, err);
		if (r >= 0)
			*FIELD(s, k, char **) = strv_append(*FIELD(s, k, char **), value);
		break;
	case K_BOOL: *FIELD(s, k, bool) = true; break;
	case K_UINT: {
		uint32_t n;
		if (safe_atou32(value, &n) < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "`%s` is not a number",
					      value);
		r = uint_value(sp, n, FIELD(s, k, unsigned), err);
		break;
	}
	case K_LEVEL: {
		int level = parse_level(value);
		if (level < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "`%s` is none of debug, info, warn, error, fatal",
					      value);
		s->log_level = level;
		break;
	}
	case K_POOLS: {
		struct ipam_pool p;
		r = parse_pool(value, &p, err);
		if (r >= 0)
			add_pool(s, &p);
		break;
	}
	}
	if (r >= 0)
		s->set |= 1u << k;
	return r;
}

/* A list of strings from the file, each checked: the field's whole new value. */
static int list_value(const struct spec *sp, json_t *v, char ***field, struct arca_error **err)
{
	size_t i;
	json_t *e;
	if (!json_is_array(v))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be a list of %s",
				      sp->key, sp->what);
	char **l = strv_copy(NULL);
	json_array_foreach(v, i, e)
	{
		const char *x = json_string_value(e);
		int r = x ? sp->item(x, err)
			  : arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be a list of %s",
					   sp->key, sp->what);
		if (r < 0) {
			strv_free(l);
			return r;
		}
		l = strv_append(l, x);
	}
	strv_free(*field);
	*field = l;
	return 0;
}

static int map_value(const struct spec *sp, json_t *v, char ***field, struct arca_error **err)
{
	const char *key;
	json_t *e;
	if (!json_is_object(v))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s must be a map of %s",
				      sp->key, sp->what);
	char **l = strv_copy(NULL);
	json_object_foreach(v, key, e)
	{
		if (!json_is_string(e) || !key[0]) {
			strv_free(l);
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s must be a map of %s", sp->key, sp->what);
		}
		l = strv_append_take(l, xasprintf("%s=%s", key, json_string_value(e)));
	}
	strv_free(*field);
	*field = l;
	return 0;
}

static int pools_value(struct arcad_settings *s, json_t *v, struct arca_error **err)
{
	size_t i;
	json_t *e;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "default-address-pools must be a list of {\"base\": CIDR, "
				      "\"size\": N}");
	free(s->pools);
	s->pools = NULL;
	s->n_pools = 0;
	json_array_foreach(v, i, e)
	{
		json_t *base = json_object_get(e, "base"), *size = json_object_get(e, "size");
		struct ipam_pool p;
		if (!json_is_object(e) || !json_is_string(base) || !json_is_integer(size) ||
		    json_object_size(e) != 2)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "default-address-pools[%zu]: an entry is {\"base\": "
					      "CIDR, \"size\": N}",
					      i);
		int r = ipam_pool_check(json_string_value(base), json_integer_value(size), &p, err);
		if (r < 0) {
			arca_error_wrap(err, "default-address-pools[%zu]", i);
			return r;
		}
		add_pool(s, &p);
	}
	return 0;
}

static int one(struct arcad_settings *s, enum setting k, json_t *v, struct arca_error **err)
{
	const struct spec *sp = &specs[k];
	const char *x = json_string_value(v);
	switch (sp->kind) {
	case K_HOST:
		if (!json_is_array(v) || json_array_size(v) != 1 ||
		    !json_is_string(json_array_get(v, 0)))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "hosts must be a list of one unix socket (arcad "
					      "serves one)");
		return settings_flag(s, k, json_string_value(json_array_get(v, 0)), err);
	case K_PATH:
		if (!x || x[0] != '/')
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s must be an absolute path", sp->key);
		return settings_flag(s, k, x, err);
	case K_NAME:
		if (!x || !x[0])
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s must be a non-empty string", sp->key);
		return settings_flag(s, k, x, err);
	case K_LIST: return list_value(sp, v, FIELD(s, k, char **), err);
	case K_MAP: return map_value(sp, v, FIELD(s, k, char **), err);
	case K_BOOL:
		if (!json_is_boolean(v))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s must be true or false", sp->key);
		*FIELD(s, k, bool) = json_is_true(v);
		return 0;
	case K_UINT:
		if (!json_is_integer(v))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s must be %s, %u to %u", sp->key, sp->what, sp->min,
					      sp->max);
		return uint_value(sp, json_integer_value(v), FIELD(s, k, unsigned), err);
	case K_LEVEL:
		if (parse_level(x) < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "log-level `%s` is none of debug, info, warn, error, "
					      "fatal",
					      x ? x : "(not a string)");
		s->log_level = parse_level(x);
		return 0;
	case K_POOLS: return pools_value(s, v, err);
	}
	return arca_error_set(err, EINVAL, ARCA_ERR_INTERNAL, "%s", sp->key);
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
		r = one(s, k, v, err);
		if (r >= 0)
			s->set |= 1u << k;
		else
			arca_error_wrap(err, "%s", path);
	}
	json_decref(j);
	return r;
}

/* A setting's value as the conflict message shows it. */
static char *shown(const struct arcad_settings *s, enum setting k)
{
	const struct spec *sp = &specs[k];
	switch (sp->kind) {
	case K_HOST:
	case K_PATH:
	case K_NAME: {
		const char *x = *FIELD(s, k, char *);
		return xstrdup(x ? x : "");
	}
	case K_LIST:
	case K_MAP: return joined(*FIELD(s, k, char **));
	case K_BOOL: return xstrdup(*FIELD(s, k, bool) ? "true" : "false");
	case K_UINT: return xasprintf("%u", *FIELD(s, k, unsigned));
	case K_LEVEL: {
		static const char *const names[] = { "error", "warn", "info", "debug" };
		return xstrdup(s->log_level >= 0 && s->log_level < 4 ? names[s->log_level] : "?");
	}
	case K_POOLS: {
		char *out = xstrdup("");
		for (size_t i = 0; i < s->n_pools; i++) {
			char b[64];
			ipam_prefix_format(&s->pools[i].base, true, b, sizeof(b));
			strappendf(&out, "%sbase=%s,size=%u", i ? ", " : "", b, s->pools[i].size);
		}
		return out;
	}
	}
	return xstrdup("");
}

/* Moves setting k from `from` into `to`, freeing what `to` had. */
static void move(struct arcad_settings *to, struct arcad_settings *from, enum setting k)
{
	switch (specs[k].kind) {
	case K_HOST:
	case K_PATH:
	case K_NAME:
		free(*FIELD(to, k, char *));
		*FIELD(to, k, char *) = *FIELD(from, k, char *);
		*FIELD(from, k, char *) = NULL;
		break;
	case K_LIST:
	case K_MAP:
		strv_free(*FIELD(to, k, char **));
		*FIELD(to, k, char **) = *FIELD(from, k, char **);
		*FIELD(from, k, char **) = NULL;
		break;
	case K_BOOL: *FIELD(to, k, bool) = *FIELD(from, k, bool); break;
	case K_UINT: *FIELD(to, k, unsigned) = *FIELD(from, k, unsigned); break;
	case K_LEVEL: to->log_level = from->log_level; break;
	case K_POOLS:
		free(to->pools);
		to->pools = from->pools;
		to->n_pools = from->n_pools;
		from->pools = NULL;
		from->n_pools = 0;
		break;
	}
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
			   specs[k].key, a, b);
	}
	if (both[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s: the following directives are specified both as a flag "
				      "and in the configuration file: %s",
				      path, both);
	unsigned from_file = file->set & ~flags->set;
	for (int k = 0; k < SETTING__COUNT; k++)
		if (from_file & (1u << k))
			move(flags, file, k);
	flags->set |= from_file;
	return 0;
}

int settings_check(const struct arcad_settings *s, struct arca_error **err)
{
	if (s->guest && (s->kernel || s->initramfs))
		return arca_error_set(
		    err, EINVAL, ARCA_ERR_INVALID,
		    "guest gives the kernel and the initramfs: not with kernel or "
		    "initramfs");
	if (!s->log_driver && !s->log_opts)
		return 0;
	json_t *opts = json_object();
	for (char **o = s->log_opts; o && *o; o++) {
		const char *eq = strchr(*o, '=');
		_cleanup_free_ char *key = xstrndup(*o, (size_t)(eq - *o));
		json_object_set_new(opts, key, json_string(eq + 1));
	}
	json_t *lc = json_pack("{s:s, s:o}", "Type", s->log_driver ? s->log_driver : "json-file",
			       "Config", opts);
	struct log_config parsed;
	int r = lc ? log_config_parse(lc, &parsed, err)
		   : arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "log-opts: not UTF-8");
	json_decref(lc);
	if (r < 0)
		arca_error_wrap(err, "log-driver and log-opts");
	return r;
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

void settings_copy(const struct arcad_settings *from, struct arcad_settings *to)
{
	*to = *from;
	for (int k = 0; k < SETTING__COUNT; k++) {
		switch (specs[k].kind) {
		case K_HOST:
		case K_PATH:
		case K_NAME: {
			const char *x = *FIELD(from, k, char *);
			*FIELD(to, k, char *) = x ? xstrdup(x) : NULL;
			break;
		}
		case K_LIST:
		case K_MAP: {
			char **l = *FIELD(from, k, char **);
			*FIELD(to, k, char **) = l ? strv_copy(l) : NULL;
			break;
		}
		case K_POOLS:
			to->pools = NULL;
			if (from->n_pools) {
				to->pools = xnew0(struct ipam_pool, from->n_pools);
				memcpy(to->pools, from->pools, from->n_pools * sizeof(*to->pools));
			}
			break;
		case K_BOOL:
		case K_UINT:
		case K_LEVEL: break;
		}
	}
}

void settings_done(struct arcad_settings *s)
{
	for (int k = 0; k < SETTING__COUNT; k++) {
		switch (specs[k].kind) {
		case K_HOST:
		case K_PATH:
		case K_NAME: free(*FIELD(s, k, char *)); break;
		case K_LIST:
		case K_MAP: strv_free(*FIELD(s, k, char **)); break;
		case K_POOLS: free(s->pools); break;
		case K_BOOL:
		case K_UINT:
		case K_LEVEL: break;
		}
	}
	*s = (struct arcad_settings){ 0 };
}
