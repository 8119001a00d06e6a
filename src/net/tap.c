/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's TAP device (see tap.h). */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "cleanup.h"

int tap_open(const char *name, struct arca_error **err)
{
	if (strlen(name) >= IFNAMSIZ)
		return arca_error_set(err, EINVAL, ARCA_ERR_INTERNAL, "TAP name %s is too long",
				      name);
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return arca_error_errno(err, errno, "open /dev/net/tun");
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return arca_error_errno(err, errno, "create TAP %s", name);
	return TAKE_FD(fd);
}

bool tap_vhost_available(void)
{
	_cleanup_close_ int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	return fd >= 0;
}

void tap_random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6)
		abort();
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
}
