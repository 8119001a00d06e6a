/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest's serial console, read from the VMM's socket into a log file of
 * bounded size: the log is rotated once (to <log>.1) at VM_CONSOLE_LOG_MAX,
 * so a guest can never hold more than twice that of the host's disk.
 */
#pragma once

#include "event.h"

#define VM_CONSOLE_LOG_MAX (1024 * 1024)

struct vm_console;

/* Takes fd (connected to the VMM's console socket); appends to log_path. */
int vm_console_new(struct event *e, int fd, const char *log_path, struct vm_console **ret);
/* Reads what the VMM already sent (before a boot failure is reported). */
void vm_console_drain(struct vm_console *c);
struct vm_console *vm_console_free(struct vm_console *c);
