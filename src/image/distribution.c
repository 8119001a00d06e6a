/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DistributionInspect: what a registry holds for a reference, without
 * pulling it. The manifest's descriptor, and the platforms it serves: an
 * index lists them; a single image's come from its config blob, which is
 * fetched (verified by digest) into the store, as dockerd does.
 */
#include "image-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "reference.h"
#include "registry.h"

static json_t *platform_json(const char *os, const char *arch, const char *variant)
{
	json_t *p = json_pack("{s:s, s:s}", "architecture", arch ? arch : "", "os", os ? os : "");
	if (variant && variant[0])
		json_object_set_new(p, "variant", json_string(variant));
	return p;
}

static int config_platform(struct image_store *s, struct registry *reg,
			   const struct descriptor *config, json_t **ret, struct arca_error **err)
{
	if (config->size > (int64_t)CONFIG_MAX_BYTES)
		return arca_error_set(err, EFBIG, ARCA_ERR_INVALID, "image config over 16 MiB");
	struct blob_job job = { .digest = config->digest, .size = config->size };
	int r = registry_fetch_blobs(reg, s->blobs, &job, 1, NULL, NULL, err);
	arca_error_free(job.error);
	if (r < 0)
		return r;
	_cleanup_free_ char *text = NULL;
	size_t len;
	r = blobstore_read(s->blobs, config->digest, CONFIG_MAX_BYTES, &text, &len, err);
	if (r < 0)
		return r;
	struct image_config cfg = { 0 };
	r = image_config_parse(text, len, &cfg, err);
	if (r >= 0)
		*ret = platform_json(cfg.os, cfg.arch, cfg.variant);
	image_config_done(&cfg);
	return r;
}

int image_distribution_inspect(struct image_store *s, const char *ref,
			       const struct image_remote_opts *o, json_t **ret,
			       struct arca_error **err)
{
	struct image_ref parsed = { 0 };
	_cleanup_(registry_freep) struct registry *reg = NULL;
	_cleanup_free_ char *body = NULL, *mt = NULL;
	struct manifest m = { 0 };
	char digest[DIGEST_STR_LEN];
	size_t len = 0;
	json_t *platforms = NULL;

	int r = image_ref_parse(ref, false, &parsed, err);
	if (r < 0)
		return r;
	struct registry_opts ropts = { .insecure = o ? o->insecure : NULL };
	if (o)
		ropts.auth = o->auth;
	r = registry_open(&parsed, &ropts, &reg, err);
	if (r >= 0)
		r = registry_get_manifest(reg, parsed.digest ? parsed.digest : parsed.tag, &body,
					  &len, &mt, digest, err);
	if (r >= 0)
		r = manifest_parse(body, len, mt, &m, err);
	if (r < 0)
		goto out;
	if (m.kind == MANIFEST_INDEX) {
		platforms = json_array();
		for (size_t i = 0; i < m.n_manifests; i++) {
			const struct platform *p = &m.manifests[i].platform;
			json_array_append_new(platforms, platform_json(p->os, p->arch, p->variant));
		}
	} else {
		json_t *p = NULL;
		r = config_platform(s, reg, &m.config, &p, err);
		if (r < 0)
			goto out;
		platforms = json_pack("[o]", p);
	}
	*ret = json_pack("{s:{s:s, s:s, s:I}, s:o}", "Descriptor", "mediaType",
			 m.media_type ? m.media_type : (mt ? mt : ""), "digest", digest, "size",
			 (json_int_t)len, "Platforms", platforms);
out:
	manifest_done(&m);
	image_ref_done(&parsed);
	return r;
}
