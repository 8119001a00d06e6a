/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image_push(): uploads the layers and the config that the registry lacks,
 * then the manifest. A pulled image is pushed with its original manifest
 * bytes (same digest); an imported, loaded or committed one gets a new OCI
 * manifest built from its stored blobs.
 */
#include "image-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "reference.h"
#include "strv.h"

static void emit(const struct image_remote_opts *o, json_t *msg)
{
	if (o && o->progress)
		o->progress(msg, o->userdata);
	json_decref(msg);
}

int image_push(struct image_store *s, const char *ref, const struct image_remote_opts *o,
	       struct arca_error **err)
{
	_cleanup_free_ char *id = NULL, *body = NULL, *type = NULL;
	_cleanup_free_ char *name = NULL, *hdr = NULL, *done = NULL, *dref = NULL;
	_cleanup_error_ struct arca_error *ignored = NULL;
	struct image_record rec = { 0 };
	struct registry *reg = NULL;
	struct image_ref parsed;
	size_t len = 0;

	int r = image_ref_parse(ref, false, &parsed, err);
	if (r < 0)
		return r;
	r = image_resolve(s, ref, &id, err);
	if (r >= 0)
		r = imagedb_get(s->db, id, &rec, err);
	if (r < 0)
		goto out;
	if (!parsed.tag) {
		r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "push needs a tag, not a digest");
		goto out;
	}
	name = image_ref_name(&parsed);
	hdr = xasprintf("The push refers to repository [%s]", name);
	emit(o, progress_msg(hdr, NULL));

	struct registry_opts ropts = { .push = true, .insecure = o ? o->insecure : NULL };
	if (o)
		ropts.auth = o->auth;
	r = registry_open(&parsed, &ropts, &reg, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < rec.n_layers; i++) {
		char sid[13];
		snprintf(sid, sizeof(sid), "%.12s", rec.layers[i].blob + 7);
		emit(o, progress_msg("Preparing", sid));
	}
	for (size_t i = rec.n_layers; i > 0; i--) {
		const char *blob = rec.layers[i - 1].blob;
		char sid[13];
		bool exists = false;
		snprintf(sid, sizeof(sid), "%.12s", blob + 7);
		r = registry_blob_exists(reg, blob, &exists, err);
		if (r < 0)
			goto out;
		if (exists) {
			emit(o, progress_msg("Layer already exists", sid));
			continue;
		}
		emit(o, progress_msg("Pushing", sid));
		r = registry_push_blob(reg, s->blobs, blob, err);
		if (r < 0)
			goto out;
		emit(o, progress_msg("Pushed", sid));
	}
	r = registry_push_blob(reg, s->blobs, rec.id, err);
	if (r < 0)
		goto out;
	body = store_image_manifest(s, &rec, &len, &type);
	r = registry_put_manifest(reg, parsed.tag, type, body, len, err);
	if (r < 0)
		goto out;
	char digest[DIGEST_STR_LEN];
	sha256_digest(body, len, digest);
	done = xasprintf("%s: digest: %s size: %zu", parsed.tag, digest, len);
	emit(o, progress_msg(done, NULL));
	/* Remember the pushed digest, as Docker does. */
	dref = xasprintf("%s@%s", name, digest);
	if (blobstore_put(s->blobs, body, len, digest, &ignored) >= 0 &&
	    db_begin(s->db, &ignored) >= 0) {
		if (imagedb_set_ref(s->db, dref, id, IMAGE_REF_DIGEST, &ignored) >= 0 &&
		    imagedb_add_manifest(s->db, digest, id, type, &ignored) >= 0)
			(void)db_commit(s->db, &ignored);
		else
			db_rollback(s->db);
	}
	r = 0;
out:
	if (r < 0)
		arca_error_wrap(err, "push `%s`", ref);
	registry_free(reg);
	image_record_done(&rec);
	image_ref_done(&parsed);
	return r;
}
