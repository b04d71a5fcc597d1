// SPDX-License-Identifier: LGPL-2.1-or-later
// clblast-path.c: convolutions through CLBlast (the "clblast" kernel path,
// kernel-path.c). CLBlast's routines enqueue kernels of their own, so each is
// a call step of the plan (ipg_plan_call): the plan runs it in order with our
// kernels, on the same queue. Its Sgemm and Sconvgemm write W * X; the
// bias, the residual and ReLU follow in ipg_conv_epilogue_inplace
// (conv-epilogue.cl).
//   1x1, stride 1, pad 0 (FPN laterals, bottleneck 1x1s, the fusion halves,
//   RPN/RetinaNet outputs of 1x1, the box head's fc layers: RoIs are the
//   columns of a 1 x R image): Sgemm on the tensors as they are, per image,
//   W [M][K] x X [K][N] -> [M][N].
//   Everything else: Sconvgemm, which takes the NCHW batch and the OIHW
//   weights directly and writes [B][M][OH][OW].
#include "clblast-path.h"

#include "log.h"

#include <clblast_c.h>
#include <stdint.h>
#include <string.h>

static ipg_status_t clblast_failed(const char * routine, const ipg_step_t * s, CLBlastStatusCode rc, char * err,
                                   size_t err_size) {
    ipg_format_error(err, err_size, "CLBlast %s (%s, %zu x %zu x %zu) failed: %s (%d)", routine,
                     s->group ? s->group : "network", s->call_size[0], s->call_size[1], s->call_size[2],
                     ipg_clblast_status_name(rc), (int) rc);
    return IPG_ERR_OPENCL;
}

// call_mem: weights, input, output; call_size: M, N, K, images, temp bytes.
static ipg_status_t call_sgemm(const ipg_step_t * s, cl_command_queue * queue, cl_event * event, char * err,
                               size_t err_size) {
    const size_t M = s->call_size[0], N = s->call_size[1], K = s->call_size[2], B = s->call_size[3];
    const bool temp = s->call_size[4] > 0;
    for (size_t b = 0; b < B; b++) {
        cl_event * ev = b + 1 == B ? event : NULL;   // the last image's launch stands for the step
        const CLBlastStatusCode rc =
            temp ? CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, M, N, K,
                                              1.0f, s->call_mem[0], 0, K, s->call_mem[1], b * K * N, N, 0.0f,
                                              s->call_mem[2], b * M * N, N, queue, ev, *s->call_memref)
                 : CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, M, N, K, 1.0f,
                                s->call_mem[0], 0, K, s->call_mem[1], b * K * N, N, 0.0f, s->call_mem[2], b * M * N, N,
                                queue, ev);
        if (rc != CLBlastSuccess) return clblast_failed("Sgemm", s, rc, err, err_size);
    }
    return IPG_OK;
}

// call_mem: weights, input, output; call_size as for Sgemm, then C, H, W,
// kh, kw, pad, stride (ipg_clblast_plan_conv).
static ipg_status_t call_sconvgemm(const ipg_step_t * s, cl_command_queue * queue, cl_event * event, char * err,
                                   size_t err_size) {
    const size_t * z = s->call_size;
    const CLBlastStatusCode rc =
        CLBlastSconvgemm(CLBlastKernelModeCrossCorrelation, z[5], z[6], z[7], z[8], z[9], z[10], z[10], z[11], z[11], 1,
                         1, z[0], z[3], s->call_mem[1], 0, s->call_mem[0], 0, s->call_mem[2], 0, queue, event);
    if (rc != CLBlastSuccess) return clblast_failed("Sconvgemm", s, rc, err, err_size);
    return IPG_OK;
}

