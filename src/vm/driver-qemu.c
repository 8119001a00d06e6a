/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The QEMU backend: command line and QMP control.
 *
 * Machine: `microvm` (virtio-mmio, no PCI, no ACPI) when the kernel is an
 * ELF vmlinux with a PVH entry; `q35` with virtio-pci for a bzImage (the
 * documented fallback with Debian's packaged kernel). A microvm with
 * acpi=off cannot power off, so the guest reboots with reboot=t and QEMU
 * runs with -no-reboot: a guest reboot is a VM exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "log.h"
#include "qmp.h"
#include "strv.h"
#include "vm-internal.h"

#define QMP_FD	3
#define CHAN_FD 4
/* virtio-mmio transports of QEMU's microvm machine */
#define VM_MMIO_SLOTS 8

static char **add(char **argv, const char *s)
{
	return strv_append(argv, s);
}

static char **addf(char **argv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char **addf(char **argv, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		abort();
	return strv_append_take(argv, s);
}

/* Rejects a comma in a value QEMU would split as an option separator. */
static int check_opt_value(const char *what, const char *v, struct arca_error **err)
{
	if (strchr(v, ','))
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "%s `%s` contains a comma, which QEMU cannot take", what, v);
	return 0;
}

static int build_argv(const struct vm *vm, char ***ret_argv, struct arca_error **err)
{
	_cleanup_strv_free_ char **a = NULL;
	bool kvm = vm->accel.accel == VM_ACCEL_KVM;
	const char *dev = vm->microvm ? "device" : "pci";
	int r;

	r = 0;
	if (vm->fs_path)
		r = check_opt_value("run directory", vm->fs_path, err);
	for (size_t i = 0; r >= 0 && i < vm->n_disks; i++)
		r = check_opt_value("disk path", vm->disks[i].path, err);
	if (r < 0)
		return r;

	a = add(a, vm->qemu);
	a = addf(a, "-name");
	a = addf(a, "arca-%s", vm->id);
	a = add(a, "-nodefaults");
	a = add(a, "-no-user-config");
	a = add(a, "-nographic");
	a = add(a, "-no-reboot");
	/*
	 * Confinement (docs/security.md): QEMU's seccomp filter, always; as root it
	 * also becomes the VM's own user and is shut in its run directory once it
	 * has opened what it needs. Its pdeathsig does not survive that change of
	 * user, so a VM that dies with its owner is told to end when the owner goes.
	 */
	a = add(a, "-sandbox");
	/* set*id stays allowed for -runas itself (glibc runs it in every thread, after the
	 * filter is in): once every id is the VM's user, it cannot win root back. */
	a = addf(a, "on,obsolete=deny,elevateprivileges=%s,spawn=deny,resourcecontrol=deny",
		 vm->vmm_uid ? "allow" : "deny");
	if (vm->vmm_uid) {
		a = add(a, "-runas");
		a = addf(a, "%u:%u", (unsigned)vm->vmm_uid, (unsigned)vm->vmm_uid);
		a = add(a, "-chroot");
		a = add(a, vm->dir);
	}
	a = add(a, "-M");
	/* vhost-user (virtiofsd) reads guest RAM: it must be a shared memfd. That also
	 * keeps transparent huge pages from inflating it. */
	const char *shared_mem = vm->n_shares ? ",memory-backend=mem" : "";
	if (vm->microvm)
		a = addf(a, "microvm,acpi=off,pit=on,pic=on,rtc=on,isa-serial=on%s", shared_mem);
	else
		a = addf(a, "q35%s", shared_mem);
	if (vm->n_shares) {
		a = add(a, "-object");
		a = addf(a, "memory-backend-memfd,id=mem,size=%uM,share=on", vm->memory_mb);
		/* microvm's virtio-mmio defaults to legacy devices, which libvhost-user
		 * (virtiofsd) refuses: the VM's devices are virtio 1.0 then. */
		if (vm->microvm) {
			a = add(a, "-global");
			a = add(a, "virtio-mmio.force-legacy=false");
		}
	}
	a = add(a, "-accel");
	a = add(a, kvm ? "kvm" : "tcg");
	a = add(a, "-cpu");
	a = add(a, kvm ? "host" : "max");
	a = add(a, "-m");
	a = addf(a, "%u", vm->memory_mb);
	a = add(a, "-smp");
	a = addf(a, "%u", vm->cpus);
	a = add(a, "-kernel");
	a = add(a, vm->kernel);
	a = add(a, "-initrd");
	a = add(a, vm->initramfs);
	a = add(a, "-append");
	/* TCG: the guest's TSC is the host's; its rate given, no PIT calibration (accel.h). */
	char tsc[64] = "";
	if (!kvm && vm->accel.tsc_khz)
		snprintf(tsc, sizeof(tsc), " tsc_early_khz=%u tsc=reliable", vm->accel.tsc_khz);
	a = addf(a, "console=ttyS0 quiet reboot=t panic=-1%s%s arca.channel=%s%s%s%s%s",
		 vm->microvm ? " pci=off" : "", tsc, vm->use_vsock ? "vsock" : "serial",
		 vm->hostname ? " arca.hostname=" : "", vm->hostname ? vm->hostname : "",
		 vm->debug ? " arca.debug" : "",
		 vm->die_with_parent && vm->vmm_uid ? " arca.ephemeral" : "");
	/* The console goes to a socket arcad reads into a bounded log (console.c). */
	a = add(a, "-chardev");
	a = addf(a, "socket,id=con,fd=%d,server=on,wait=off", VM_CONSOLE_FD);
	a = add(a, "-serial");
	a = add(a, "chardev:con");

	a = add(a, "-chardev");
	a = addf(a, "socket,id=qmp,fd=%d,server=on,wait=off", QMP_FD);
	a = add(a, "-mon");
	a = add(a, "chardev=qmp,mode=control");

	if (vm->use_vsock) {
		a = add(a, "-device");
		a = addf(a, "vhost-vsock-%s,guest-cid=%u", dev, vm->vsock_cid);
	} else {
		a = add(a, "-device");
		a = addf(a, "virtio-serial-%s,max_ports=2", dev);
		a = add(a, "-chardev");
		a = addf(a, "socket,id=chan,fd=%d,server=on,wait=off", CHAN_FD);
		a = add(a, "-device");
		a = addf(a, "virtserialport,chardev=chan,name=%s", PROTO_SERIAL_PORT_NAME);
	}
	a = add(a, "-object");
	a = add(a, "rng-random,id=rng0,filename=/dev/urandom");
	a = add(a, "-device");
	a = addf(a, "virtio-rng-%s,rng=rng0", dev);

	if (vm->n_shares) {
		a = add(a, "-chardev");
		a = addf(a, "socket,id=fs,path=%s", vm->fs_path);
		a = add(a, "-device");
		a = addf(a, "vhost-user-fs-%s,queue-size=1024,chardev=fs,tag=%s", dev,
			 VM_SHARE_TAG);
	}
	if (vm->net_fd >= 0) {
		/* One virtio-net NIC, the trunk: each network is a VLAN on it. */
		a = add(a, "-netdev");
		a = addf(a, "tap,id=net0,fd=%d%s", VM_NET_FD, vm->net_vhost ? ",vhost=on" : "");
		a = add(a, "-device");
		a = addf(a, "virtio-net-%s,netdev=net0,mac=%02x:%02x:%02x:%02x:%02x:%02x", dev,
			 vm->net_mac[0], vm->net_mac[1], vm->net_mac[2], vm->net_mac[3],
			 vm->net_mac[4], vm->net_mac[5]);
	}
	bool scsi = vm->scsi_hotplug;
	for (size_t i = 0; i < vm->n_disks; i++)
		scsi |= vm->disks[i].scsi;
	if (scsi) {
		a = add(a, "-device");
		a = addf(a, "virtio-scsi-%s,id=scsi0", dev);
	}
	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct vm_disk *d = &vm->disks[i];
		a = add(a, "-drive");
		/* writeback: the host's page cache, and the guest's flushes (fsync) reach
		 * the host's disk, as overlay2 honours fsync. unsafe would drop them. */
		a = addf(a, "if=none,id=disk%zu,file=%s,format=raw,readonly=%s,cache=writeback", i,
			 d->path, d->readonly ? "on" : "off");
		a = add(a, "-device");
		if (d->scsi)
			a = addf(a, "scsi-hd,bus=scsi0.0,drive=disk%zu,serial=%s", i, d->serial);
		else
			a = addf(a, "virtio-blk-%s,drive=disk%zu,serial=%s", dev, i, d->serial);
	}
	/*
	 * Free page reporting: the guest hands back what it frees (in 2 MiB
	 * blocks, a few seconds later) and QEMU discards it, so a container's
	 * peak does not stay on the host (docs/vm-memory.md). A microvm has 8
	 * virtio-mmio slots: the balloon takes the last free one, never a disk's.
	 */
	size_t slots = 2 + (vm->n_shares > 0) + (vm->net_fd >= 0) + scsi;
	for (size_t i = 0; i < vm->n_disks; i++)
		slots += !vm->disks[i].scsi;
	if (!vm->microvm || slots < VM_MMIO_SLOTS) {
		a = add(a, "-device");
		a = addf(a, "virtio-balloon-%s,free-page-reporting=on", dev);
	} else {
		log_debug("vm %s: no virtio-mmio slot left for the balloon: freed guest memory "
			  "stays with the VM",
			  vm->id);
	}
	*ret_argv = TAKE_PTR(a);
	return 0;
}

