/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a registry's answers (registry-parse.h). */
#include "registry-parse.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "cleanup.h"

char *registry_header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	const char *v = line + n + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return xstrndup(v, (size_t)(end - v));
}

/* Reads `key="value"` (or key=value) out of a WWW-Authenticate challenge. */
char *registry_challenge_param(const char *ch, const char *key)
{
	size_t klen = strlen(key);
	const char *p = ch;
	while ((p = strcasestr(p, key))) {
		bool start = p == ch || p[-1] == ' ' || p[-1] == ',';
		if (start && p[klen] == '=') {
			const char *v = p + klen + 1;
			if (*v == '"') {
				const char *e = strchr(v + 1, '"');
				return e ? xstrndup(v + 1, (size_t)(e - v - 1)) : NULL;
			}
			return xstrndup(v, strcspn(v, ", "));
		}
		p += klen;
	}
	return NULL;
}

/* The registry's own words, from a {"errors": [...]} body. */
char *registry_error_text(const char *body, size_t len, long status)
{
	json_error_t jerr;
	json_t *j = json_loadb(body, len, 0, &jerr);
	json_t *errors = json_object_get(j, "errors");
	char *msg = NULL;
	if (json_is_array(errors) && json_array_size(errors) > 0) {
		json_t *e = json_array_get(errors, 0);
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *m = json_string_value(json_object_get(e, "message"));
		if (code || m) {
			_cleanup_free_ char *lc = xstrdup(code ? code : "error");
			for (char *c = lc; *c; c++)
				*c = *c == '_' ? ' ' : (char)tolower((unsigned char)*c);
			msg = xasprintf("%s: %s", lc, m ? m : "");
		}
	}
	json_decref(j);
	return msg ? msg : xasprintf("HTTP status %ld", status);
}

/* Makes an upload Location absolute and appends digest=... */
char *registry_upload_url(const char *base, const char *location, const char *digest)
{
	const char *sep = strchr(location, '?') ? "&" : "?";
	if (strncmp(location, "http://", 7) == 0 || strncmp(location, "https://", 8) == 0)
		return xasprintf("%s%sdigest=%s", location, sep, digest);
	return xasprintf("%s%s%s%sdigest=%s", base, location[0] == '/' ? "" : "/", location, sep,
			 digest);
}

char *registry_token_of(const char *body, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb(body, len, 0, &jerr);
	const char *tok = json_string_value(json_object_get(j, "token"));
	if (!tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	/* It goes into an Authorization header: no line breaks, nothing empty. */
	char *ret = tok && tok[0] && !strpbrk(tok, "\r\n") ? xstrdup(tok) : NULL;
	json_decref(j);
	return ret;
}
