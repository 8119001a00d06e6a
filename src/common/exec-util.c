/* SPDX-License-Identifier: Apache-2.0 */
/* run_command(): fork, exec, collect a bounded stderr, wait. */
#include "exec-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"

#define STDERR_MAX 8192

int run_command(const char *const *argv, const char *const *env, char **ret_stderr)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0) {
		sigset_t all;
		sigemptyset(&all);
		(void)sigprocmask(SIG_SETMASK, &all, NULL);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(127);
		for (size_t i = 0; env && env[i]; i++)
			(void)putenv((char *)env[i]);
		execvp(argv[0], (char *const *)argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(pfd[1]);
	char *buf = xmalloc(STDERR_MAX + 1);
	size_t len = 0;
	for (;;) {
		char chunk[1024];
		ssize_t n = read(pfd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = MIN((size_t)n, STDERR_MAX - len);
		memcpy(buf + len, chunk, take);
		len += take;
	}
	close(pfd[0]);
	buf[len] = '\0';
	int st;
	pid_t w;
	do
		w = waitpid(pid, &st, 0);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		free(buf);
		return -errno;
	}
	if (ret_stderr)
		*ret_stderr = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
