/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reference grammar (from distribution/reference):
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain '/'] path-component ['/' path-component]*
 *   domain     := host [':' port]
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*,  separator := [_.] | "__" | "-"+
 *   tag        := [\w][\w.-]{0,127}
 * Normalization: a first component without '.', ':' and not "localhost" (and
 * all lowercase) is not a domain: the domain is docker.io, and a single
 * component there gets "library/". index.docker.io is docker.io.
 */
#include "reference.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"

#define NAME_MAX_TOTAL 255

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool valid_path_component(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		/* A separator: ".", "_", "__" or a run of "-"; then alnum must follow. */
		size_t j = i;
		if (s[i] == '.')
			j = i + 1;
		else if (s[i] == '_')
			j = (i + 1 < n && s[i + 1] == '_') ? i + 2 : i + 1;
		else if (s[i] == '-')
			while (j < n && s[j] == '-')
				j++;
		else
			return false;
		if (j >= n || !is_lower_alnum(s[j]))
			return false;
		i = j;
	}
	return true;
}

static bool valid_domain(const char *s, size_t n)
{
	size_t host_end = n;
	/* An optional :port at the end (IPv6 literals in brackets may hold colons). */
	const char *colon = NULL;
	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return false;
		for (const char *p = s + 1; p < rb; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return false;
		if ((size_t)(rb - s) + 1 < n) {
			if (rb[1] != ':')
				return false;
			colon = rb + 1;
		}
		host_end = (size_t)(rb - s) + 1;
	} else {
		colon = memchr(s, ':', n);
		if (colon)
			host_end = (size_t)(colon - s);
		/* Dot-separated components of [A-Za-z0-9-], not starting or ending with '-'. */
		size_t start = 0;
		if (host_end == 0)
			return false;
		for (size_t i = 0; i <= host_end; i++) {
			if (i == host_end || s[i] == '.') {
				if (i == start || s[start] == '-' || s[i - 1] == '-')
					return false;
				start = i + 1;
				continue;
			}
			if (!isalnum((unsigned char)s[i]) && s[i] != '-')
				return false;
		}
	}
	if (colon) {
		size_t plen = n - (size_t)(colon - s) - 1;
		if (plen == 0 || plen > 5)
			return false;
		for (size_t i = 1; i <= plen; i++)
			if (!isdigit((unsigned char)colon[i]))
				return false;
	}
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128)
		return false;
	if (!isalnum((unsigned char)t[0]) && t[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

bool digest_is_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0)
		return false;
	return is_full_hex_id(d + 7);
}

bool is_full_hex_id(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int invalid(struct arca_error **err, const char *s)
{
	return arca_error_set(err, EINVAL, ARCA_ERR_INVALID, "invalid reference format: `%s`", s);
}

int image_ref_parse(const char *s, bool allow_bare, struct image_ref *ret, struct arca_error **err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	struct image_ref r = { 0 };
	char *digest = NULL, *tag = NULL;

	if (is_full_hex_id(s))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid repository name (%s), cannot specify 64-byte "
				      "hexadecimal strings",
				      s);
	char *at = strchr(copy, '@');
	if (at) {
		*at = '\0';
		digest = at + 1;
		if (!digest_is_valid(digest))
			return invalid(err, s);
	}
	char *slash = strrchr(copy, '/');
	char *colon = strrchr(slash ? slash : copy, ':');
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
		if (!valid_tag(tag))
			return invalid(err, s);
	}
	const char *name = copy;
	if (name[0] == '\0')
		return invalid(err, s);

	/* Split off the domain. */
	const char *first_slash = strchr(name, '/');
	const char *remainder = name;
	_cleanup_free_ char *domain = NULL;
	if (first_slash) {
		size_t dn = (size_t)(first_slash - name);
		bool is_domain = memchr(name, '.', dn) || memchr(name, ':', dn) ||
				 (dn == 9 && strncmp(name, "localhost", 9) == 0);
		for (size_t i = 0; i < dn && !is_domain; i++)
			is_domain = isupper((unsigned char)name[i]);
		if (is_domain) {
			if (!valid_domain(name, dn))
				return invalid(err, s);
			domain = xstrndup(name, dn);
			remainder = first_slash + 1;
		}
	}
	if (!domain || strcmp(domain, "index.docker.io") == 0) {
		free(domain);
		domain = xstrdup("docker.io");
	}
	_cleanup_free_ char *path = NULL;
	if (strcmp(domain, "docker.io") == 0 && !strchr(remainder, '/'))
		path = xasprintf("library/%s", remainder);
	else
		path = xstrdup(remainder);

	for (const char *p = path; *p; p++)
		if (isupper((unsigned char)*p))
			return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
					      "invalid reference format: repository name (%s) "
					      "must be lowercase",
					      path);
	/* Every path component must be valid. */
	for (const char *p = path;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!valid_path_component(p, n))
			return invalid(err, s);
		if (!e)
			break;
		p = e + 1;
	}
	if (strlen(domain) + 1 + strlen(path) > NAME_MAX_TOTAL)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "invalid reference format: repository name must not be "
				      "more than %d characters",
				      NAME_MAX_TOTAL);

	r.domain = TAKE_PTR(domain);
	r.path = TAKE_PTR(path);
	r.tag = tag ? xstrdup(tag) : (!digest && !allow_bare ? xstrdup("latest") : NULL);
	r.digest = digest ? xstrdup(digest) : NULL;
	*ret = r;
	return 0;
}

void image_ref_done(struct image_ref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	*r = (struct image_ref){ 0 };
}

char *image_ref_name(const struct image_ref *r)
{
	return xasprintf("%s/%s", r->domain, r->path);
}

char *image_ref_familiar(const struct image_ref *r)
{
	if (strcmp(r->domain, "docker.io") == 0) {
		if (strncmp(r->path, "library/", 8) == 0 && !strchr(r->path + 8, '/'))
			return xstrdup(r->path + 8);
		return xstrdup(r->path);
	}
	return image_ref_name(r);
}

char *image_ref_familiar_tagged(const struct image_ref *r)
{
	if (!r->tag)
		return NULL;
	_cleanup_free_ char *n = image_ref_familiar(r);
	return xasprintf("%s:%s", n, r->tag);
}

char *image_ref_familiar_digested(const struct image_ref *r, const char *digest)
{
	_cleanup_free_ char *n = image_ref_familiar(r);
	return xasprintf("%s@%s", n, digest);
}

const char *image_ref_registry_host(const struct image_ref *r)
{
	return strcmp(r->domain, "docker.io") == 0 ? "registry-1.docker.io" : r->domain;
}
