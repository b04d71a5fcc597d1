// SPDX-License-Identifier: LGPL-2.1-or-later
// winograd.h: 3x3 stride-1 convolutions by Winograd F(4x4, 3x3) on the CPU
// path (winograd.c, kernels/winograd.cl): the weight transform at upload and
// the three launches of one convolution. Not installed.
#ifndef IPG_WINOGRAD_H
#define IPG_WINOGRAD_H

#include "ops.h"

// Whether a host conv (its input columns [cin_begin, cin_begin + cin_count))
// gets Winograd weights at upload: 3x3, stride 1, pad 1, enough channels for
// the transforms to pay, and in IPG_WINOGRAD's scope: unset, the neck and
// heads (not the names under backbone.body. or backbone.guidance.); "all"
// adds those; "0" is off.
bool ipg_winograd_wanted(const ipg_conv_host_t * h, int32_t cin_count);

// Whether such a conv keeps only its Winograd weights, not the packed ones:
// both channel counts 128 or more (the 256-channel necks and heads, where
// U, 4x the packed copy, is most of the model's memory). Where Winograd
// does not pay (levels of under 4 tiles, or IPG_CONV=direct) their direct
// kernel reads U (conv-direct.cl, ipg_conv3x3_direct_u). IPG_CONV=pack at
// upload keeps the packed weights for its im2col path.
bool ipg_winograd_only(const ipg_conv_host_t * h, int32_t cin_count);

// U = G g G^T of every (output, input) channel pair, computed in double,
// uploaded as float packed [36][ceil(M / MR)][cin_count][MR].
cl_mem ipg_winograd_upload(ipg_cl_t * cl, const ipg_conv_host_t * h, int32_t cin_begin, int32_t cin_count, char * err,
                           size_t err_size);

// Whether Winograd is faster than the direct kernel for this conv in this
// plan: enough tiles (all images of the batch) for its channels.
bool ipg_winograd_pays(const ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in);

// Plans out = act(conv(in) + bias [+ res]) through conv->w_winograd (input
// transform, 36 GEMMs, output transform with the epilogue). out is already
// allocated with the conv's output shape. *planned is false (and nothing is
// appended) when its scratch would not fit the device's largest buffer; the
// caller then takes the direct path.
ipg_status_t ipg_op_conv_winograd(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                                  const ipg_tensor_t * res, bool relu, const ipg_tensor_t * out, bool * planned);

#endif   // IPG_WINOGRAD_H
