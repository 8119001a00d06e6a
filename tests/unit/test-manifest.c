/* SPDX-License-Identifier: Apache-2.0 */
/* src/image/manifest.c: manifests, indexes, configs, platforms, chain IDs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "manifest.h"
#include "tap.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static int parse(const char *s, const char *ct, struct manifest *m, char **msg)
{
	struct arca_error *err = NULL;
	int r = manifest_parse(s, strlen(s), ct, m, &err);
	if (msg)
		*msg = err ? strdup(err->msg) : NULL;
	arca_error_free(err);
	return r;
}

int main(void)
{
	struct manifest m;
	char *msg = NULL;
	const char *image = "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
			    "\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"digest\":\"" D1
			    "\",\"size\":10},\"layers\":[{\"mediaType\":\"" MT_DOCKER_LAYER_GZIP
			    "\",\"digest\":\"" D2 "\",\"size\":20}]}";
	is_int(parse(image, NULL, &m, NULL), 0, "Docker schema 2 manifest");
	is_int(m.kind, MANIFEST_IMAGE, "kind image");
	is_str(m.config.digest, D1, "config digest");
	is_int(m.n_layers, 1, "one layer");
	manifest_done(&m);

	const char *index =
	    "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1,"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":1,"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
	    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":1,"
	    "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}";
	is_int(parse(index, NULL, &m, NULL), 0, "OCI index");
	is_int(m.kind, MANIFEST_INDEX, "kind index");
	const struct descriptor *d = NULL;
	struct platform p = { 0 };
	platform_parse("linux/amd64", &p, NULL);
	ok(manifest_select(&m, &p, &d, NULL) == 0 && strcmp(d->digest, D2) == 0, "amd64 chosen");
	platform_done(&p);
	platform_parse("arm64", &p, NULL);
	ok(manifest_select(&m, &p, &d, NULL) == 0 && strcmp(d->digest, D1) == 0,
	   "bare arm64 means linux/arm64 (v8)");
	platform_done(&p);
	platform_parse("linux/arm64/v8", &p, NULL);
	ok(manifest_select(&m, &p, &d, NULL) == 0 && strcmp(d->digest, D1) == 0, "variant v8");
	platform_done(&p);
	platform_parse("linux/s390x", &p, NULL);
	struct arca_error *err = NULL;
	ok(manifest_select(&m, &p, &d, &err) < 0 && strstr(err->msg, "linux/s390x"),
	   "no match names the platform");
	arca_error_free(err);
	platform_done(&p);
	manifest_done(&m);

	ok(parse("{\"schemaVersion\":1,\"fsLayers\":[]}", NULL, &m, &msg) < 0 &&
	       strstr(msg, "schema 1"),
	   "schema 1 refused clearly");
	free(msg);
	ok(parse("{\"schemaVersion\":2,\"mediaType\":\"application/x-evil\"}", NULL, &m, NULL) < 0,
	   "unknown media type refused");
	ok(parse("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:zz\",\"size\":1},"
		 "\"layers\":[]}",
		 NULL, &m, NULL) < 0,
	   "bad digest refused");
	ok(parse("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":-1},"
		 "\"layers\":[]}",
		 NULL, &m, NULL) < 0,
	   "negative size refused");
	ok(parse("{\"schemaVersion\":2,\"schemaVersion\":2}", NULL, &m, NULL) < 0,
	   "duplicate keys refused");
	ok(parse("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},"
		 "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff."
		 "tar.gzip\",\"digest\":\"" D2 "\",\"size\":1}]}",
		 NULL, &m, &msg) < 0 &&
	       strstr(msg, "unsupported layer media type"),
	   "foreign layers refused");
	free(msg);
	ok(parse("[1,2]", NULL, &m, NULL) < 0, "not an object");

	struct image_config c;
	const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
			  "\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]},\"created\":"
			  "\"2024-01-02T03:04:05Z\"}";
	is_int(image_config_parse(cfg, strlen(cfg), &c, NULL), 0, "config parses");
	is_int(c.n_diff_ids, 2, "two diff ids");
	char chain[72];
	chain_id(c.diff_ids, 1, chain);
	is_str(chain, D1, "chain of one layer is its diff ID");
	chain_id(c.diff_ids, 2, chain);
	char want[DIGEST_STR_LEN];
	sha256_digest(D1 " " D2, strlen(D1 " " D2), want);
	is_str(chain, want, "chain of two layers");
	image_config_done(&c);
	const char *badcfg = "{\"rootfs\":{\"diff_ids\":[\"nope\"]}}";
	ok(image_config_parse(badcfg, strlen(badcfg), &c, NULL) < 0, "bad diff id refused");
	return tap_done();
}
