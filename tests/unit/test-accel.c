/* SPDX-License-Identifier: Apache-2.0 */
/* src/vm/accel.c: the KVM/TCG decision, against fixture files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accel.h"
#include "tap.h"

static char dir[] = "/tmp/arca-accel-XXXXXX";

static void write_file(const char *name, const char *content)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	fputs(content, f);
	fclose(f);
}

int main(void)
{
	struct accel_choice c;
	char cpuinfo[256], mod[256], nokvm[256];

	unsetenv("ARCA_ACCEL");
	ok(mkdtemp(dir) != NULL, "fixture dir");
	snprintf(cpuinfo, sizeof(cpuinfo), "%s/cpuinfo", dir);
	snprintf(mod, sizeof(mod), "%s/module", dir);
	snprintf(nokvm, sizeof(nokvm), "%s/no-kvm", dir);
	mkdir(mod, 0755);
	write_file("cpuinfo", "processor : 0\nflags : fpu sse2 hypervisor\n");

	is_int(accel_detect(VM_ACCEL_AUTO, nokvm, cpuinfo, mod, &c), 0, "no /dev/kvm: ok");
	is_int(c.accel, VM_ACCEL_TCG, "falls back to TCG");
	ok(strstr(c.reason, "TCG") && strstr(c.reason, "no-kvm"), "reason names the device: %s",
	   c.reason);

	is_int(c.tsc_khz, 0, "a TSC without constant_tsc and nonstop_tsc is not given a guest");
	write_file("cpuinfo", "processor : 0\nflags : fpu tsc constant_tsc nonstop_tsc sse2\n");
	is_int(accel_detect(VM_ACCEL_TCG, nokvm, cpuinfo, mod, &c), 0, "TCG with an invariant TSC");
#if defined(__x86_64__)
	ok(c.tsc_khz > 100000 && c.tsc_khz < 10000000, "the host's TSC rate measured: %u kHz",
	   c.tsc_khz);
	unsigned first = c.tsc_khz;
	(void)accel_detect(VM_ACCEL_TCG, nokvm, cpuinfo, mod, &c);
	ok(c.tsc_khz > first - first / 1000 && c.tsc_khz < first + first / 1000,
	   "measured again within 0.1%%: %u kHz", c.tsc_khz);
#else
	is_int(c.tsc_khz, 0, "no TSC rate off x86");
#endif
	write_file("cpuinfo", "processor : 0\nflags : fpu sse2 hypervisor\n");
	is_int(accel_detect(VM_ACCEL_KVM, nokvm, cpuinfo, mod, &c), -ENODEV,
	       "KVM requested but unusable fails");
	is_int(accel_detect(VM_ACCEL_TCG, NULL, NULL, NULL, &c), 0, "TCG on request");
	is_int(c.accel, VM_ACCEL_TCG, "TCG chosen");

	setenv("ARCA_ACCEL", "tcg", 1);
	is_int(accel_detect(VM_ACCEL_AUTO, NULL, NULL, NULL, &c), 0, "ARCA_ACCEL=tcg");
	ok(strstr(c.reason, "requested") != NULL, "env override is explained");
	unsetenv("ARCA_ACCEL");

	/* On this host: whatever we pick, there is a reason, and it is never a guess. */
	is_int(accel_detect(VM_ACCEL_AUTO, NULL, NULL, NULL, &c), 0, "host detection");
	ok(c.reason[0] != '\0', "host reason: %s", c.reason);
	is_str(accel_name(VM_ACCEL_KVM), "kvm", "names");

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	return tap_done();
}