static void on_qmp_event(struct qmp *q, const char *name, json_t *data, void *userdata)
{
	struct vm *vm = userdata;
	(void)q;
	(void)data;
	log_debug("vm %s: qmp event %s", vm->id, name);
}

static int attach(struct vm *vm, int control_fd)
{
	struct qmp *q;
	int r = qmp_new(vm->event, control_fd, on_qmp_event, NULL, vm, &q);
	if (r < 0)
		return r;
	vm->driver_data = q;
	return 0;
}

static void detach(struct vm *vm)
{
	vm->driver_data = qmp_free(vm->driver_data);
}

/* The replies of `pending` commands, answered once: the first error, or success. */
struct done_ctx {
	struct vm *vm;
	vm_done_fn cb;
	void *userdata;
	unsigned pending;
	int error;
	char *message;
};

static struct done_ctx *done_new(struct vm *vm, unsigned pending, vm_done_fn cb, void *userdata)
{
	struct done_ctx *d = xnew0(struct done_ctx, 1);
	*d = (struct done_ctx){ .vm = vm, .cb = cb, .userdata = userdata, .pending = pending };
	return d;
}

static void on_done(struct qmp *q, int error, const char *message, json_t *ret, void *userdata)
{
	struct done_ctx *d = userdata;
	(void)q;
	(void)ret;
	if (error && !d->error) {
		d->error = error;
		d->message = xstrdup(message ? message : "QMP error");
	}
	if (--d->pending > 0)
		return;
	if (d->cb && d->error != -ECANCELED)
		d->cb(d->vm, d->error, d->message, d->userdata);
	free(d->message);
	free(d);
}

