/* SPDX-License-Identifier: Apache-2.0 */
/* ADD <url> (see build-fetch.h). */
#include "build-fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"

#define MAX_BODY_IN_ERROR 512
#define MAX_DOWNLOAD	  (64LL << 30)

struct sink {
	int fd;
	long long size;
	int error;
	char *disposition; /* from Content-Disposition */
};

static size_t on_data(char *p, size_t size, size_t n, void *userdata)
{
	struct sink *k = userdata;
	size_t len = size * n;
	k->size += (long long)len;
	if (k->size > MAX_DOWNLOAD || loop_write(k->fd, p, len) < 0) {
		k->error = k->size > MAX_DOWNLOAD ? EFBIG : errno;
		return 0;
	}
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
	struct sink *k = userdata;
	size_t len = size * n;
	static const char key[] = "content-disposition:";
	if (len > sizeof(key) && strncasecmp(p, key, sizeof(key) - 1) == 0) {
		_cleanup_free_ char *line = xstrndup(p, len);
		char *f = strcasestr(line, "filename=");
		if (f) {
			f += 9;
			if (*f == '"')
				f++;
			size_t l = strcspn(f, "\";\r\n");
			free(k->disposition);
			k->disposition = xstrndup(f, l);
		}
	}
	return len;
}

/* The URL path's last segment, without query or fragment; NULL when empty. */
static char *url_name(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	p += strcspn(p, "/?#");
	if (*p != '/')
		return NULL;
	size_t len = strcspn(p, "?#");
	_cleanup_free_ char *path = xstrndup(p, len);
	char *slash = strrchr(path, '/');
	return slash && slash[1] ? xstrdup(slash + 1) : NULL;
}

/* A name from a server or a URL may not climb or hold a slash. */
static char *safe_name(char *name)
{
	if (name &&
	    (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)) {
		free(name);
		return NULL;
	}
	return name;
}

int build_fetch(const char *url, const char *dir, struct build_fetch *ret, struct arca_error **err)
{
	*ret = (struct build_fetch){ 0 };
	_cleanup_free_ char *path = xasprintf("%s/download-XXXXXX", dir);
	struct sink k = { .fd = mkostemp(path, O_CLOEXEC) };
	if (k.fd < 0)
		return arca_error_errno(err, errno, "create the download");
	CURL *c = curl_easy_init();
	if (!c) {
		close(k.fd);
		unlink(path);
		return arca_error_set(err, ENOMEM, ARCA_ERR_INTERNAL, "curl");
	}
	char curl_err[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &k);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_off_t mtime = -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_FILETIME_T, &mtime);
	curl_easy_cleanup(c);
	int r = 0;
	if (rc != CURLE_OK)
		r = arca_error_set(err, k.error ? k.error : EIO, ARCA_ERR_INVALID, "Get \"%s\": %s",
				   url, curl_err[0] ? curl_err : curl_easy_strerror(rc));
	else if (status >= 400) {
		_cleanup_free_ char *body = xmalloc(MAX_BODY_IN_ERROR + 1);
		ssize_t n = pread(k.fd, body, MAX_BODY_IN_ERROR, 0);
		body[n > 0 ? n : 0] = '\0';
		r = arca_error_set(err, EIO, ARCA_ERR_INVALID,
				   "failed to GET %s with status %ld: %s", url, status, body);
	}
	if (r >= 0) {
		/* dockerd: the server's Last-Modified, else the zero time. */
		struct timespec ts[2] = { { .tv_sec = mtime > 0 ? (time_t)mtime : 0 },
					  { .tv_sec = mtime > 0 ? (time_t)mtime : 0 } };
		(void)futimens(k.fd, ts);
		(void)fchmod(k.fd, 0600);
	}
	close(k.fd);
	if (r < 0) {
		unlink(path);
		free(k.disposition);
		return r;
	}
	char *name = safe_name(url_name(url));
	if (!name)
		name = safe_name(k.disposition ? xstrdup(k.disposition) : NULL);
	free(k.disposition);
	ret->path = TAKE_PTR(path);
	ret->name = name;
	ret->size = k.size;
	return 0;
}

void build_fetch_done(struct build_fetch *f)
{
	free(f->path);
	free(f->name);
	*f = (struct build_fetch){ 0 };
}
