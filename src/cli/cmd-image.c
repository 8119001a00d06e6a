/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `arca image ...`: the image store from the command line, until the API
 * daemon serves it. Each verb opens the store at --root (or $ARCA_ROOT),
 * calls one libarca-image operation and prints Docker-like output.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "changes.h"
#include "cleanup.h"
#include "cli.h"
#include "image.h"
#include "strv.h"

struct image_opts {
	const char *root;
	const char *platform;
	const char *username, *password, *identity_token;
	char **insecure;
	char **changes; /* import --change */
	const char *output, *input, *format, *message;
	bool quiet, force, all, no_prune, digests, no_trunc;
	json_t *filters;
};

static const char *default_root(void)
{
	static char buf[512];
	const char *env = getenv("ARCA_ROOT");
	if (env && env[0])
		return env;
	if (geteuid() == 0)
		return "/var/lib/arca";
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	if (xdg && xdg[0])
		snprintf(buf, sizeof(buf), "%s/arca", xdg);
	else
		snprintf(buf, sizeof(buf), "%s/.local/share/arca", home ? home : "/tmp");
	return buf;
}

static int add_filter(json_t *filters, const char *spec)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec) {
		fprintf(stderr, "arca: bad filter `%s`: want key=value\n", spec);
		return -EINVAL;
	}
	_cleanup_free_ char *key = xstrndup(spec, (size_t)(eq - spec));
	json_t *arr = json_object_get(filters, key);
	if (!arr) {
		arr = json_array();
		json_object_set_new(filters, key, arr);
	}
	json_array_append_new(arr, json_string(eq + 1));
	return 0;
}

/*
 * Parses the options every image verb understands; returns optind or < 0.
 * -f is --filter for listing verbs and --force for removing ones, as in docker.
 */
static int parse_opts(int argc, char **argv, struct image_opts *o, bool f_is_force)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'R' },
		{ "platform", required_argument, NULL, 'P' },
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, 'S' },
		{ "identity-token", required_argument, NULL, 'I' },
		{ "insecure-registry", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "input", required_argument, NULL, 'i' },
		{ "format", required_argument, NULL, 'F' },
		{ "message", required_argument, NULL, 'm' },
		{ "change", required_argument, NULL, 'c' },
		{ "filter", required_argument, NULL, 'L' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "force", no_argument, NULL, 'x' },
		{ "all", no_argument, NULL, 'a' },
		{ "no-prune", no_argument, NULL, 'N' },
		{ "digests", no_argument, NULL, 'D' },
		{ "no-trunc", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	static char pwbuf[4096];
	int c;
	o->root = default_root();
	o->filters = json_object();
	optind = 1;
	while ((c = getopt_long(argc, argv, f_is_force ? "u:p:o:i:m:c:fqa" : "u:p:o:i:m:c:f:qa",
				opts, NULL)) != -1) {
		switch (c) {
		case 'R': o->root = optarg; break;
		case 'P': o->platform = optarg; break;
		case 'u': o->username = optarg; break;
		case 'p': o->password = optarg; break;
		case 'S':
			if (!fgets(pwbuf, sizeof(pwbuf), stdin)) {
				fprintf(stderr, "arca: no password on stdin\n");
				return -EINVAL;
			}
			pwbuf[strcspn(pwbuf, "\r\n")] = '\0';
			o->password = pwbuf;
			break;
		case 'I': o->identity_token = optarg; break;
		case 'k': o->insecure = strv_append(o->insecure, optarg); break;
		case 'o': o->output = optarg; break;
		case 'i': o->input = optarg; break;
		case 'F': o->format = optarg; break;
		case 'm': o->message = optarg; break;
		case 'c': o->changes = strv_append(o->changes, optarg); break;
		case 'f':
			if (f_is_force) {
				o->force = true;
				break;
			}
			if (add_filter(o->filters, optarg) < 0)
				return -EINVAL;
			break;
		case 'L':
			if (add_filter(o->filters, optarg) < 0)
				return -EINVAL;
			break;
		case 'q': o->quiet = true; break;
		case 'x': o->force = true; break;
		case 'a': o->all = true; break;
		case 'N': o->no_prune = true; break;
		case 'D': o->digests = true; break;
		case 'T': o->no_trunc = true; break;
		default: return -EINVAL;
		}
	}
	return optind;
}

