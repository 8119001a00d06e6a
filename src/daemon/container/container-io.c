/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's stdio on the host: the json-file log writer, attached
 * clients (hijacked connections, stdcopy framing without a TTY), and log
 * readers (docker logs, with follow).
 *
 * Flow control: output is taken from the guest only when every attached
 * client has room (a slow attach client slows the container, as with
 * dockerd); log followers read the log file, never the live stream, so a
 * slow `docker logs -f` costs the container nothing and memory stays bounded.
 */
#include "container-io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "detach-keys.h"
#include "cleanup.h"
#include "daemon.h"
#include "events.h"
#include "fd-util.h"
#include "guest-client.h"
#include "log-config.h"
#include "log.h"
#include "stdcopy.h"
#include "stream.h"
#include "strv.h"

#define LOG_LINE_MAX (16 * 1024) /* as Docker: longer lines are split */

struct log_follower;

/*
 * How many times the log was rotated, shared by the writer and its
 * followers (which may outlive it): a follower at the end of its file knows
 * from it which file comes next.
 */
struct log_gen {
	unsigned refs;
	uint64_t n;
};

struct log_writer {
	int fd;
	struct buf partial[3]; /* per stream, bytes after the last newline */
	struct log_follower *followers;
	bool closed;
	struct log_config cfg;
	uint64_t size;
	struct log_gen *gen;
};

struct attach {
	struct attach *next;
	struct container *c;
	struct stream *stream;
	bool in, out, err;
	bool tty;
	struct detach_keys detach;
	struct buf pending_in; /* stdin waiting for guest credit */
	bool client_eof;
};

struct log_follower {
	struct log_follower *next;
	struct container *c; /* NULL once the container is gone */
	struct stream *stream;
	int fd;
	off_t off;
	struct logs_opts opts;
	bool tty;
	bool follow;
	bool ended; /* the container stopped: finish at EOF */
	struct buf line;
	char *path;	     /* the current log file's path */
	struct log_gen *gen; /* NULL: no rotation to follow */
	uint64_t at_gen;     /* the rotation count when its file was the current one */
	char **older;	     /* rotated files still to read, oldest first */
};

static struct log_gen *gen_ref(struct log_gen *g)
{
	if (g)
		g->refs++;
	return g;
}

static void gen_unref(struct log_gen *g)
{
	if (g && --g->refs == 0)
		free(g);
}

static char *rotated_path(const char *path, unsigned i)
{
	return xasprintf("%s.%u", path, i);
}

/* --- the log file --- */

int log_writer_open(struct container *c, struct arca_error **err)
{
	if (c->log)
		return 0;
	struct log_config cfg;
	int r = log_config_parse(json_object_get(c->host_config, "LogConfig"), &cfg, err);
	if (r < 0 || cfg.none)
		return r; /* --log-driver none: output goes to attached clients only */
	int fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return arca_error_errno(err, errno, "open log `%s`", c->log_path);
	struct stat st;
	c->log = xnew0(struct log_writer, 1);
	c->log->fd = fd;
	c->log->cfg = cfg;
	c->log->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	c->log->gen = gen_ref(xnew0(struct log_gen, 1));
	return 0;
}

static void followers_poke(struct container *c);

/*
 * json-file rotation: <log>.N-1 is dropped, each <log>.i becomes <log>.i+1,
 * the log becomes <log>.1 and a new one starts. With max-file 1 the log is
 * replaced. Followers keep their open file and move on by the rotation count.
 */
static void log_rotate(struct container *c, struct log_writer *w)
{
	unsigned keep = w->cfg.max_files;
	followers_poke(c); /* those keeping up finish this file before it moves */
	if (keep <= 1) {
		(void)unlink(c->log_path);
	} else {
		for (unsigned i = keep - 1; i >= 1; i--) {
			_cleanup_free_ char *to = rotated_path(c->log_path, i);
			_cleanup_free_ char *from =
			    i == 1 ? xstrdup(c->log_path) : rotated_path(c->log_path, i - 1);
			if (rename(from, to) < 0 && errno != ENOENT)
				log_debug("rotate `%s`: %m", from);
		}
	}
	int fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("container %.12s: cannot start a new log file: %m", c->id);
		return; /* keep writing to the old one rather than lose output */
	}
	safe_close(w->fd);
	w->fd = fd;
	w->size = 0;
	w->gen->n++;
}

