/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resolving a Docker user spec ("name", "uid", "name:group", "uid:gid", ...)
 * against the container root's /etc/passwd and /etc/group, the way
 * runc/moby's GetExecUser does: a name must exist; a number need not; an
 * explicit group replaces the supplementary groups from /etc/group; group-add
 * entries are appended; HOME comes from passwd, else "/".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cleanup.h"
#include "fd-util.h"
#include "init.h"
#include "parse-util.h"

#define MAX_GROUPS 64

/* Splits a colon-separated line in place into at most max fields. */
static size_t split_colon(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (n < max) {
		fields[n++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	return n;
}

static char *read_etc(const char *root, const char *name)
{
	char path[4096];
	char *s = NULL;
	snprintf(path, sizeof(path), "%s/etc/%s", root && root[0] ? root : "", name);
	if (read_file_at(AT_FDCWD, path, 4 << 20, &s, NULL) < 0)
		return NULL;
	return s;
}

struct pw_entry {
	char name[256];
	uid_t uid;
	gid_t gid;
	char home[1024];
};

/* Looks a user up by name or (if by_id) uid. Returns 1 if found. */
static int find_passwd(const char *passwd, const char *name, bool by_id, uint32_t id,
		       struct pw_entry *ret)
{
	if (!passwd)
		return 0;
	_cleanup_free_ char *copy = xstrdup(passwd);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[7] = { 0 };
		if (line[0] == '#' || split_colon(line, f, 7) < 4)
			continue;
		uint32_t uid, gid;
		if (safe_atou32(f[2], &uid) < 0 || safe_atou32(f[3], &gid) < 0)
			continue;
		if (by_id ? uid != id : strcmp(f[0], name) != 0)
			continue;
		snprintf(ret->name, sizeof(ret->name), "%s", f[0]);
		ret->uid = uid;
		ret->gid = gid;
		snprintf(ret->home, sizeof(ret->home), "%s", f[5] && f[5][0] ? f[5] : "/");
		return 1;
	}
	return 0;
}

/* Finds a group by name or gid; 1 if found. */
static int find_group(const char *group, const char *name, bool by_id, uint32_t id, gid_t *ret)
{
	if (!group)
		return 0;
	_cleanup_free_ char *copy = xstrdup(group);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4];
		uint32_t gid;
		if (line[0] == '#' || split_colon(line, f, 4) < 3 || safe_atou32(f[2], &gid) < 0)
			continue;
		if (by_id ? gid != id : strcmp(f[0], name) != 0)
			continue;
		*ret = gid;
		return 1;
	}
	return 0;
}

/* Groups that list `user` as a member. */
static void member_groups(const char *group, const char *user, gid_t *out, size_t *n)
{
	if (!group || !user[0])
		return;
	_cleanup_free_ char *copy = xstrdup(group);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line && *n < MAX_GROUPS;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[4];
		uint32_t gid;
		if (line[0] == '#' || split_colon(line, f, 4) < 4 || safe_atou32(f[2], &gid) < 0)
			continue;
		char *save2 = NULL;
		for (char *m = strtok_r(f[3], ",", &save2); m; m = strtok_r(NULL, ",", &save2))
			if (strcmp(m, user) == 0) {
				out[(*n)++] = gid;
				break;
			}
	}
}

int user_resolve(const char *root, const char *spec, char *const *group_add, struct user_ids *ret,
		 char *errbuf, size_t errlen)
{
	_cleanup_free_ char *passwd = read_etc(root, "passwd");
	_cleanup_free_ char *group = read_etc(root, "group");
	_cleanup_free_ char *copy = xstrdup(spec ? spec : "");
	struct pw_entry pw = { .uid = 0, .gid = 0 };
	gid_t groups[MAX_GROUPS];
	size_t n_groups = 0;
	uint32_t id;

	snprintf(pw.home, sizeof(pw.home), "/");
	char *user = copy;
	char *grp = strchr(copy, ':');
	if (grp)
		*grp++ = '\0';

	if (user[0] == '\0') {
		(void)find_passwd(passwd, NULL, true, 0, &pw);
	} else if (safe_atou32(user, &id) == 0) {
		if (!find_passwd(passwd, NULL, true, id, &pw)) {
			pw.uid = id;
			pw.gid = 0;
		}
	} else if (!find_passwd(passwd, user, false, 0, &pw)) {
		snprintf(errbuf, errlen,
			 "unable to find user %s: no matching entries in passwd file", user);
		return -ESRCH;
	}

	if (grp && grp[0]) {
		gid_t gid;
		if (safe_atou32(grp, &id) == 0)
			gid = id;
		else if (!find_group(group, grp, false, 0, &gid)) {
			snprintf(errbuf, errlen,
				 "unable to find group %s: no matching entries in group file", grp);
			return -ESRCH;
		}
		pw.gid = gid;
	} else {
		member_groups(group, pw.name, groups, &n_groups);
	}

	for (size_t i = 0; group_add && group_add[i] && n_groups < MAX_GROUPS; i++) {
		gid_t gid;
		if (safe_atou32(group_add[i], &id) == 0)
			gid = id;
		else if (!find_group(group, group_add[i], false, 0, &gid)) {
			snprintf(errbuf, errlen,
				 "unable to find group %s: no matching entries in group file",
				 group_add[i]);
			return -ESRCH;
		}
		groups[n_groups++] = gid;
	}
	if (n_groups == 0)
		groups[n_groups++] = pw.gid;

	ret->uid = pw.uid;
	ret->gid = pw.gid;
	ret->groups = xmemdup(groups, n_groups * sizeof(gid_t));
	ret->n_groups = n_groups;
	ret->home = xstrdup(pw.home);
	return 0;
}

void user_ids_done(struct user_ids *u)
{
	free(u->groups);
	free(u->home);
	*u = (struct user_ids){ 0 };
}

int user_chown_ids(const char *root, const char *spec, uid_t *ret_uid, gid_t *ret_gid, char *errbuf,
		   size_t errlen)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	char *grp = strchr(copy, ':');
	if (grp) {
		*grp++ = '\0';
		if (strchr(grp, ':')) {
			snprintf(errbuf, errlen, "invalid chown string format: %s", spec);
			return -EINVAL;
		}
	} else {
		grp = copy; /* dockerd: the group defaults to the user string */
	}
	uint32_t id;
	if (safe_atou32(copy, &id) == 0) {
		*ret_uid = id;
	} else {
		_cleanup_free_ char *passwd = read_etc(root, "passwd");
		struct pw_entry pw;
		if (!find_passwd(passwd, copy, false, 0, &pw)) {
			snprintf(errbuf, errlen, "can't find uid for user %s: no such user: %s",
				 copy, copy);
			return -ESRCH;
		}
		*ret_uid = pw.uid;
	}
	if (safe_atou32(grp, &id) == 0) {
		*ret_gid = id;
	} else {
		_cleanup_free_ char *group = read_etc(root, "group");
		if (!find_group(group, grp, false, 0, ret_gid)) {
			snprintf(errbuf, errlen, "can't find gid for group %s: no such group: %s",
				 grp, grp);
			return -ESRCH;
		}
	}
	return 0;
}