static int parse(int argc, char **argv, struct image_opts *o)
{
	return parse_opts(argc, argv, o, false);
}

static void opts_done(struct image_opts *o)
{
	strv_free(o->insecure);
	strv_free(o->changes);
	json_decref(o->filters);
}

static int open_store(const struct image_opts *o, struct image_store **ret)
{
	_cleanup_error_ struct arca_error *err = NULL;
	if (image_store_open(o->root, ret, &err) < 0) {
		fprintf(stderr, "arca: %s\n", err->msg);
		return -EIO;
	}
	return 0;
}

/*
 * The start of every verb: options, the argument count (max < 0: no limit),
 * the store. Returns the index of the first argument, or -2 after printing
 * the usage, or -1 after printing why the store would not open.
 */
static int begin(int argc, char **argv, struct image_opts *o, bool f_is_force, int min, int max,
		 const char *usage, struct image_store **ret)
{
	int i = parse_opts(argc, argv, o, f_is_force);
	int n = argc - i;
	if (i < 0 || n < min || (max >= 0 && n > max)) {
		fprintf(stderr, "usage: arca image %s\n", usage);
		return -2;
	}
	return open_store(o, ret) < 0 ? -1 : i;
}

static int fail(struct arca_error *err)
{
	fprintf(stderr, "arca: %s\n", err ? err->msg : "failed");
	arca_error_free(err);
	return 1;
}

static void print_progress(json_t *msg, void *userdata)
{
	const struct image_opts *o = userdata;
	const char *status = json_string_value(json_object_get(msg, "status"));
	const char *id = json_string_value(json_object_get(msg, "id"));
	const char *stream = json_string_value(json_object_get(msg, "stream"));
	if (stream) {
		fputs(stream, stdout);
		return;
	}
	if (!status || o->quiet)
		return;
	/* Byte-level progress is for terminals; logs get the state changes. */
	if (json_object_get(msg, "progressDetail") && !isatty(STDOUT_FILENO))
		return;
	const char *bar = json_string_value(json_object_get(msg, "progress"));
	if (id)
		printf("%s: %s%s%s\n", id, status, bar ? " " : "", bar ? bar : "");
	else
		printf("%s\n", status);
	fflush(stdout);
}

static void remote_opts(const struct image_opts *o, struct image_remote_opts *r)
{
	*r = (struct image_remote_opts){
		.platform = o->platform,
		.auth = { .username = o->username,
			  .password = o->password,
			  .identity_token = o->identity_token },
		.insecure = o->insecure,
		.progress = print_progress,
		.userdata = (void *)o,
	};
}

static int cmd_pull(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	_cleanup_free_ char *id = NULL;
	struct image_remote_opts r;
	int i = begin(argc, argv, &o, false, 1, 1, "pull [--platform P] [-u USER -p PASS] REF", &s);
	int rc = i < 0 ? -i : 1;
	if (i < 0)
		goto out;
	remote_opts(&o, &r);
	struct arca_error *err = NULL;
	if (image_pull(s, argv[i], &r, &id, &err) < 0) {
		rc = fail(err);
		goto out;
	}
	if (o.quiet)
		printf("%s\n", id);
	rc = 0;
out:
	opts_done(&o);
	return rc;
}

static int cmd_push(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	struct image_remote_opts r;
	int i = begin(argc, argv, &o, false, 1, 1, "push [-u USER -p PASS] REF", &s);
	int rc = i < 0 ? -i : 1;
	if (i < 0)
		goto out;
	remote_opts(&o, &r);
	struct arca_error *err = NULL;
	rc = image_push(s, argv[i], &r, &err) < 0 ? fail(err) : 0;
out:
	opts_done(&o);
	return rc;
}

static void human_size(int64_t n, char *out, size_t len)
{
	const char *u[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)n;
	int k = 0;
	while (v >= 1000 && k < 4) {
		v /= 1000;
		k++;
	}
	snprintf(out, len, k == 0 ? "%.0f%s" : "%.3g%s", v, u[k]);
}

