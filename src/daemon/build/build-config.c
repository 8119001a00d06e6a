/* SPDX-License-Identifier: Apache-2.0 */
/* Config-only build steps (see build-config.h). */
#include "build-config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "container.h"
#include "strv.h"
#include "time-util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const config_only[] = {
	"env",	      "label",	     "maintainer", "expose",  "volume", "user",	      "workdir",
	"stopsignal", "healthcheck", "shell",	   "onbuild", "cmd",	"entrypoint",
};

bool build_config_only(const char *cmd)
{
	for (size_t i = 0; i < ELEMENTSOF(config_only); i++)
		if (strcmp(config_only[i], cmd) == 0)
			return true;
	return false;
}

/* --- Go's formatting --- */

char *go_quote(const char *s)
{
	char *out = xstrdup("\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': strappendf(&out, "\\\""); break;
		case '\\': strappendf(&out, "\\\\"); break;
		case '\n': strappendf(&out, "\\n"); break;
		case '\t': strappendf(&out, "\\t"); break;
		case '\r': strappendf(&out, "\\r"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				strappendf(&out, "\\x%02x", *p);
			else
				strappendf(&out, "%c", *p);
		}
	}
	strappendf(&out, "\"");
	return out;
}

char *go_quote_list(json_t *array)
{
	char *out = xstrdup("[");
	size_t i;
	json_t *v;
	json_array_foreach(array, i, v)
	{
		_cleanup_free_ char *q = go_quote(json_string_value(v) ? json_string_value(v) : "");
		strappendf(&out, "%s%s", i ? " " : "", q);
	}
	strappendf(&out, "]");
	return out;
}

char *build_words_join(json_t *array)
{
	char *out = xstrdup("");
	size_t i;
	json_t *v;
	json_array_foreach(array, i, v) strappendf(
	    &out, "%s%s", i ? " " : "", json_string_value(v) ? json_string_value(v) : "");
	return out;
}

/* Go's %v of a []string: [a b]. */
static char *go_list(json_t *array)
{
	_cleanup_free_ char *words = build_words_join(array);
	return xasprintf("[%s]", words);
}

/* Go's %q of an int (a rune): 'a', '\x02'. */
static char *go_quote_rune(int64_t r)
{
	if (r >= 0x20 && r < 0x7f && r != '\'' && r != '\\')
		return xasprintf("'%c'", (char)r);
	if (r == '\'' || r == '\\')
		return xasprintf("'\\%c'", (char)r);
	if (r >= 0 && r < 0x80)
		return xasprintf("'\\x%02x'", (unsigned)r);
	return xasprintf("'\\u%04" PRIx64 "'", (uint64_t)r);
}

/* A fraction of unit, Go style: "1.5", trailing zeros dropped. */
static void fmt_frac(char **out, uint64_t v, uint64_t unit)
{
	strappendf(out, "%" PRIu64, v / unit);
	uint64_t frac = v % unit;
	if (!frac)
		return;
	char digits[32];
	int w = 0;
	for (uint64_t u = unit; u > 1 && w < 18; u /= 10)
		w++;
	if (snprintf(digits, sizeof(digits), "%0*" PRIu64, w & 31, frac) >= (int)sizeof(digits))
		return;
	size_t n = strlen(digits);
	while (n && digits[n - 1] == '0')
		digits[--n] = '\0';
	strappendf(out, ".%s", digits);
}

char *go_duration(int64_t ns)
{
	if (ns == 0)
		return xstrdup("0s");
	char *out = xstrdup(ns < 0 ? "-" : "");
	uint64_t u = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
	if (u < 1000000000ULL) {
		if (u < 1000ULL)
			strappendf(&out, "%" PRIu64 "ns", u);
		else if (u < 1000000ULL)
			fmt_frac(&out, u, 1000), strappendf(&out, "µs");
		else
			fmt_frac(&out, u, 1000000), strappendf(&out, "ms");
		return out;
	}
	uint64_t h = u / 3600000000000ULL, rem = u % 3600000000000ULL;
	uint64_t m = rem / 60000000000ULL, s = rem % 60000000000ULL;
	if (h)
		strappendf(&out, "%" PRIu64 "h%" PRIu64 "m", h, m);
	else if (m)
		strappendf(&out, "%" PRIu64 "m", m);
	fmt_frac(&out, s, 1000000000ULL);
	strappendf(&out, "s");
	return out;
}

/* --- helpers --- */

static int expand(struct build_config_ctx *c, const char *word, char **ret, struct arca_error **err)
{
	return shlex_word(word, c->escape, c->lookup, c->userdata, ret, err);
}

