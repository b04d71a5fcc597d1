// SPDX-License-Identifier: LGPL-2.1-or-later
// clblast-path.h: the CLBlast kernel path (clblast-path.c) and its tuning
// table (clblast-tuning.c). Not installed.
#ifndef IPG_CLBLAST_PATH_H
#define IPG_CLBLAST_PATH_H

#include "ops.h"

// Plans out = act(conv(in) + bias [+ res]) as CLBlast calls: Sgemm for 1x1
// stride-1 convolutions (the box head's fc layers included), Sconvgemm for
// the rest, each followed by conv-epilogue.cl. The weights are row-major
// [M][K] (ipg_conv_upload on the clblast path).
ipg_status_t ipg_clblast_plan_conv(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                                   const ipg_tensor_t * res, bool relu, const ipg_tensor_t * out);

// The same conv over n levels (outputs allocated) as one GEMM over every
// level and image: ipg_im2col_slice per level into ws->col [K][B * cols],
// one Sgemm into ws->cat [M][B * cols], ipg_conv_epilogue_gather per level
// (ipg_op_conv_levels).
ipg_status_t ipg_clblast_plan_conv_levels(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                                          int32_t n, bool relu, const ipg_tensor_t * out, ipg_levels_ws_t * ws);

// One row of the tuning table: CLBlast parameters for one of its kernels on
// devices whose name contains `device`, for devices missing from CLBlast's
// own database.
typedef struct {
    const char * device;   // a substring of CL_DEVICE_NAME
    const char * kernel;   // CLBlast's kernel name ("Xgemm", "XgemmDirect", ...)
    size_t n;
    const char * names[16];
    size_t values[16];
    const char * source;   // where the values come from
} ipg_clblast_params_t;

// Applies one row to cl's device with CLBlastOverrideParameters.
ipg_status_t ipg_clblast_apply(const ipg_cl_t * cl, const ipg_clblast_params_t * row, char * err, size_t err_size);
// Applies every row of the table that matches cl's device (kernel-path.c,
// when the clblast path is chosen).
ipg_status_t ipg_clblast_tune(const ipg_cl_t * cl, char * err, size_t err_size);
// Empties CLBlast's program cache (ipg_cl_free of a context that used the
// clblast path): it holds every program CLBlast built, for every context of
// the process, until cleared. Another live context using CLBlast builds its
// kernels again at its next run.
void ipg_clblast_release(void);
// A sentence for a CLBlast status code.
const char * ipg_clblast_status_name(int status);

#endif   // IPG_CLBLAST_PATH_H