static void human_age(int64_t t, char *out, size_t len)
{
	int64_t d = (int64_t)time(NULL) - t;
	if (t <= 0)
		snprintf(out, len, "N/A");
	else if (d < 60)
		snprintf(out, len, "Less than a minute ago");
	else if (d < 3600)
		snprintf(out, len, "%lld minutes ago", (long long)(d / 60));
	else if (d < 86400 * 2)
		snprintf(out, len, "%lld hours ago", (long long)(d / 3600));
	else if (d < 86400 * 14)
		snprintf(out, len, "%lld days ago", (long long)(d / 86400));
	else if (d < 86400 * 60)
		snprintf(out, len, "%lld weeks ago", (long long)(d / 86400 / 7));
	else if (d < 86400 * 730)
		snprintf(out, len, "%lld months ago", (long long)(d / 86400 / 30));
	else
		snprintf(out, len, "%lld years ago", (long long)(d / 86400 / 365));
}

static void print_json(json_t *j)
{
	_cleanup_free_ char *s = json_dumps(j, JSON_INDENT(4));
	printf("%s\n", s ? s : "null");
}

static void print_row(const struct image_opts *o, json_t *img, const char *repo, const char *tag)
{
	const char *id = json_string_value(json_object_get(img, "Id"));
	char size[32], age[64];
	human_size(json_integer_value(json_object_get(img, "Size")), size, sizeof(size));
	human_age(json_integer_value(json_object_get(img, "Created")), age, sizeof(age));
	if (o->quiet) {
		printf("%.*s\n", o->no_trunc ? 71 : 12, o->no_trunc ? id : id + 7);
		return;
	}
	printf("%-40s %-12s %-*.*s %-22s %s\n", repo, tag, o->no_trunc ? 71 : 12,
	       o->no_trunc ? 71 : 12, o->no_trunc ? id : id + 7, age, size);
}

static int cmd_ls(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	json_t *list = NULL;
	int i = begin(argc, argv, &o, false, 0, 1,
		      "ls [-q] [-a] [--format json] [--filter K=V] [REPO]", &s);
	int rc = i < 0 ? -i : 1;
	if (i < 0)
		goto out;
	if (i < argc) {
		json_object_del(o.filters, "reference");
		json_t *arr = json_array();
		json_array_append_new(arr, json_string(argv[i]));
		json_object_set_new(o.filters, "reference", arr);
	}
	struct image_list_opts lo = { .all = o.all, .filters = o.filters };
	struct arca_error *err = NULL;
	if (image_list(s, &lo, &list, &err) < 0) {
		rc = fail(err);
		goto out;
	}
	if (o.format && strcmp(o.format, "json") == 0) {
		print_json(list);
		rc = 0;
		goto out;
	}
	if (!o.quiet)
		printf("%-40s %-12s %-12s %-22s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED",
		       "SIZE");
	size_t k;
	json_t *img;
	json_array_foreach(list, k, img)
	{
		json_t *tags = json_object_get(img, "RepoTags");
		if (json_array_size(tags) == 0 || o.quiet) {
			print_row(&o, img, "<none>", "<none>");
			continue;
		}
		size_t t;
		json_t *tv;
		json_array_foreach(tags, t, tv)
		{
			const char *full = json_string_value(tv);
			const char *colon = strrchr(full, ':');
			_cleanup_free_ char *repo = xstrndup(full, (size_t)(colon - full));
			print_row(&o, img, repo, colon + 1);
		}
	}
	rc = 0;
out:
	json_decref(list);
	opts_done(&o);
	return rc;
}

static int cmd_inspect(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	int i = begin(argc, argv, &o, false, 1, -1, "inspect NAME...", &s);
	int rc = i < 0 ? -i : 1;
	if (i < 0)
		goto out;
	json_t *all = json_array();
	rc = 0;
	for (; i < argc; i++) {
		json_t *one = NULL;
		struct arca_error *err = NULL;
		if (image_inspect(s, argv[i], &one, &err) < 0) {
			rc = fail(err);
			continue;
		}
		json_array_append_new(all, one);
	}
	print_json(all);
	json_decref(all);
out:
	opts_done(&o);
	return rc;
}

