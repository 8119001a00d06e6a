/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's file system in the guest, from the spec: the bundle's
 * rootfs (share 0) bound at GUEST_ROOT, then its mounts in the spec's order
 * (a bind's source is a share of its own), then the devices and links a
 * /dev tmpfs needs, as runc makes them. Masked and read-only paths follow
 * in monitor.c, where they run as a script in the root.
 */
#include <string.h>
#include <sys/mount.h>

#include "alloc.h"
#include "cleanup.h"
#include "guest-setup.h"
#include "monitor.h"
#include "proto.h"
#include "vm.h"

size_t monitor_shares(const struct monitor_args *a, struct vm_share *shares, size_t max)
{
	size_t n = 0;
	shares[n++] = (struct vm_share){ .source = a->rootfs, .readonly = a->spec->root_readonly };
	for (size_t i = 0; i < a->spec->n_mounts && n < max; i++)
		if (a->bind_sources[i])
			shares[n++] = (struct vm_share){
				.source = a->bind_sources[i],
				.readonly = (a->spec->mounts[i].flags & MS_RDONLY) != 0,
			};
	return n;
}

static void add_mount(struct guest_batch *b, const char *source, const char *dest,
		      const char *fstype, unsigned long flags, const char *data)
{
	struct guest_request rq;
	_cleanup_free_ char *target = xasprintf(GUEST_ROOT "%s", strcmp(dest, "/") ? dest : "");
	guest_req_mount(&rq, source, target, fstype, flags, data);
	if (strcmp(fstype, "sysfs") == 0)
		proto_put_u32(&rq.w, PROTO_T_NETNS, 1); /* its /sys/class/net: the container's */
	guest_batch_add(b, &rq);
}

/* What runc puts in a /dev it mounted: the guest's own device nodes bound in, and links. */
static void add_dev(struct guest_batch *b)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "/dev/fd", "/proc/self/fd" },	      { "/dev/stdin", "/proc/self/fd/0" },
		{ "/dev/stdout", "/proc/self/fd/1" }, { "/dev/stderr", "/proc/self/fd/2" },
		{ "/dev/ptmx", "pts/ptmx" },	      { "/dev/core", "/proc/kcore" },
	};
	for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
		_cleanup_free_ char *src = xasprintf("/dev/%s", nodes[i]);
		add_mount(b, src, src, "", MS_BIND, NULL);
	}
	for (size_t i = 0; i < ELEMENTSOF(links); i++) {
		struct guest_request rq;
		_cleanup_free_ char *path = xasprintf(GUEST_ROOT "%s", links[i][0]);
		guest_request_init(&rq, PROTO_OP_SYMLINK);
		proto_put_str(&rq.w, PROTO_T_PATH, path);
		proto_put_str(&rq.w, PROTO_T_TARGET, links[i][1]);
		guest_batch_add(b, &rq);
	}
}

void monitor_add_mounts(struct guest_batch *b, const struct rt_spec *spec,
			char *const *bind_sources)
{
	struct guest_request rq;
	guest_req_mount(&rq, VM_SHARE_TAG, GUEST_SHARES, "virtiofs", MS_NOSUID | MS_NODEV, NULL);
	guest_batch_add(b, &rq);
	add_mount(b, GUEST_SHARES "/0", "/", "", MS_BIND | (spec->root_readonly ? MS_RDONLY : 0),
		  NULL);
	size_t share = 1;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct rt_mount *m = &spec->mounts[i];
		const char *type = m->type;
		if (bind_sources[i]) {
			_cleanup_free_ char *src = xasprintf(GUEST_SHARES "/%zu", share++);
			add_mount(b, src, m->destination, "", m->flags, m->data);
		} else if (strcmp(type, "devpts") == 0) {
			/* The guest's own instance (gid=5, mode=620, ptmxmode=666, as runc's
			 * callers ask), where arca-init opens the process's terminal: a new
			 * instance would not hold it, and `tty` would find no name for it. */
			add_mount(b, "/dev/pts", m->destination, "", MS_BIND | MS_REC, NULL);
		} else if (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0) {
			/* The guest's hierarchy is cgroup v2, whatever the host's. */
			add_mount(b, "cgroup2", m->destination, "cgroup2", m->flags, NULL);
		} else {
			add_mount(b, m->source && m->source[0] ? m->source : type, m->destination,
				  type, m->flags, m->data);
		}
		if (strcmp(m->destination, "/dev") == 0 && strcmp(type, "tmpfs") == 0)
			add_dev(b);
	}
}
