/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One build step: its cache lookup, what it does (a config change, a RUN,
 * a COPY or ADD), and its commit as an intermediate image whose parent is
 * the previous step's, with the history text dockerd records. The stage's
 * VM starts on the first step that needs one, from the image the stage
 * has reached, and keeps each step's layer on its scratch disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "build-config.h"
#include "build-fetch.h"
#include "build-internal.h"
#include "cleanup.h"
#include "digest.h"
#include "ext4.h"
#include "fd-util.h"
#include "names.h"
#include "strv.h"

#define SCRATCH_SIZE (64ULL << 30) /* sparse: what the stage writes is stored */

/* Mount points and files the step's root gets from the builder, not from the step. */
static const char *const not_in_layers[] = { "proc", "sys", "dev", "etc/hosts", "etc/resolv.conf",
					     NULL };

const char *step_lookup(const char *name, void *userdata)
{
	struct builder *b = userdata;
	size_t n = strlen(name), i;
	json_t *e;
	json_array_foreach(json_object_get(b->cc.config, "Env"), i, e)
	{
		const char *s = json_string_value(e);
		if (s && strncmp(s, name, n) == 0 && s[n] == '=')
			return s + n + 1;
	}
	return build_args_value(&b->args, name);
}

static json_t *shell_of(const struct builder *b)
{
	json_t *shell = json_object_get(b->cc.config, "Shell");
	if (json_is_array(shell) && json_array_size(shell))
		return json_deep_copy(shell);
	return json_pack("[s, s]", "/bin/sh", "-c");
}

char *step_shell_prefix(const struct builder *b)
{
	json_t *shell = shell_of(b);
	char *s = build_words_join(shell);
	json_decref(shell);
	return s;
}

static void short_id(const char *id, char out[SHORT_ID_LEN + 1])
{
	const char *hex = id && strncmp(id, "sha256:", 7) == 0 ? id + 7 : id ? id : "";
	size_t n = strnlen(hex, SHORT_ID_LEN);
	memcpy(out, hex, n);
	out[n] = '\0';
}

/* The cache key: the config the step leaves, with cmd in place of Cmd. */
static char *probe_text(const struct builder *b, json_t *cmd, bool no_entrypoint)
{
	json_t *c = json_deep_copy(b->cc.config);
	json_object_set(c, "Cmd", cmd);
	if (no_entrypoint)
		json_object_del(c, "Entrypoint");
	json_object_del(c, "Image");
	json_object_del(c, "Hostname");
	json_object_del(c, "Domainname");
	if (b->cc.author)
		json_object_set_new(c, "#author", json_string(b->cc.author));
	char *s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(c);
	return s;
}

/* 1 on a hit (printed; the current image is the step's), 0 on a miss. */
static int cache_lookup(struct builder *b, const char *probe, const char *created_by,
			struct arca_error **err)
{
	if (b->req->nocache || b->busted)
		return 0;
	_cleanup_free_ char *id = NULL;
	int r = image_cache_get(b->store, b->image_id ? b->image_id : "", probe, &id, err);
	if (r < 0)
		return r;
	/* With cachefrom, only what those images were built from counts... */
	if (r > 0 && b->cache_allowed && !json_object_get(b->cache_allowed, id)) {
		r = 0;
		free(id);
		id = NULL;
	}
	/* ... or what their history says the step made (a pulled or loaded image). */
	for (char **src = b->cache_sources; r == 0 && src && *src; src++)
		r = image_cache_from(b->store, b->image_id, *src, created_by, b->cc.config, probe,
				     &id, NULL);
	if (r <= 0)
		return r;
	char s[SHORT_ID_LEN + 1];
	short_id(id, s);
	out_stream(b, " ---> Using cache\n");
	out_streamf(b, " ---> %s\n", s);
	free(b->image_id);
	b->image_id = TAKE_PTR(id);
	return 1;
}