static int cmd_history(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	json_t *h = NULL;
	int i = begin(argc, argv, &o, false, 1, 1, "history [--format json] NAME", &s);
	int rc = i < 0 ? -i : 1;
	if (i < 0)
		goto out;
	struct arca_error *err = NULL;
	if (image_history(s, argv[i], &h, &err) < 0) {
		rc = fail(err);
		goto out;
	}
	rc = 0;
	if (o.format && strcmp(o.format, "json") == 0) {
		print_json(h);
		goto out;
	}
	printf("%-12s %-22s %-45s %-10s %s\n", "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT");
	size_t k;
	json_t *e;
	json_array_foreach(h, k, e)
	{
		const char *id = json_string_value(json_object_get(e, "Id"));
		char size[32], age[64];
		human_size(json_integer_value(json_object_get(e, "Size")), size, sizeof(size));
		human_age(json_integer_value(json_object_get(e, "Created")), age, sizeof(age));
		printf("%-12.12s %-22s %-45.45s %-10s %s\n",
		       strncmp(id, "sha256:", 7) == 0 ? id + 7 : id, age,
		       json_string_value(json_object_get(e, "CreatedBy")), size,
		       json_string_value(json_object_get(e, "Comment")));
	}
out:
	json_decref(h);
	opts_done(&o);
	return rc;
}

static int cmd_tag(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	int i = begin(argc, argv, &o, false, 2, 2, "tag SOURCE TARGET", &s);
	int rc = i < 0 ? -i : 1;
	if (i < 0)
		goto out;
	struct arca_error *err = NULL;
	rc = image_tag(s, argv[i], argv[i + 1], &err) < 0 ? fail(err) : 0;
out:
	opts_done(&o);
	return rc;
}

static void print_deleted(json_t *arr)
{
	size_t k;
	json_t *e;
	json_array_foreach(arr, k, e)
	{
		const char *u = json_string_value(json_object_get(e, "Untagged"));
		const char *d = json_string_value(json_object_get(e, "Deleted"));
		if (u)
			printf("Untagged: %s\n", u);
		if (d)
			printf("Deleted: %s\n", d);
	}
}

static int cmd_rm(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	int i = begin(argc, argv, &o, true, 1, -1, "rm [-f] [--no-prune] NAME...", &s);
	int rc = i < 0 ? -i : 1;
	if (i < 0)
		goto out;
	rc = 0;
	for (; i < argc; i++) {
		json_t *out = NULL;
		struct arca_error *err = NULL;
		if (image_remove(s, argv[i], o.force, o.no_prune, NULL, &out, &err) < 0) {
			rc = fail(err);
			continue;
		}
		print_deleted(out);
		json_decref(out);
	}
out:
	opts_done(&o);
	return rc;
}

static int cmd_prune(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	json_t *out = NULL;
	int i = begin(argc, argv, &o, true, 0, 0, "prune [-a] [--filter K=V]", &s);
	int rc = i < 0 ? -i : 1;
	if (i < 0)
		goto out;
	struct arca_error *err = NULL;
	if (image_prune(s, o.all, o.filters, NULL, &out, &err) < 0) {
		rc = fail(err);
		goto out;
	}
	json_t *del = json_object_get(out, "ImagesDeleted");
	if (json_array_size(del) > 0) {
		printf("Deleted Images:\n");
		print_deleted(del);
		printf("\n");
	}
	char size[32];
	human_size(json_integer_value(json_object_get(out, "SpaceReclaimed")), size, sizeof(size));
	printf("Total reclaimed space: %s\n", size);
	rc = 0;
out:
	json_decref(out);
	opts_done(&o);
	return rc;
}

static int cmd_save(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *tmp = NULL;
	int i = parse(argc, argv, &o);
	int rc = 2;
	if (i < 0 || i >= argc) {
		fprintf(stderr, "usage: arca image save [-o FILE] NAME...\n");
		goto out;
	}
	if (!o.output && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "arca: refusing to write a tar to a terminal; use -o FILE\n");
		goto out;
	}
	rc = 1;
	if (open_store(&o, &s) < 0)
		goto out;
	tmp = o.output ? xasprintf("%s.tmp", o.output) : NULL;
	fd = o.output ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
		      : fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		fprintf(stderr, "arca: %s: %m\n", o.output ? o.output : "stdout");
		goto out;
	}
	struct arca_error *err = NULL;
	if (image_save(s, argv + i, fd, &err) < 0) {
		rc = fail(err);
		if (tmp)
			(void)unlink(tmp);
		goto out;
	}
	if (tmp && (fsync(fd) < 0 || rename(tmp, o.output) < 0)) {
		fprintf(stderr, "arca: %s: %m\n", o.output);
		(void)unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	opts_done(&o);
	return rc;
}

