/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ADD <url>: the host fetches the file (libcurl), as dockerd does, into the
 * build's directory. The file keeps the server's Last-Modified time (the
 * epoch without one); its name is the URL path's last segment, else the
 * Content-Disposition filename, else NULL.
 */
#pragma once

#include "error.h"

struct build_fetch {
	char *path; /* the downloaded file */
	char *name; /* NULL when neither the URL nor the server gives one */
	long long size;
};

int build_fetch(const char *url, const char *dir, struct build_fetch *ret, struct arca_error **err);
void build_fetch_done(struct build_fetch *f);
