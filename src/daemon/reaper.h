/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VMs that no container owns any more and that are ending: a --rm
 * container's VM, killed once its process exited, is reaped here while the
 * container's removal goes on, instead of the removal waiting for QEMU's
 * exit (the kernel's teardown of its memory and TAP takes tens of ms).
 * The reaper owns them until they are gone; freeing it waits for the rest.
 */
#pragma once

struct reaper;
struct vm;

struct reaper *reaper_new(void);
/* Takes vm and ends it now (vm_kill); it is freed once its VMM exited. */
void reaper_take(struct reaper *r, struct vm *vm);
/* Kills and waits for what is left. NULL-safe. */
struct reaper *reaper_free(struct reaper *r);