static int execute(struct vm *vm, const char *cmd, vm_done_fn cb, void *userdata)
{
	if (!vm->driver_data)
		return -ENOTCONN;
	struct done_ctx *d = done_new(vm, 1, cb, userdata);
	int r = qmp_execute(vm->driver_data, cmd, NULL, on_done, d);
	if (r < 0)
		free(d);
	return r;
}

static int pause_vm(struct vm *vm, vm_done_fn cb, void *userdata)
{
	return execute(vm, "stop", cb, userdata);
}

static int resume_vm(struct vm *vm, vm_done_fn cb, void *userdata)
{
	return execute(vm, "cont", cb, userdata);
}

static int quit_vm(struct vm *vm)
{
	return execute(vm, "quit", NULL, NULL);
}

/*
 * add-fd puts the file in an fd set (its id chosen here, so the three
 * commands go at once: QMP runs them in order), blockdev-add opens it as
 * /dev/fdset/N with the cache of a -drive cache=writeback, and device_add
 * puts a scsi-hd with its serial on the controller.
 */
static int add_disk(struct vm *vm, const struct vm_disk *disk, int fd, vm_done_fn cb,
		    void *userdata)
{
	struct qmp *q = vm->driver_data;
	if (!q) {
		safe_close(fd);
		return -ENOTCONN;
	}
	unsigned n = ++vm->hotplugged;
	struct done_ctx *d = done_new(vm, 3, cb, userdata); /* its three commands */
	char node[32], dev[32], file[64];
	snprintf(node, sizeof(node), "hp%u", n);
	snprintf(dev, sizeof(dev), "hpdev%u", n);
	snprintf(file, sizeof(file), "/dev/fdset/%u", 100 + n);
	json_t *add = json_pack("{s:I}", "fdset-id", (json_int_t)(100 + n));
	json_t *blk = json_pack("{s:s, s:s, s:b, s:{s:b, s:b}, s:{s:s, s:s}}", "node-name", node,
				"driver", "raw", "read-only", disk->readonly, "cache", "direct", 0,
				"no-flush", 0, "file", "driver", "file", "filename", file);
	json_t *devargs = json_pack("{s:s, s:s, s:s, s:s, s:s}", "driver", "scsi-hd", "bus",
				    "scsi0.0", "drive", node, "serial", disk->serial, "id", dev);
	int r = qmp_execute_fd(q, "add-fd", add, fd, on_done, d);
	if (r < 0) {
		json_decref(blk);
		json_decref(devargs);
		free(d);
		return r;
	}
	/* Once one is queued, every reply (or cancellation) reaches on_done. */
	if (qmp_execute(q, "blockdev-add", blk, on_done, d) < 0)
		d->pending--;
	if (qmp_execute(q, "device_add", devargs, on_done, d) < 0)
		d->pending--;
	return 0;
}

const struct vm_driver_ops vm_driver_qemu = {
	.name = "qemu",
	.build_argv = build_argv,
	.attach = attach,
	.detach = detach,
	.pause = pause_vm,
	.resume = resume_vm,
	.quit = quit_vm,
	.add_disk = add_disk,
};
