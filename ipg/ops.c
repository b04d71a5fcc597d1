// SPDX-License-Identifier: LGPL-2.1-or-later
// ops.c: the ops. Each appends its kernel launches to a plan (plan.c) with
// every argument recorded; nothing here runs a kernel.
#include "ops.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

// ---- convolution ---------------------------------------------------------

ipg_status_t ipg_conv_upload(ipg_cl_t * cl, const ipg_conv_host_t * h, int32_t cin_begin, int32_t cin_count,
                             bool with_bias, ipg_conv_dev_t * out, char * err, size_t err_size) {
    memset(out, 0, sizeof *out);
    const int32_t M = h->cout, kk = h->kh * h->kw;
    const int32_t K = cin_count * kk, full_k = h->cin * kk;
    const int32_t mb = (M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
    const size_t n = (size_t) mb * K * IPG_GEMM_MR;
    float * packed = calloc(n, sizeof(float));
    float * bias = calloc((size_t) M, sizeof(float));
    if (!packed || !bias) {
        free(packed);
        free(bias);
        ipg_format_error(err, err_size, "out of memory packing '%s'", h->name);
        return IPG_ERR_NO_MEMORY;
    }
    // [M][K] row-major -> [M / MR][K][MR], rows past M left zero.
    for (int32_t m = 0; m < M; m++)
        for (int32_t k = 0; k < K; k++)
            packed[((size_t) (m / IPG_GEMM_MR) * K + k) * IPG_GEMM_MR + m % IPG_GEMM_MR] =
                h->w[(size_t) m * full_k + (size_t) cin_begin * kk + k];
    if (with_bias) memcpy(bias, h->b, (size_t) M * sizeof(float));
    out->w_packed = ipg_cl_buffer(cl, CL_MEM_READ_ONLY, n * sizeof(float), packed, err, err_size);
    out->bias =
        out->w_packed ? ipg_cl_buffer(cl, CL_MEM_READ_ONLY, (size_t) M * sizeof(float), bias, err, err_size) : NULL;
    free(packed);
    free(bias);
    if (!out->w_packed || !out->bias) {
        ipg_conv_dev_free(out);
        return IPG_ERR_NO_MEMORY;
    }
    out->cout = M;
    out->cin = cin_count;
    out->kh = h->kh;
    out->kw = h->kw;
    out->stride = h->stride;
    out->pad = h->pad;
    return IPG_OK;
}

void ipg_conv_dev_free(ipg_conv_dev_t * d) {
    if (d->w_packed) clReleaseMemObject(d->w_packed);
    if (d->bias) clReleaseMemObject(d->bias);
    memset(d, 0, sizeof *d);
}

static ipg_status_t out_tensor(ipg_plan_t * p, ipg_tensor_t * out, int32_t c, int32_t h, int32_t w) {
    if (out->buf) {
        if (out->c != c || out->h != h || out->w != w) {
            ipg_format_error(p->err, p->err_size, "internal: output tensor shape mismatch");
            return IPG_ERR_INVALID_ARG;
        }
        return IPG_OK;
    }
    return ipg_plan_tensor(p, out, c, h, w);
}

ipg_status_t ipg_op_conv(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in, const ipg_tensor_t * res,
                         bool relu, ipg_tensor_t * out) {
    if (in->c != conv->cin) {
        ipg_format_error(p->err, p->err_size, "internal: conv expects %d input channels, got %d", conv->cin, in->c);
        return IPG_ERR_INVALID_ARG;
    }
    const int32_t OH = (in->h + 2 * conv->pad - conv->kh) / conv->stride + 1;
    const int32_t OW = (in->w + 2 * conv->pad - conv->kw) / conv->stride + 1;
    ipg_status_t st = out_tensor(p, out, conv->cout, OH, OW);
    if (st != IPG_OK) return st;
    if (res && (res->c != out->c || res->h != out->h || res->w != out->w)) {
        ipg_format_error(p->err, p->err_size, "internal: residual shape mismatch");
        return IPG_ERR_INVALID_ARG;
    }
    const int32_t K = conv->cin * conv->kh * conv->kw;
    const int32_t N = OH * OW, M = conv->cout;
    // The batch is a grid dimension: image b's columns are its own N pixels,
    // so no register tile straddles two images.
    const size_t B = (size_t) ipg_plan_batch(p);
    if (conv->kh == 3 && conv->kw == 3 && conv->stride == 1 && conv->pad == 1 && !p->pack_all_convs) {
        // conv-direct.cl: the input read in place, no im2col copy.
        ipg_step_t * s = ipg_plan_step(p, "ipg_conv3x3_direct");
        if (!s) return IPG_ERR_OPENCL;
        const size_t mb = ((size_t) M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
        const size_t nb = (size_t) OH * (((size_t) OW + IPG_GEMM_NR - 1) / IPG_GEMM_NR);
        ipg_step_mem(s, conv->w_packed);
        ipg_step_mem(s, in->buf);
        ipg_step_mem(s, conv->bias);
        ipg_step_mem(s, res ? res->buf : conv->bias);   // not read without flag 2
        ipg_step_mem(s, out->buf);
        ipg_step_int(s, M);
        ipg_step_int(s, in->c);
        ipg_step_int(s, in->h);
        ipg_step_int(s, in->w);
        ipg_step_int(s, (relu ? 1 : 0) | (res ? 2 : 0));
        ipg_step_int(s, (int32_t) B);
        s->flop = 2.0 * M * N * K * B;
        ipg_step_range_prefer(s, 3, (size_t[]){ mb, nb, B }, p->cl->is_cpu ? (size_t[]){ 1, 1, 1 } : NULL);
        ipg_step_batch_dim(s, 2, 1);
        return IPG_OK;
    }
    const size_t nb = ((size_t) N + IPG_GEMM_NR - 1) / IPG_GEMM_NR;
    const size_t mb = ((size_t) M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
    const size_t bytes = B * nb * (size_t) K * IPG_GEMM_NR * sizeof(float);
    // The im2col scratch is one buffer; splitting it into N-slices (one
    // pack + GEMM per slice) is not done yet, so a layer over the device's
    // largest buffer is refused with the numbers.
    if (bytes > p->cl->max_alloc) {
        ipg_format_error(
            p->err, p->err_size,
            "the im2col scratch of a %dx%d convolution (%d -> %d channels, %dx%d output, %zu images) in %s "
            "needs %zu bytes, over this device's largest buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE, %llu "
            "bytes): use a smaller input, a smaller batch or tiles",
            conv->kh, conv->kw, conv->cin, M, OW, OH, B, p->group ? p->group : "the network", bytes,
            (unsigned long long) p->cl->max_alloc);
        return IPG_ERR_NO_MEMORY;
    }
    if (bytes > p->scratch_bytes) p->scratch_bytes = bytes;

    ipg_step_t * s = ipg_plan_step(p, "ipg_conv_pack");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, in->buf);
    ipg_step_int(s, in->c);
    ipg_step_int(s, in->h);
    ipg_step_int(s, in->w);
    ipg_step_int(s, conv->kh);
    ipg_step_int(s, conv->kw);
    ipg_step_int(s, conv->stride);
    ipg_step_int(s, conv->pad);
    ipg_step_int(s, OH);
    ipg_step_int(s, OW);
    ipg_step_memref(s, &p->scratch);
    ipg_step_int(s, K);
    ipg_step_int(s, (int32_t) B);
    ipg_step_range(s, 3, (size_t[]){ (size_t) K, nb, B }, NULL);
    ipg_step_batch_dim(s, 2, 1);

    s = ipg_plan_step(p, "ipg_gemm_packed");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, conv->w_packed);
    ipg_step_memref(s, &p->scratch);
    ipg_step_mem(s, conv->bias);
    ipg_step_mem(s, res ? res->buf : conv->bias);   // not read without flag 2
    ipg_step_mem(s, out->buf);
    ipg_step_int(s, M);
    ipg_step_int(s, N);
    ipg_step_int(s, K);
    ipg_step_int(s, (relu ? 1 : 0) | (res ? 2 : 0));
    ipg_step_int(s, (int32_t) B);
    s->flop = 2.0 * M * N * K * B;
    // One work-item per register tile; local (1, 1, 1) on CPUs keeps PoCL
    // from wrapping the tile in a work-item loop.
    ipg_step_range_prefer(s, 3, (size_t[]){ mb, nb, B }, p->cl->is_cpu ? (size_t[]){ 1, 1, 1 } : NULL);
    ipg_step_batch_dim(s, 2, 1);
    return IPG_OK;
}

// ---- pooling, resampling, element-wise ------------------------------------
// Per-channel spatial ops see the batch [B][C] as B * C channels.

static ipg_status_t spatial_op(ipg_plan_t * p, const char * kernel, const ipg_tensor_t * in, int32_t oh, int32_t ow,
                               ipg_tensor_t * out) {
    ipg_status_t st = out_tensor(p, out, in->c, oh, ow);
    if (st != IPG_OK) return st;
    ipg_step_t * s = ipg_plan_step(p, kernel);
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, in->buf);
    ipg_step_int(s, in->h);
    ipg_step_int(s, in->w);
    ipg_step_mem(s, out->buf);
    ipg_step_int(s, oh);
    ipg_step_int(s, ow);
    const size_t channels = (size_t) ipg_plan_batch(p) * in->c;
    ipg_step_int(s, (int32_t) channels);
    ipg_step_range(s, 3, (size_t[]){ (size_t) ow, (size_t) oh, channels }, NULL);
    ipg_step_batch_dim(s, 2, (size_t) in->c);
    return IPG_OK;
}

