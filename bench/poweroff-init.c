/* SPDX-License-Identifier: Apache-2.0 */
/* The limit for bench/boot: a trivial PID 1 that stops the VM the moment it runs. */
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	reboot(RB_AUTOBOOT); /* with reboot=t and QEMU's -no-reboot, this ends the VM */
	for (;;)
		pause();
}
