/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arcad's settings, from its flags and from its configuration file
 * (/etc/arca/daemon.json, dockerd's key names where the meaning is the same),
 * merged as dockerd merges them: a setting given both ways is an error, an
 * unknown key is an error, a key of dockerd's that arcad does not apply is
 * refused by name. settings.c; main.c owns the instances.
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
	SETTING_LOG_LEVEL,
	SETTING_DEBUG,
	SETTING_KERNEL,
	SETTING_INITRAMFS,
	SETTING_MEMORY,
	SETTING_LIVE_RESTORE,
	SETTING_LABELS,
	SETTING_ADDRESS_POOLS,
	SETTING__COUNT,
};

/* The settings SIGHUP applies again from the file, as dockerd's reload does. */
#define SETTINGS_RELOADABLE                                                             \
	((1u << SETTING_INSECURE) | (1u << SETTING_LOG_LEVEL) | (1u << SETTING_DEBUG) | \
	 (1u << SETTING_LIVE_RESTORE) | (1u << SETTING_LABELS))

struct arcad_settings {
	char *host; /* the API socket's path */
	char *data_root;
	char *exec_root;
	char *group;
	char **insecure; /* NULL-terminated */
	int log_level;	 /* enum log_level */
	bool debug;
	char *kernel;
	char *initramfs;
	unsigned memory_mb;
	bool live_restore;
	char **labels;		 /* "key=value", NULL-terminated */
	struct ipam_pool *pools; /* default-address-pools, in order */
	size_t n_pools;
	unsigned set; /* 1 << enum setting, for each one given */
};

/* The key of a setting in daemon.json (and the name of its flag). */
const char *settings_key(enum setting s);
/* -H's value: unix://PATH or an absolute path; anything else (tcp://, fd://) is refused. */
int settings_parse_host(const char *value, char **ret, struct arca_error **err);
/* daemon.json's text into s (which it fills; s->set says what it held). path: for messages. */
int settings_from_json(const char *text, size_t len, const char *path, struct arcad_settings *s,
		       struct arca_error **err);
/* The file's settings under the flags' (into flags): both giving one is an error. */
int settings_merge(struct arcad_settings *flags, struct arcad_settings *file, const char *path,
		   struct arca_error **err);
/* --label's value: key=value. */
int settings_parse_label(const char *value, struct arca_error **err);
/* --default-address-pool's value: base=CIDR,size=N (dockerd's form). */
int settings_parse_pool(const char *value, struct ipam_pool *ret, struct arca_error **err);
/* Appends p to s's default-address-pools. */
void settings_add_pool(struct arcad_settings *s, const struct ipam_pool *p);
/* The settings whose values differ between a and b (1 << enum setting each). */
unsigned settings_differ(const struct arcad_settings *a, const struct arcad_settings *b);
/* A deep copy of from into to (to's old contents are not freed). */
void settings_copy(const struct arcad_settings *from, struct arcad_settings *to);
void settings_done(struct arcad_settings *s);