void log_writer_close(struct container *c)
{
	struct log_writer *w = c->log;
	if (!w)
		return;
	/* A partial last line was written by the caller that wanted it (log_partial_lines). */
	for (int s = 1; s <= 2; s++)
		buf_done(&w->partial[s]);
	safe_close(w->fd);
	gen_unref(w->gen);
	/* Followers keep reading to the end, then finish. */
	for (struct log_follower *f = w->followers; f; f = f->next)
		f->ended = true;
	w->closed = true;
	followers_poke(c);
	struct log_follower *list = w->followers;
	w->followers = NULL;
	/* They no longer point at the writer; they own themselves until done. */
	for (struct log_follower *f = list, *n; f; f = n) {
		n = f->next;
		f->next = NULL;
		f->c = NULL;
	}
	free(w);
	c->log = NULL;
}

static void log_entry(struct container *c, struct log_writer *w, int stream, const char *p,
		      size_t n)
{
	_cleanup_free_ char *ts = time_now_rfc3339();
	json_t *j = json_pack("{s:s%, s:s, s:s}", "log", p, n, "stream",
			      stream == 2 ? "stderr" : "stdout", "time", ts);
	_cleanup_free_ char *line = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	if (!line)
		return;
	size_t len = strlen(line);
	line[len] = '\n';
	if (w->cfg.max_size && w->size > 0 && w->size + len + 1 > w->cfg.max_size)
		log_rotate(c, w);
	if (loop_write(w->fd, line, len + 1) < 0)
		log_debug("log write failed: %m");
	else
		w->size += len + 1;
}

/* Appends output to the log as json-file entries, one per line. */
static void log_append(struct container *c, int stream, const uint8_t *p, size_t n)
{
	struct log_writer *w = c->log;
	if (!w || w->closed)
		return;
	struct buf *part = &w->partial[stream];
	while (n > 0) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) + 1 : n;
		if (buf_len(part) + take > LOG_LINE_MAX && !nl)
			take = LOG_LINE_MAX - buf_len(part);
		buf_append(part, p, take);
		p += take;
		n -= take;
		if (nl || buf_len(part) >= LOG_LINE_MAX) {
			log_entry(c, w, stream, (const char *)buf_peek(part), buf_len(part));
			buf_consume(part, buf_len(part));
		}
	}
	followers_poke(c);
}

/* --- attach --- */

static void attach_free(struct attach *a)
{
	stream_unref(a->stream);
	buf_done(&a->pending_in);
	free(a);
}

static void attach_unlink(struct attach *a)
{
	struct container *c = a->c;
	if (!c)
		return;
	for (struct attach **pa = &c->attaches; *pa; pa = &(*pa)->next)
		if (*pa == a) {
			*pa = a->next;
			break;
		}
	a->c = NULL;
}

static void send_framed(struct attach *a, int stream, const uint8_t *p, size_t n)
{
	(void)stream_write_frame(a->stream, a->tty, stream, p, n);
}

static bool attaches_have_room(struct container *c)
{
	for (struct attach *a = c->attaches; a; a = a->next)
		if (stream_is_full(a->stream))
			return false;
	return true;
}

