/* SPDX-License-Identifier: Apache-2.0 */
/* arcad: parse the command line (arg_* globals live only here), build the daemon, run it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "daemon.h"
#include "log.h"
#include "parse-util.h"
#include "strv.h"

static const char *arg_socket;
static const char *arg_root;
static const char *arg_run_dir;
static const char *arg_kernel;
static const char *arg_initramfs;
static const char *arg_group;
static char **arg_insecure;
static unsigned arg_memory_mb;
static bool arg_debug;

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: arcad [OPTIONS]\n\n"
	       "  -H, --host unix://PATH     API socket (default /run/arca/arca.sock as root,\n"
	       "                             $XDG_RUNTIME_DIR/arca.sock otherwise)\n"
	       "      --data-root DIR        images, containers, database (default /var/lib/arca)\n"
	       "      --exec-root DIR        VM run directories (default /run/arca/vm)\n"
	       "      --group NAME           group owning the socket (mode 0660)\n"
	       "      --kernel PATH          guest kernel (default: the cached Arca kernel)\n"
	       "      --initramfs PATH       guest initramfs (default: next to this binary)\n"
	       "      --insecure-registry HOST  allow plain HTTP to HOST (repeatable)\n"
	       "      --default-memory MB    guest memory without -m (default 1024)\n"
	       "  -D, --debug                debug logging\n");
}

static char *default_socket(void)
{
	if (geteuid() == 0)
		return xstrdup("/run/arca/arca.sock");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	return xdg && xdg[0] ? xasprintf("%s/arca.sock", xdg)
			     : xasprintf("/tmp/arca-%u/arca.sock", (unsigned)geteuid());
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "data-root", required_argument, NULL, 'r' },
		{ "exec-root", required_argument, NULL, 'x' },
		{ "group", required_argument, NULL, 'g' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initramfs", required_argument, NULL, 'i' },
		{ "insecure-registry", required_argument, NULL, 'I' },
		{ "default-memory", required_argument, NULL, 'm' },
		{ "debug", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	uint32_t v;
	while ((c = getopt_long(argc, argv, "H:Dh", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			/* A unix socket only: no TCP without TLS (and arcad has no TLS). */
			if (strncmp(optarg, "unix://", 7) == 0) {
				arg_socket = optarg + 7;
			} else if (optarg[0] == '/') {
				arg_socket = optarg;
			} else {
				fprintf(stderr,
					"arcad: -H %s: arcad serves the API on a unix socket only "
					"(unix:///path); TCP would be unauthenticated\n",
					optarg);
				return -1;
			}
			break;
		case 'r': arg_root = optarg; break;
		case 'x': arg_run_dir = optarg; break;
		case 'g': arg_group = optarg; break;
		case 'k': arg_kernel = optarg; break;
		case 'i': arg_initramfs = optarg; break;
		case 'I': arg_insecure = strv_append(arg_insecure, optarg); break;
		case 'm':
			if (safe_atou32(optarg, &v) < 0 || v < 64) {
				fprintf(stderr, "arcad: invalid --default-memory `%s`\n", optarg);
				return -1;
			}
			arg_memory_mb = v;
			break;
		case 'D': arg_debug = true; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int r = parse_args(argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	const char *level = getenv("ARCA_LOG_LEVEL");
	int l = level ? log_parse_level(level) : (int)LOG_LEVEL_INFO;
	log_setup("arcad", arg_debug ? LOG_LEVEL_DEBUG
			   : l < 0   ? LOG_LEVEL_INFO
				     : (enum log_level)l);

	char *socket = arg_socket ? xstrdup(arg_socket) : default_socket();
	const char *root = arg_root		 ? arg_root
			   : getenv("ARCA_ROOT") ? getenv("ARCA_ROOT")
						 : "/var/lib/arca";
	char *run_dir = arg_run_dir	 ? xstrdup(arg_run_dir)
			: geteuid() == 0 ? xstrdup("/run/arca/vm")
					 : xasprintf("%s/vm", root);
	struct daemon_config cfg = {
		.socket_path = socket,
		.root = root,
		.run_dir = run_dir,
		.kernel = arg_kernel,
		.initramfs = arg_initramfs,
		.socket_group = arg_group,
		.default_memory_mb = arg_memory_mb,
		.insecure_registries = arg_insecure,
		.debug = arg_debug,
	};
	struct daemon *d = NULL;
	struct arca_error *err = NULL;
	if (daemon_new(&cfg, &d, &err) < 0) {
		log_error("%s", err->msg);
		arca_error_free(err);
		free(socket);
		free(run_dir);
		strv_free(arg_insecure);
		return 1;
	}
	r = daemon_run(d);
	daemon_free(d);
	free(socket);
	free(run_dir);
	strv_free(arg_insecure);
	return r < 0 ? 1 : 0;
}
