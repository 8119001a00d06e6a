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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

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

#if defined(__x86_64__)
/* A TSC reading and the CLOCK_MONOTONIC_RAW time at it: the tightest of a few brackets. */
static void tsc_sample(uint64_t *tsc, int64_t *ns)
{
	int64_t best = INT64_MAX;
	for (int i = 0; i < 5; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC_RAW, &a);
		uint64_t t = __rdtsc();
		clock_gettime(CLOCK_MONOTONIC_RAW, &b);
		int64_t na = (int64_t)a.tv_sec * 1000000000 + a.tv_nsec;
		int64_t nb = (int64_t)b.tv_sec * 1000000000 + b.tv_nsec;
		if (nb - na < best) {
			best = nb - na;
			*tsc = t;
			*ns = na + (nb - na) / 2;
		}
	}
}

/* The host's TSC rate over 2 ms: within about 50 ppm, better than a PIT calibration. */
static unsigned host_tsc_khz(const char *cpuinfo)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, cpuinfo, 1 << 20, &text, NULL) < 0 ||
	    !strstr(text, " constant_tsc") || !strstr(text, " nonstop_tsc"))
		return 0; /* a TSC that changes rate is no clock to give a guest */
	uint64_t t0 = 0, t1 = 0;
	int64_t n0 = 0, n1 = 0;
	tsc_sample(&t0, &n0);
	(void)nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	tsc_sample(&t1, &n1);
	if (n1 <= n0 || t1 <= t0)
		return 0;
	double khz = (double)(t1 - t0) * 1e6 / (double)(n1 - n0);
	return khz > 1e5 && khz < 1e7 ? (unsigned)(khz + 0.5) : 0;
}
#else
static unsigned host_tsc_khz(const char *cpuinfo)
{
	(void)cpuinfo;
	return 0;
}
#endif

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
		*ret = (struct accel_choice){ .accel = VM_ACCEL_TCG,
					      .tsc_khz = host_tsc_khz(cpuinfo) };
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
	*ret = (struct accel_choice){ .accel = VM_ACCEL_TCG, .tsc_khz = host_tsc_khz(cpuinfo) };
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
