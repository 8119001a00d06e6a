/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `/init opaque mark|unmark DIR`: arca-init as a helper, run by the host on
 * an overlayfs upper directory that is not mounted. overlayfs marks a
 * directory that replaced a lower one (rm -rf d; mkdir d) with the xattr
 * trusted.overlay.opaque=y, which a tar of the upper loses; an OCI layer
 * says the same with an empty ".wh..wh..opq" file in it. mark adds those
 * files before the host tars the upper, unmark removes them after.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "init.h"

#define OPAQUE_MARK ".wh..wh..opq"

static bool marking;
static int failures;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type != FTW_D)
		return 0;
	char v[2] = "";
	ssize_t n = lgetxattr(path, "trusted.overlay.opaque", v, sizeof(v));
	if (n != 1 || v[0] != 'y')
		return 0;
	char mark[4096];
	if (snprintf(mark, sizeof(mark), "%s/%s", path, OPAQUE_MARK) >= (int)sizeof(mark)) {
		failures++;
		return 0;
	}
	if (marking) {
		int fd = open(mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 && errno != EEXIST) {
			fprintf(stderr, "opaque: %s: %m\n", mark);
			failures++;
		}
		if (fd >= 0)
			close(fd);
	} else if (unlink(mark) < 0 && errno != ENOENT) {
		fprintf(stderr, "opaque: %s: %m\n", mark);
		failures++;
	}
	return 0;
}

int opaque_main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[2], "mark") != 0 && strcmp(argv[2], "unmark") != 0)) {
		fprintf(stderr, "usage: %s opaque mark|unmark DIR\n", argv[0]);
		return 2;
	}
	marking = strcmp(argv[2], "mark") == 0;
	/* FTW_PHYS: never follow a symlink out of the upper directory. */
	if (nftw(argv[3], visit, 64, FTW_PHYS) < 0) {
		fprintf(stderr, "opaque: %s: %m\n", argv[3]);
		return 1;
	}
	return failures ? 1 : 0;
}