/* Commits the step as a new image on the current one; prints its ID. */
static int commit(struct builder *b, int changes_fd, const char *created_by, const char *probe,
		  const char *container, struct arca_error **err)
{
	struct image_commit_opts o = {
		.base_id = b->image_id,
		.config = b->cc.config,
		.author = b->cc.author,
		.container_id = container,
		.created_by = created_by,
		.exclude = (const char *const *)not_in_layers,
		.lazy_disk = true,
		.cache_probe = probe,
	};
	_cleanup_free_ char *id = NULL;
	int r = image_commit(b->store, &o, changes_fd, &id, err);
	if (r < 0)
		return r;
	free(b->image_id);
	b->image_id = TAKE_PTR(id);
	return 0;
}

static void print_id(struct builder *b)
{
	char s[SHORT_ID_LEN + 1];
	short_id(b->image_id, s);
	out_streamf(b, " ---> %s\n", s);
}

static void container_id(char out[SHORT_ID_LEN + 1])
{
	char full[ID_HEX_LEN + 1];
	id_generate(full);
	memcpy(out, full, SHORT_ID_LEN);
	out[SHORT_ID_LEN] = '\0';
}

int step_commit_config(struct builder *b, const char *text, bool one_word, struct arca_error **err)
{
	_cleanup_free_ char *prefix = step_shell_prefix(b);
	_cleanup_free_ char *created_by =
	    xasprintf("%s #(nop) %s%s", prefix, one_word ? "" : " ", text);
	json_t *cmd = shell_of(b);
	if (one_word) {
		_cleanup_free_ char *w = xasprintf("#(nop) %s", text);
		json_array_append_new(cmd, json_string(w));
	} else {
		json_array_append_new(cmd, json_string("#(nop) "));
		json_array_append_new(cmd, json_string(text));
	}
	_cleanup_free_ char *probe = probe_text(b, cmd, false);
	json_decref(cmd);
	int r = cache_lookup(b, probe, created_by, err);
	if (r != 0)
		return r < 0 ? r : 0;
	b->busted = true;
	char cid[SHORT_ID_LEN + 1];
	container_id(cid);
	out_streamf(b, " ---> Running in %s\n", cid);
	r = commit(b, -1, created_by, probe, cid, err);
	if (r < 0)
		return r;
	out_streamf(b, " ---> Removed intermediate container %s\n", cid);
	print_id(b);
	return 0;
}

/* --- the stage's VM --- */

static int find_from(const struct builder *b, const char *id)
{
	for (size_t i = 0; i < b->n_from; i++)
		if (strcmp(b->from_ids[i], id) == 0)
			return (int)i;
	return -1;
}

static int add_from(struct builder *b, const char *id, struct arca_error **err)
{
	if (find_from(b, id) >= 0)
		return 0;
	if (b->n_from >= BUILD_VM_MAX_FROM)
		return arca_error_set(err, E2BIG, ARCA_ERR_INVALID,
				      "a build stage copies from at most %d images",
				      BUILD_VM_MAX_FROM);
	char *disk = NULL;
	int r = image_disk(b->store, id, &disk, err);
	if (r < 0)
		return r;
	b->from_ids[b->n_from] = xstrdup(id);
	b->from_disks[b->n_from++] = disk;
	return 0;
}

/* The images this stage's COPY --from steps name, attached when its VM first boots. */
static void prescan_from(struct builder *b)
{
	const struct build_stage *st = &b->stages[b->stage];
	for (size_t k = 0; k < st->n_insts; k++) {
		const struct df_inst *i = st->insts[k];
		const char *f = df_flag(i, "from");
		if (strcmp(i->cmd, "copy") != 0 || !f || !f[0])
			continue;
		_cleanup_free_ char *v = NULL, *id = NULL;
		if (shlex_word(f, b->df->escape, step_lookup, b, &v, NULL) < 0)
			continue;
		if (step_resolve_from(b, v, false, &id, NULL) > 0)
			(void)add_from(b, id, NULL);
	}
}

static bool vm_cancelled(void *userdata)
{
	return out_cancelled(userdata);
}

static void net_detach(struct builder *b)
{
	if (b->net_on)
		b->env->net->detach(b->env->net_userdata, &b->net);
	b->net = (struct build_vm_net){ .tap_fd = -EBADF };
	b->net_on = false;
}

