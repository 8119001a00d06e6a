/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libarca-vm: one lightweight VM, from spawn to a clean stop.
 *
 * vm_start() creates the VM's run directory (QMP and channel sockets,
 * console log), spawns the VMM in its own session, watches it through a
 * pidfd, and connects the guest channel. ready() fires when arca-init says
 * HELLO; exited() fires exactly once when the VMM process is gone and the
 * run directory has been removed.
 *
 * Stopping escalates: RPC shutdown, then QMP quit, then SIGKILL.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "accel.h"
#include "error.h"
#include "guest-client.h"
#include "time-util.h"

struct event;
struct vm;
struct qmp;

struct vm_disk {
	const char *path;
	const char *serial; /* the guest finds it as blkserial:<serial> */
	bool readonly;
	/* On the VM's one virtio-scsi controller (any number of disks, one
	 * virtio-mmio slot) rather than a virtio-blk device (a slot each). */
	bool scsi;
};

#define VM_MAX_DISKS 16

#include "share.h"

struct vm_config {
	const char *id;		 /* unique, [A-Za-z0-9_.-], at most 64 chars */
	const char *runtime_dir; /* the run directory is <runtime_dir>/<id> */
	const char *qemu;	 /* NULL: qemu-system-x86_64 from PATH */
	const char *kernel;
	const char *initramfs;
	unsigned memory_mb;
	unsigned cpus;
	struct vm_disk disks[VM_MAX_DISKS];
	size_t n_disks;
	/* Host paths shared with the guest through one virtiofsd (share.h); its RAM is
	 * then a shared memfd, as vhost-user needs. */
	const struct vm_share *shares;
	size_t n_shares;
	/* The VM's one NIC (docs/networking.md): a TAP the caller opened, handed to the
	 * VMM as an fd (the caller closes its own copy after vm_start). -1: none. */
	int net_fd;
	uint8_t net_mac[6];
	bool net_vhost; /* the VMM moves its packets with vhost-net */
	const char *hostname;
	const char *console_log; /* NULL: <run dir>/console.log, removed with it */
	/* The owner's accel_detect() result, which outlives vm_start; NULL: detected here
	 * (a daemon detects once: a detection opens /dev/kvm and times the host's TSC). */
	const struct accel_choice *accel;
	bool use_vsock;	      /* the caller decides, typically vsock_available() */
	bool debug;	      /* arca.debug on the kernel command line */
	bool die_with_parent; /* PR_SET_PDEATHSIG: the VM dies with its owner */
	usec_t boot_timeout;  /* 0: 120 s */
	uint32_t vsock_cid;   /* 0: a random one; vm_attach: the VM's */
	/* A virtio-scsi controller even without a SCSI disk, for vm_add_disk (a pooled VM). */
	bool scsi_hotplug;
	/* The VMM's nice value (setpriority), added to the owner's: a VM booted ahead
	 * (a pooled one) yields the CPU to the ones in use until vm_set_nice. */
	int nice;
};

struct vm_callbacks {
	void (*ready)(struct vm *vm, void *userdata);
	/* error < 0 when the VM ended unexpectedly (message in vm_last_error()). */
	void (*exited)(struct vm *vm, int error, void *userdata);
};

enum vm_state {
	VM_STARTING,
	VM_RUNNING,
	VM_STOPPING,
	VM_STOPPED,
};

int vm_start(struct event *e, const struct vm_config *cfg, const struct vm_callbacks *cb,
	     void *userdata, struct vm **ret, struct arca_error **err);
/*
 * Adopts a VM a previous owner started and left running (a daemon restart):
 * pid is its VMM, cfg as it was started (the run directory must be there).
 * Checks that pid is that VMM, reconnects QMP and the guest channel; ready()
 * fires when the guest says HELLO again (no boot timeout). A paused VM is
 * resumed (the caller pauses it again once it adopted what it needs).
 * -ESRCH when it is gone.
 */
int vm_attach(struct event *e, const struct vm_config *cfg, pid_t pid, bool paused,
	      const struct vm_callbacks *cb, void *userdata, struct vm **ret,
	      struct arca_error **err);