void container_io_output(struct container *c, int fd)
{
	if (!c->proc)
		return;
	int streams[] = { fd };
	for (size_t k = 0; k < ELEMENTSOF(streams); k++) {
		int s = streams[k];
		for (;;) {
			if (!attaches_have_room(c))
				return; /* resumed from the attach's drain callback */
			const uint8_t *p;
			size_t n = guest_proc_peek(c->proc, s, &p);
			if (n == 0)
				break;
			log_append(c, s, p, n);
			for (struct attach *a = c->attaches; a; a = a->next)
				if ((s == 1 && a->out) || (s == 2 && a->err))
					send_framed(a, s, p, n);
			guest_proc_consume(c->proc, s, n);
		}
	}
}

static void attach_drained(struct stream *s, void *ud)
{
	struct attach *a = ud;
	(void)s;
	if (a->c && a->c->proc) {
		container_io_output(a->c, 1);
		container_io_output(a->c, 2);
	}
}

/* Pushes buffered stdin to the guest as credit allows. */
static void attach_push_stdin(struct attach *a)
{
	struct container *c = a->c;
	while (c && c->proc && !buf_empty(&a->pending_in)) {
		size_t room = guest_proc_stdin_room(c->proc);
		if (room == 0)
			break;
		size_t n = MIN(room, buf_len(&a->pending_in));
		if (guest_proc_write_stdin(c->proc, buf_peek(&a->pending_in), n) < 0) {
			buf_done(&a->pending_in);
			break;
		}
		buf_consume(&a->pending_in, n);
	}
	stream_pause_read(a->stream, buf_len(&a->pending_in) > 64 * 1024);
	/* As dockerd: a client's EOF closes the stdin of a StdinOnce container, unless it
	 * has a terminal (a CLI that detached with its keys just hangs up). */
	if (c && c->proc && a->client_eof && buf_empty(&a->pending_in) && !a->tty &&
	    json_is_true(json_object_get(c->config, "StdinOnce")) && !c->stdin_closed) {
		c->stdin_closed = true;
		(void)guest_proc_close_stdin(c->proc);
	}
}

void container_io_stdin_ready(struct container *c)
{
	for (struct attach *a = c->attaches; a; a = a->next)
		if (a->in)
			attach_push_stdin(a);
}

static void attach_data(struct stream *s, const uint8_t *p, size_t n, void *ud)
{
	struct attach *a = ud;
	(void)s;
	if (!a->in || !a->c)
		return; /* stdin not attached: drop */
	/* The detach sequence (ctrl-p ctrl-q by default) ends the attach, unforwarded. */
	if (detach_keys_feed(&a->detach, p, n, &a->pending_in)) {
		attach_push_stdin(a);
		attach_unlink(a);
		stream_close(a->stream);
		return;
	}
	attach_push_stdin(a);
}

static void attach_eof(struct stream *s, void *ud)
{
	struct attach *a = ud;
	(void)s;
	a->client_eof = true;
	if (a->in && a->c)
		attach_push_stdin(a);
}

static void attach_closed(struct stream *s, void *ud)
{
	struct attach *a = ud;
	(void)s;
	struct container *c = a->c;
	attach_unlink(a);
	attach_free(a);
	/* A gone client no longer holds the output back. */
	if (c && c->proc) {
		container_io_output(c, 1);
		container_io_output(c, 2);
	}
}

static const struct stream_handler attach_handler = {
	.data = attach_data,
	.eof = attach_eof,
	.drained = attach_drained,
	.closed = attach_closed,
};

static void send_logs_then(struct container *c, struct stream *s, bool out, bool err, bool tty);

void container_attach(struct container *c, struct stream *s, const struct attach_opts *o)
{
	bool tty = json_is_true(json_object_get(c->config, "Tty"));
	struct attach *a = xnew0(struct attach, 1);
	a->detach = o->detach;
	a->c = c;
	a->stream = stream_ref(s);
	a->in = o->in && json_is_true(json_object_get(c->config, "OpenStdin"));
	a->out = o->out;
	a->err = o->err;
	a->tty = tty;
	stream_set_handler(s, &attach_handler, a);
	events_container(c->d->events, c, "attach", NULL);
	if (o->logs)
		send_logs_then(c, s, o->out, o->err, tty);
	if (!o->stream ||
	    (!container_is_running(c) && !c->starting && c->state != CONTAINER_CREATED)) {
		/* Nothing more will come: end the stream. */
		stream_end(s);
		attach_unlink(a);
		return;
	}
	a->next = c->attaches;
	c->attaches = a;
	if (a->in)
		attach_push_stdin(a);
}

