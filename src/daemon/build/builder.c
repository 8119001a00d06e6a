/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A build from request to tags (see builder.h, docs/build.md): the context
 * and the Dockerfile first (their errors are the HTTP status), then the
 * stages in order, each step as dockerd's classic builder prints and
 * records it, then the tags.
 */
#include "builder.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "build-internal.h"
#include "cleanup.h"
#include "event.h"
#include "fd-util.h"
#include "names.h"
#include "reference.h"
#include "strv.h"

#define MAX_STAGES 100

void build_request_done(struct build_request *r)
{
	strv_free(r->tags);
	free(r->dockerfile);
	json_decref(r->buildargs);
	json_decref(r->labels);
	free(r->target);
	strv_free(r->cachefrom);
	strv_free(r->extrahosts);
	free(r->platform);
	json_decref(r->registry_auth);
	strv_free(r->warnings);
	*r = (struct build_request){ 0 };
}

void build_result_done(struct build_result *r)
{
	free(r->image_id);
	strv_free(r->tagged);
	*r = (struct build_result){ 0 };
}

static void short_of(const char *id, char out[SHORT_ID_LEN + 1])
{
	snprintf(out, SHORT_ID_LEN + 1, "%s", id && !strncmp(id, "sha256:", 7) ? id + 7 : "");
}

/* --- pulls, with X-Registry-Config's credentials --- */

struct pull_auth {
	char *user, *pass, *token;
};

static void on_progress(json_t *msg, void *userdata)
{
	out_json(userdata, msg);
}

/* The entry of X-Registry-Config for ref's registry ("host", "https://host", Hub's key). */
static json_t *auth_entry(json_t *map, const struct image_ref *ref)
{
	const char *key;
	json_t *v;
	bool hub = strcmp(ref->domain, "docker.io") == 0;
	json_object_foreach(map, key, v)
	{
		const char *k = key;
		if (!strncmp(k, "https://", 8))
			k += 8;
		else if (!strncmp(k, "http://", 7))
			k += 7;
		size_t n = strcspn(k, "/");
		if ((strlen(ref->domain) == n && !strncmp(k, ref->domain, n)) ||
		    (hub &&
		     (!strncmp(k, "index.docker.io", n) || !strncmp(k, "registry-1.docker.io", n))))
			return v;
	}
	return NULL;
}

static void pull_auth_of(json_t *entry, struct pull_auth *a)
{
	*a = (struct pull_auth){ 0 };
	const char *u = json_string_value(json_object_get(entry, "username"));
	const char *p = json_string_value(json_object_get(entry, "password"));
	const char *t = json_string_value(json_object_get(entry, "identitytoken"));
	const char *basic = json_string_value(json_object_get(entry, "auth"));
	if ((!u || !u[0]) && basic && basic[0]) {
		/* "auth": base64("user:pass") */
		size_t n = strlen(basic);
		_cleanup_free_ unsigned char *out = xmalloc(n + 4);
		int len = EVP_DecodeBlock(out, (const unsigned char *)basic, (int)n);
		while (len > 0 && out[len - 1] == '\0')
			len--;
		if (len > 0) {
			out[len] = '\0';
			char *colon = strchr((char *)out, ':');
			if (colon) {
				a->user = xstrndup((char *)out, (size_t)(colon - (char *)out));
				a->pass = xstrdup(colon + 1);
			}
		}
	} else {
		a->user = u && u[0] ? xstrdup(u) : NULL;
		a->pass = p && p[0] ? xstrdup(p) : NULL;
	}
	a->token = t && t[0] ? xstrdup(t) : NULL;
}

int build_pull(struct builder *b, const char *ref, char **ret_id, struct arca_error **err)
{
	struct image_ref parsed = { 0 };
	int r = image_ref_parse(ref, false, &parsed, err);
	if (r < 0)
		return r;
	struct pull_auth a;
	pull_auth_of(auth_entry(b->req->registry_auth, &parsed), &a);
	image_ref_done(&parsed);
	struct image_remote_opts o = {
		.platform = b->req->platform,
		.auth = { .username = a.user, .password = a.pass, .identity_token = a.token },
		.insecure = b->env->insecure,
		.mirrors = b->env->mirrors,
		.max_downloads = b->env->max_downloads,
		.progress = on_progress,
		.userdata = b,
	};
	r = image_pull(b->store, ref, &o, ret_id, err);
	free(a.user);
	free(a.pass);
	free(a.token);
	return r;
}

