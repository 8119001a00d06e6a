/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dockerfile instructions for import and commit. The words of ENV and LABEL
 * follow Dockerfile quoting: double quotes (with backslash escapes), single
 * quotes (literal) and backslash escapes outside quotes. Commands take the
 * JSON (exec) form when they parse as a list of strings, otherwise the shell
 * form, as `/bin/sh -c`.
 */
#include "changes.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "cleanup.h"
#include "strv.h"

#define PORT_RANGE_MAX 1024 /* ports one EXPOSE range may add */

/* Splits s into words with Dockerfile quoting. NULL on an unterminated quote. */
static char **split_words(const char *s)
{
	char **words = NULL;
	size_t n = 0, len = strlen(s);
	char *w = xmalloc(len + 1);
	const char *p = s;
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		size_t o = 0;
		while (*p && !isspace((unsigned char)*p)) {
			if (*p == '\\' && p[1]) {
				w[o++] = p[1];
				p += 2;
			} else if (*p == '"' || *p == '\'') {
				char q = *p++;
				while (*p && *p != q) {
					if (q == '"' && *p == '\\' && p[1])
						p++;
					w[o++] = *p++;
				}
				if (!*p) {
					free(w);
					strv_free(words);
					return NULL;
				}
				p++;
			} else {
				w[o++] = *p++;
			}
		}
		words = xrealloc(words, (n + 2) * sizeof(*words));
		words[n++] = xstrndup(w, o);
		words[n] = NULL;
	}
	free(w);
	if (!words)
		words = xnew0(char *, 1);
	return words;
}

/* The JSON form: a list of strings; NULL if rest is not one. */
static json_t *json_form(const char *rest)
{
	if (rest[0] != '[')
		return NULL;
	json_t *v = json_loads(rest, JSON_DECODE_ANY, NULL);
	if (!json_is_array(v))
		goto fail;
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) if (!json_is_string(e)) goto fail;
	return v;
fail:
	json_decref(v);
	return NULL;
}

static json_t *command(const char *rest)
{
	json_t *v = json_form(rest);
	return v ? v : json_pack("[s,s,s]", "/bin/sh", "-c", rest);
}

/* Sets key=value in an Env list, replacing the key's earlier value. */
static void env_set(json_t *config, const char *key, const char *value)
{
	json_t *env = json_object_get(config, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(config, "Env", env);
	}
	size_t klen = strlen(key), i;
	json_t *e;
	_cleanup_free_ char *entry = xasprintf("%s=%s", key, value);
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);
		if (s && strncmp(s, key, klen) == 0 && s[klen] == '=') {
			json_array_set_new(env, i, json_string(entry));
			return;
		}
	}
	json_array_append_new(env, json_string(entry));
}

static json_t *object_member(json_t *config, const char *key)
{
	json_t *o = json_object_get(config, key);
	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(config, key, o);
	}
	return o;
}

/* ENV and LABEL: key=value words, or the legacy "key value with spaces". */
static int pairs(json_t *config, const char *what, const char *rest, struct arca_error **err)
{
	_cleanup_strv_free_ char **words = split_words(rest);
	if (!words)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s: unterminated quote",
				      what);
	if (!words[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s requires arguments", what);
	bool env = strcmp(what, "ENV") == 0;
	if (!strchr(words[0], '=')) {
		/* Legacy form: the first word is the key, the rest of the line its value. */
		const char *v = rest;
		while (isspace((unsigned char)*v))
			v++;
		v += strcspn(v, " \t");
		while (isspace((unsigned char)*v))
			v++;
		if (!*v && env)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "ENV names can not be blank");
		if (env)
			env_set(config, words[0], v);
		else
			json_object_set_new(object_member(config, "Labels"), words[0],
					    json_string(v));
		return 0;
	}
	for (size_t i = 0; words[i]; i++) {
		char *eq = strchr(words[i], '=');
		if (!eq || eq == words[i])
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s: `%s` is not of the form key=value", what,
					      words[i]);
		*eq = '\0';
		if (env)
			env_set(config, words[i], eq + 1);
		else
			json_object_set_new(object_member(config, "Labels"), words[i],
					    json_string(eq + 1));
	}
	return 0;
}

static bool parse_port(const char *s, unsigned *ret, const char **end)
{
	char *e;
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (errno || v == 0 || v > 65535)
		return false;
	*ret = (unsigned)v;
	*end = e;
	return true;
}