/* A last line without its newline is written as it is. */
static void log_partial_lines(struct container *c)
{
	struct log_writer *w = c->log;
	if (!w)
		return;
	for (int s = 1; s <= 2; s++)
		if (!buf_empty(&w->partial[s])) {
			log_entry(c, w, s, (const char *)buf_peek(&w->partial[s]),
				  buf_len(&w->partial[s]));
			buf_consume(&w->partial[s], buf_len(&w->partial[s]));
		}
}

void container_io_detach(struct container *c)
{
	log_partial_lines(c);
	while (c->attaches) {
		struct attach *a = c->attaches;
		c->attaches = a->next;
		a->c = NULL;
		stream_end(a->stream);
	}
	log_writer_close(c);
}

void container_io_ended(struct container *c)
{
	/* Deliver what is buffered, whatever the clients' queues: it is bounded by the windows. */
	if (c->proc) {
		for (int s = 1; s <= 2; s++) {
			const uint8_t *p;
			size_t n;
			while ((n = guest_proc_peek(c->proc, s, &p)) > 0) {
				log_append(c, s, p, n);
				for (struct attach *a = c->attaches; a; a = a->next)
					if ((s == 1 && a->out) || (s == 2 && a->err))
						send_framed(a, s, p, n);
				guest_proc_consume(c->proc, s, n);
			}
		}
	}
	container_io_detach(c);
}

/* --- reading logs --- */

static void follower_free(struct log_follower *f)
{
	safe_close(f->fd);
	buf_done(&f->line);
	free(f->path);
	gen_unref(f->gen);
	strv_free(f->older);
	stream_unref(f->stream);
	free(f);
}

static void follower_unlink(struct log_follower *f)
{
	if (!f->c || !f->c->log)
		return;
	for (struct log_follower **pf = &f->c->log->followers; *pf; pf = &(*pf)->next)
		if (*pf == f) {
			*pf = f->next;
			break;
		}
	f->c = NULL;
}

/* Emits one json-file line if it passes the filters. */
static void emit_line(struct log_follower *f, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb(line, len, 0, &jerr);
	const char *text = json_string_value(json_object_get(j, "log"));
	size_t tlen = json_string_length(json_object_get(j, "log"));
	const char *stream = json_string_value(json_object_get(j, "stream"));
	const char *ts = json_string_value(json_object_get(j, "time"));
	if (!text || !stream || !ts) {
		json_decref(j);
		return;
	}
	int s = strcmp(stream, "stderr") == 0 ? 2 : 1;
	int64_t t = time_parse_rfc3339(ts);
	bool pass = (s == 1 ? f->opts.out : f->opts.err) &&
		    (!f->opts.since_ns || t >= f->opts.since_ns) &&
		    (!f->opts.until_ns || t <= f->opts.until_ns);
	if (pass) {
		_cleanup_free_ char *payload = f->opts.timestamps
						   ? xasprintf("%s %.*s", ts, (int)tlen, text)
						   : xmemdup(text, tlen);
		size_t plen = f->opts.timestamps ? strlen(payload) : tlen;
		if (f->tty) {
			(void)stream_write(f->stream, payload, plen);
		} else {
			uint8_t *framed = xmalloc(plen + 8); /* one write: one chunk */
			stdcopy_header(framed, s, (uint32_t)plen);
			memcpy(framed + 8, payload, plen);
			(void)stream_write(f->stream, framed, plen + 8);
			free(framed);
		}
	}
	json_decref(j);
}

/*
 * At the end of a file: opens the next one, from the older rotated files
 * first, then (following) the files the writer started since. False if
 * this is the newest.
 */