/* --- the Dockerfile's shape: meta ARGs, stages, the target --- */

static bool valid_stage_name(const char *s)
{
	if (!islower((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' &&
		    *s != '_' && *s != '.')
			return false;
	return true;
}

static int plan(struct builder *b, struct arca_error **err)
{
	const struct dockerfile *df = b->df;
	size_t k = 0;
	for (; k < df->n_insts && strcmp(df->insts[k].cmd, "from") != 0; k++) {
		if (strcmp(df->insts[k].cmd, "arg") != 0)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "no build stage in current context");
		b->meta = xrealloc(b->meta, (b->n_meta + 1) * sizeof(*b->meta));
		b->meta[b->n_meta++] = &df->insts[k];
	}
	if (k == df->n_insts)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "no build stage in current context");
	for (; k < df->n_insts; k++) {
		const struct df_inst *i = &df->insts[k];
		if (strcmp(i->cmd, "from") == 0) {
			size_t n = strv_length(i->args);
			if ((n != 1 && n != 3) || (n == 3 && strcasecmp(i->args[1], "as") != 0))
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "dockerfile parse error on line %d: FROM "
						      "requires either one or three arguments",
						      i->line);
			if (b->n_stages >= MAX_STAGES)
				return arca_error_set(err, E2BIG, ARCA_ERR_INVALID,
						      "more than %d build stages", MAX_STAGES);
			b->stages = xrealloc(b->stages, (b->n_stages + 1) * sizeof(*b->stages));
			struct build_stage *st = &b->stages[b->n_stages++];
			*st = (struct build_stage){ .from = i };
			if (n == 3) {
				st->name = xstrdup(i->args[2]);
				for (char *c = st->name; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				if (!valid_stage_name(st->name))
					return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
							      "dockerfile parse error on line %d: "
							      "invalid name for build "
							      "stage: \"%s\", name can't start "
							      "with a number or contain "
							      "symbols",
							      i->line, i->args[2]);
				for (size_t s = 0; s + 1 < b->n_stages; s++)
					if (b->stages[s].name &&
					    !strcmp(b->stages[s].name, st->name))
						return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
								      "%s stage name already used",
								      i->args[2]);
			}
			continue;
		}
		struct build_stage *st = &b->stages[b->n_stages - 1];
		st->insts = xrealloc(st->insts, (st->n_insts + 1) * sizeof(*st->insts));
		st->insts[st->n_insts++] = i;
	}
	if (b->req->target && b->req->target[0]) {
		size_t t = 0;
		while (t < b->n_stages &&
		       !(b->stages[t].name && !strcasecmp(b->stages[t].name, b->req->target)))
			t++;
		if (t == b->n_stages)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "target stage \"%s\" could not be found",
					      b->req->target);
		for (size_t s = t + 1; s < b->n_stages; s++) {
			free(b->stages[s].name);
			free(b->stages[s].insts);
		}
		b->n_stages = t + 1;
	}
	/* The request's labels: LABEL steps at the end, sorted, not expanded. */
	_cleanup_strv_free_ char **keys = strv_copy(NULL);
	const char *key;
	json_t *v;
	json_object_foreach(b->req->labels, key, v) keys = strv_append(keys, key);
	strv_sort(keys);
	size_t nl = strv_length(keys);
	if (nl) {
		b->label_insts = xnew0(struct df_inst, nl);
		struct build_stage *last = &b->stages[b->n_stages - 1];
		last->insts = xrealloc(last->insts, (last->n_insts + nl) * sizeof(*last->insts));
		for (size_t l = 0; l < nl; l++) {
			struct df_inst *li = &b->label_insts[l];
			const char *val =
			    json_string_value(json_object_get(b->req->labels, keys[l]));
			li->cmd = xstrdup("label");
			li->original = xasprintf("LABEL %s=%s", keys[l], val ? val : "");
			/* Quoted for the expansion, so the value stays as given. */
			li->args = strv_copy(NULL);
			li->args = strv_append_take(li->args, xasprintf("'%s'", keys[l]));
			_cleanup_free_ char *q = xstrdup("'");
			for (const char *c = val ? val : ""; *c; c++) {
				if (*c == '\'')
					strappendf(&q, "'\"'\"'");
				else
					strappendf(&q, "%c", *c);
			}
			strappendf(&q, "'");
			li->args = strv_append(li->args, q);
			last->insts[last->n_insts++] = li;
		}
		b->n_label_insts = nl;
	}
	b->total = (int)b->n_meta + (int)b->n_stages;
	for (size_t s = 0; s < b->n_stages; s++)
		b->total += (int)b->stages[s].n_insts;
	return 0;
}

