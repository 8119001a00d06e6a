/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arcad: read the flags and the configuration file (settings.h) into the
 * daemon's configuration, build the daemon, run it. The settings live only
 * here, in main()'s frame; a SIGHUP has the daemon call reload(), which reads
 * the file again under the same flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "daemon.h"
#include "fd-util.h"
#include "log.h"
#include "parse-util.h"
#include "pool.h"
#include "settings.h"
#include "strv.h"
#include "systemd.h"
#include "version.h"

#define CONFIG_MAX (1u << 20)

struct args {
	struct arcad_settings flags;   /* as given on the command line */
	struct arcad_settings current; /* flags and file merged, at start */
	const char *config_file;       /* --config-file, NULL: the default one, if present */
	bool validate;
};

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
	       "      --guest DIR            a guest asset set (arca guest build; default: the\n"
	       "                             user's, the system's, else the installed files)\n"
	       "      --insecure-registry HOST  allow plain HTTP to HOST (repeatable)\n"
	       "      --registry-mirror URL  a Docker Hub mirror, tried first (repeatable)\n"
	       "      --max-concurrent-downloads N  layers a pull downloads at once (default 3)\n"
	       "      --default-memory MB    guest memory without -m (default 1024)\n"
	       "      --default-cpus N       guest vCPUs without --cpus (default 1)\n"
	       "      --vm-pool-size N       booted VMs kept for starts (default 2; 0: none)\n"
	       "      --vm-pool-memory MB    their memory at most (default 2048)\n"
	       "      --live-restore         leave containers running when arcad stops\n"
	       "      --label KEY=VALUE      a label of the daemon (docker info; repeatable)\n"
	       "      --default-address-pool base=CIDR,size=N\n"
	       "                             subnets for networks (repeatable)\n"
	       "      --dns IP, --dns-search DOMAIN, --dns-opt OPT\n"
	       "                             containers' resolver settings without their own\n"
	       "      --log-driver json-file|none, --log-opt KEY=VALUE\n"
	       "                             containers' logging without their own\n"
	       "  -l, --log-level LEVEL      debug, info (default), warn, error, fatal\n"
	       "  -D, --debug                debug logging\n"
	       "      --config-file PATH     settings (default /etc/arca/daemon.json as root,\n"
	       "                             $XDG_CONFIG_HOME/arca/daemon.json otherwise)\n"
	       "      --validate             check the configuration file and exit\n"
	       "  -v, --version              print the version and exit\n");
}

static char *default_socket(void)
{
	if (geteuid() == 0)
		return xstrdup("/run/arca/arca.sock");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	return xdg && xdg[0] ? xasprintf("%s/arca.sock", xdg)
			     : xasprintf("/tmp/arca-%u/arca.sock", (unsigned)geteuid());
}

/* The path a listening unix socket is bound to ("" for an unnamed one). */
static char *socket_path_of(int fd)
{
	struct sockaddr_un sa = { 0 };
	socklen_t len = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || sa.sun_path[0] == '\0')
		return xstrdup("");
	return xstrndup(sa.sun_path, sizeof(sa.sun_path));
}

static char *default_config_file(void)
{
	if (geteuid() == 0)
		return xstrdup("/etc/arca/daemon.json");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	return xdg && xdg[0]	 ? xasprintf("%s/arca/daemon.json", xdg)
	       : home && home[0] ? xasprintf("%s/.config/arca/daemon.json", home)
				 : NULL;
}

static int usage_error(const char *flag, struct arca_error *err)
{
	fprintf(stderr, "arcad: --%s: %s\n", flag, err->msg);
	arca_error_free(err);
	return -1;
}

/* getopt_long's value for a setting's flag. */
#define OPT_SETTING 1000

