/* SPDX-License-Identifier: Apache-2.0 */
/* src/guest-init/user.c: Docker user specs against a root's passwd and group files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "init.h"
#include "tap.h"

static char root[] = "/tmp/arca-user-XXXXXX";

static void put(const char *name, const char *content)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/etc/%s", root, name);
	FILE *f = fopen(p, "w");
	fputs(content, f);
	fclose(f);
}

int main(void)
{
	struct user_ids u;
	char err[256];
	char etc[300];

	ok(mkdtemp(root) != NULL, "fixture root");
	snprintf(etc, sizeof(etc), "%s/etc", root);
	mkdir(etc, 0755);
	put("passwd",
	    "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken line\n"
	    "app:x:1000:1000:App:/home/app:/bin/sh\nnobody:x:65534:65534::/nonexistent:\n");
	put("group", "root:x:0:\nwheel:x:10:app,other\nstaff:x:50:app\napp:x:1000:\n");

	is_int(user_resolve(root, "", NULL, &u, err, sizeof(err)), 0, "empty spec is root");
	is_int(u.uid, 0, "uid 0");
	is_str(u.home, "/root", "root's home");
	user_ids_done(&u);

	is_int(user_resolve(root, "app", NULL, &u, err, sizeof(err)), 0, "by name");
	is_int(u.uid, 1000, "uid");
	is_int(u.gid, 1000, "primary gid from passwd");
	is_int(u.n_groups, 2, "supplementary groups from /etc/group");
	is_str(u.home, "/home/app", "home");
	user_ids_done(&u);

	is_int(user_resolve(root, "app:staff", NULL, &u, err, sizeof(err)), 0, "name:group");
	is_int(u.gid, 50, "explicit group");
	is_int(u.n_groups, 1, "explicit group replaces supplementary ones");
	user_ids_done(&u);

	is_int(user_resolve(root, "4242:4343", NULL, &u, err, sizeof(err)), 0, "numeric ids");
	is_int(u.uid, 4242, "uid not in passwd is fine");
	is_int(u.gid, 4343, "gid");
	is_str(u.home, "/", "default home");
	user_ids_done(&u);

	char *add[] = { "wheel", "99", NULL };
	is_int(user_resolve(root, "nobody", add, &u, err, sizeof(err)), 0, "group-add");
	is_int(u.n_groups, 2, "group-add entries appended");
	is_int(u.groups[0], 10, "named group resolved");
	user_ids_done(&u);

	is_int(user_resolve(root, "ghost", NULL, &u, err, sizeof(err)), -ESRCH, "unknown name");
	is_str(err, "unable to find user ghost: no matching entries in passwd file",
	       "Docker's message");
	is_int(user_resolve(root, "app:ghosts", NULL, &u, err, sizeof(err)), -ESRCH,
	       "unknown group");
	is_int(user_resolve("/nonexistent-root", "0", NULL, &u, err, sizeof(err)), 0,
	       "no passwd file: numeric works");
	user_ids_done(&u);
	user_ids_done(&u);
	ok(u.groups == NULL, "user_ids_done twice is safe");

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	(void)!system(cmd);
	return tap_done();
}
