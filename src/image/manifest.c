/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest, index and config parsing with jansson; everything is checked before use. */
#include "manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "alloc.h"
#include "cleanup.h"
#include "digest.h"
#include "reference.h"
#include "strv.h"

static int bad(struct arca_error **err, const char *what)
{
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid manifest: %s", what);
}

static char *str_or_null(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? xstrdup(s) : NULL;
}

void platform_done(struct platform *p)
{
	free(p->os);
	free(p->arch);
	free(p->variant);
	*p = (struct platform){ 0 };
}

static void descriptor_done(struct descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	platform_done(&d->platform);
	*d = (struct descriptor){ 0 };
}

static int parse_descriptor(json_t *o, struct descriptor *ret, struct arca_error **err)
{
	if (!json_is_object(o))
		return bad(err, "descriptor is not an object");
	const char *digest = json_string_value(json_object_get(o, "digest"));
	json_t *size = json_object_get(o, "size");
	if (!digest || !digest_is_valid(digest))
		return bad(err, "descriptor without a valid sha256 digest");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return bad(err, "descriptor without a valid size");
	ret->digest = xstrdup(digest);
	ret->size = json_integer_value(size);
	ret->media_type = str_or_null(o, "mediaType");
	json_t *plat = json_object_get(o, "platform");
	if (json_is_object(plat)) {
		ret->platform.os = str_or_null(plat, "os");
		ret->platform.arch = str_or_null(plat, "architecture");
		ret->platform.variant = str_or_null(plat, "variant");
	}
	return 0;
}

static int parse_list(json_t *arr, size_t max, struct descriptor **ret, size_t *ret_n,
		      struct arca_error **err)
{
	if (!json_is_array(arr))
		return bad(err, "missing descriptor list");
	size_t n = json_array_size(arr);
	if (n > max)
		return bad(err, "too many entries");
	struct descriptor *d = xnew0(struct descriptor, n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		int r = parse_descriptor(json_array_get(arr, i), &d[i], err);
		if (r < 0) {
			for (size_t j = 0; j <= i; j++)
				descriptor_done(&d[j]);
			free(d);
			return r;
		}
	}
	*ret = d;
	*ret_n = n;
	return 0;
}

int manifest_parse(const char *data, size_t len, const char *content_type, struct manifest *ret,
		   struct arca_error **err)
{
	struct manifest m = { 0 };
	json_error_t jerr;
	int r;

	if (len > MANIFEST_MAX_BYTES)
		return bad(err, "larger than 4 MiB");
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid manifest: %s",
				      jerr.text);
	}
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	json_t *sv = json_object_get(j, "schemaVersion");
	if (!mt && content_type && strncmp(content_type, "application/", 12) == 0)
		mt = content_type;
	if ((json_is_integer(sv) && json_integer_value(sv) == 1) ||
	    (mt &&
	     (strcmp(mt, MT_DOCKER_SCHEMA1) == 0 || strcmp(mt, MT_DOCKER_SCHEMA1_SIGNED) == 0))) {
		json_decref(j);
		return arca_error_set(err, EPROTONOSUPPORT, ARCA_ERR_INVALID,
				      "Docker Image Format v1 and Docker Image manifest version 2, "
				      "schema 1 are not supported: the image must be rebuilt or "
				      "pushed again with a current client");
	}
	if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
		json_decref(j);
		return bad(err, "schemaVersion is not 2");
	}
	bool is_index = json_object_get(j, "manifests") != NULL;
	if (mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0))
		is_index = true;
	else if (mt && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0) {
		/* mt points into j: report before releasing it. */
		r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				   "unsupported manifest media type `%s`", mt);
		json_decref(j);
		return r;
	}
	m.media_type = xstrdup(mt ? mt : is_index ? MT_OCI_INDEX : MT_OCI_MANIFEST);
	if (is_index) {
		m.kind = MANIFEST_INDEX;
		r = parse_list(json_object_get(j, "manifests"), INDEX_MAX_MANIFESTS, &m.manifests,
			       &m.n_manifests, err);
	} else {
		m.kind = MANIFEST_IMAGE;
		r = parse_descriptor(json_object_get(j, "config"), &m.config, err);
		if (r >= 0)
			r = parse_list(json_object_get(j, "layers"), MANIFEST_MAX_LAYERS, &m.layers,
				       &m.n_layers, err);
		for (size_t i = 0; r >= 0 && i < m.n_layers; i++)
			if (!m.layers[i].media_type || !layer_media_type_ok(m.layers[i].media_type))
				r = arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
						   "unsupported layer media type `%s`",
						   m.layers[i].media_type ? m.layers[i].media_type
									  : "(none)");
	}
	json_decref(j);
	if (r < 0) {
		manifest_done(&m);
		return r;
	}
	*ret = m;
	return 0;
}