ipg_status_t ipg_op_maxpool3x3s2(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    return spatial_op(p, "ipg_maxpool3x3s2", in, (in->h - 1) / 2 + 1, (in->w - 1) / 2 + 1, out);
}

ipg_status_t ipg_op_subsample2x(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    return spatial_op(p, "ipg_subsample2x", in, (in->h - 1) / 2 + 1, (in->w - 1) / 2 + 1, out);
}

ipg_status_t ipg_op_downsample2x(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    return spatial_op(p, "ipg_downsample2x", in, in->h / 2, in->w / 2, out);
}

ipg_status_t ipg_op_upsample_add(ipg_plan_t * p, const ipg_tensor_t * lateral, const ipg_tensor_t * top,
                                 ipg_tensor_t * out) {
    if (lateral->c != top->c) {
        ipg_format_error(p->err, p->err_size, "internal: upsample_add channel mismatch");
        return IPG_ERR_INVALID_ARG;
    }
    ipg_status_t st = out_tensor(p, out, lateral->c, lateral->h, lateral->w);
    if (st != IPG_OK) return st;
    ipg_step_t * s = ipg_plan_step(p, "ipg_upsample_add");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, lateral->buf);
    ipg_step_int(s, lateral->h);
    ipg_step_int(s, lateral->w);
    ipg_step_mem(s, top->buf);
    ipg_step_int(s, top->h);
    ipg_step_int(s, top->w);
    ipg_step_mem(s, out->buf);
    const size_t channels = (size_t) ipg_plan_batch(p) * lateral->c;
    ipg_step_int(s, (int32_t) channels);
    ipg_step_range(s, 3, (size_t[]){ (size_t) lateral->w, (size_t) lateral->h, channels }, NULL);
    ipg_step_batch_dim(s, 2, (size_t) lateral->c);
    return IPG_OK;
}

ipg_status_t ipg_op_relu(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    ipg_status_t st = out_tensor(p, out, in->c, in->h, in->w);
    if (st != IPG_OK) return st;
    ipg_step_t * s = ipg_plan_step(p, "ipg_relu");
    if (!s) return IPG_ERR_OPENCL;
    const int32_t n = ipg_plan_batch(p) * in->c * in->h * in->w;
    ipg_step_mem(s, in->buf);
    ipg_step_mem(s, out->buf);
    ipg_step_int(s, n);
    ipg_step_range(s, 1, (size_t[]){ (size_t) n }, NULL);
    ipg_step_batch_dim(s, 0, (size_t) in->c * in->h * in->w);
    return IPG_OK;
}
