/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For the fuzz targets that end in a layer being applied (fuzz-tar,
 * fuzz-commit): the layer is unpacked onto a fresh directory inside a private
 * parent, on a thread with the 8 MiB stack of the daemon's workers (so stack
 * depth counts as it does in arcad), as the user the fuzzer runs as (root in
 * CI: devices, owners and xattrs are made for real). Afterwards nothing may
 * exist in the parent beside that directory, or the target aborts.
 */
#pragma once

#include "unpack.h"

void unpack_jail_run(int layer_fd, const struct unpack_limits *limits);
