/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's mount points on their way into a VM (container-mounts.h):
 * the block volumes' disks and who holds them, the shares, the guest
 * requests that mount everything in the root, and Docker's copy-up. Both
 * the container's own VM (a start) and its maintenance VM (cp while
 * stopped) use them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "container-maint.h"
#include "container-mounts.h"
#include "container.h"
#include "daemon.h"
#include "guest-client.h"
#include "guest-setup.h"
#include "hashmap.h"
#include "strv.h"
#include "vm.h"
#include "volume.h"

/* The guest finds block volume k by its disk's serial. */
static const char *const block_serials[CONTAINER_MAX_BLOCKS] = {
	"arca-vol0",  "arca-vol1",  "arca-vol2",  "arca-vol3",	"arca-vol4",
	"arca-vol5",  "arca-vol6",  "arca-vol7",  "arca-vol8",	"arca-vol9",
	"arca-vol10", "arca-vol11", "arca-vol12", "arca-vol13",
};

const char *container_mount_block_serial(size_t k)
{
	return k < CONTAINER_MAX_BLOCKS ? block_serials[k] : NULL;
}

void container_mounts_disks(const struct container *c, uint32_t skip, struct vm_config *cfg)
{
	size_t i, k = 0;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		if (!container_mount_is_block(m) || k >= CONTAINER_MAX_BLOCKS ||
		    cfg->n_disks >= VM_MAX_DISKS)
			continue; /* more were refused at create */
		size_t idx = k++;
		if (skip & (1u << idx))
			continue;
		cfg->disks[cfg->n_disks++] = (struct vm_disk){
			.path = json_string_value(json_object_get(m, "Source")),
			.serial = block_serials[idx],
			.readonly = !json_is_true(json_object_get(m, "RW")),
			.scsi = true,
		};
	}
}

/* The index of volume `name` among o's block volumes, or -1. */
static int block_index(const struct container *o, const char *name)
{
	size_t i;
	int k = 0;
	json_t *m;
	json_array_foreach(o->mounts, i, m)
	{
		if (!container_mount_is_block(m))
			continue;
		const char *n = json_string_value(json_object_get(m, "Name"));
		if (n && strcmp(n, name) == 0)
			return k;
		k++;
	}
	return -1;
}

/* The other container whose VM has block volume `name` attached (QEMU locks its file). */
static struct container *block_holder(const struct container *c, const char *name)
{
	struct volume *v;
	if (volume_find(c->d, name, &v, NULL) < 0)
		return NULL;
	_cleanup_strv_free_ char **users = volume_users(c->d, v);
	for (char **id = users; *id; id++) {
		struct container *o = hashmap_get(c->d->containers, *id);
		if (!o || o == c)
			continue;
		int k = block_index(o, name);
		if (container_is_running(o) || o->starting ||
		    (k >= 0 && (container_maint_blocks(o) & (1u << k))))
			return o;
	}
	return NULL;
}

uint32_t container_mounts_blocks_held(const struct container *c)
{
	uint32_t held = 0;
	size_t i, k = 0;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		if (!container_mount_is_block(m))
			continue;
		if (block_holder(c, json_string_value(json_object_get(m, "Name"))))
			held |= 1u << k;
		k++;
	}
	return held;
}

int container_mounts_block_conflict(const struct container *c, struct arca_error **err)
{
	size_t i;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		const char *name = json_string_value(json_object_get(m, "Name"));
		struct container *o = container_mount_is_block(m) ? block_holder(c, name) : NULL;
		if (o)
			return arca_error_set(
			    err, EBUSY, ARCA_ERR_CONFLICT,
			    "volume %s is a block volume, in use by container %s: "
			    "a block volume is used by one running container at a "
			    "time",
			    name, o->name);
	}
	return 0;
}

