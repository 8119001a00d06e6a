/* SPDX-License-Identifier: Apache-2.0 */
/* Writable disks made ahead (see spare-disk.h). */
#include "spare-disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "daemon.h"
#include "error.h"
#include "ext4.h"
#include "fd-util.h"
#include "log.h"
#include "names.h"
#include "worker.h"

/* One disk being made by a worker: only the worker touches it until done. */
struct job {
	struct spare_disks *owner;
	char *tmp, *path;
	uint64_t size;
	char *error;
};

struct ready {
	char *path;
	struct ready *next;
};

struct spare_disks {
	struct daemon *d;
	char *dir;
	uint64_t size;
	unsigned count;
	struct ready *ready;
	unsigned n_ready;
	struct job *job; /* one at a time: a CPU is not taken from the containers */
	unsigned failures;
};

#define MAX_FAILURES 3

static void refill(struct spare_disks *s);

static int make(void *arg)
{
	struct job *j = arg;
	struct arca_error *err = NULL;
	int r = ext4_create_writable(j->tmp, j->size, &err);
	if (r >= 0 && rename(j->tmp, j->path) < 0) {
		r = -errno;
		(void)unlink(j->tmp);
		j->error = xasprintf("rename `%s`: %s", j->tmp, strerror(-r));
	} else if (r < 0) {
		j->error = xstrdup(err->msg);
	}
	arca_error_free(err);
	return r;
}

static void job_free(struct job *j)
{
	free(j->tmp);
	free(j->path);
	free(j->error);
	free(j);
}

static void made(void *arg, int result)
{
	struct job *j = arg;
	struct spare_disks *s = j->owner;
	s->job = NULL;
	if (result < 0) {
		/* A daemon that cannot make one now makes them at create, as before. */
		if (++s->failures == MAX_FAILURES)
			log_warn("spare disks: none made ahead any more: %s", j->error);
		job_free(j);
		refill(s);
		return;
	}
	s->failures = 0;
	struct ready *e = xnew0(struct ready, 1);
	e->path = TAKE_PTR(j->path);
	e->next = s->ready;
	s->ready = e;
	s->n_ready++;
	job_free(j);
	refill(s);
}

static void refill(struct spare_disks *s)
{
	if (s->job || s->n_ready >= s->count || s->failures >= MAX_FAILURES)
		return;
	char hex[ID_HEX_LEN + 1];
	id_generate(hex);
	struct job *j = xnew0(struct job, 1);
	j->owner = s;
	j->size = s->size;
	j->tmp = xasprintf("%s/%.16s.tmp", s->dir, hex);
	j->path = xasprintf("%s/%.16s.ext4", s->dir, hex);
	if (workers_submit(s->d->workers, make, made, j) < 0) {
		job_free(j);
		return;
	}
	s->job = j;
}

struct spare_disks *spare_disks_new(struct daemon *d, uint64_t size, unsigned count,
				    struct arca_error **err)
{
	struct spare_disks *s = xnew0(struct spare_disks, 1);
	s->d = d;
	s->size = size;
	s->count = count;
	s->dir = xasprintf("%s/spare-disks", d->cfg.root);
	/* What a previous daemon made may be half made, or of another size. */
	int r = rm_rf(s->dir);
	if ((r < 0 && r != -ENOENT) || mkdir(s->dir, 0700) < 0) {
		arca_error_errno(err, r < 0 && r != -ENOENT ? r : errno, "make `%s`", s->dir);
		return spare_disks_free(s);
	}
	refill(s);
	return s;
}

struct spare_disks *spare_disks_free(struct spare_disks *s)
{
	if (!s)
		return NULL;
	while (s->ready) {
		struct ready *e = s->ready;
		s->ready = e->next;
		free(e->path);
		free(e);
	}
	if (s->job)
		job_free(s->job); /* the workers are done: its callback never comes */
	free(s->dir);
	free(s);
	return NULL;
}

const char *spare_disks_dir(const struct spare_disks *s)
{
	return s->dir;
}

int spare_disks_take(struct spare_disks *s, const char *path, struct arca_error **err)
{
	while (s->ready) {
		struct ready *e = s->ready;
		s->ready = e->next;
		s->n_ready--;
		int r =
		    renameat2(AT_FDCWD, e->path, AT_FDCWD, path, RENAME_NOREPLACE) < 0 ? -errno : 0;
		if (r < 0) {
			log_warn("spare disks: cannot move %s to %s: %s", e->path, path,
				 strerror(-r));
			(void)unlink(e->path);
		}
		free(e->path);
		free(e);
		refill(s);
		if (r >= 0)
			return 0;
	}
	return ext4_create_writable(path, s->size, err);
}