static int vm_boot(struct builder *b, unsigned layers, struct arca_error **err)
{
	_cleanup_free_ char *vm_id = xasprintf("build-%.12s-%u", b->env->id, ++b->vm_seq);
	/* On the network the build asked for: a NIC for each boot (the daemon's record). */
	if (b->env->net) {
		int r = b->env->net->attach(b->env->net_userdata, vm_id, &b->net, err);
		if (r < 0)
			return r;
		b->net_on = true;
	}
	struct build_vm_config cfg = {
		.id = vm_id,
		.run_dir = b->env->run_dir,
		.kernel = b->env->kernel,
		.initramfs = b->env->initramfs,
		.image_disk = b->vm_base_disk,
		.scratch = b->vm_scratch,
		.layers = layers,
		.n_from = b->n_from,
		.memory_mb = b->req->memory_mb ? b->req->memory_mb : b->env->default_memory_mb,
		.cpus = 1,
		.use_vsock = b->env->use_vsock,
		.accel = b->env->accel,
		.cancelled = vm_cancelled,
		.userdata = b,
		.net_fd = b->net_on ? b->net.tap_fd : -1,
		.net_vhost = b->net.vhost,
		.net_reqs = b->net.reqs,
		.n_net_reqs = b->net_on ? b->net.n_reqs : 0,
	};
	memcpy(cfg.net_mac, b->net.mac, 6);
	for (size_t i = 0; i < b->n_from; i++)
		cfg.from_disks[i] = b->from_disks[i];
	int r = build_vm_start(b->e, &cfg, &b->vm, err);
	if (b->net_on)
		b->env->net->started(b->env->net_userdata, &b->net); /* the VMM has the TAP */
	if (r < 0)
		net_detach(b);
	return r;
}

/* The stage's VM, with the image from_id (when not NULL) attached; *ret_from its index. */
static int ensure_vm(struct builder *b, const char *from_id, int *ret_from, struct arca_error **err)
{
	int r;
	if (!b->vm) {
		if (b->image_id) {
			_cleanup_error_ struct arca_error *derr = NULL;
			r = image_disk(b->store, b->image_id, &b->vm_base_disk, &derr);
			if (r < 0 && !strstr(derr->msg, "has no layers"))
				return arca_error_set(err, derr->code, derr->kind, "%s", derr->msg);
		}
		b->vm_scratch = xasprintf("%s/stage%zu-%u.ext4", b->env->dir, b->stage, b->vm_seq);
		r = ext4_create_writable(b->vm_scratch, SCRATCH_SIZE, err);
		if (r < 0)
			return r;
		prescan_from(b);
		if (from_id && (r = add_from(b, from_id, err)) < 0)
			return r;
		r = vm_boot(b, 0, err);
		if (r < 0)
			return r;
	} else if (from_id && find_from(b, from_id) < 0) {
		/* An image the prescan could not know: boot again with it, same layers. */
		r = add_from(b, from_id, err);
		if (r < 0)
			return r;
		unsigned layers = build_vm_layers(b->vm);
		b->vm = build_vm_free(b->vm);
		net_detach(b);
		r = vm_boot(b, layers, err);
		if (r < 0)
			return r;
	}
	if (ret_from)
		*ret_from = from_id ? find_from(b, from_id) : -1;
	return 0;
}

void step_stage_end(struct builder *b)
{
	b->vm = build_vm_free(b->vm);
	net_detach(b);
	if (b->vm_scratch)
		(void)unlink(b->vm_scratch);
	free(b->vm_scratch);
	free(b->vm_base_disk);
	b->vm_scratch = b->vm_base_disk = NULL;
	for (size_t i = 0; i < b->n_from; i++) {
		free(b->from_ids[i]);
		free(b->from_disks[i]);
		b->from_ids[i] = b->from_disks[i] = NULL;
	}
	b->n_from = 0;
}