const char *container_mounts_block_covering(const struct container *c, const char *path,
					    uint32_t blocks)
{
	size_t i, k = 0;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		if (!container_mount_is_block(m))
			continue;
		const char *dest = json_string_value(json_object_get(m, "Destination"));
		size_t n = dest ? strlen(dest) : 0;
		if ((blocks & (1u << k++)) && n && strncmp(path, dest, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return dest;
	}
	return NULL;
}

size_t container_mounts_shares(struct container *c, const struct vm_share **ret)
{
	free(c->shares);
	c->shares = NULL;
	size_t n = 0, i;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		if (!container_mount_is_shared(m))
			continue;
		c->shares = xrealloc(c->shares, (n + 1) * sizeof(*c->shares));
		c->shares[n++] = (struct vm_share){
			.source = json_string_value(json_object_get(m, "Source")),
			.readonly = !json_is_true(json_object_get(m, "RW")),
		};
	}
	*ret = c->shares;
	return n;
}

/* "rw,noexec,size=64m" -> MS_* flags and the remaining data options. */
static unsigned long tmpfs_options(const char *opts, char **ret_data)
{
	static const struct {
		const char *name;
		unsigned long set, clear;
	} flags[] = {
		{ "ro", MS_RDONLY, 0 },	  { "rw", 0, MS_RDONLY },     { "noexec", MS_NOEXEC, 0 },
		{ "exec", 0, MS_NOEXEC }, { "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
		{ "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV },
	};
	unsigned long f = MS_NOSUID | MS_NODEV;
	_cleanup_free_ char *copy = xstrdup(opts ? opts : "");
	char *data = xstrdup("");
	char *save = NULL;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		bool known = false;
		for (size_t i = 0; i < ELEMENTSOF(flags); i++)
			if (strcmp(o, flags[i].name) == 0) {
				f = (f | flags[i].set) & ~flags[i].clear;
				known = true;
			}
		if (!known) {
			char *n = xasprintf("%s%s%s", data, data[0] ? "," : "", o);
			free(data);
			data = n;
		}
	}
	*ret_data = data;
	return f;
}

static size_t depth(json_t *m)
{
	size_t n = 0;
	for (const char *p = json_string_value(json_object_get(m, "Destination")); p && *p; p++)
		n += *p == '/';
	return n;
}

/* One mount point in place in the root: from the share or the block's mount, or a tmpfs. */
static void add_mount(struct guest_batch *b, json_t *m, size_t share, size_t block)
{
	struct guest_request rq;
	const char *dest = json_string_value(json_object_get(m, "Destination"));
	unsigned long ro = json_is_true(json_object_get(m, "RW")) ? 0 : MS_RDONLY;
	_cleanup_free_ char *dst = xasprintf(GUEST_ROOT "%s", dest);
	if (share != SIZE_MAX || block != SIZE_MAX) {
		_cleanup_free_ char *src = share != SIZE_MAX
					       ? xasprintf(GUEST_SHARES "/%zu", share)
					       : xasprintf(GUEST_BLOCKS "/%zu", block);
		guest_req_mount(&rq, src, dst, "", MS_BIND | ro, NULL);
	} else if (json_object_get(m, "TmpfsData")) {
		/* A local volume of type tmpfs: its o= options, as mount takes them. */
		_cleanup_free_ char *data = NULL;
		unsigned long flags =
		    tmpfs_options(json_string_value(json_object_get(m, "TmpfsData")), &data);
		guest_req_mount(&rq, "tmpfs", dst, "tmpfs", flags | ro, data);
	} else {
		json_int_t size = json_integer_value(json_object_get(m, "TmpfsSize"));
		json_int_t mode = json_integer_value(json_object_get(m, "TmpfsMode"));
		unsigned md = mode ? (unsigned)mode : 01777u;
		_cleanup_free_ char *data =
		    size ? xasprintf("mode=%04o,size=%lld", md, (long long)size)
			 : xasprintf("mode=%04o", md);
		guest_req_mount(&rq, "tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV | ro, data);
	}
	guest_batch_add(b, &rq);
}

void container_mounts_add_requests(const struct container *c, struct guest_batch *b,
				   uint32_t skip_blocks, bool with_tmpfs)
{
	size_t n = json_array_size(c->mounts), shared = 0, blocks = 0;
	struct guest_request rq;
	_cleanup_free_ size_t *share_of = xnew0(size_t, n + 1);
	_cleanup_free_ size_t *block_of = xnew0(size_t, n + 1);
	_cleanup_free_ bool *skip = xnew0(bool, n + 1);
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(c->mounts, i);
		share_of[i] = container_mount_is_shared(m) ? shared++ : SIZE_MAX;
		block_of[i] = container_mount_is_block(m) ? blocks++ : SIZE_MAX;
		bool is_tmpfs = share_of[i] == SIZE_MAX && block_of[i] == SIZE_MAX;
		skip[i] = (is_tmpfs && !with_tmpfs) ||
			  (block_of[i] != SIZE_MAX && (skip_blocks & (1u << block_of[i])));
		if (block_of[i] == SIZE_MAX || skip[i])
			continue;
		/* The volume's disk first, where copy-up finds it; bound in place below. */
		unsigned long ro = json_is_true(json_object_get(m, "RW")) ? 0 : MS_RDONLY;
		_cleanup_free_ char *src =
		    xasprintf("blkserial:%s", container_mount_block_serial(block_of[i]));
		_cleanup_free_ char *at = xasprintf(GUEST_BLOCKS "/%zu", block_of[i]);
		guest_req_mount(&rq, src, at, "ext4", MS_NOSUID | MS_NODEV | ro, NULL);
		guest_batch_add(b, &rq);
	}
	if (shared) {
		guest_req_mount(&rq, VM_SHARE_TAG, GUEST_SHARES, "virtiofs", MS_NOSUID | MS_NODEV,
				NULL);
		guest_batch_add(b, &rq);
	}
	/* Parents first. */
	size_t max_depth = 0;
	for (size_t i = 0; i < n; i++)
		max_depth = MAX(max_depth, depth(json_array_get(c->mounts, i)));
	for (size_t dp = 0; dp <= max_depth; dp++)
		for (size_t i = 0; i < n; i++)
			if (!skip[i] && depth(json_array_get(c->mounts, i)) == dp)
				add_mount(b, json_array_get(c->mounts, i), share_of[i],
					  block_of[i]);
	if (!with_tmpfs)
		return;
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(c->host_config, "Tmpfs"), key, v)
	{
		_cleanup_free_ char *data = NULL;
		unsigned long flags = tmpfs_options(json_string_value(v), &data);
		_cleanup_free_ char *dst = xasprintf(GUEST_ROOT "%s", key);
		guest_req_mount(&rq, "tmpfs", dst, "tmpfs", flags, data);
		guest_batch_add(b, &rq);
	}
}