/* 0: run; 1: done (help, version); -1: bad usage (reported). */
static int parse_args(int argc, char **argv, struct args *a)
{
	enum { OPT_CONFIG = 'c', OPT_VALIDATE = 'V' };
	struct option opts[SETTING__COUNT + 5];
	size_t n = 0;
	/* Every setting's flag, by the table (settings.h), then arcad's own. */
	for (int k = 0; k < SETTING__COUNT; k++)
		opts[n++] =
		    (struct option){ settings_flag_name(k),
				     settings_flag_has_value(k) ? required_argument : no_argument,
				     NULL, OPT_SETTING + k };
	opts[n++] = (struct option){ "config-file", required_argument, NULL, OPT_CONFIG };
	opts[n++] = (struct option){ "validate", no_argument, NULL, OPT_VALIDATE };
	opts[n++] = (struct option){ "version", no_argument, NULL, 'v' };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n] = (struct option){ 0 };
	struct arca_error *err = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "H:l:Dvh", opts, NULL)) != -1) {
		enum setting k = c == 'H'   ? SETTING_HOST
				 : c == 'l' ? SETTING_LOG_LEVEL
				 : c == 'D' ? SETTING_DEBUG
					    : (enum setting)(c - OPT_SETTING);
		if (c == 'H' || c == 'l' || c == 'D' ||
		    (c >= OPT_SETTING && c < OPT_SETTING + SETTING__COUNT)) {
			if (settings_flag(&a->flags, k, optarg ? optarg : "", &err) < 0)
				return usage_error(settings_flag_name(k), err);
			continue;
		}
		switch (c) {
		case OPT_CONFIG: a->config_file = optarg; break;
		case OPT_VALIDATE: a->validate = true; break;
		case 'v':
			printf("arcad version %s, commit %s\n", ARCA_VERSION, ARCA_GIT_COMMIT);
			return 1;
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

/* The configuration file under the flags (into into): a missing default file is no error. */
static int load_config_file(const struct args *a, struct arcad_settings *into,
			    struct arca_error **err)
{
	_cleanup_free_ char *fallback = a->config_file ? NULL : default_config_file();
	const char *path = a->config_file ? a->config_file : fallback;
	if (!path)
		return 0;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_file_at(AT_FDCWD, path, CONFIG_MAX, &text, &len);
	if (r == -ENOENT && !a->config_file)
		return 0;
	if (r < 0)
		return arca_error_errno(err, r, "read the configuration file `%s`", path);
	struct arcad_settings file = { .log_level = LOG_LEVEL_INFO };
	r = settings_from_json(text, len, path, &file, err);
	if (r >= 0)
		r = settings_merge(into, &file, path, err);
	settings_done(&file);
	return r;
}

/* The settings to run with: the flags, the file under them, checked together. */
static int configure(const struct args *a, struct arcad_settings *ret, struct arca_error **err)
{
	settings_copy(&a->flags, ret);
	int r = load_config_file(a, ret, err);
	return r < 0 ? r : settings_check(ret, err);
}

/* The log level a configuration asks for: -D, the setting, $ARCA_LOG_LEVEL, info. */
static enum log_level effective_level(const struct arcad_settings *s)
{
	const char *env_level = getenv("ARCA_LOG_LEVEL");
	int level = s->set & (1u << SETTING_LOG_LEVEL) ? s->log_level
		    : env_level			       ? log_parse_level(env_level)
						       : (int)LOG_LEVEL_INFO;
	return s->debug ? LOG_LEVEL_DEBUG : level < 0 ? LOG_LEVEL_INFO : (enum log_level)level;
}

/* SIGHUP (daemon_reload_fn): the file again, under the same flags. */
static int reload(void *userdata, struct daemon_reload *ret, struct arca_error **err)
{
	struct args *a = userdata;
	struct arcad_settings next;
	int r = configure(a, &next, err);
	if (r < 0) {
		settings_done(&next);
		return r;
	}
	unsigned later = settings_differ(&a->current, &next) & ~SETTINGS_RELOADABLE;
	_cleanup_free_ char *names = xstrdup("");
	for (int k = 0; k < SETTING__COUNT; k++)
		if (later & (1u << k))
			strappendf(&names, "%s%s", names[0] ? ", " : "", settings_key(k));
	if (names[0])
		log_warn("reload: %s changed; a change of these applies when arcad starts again",
			 names);
	*ret = (struct daemon_reload){
		.insecure_registries = next.insecure,
		.registry_mirrors = next.mirrors,
		.max_downloads = next.max_downloads,
		.labels = next.labels,
		.log_level = (int)effective_level(&next),
		.debug = next.debug,
		.live_restore = next.live_restore,
	};
	next.insecure = NULL;
	next.mirrors = NULL;
	next.labels = NULL;
	settings_done(&next);
	return 0;
}

static int run(struct args *a)
{
	struct arcad_settings *s = &a->current;
	struct arca_error *err = NULL;
	log_setup("arcad", effective_level(s));

	/* Socket-activated (arcad.socket): the API socket is systemd's, -H may only name it. */
	int listen_fd = systemd_listen_fd(&err);
	_cleanup_free_ char *passed = listen_fd >= 0 ? socket_path_of(listen_fd) : NULL;
	if (listen_fd >= 0 && s->host && strcmp(s->host, passed) != 0)
		arca_error_set(&err, EINVAL, ARCA_ERR_INVALID,
			       "systemd passed the socket `%s`, -H names `%s`", passed, s->host);
	if (err) {
		log_error("%s", err->msg);
		arca_error_free(err);
		return 1;
	}
	_cleanup_free_ char *socket = passed	? xstrdup(passed)
				      : s->host ? xstrdup(s->host)
						: default_socket();
	const char *root = s->data_root		 ? s->data_root
			   : getenv("ARCA_ROOT") ? getenv("ARCA_ROOT")
						 : "/var/lib/arca";
	_cleanup_free_ char *run_dir = s->exec_root	? xstrdup(s->exec_root)
				       : geteuid() == 0 ? xstrdup("/run/arca/vm")
							: xasprintf("%s/vm", root);
	struct daemon_config cfg = {
		.socket_path = socket,
		.root = root,
		.run_dir = run_dir,
		.kernel = s->kernel,
		.initramfs = s->initramfs,
		.guest = s->guest,
		.socket_group = s->group,
		.default_memory_mb = s->memory_mb,
		.insecure_registries = s->insecure,
		.registry_mirrors = s->mirrors,
		.max_downloads = s->max_downloads,
		.default_cpus = s->cpus,
		.dns = s->dns,
		.dns_search = s->dns_search,
		.dns_opts = s->dns_opts,
		.log_driver = s->log_driver,
		.log_opts = s->log_opts,
		.labels = s->labels,
		.address_pools = s->pools,
		.n_address_pools = s->n_pools,
		.debug = s->debug,
		.live_restore = s->live_restore,
		.pool_size = s->set & (1u << SETTING_POOL_SIZE) ? s->pool_size : POOL_DEFAULT_SIZE,
		.pool_budget_mb =
		    s->set & (1u << SETTING_POOL_MEMORY) ? s->pool_mb : POOL_DEFAULT_BUDGET_MB,
		.listen_fd = listen_fd >= 0 ? listen_fd : 0,
		.reload = reload,
		.reload_data = a,
	};
	struct daemon *d = NULL;
	if (daemon_new(&cfg, &d, &err) < 0) {
		log_error("%s", err->msg);
		arca_error_free(err);
		return 1;
	}
	int r = daemon_run(d);
	daemon_free(d);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	/* A SIGHUP while the daemon starts waits for it (the loop reads it then). */
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &hup, NULL);

	struct args a = { .flags = { .log_level = LOG_LEVEL_INFO } };
	int r = parse_args(argc, argv, &a);
	struct arca_error *err = NULL;
	/* Exit 2 for bad usage, 1 for a configuration that cannot be used (as dockerd). */
	int status = r < 0 ? 2 : 0;
	if (r == 0) {
		if (configure(&a, &a.current, &err) < 0) {
			fprintf(stderr, "arcad: %s\n", err->msg);
			arca_error_free(err);
			r = -1;
			status = 1;
		}
	}
	if (r == 0 && a.validate)
		printf("configuration OK\n");
	else if (r == 0)
		status = run(&a);
	settings_done(&a.flags);
	settings_done(&a.current);
	return status;
}