static bool follower_next_file(struct log_follower *f)
{
	_cleanup_free_ char *next = NULL;
	if (f->older && f->older[0]) {
		next = xstrdup(f->older[0]);
		free(f->older[0]);
		memmove(f->older, f->older + 1, strv_length(f->older) * sizeof(char *));
	} else if (f->gen && f->gen->n > f->at_gen) {
		uint64_t behind = f->gen->n - f->at_gen - 1;
		f->at_gen++;
		next = behind ? rotated_path(f->path, (unsigned)MIN(behind, LOG_MAX_FILES))
			      : xstrdup(f->path);
	} else {
		return false;
	}
	int fd = open(next, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return f->gen && f->gen->n > f->at_gen; /* dropped meanwhile: try the next */
	safe_close(f->fd);
	f->fd = fd;
	f->off = 0;
	buf_done(&f->line);
	return true;
}

/* Reads and sends what the log has, as long as the client keeps up. */
static void follower_pump(struct log_follower *f)
{
	char chunk[65536];
	while (!stream_is_closed(f->stream) && !stream_is_full(f->stream)) {
		ssize_t n = pread(f->fd, chunk, sizeof(chunk), f->off);
		if (n <= 0)
			break;
		f->off += n;
		buf_append(&f->line, chunk, (size_t)n);
		for (;;) {
			const char *start = (const char *)buf_peek(&f->line);
			const char *nl = memchr(start, '\n', buf_len(&f->line));
			if (!nl)
				break;
			emit_line(f, start, (size_t)(nl - start));
			buf_consume(&f->line, (size_t)(nl - start) + 1);
		}
	}
	if (stream_is_closed(f->stream))
		return;
	if (stream_is_full(f->stream))
		return; /* the drain callback resumes */
	/* At the end of the file: the next one, if there is one. */
	if (follower_next_file(f)) {
		follower_pump(f);
		return;
	}
	if (!f->follow || f->ended) {
		follower_unlink(f);
		stream_set_handler(f->stream, NULL, NULL);
		stream_end(f->stream);
		follower_free(f);
	}
}

static void followers_poke(struct container *c)
{
	if (!c->log)
		return;
	for (struct log_follower *f = c->log->followers, *n; f; f = n) {
		n = f->next;
		follower_pump(f);
	}
}

static void follower_drained(struct stream *s, void *ud)
{
	(void)s;
	follower_pump(ud);
}

static void follower_closed(struct stream *s, void *ud)
{
	struct log_follower *f = ud;
	(void)s;
	follower_unlink(f);
	follower_free(f);
}

static const struct stream_handler follower_handler = {
	.drained = follower_drained,
	.closed = follower_closed,
};

/*
 * The offset where the last `tail` lines of fd start; *found counts the
 * lines there were when the file has fewer (the rest come from older files).
 */
static off_t tail_offset(int fd, long tail, long *found)
{
	struct stat st;
	*found = 0;
	if (tail < 0 || fstat(fd, &st) < 0)
		return 0;
	if (tail == 0)
		return st.st_size;
	char buf[65536];
	off_t pos = st.st_size;
	long lines = 0;
	/* The final newline ends the last line; it does not start one. */
	bool skip_last = true;
	while (pos > 0) {
		size_t n = (size_t)MIN((off_t)sizeof(buf), pos);
		pos -= (off_t)n;
		if (pread(fd, buf, n, pos) != (ssize_t)n)
			return 0;
		for (size_t i = n; i > 0; i--) {
			if (buf[i - 1] != '\n')
				continue;
			if (skip_last && pos + (off_t)i == st.st_size) {
				skip_last = false;
				continue;
			}
			if (++lines == tail) {
				*found = lines;
				return pos + (off_t)i;
			}
		}
	}
	*found = lines + (st.st_size > 0 && !skip_last ? 1 : 0);
	return 0;
}

/* The rotated files of a log that exist, oldest first. */
static char **rotated_files(const char *path)
{
	char **list = strv_copy(NULL);
	for (unsigned i = LOG_MAX_FILES; i >= 1; i--) {
		char *p = rotated_path(path, i);
		if (access(p, F_OK) == 0)
			list = strv_append_take(list, p);
		else
			free(p);
	}
	return list;
}

int container_logs(struct container *c, struct stream *s, const struct logs_opts *o,
		   struct arca_error **err)
{
	struct log_config cfg;
	if (log_config_parse(json_object_get(c->host_config, "LogConfig"), &cfg, NULL) == 0 &&
	    cfg.none)
		return arca_error_set(err, ENOTSUP, ARCA_ERR_UNSUPPORTED,
				      "configured logging driver does not support reading");
	int fd = open(c->log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(err, -errno, "open the log of %s", c->name);
	struct log_follower *f = xnew0(struct log_follower, 1);
	f->fd = fd;
	f->stream = stream_ref(s);
	f->opts = *o;
	f->tty = json_is_true(json_object_get(c->config, "Tty"));
	f->follow = o->follow && (container_is_running(c) || c->starting) && c->log;
	f->path = xstrdup(c->log_path);
	if (c->log) {
		f->gen = gen_ref(c->log->gen);
		f->at_gen = f->gen->n;
	}
	/* Older files first: all of them, or as many lines as tail still wants. */
	long found;
	f->off = tail_offset(fd, o->tail, &found);
	char **older = rotated_files(c->log_path);
	size_t n_older = strv_length(older), first = 0;
	if (o->tail >= 0) {
		long want = o->tail - found;
		off_t first_off = 0;
		first = n_older;
		while (want > 0 && first > 0) {
			_cleanup_close_ int ofd = open(older[first - 1], O_RDONLY | O_CLOEXEC);
			long got = 0;
			first_off = ofd >= 0 ? tail_offset(ofd, want, &got) : 0;
			first--;
			want -= got;
		}
		if (first < n_older) {
			/* Start in the oldest file still needed, at its offset. */
			int ofd = open(older[first], O_RDONLY | O_CLOEXEC);
			if (ofd >= 0) {
				/* The rest of the older files, then the current one from 0. */
				f->older = strv_copy(older + first + 1);
				f->older = strv_append(f->older, c->log_path);
				safe_close(f->fd);
				f->fd = ofd;
				f->off = first_off;
			}
		}
	} else if (n_older) {
		int ofd = open(older[0], O_RDONLY | O_CLOEXEC);
		if (ofd >= 0) {
			f->older = strv_copy(older + 1);
			f->older = strv_append(f->older, c->log_path);
			safe_close(f->fd);
			f->fd = ofd;
			f->off = 0;
		}
	}
	strv_free(older);
	stream_set_handler(s, &follower_handler, f);
	if (f->follow) {
		f->c = c;
		f->next = c->log->followers;
		c->log->followers = f;
	}
	follower_pump(f);
	return 0;
}

/* Sends the whole log on a hijacked attach before the live stream (attach?logs=1). */
static void send_logs_then(struct container *c, struct stream *st, bool out, bool err, bool tty)
{
	_cleanup_close_ int fd = open(c->log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	_cleanup_(fclosep) FILE *fp = fdopen(TAKE_FD(fd), "r");
	if (!fp)
		return;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, fp)) > 0) {
		json_error_t jerr;
		json_t *j = json_loadb(line, (size_t)n, 0, &jerr);
		const char *text = json_string_value(json_object_get(j, "log"));
		size_t tlen = json_string_length(json_object_get(j, "log"));
		int s = strcmp(json_string_value(json_object_get(j, "stream")) ?: "", "stderr") == 0
			    ? 2
			    : 1;
		if (text && ((s == 1 && out) || (s == 2 && err)))
			(void)stream_write_frame(st, tty, s, text, tlen);
		json_decref(j);
	}
	free(line);
}
