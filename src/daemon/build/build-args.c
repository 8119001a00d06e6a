/* SPDX-License-Identifier: Apache-2.0 */
/* A build's ARGs (see build-args.h). */
#include "build-args.h"

#include <string.h>

#include "alloc.h"
#include "strv.h"

static const char *const builtins[] = {
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
	"ftp_proxy",  "NO_PROXY",   "no_proxy",	   "ALL_PROXY",	  "all_proxy",
};

bool build_args_is_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i], name) == 0)
			return true;
	return false;
}

void build_args_init(struct build_args *a, json_t *given)
{
	*a = (struct build_args){
		.given = json_object(),
		.meta = json_object(),
		.declared = json_object(),
		.referenced = json_object(),
	};
	const char *k;
	json_t *v;
	json_object_foreach(given, k, v)
	{
		if (json_is_string(v) || json_is_null(v))
			json_object_set(a->given, k, v);
	}
}

void build_args_done(struct build_args *a)
{
	json_decref(a->given);
	json_decref(a->meta);
	json_decref(a->declared);
	json_decref(a->referenced);
	*a = (struct build_args){ 0 };
}

/* The request's value for name: a string, or NULL (absent or null). */
static const char *given(const struct build_args *a, const char *name)
{
	return json_string_value(json_object_get(a->given, name));
}

void build_args_add_meta(struct build_args *a, const char *name, const char *dflt)
{
	const char *g = given(a, name);
	const char *v = g ? g : dflt;
	json_object_set_new(a->meta, name, v ? json_string(v) : json_null());
	/* Named by the Dockerfile: not "unused" even if only FROM reads it. */
	json_object_set_new(a->referenced, name, json_true());
}

const char *build_args_meta_lookup(const char *name, void *userdata)
{
	const struct build_args *a = userdata;
	return json_string_value(json_object_get(a->meta, name));
}

void build_args_reset_stage(struct build_args *a)
{
	json_object_clear(a->declared);
}

void build_args_declare(struct build_args *a, const char *name, const char *dflt)
{
	/* A non-null build arg wins; then the default; then, without one, the meta ARG. */
	const char *v = given(a, name);
	if (!v)
		v = dflt;
	if (!v && !dflt)
		v = json_string_value(json_object_get(a->meta, name));
	json_object_set_new(a->declared, name, v ? json_string(v) : json_null());
	json_object_set_new(a->referenced, name, json_true());
}

const char *build_args_value(const struct build_args *a, const char *name)
{
	json_t *d = json_object_get(a->declared, name);
	if (d)
		return json_string_value(d);
	if (build_args_is_builtin(name))
		return given(a, name);
	return NULL;
}

static bool env_has(json_t *env, const char *name)
{
	size_t n = strlen(name), i;
	json_t *e;
	json_array_foreach(env, i, e)
	{
		const char *s = json_string_value(e);
		if (s && strncmp(s, name, n) == 0 && (s[n] == '=' || s[n] == '\0'))
			return true;
	}
	return false;
}

char **build_args_run_env(const struct build_args *a, json_t *env)
{
	char **out = strv_copy(NULL);
	const char *k;
	json_t *v;
	json_object_foreach(a->declared, k, v)
	{
		if (json_is_string(v) && !env_has(env, k))
			out = strv_append_take(out, xasprintf("%s=%s", k, json_string_value(v)));
	}
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		const char *g = given(a, builtins[i]);
		if (g && !json_object_get(a->declared, builtins[i]) && !env_has(env, builtins[i]))
			out = strv_append_take(out, xasprintf("%s=%s", builtins[i], g));
	}
	strv_sort(out);
	return out;
}

char **build_args_run_prefix(const struct build_args *a, char *const *run_env)
{
	if (!run_env || !run_env[0])
		return NULL;
	char **kept = strv_copy(NULL);
	for (char *const *e = run_env; *e; e++) {
		size_t n = strcspn(*e, "=");
		char *name = xstrndup(*e, n);
		if (!build_args_is_builtin(name) || json_object_get(a->declared, name))
			kept = strv_append(kept, *e);
		free(name);
	}
	strv_sort(kept);
	char **out = strv_append_take(NULL, xasprintf("|%zu", strv_length(kept)));
	for (char **k = kept; *k; k++)
		out = strv_append(out, *k);
	strv_free(kept);
	return out;
}

char **build_args_unused(const struct build_args *a)
{
	char **out = strv_copy(NULL);
	const char *k;
	json_t *v;
	json_object_foreach(a->given, k, v)
	{
		if (!build_args_is_builtin(k) && !json_object_get(a->referenced, k))
			out = strv_append(out, k);
	}
	strv_sort(out);
	return out;
}
