/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image_pull(): reference -> manifest (index -> platform manifest) ->
 * config -> layer blobs (parallel, resumable) -> staging tree -> ext4 disk
 * -> one database transaction. Nothing is recorded until everything is in
 * place, so a pull killed at any point leaves at most verified blobs and
 * resumable partial files behind. Progress follows Docker's JSON messages.
 */
#include "image-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "log.h"
#include "reference.h"
#include "registry.h"
#include "strv.h"
#include "time-util.h"

struct pull {
	struct image_store *s;
	const struct image_remote_opts *o;
	struct image_ref ref;
	struct registry *reg;
	char *top_digest;      /* what the tag points to (index or manifest) */
	char *manifest_digest; /* the platform manifest */
	char *manifest_type;
	struct manifest man;
	struct image_config cfg;
	char *config_text;
	struct blob_job *jobs;
	struct image_layer *layers;
	size_t n;
	uint64_t last_emit_ns;
};

static void emit(struct pull *p, json_t *msg)
{
	if (p->o && p->o->progress)
		p->o->progress(msg, p->o->userdata);
	json_decref(msg);
}

static void short_id(const char *digest, char out[13])
{
	snprintf(out, 13, "%.12s", strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest);
}

static char *human(uint64_t n)
{
	const char *units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	return u == 0 ? xasprintf("%lluB", (unsigned long long)n)
		      : xasprintf("%.4g%s", v, units[u]);
}

static json_t *detail_msg(const char *status, const char *id, uint64_t cur, uint64_t total)
{
	json_t *m = progress_msg(status, id);
	json_object_set_new(
	    m, "progressDetail",
	    json_pack("{s:I, s:I}", "current", (json_int_t)cur, "total", (json_int_t)total));
	/* The bar Docker's daemon also sends, for clients that only print strings. */
	int width = 50, fill = total ? (int)(cur * (uint64_t)width / total) : 0;
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
	bar[width] = '\0';
	_cleanup_free_ char *a = human(cur), *b = human(total);
	json_object_set_new(m, "progress", json_sprintf("[%s] %8s/%s", bar, a, b));
	return m;
}

/* At most ten progress updates a second, across all layers. */
static bool throttle(struct pull *p)
{
	uint64_t now = now_nsec(CLOCK_MONOTONIC);
	if (now - p->last_emit_ns < 100000000ULL)
		return true;
	p->last_emit_ns = now;
	return false;
}

static void on_fetch_progress(struct blob_job *jobs, size_t n, size_t changed, void *userdata)
{
	struct pull *p = userdata;
	struct blob_job *j = &jobs[changed];
	char id[13];
	(void)n;
	short_id(j->digest, id);
	switch (j->state) {
	case BLOB_WAITING: emit(p, progress_msg("Pulling fs layer", id)); break;
	case BLOB_EXISTS: emit(p, progress_msg("Already exists", id)); break;
	case BLOB_DOWNLOADING:
		if (!throttle(p))
			emit(p, detail_msg("Downloading", id, j->done, (uint64_t)j->size));
		break;
	case BLOB_DONE:
		emit(p, progress_msg("Verifying Checksum", id));
		emit(p, progress_msg("Download complete", id));
		break;
	case BLOB_FAILED: break;
	}
}

static void on_extract_progress(size_t index, uint64_t done, uint64_t total, bool finished,
				void *userdata)
{
	struct pull *p = userdata;
	char id[13];
	short_id(p->layers[index].blob, id);
	if (finished) {
		emit(p, progress_msg("Pull complete", id));
		return;
	}
	if (!throttle(p))
		emit(p, detail_msg("Extracting", id, MIN(done, total), total));
}

static void pull_done(struct pull *p)
{
	image_ref_done(&p->ref);
	registry_free(p->reg);
	free(p->top_digest);
	free(p->manifest_digest);
	free(p->manifest_type);
	manifest_done(&p->man);
	image_config_done(&p->cfg);
	free(p->config_text);
	for (size_t i = 0; i < p->n; i++) {
		arca_error_free(p->jobs[i].error);
		free(p->layers[i].diff_id);
		free(p->layers[i].blob);
		free(p->layers[i].media_type);
	}
	free(p->jobs);
	free(p->layers);
}

