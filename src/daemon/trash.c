/* SPDX-License-Identifier: Apache-2.0 */
/* Directories removed off the event loop (see trash.h). */
#include "trash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "daemon.h"
#include "fd-util.h"
#include "log.h"
#include "names.h"
#include "worker.h"

char *trash_path(const char *root)
{
	return xasprintf("%s/trash", root);
}

int trash_init(const char *dir)
{
	int r = rm_rf(dir);
	if (r < 0 && r != -ENOENT)
		log_warn("trash: cannot empty %s: %s", dir, strerror(-r));
	return mkdir(dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* The task owns its path: a done callback would not run for a daemon that stops first. */
static int delete_task(void *arg)
{
	int r = rm_rf(arg);
	if (r < 0 && r != -ENOENT)
		log_warn("trash: cannot delete %s: %s", (char *)arg, strerror(-r));
	free(arg);
	return r;
}

void trash_dir(struct daemon *d, const char *path)
{
	char hex[ID_HEX_LEN + 1];
	id_generate(hex);
	const char *base = strrchr(path, '/');
	char *dst = xasprintf("%s/%s.%.8s", d->trash_dir, base ? base + 1 : path, hex);
	if (rename(path, dst) < 0) {
		/* No trash to move it to (another filesystem, a trash removed): here and now. */
		free(dst);
		int r = rm_rf(path);
		if (r < 0 && r != -ENOENT)
			log_warn("cannot remove %s: %s", path, strerror(-r));
		return;
	}
	if (workers_submit(d->workers, delete_task, NULL, dst) < 0) {
		(void)rm_rf(dst);
		free(dst);
	}
}