/* The step's upper directory as a layer: into a temporary file, then committed. */
static int commit_layer(struct builder *b, const char *created_by, const char *probe,
			const char *container, struct arca_error **err)
{
	_cleanup_close_ int fd = open(b->env->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return arca_error_errno(err, errno, "create the step's layer");
	int r = build_vm_commit(b->vm, fd, err);
	if (r >= 0 && lseek(fd, 0, SEEK_SET) < 0)
		r = arca_error_errno(err, errno, "read the step's layer");
	if (r >= 0)
		r = commit(b, fd, created_by, probe, container, err);
	return r;
}

/* /etc/hosts and /etc/resolv.conf of a step: its network's, or none and the extra hosts. */
static void step_etc(const struct builder *b, char **hosts, char **resolv)
{
	if (b->net_on) {
		*hosts = xstrdup(b->net.hosts ? b->net.hosts : "");
		*resolv = xstrdup(b->net.resolv ? b->net.resolv : "");
		return;
	}
	*hosts = xstrdup("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	for (char **h = b->req->extrahosts; h && *h; h++) {
		const char *colon = strchr(*h, ':');
		if (colon)
			strappendf(hosts, "%s\t%.*s\n", colon + 1, (int)(colon - *h), *h);
	}
	*resolv = xstrdup("# this build step has no network (docs/build.md)\n");
}

/* --- RUN --- */

static void on_run_output(int fd, const uint8_t *data, size_t len, void *userdata)
{
	struct builder *b = userdata;
	if (fd == 2)
		out_stderr(b, data, len);
	else
		out_stdout(b, data, len);
}

int step_run(struct builder *b, const struct df_inst *i, struct arca_error **err)
{
	int r = dockerfile_buildkit_only(i, err);
	if (r < 0)
		return r;
	if (!i->args || !i->args[0])
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "RUN requires at least one argument");
	json_t *cmd = i->json ? json_array() : shell_of(b);
	for (char **a = i->args; *a; a++)
		json_array_append_new(cmd, json_string(*a));
	_cleanup_strv_free_ char **run_env =
	    build_args_run_env(&b->args, json_object_get(b->cc.config, "Env"));
	_cleanup_strv_free_ char **prefix = build_args_run_prefix(&b->args, run_env);
	json_t *save = json_array();
	for (char **p = prefix; p && *p; p++)
		json_array_append_new(save, json_string(*p));
	json_array_extend(save, cmd);
	_cleanup_free_ char *created_by = build_words_join(save);
	_cleanup_free_ char *shown = build_words_join(cmd);
	_cleanup_free_ char *probe = probe_text(b, save, true);
	json_decref(save);
	r = cache_lookup(b, probe, created_by, err);
	if (r != 0) {
		json_decref(cmd);
		return r < 0 ? r : 0;
	}
	b->busted = true;
	char cid[SHORT_ID_LEN + 1];
	container_id(cid);
	out_streamf(b, " ---> Running in %s\n", cid);
	r = ensure_vm(b, NULL, NULL, err);
	_cleanup_free_ char *hosts = NULL, *resolv = NULL;
	step_etc(b, &hosts, &resolv);
	if (r >= 0)
		r = build_vm_new_layer(b->vm, hosts, resolv, err);
	_cleanup_strv_free_ char **argv = strv_copy(NULL);
	size_t k;
	json_t *v;
	json_array_foreach(cmd, k, v) argv = strv_append(argv, json_string_value(v));
	json_decref(cmd);
	_cleanup_strv_free_ char **env = strv_copy(NULL);
	json_array_foreach(json_object_get(b->cc.config, "Env"), k, v)
	{
		if (json_is_string(v))
			env = strv_append(env, json_string_value(v));
	}
	for (char **e = run_env; *e; e++)
		env = strv_append(env, *e);
	int status = 0;
	if (r >= 0) {
		struct build_vm_proc p = {
			.argv = argv,
			.env = env,
			.cwd = json_string_value(json_object_get(b->cc.config, "WorkingDir")),
			.user = json_string_value(json_object_get(b->cc.config, "User")),
		};
		r = build_vm_run(b->vm, &p, on_run_output, b, &status, err);
	}
	if (r >= 0 && status != 0) {
		b->res->exit_code = status;
		return arca_error_set(err, EIO, ARCA_ERR_INVALID,
				      "The command '%s' returned a non-zero code: %d", shown,
				      status);
	}
	if (r >= 0)
		r = commit_layer(b, created_by, probe, cid, err);
	if (r < 0)
		return r;
	out_streamf(b, " ---> Removed intermediate container %s\n", cid);
	print_id(b);
	return 0;
}

/* --- COPY and ADD --- */

