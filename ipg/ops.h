// SPDX-License-Identifier: LGPL-2.1-or-later
// ops.h: the ops (ops.c). Each appends its kernel launches to a plan and
// allocates its output tensor (unless out->buf is set); nothing runs here.
// Not installed.
#ifndef IPG_OPS_H
#define IPG_OPS_H

#include "model-loader.h"
#include "plan.h"

// Device copy of a folded conv, laid out for the kernel path of the device
// at upload (kernel-path.c): packed [ceil(M / mr)][K][mr] (cpu: mr =
// IPG_GEMM_MR; gpu: mr = the work-group tile's TM), or row-major [M][K]
// (clblast: mr = 0). On the cpu path, for the 3x3 stride-1 convs winograd.c
// takes, also their Winograd transform (NULL otherwise).
typedef struct {
    ipg_kernel_path_t path;
    int32_t mr;
    cl_mem w_packed;
    cl_mem w_winograd;
    cl_mem bias;
    int32_t cout, cin, kh, kw, stride, pad;
} ipg_conv_dev_t;

// Packs and uploads input columns [cin_begin, cin_begin + cin_count) of a
// host conv (the bias only if with_bias).
ipg_status_t ipg_conv_upload(ipg_cl_t * cl, const ipg_conv_host_t * h, int32_t cin_begin, int32_t cin_count,
                             bool with_bias, ipg_conv_dev_t * out, char * err, size_t err_size);
void ipg_conv_dev_free(ipg_conv_dev_t * d);

// out = act(conv(in) + bias [+ res]).
ipg_status_t ipg_op_conv(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in, const ipg_tensor_t * res,
                         bool relu, ipg_tensor_t * out);
// One convolution applied with the same weights to n levels (the heads over
// the FPN): out[l] = act(conv(in[l]) + bias), allocated unless set. On the
// clblast path it is one GEMM over every level and image (conv-levels.cl)
// through the workspace `ws` that the calls of one head share; on the other
// paths, one ipg_op_conv per level.
typedef struct {
    size_t col_bytes, cat_bytes;   // reserved (ipg_levels_ws_reserve)
    cl_mem col, cat;               // allocated at the first clblast call
} ipg_levels_ws_t;
// Makes room in ws for conv over these levels (call for every conv of the
// head before planning the first; does nothing off the clblast path).
void ipg_levels_ws_reserve(ipg_levels_ws_t * ws, const ipg_plan_t * p, const ipg_conv_dev_t * conv,
                           const ipg_tensor_t * in, int32_t n);
ipg_status_t ipg_op_conv_levels(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in, int32_t n,
                                bool relu, ipg_tensor_t * out, ipg_levels_ws_t * ws);
ipg_status_t ipg_op_maxpool3x3s2(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out);
ipg_status_t ipg_op_downsample2x(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out);
// out = lateral + nearest-upsample(top) to lateral's size.
ipg_status_t ipg_op_upsample_add(ipg_plan_t * p, const ipg_tensor_t * lateral, const ipg_tensor_t * top,
                                 ipg_tensor_t * out);
ipg_status_t ipg_op_relu(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out);
// Every other pixel of every other row: max pool 1x1 stride 2 (LastLevelMaxPool).
ipg_status_t ipg_op_subsample2x(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out);

#endif   // IPG_OPS_H
