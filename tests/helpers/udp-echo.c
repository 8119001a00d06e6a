/* SPDX-License-Identifier: Apache-2.0 */
/*
 * udp-echo PORT: answers every UDP datagram on PORT with "pong " and the
 * datagram. Static (musl), so test images built from busybox alone can
 * serve UDP: Debian's busybox nc has no UDP mode.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(argv[1])) };
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("udp-echo");
		return 1;
	}
	for (;;) {
		char buf[2048], out[2100];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		int m = snprintf(out, sizeof(out), "pong %.*s", (int)n, buf);
		(void)sendto(fd, out, (size_t)m, 0, (struct sockaddr *)&from, fl);
	}
}