static int cmd_load(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	_cleanup_close_ int fd = -EBADF;
	json_t *out = NULL;
	int i = parse(argc, argv, &o);
	int rc = 2;
	if (i < 0 || i != argc) {
		fprintf(stderr, "usage: arca image load [-i FILE]\n");
		goto out;
	}
	rc = 1;
	fd =
	    o.input ? open(o.input, O_RDONLY | O_CLOEXEC) : fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		fprintf(stderr, "arca: %s: %m\n", o.input ? o.input : "stdin");
		goto out;
	}
	if (open_store(&o, &s) < 0)
		goto out;
	struct arca_error *err = NULL;
	rc = image_load(s, fd, print_progress, &o, &out, &err) < 0 ? fail(err) : 0;
out:
	json_decref(out);
	opts_done(&o);
	return rc;
}

static int cmd_import(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *id = NULL, *msg = NULL;
	json_t *config = NULL;
	int i = parse(argc, argv, &o);
	int rc = 2;
	if (i < 0 || i >= argc || i + 2 < argc) {
		fprintf(stderr,
			"usage: arca image import [-m MESSAGE] [-c CHANGE]... FILE|- [REF]\n");
		goto out;
	}
	rc = 1;
	bool std = strcmp(argv[i], "-") == 0;
	fd = std ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3) : open(argv[i], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "arca: %s: %m\n", argv[i]);
		goto out;
	}
	if (open_store(&o, &s) < 0)
		goto out;
	msg = o.message ? xstrdup(o.message) : xasprintf("Imported from %s", argv[i]);
	struct arca_error *err = NULL;
	config = json_object();
	if (image_changes_apply(config, o.changes, &err) < 0 ||
	    image_import(s, fd, i + 1 < argc ? argv[i + 1] : NULL, msg, config, &id, &err) < 0) {
		rc = fail(err);
		goto out;
	}
	printf("%s\n", id);
	rc = 0;
out:
	json_decref(config);
	opts_done(&o);
	return rc;
}

static int cmd_fsck(int argc, char **argv)
{
	struct image_opts o = { 0 };
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	json_t *problems = NULL;
	int i = begin(argc, argv, &o, false, 0, 0, "fsck", &s);
	int rc = i < 0 ? -i : 1;
	if (i < 0)
		goto out;
	struct arca_error *err = NULL;
	if (image_fsck(s, &problems, &err) < 0) {
		rc = fail(err);
		goto out;
	}
	size_t k;
	json_t *p;
	json_array_foreach(problems, k, p) printf("%s\n", json_string_value(p));
	printf("%zu problem%s\n", json_array_size(problems),
	       json_array_size(problems) == 1 ? "" : "s");
	rc = json_array_size(problems) == 0 ? 0 : 1;
out:
	json_decref(problems);
	opts_done(&o);
	return rc;
}

static const struct cli_command image_commands[] = {
	{ "pull", cmd_pull, "pull an image from a registry" },
	{ "push", cmd_push, "push an image to a registry" },
	{ "ls", cmd_ls, "list images" },
	{ "inspect", cmd_inspect, "show images as JSON" },
	{ "history", cmd_history, "show the history of an image" },
	{ "tag", cmd_tag, "add a name to an image" },
	{ "rm", cmd_rm, "remove images" },
	{ "prune", cmd_prune, "remove unused images" },
	{ "save", cmd_save, "write images to a tar archive" },
	{ "load", cmd_load, "read images from a tar archive" },
	{ "import", cmd_import, "make an image from a rootfs tarball" },
	{ "fsck", cmd_fsck, "check the image store" },
	{ NULL, NULL, NULL },
};

int cmd_image(int argc, char **argv)
{
	return cli_dispatch("image", image_commands, argc - 1, argv + 1);
}

int cli_image_root_disk(const char *root, const char *name, char **ret_disk, json_t **ret_config)
{
	_cleanup_(image_store_closep) struct image_store *s = NULL;
	_cleanup_free_ char *id = NULL;
	struct arca_error *err = NULL;
	int r = image_store_open(root ? root : default_root(), &s, &err);
	if (r >= 0)
		r = image_resolve(s, name, &id, &err);
	if (r >= 0)
		r = image_disk(s, id, ret_disk, &err);
	if (r >= 0)
		r = image_config(s, id, ret_config, &err);
	if (r < 0) {
		fprintf(stderr, "arca: %s\n", err ? err->msg : "image lookup failed");
		arca_error_free(err);
	}
	return r;
}
