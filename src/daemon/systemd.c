/* SPDX-License-Identifier: Apache-2.0 */
/* systemd's socket activation and readiness notification (systemd.h), by hand. */
#include "systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "log.h"
#include "parse-util.h"

#define LISTEN_FDS_START 3

int systemd_listen_fd(struct arca_error **err)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	uint32_t p, n;
	if (!pid || !fds || safe_atou32(pid, &p) < 0 || (pid_t)p != getpid() ||
	    safe_atou32(fds, &n) < 0 || n == 0)
		return -1;
	/* Ours now: nothing we start inherits them. */
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	if (n > 1)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "systemd passed %u sockets; arcad serves one "
				      "(one ListenStream= in arcad.socket)",
				      n);
	int fd = LISTEN_FDS_START, type = 0, listening = 0;
	socklen_t len = sizeof(type);
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0 || sa.sun_family != AF_UNIX)
		return arca_error_set(err, EINVAL, ARCA_ERR_INVALID,
				      "the socket systemd passed is not a listening unix stream "
				      "socket (ListenStream=/path in arcad.socket)");
	(void)fd_set_cloexec(fd, true);
	return fd;
}

void systemd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* an abstract address */
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
		log_warn("cannot tell systemd `%s`: %s", state, strerror(errno));
}
