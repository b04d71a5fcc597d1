// SPDX-License-Identifier: LGPL-2.1-or-later
// kernel-path.h: which convolution kernels a device runs (kernel-path.c): the
// path table (a default per device type and vendor), its overrides
// (IPG_PATH, ipg_ctx_params_t.device_path), and the GPU path's work-group.
// Not installed.
#ifndef IPG_KERNEL_PATH_H
#define IPG_KERNEL_PATH_H

#include "cl-runtime.h"

// "cpu", "gpu", "clblast".
const char * ipg_kernel_path_name(ipg_kernel_path_t path);
// Chooses cl->path: `request` ("cpu", "gpu", "clblast"; NULL, "" or "auto":
// none) first, then the IPG_PATH environment variable, then the device's row
// of the table. Sets the GPU path's work-group (cl->tile_lws) from the table,
// capped by the kernel's and the device's limits, and logs the choice with
// the kernels' private memory; the clblast path applies the tuning table
// (clblast-tuning.c). An unknown name is IPG_ERR_INVALID_ARG.
ipg_status_t ipg_kernel_path_select(ipg_cl_t * cl, const char * request, char * err, size_t err_size);
// Sets the GPU path's work-group to (lx, ly) capped as above (tests: odd
// shapes). Weights uploaded after this are packed for the new tile.
ipg_status_t ipg_kernel_path_set_tile(ipg_cl_t * cl, size_t lx, size_t ly, char * err, size_t err_size);

#endif   // IPG_KERNEL_PATH_H