int step_resolve_from(struct builder *b, const char *value, bool pull, char **ret_id,
		      struct arca_error **err)
{
	for (size_t k = 0; k < b->stage; k++)
		if (b->stages[k].name && strcasecmp(b->stages[k].name, value) == 0) {
			if (!b->stages[k].image_id)
				return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						      "invalid from flag value %s: the stage has "
						      "no image (FROM scratch)",
						      value);
			*ret_id = xstrdup(b->stages[k].image_id);
			return 1;
		}
	char *end;
	long idx = strtol(value, &end, 10);
	if (value[0] && !*end && idx >= 0) {
		if ((size_t)idx == b->stage)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid from flag value %s: refers to current build "
					      "stage",
					      value);
		if ((size_t)idx > b->stage)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid from flag value %s: index out of bounds",
					      value);
		if (!b->stages[idx].image_id)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid from flag value %s: the stage has no image",
					      value);
		*ret_id = xstrdup(b->stages[idx].image_id);
		return 1;
	}
	int r = image_resolve(b->store, value, ret_id, NULL);
	if (r >= 0)
		return 1;
	if (!pull)
		return 0;
	r = build_pull(b, value, ret_id, err);
	if (r < 0)
		arca_error_wrap(err, "invalid from flag value %s", value);
	return r < 0 ? r : 1;
}

/* path.Join("/", workdir, dest), its trailing slash (or ".") kept as a slash. */
static char *copy_dest(const struct builder *b, const char *dest)
{
	size_t n = strlen(dest);
	bool slash = (n && dest[n - 1] == '/') || strcmp(dest, ".") == 0 ||
		     (n >= 2 && strcmp(dest + n - 2, "/.") == 0);
	if (dest[0] == '/')
		return slash && dest[n - 1] != '/' ? xasprintf("%s/", dest) : xstrdup(dest);
	const char *wd = json_string_value(json_object_get(b->cc.config, "WorkingDir"));
	_cleanup_free_ char *joined = xasprintf("/%s/%s", wd ? wd : "", dest);
	char *out = path_clean(joined);
	if (slash && strcmp(out, "/") != 0)
		strappendf(&out, "/");
	return out;
}

static int fetch_urls(struct builder *b, struct build_source *src, size_t n, const char *dest,
		      struct arca_error **err)
{
	size_t dl = strlen(dest);
	for (size_t k = 0; k < n; k++) {
		if (!src[k].url)
			continue;
		struct build_fetch f;
		int r = build_fetch(src[k].url, b->env->dir, &f, err);
		if (r < 0)
			return r;
		json_t *m =
		    json_pack("{s:s, s:{s:I, s:I}}", "status", "Downloading", "progressDetail",
			      "current", (json_int_t)f.size, "total", (json_int_t)f.size);
		out_json(b, m);
		json_decref(m);
		out_stream(b, "\n");
		if (!f.name && dl && dest[dl - 1] == '/') {
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					   "cannot determine filename for source %s", src[k].url);
			unlink(f.path);
			build_fetch_done(&f);
			return r;
		}
		src[k].file = TAKE_PTR(f.path);
		src[k].name = f.name ? TAKE_PTR(f.name) : xstrdup("__unnamed__");
		build_fetch_done(&f);
	}
	return 0;
}