static json_t *object_member(json_t *o, const char *key)
{
	json_t *m = json_object_get(o, key);
	if (!json_is_object(m)) {
		m = json_object();
		json_object_set_new(o, key, m);
	}
	return m;
}

static void env_set(json_t *config, const char *key, const char *value)
{
	json_t *env = json_object_get(config, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(config, "Env", env);
	}
	_cleanup_free_ char *entry = xasprintf("%s=%s", key, value);
	size_t kl = strlen(key), i;
	json_t *e;
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);
		if (s && strncmp(s, key, kl) == 0 && (s[kl] == '=' || s[kl] == '\0')) {
			json_array_set_new(env, i, json_string(entry));
			return;
		}
	}
	json_array_append_new(env, json_string(entry));
}

void build_config_default_path(json_t *config)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(config, "Env"), i, e)
	{
		const char *s = json_string_value(e);
		if (s && strncmp(s, "PATH=", 5) == 0)
			return;
	}
	env_set(config, "PATH", DEFAULT_PATH);
}

/* The shell form ("echo hi") becomes Shell + [line]; the JSON form is kept. */
static json_t *command(const struct build_config_ctx *c, const struct df_inst *i)
{
	json_t *out = json_array();
	if (!i->json) {
		json_t *shell = json_object_get(c->config, "Shell");
		if (json_is_array(shell) && json_array_size(shell)) {
			json_array_extend(out, shell);
		} else {
			json_array_append_new(out, json_string("/bin/sh"));
			json_array_append_new(out, json_string("-c"));
		}
	}
	for (char **a = i->args; a && *a; a++)
		json_array_append_new(out, json_string(*a));
	return out;
}

static int pairs(struct build_config_ctx *c, const struct df_inst *i, bool label, char **commit,
		 struct arca_error **err)
{
	*commit = xstrdup(label ? "LABEL" : "ENV");
	for (size_t k = 0; i->args[k] && i->args[k + 1]; k += 2) {
		_cleanup_free_ char *key = NULL, *value = NULL;
		int r = expand(c, i->args[k], &key, err);
		if (r >= 0)
			r = expand(c, i->args[k + 1], &value, err);
		if (r < 0)
			return r;
		if (!key[0])
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s names can not be blank", label ? "LABEL" : "ENV");
		if (label)
			json_object_set_new(object_member(c->config, "Labels"), key,
					    json_string(value));
		else
			env_set(c->config, key, value);
		strappendf(commit, " %s=%s", key, value);
	}
	return 0;
}