/* Fetches the manifest the reference names, resolving an index to our platform. */
static int fetch_manifest(struct pull *p, struct arca_error **err)
{
	_cleanup_free_ char *body = NULL, *mt = NULL;
	size_t len;
	char digest[DIGEST_STR_LEN];
	const char *reference = p->ref.digest ? p->ref.digest : p->ref.tag;

	int r = registry_get_manifest(p->reg, reference, &body, &len, &mt, digest, err);
	if (r < 0)
		return r;
	p->top_digest = xstrdup(digest);
	r = manifest_parse(body, len, mt, &p->man, err);
	if (r < 0)
		return r;
	_cleanup_error_ struct arca_error *ignored = NULL;
	char stored[DIGEST_STR_LEN];
	(void)blobstore_put(p->s->blobs, body, len, stored, &ignored);

	if (p->man.kind == MANIFEST_INDEX) {
		struct platform want = { 0 };
		if (p->o && p->o->platform)
			r = platform_parse(p->o->platform, &want, err);
		else
			platform_host(&want);
		const struct descriptor *d = NULL;
		if (r >= 0)
			r = manifest_select(&p->man, &want, &d, err);
		platform_done(&want);
		if (r < 0)
			return r;
		_cleanup_free_ char *child_digest = xstrdup(d->digest);
		manifest_done(&p->man);
		free(body);
		free(mt);
		body = mt = NULL;
		r = registry_get_manifest(p->reg, child_digest, &body, &len, &mt, digest, err);
		if (r < 0)
			return r;
		r = manifest_parse(body, len, mt, &p->man, err);
		if (r < 0)
			return r;
		if (p->man.kind != MANIFEST_IMAGE)
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "manifest %s in the index is itself an index",
					      child_digest);
		(void)blobstore_put(p->s->blobs, body, len, stored, &ignored);
	}
	p->manifest_digest = xstrdup(digest);
	p->manifest_type = xstrdup(p->man.media_type);
	return 0;
}

static int fetch_config(struct pull *p, struct arca_error **err)
{
	struct blob_job job = { .digest = p->man.config.digest, .size = p->man.config.size };
	if (p->man.config.size > (int64_t)CONFIG_MAX_BYTES)
		return arca_error_set(err, EFBIG, ARCA_ERR_INVALID, "image config over 16 MiB");
	int r = registry_fetch_blobs(p->reg, p->s->blobs, &job, 1, NULL, NULL, err);
	arca_error_free(job.error);
	if (r < 0)
		return r;
	size_t len;
	r = blobstore_read(p->s->blobs, p->man.config.digest, CONFIG_MAX_BYTES, &p->config_text,
			   &len, err);
	if (r < 0)
		return r;
	r = image_config_parse(p->config_text, len, &p->cfg, err);
	if (r < 0)
		return r;
	if (p->cfg.n_diff_ids != p->man.n_layers)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "the config lists %zu layers, the manifest %zu",
				      p->cfg.n_diff_ids, p->man.n_layers);
	return 0;
}

static int fetch_layers(struct pull *p, struct arca_error **err)
{
	p->n = p->man.n_layers;
	p->jobs = xnew0(struct blob_job, p->n ? p->n : 1);
	p->layers = xnew0(struct image_layer, p->n ? p->n : 1);
	for (size_t i = 0; i < p->n; i++) {
		p->jobs[i].digest = p->man.layers[i].digest;
		p->jobs[i].size = p->man.layers[i].size;
		p->layers[i].blob = xstrdup(p->man.layers[i].digest);
		p->layers[i].media_type = xstrdup(p->man.layers[i].media_type);
		p->layers[i].size = p->man.layers[i].size;
		p->layers[i].diff_id = xstrdup(p->cfg.diff_ids[i]);
	}
	return registry_fetch_blobs(p->reg, p->s->blobs, p->jobs, p->n, on_fetch_progress, p, err);
}

/* What a source that failed at its manifest left: the next one starts clean. */
static void source_reset(struct pull *p)
{
	p->reg = registry_free(p->reg);
	free(p->top_digest);
	free(p->manifest_digest);
	free(p->manifest_type);
	p->top_digest = p->manifest_digest = p->manifest_type = NULL;
	manifest_done(&p->man);
	p->man = (struct manifest){ 0 };
}

/*
 * Opens the registry that serves the pull and fetches its manifest. Docker
 * Hub's images are asked of its mirrors first, in order, as dockerd does: the
 * first that has the manifest serves the whole pull; one that fails is logged
 * and the next tried, Docker Hub itself last. Docker Hub's credentials never
 * go to a mirror.
 */
static int open_source(struct pull *p, struct registry_opts *ropts, struct arca_error **err)
{
	bool hub = strcmp(p->ref.domain, "docker.io") == 0;
	for (size_t i = 0; hub && p->o && p->o->mirrors && p->o->mirrors[i]; i++) {
		struct registry_opts m = *ropts;
		m.auth = (struct registry_auth){ 0 };
		m.mirror = p->o->mirrors[i];
		_cleanup_error_ struct arca_error *e = NULL;
		if (registry_open(&p->ref, &m, &p->reg, &e) >= 0 && fetch_manifest(p, &e) >= 0)
			return 0;
		log_debug("pull %s: mirror %s: %s", p->ref.path, m.mirror, e ? e->msg : "failed");
		source_reset(p);
	}
	int r = registry_open(&p->ref, ropts, &p->reg, err);
	return r < 0 ? r : fetch_manifest(p, err);
}