/* EXPOSE 80 443/tcp 53/udp 8000-8010: each becomes "port/proto". */
static int expose(json_t *config, const char *rest, struct arca_error **err)
{
	_cleanup_strv_free_ char **words = split_words(rest);
	if (!words || !words[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "EXPOSE requires arguments");
	json_t *ports = object_member(config, "ExposedPorts");
	for (size_t i = 0; words[i]; i++) {
		unsigned lo, hi;
		const char *p;
		const char *proto = "tcp";
		bool ok = parse_port(words[i], &lo, &p);
		hi = lo;
		if (ok && *p == '-')
			ok = parse_port(p + 1, &hi, &p) && hi >= lo && hi - lo < PORT_RANGE_MAX;
		if (ok && *p == '/') {
			proto = p + 1;
			ok = strcasecmp(proto, "tcp") == 0 || strcasecmp(proto, "udp") == 0 ||
			     strcasecmp(proto, "sctp") == 0;
		} else if (ok && *p) {
			ok = false;
		}
		if (!ok)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid containerPort: %s", words[i]);
		for (unsigned port = lo; port <= hi; port++) {
			char key[32];
			snprintf(key, sizeof(key), "%u/%s", port, proto);
			for (char *k = key; *k; k++)
				*k = (char)tolower((unsigned char)*k);
			json_object_set_new(ports, key, json_object());
		}
	}
	return 0;
}

static int volume(json_t *config, const char *rest, struct arca_error **err)
{
	json_t *list = json_form(rest);
	_cleanup_strv_free_ char **words = list ? NULL : split_words(rest);
	if (!list && !words)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "VOLUME: unterminated quote");
	json_t *vols = object_member(config, "Volumes");
	size_t n = list ? json_array_size(list) : strv_length(words);
	int r = 0;
	if (n == 0)
		r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "VOLUME requires arguments");
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *v = list ? json_string_value(json_array_get(list, i)) : words[i];
		if (!v[0])
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					   "VOLUME specified can not be an empty string");
		else
			json_object_set_new(vols, v, json_object());
	}
	json_decref(list);
	return r;
}

static void workdir(json_t *config, const char *rest)
{
	const char *cur = json_string_value(json_object_get(config, "WorkingDir"));
	if (rest[0] == '/' || !cur || !cur[0]) {
		json_object_set_new(config, "WorkingDir",
				    rest[0] == '/' ? json_string(rest) : json_sprintf("/%s", rest));
		return;
	}
	size_t l = strlen(cur);
	json_object_set_new(config, "WorkingDir",
			    json_sprintf("%s%s%s", cur, cur[l - 1] == '/' ? "" : "/", rest));
}

static int apply_one(json_t *config, const char *line, struct arca_error **err)
{
	while (isspace((unsigned char)*line))
		line++;
	if (!*line || *line == '#')
		return 0;
	size_t n = strcspn(line, " \t\r\n");
	_cleanup_free_ char *ins = xstrndup(line, n);
	_cleanup_free_ char *rest = xstrdup(line + n);
	char *r = rest;
	while (isspace((unsigned char)*r))
		r++;
	size_t l = strlen(r);
	while (l && isspace((unsigned char)r[l - 1]))
		r[--l] = '\0';

	if (strcasecmp(ins, "CMD") == 0 || strcasecmp(ins, "ENTRYPOINT") == 0) {
		json_object_set_new(config, strcasecmp(ins, "CMD") == 0 ? "Cmd" : "Entrypoint",
				    command(r));
		return 0;
	}
	if (strcasecmp(ins, "ENV") == 0)
		return pairs(config, "ENV", r, err);
	if (strcasecmp(ins, "LABEL") == 0)
		return pairs(config, "LABEL", r, err);
	if (strcasecmp(ins, "EXPOSE") == 0)
		return expose(config, r, err);
	if (strcasecmp(ins, "VOLUME") == 0)
		return volume(config, r, err);
	static const struct {
		const char *ins, *key;
	} scalars[] = { { "USER", "User" }, { "STOPSIGNAL", "StopSignal" } };
	for (size_t i = 0; i < ELEMENTSOF(scalars); i++) {
		if (strcasecmp(ins, scalars[i].ins) != 0)
			continue;
		if (!*r)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "%s requires an argument", scalars[i].ins);
		json_object_set_new(config, scalars[i].key, json_string(r));
		return 0;
	}
	if (strcasecmp(ins, "WORKDIR") == 0) {
		if (!*r)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "WORKDIR requires an argument");
		workdir(config, r);
		return 0;
	}
	if (strcasecmp(ins, "ONBUILD") == 0) {
		json_t *list = json_object_get(config, "OnBuild");
		if (!json_is_array(list)) {
			list = json_array();
			json_object_set_new(config, "OnBuild", list);
		}
		json_array_append_new(list, json_string(r));
		return 0;
	}
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s is not a valid change command",
			      ins);
}

int image_changes_apply(json_t *config, char *const *changes, struct arca_error **err)
{
	for (size_t i = 0; changes && changes[i]; i++) {
		int r = apply_one(config, changes[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}