uint32_t vm_vsock_cid(const struct vm *vm);
/* Graceful stop: shutdown RPC, after `grace` QMP quit, 2 s later SIGKILL. */
void vm_stop(struct vm *vm, usec_t grace);
/* Ends it now, the guest unasked (nothing in it is wanted any more, not even what its
 * disks were not yet given): SIGKILL; exited() follows as for a stop. */
void vm_kill(struct vm *vm);
/* Pause/resume the whole VM (QMP stop/cont). cb may be NULL. */
typedef void (*vm_done_fn)(struct vm *vm, int error, const char *message, void *userdata);
/* The memory and vCPUs the VM was started with. */
void vm_size(const struct vm *vm, unsigned *ret_memory_mb, unsigned *ret_cpus);

int vm_pause(struct vm *vm, vm_done_fn cb, void *userdata);
int vm_resume(struct vm *vm, vm_done_fn cb, void *userdata);
/*
 * The run directory a dead owner left for VM id: the VMM its PID file names
 * (written before the exec, so there even before QEMU serves QMP) is killed;
 * one without a PID file is told to quit over QMP. Waits up to `wait` for it
 * to go, then removes the directory. -EBUSY if it is still there; 0 when
 * there was nothing or it is gone now.
 */
int vm_clear_stale(const char *runtime_dir, const char *id, usec_t wait);
/* Kills the VMM if still running, waits for it, removes the run directory. NULL-safe. */
struct vm *vm_free(struct vm *vm);
/*
 * Lets go of a running VM without ending it (an owner that exits and leaves it
 * to the next, which adopts it with vm_attach): closes the QMP, channel and
 * console connections, which the guest sees as its host leaving, and keeps
 * the VMM, its sharing process and the run directory. NULL-safe.
 */
struct vm *vm_release(struct vm *vm);

/*
 * Hot-plugs a disk on the VM's virtio-scsi controller (vm_config.scsi_hotplug):
 * the file is opened here and its fd passed to the VMM, which is shut in its
 * run directory. cb(0) once the device is in; the guest finds it by serial
 * (its blkserial lookup waits for the SCSI scan).
 */
int vm_add_disk(struct vm *vm, const struct vm_disk *disk, vm_done_fn cb, void *userdata,
		struct arca_error **err);
/* A running VM changes hands (a pooled VM a container claims): its callbacks from now on. */
void vm_set_owner(struct vm *vm, const struct vm_callbacks *cb, void *userdata);
/* The id it was started with (its run directory's name). */
const char *vm_id(const struct vm *vm);
/* Gives every thread of the VMM the nice value `nice` (a claimed pooled VM back to its owner's). */
int vm_set_nice(struct vm *vm, int nice, struct arca_error **err);

enum vm_state vm_get_state(const struct vm *vm);
struct guest_client *vm_guest(struct vm *vm);
const struct guest_hello *vm_hello(const struct vm *vm);
const struct accel_choice *vm_accel(const struct vm *vm);
pid_t vm_pid(const struct vm *vm);
const char *vm_run_dir(const struct vm *vm);
const char *vm_last_error(const struct vm *vm);
/* Microseconds from spawn to the guest's HELLO (0 before). */
usec_t vm_boot_usec(const struct vm *vm);

/* Locating guest assets: explicit path, $ARCA_KERNEL / $ARCA_INITRAMFS, then defaults. */
int vm_find_kernel(const char *explicit_path, char **ret, struct arca_error **err);
int vm_find_initramfs(const char *explicit_path, char **ret, struct arca_error **err);
/*
 * Where something installed beside arca's binaries is, in order: the build
 * tree's src/guest-init/BUILT (run from the build tree), then
 * ../libexec/arca/INSTALLED beside the binary and ARCA_LIBEXECDIR's. Returns
 * how many paths it put in out (the caller frees them).
 */
#define VM_INSTALLED_MAX 3
size_t vm_installed_paths(const char *built, const char *installed, char *out[VM_INSTALLED_MAX]);
