/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arcad's settings, from its flags and from its configuration file
 * (/etc/arca/daemon.json, dockerd's key names where the meaning is the same),
 * merged as dockerd merges them: a setting given both ways is an error, an
 * unknown key is an error, a key of dockerd's that arcad does not apply is
 * refused by name. settings.c (one table: key, flag, kind, field); main.c
 * owns the instances.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "ipam.h"

enum setting {
	SETTING_HOST,
	SETTING_DATA_ROOT,
	SETTING_EXEC_ROOT,
	SETTING_GROUP,
	SETTING_INSECURE,
	SETTING_MIRRORS,
	SETTING_DOWNLOADS,
	SETTING_LOG_LEVEL,
	SETTING_DEBUG,
	SETTING_KERNEL,
	SETTING_INITRAMFS,
	SETTING_GUEST,
	SETTING_MEMORY,
	SETTING_CPUS,
	SETTING_POOL_SIZE,
	SETTING_POOL_MEMORY,
	SETTING_LIVE_RESTORE,
	SETTING_LABELS,
	SETTING_ADDRESS_POOLS,
	SETTING_DNS,
	SETTING_DNS_SEARCH,
	SETTING_DNS_OPTS,
	SETTING_LOG_DRIVER,
	SETTING_LOG_OPTS,
	SETTING__COUNT,
};

/* The settings SIGHUP applies again from the file, as dockerd's reload does. */
#define SETTINGS_RELOADABLE                                                                 \
	((1u << SETTING_INSECURE) | (1u << SETTING_MIRRORS) | (1u << SETTING_DOWNLOADS) |   \
	 (1u << SETTING_LOG_LEVEL) | (1u << SETTING_DEBUG) | (1u << SETTING_LIVE_RESTORE) | \
	 (1u << SETTING_LABELS))

struct arcad_settings {
	char *host; /* the API socket's path */
	char *data_root;
	char *exec_root;
	char *group;
	char **insecure;	/* hosts allowed plain HTTP, NULL-terminated */
	char **mirrors;		/* registry-mirrors: Docker Hub's, tried first */
	unsigned max_downloads; /* concurrent layer downloads of a pull (0: 3) */
	int log_level;		/* enum log_level */
	bool debug;
	char *kernel;
	char *initramfs;
	char *guest;	    /* a guest asset set's directory (docs/guest-assets.md) */
	unsigned memory_mb; /* a VM's memory without -m (0: 1024) */
	unsigned cpus;	    /* a VM's vCPUs without --cpus (0: 1) */
	unsigned pool_size; /* booted VMs kept ready (pool.h; unset: POOL_DEFAULT_SIZE) */
	unsigned pool_mb;   /* their memory at most (unset: POOL_DEFAULT_BUDGET_MB) */
	bool live_restore;
	char **labels;		 /* "key=value" */
	struct ipam_pool *pools; /* default-address-pools, in order */
	size_t n_pools;
	char **dns; /* a container's resolvers without --dns */
	char **dns_search;
	char **dns_opts;
	char *log_driver; /* a container's LogConfig.Type without --log-driver */
	char **log_opts;  /* "key=value", for containers of that driver */
	unsigned set;	  /* 1 << enum setting, for each one given */
};

/* The key of a setting in daemon.json. */
const char *settings_key(enum setting s);
/* The long flag that gives it ("insecure-registry" for insecure-registries). */
const char *settings_flag_name(enum setting s);
/* Whether its flag takes a value (all but -D and --live-restore). */
bool settings_flag_has_value(enum setting s);
/* One flag: a value for a setting (appended for a list), checked as the file's would be. */
int settings_flag(struct arcad_settings *s, enum setting k, const char *value,
		  struct arca_error **err);
/* -H's value: unix://PATH or an absolute path; anything else (tcp://, fd://) is refused. */
int settings_parse_host(const char *value, char **ret, struct arca_error **err);
/* daemon.json's text into s (which it fills; s->set says what it held). path: for messages. */
int settings_from_json(const char *text, size_t len, const char *path, struct arcad_settings *s,
		       struct arca_error **err);
/* The file's settings under the flags' (into flags): both giving one is an error. */
int settings_merge(struct arcad_settings *flags, struct arcad_settings *file, const char *path,
		   struct arca_error **err);
/* What only the settings together can say: log-opts valid for the log-driver, guest
 * without kernel or initramfs. */
int settings_check(const struct arcad_settings *s, struct arca_error **err);
/* The settings whose values differ between a and b (1 << enum setting each). */
unsigned settings_differ(const struct arcad_settings *a, const struct arcad_settings *b);
/* A deep copy of from into to (to's old contents are not freed). */
void settings_copy(const struct arcad_settings *from, struct arcad_settings *to);
void settings_done(struct arcad_settings *s);