/* The tag (or digest) reference and the repo digest to record. */
static void ref_names(struct pull *p, char ***ret_tags, char ***ret_digests)
{
	_cleanup_free_ char *name = image_ref_name(&p->ref);
	char **tags = strv_copy(NULL), **digests = strv_copy(NULL);
	if (p->ref.tag)
		tags = strv_append_take(tags, xasprintf("%s:%s", name, p->ref.tag));
	digests = strv_append_take(digests, xasprintf("%s@%s", name, p->top_digest));
	*ret_tags = tags;
	*ret_digests = digests;
}

int image_pull(struct image_store *s, const char *ref, const struct image_remote_opts *o,
	       char **ret_id, struct arca_error **err)
{
	struct pull p = { .s = s, .o = o };
	_cleanup_strv_free_ char **tags = NULL, **digests = NULL;
	_cleanup_free_ char *from = NULL, *disk = NULL, *prev = NULL, *familiar = NULL;
	_cleanup_free_ char *dmsg = NULL, *smsg = NULL;
	char chain[DIGEST_STR_LEN];
	int r;

	r = image_ref_parse(ref, false, &p.ref, err);
	if (r < 0)
		return r;
	struct registry_opts ropts = { .insecure = o ? o->insecure : NULL };
	if (o) {
		ropts.auth = o->auth;
		ropts.max_parallel = o->max_downloads;
	}
	r = open_source(&p, &ropts, err);
	if (r >= 0) {
		/* As dockerd: nothing is said before the manifest is known to exist. */
		from = xasprintf("Pulling from %s", p.ref.path);
		emit(&p, progress_msg(from, p.ref.tag ? p.ref.tag : p.ref.digest));
		r = fetch_config(&p, err);
	}
	if (r < 0)
		goto out;

	const char *id = p.man.config.digest;
	bool had_image = imagedb_exists(s->db, id);
	r = fetch_layers(&p, err);
	if (r < 0)
		goto out;
	chain_id(p.cfg.diff_ids, p.cfg.n_diff_ids, chain);
	disk = store_disk_path(s, chain);
	if (access(disk, R_OK) != 0 || !store_known_tar_sizes(s, p.layers, p.n)) {
		if (p.n == 0)
			r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "image has no layers");
		else
			r = store_build_disk(s, p.layers, p.n, on_extract_progress, &p, err);
		if (r < 0)
			goto out;
	} else {
		for (size_t i = 0; i < p.n; i++) {
			char sid[13];
			short_id(p.layers[i].blob, sid);
			if (p.jobs[i].state == BLOB_DONE)
				emit(&p, progress_msg("Pull complete", sid));
		}
	}

	int64_t size = 0;
	for (size_t i = 0; i < p.n; i++)
		size += p.layers[i].tar_size;
	struct image_record rec = {
		.id = (char *)id,
		.config = p.config_text,
		.chain_id = chain,
		.manifest_digest = p.manifest_digest,
		.size = size,
		.created = parse_rfc3339(p.cfg.created),
		.layers = p.layers,
		.n_layers = p.n,
	};
	ref_names(&p, &tags, &digests);
	bool up_to_date = had_image && tags[0] &&
			  imagedb_lookup_ref(s->db, tags[0], &prev, NULL) == 0 &&
			  strcmp(prev, id) == 0;
	r = db_begin(s->db, err);
	if (r < 0)
		goto out;
	r = had_image ? 0 : imagedb_put(s->db, &rec, err);
	for (size_t i = 0; r >= 0 && tags[i]; i++)
		r = imagedb_set_ref(s->db, tags[i], id, IMAGE_REF_TAG, err);
	for (size_t i = 0; r >= 0 && digests[i]; i++)
		r = imagedb_set_ref(s->db, digests[i], id, IMAGE_REF_DIGEST, err);
	if (r >= 0)
		r = imagedb_add_manifest(s->db, p.manifest_digest, id, p.manifest_type, err);
	if (r >= 0 && strcmp(p.top_digest, p.manifest_digest) != 0)
		r = imagedb_add_manifest(s->db, p.top_digest, id, MT_OCI_INDEX, err);
	if (r >= 0)
		r = db_commit(s->db, err);
	if (r < 0) {
		db_rollback(s->db);
		goto out;
	}
	familiar = p.ref.tag ? image_ref_familiar_tagged(&p.ref)
			     : image_ref_familiar_digested(&p.ref, p.ref.digest);
	dmsg = xasprintf("Digest: %s", p.top_digest);
	smsg = xasprintf("Status: %s for %s",
			 up_to_date ? "Image is up to date" : "Downloaded newer image", familiar);
	emit(&p, progress_msg(dmsg, NULL));
	emit(&p, progress_msg(smsg, NULL));
	if (ret_id)
		*ret_id = xstrdup(id);
	r = 0;
out:
	if (r < 0)
		arca_error_wrap(err, "pull `%s`", ref);
	pull_done(&p);
	return r;
}