/* cachefrom: the images named and every image they were built on. */
static void cache_allowed(struct builder *b)
{
	if (!b->req->cachefrom)
		return;
	b->cache_allowed = json_object();
	b->cache_sources = strv_copy(NULL);
	for (char **ref = b->req->cachefrom; *ref; ref++) {
		char *id = NULL;
		if (image_resolve(b->store, *ref, &id, NULL) < 0)
			continue; /* as dockerd: an unknown one is skipped */
		b->cache_sources = strv_append(b->cache_sources, id);
		for (int depth = 0; id && depth < 10000; depth++) {
			json_object_set_new(b->cache_allowed, id, json_true());
			json_t *info = NULL;
			char *parent = NULL;
			if (image_inspect(b->store, id, &info, NULL) >= 0) {
				const char *p = json_string_value(json_object_get(info, "Parent"));
				parent = p && p[0] && !json_object_get(b->cache_allowed, p)
					     ? xstrdup(p)
					     : NULL;
			}
			json_decref(info);
			free(id);
			id = parent;
		}
		free(id);
	}
}

/* --- steps --- */

static void step_line(struct builder *b, const char *original)
{
	b->step++;
	out_streamf(b, "Step %d/%d : %s", b->step, b->total, original);
	out_stream(b, "\n");
}

/* ARG in a stage: declared, then committed like a config step. */
static int dispatch_arg(struct builder *b, const struct df_inst *i, bool meta,
			struct arca_error **err)
{
	if (!i->args || !i->args[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "ARG requires at least one argument");
	_cleanup_free_ char *text = xstrdup("ARG");
	for (char **w = i->args; *w; w++) {
		char *eq = strchr(*w, '=');
		_cleanup_free_ char *name = eq ? xstrndup(*w, (size_t)(eq - *w)) : xstrdup(*w);
		_cleanup_free_ char *dflt = NULL;
		if (!name[0])
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "ARG names can not be blank");
		if (eq) {
			int r = shlex_word(eq + 1, b->df->escape,
					   meta ? build_args_meta_lookup : step_lookup,
					   meta ? (void *)&b->args : (void *)b, &dflt, err);
			if (r < 0)
				return arca_error_wrap(err, "failed to process \"%s\"", *w);
		}
		if (meta)
			build_args_add_meta(&b->args, name, dflt);
		else
			build_args_declare(&b->args, name, dflt);
		strappendf(&text, " %s%s%s", name, dflt ? "=" : "", dflt ? dflt : "");
	}
	return meta ? 0 : step_commit_config(b, text, false, err);
}

static int dispatch(struct builder *b, const struct df_inst *i, struct arca_error **err)
{
	if (out_cancelled(b))
		return arca_error_set(err, ECANCELED, ARCA_ERR_INTERNAL, "Build cancelled");
	if (strcmp(i->cmd, "arg") == 0)
		return dispatch_arg(b, i, false, err);
	if (strcmp(i->cmd, "run") == 0)
		return step_run(b, i, err);
	if (strcmp(i->cmd, "copy") == 0 || strcmp(i->cmd, "add") == 0)
		return step_copy(b, i, err);
	if (!build_config_only(i->cmd))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "%s isn't allowed here",
				      i->cmd);
	_cleanup_free_ char *text = NULL, *note = NULL;
	int r = build_config_apply(&b->cc, i, &text, &note, err);
	if (r < 0)
		return r;
	if (note)
		out_stream(b, note);
	return step_commit_config(b, text, strcmp(i->cmd, "workdir") == 0, err);
}

