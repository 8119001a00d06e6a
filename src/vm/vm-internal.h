/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What vm.c shares with its VMM backends (rule N3): struct vm and the
 * driver ops table. A backend is one file exporting one const table.
 */
#pragma once

/* The VMM inherits its QMP socket as fd 3, the channel as 4, the TAP as 5, and
 * the console's listening socket as 6. */
#define VM_NET_FD     5
#define VM_CONSOLE_FD 6

/* In its run directory: the VMM's PID, written by its process before the exec. */
#define VMM_PID_FILE "vmm.pid"

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pidfd.h"
#include "vm.h"

struct vm_driver_ops {
	const char *name;
	/*
	 * Builds the VMM argv. The VMM receives the listening QMP socket as fd 3
	 * and, for virtio-serial, the listening channel socket as fd 4.
	 */
	int (*build_argv)(const struct vm *vm, char ***ret_argv, struct arca_error **err);
	/* Called after spawn with our connected control socket; takes ownership. */
	int (*attach)(struct vm *vm, int control_fd);
	void (*detach)(struct vm *vm);
	int (*pause)(struct vm *vm, vm_done_fn cb, void *userdata);
	int (*resume)(struct vm *vm, vm_done_fn cb, void *userdata);
	/* Ask the VMM to exit now (the guest gets no say). */
	int (*quit)(struct vm *vm);
	/* Hot-plugs disk, fd its open file (taken). */
	int (*add_disk)(struct vm *vm, const struct vm_disk *disk, int fd, vm_done_fn cb,
			void *userdata);
};

extern const struct vm_driver_ops vm_driver_qemu;

struct vm {
	struct event *event;
	bool attached;	  /* adopted from a previous owner (vm_attach): not our child */
	int attach_stage; /* vm_attach of a paused VM: the next step */
	const struct vm_driver_ops *driver;
	void *driver_data;

	/* owned copies of the configuration */
	char *id;
	char *dir;
	char *qemu;
	char *kernel;
	char *initramfs;
	char *hostname;
	char *console_log;
	char *console_path; /* the socket QEMU serves the serial console on */
	char *qemu_log;
	char *qmp_path;
	char *pid_path; /* VMM_PID_FILE */
	char *chan_path;
	struct vm_disk disks[VM_MAX_DISKS];
	size_t n_disks;
	struct vm_share *shares; /* owned sources */
	size_t n_shares;
	char *fs_path; /* the vhost-user-fs socket, when there are shares */
	int net_fd;    /* the TAP given (not owned), -1 when none */
	uint8_t net_mac[6];
	bool net_vhost;
	pid_t share_pid; /* our virtiofsd (0: none, or an adopted VM's) */
	int share_pidfd;
	struct event_source *share_src;
	unsigned memory_mb;
	unsigned cpus;
	bool debug;
	bool die_with_parent;
	uid_t vmm_uid; /* the VMM's own user once set up (vmm-user.h); 0: ours (not root) */
	bool use_vsock;
	bool microvm;
	bool scsi_hotplug;
	int nice;
	unsigned hotplugged; /* disks added by vm_add_disk, which names them */
	uint32_t vsock_cid;
	usec_t boot_timeout;
	struct accel_choice accel;

	enum vm_state state;
	pid_t pid;
	int pidfd;
	struct event_source *pid_src;
	struct event_source *timer;
	int stop_stage;
	struct guest_client *guest;
	struct vm_console *console; /* reads the serial console into console_log */
	struct vsock_dialer *dialer;
	struct guest_hello hello;
	usec_t t_spawn;
	usec_t t_ready;
	char *last_error;
	bool user_console_log;

	const struct vm_callbacks *cb;
	void *userdata;
};

/* stale.c: a VMM found again by its run directory, without its owner. */
/* Writes getpid() to path; for the forked child before its exec (async-signal-safe). */
void vmm_pid_write(const char *path);
/* Whether pid is still the VMM of dir (its command line names dir, or its -name the
 * VM's id): not a reused PID. */
bool vmm_is_ours(pid_t pid, const char *dir);
