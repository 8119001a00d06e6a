/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: arca-runtime's readers of what its caller hands it: a bundle's
 * config.json, an exec's process.json, and a cgroupsPath. Each gives a
 * result or an error, never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt_spec s;
	struct arca_error *err = NULL;
	if (rt_spec_parse((const char *)data, size, &s, &err) == 0) {
		free(rt_spec_user(&s));
		(void)rt_spec_vm_memory_mb(&s, 256);
		(void)rt_spec_vm_cpus(&s);
		rt_spec_done(&s);
	}
	err = arca_error_free(err);
	if (rt_process_parse((const char *)data, size, &s, &err) == 0)
		rt_spec_done(&s);
	err = arca_error_free(err);
	if (size < 4096) {
		char *text = strndup((const char *)data, size), *path = NULL;
		if (rt_cgroup_path(text, "id", &path, &err) == 0)
			free(path);
		arca_error_free(err);
		free(text);
	}
	return 0;
}
