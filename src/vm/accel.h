/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Choosing the accelerator at run time (never hard-coded): KVM when the host
 * has usable hardware virtualization, TCG otherwise, with the reason.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum vm_accel {
	VM_ACCEL_AUTO,
	VM_ACCEL_KVM,
	VM_ACCEL_TCG,
};

struct accel_choice {
	enum vm_accel accel;
	char reason[256]; /* why this accelerator, for logs and `docker info` */
	/*
	 * TCG: the rate of the guest's TSC, which is the host's (QEMU reads the host's
	 * TSC), in kHz, measured; 0 when unknown or not x86. The guest is told it, so
	 * that it never calibrates against an emulated PIT (which fails on a busy host
	 * and leaves the guest on jiffies, ticking 250 times a second while idle).
	 */
	unsigned tsc_khz;
};

/*
 * Decides between KVM and TCG. `want` forces one (VM_ACCEL_KVM fails with
 * -ENODEV when KVM is unusable). The environment variable ARCA_ACCEL=kvm|tcg
 * overrides VM_ACCEL_AUTO. Paths are parameters so tests can point them at
 * fixtures: NULL means the real /dev/kvm, /proc/cpuinfo and /sys/module.
 */
int accel_detect(enum vm_accel want, const char *dev_kvm, const char *cpuinfo,
		 const char *sys_module, struct accel_choice *ret);
const char *accel_name(enum vm_accel a);