int step_copy(struct builder *b, const struct df_inst *i, struct arca_error **err)
{
	const char *cmd = strcmp(i->cmd, "add") == 0 ? "ADD" : "COPY";
	int r = dockerfile_buildkit_only(i, err);
	if (r < 0)
		return r;
	_cleanup_strv_free_ char **words = strv_copy(NULL);
	for (char **a = i->args; a && *a; a++) {
		char *w = NULL;
		r = shlex_word(*a, b->df->escape, step_lookup, b, &w, err);
		if (r < 0)
			return arca_error_wrap(err, "failed to process \"%s\"", *a);
		words = strv_append_take(words, w);
	}
	size_t nw = strv_length(words);
	if (nw < 2)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s requires at least two arguments, but only one was "
				      "provided. Destination could not be determined.",
				      cmd);
	_cleanup_free_ char *dest = copy_dest(b, words[nw - 1]);
	_cleanup_free_ char *dest_word = words[nw - 1];
	words[nw - 1] = NULL;
	_cleanup_free_ char *chown = NULL, *from = NULL, *from_id = NULL;
	if (df_flag(i, "chown") && df_flag(i, "chown")[0] &&
	    (r = shlex_word(df_flag(i, "chown"), b->df->escape, step_lookup, b, &chown, err)) < 0)
		return r;
	if (df_flag(i, "from") && df_flag(i, "from")[0]) {
		r = shlex_word(df_flag(i, "from"), b->df->escape, step_lookup, b, &from, err);
		if (r >= 0)
			r = step_resolve_from(b, from, true, &from_id, err);
		if (r < 0)
			return r;
	}
	struct build_source *src = NULL;
	size_t n = 0;
	_cleanup_free_ char *hash = NULL;
	if (from_id) {
		struct sha256 h;
		char d[DIGEST_STR_LEN];
		sha256_init(&h);
		sha256_update(&h, from_id, strlen(from_id));
		for (char **w = words; *w; w++) {
			sha256_update(&h, "\n", 1);
			sha256_update(&h, *w, strlen(*w));
		}
		sha256_final(&h, d);
		hash = xasprintf("from:%s", d + 7);
	} else {
		r = build_context_sources(b->ctx, cmd, words, &src, &n, err);
		if (r >= 0)
			r = fetch_urls(b, src, n, dest, err);
		if (r >= 0 && n > 1 && dest[strlen(dest) - 1] != '/')
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					   "When using %s with more than one source file, the "
					   "destination must be a directory and end with a /",
					   cmd);
		if (r >= 0)
			r = build_context_hash(b->ctx, src, n, &hash, err);
		if (r < 0) {
			build_sources_free(src, n);
			return r;
		}
	}
	_cleanup_free_ char *chown_text = chown ? xasprintf("--chown=%s ", chown) : xstrdup("");
	_cleanup_free_ char *text = xasprintf("%s %s%s in %s ", cmd, chown_text, hash, dest_word);
	_cleanup_free_ char *prefix = step_shell_prefix(b);
	_cleanup_free_ char *created_by = xasprintf("%s #(nop) %s", prefix, text);
	json_t *pcmd = shell_of(b);
	_cleanup_free_ char *w = xasprintf("#(nop) %s", text);
	json_array_append_new(pcmd, json_string(w));
	_cleanup_free_ char *probe = probe_text(b, pcmd, false);
	json_decref(pcmd);
	r = cache_lookup(b, probe, created_by, err);
	if (r != 0) {
		build_sources_free(src, n);
		return r < 0 ? r : 0;
	}
	b->busted = true;
	int from_idx = -1;
	r = ensure_vm(b, from_id, &from_idx, err);
	_cleanup_free_ char *hosts = NULL, *resolv = NULL;
	step_etc(b, &hosts, &resolv);
	if (r >= 0)
		r = build_vm_new_layer(b->vm, hosts, resolv, err);
	_cleanup_close_ int tar = -EBADF;
	_cleanup_strv_free_ char **srcs = NULL;
	if (r >= 0 && !from_id) {
		tar = open(b->env->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (tar < 0)
			r = arca_error_errno(err, errno, "create the copy");
		if (r >= 0)
			r = build_context_tar(b->ctx, src, n, tar, &srcs, err);
		if (r >= 0 && lseek(tar, 0, SEEK_SET) < 0)
			r = arca_error_errno(err, errno, "read the copy");
	} else if (r >= 0) {
		srcs = strv_copy(NULL);
		for (char **s = words; *s; s++)
			srcs = strv_append_take(srcs, xasprintf("%c:%s", chown ? 'r' : 'k', *s));
	}
	build_sources_free(src, n);
	if (r >= 0) {
		struct build_vm_copy c = { .cmd = cmd,
					   .dest = dest,
					   .chown = chown,
					   .from = from_idx,
					   .glob = from_id != NULL,
					   .srcs = srcs };
		r = build_vm_copy(b->vm, tar, &c, err);
	}
	if (r >= 0)
		r = commit_layer(b, created_by, probe, "", err);
	if (r < 0)
		return r;
	print_id(b);
	return 0;
}