void manifest_done(struct manifest *m)
{
	free(m->media_type);
	descriptor_done(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_done(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->n_manifests; i++)
		descriptor_done(&m->manifests[i]);
	free(m->manifests);
	*m = (struct manifest){ 0 };
}

bool layer_media_type_ok(const char *mt)
{
	static const char *const ok[] = {
		MT_OCI_LAYER,
		MT_OCI_LAYER_GZIP,
		MT_OCI_LAYER_ZSTD,
		MT_DOCKER_LAYER_GZIP,
		"application/vnd.docker.image.rootfs.diff.tar",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(mt, ok[i]) == 0)
			return true;
	return false;
}

static const char *norm_variant(const char *arch, const char *variant)
{
	if (variant && variant[0])
		return variant;
	if (arch && strcmp(arch, "arm64") == 0)
		return "v8";
	return "";
}

int manifest_select(const struct manifest *index, const struct platform *want,
		    const struct descriptor **ret, struct arca_error **err)
{
	for (size_t i = 0; i < index->n_manifests; i++) {
		const struct descriptor *d = &index->manifests[i];
		const struct platform *p = &d->platform;
		if (!p->os || !p->arch || strcmp(p->os, want->os) != 0 ||
		    strcmp(p->arch, want->arch) != 0)
			continue;
		if (want->variant && strcmp(norm_variant(want->arch, want->variant),
					    norm_variant(p->arch, p->variant)) != 0)
			continue;
		*ret = d;
		return 0;
	}
	_cleanup_free_ char *w = platform_string(want);
	return arca_error_set(err, ENOENT, ARCA_ERR_NOT_FOUND,
			      "no matching manifest for %s in the manifest list entries", w);
}

int platform_parse(const char *s, struct platform *ret, struct arca_error **err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *parts[4] = { 0 };
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (n == 3 || !t[0])
			goto fail;
		parts[n++] = t;
	}
	if (n == 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		for (char *c = parts[i]; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
			      *c == '-'))
				goto fail;
	*ret = (struct platform){ 0 };
	if (n == 1) {
		ret->os = xstrdup("linux");
		ret->arch = xstrdup(parts[0]);
	} else {
		ret->os = xstrdup(parts[0]);
		ret->arch = xstrdup(parts[1]);
		ret->variant = n == 3 ? xstrdup(parts[2]) : NULL;
	}
	/* Docker's aliases. */
	if (strcmp(ret->arch, "x86_64") == 0 || strcmp(ret->arch, "x86-64") == 0) {
		free(ret->arch);
		ret->arch = xstrdup("amd64");
	} else if (strcmp(ret->arch, "aarch64") == 0) {
		free(ret->arch);
		ret->arch = xstrdup("arm64");
	}
	return 0;
fail:
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid platform `%s`", s);
}

void platform_host(struct platform *ret)
{
	struct utsname u;
	const char *arch = "amd64";
	if (uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0)
		arch = "arm64";
	*ret = (struct platform){ .os = xstrdup("linux"), .arch = xstrdup(arch) };
}

char *platform_string(const struct platform *p)
{
	return xasprintf("%s/%s%s%s", p->os ? p->os : "?", p->arch ? p->arch : "?",
			 p->variant ? "/" : "", p->variant ? p->variant : "");
}

int image_config_parse(const char *data, size_t len, struct image_config *ret,
		       struct arca_error **err)
{
	json_error_t jerr;
	struct image_config c = { 0 };

	if (len > CONFIG_MAX_BYTES)
		return arca_error_set(err, EFBIG, ARCA_ERR_INVALID, "image config over 16 MiB");
	c.json = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(c.json)) {
		json_decref(c.json);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid image config: %s",
				      jerr.text);
	}
	json_t *ids = json_object_get(json_object_get(c.json, "rootfs"), "diff_ids");
	if (!json_is_array(ids) || json_array_size(ids) > MANIFEST_MAX_LAYERS) {
		json_decref(c.json);
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid image config: rootfs.diff_ids");
	}
	c.n_diff_ids = json_array_size(ids);
	c.diff_ids = xnew0(char *, c.n_diff_ids + 1);
	for (size_t i = 0; i < c.n_diff_ids; i++) {
		const char *d = json_string_value(json_array_get(ids, i));
		if (!d || !digest_is_valid(d)) {
			image_config_done(&c);
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid image config: diff_id %zu", i);
		}
		c.diff_ids[i] = xstrdup(d);
	}
	c.os = str_or_null(c.json, "os");
	c.arch = str_or_null(c.json, "architecture");
	c.variant = str_or_null(c.json, "variant");
	c.created = str_or_null(c.json, "created");
	*ret = c;
	return 0;
}

void image_config_done(struct image_config *c)
{
	json_decref(c->json);
	strv_free(c->diff_ids);
	free(c->os);
	free(c->arch);
	free(c->variant);
	free(c->created);
	*c = (struct image_config){ 0 };
}

void chain_id(char *const *diff_ids, size_t n, char out[72])
{
	char cur[DIGEST_STR_LEN] = "";
	for (size_t i = 0; i < n; i++) {
		if (i == 0) {
			snprintf(cur, sizeof(cur), "%s", diff_ids[0]);
			continue;
		}
		_cleanup_free_ char *s = xasprintf("%s %s", cur, diff_ids[i]);
		sha256_digest(s, strlen(s), cur);
	}
	memcpy(out, cur, DIGEST_STR_LEN);
}
