/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the create and exec request bodies as arcad decodes them
 * (container_config_build, exec_config_check), and a volume's driver options
 * and name (volume_options_check, volume_name_is_valid) and its mounts
 * (container_mounts_parse: Binds, Mounts, Volumes), and daemon.json
 * (settings_from_json): any JSON a client sends must give a result or an
 * error, never a crash or a leak.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container-mounts.h"
#include "container.h"
#include "error.h"
#include "exec-session.h"
#include "settings.h"
#include "volume.h"

static const char *image_json = "{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/bin\",\"HOME=/root\"],"
				"\"WorkingDir\":\"/\",\"Labels\":{\"a\":\"b\"},"
				"\"Volumes\":{\"/data\":{}},\"Entrypoint\":[\"/init\"]}";

/* The create body's HostConfig, or the body itself when it is one. */
static json_t *req_hc_of(json_t *body)
{
	json_t *hc = json_is_object(body) ? json_object_get(body, "HostConfig") : NULL;
	return hc ? hc : body;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!body)
		return 0;
	json_t *img = json_loads(image_json, 0, NULL);
	struct arca_error *err = NULL;
	json_t *cfg = NULL, *hc = NULL;
	/* The create body carries HostConfig inside it, as the API sends it. */
	json_t *req = json_deep_copy(body);
	json_t *req_hc =
	    json_is_object(req) ? json_incref(json_object_get(req, "HostConfig")) : NULL;
	/* The create-option table runs too, with its warnings. */
	json_t *warnings = json_array();
	if (container_config_build(req, req_hc, img, &cfg, &hc, warnings, &err) == 0) {
		char *s = json_dumps(cfg, JSON_COMPACT);
		free(s);
		json_decref(cfg);
		json_decref(hc);
	}
	err = arca_error_free(err);
	json_decref(warnings);
	json_decref(req_hc);
	json_decref(req);
	json_t *exec = json_deep_copy(body);
	(void)exec_config_check(exec, &err);
	err = arca_error_free(err);
	json_decref(exec);
	json_t *specs = NULL;
	if (container_mounts_parse(body, req_hc_of(body), &specs, &err) == 0)
		json_decref(specs);
	err = arca_error_free(err);
	json_t *opts = json_is_object(body) ? json_object_get(body, "DriverOpts") : body;
	(void)volume_options_check("local", opts, &err);
	arca_error_free(err);
	err = NULL;
	(void)volume_options_check("block", opts, &err);
	err = arca_error_free(err);
	(void)volume_name_is_valid(json_string_value(json_object_get(body, "Name")));
	/* The same bytes as arcad's daemon.json. */
	struct arcad_settings st = { 0 };
	(void)settings_from_json((const char *)data, size, "daemon.json", &st, &err);
	err = arca_error_free(err);
	settings_done(&st);
	/* ... and as the value of each of its flags. */
	char *flag = strndup((const char *)data, size);
	for (int k = 0; flag && k < SETTING__COUNT; k++) {
		struct arcad_settings fs = { 0 };
		(void)settings_flag(&fs, (enum setting)k, flag, &err);
		err = arca_error_free(err);
		(void)settings_check(&fs, &err);
		err = arca_error_free(err);
		settings_done(&fs);
	}
	free(flag);
	json_decref(img);
	json_decref(body);
	return 0;
}
