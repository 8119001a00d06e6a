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
	SETTING__COUNT,
};

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
void settings_done(struct arcad_settings *s);
