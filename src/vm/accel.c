/* SPDX-License-Identifier: Apache-2.0 */
/*
 * KVM usability check. KVM is used only when all of these hold:
 *   - /dev/kvm opens read-write and KVM_GET_API_VERSION answers 12;
 *   - KVM_CREATE_VM succeeds;
 *   - the CPU advertises vmx or svm in /proc/cpuinfo, and the kvm module in
 *     use is not kvm_pvm. PVM (a nested, paravirtualized KVM) hangs stock
 *     guest kernels, so on such hosts we fall back to TCG and say so.
 */
#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"

static bool cpu_has_hw_virt(const char *cpuinfo)
{
	_cleanup_free_ char *s = NULL;
	if (read_file_at(AT_FDCWD, cpuinfo, 16 << 20, &s, NULL) < 0)
		return false;
	char *save = NULL, *save2 = NULL;
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		for (char *f = strtok_r(colon + 1, " \t", &save2); f;
		     f = strtok_r(NULL, " \t", &save2))
			if (strcmp(f, "vmx") == 0 || strcmp(f, "svm") == 0)
				return true;
		return false;
	}
	return false;
}

static int kvm_probe(const char *dev_kvm, char *why, size_t len)
{
	_cleanup_close_ int fd = open(dev_kvm, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "%s: %s", dev_kvm, strerror(errno));
		return -ENODEV;
	}
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		snprintf(why, len, "%s: unexpected API version %d", dev_kvm, v);
		return -ENODEV;
	}
	_cleanup_close_ int vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(why, len, "%s: KVM_CREATE_VM failed: %s", dev_kvm, strerror(errno));
		return -ENODEV;
	}
	return 0;
}

int accel_detect(enum vm_accel want, const char *dev_kvm, const char *cpuinfo,
		 const char *sys_module, struct accel_choice *ret)
{
	char why[200] = "";
	char path[512];
	struct stat st;

	dev_kvm = dev_kvm ? dev_kvm : "/dev/kvm";
	cpuinfo = cpuinfo ? cpuinfo : "/proc/cpuinfo";
	sys_module = sys_module ? sys_module : "/sys/module";

	if (want == VM_ACCEL_AUTO) {
		const char *env = getenv("ARCA_ACCEL");
		if (env && strcmp(env, "kvm") == 0)
			want = VM_ACCEL_KVM;
		else if (env && strcmp(env, "tcg") == 0)
			want = VM_ACCEL_TCG;
	}
	if (want == VM_ACCEL_TCG) {
		*ret = (struct accel_choice){ .accel = VM_ACCEL_TCG };
		snprintf(ret->reason, sizeof(ret->reason), "TCG (software emulation): requested");
		return 0;
	}

	int r = kvm_probe(dev_kvm, why, sizeof(why));
	if (r >= 0) {
		snprintf(path, sizeof(path), "%s/kvm_pvm", sys_module);
		if (stat(path, &st) == 0) {
			snprintf(why, sizeof(why),
				 "KVM is PVM (kvm_pvm), a nested mode that hangs stock kernels");
			r = -ENODEV;
		} else if (!cpu_has_hw_virt(cpuinfo)) {
			snprintf(why, sizeof(why), "the CPU advertises neither vmx nor svm");
			r = -ENODEV;
		}
	}
	if (r >= 0) {
		*ret = (struct accel_choice){ .accel = VM_ACCEL_KVM };
		snprintf(ret->reason, sizeof(ret->reason), "KVM (hardware virtualization)");
		return 0;
	}
	if (want == VM_ACCEL_KVM) {
		snprintf(ret->reason, sizeof(ret->reason), "KVM requested but unusable: %s", why);
		return -ENODEV;
	}
	*ret = (struct accel_choice){ .accel = VM_ACCEL_TCG };
	snprintf(ret->reason, sizeof(ret->reason), "TCG (software emulation): %s", why);
	return 0;
}

const char *accel_name(enum vm_accel a)
{
	switch (a) {
	case VM_ACCEL_KVM: return "kvm";
	case VM_ACCEL_TCG: return "tcg";
	default: return "auto";
	}
}