/* ONBUILD triggers of the base image, run before the stage's own steps. */
static int triggers(struct builder *b, json_t *onbuild, struct arca_error **err)
{
	size_t n = json_array_size(onbuild);
	if (!n)
		return 0;
	out_streamf(b, "# Executing %zu build trigger", n);
	if (n > 1)
		out_stream(b, "s");
	out_stream(b, "\n");
	size_t k;
	json_t *t;
	json_array_foreach(onbuild, k, t)
	{
		const char *text = json_string_value(t);
		struct dockerfile *df = NULL;
		int r = text ? dockerfile_parse(text, strlen(text), &df, err)
			     : arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "bad ONBUILD trigger");
		if (r >= 0 && df->n_insts != 1)
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "bad ONBUILD trigger: %s",
					   text);
		if (r >= 0 &&
		    (!strcmp(df->insts[0].cmd, "from") || !strcmp(df->insts[0].cmd, "onbuild")))
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					   "%s isn't allowed as an ONBUILD trigger",
					   df->insts[0].cmd);
		if (r >= 0)
			r = dispatch(b, &df->insts[0], err);
		dockerfile_free(df);
		if (r < 0)
			return r;
	}
	return 0;
}

/* FROM: the stage's base (a previous stage, scratch, or an image, pulled if needed). */
static int stage_from(struct builder *b, const struct build_stage *st, struct arca_error **err)
{
	_cleanup_free_ char *base = NULL;
	int r = shlex_word(st->from->args[0], b->df->escape, build_args_meta_lookup, &b->args,
			   &base, err);
	if (r < 0)
		return arca_error_wrap(err, "failed to process \"%s\"", st->from->args[0]);
	if (!base[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "base name (%s) should not be blank", st->from->args[0]);
	free(b->image_id);
	b->image_id = NULL;
	json_t *config = NULL;
	bool found = false;
	for (size_t k = 0; k < b->stage; k++)
		if (b->stages[k].name && !strcasecmp(b->stages[k].name, base)) {
			b->image_id = b->stages[k].image_id ? xstrdup(b->stages[k].image_id) : NULL;
			found = true;
		}
	if (!found && strcasecmp(base, "scratch") != 0) {
		r = b->req->pull ? -ENOENT : image_resolve(b->store, base, &b->image_id, NULL);
		if (r < 0)
			r = build_pull(b, base, &b->image_id, err);
		if (r < 0)
			return r;
	}
	if (b->image_id && (r = image_config(b->store, b->image_id, &config, err)) < 0)
		return r;
	json_t *c = config ? json_deep_copy(config) : json_object();
	json_decref(config);
	build_config_default_path(c);
	if (json_object_get(c, "OpenStdin"))
		json_object_set_new(c, "OpenStdin", json_false());
	if (json_object_get(c, "StdinOnce"))
		json_object_set_new(c, "StdinOnce", json_false());
	json_t *onbuild = json_incref(json_object_get(c, "OnBuild"));
	json_object_del(c, "OnBuild");
	json_decref(b->cc.config);
	free(b->cc.author);
	b->cc = (struct build_config_ctx){
		.config = c, .escape = b->df->escape, .lookup = step_lookup, .userdata = b
	};
	r = triggers(b, onbuild, err);
	json_decref(onbuild);
	if (r < 0)
		return r;
	char s[SHORT_ID_LEN + 1];
	short_of(b->image_id, s);
	out_streamf(b, " ---> %s\n", s);
	return 0;
}

static int run_stages(struct builder *b, struct arca_error **err)
{
	for (char **w = b->req->warnings; w && *w; w++)
		out_streamf(b, "[Warning] %s\n", *w);
	for (char **w = b->df->warnings; w && *w; w++) {
		_cleanup_free_ char *line = xasprintf("%s\n", *w);
		out_stderr(b, line, strlen(line));
	}
	if (b->df->warnings && b->df->warnings[0]) {
		const char *last =
		    "[WARNING]: Empty continuation lines will become errors in a future "
		    "release.\n";
		out_stderr(b, last, strlen(last));
	}
	for (size_t m = 0; m < b->n_meta; m++) {
		step_line(b, b->meta[m]->original);
		int r = dispatch_arg(b, b->meta[m], true, err);
		if (r < 0)
			return r;
	}
	for (b->stage = 0; b->stage < b->n_stages; b->stage++) {
		struct build_stage *st = &b->stages[b->stage];
		build_args_reset_stage(&b->args);
		b->busted = false;
		step_line(b, st->from->original);
		int r = stage_from(b, st, err);
		for (size_t k = 0; r >= 0 && k < st->n_insts; k++) {
			step_line(b, st->insts[k]->original);
			r = dispatch(b, st->insts[k], err);
		}
		step_stage_end(b);
		if (r < 0)
			return r;
		st->image_id = b->image_id ? xstrdup(b->image_id) : NULL;
		if (b->image_id && b->req->aux) {
			json_t *m = json_pack("{s:{s:s}}", "aux", "ID", b->image_id);
			out_json(b, m);
			json_decref(m);
		}
	}
	if (!b->image_id)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "No image was generated. Is your Dockerfile empty?");
	return 0;
}