ipg_status_t ipg_clblast_plan_conv(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                                   const ipg_tensor_t * res, bool relu, const ipg_tensor_t * out) {
    if (conv->mr != 0) {
        ipg_format_error(p->err, p->err_size, "internal: the clblast path needs row-major weights");
        return IPG_ERR_INVALID_ARG;
    }
    if (res && res->buf == out->buf) {
        // The GEMM overwrites out before the epilogue reads the residual.
        ipg_format_error(p->err, p->err_size, "internal: the clblast path cannot add a residual in place");
        return IPG_ERR_INVALID_ARG;
    }
    const size_t M = (size_t) conv->cout, N = (size_t) out->h * out->w;
    const size_t K = (size_t) conv->cin * conv->kh * conv->kw, B = (size_t) ipg_plan_batch(p);
    const bool plain = conv->kh == 1 && conv->kw == 1 && conv->stride == 1 && conv->pad == 0;
    ipg_step_t * s =
        ipg_plan_call(p, plain ? "clblast_sgemm" : "clblast_sconvgemm", plain ? call_sgemm : call_sconvgemm);
    if (!s) return IPG_ERR_NO_MEMORY;
    s->call_mem[0] = conv->w_packed;
    s->call_mem[1] = in->buf;
    s->call_mem[2] = out->buf;
    // 0 M, 1 N, 2 K, 3 images, 4 temp bytes, 5 C, 6 H, 7 W, 8 kh, 9 kw, 10 pad, 11 stride
    const size_t sizes[12] = { M,
                               N,
                               K,
                               B,
                               0,
                               (size_t) in->c,
                               (size_t) in->h,
                               (size_t) in->w,
                               (size_t) conv->kh,
                               (size_t) conv->kw,
                               (size_t) conv->pad,
                               (size_t) conv->stride };
    memcpy(s->call_size, sizes, sizeof sizes);
    s->flop = 2.0 * M * N * K * B;
    if (plain) {
        // CLBlast's indirect GEMM pads its operands into a temporary buffer:
        // the plan's shared scratch (unused by the other steps on this path).
        size_t temp = 0;
        for (size_t b = 0; b < B; b++) {
            size_t t = 0;
            const CLBlastStatusCode rc =
                CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, M, N, K, 0, K,
                                           b * K * N, N, b * M * N, N, &p->cl->queue, &t);
            if (rc != CLBlastSuccess) return clblast_failed("SGemmTempBufferSize", s, rc, p->err, p->err_size);
            if (t > temp) temp = t;
        }
        s->call_size[4] = temp;
        s->call_memref = &p->scratch;
        if (temp > p->scratch_bytes) p->scratch_bytes = temp;
    }

    ipg_step_t * e = ipg_plan_step(p, "ipg_conv_epilogue_inplace");
    if (!e) return IPG_ERR_OPENCL;
    ipg_step_mem(e, out->buf);
    ipg_step_mem(e, conv->bias);
    ipg_step_mem(e, res ? res->buf : conv->bias);   // not read without flag 2
    ipg_step_int(e, (int32_t) M);
    ipg_step_int(e, (int32_t) N);
    ipg_step_int(e, (relu ? 1 : 0) | (res ? 2 : 0));
    ipg_step_int(e, (int32_t) B);
    ipg_step_range(e, 3, (size_t[]){ N, M, B }, NULL);
    return IPG_OK;
}