/* nat.ParsePortSpecs for EXPOSE: "80", "80/udp", "8000-8002", "ip:host:ctr/proto". */
static int expose_one(json_t *ports, const char *spec, struct arca_error **err)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	char *proto = strchr(copy, '/');
	if (proto)
		*proto++ = '\0';
	const char *p = proto && proto[0] ? proto : "tcp";
	char *port = strrchr(copy, ':'); /* ip:hostPort:containerPort: the container's */
	port = port ? port + 1 : copy;
	char *dash = strchr(port, '-');
	char *endp;
	long lo = strtol(port, &endp, 10), hi;
	if (endp == port || (dash ? endp != dash : *endp) || lo < 0 || lo > 65535)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "Invalid containerPort: %s",
				      port);
	if (dash) {
		hi = strtol(dash + 1, &endp, 10);
		if (endp == dash + 1 || *endp || hi < lo || hi > 65535)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "Invalid containerPort: %s", port);
	} else {
		hi = lo;
	}
	if (strcmp(p, "tcp") && strcmp(p, "udp") && strcmp(p, "sctp"))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid proto: %s", p);
	for (long v = lo; v <= hi; v++) {
		_cleanup_free_ char *k = xasprintf("%ld/%s", v, p);
		json_object_set_new(ports, k, json_object());
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int expose(struct build_config_ctx *c, const struct df_inst *i, char **commit,
		  struct arca_error **err)
{
	if (!i->args[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "EXPOSE requires at least one argument");
	_cleanup_strv_free_ char **raw = strv_copy(i->args);
	qsort(raw, strv_length(raw), sizeof(char *), cmp_str);
	*commit = xstrdup("EXPOSE");
	json_t *ports = object_member(c->config, "ExposedPorts");
	for (char **w = raw; *w; w++) {
		_cleanup_strv_free_ char **ws = NULL;
		int r = shlex_words(*w, c->escape, c->lookup, c->userdata, &ws, err);
		for (char **p = ws; r >= 0 && *p; p++) {
			r = expose_one(ports, *p, err);
			strappendf(commit, " %s", *p);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int volume(struct build_config_ctx *c, const struct df_inst *i, char **commit,
		  struct arca_error **err)
{
	if (!i->args[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "VOLUME requires at least one argument");
	json_t *list = json_array();
	int r = 0;
	for (char **w = i->args; r >= 0 && *w; w++) {
		char *v = NULL;
		r = expand(c, *w, &v, err);
		if (r >= 0 && !v[0])
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					   "VOLUME specified can not be an empty string");
		if (r >= 0)
			json_array_append_new(list, json_string(v));
		free(v);
	}
	if (r >= 0) {
		json_t *vols = object_member(c->config, "Volumes");
		size_t k;
		json_t *v;
		json_array_foreach(list, k, v)
		    json_object_set_new(vols, json_string_value(v), json_object());
		_cleanup_free_ char *l = go_list(list);
		*commit = xasprintf("VOLUME %s", l);
	}
	json_decref(list);
	return r;
}

/* The one string of USER, WORKDIR, STOPSIGNAL, expanded. */
static int one_string(struct build_config_ctx *c, const struct df_inst *i, const char *what,
		      char **ret, struct arca_error **err)
{
	if (!i->args[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s requires exactly one argument", what);
	return expand(c, i->args[0], ret, err);
}

static int workdir(struct build_config_ctx *c, const struct df_inst *i, char **commit,
		   struct arca_error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = one_string(c, i, "WORKDIR", &dir, err);
	if (r < 0)
		return r;
	const char *prev = json_string_value(json_object_get(c->config, "WorkingDir"));
	_cleanup_free_ char *joined =
	    dir[0] == '/' ? xstrdup(dir) : xasprintf("/%s/%s", prev ? prev : "", dir);
	char *clean = path_clean(joined);
	json_object_set_new(c->config, "WorkingDir", json_string(clean));
	*commit = xasprintf("WORKDIR %s", clean);
	free(clean);
	return 0;
}

static int duration_flag(const struct df_inst *i, const char *flag, const char *label, int64_t *ret,
			 struct arca_error **err)
{
	const char *v = df_flag(i, flag);
	*ret = 0;
	if (!v || !v[0])
		return 0;
	if (time_parse_duration(v, ret) < 0)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "time: invalid duration \"%s\"", v);
	if (*ret != 0 && *ret < 1000000)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s \"%s\" cannot be less than 1ms", label, flag);
	return 0;
}

static int healthcheck(struct build_config_ctx *c, const struct df_inst *i, char **commit,
		       char **note, struct arca_error **err)
{
	json_t *prev = json_object_get(c->config, "Healthcheck");
	json_t *ptest = json_object_get(prev, "Test");
	if (json_is_array(ptest) && json_array_size(ptest) &&
	    strcmp(json_string_value(json_array_get(ptest, 0)) ?: "", "NONE") != 0) {
		_cleanup_free_ char *l = go_list(ptest);
		*note = xasprintf("Note: overriding previous HEALTHCHECK: %s\n", l);
	}
	json_t *hc = json_object();
	json_t *test = json_array();
	json_object_set_new(hc, "Test", test);
	int64_t interval = 0, timeout = 0, start = 0, start_int = 0, retries = 0;
	int r = 0;
	if (strcmp(i->args[0], "NONE") == 0) {
		json_array_append_new(test, json_string("NONE"));
	} else {
		if (!i->args[1]) {
			json_decref(hc);
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "Missing command after HEALTHCHECK CMD");
		}
		json_array_append_new(test, json_string(i->json ? "CMD" : "CMD-SHELL"));
		for (char **a = i->args + 1; *a; a++)
			json_array_append_new(test, json_string(*a));
		r = duration_flag(i, "interval", "Interval", &interval, err);
		if (r >= 0)
			r = duration_flag(i, "timeout", "Timeout", &timeout, err);
		if (r >= 0)
			r = duration_flag(i, "start-period", "StartPeriod", &start, err);
		if (r >= 0)
			r = duration_flag(i, "start-interval", "StartInterval", &start_int, err);
		const char *rv = df_flag(i, "retries");
		if (r >= 0 && rv && rv[0]) {
			char *end;
			long long n = strtoll(rv, &end, 10);
			if (*end || end == rv)
				r = arca_error_set(
				    err, EINVAL, ARCA_ERR_INVALID,
				    "strconv.ParseInt: parsing \"%s\": invalid syntax", rv);
			else if (n < 0)
				r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						   "--retries cannot be negative (%lld)", n);
			retries = n;
		}
		if (interval)
			json_object_set_new(hc, "Interval", json_integer(interval));
		if (timeout)
			json_object_set_new(hc, "Timeout", json_integer(timeout));
		if (start)
			json_object_set_new(hc, "StartPeriod", json_integer(start));
		if (start_int)
			json_object_set_new(hc, "StartInterval", json_integer(start_int));
		if (retries)
			json_object_set_new(hc, "Retries", json_integer(retries));
	}
	if (r < 0) {
		json_decref(hc);
		return r;
	}
	_cleanup_free_ char *t = go_quote_list(test);
	_cleanup_free_ char *di = go_duration(interval), *dt = go_duration(timeout),
			    *ds = go_duration(start), *dsi = go_duration(start_int);
	_cleanup_free_ char *qi = go_quote(di), *qt = go_quote(dt), *qs = go_quote(ds),
			    *qsi = go_quote(dsi), *qr = go_quote_rune(retries);
	*commit = xasprintf("HEALTHCHECK &{%s %s %s %s %s %s}", t, qi, qt, qs, qsi, qr);
	json_object_set_new(c->config, "Healthcheck", hc);
	return 0;
}

int build_config_apply(struct build_config_ctx *c, const struct df_inst *i, char **ret_commit,
		       char **ret_note, struct arca_error **err)
{
	*ret_commit = NULL;
	*ret_note = NULL;
	const char *cmd = i->cmd;
	int r = 0;
	if (strcmp(cmd, "env") == 0 || strcmp(cmd, "label") == 0)
		return pairs(c, i, cmd[0] == 'l', ret_commit, err);
	if (strcmp(cmd, "expose") == 0)
		return expose(c, i, ret_commit, err);
	if (strcmp(cmd, "volume") == 0)
		return volume(c, i, ret_commit, err);
	if (strcmp(cmd, "workdir") == 0)
		return workdir(c, i, ret_commit, err);
	if (strcmp(cmd, "healthcheck") == 0)
		return healthcheck(c, i, ret_commit, ret_note, err);
	if (strcmp(cmd, "maintainer") == 0) {
		if (!i->args[0])
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "MAINTAINER requires exactly one argument");
		free(c->author);
		c->author = xstrdup(i->args[0]);
		*ret_commit = xasprintf("MAINTAINER %s", i->args[0]);
		return 0;
	}
	if (strcmp(cmd, "user") == 0 || strcmp(cmd, "stopsignal") == 0) {
		bool user = cmd[0] == 'u';
		_cleanup_free_ char *v = NULL;
		r = one_string(c, i, user ? "USER" : "STOPSIGNAL", &v, err);
		if (r < 0)
			return r;
		if (!user && parse_signal(v, -1) < 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "Invalid signal: %s",
					      v);
		json_object_set_new(c->config, user ? "User" : "StopSignal", json_string(v));
		*ret_commit = xasprintf("%s %s", user ? "USER" : "STOPSIGNAL", v);
		return 0;
	}
	if (strcmp(cmd, "shell") == 0) {
		if (!i->args[0])
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "SHELL requires at least one argument");
		json_t *shell = json_array();
		for (char **a = i->args; *a; a++)
			json_array_append_new(shell, json_string(*a));
		_cleanup_free_ char *l = go_list(shell);
		json_object_set_new(c->config, "Shell", shell);
		*ret_commit = xasprintf("SHELL %s", l);
		return 0;
	}
	if (strcmp(cmd, "onbuild") == 0) {
		/* The trigger as written, run (and expanded) by the stages built on it. */
		const char *expr = i->original + strcspn(i->original, " \t");
		expr += strspn(expr, " \t");
		json_t *ob = json_object_get(c->config, "OnBuild");
		if (!json_is_array(ob)) {
			ob = json_array();
			json_object_set_new(c->config, "OnBuild", ob);
		}
		json_array_append_new(ob, json_string(expr));
		*ret_commit = xasprintf("ONBUILD %s", expr);
		return 0;
	}
	if (strcmp(cmd, "cmd") == 0 || strcmp(cmd, "entrypoint") == 0) {
		bool is_cmd = cmd[0] == 'c';
		json_t *v = command(c, i);
		_cleanup_free_ char *q = go_quote_list(v);
		*ret_commit = xasprintf("%s %s", is_cmd ? "CMD" : "ENTRYPOINT", q);
		if (is_cmd) {
			json_object_set_new(c->config, "Cmd", v);
			c->cmd_set = true;
		} else {
			/* ENTRYPOINT [] clears it; without a CMD of this stage, Cmd goes too. */
			json_object_set_new(c->config, "Entrypoint",
					    json_array_size(v) ? v : json_null());
			if (!json_array_size(v))
				json_decref(v);
			if (!c->cmd_set)
				json_object_set_new(c->config, "Cmd", json_null());
		}
		json_object_set_new(c->config, "ArgsEscaped", json_false());
		return 0;
	}
	return arca_error_set(err, EINVAL, ARCA_ERR_INTERNAL, "not a config step: %s", cmd);
}