static int finish(struct builder *b, struct arca_error **err)
{
	_cleanup_strv_free_ char **unused = build_args_unused(&b->args);
	if (unused[0]) {
		_cleanup_free_ char *list = xstrdup("");
		for (char **u = unused; *u; u++)
			strappendf(&list, "%s%s", u == unused ? "" : " ", *u);
		out_streamf(b, "[Warning] One or more build-args [%s] were not consumed\n", list);
	}
	char s[SHORT_ID_LEN + 1];
	short_of(b->image_id, s);
	out_streamf(b, "Successfully built %s\n", s);
	b->res->tagged = strv_copy(NULL);
	for (char **t = b->req->tags; t && *t; t++) {
		int r = image_tag(b->store, b->image_id, *t, err);
		if (r < 0)
			return r;
		b->res->tagged = strv_append(b->res->tagged, *t);
		struct image_ref ref = { 0 };
		_cleanup_free_ char *familiar = NULL;
		if (image_ref_parse(*t, false, &ref, NULL) >= 0)
			familiar = image_ref_familiar_tagged(&ref);
		image_ref_done(&ref);
		out_streamf(b, "Successfully tagged %s\n", familiar ? familiar : *t);
	}
	return 0;
}

static void builder_done(struct builder *b)
{
	step_stage_end(b);
	for (size_t s = 0; s < b->n_stages; s++) {
		free(b->stages[s].name);
		free(b->stages[s].insts);
		free(b->stages[s].image_id);
	}
	free(b->stages);
	free(b->meta);
	for (size_t l = 0; l < b->n_label_insts; l++)
		df_inst_free(&b->label_insts[l]);
	free(b->label_insts);
	json_decref(b->cc.config);
	free(b->cc.author);
	free(b->image_id);
	json_decref(b->cache_allowed);
	strv_free(b->cache_sources);
	build_args_done(&b->args);
	dockerfile_free(b->df);
	build_context_free(b->ctx);
	image_store_close(b->store);
	event_free(b->e);
	buf_done(&b->held);
}

/* Everything before the first output: its errors are the HTTP status. */
static int prepare(struct builder *b, struct arca_error **err)
{
	int r = event_new(&b->e);
	if (r < 0)
		return arca_error_errno(err, -r, "create the build's event loop");
	r = image_store_open(b->env->root, &b->store, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *ctx_dir = xasprintf("%s/context", b->env->dir);
	r = build_context_unpack(ctx_dir, b->env->in_fd, &b->ctx, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *text = NULL, *name = NULL;
	size_t len = 0;
	r = build_context_dockerfile(b->ctx, b->req->dockerfile, &text, &len, &name, err);
	if (r < 0)
		return r;
	r = dockerfile_parse(text, len, &b->df, err);
	if (r < 0) {
		if (err && *err && strncmp((*err)->msg, "dockerfile parse error", 22) != 0)
			arca_error_wrap(err, "failed to parse Dockerfile");
		return r;
	}
	r = build_context_apply_ignore(b->ctx, name, err);
	if (r < 0)
		return r;
	build_args_init(&b->args, b->req->buildargs);
	r = plan(b, err);
	if (r < 0)
		return r;
	cache_allowed(b);
	return 0;
}

int build_run(const struct build_env *env, const struct build_request *req,
	      struct build_result *ret, struct arca_error **err)
{
	struct builder b = { .env = env, .req = req, .res = ret, .quiet = req->quiet };
	*ret = (struct build_result){ 0 };
	int r = prepare(&b, err);
	if (r >= 0)
		r = run_stages(&b, err);
	if (r >= 0)
		r = finish(&b, err);
	if (r >= 0 && b.quiet) {
		b.quiet = false;
		buf_done(&b.held);
		_cleanup_free_ char *line = xasprintf("%s\n", b.image_id);
		out_stream(&b, line);
	} else if (r < 0) {
		out_flush_held(&b);
	}
	if (r >= 0)
		ret->image_id = xstrdup(b.image_id);
	builder_done(&b);
	return r;
}