ipg_status_t ipg_clblast_plan_conv_levels(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                                          int32_t n, bool relu, const ipg_tensor_t * out, ipg_levels_ws_t * ws) {
    if (conv->mr != 0) {
        ipg_format_error(p->err, p->err_size, "internal: the clblast path needs row-major weights");
        return IPG_ERR_INVALID_ARG;
    }
    const size_t B = (size_t) ipg_plan_batch(p), M = (size_t) conv->cout;
    const size_t K = (size_t) conv->cin * conv->kh * conv->kw;
    size_t cols = 0;
    for (int32_t l = 0; l < n; l++) cols += (size_t) out[l].h * out[l].w;
    const size_t ld = B * cols;
    if (ld * K * sizeof(float) > ws->col_bytes || ld * M * sizeof(float) > ws->cat_bytes) {
        ipg_format_error(p->err, p->err_size, "internal: the levels' workspace was not reserved for this conv");
        return IPG_ERR_INVALID_ARG;
    }
    if (ld > INT32_MAX) {
        ipg_format_error(p->err, p->err_size, "the concatenated levels of %s are too wide (%zu columns)",
                         p->group ? p->group : "the head", ld);
        return IPG_ERR_INVALID_ARG;
    }
    // The workspace, once per head (its convs run one after another).
    if (!ws->col) ws->col = ipg_plan_buffer(p, ws->col_bytes, NULL);
    if (ws->col && !ws->cat) ws->cat = ipg_plan_buffer(p, ws->cat_bytes, NULL);
    if (!ws->col || !ws->cat) return IPG_ERR_NO_MEMORY;

    size_t col0 = 0;
    for (int32_t l = 0; l < n; l++) {
        ipg_step_t * s = ipg_plan_step(p, "ipg_im2col_slice");
        if (!s) return IPG_ERR_OPENCL;
        ipg_step_mem(s, in[l].buf);
        ipg_step_int(s, in[l].c);
        ipg_step_int(s, in[l].h);
        ipg_step_int(s, in[l].w);
        ipg_step_int(s, conv->kh);
        ipg_step_int(s, conv->kw);
        ipg_step_int(s, conv->stride);
        ipg_step_int(s, conv->pad);
        ipg_step_int(s, out[l].h);
        ipg_step_int(s, out[l].w);
        ipg_step_mem(s, ws->col);
        ipg_step_int(s, (int32_t) ld);
        ipg_step_int(s, (int32_t) cols);
        ipg_step_int(s, (int32_t) col0);
        ipg_step_int(s, (int32_t) B);
        ipg_step_range(s, 3, (size_t[]){ (size_t) out[l].h * out[l].w, K, B }, NULL);
        col0 += (size_t) out[l].h * out[l].w;
    }

    // One GEMM: every level of every image is a block of columns.
    ipg_step_t * s = ipg_plan_call(p, "clblast_sgemm_levels", call_sgemm);
    if (!s) return IPG_ERR_NO_MEMORY;
    s->call_mem[0] = conv->w_packed;
    s->call_mem[1] = ws->col;
    s->call_mem[2] = ws->cat;
    const size_t sizes[5] = { M, ld, K, 1, 0 };
    memcpy(s->call_size, sizes, sizeof sizes);
    s->flop = 2.0 * M * ld * K;
    size_t temp = 0;
    const CLBlastStatusCode rc =
        CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, M, ld, K, 0, K, 0, ld,
                                   0, ld, &p->cl->queue, &temp);
    if (rc != CLBlastSuccess) return clblast_failed("SGemmTempBufferSize", s, rc, p->err, p->err_size);
    s->call_size[4] = temp;
    s->call_memref = &p->scratch;
    if (temp > p->scratch_bytes) p->scratch_bytes = temp;

    col0 = 0;
    for (int32_t l = 0; l < n; l++) {
        const size_t N = (size_t) out[l].h * out[l].w;
        ipg_step_t * e = ipg_plan_step(p, "ipg_conv_epilogue_gather");
        if (!e) return IPG_ERR_OPENCL;
        ipg_step_mem(e, ws->cat);
        ipg_step_int(e, (int32_t) ld);
        ipg_step_int(e, (int32_t) cols);
        ipg_step_int(e, (int32_t) col0);
        ipg_step_mem(e, conv->bias);
        ipg_step_mem(e, conv->bias);   // no residual (flag 2 never set here)
        ipg_step_mem(e, out[l].buf);
        ipg_step_int(e, (int32_t) M);
        ipg_step_int(e, (int32_t) N);
        ipg_step_int(e, relu ? 1 : 0);
        ipg_step_int(e, (int32_t) B);
        ipg_step_range(e, 3, (size_t[]){ N, M, B }, NULL);
        col0 += N;
    }
    return IPG_OK;
}