static bool dir_is_empty(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	DIR *d = fdopendir(fd);
	if (!d)
		return false;
	fd = -EBADF; /* owned by d */
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/*
 * One copy-up line: the image's content at dst into target (a share or a block
 * volume's mount in the guest); with check_empty, only if target is empty there.
 */
static char *add_copy_up(char *script, const char *dst, const char *target, bool check_empty)
{
	char *line = xasprintf("%sif [ -d '/run/arca/lower%s' ]%s%s%s; then cp -a "
			       "'/run/arca/lower%s/.' '%s/' || exit 1; fi\n",
			       script ? script : "", dst, check_empty ? " && [ -z \"$(ls -A '" : "",
			       check_empty ? target : "", check_empty ? "')\" ]" : "", dst, target);
	free(script);
	return line;
}

char *container_mounts_copy_up_script(const struct container *c)
{
	char *script = NULL;
	size_t i, share = 0, block = 0;
	json_t *m;
	json_array_foreach(c->mounts, i, m)
	{
		bool is_block = container_mount_is_block(m);
		if (!is_block && !container_mount_is_shared(m))
			continue;
		size_t k = is_block ? block++ : share++;
		const char *type = json_string_value(json_object_get(m, "Type"));
		/* The destination was checked at create: absolute, and it travels quoted. */
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		if (strcmp(type, "volume") != 0 || json_is_true(json_object_get(m, "NoCopy")) ||
		    strchr(dst, '\''))
			continue;
		/* A local volume's emptiness is seen on the host; only the guest sees inside a
		 * block volume's disk, which takes no copy when attached read-only. */
		if (is_block && !json_is_true(json_object_get(m, "RW")))
			continue;
		if (!is_block && !dir_is_empty(json_string_value(json_object_get(m, "Source"))))
			continue;
		_cleanup_free_ char *target =
		    xasprintf("%s/%zu", is_block ? GUEST_BLOCKS : GUEST_SHARES, k);
		script = add_copy_up(script, dst, target, is_block);
	}
	return script;
}
