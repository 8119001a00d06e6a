/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct workers owns an eventfd and a mutex-protected list of finished
 * tasks. Each task is one detached thread; when fn returns, the task goes on
 * the finished list and the eventfd is bumped; the loop then calls done().
 */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "event.h"

struct task {
	struct task *next;
	struct workers *w;
	work_fn fn;
	work_done_fn done;
	void *arg;
	int result;
};

/* A task's call into the loop thread (workers_call). */
struct call {
	struct call *next;
	work_fn fn;
	void *arg;
	int result;
	bool done;
};

struct workers {
	int efd;
	struct event_source *src;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	pthread_cond_t called; /* a call was answered */
	struct task *finished;
	struct call *calls; /* waiting for the loop */
	bool closing;	    /* the loop runs no more: calls fail */
	unsigned running;
};

static void *task_main(void *p)
{
	struct task *t = p;
	struct workers *w = t->w;
	t->result = t->fn(t->arg);
	/* All under the lock: once it is let go, workers_free may free w. */
	pthread_mutex_lock(&w->lock);
	t->next = w->finished;
	w->finished = t;
	uint64_t one = 1;
	(void)!write(w->efd, &one, sizeof(one));
	pthread_cond_broadcast(&w->idle); /* workers_free may be waiting for it */
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int on_event(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct workers *w = userdata;
	uint64_t n;
	(void)s;
	(void)revents;
	(void)!read(fd, &n, sizeof(n));
	pthread_mutex_lock(&w->lock);
	struct task *list = w->finished;
	w->finished = NULL;
	struct call *calls = w->calls;
	w->calls = NULL;
	pthread_mutex_unlock(&w->lock);
	/* Tasks' calls first: each waits, blocked, for its answer. */
	for (struct call *c = calls, *next; c; c = next) {
		next = c->next;
		int r = c->fn(c->arg);
		pthread_mutex_lock(&w->lock);
		c->result = r;
		c->done = true;
		pthread_cond_broadcast(&w->called);
		pthread_mutex_unlock(&w->lock);
	}
	while (list) {
		struct task *t = list;
		list = t->next;
		pthread_mutex_lock(&w->lock);
		w->running--;
		pthread_cond_broadcast(&w->idle);
		pthread_mutex_unlock(&w->lock);
		if (t->done)
			t->done(t->arg, t->result);
		free(t);
	}
	return 0;
}

int workers_new(struct event *e, struct workers **ret)
{
	struct workers *w = xnew0(struct workers, 1);
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		free(w);
		return -errno;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->idle, NULL);
	pthread_cond_init(&w->called, NULL);
	int r = event_add_io(e, &w->src, w->efd, EPOLLIN, on_event, w);
	if (r < 0) {
		close(w->efd);
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

struct workers *workers_free(struct workers *w)
{
	if (!w)
		return NULL;
	pthread_mutex_lock(&w->lock);
	/* No loop from here on: what tasks ask of it fails, so they can end. */
	w->closing = true;
	for (struct call *c = w->calls; c; c = c->next) {
		c->result = -ESHUTDOWN;
		c->done = true;
	}
	w->calls = NULL;
	pthread_cond_broadcast(&w->called);
	for (;;) {
		unsigned finished = 0;
		for (struct task *t = w->finished; t; t = t->next)
			finished++;
		if (w->running == finished)
			break;
		pthread_cond_wait(&w->idle, &w->lock);
	}
	while (w->finished) {
		struct task *t = w->finished;
		w->finished = t->next;
		free(t);
	}
	pthread_mutex_unlock(&w->lock);
	w->src = event_source_free(w->src);
	safe_close(w->efd);
	free(w);
	return NULL;
}

int workers_submit(struct workers *w, work_fn fn, work_done_fn done, void *arg)
{
	struct task *t = xnew0(struct task, 1);
	*t = (struct task){ .w = w, .fn = fn, .done = done, .arg = arg };
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Threads must not take the loop's signals. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t th;
	pthread_mutex_lock(&w->lock);
	w->running++;
	pthread_mutex_unlock(&w->lock);
	int r = pthread_create(&th, &attr, task_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		pthread_mutex_lock(&w->lock);
		w->running--;
		pthread_mutex_unlock(&w->lock);
		free(t);
		return -r;
	}
	return 0;
}

unsigned workers_running(const struct workers *w)
{
	return w->running;
}

int workers_call(struct workers *w, work_fn fn, void *arg)
{
	struct call c = { .fn = fn, .arg = arg };
	pthread_mutex_lock(&w->lock);
	if (w->closing) {
		pthread_mutex_unlock(&w->lock);
		return -ESHUTDOWN;
	}
	c.next = w->calls;
	w->calls = &c;
	uint64_t one = 1;
	(void)!write(w->efd, &one, sizeof(one));
	while (!c.done)
		pthread_cond_wait(&w->called, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return c.result;
}
