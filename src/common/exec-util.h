/* SPDX-License-Identifier: Apache-2.0 */
/* Running a helper program to completion (host side only: mkfs.ext4 and friends). */
#pragma once

/*
 * Runs argv (PATH lookup) with stdin from /dev/null, stdout discarded, and
 * the first 8 KiB of stderr captured into *ret_stderr (may be NULL). env
 * entries (NULL-terminated, may be NULL) are added to the environment.
 * Returns the exit status (0-255, 128+signo), or -errno if it could not run.
 */
int run_command(const char *const *argv, const char *const *env, char **ret_stderr);
