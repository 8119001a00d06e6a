/* SPDX-License-Identifier: Apache-2.0 */
/* A layer applied in a jail directory on a worker-sized thread (unpack-jail.h). */
#include "unpack-jail.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"

static char parent[] = "/tmp/arca-fuzz-unpack-XXXXXX";

struct job {
	int root_fd, layer_fd;
	const struct unpack_limits *limits;
};

static void *run(void *arg)
{
	struct job *j = arg;
	struct unpack_result res;
	struct arca_error *err = NULL;
	(void)unpack_layer(j->root_fd, j->layer_fd, j->limits, NULL, NULL, &res, &err);
	arca_error_free(err);
	return NULL;
}

void unpack_jail_run(int layer_fd, const struct unpack_limits *limits)
{
	static bool ready;
	if (!ready) {
		if (!mkdtemp(parent))
			abort();
		ready = true;
	}
	char root[sizeof(parent) + 8];
	snprintf(root, sizeof(root), "%s/root", parent);
	(void)rm_rf(root);
	if (mkdir_p(root, 0755) < 0)
		abort();
	struct job j = { .root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
			 .layer_fd = layer_fd,
			 .limits = limits };
	if (j.root_fd < 0)
		abort();
	pthread_attr_t attr;
	pthread_t t;
	if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 8u << 20) != 0 ||
	    pthread_create(&t, &attr, run, &j) != 0 || pthread_join(t, NULL) != 0)
		abort();
	pthread_attr_destroy(&attr);
	close(j.root_fd);
	/* The only entry of the parent is the root: nothing escaped. */
	DIR *d = opendir(parent);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "root"))
			abort();
	closedir(d);
}
