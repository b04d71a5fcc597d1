// SPDX-License-Identifier: LGPL-2.1-or-later
// ops.c: the ops. Each appends its kernel launches to a plan (plan.c) with
// every argument recorded; nothing here runs a kernel.
#include "ops.h"

#include "clblast-path.h"
#include "log.h"
#include "winograd.h"

#include <stdlib.h>
#include <string.h>

// ---- convolution ---------------------------------------------------------

ipg_status_t ipg_conv_upload(ipg_cl_t * cl, const ipg_conv_host_t * h, int32_t cin_begin, int32_t cin_count,
                             bool with_bias, ipg_conv_dev_t * out, char * err, size_t err_size) {
    memset(out, 0, sizeof *out);
    const int32_t M = h->cout, kk = h->kh * h->kw;
    const int32_t K = cin_count * kk, full_k = h->cin * kk;
    // The layout of the device's kernel path: panels of mr rows, or
    // row-major [M][K] for CLBlast (mr 0).
    int32_t mr = IPG_GEMM_MR;
    if (cl->path == IPG_PATH_GPU) mr = IPG_TILE_WM * (int32_t) cl->tile_lws[1];
    if (cl->path == IPG_PATH_CLBLAST) mr = 0;
    const int32_t mb = mr ? (M + mr - 1) / mr : 1;
    const size_t n = mr ? (size_t) mb * K * mr : (size_t) M * K;
    // Winograd (winograd.c) is a cpu-path kernel: the other paths never read
    // its transform, so they do not upload it. The large ones keep only it:
    // no packed copy is made at all.
    const bool winograd = cl->path == IPG_PATH_CPU && ipg_winograd_wanted(h, cin_count);
    const bool packed_too = !(winograd && ipg_winograd_only(h, cin_count));
    float * packed = packed_too ? calloc(n, sizeof(float)) : NULL;
    float * bias = calloc((size_t) M, sizeof(float));
    if ((packed_too && !packed) || !bias) {
        free(packed);
        free(bias);
        ipg_format_error(err, err_size, "out of memory packing '%s'", h->name);
        return IPG_ERR_NO_MEMORY;
    }
    // [M][K] row-major -> [M / mr][K][mr], rows past M left zero; or the
    // columns [cin_begin, cin_begin + cin_count) of [M][K] as they are.
    if (packed)
        for (int32_t m = 0; m < M; m++)
            for (int32_t k = 0; k < K; k++) {
                const size_t at = mr ? ((size_t) (m / mr) * K + k) * mr + m % mr : (size_t) m * K + k;
                packed[at] = h->w[(size_t) m * full_k + (size_t) cin_begin * kk + k];
            }
    if (with_bias) memcpy(bias, h->b, (size_t) M * sizeof(float));
    if (packed) out->w_packed = ipg_cl_buffer(cl, CL_MEM_READ_ONLY, n * sizeof(float), packed, err, err_size);
    if (out->w_packed || !packed_too)
        out->bias = ipg_cl_buffer(cl, CL_MEM_READ_ONLY, (size_t) M * sizeof(float), bias, err, err_size);
    free(packed);
    free(bias);
    if (out->bias && winograd) out->w_winograd = ipg_winograd_upload(cl, h, cin_begin, cin_count, err, err_size);
    if ((packed_too && !out->w_packed) || !out->bias || (winograd && !out->w_winograd)) {
        ipg_conv_dev_free(out);
        return IPG_ERR_NO_MEMORY;
    }
    out->path = cl->path;
    out->mr = mr;
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
    if (d->w_winograd) clReleaseMemObject(d->w_winograd);
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

// A chunk of an im2col convolution: images image0.. and pixel blocks
// block0.. (conv-pack.cl); the scratch holds exactly one chunk.
typedef struct {
    int32_t image0, images, block0, blocks;
} chunk_t;

// The pack and the GEMM of one chunk.
static ipg_status_t pack_gemm(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                              const ipg_tensor_t * res, bool relu, const ipg_tensor_t * out, int32_t OH, int32_t OW,
                              const chunk_t * c) {
    const int32_t K = conv->cin * conv->kh * conv->kw;
    const int32_t N = OH * OW, M = conv->cout;
    const size_t mb = ((size_t) M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
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
    ipg_step_int(s, c->images);
    ipg_step_int(s, c->image0);
    ipg_step_int(s, c->block0);
    ipg_step_int(s, c->blocks);
    ipg_step_range(s, 3, (size_t[]){ (size_t) K, (size_t) c->blocks, (size_t) c->images }, NULL);
    // Grid dimension 2 is the chunk's images: only a chunk from image 0 is
    // [B][1] there (a partial batch runs its first images; plan.h); a later
    // chunk runs whole (always correct).
    if (c->image0 == 0) ipg_step_batch_dim(s, 2, 1);

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
    ipg_step_int(s, c->images);
    ipg_step_int(s, c->image0);
    ipg_step_int(s, c->block0);
    ipg_step_int(s, c->blocks);
    const int32_t pixel_end = (c->block0 + c->blocks) * IPG_GEMM_NR;
    const int32_t pixels = (pixel_end < N ? pixel_end : N) - c->block0 * IPG_GEMM_NR;
    s->flop = 2.0 * M * pixels * K * c->images;
    // One work-item per register tile; local (1, 1, 1) on CPUs keeps PoCL
    // from wrapping the tile in a work-item loop.
    ipg_step_range_prefer(s, 3, (size_t[]){ mb, (size_t) c->blocks, (size_t) c->images },
                          p->cl->is_cpu ? (size_t[]){ 1, 1, 1 } : NULL);
    if (c->image0 == 0) ipg_step_batch_dim(s, 2, 1);
    return IPG_OK;
}

// The GPU path (conv-tiled.cl): one launch, work-groups of exactly
// cl->tile_lws, each computing a TM x TN tile (the weights were packed with
// mr = TM at upload).
static ipg_status_t plan_conv_tiled(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                                    const ipg_tensor_t * res, bool relu, const ipg_tensor_t * out) {
    const size_t lx = p->cl->tile_lws[0], ly = p->cl->tile_lws[1];
    const size_t tm = IPG_TILE_WM * ly, tn = IPG_TILE_WN * lx;
    if ((size_t) conv->mr != tm) {
        ipg_format_error(p->err, p->err_size,
                         "internal: weights packed for a %d-row tile, the GPU path's work-group tile has %zu rows",
                         conv->mr, tm);
        return IPG_ERR_INVALID_ARG;
    }
    const size_t M = (size_t) conv->cout, N = (size_t) out->h * out->w, B = (size_t) ipg_plan_batch(p);
    ipg_step_t * s = ipg_plan_step(p, "ipg_conv_tiled");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, conv->w_packed);
    ipg_step_mem(s, in->buf);
    ipg_step_mem(s, conv->bias);
    ipg_step_mem(s, res ? res->buf : conv->bias);   // not read without flag 2
    ipg_step_mem(s, out->buf);
    ipg_step_int(s, conv->cout);
    ipg_step_int(s, in->c);
    ipg_step_int(s, in->h);
    ipg_step_int(s, in->w);
    ipg_step_int(s, conv->kh);
    ipg_step_int(s, conv->kw);
    ipg_step_int(s, conv->stride);
    ipg_step_int(s, conv->pad);
    ipg_step_int(s, out->h);
    ipg_step_int(s, out->w);
    ipg_step_int(s, (relu ? 1 : 0) | (res ? 2 : 0));
    ipg_step_int(s, (int32_t) B);
    ipg_step_local(s, IPG_TILE_K * tm * sizeof(float));
    ipg_step_local(s, IPG_TILE_K * tn * sizeof(float));
    s->flop = 2.0 * M * N * conv->cin * conv->kh * conv->kw * B;
    // A work-group algorithm: exactly this local size (the plan refuses it
    // over the kernel's limits); groups past the tensors leave at once.
    ipg_step_range(s, 3, (size_t[]){ (N + tn - 1) / tn * lx, (M + tm - 1) / tm * ly, B }, (size_t[]){ lx, ly, 1 });
    return IPG_OK;
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
    if (conv->path == IPG_PATH_CLBLAST) return ipg_clblast_plan_conv(p, conv, in, res, relu, out);
    if (conv->path == IPG_PATH_GPU) return plan_conv_tiled(p, conv, in, res, relu, out);
    // A conv with only Winograd weights (ipg_winograd_only) has no packed
    // copy for the im2col path: IPG_CONV=pack set after its upload leaves it
    // on these kernels.
    if (conv->kh == 3 && conv->kw == 3 && conv->stride == 1 && conv->pad == 1 &&
        (!p->pack_all_convs || !conv->w_packed)) {
        // winograd.c when the conv has its weights, it pays (or a form is
        // forced) and the scratch fits.
        if (conv->w_winograd && !p->no_winograd &&
            (p->winograd_form != IPG_WINOGRAD_FORM_AUTO || ipg_winograd_pays(p, conv, in))) {
            bool planned = false;
            st = ipg_op_conv_winograd(p, conv, in, res, relu, out, &planned);
            if (st != IPG_OK || planned) return st;
        }
        // conv-direct.cl: the input read in place, no im2col copy; from the
        // Winograd weights when they are the only ones.
        ipg_step_t * s = ipg_plan_step(p, conv->w_packed ? "ipg_conv3x3_direct" : "ipg_conv3x3_direct_u");
        if (!s) return IPG_ERR_OPENCL;
        const size_t mb = ((size_t) M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
        const size_t nb = (size_t) OH * (((size_t) OW + IPG_GEMM_NR - 1) / IPG_GEMM_NR);
        ipg_step_mem(s, conv->w_packed ? conv->w_packed : conv->w_winograd);
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
    // A 3x3/2 conv of 32 or more output channels takes conv-direct-s2.cl's
    // 32-channel x 8-pixel blocks (ipg_conv_direct_s2_c32: half the
    // broadcasts per FMA), from 16 output columns (an interior block).
    const bool c32 = conv->stride == 2 && conv->kh == 3 && conv->kw == 3 && M >= 32 && OW >= 16;
    if (conv->stride == 2 && conv->kw <= 17 && !p->pack_all_convs &&
        (c32 || conv->kw >= 5 || (conv->kw == 3 && OW >= 32))) {
        // conv-direct-s2.cl (the stem, and the stages' 3x3/2 on wide maps):
        // the input read in place, no im2col copy. With 16-pixel blocks a
        // 3x3/2 conv with fewer than 32 output columns has no interior
        // block (every block tests its pixels) and stays on im2col:
        // tools/bench-conv, best of 7, shared machine: 64 -> 128 from 64x64
        // 0.63 vs 0.71 ms, 64 -> 64 from 128x128 1.96 vs 2.68, but
        // 256 -> 512 from 16x16 1.56 vs 0.65.
        ipg_step_t * s = ipg_plan_step(p, c32 ? "ipg_conv_direct_s2_c32" : "ipg_conv_direct_s2");
        if (!s) return IPG_ERR_OPENCL;
        const size_t mb = ((size_t) M + (c32 ? 31 : 15)) / (c32 ? 32 : 16);
        const size_t nb = (size_t) OH * (((size_t) OW + (c32 ? 7 : 15)) / (c32 ? 8 : 16));
        ipg_step_mem(s, conv->w_packed);
        ipg_step_mem(s, in->buf);
        ipg_step_mem(s, conv->bias);
        ipg_step_mem(s, res ? res->buf : conv->bias);   // not read without flag 2
        ipg_step_mem(s, out->buf);
        ipg_step_int(s, M);
        ipg_step_int(s, in->c);
        ipg_step_int(s, in->h);
        ipg_step_int(s, in->w);
        ipg_step_int(s, conv->kh);
        ipg_step_int(s, conv->kw);
        ipg_step_int(s, conv->pad);
        ipg_step_int(s, OH);
        ipg_step_int(s, OW);
        ipg_step_int(s, (relu ? 1 : 0) | (res ? 2 : 0));
        ipg_step_int(s, (int32_t) B);
        s->flop = 2.0 * M * N * K * B;
        ipg_step_range_prefer(s, 3, (size_t[]){ mb, nb, B }, p->cl->is_cpu ? (size_t[]){ 1, 1, 1 } : NULL);
        return IPG_OK;
    }
    const size_t nb = ((size_t) N + IPG_GEMM_NR - 1) / IPG_GEMM_NR;
    // The im2col scratch is one buffer of B * nb panels of K x NR floats.
    // Over the device's largest buffer, the conv runs in chunks (images,
    // then pixel blocks) whose scratch fits, one pack + GEMM each; only a
    // single panel over the limit (an enormous K) cannot be split.
    const size_t panel = (size_t) K * IPG_GEMM_NR * sizeof(float);
    const size_t limit = p->cl->max_alloc;
    if (panel > limit) {
        ipg_format_error(p->err, p->err_size,
                         "the im2col scratch of a %dx%d convolution (%d -> %d channels) in %s cannot be split "
                         "below one panel of %zu bytes (%d pixels x %d taps), over this device's largest buffer "
                         "(CL_DEVICE_MAX_MEM_ALLOC_SIZE, %llu bytes)",
                         conv->kh, conv->kw, conv->cin, M, p->group ? p->group : "the network", panel, IPG_GEMM_NR, K,
                         (unsigned long long) limit);
        return IPG_ERR_NO_MEMORY;
    }
    size_t chunk_images = B, chunk_blocks = nb;
    if (B * nb * panel > limit) {
        if (nb * panel <= limit) {
            chunk_images = limit / (nb * panel);
        } else {
            chunk_images = 1;
            chunk_blocks = limit / panel;
        }
        const size_t chunks = (B + chunk_images - 1) / chunk_images * ((nb + chunk_blocks - 1) / chunk_blocks);
        ipg_log(IPG_LOG_INFO,
                "%s: a %dx%d conv's im2col scratch (%zu bytes) is over the largest buffer (%llu bytes): %zu "
                "chunks of %zu images x %zu pixel blocks",
                p->group ? p->group : "the network", conv->kh, conv->kw, B * nb * panel, (unsigned long long) limit,
                chunks, chunk_images, chunk_blocks);
    }
    const size_t bytes = chunk_images * chunk_blocks * panel;
    if (bytes > p->scratch_bytes) p->scratch_bytes = bytes;
    for (size_t image0 = 0; image0 < B; image0 += chunk_images) {
        const size_t images = B - image0 < chunk_images ? B - image0 : chunk_images;
        for (size_t block0 = 0; block0 < nb; block0 += chunk_blocks) {
            const size_t blocks = nb - block0 < chunk_blocks ? nb - block0 : chunk_blocks;
            const chunk_t c = { (int32_t) image0, (int32_t) images, (int32_t) block0, (int32_t) blocks };
            st = pack_gemm(p, conv, in, res, relu, out, OH, OW, &c);
            if (st != IPG_OK) return st;
        }
    }
    return IPG_OK;
}

// ---- one convolution over several levels ------------------------------------

// Output size of conv on one level.
static void conv_out_size(const ipg_conv_dev_t * conv, const ipg_tensor_t * in, int32_t * oh, int32_t * ow) {
    *oh = (in->h + 2 * conv->pad - conv->kh) / conv->stride + 1;
    *ow = (in->w + 2 * conv->pad - conv->kw) / conv->stride + 1;
}

void ipg_levels_ws_reserve(ipg_levels_ws_t * ws, const ipg_plan_t * p, const ipg_conv_dev_t * conv,
                           const ipg_tensor_t * in, int32_t n) {
    if (conv->path != IPG_PATH_CLBLAST) return;
    size_t cols = 0;
    for (int32_t l = 0; l < n; l++) {
        int32_t oh, ow;
        conv_out_size(conv, &in[l], &oh, &ow);
        cols += (size_t) oh * ow;
    }
    const size_t ld = (size_t) ipg_plan_batch(p) * cols;
    const size_t col = ld * conv->cin * conv->kh * conv->kw * sizeof(float);
    const size_t cat = ld * conv->cout * sizeof(float);
    if (col > ws->col_bytes) ws->col_bytes = col;
    if (cat > ws->cat_bytes) ws->cat_bytes = cat;
}

ipg_status_t ipg_op_conv_levels(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in, int32_t n,
                                bool relu, ipg_tensor_t * out, ipg_levels_ws_t * ws) {
    if (conv->path != IPG_PATH_CLBLAST) {
        for (int32_t l = 0; l < n; l++) {
            ipg_status_t st = ipg_op_conv(p, conv, &in[l], NULL, relu, &out[l]);
            if (st != IPG_OK) return st;
        }
        return IPG_OK;
    }
    for (int32_t l = 0; l < n; l++) {
        if (in[l].c != conv->cin) {
            ipg_format_error(p->err, p->err_size, "internal: conv expects %d input channels, got %d", conv->cin,
                             in[l].c);
            return IPG_ERR_INVALID_ARG;
        }
        int32_t oh, ow;
        conv_out_size(conv, &in[l], &oh, &ow);
        ipg_status_t st = out_tensor(p, &out[l], conv->cout, oh, ow);
        if (st != IPG_OK) return st;
    }
    return ipg_clblast_plan_conv_levels(p, conv, in, n, relu, out, ws);
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

// The last step's launch for pool.cl's kernels that give a work-item 16
// outputs of a row: global (ceil(OW / 16), OH, channels). On CPU drivers 8
// work-items a group (a row segment each): measured faster under PoCL than
// both 1 a group and the driver's choice (tools/bench-small,
// docs/PERFORMANCE.md).
static void row_segments(ipg_plan_t * p, int32_t c, const ipg_tensor_t * out) {
    ipg_step_t * s = &p->steps[p->n_steps - 1];
    const size_t channels = (size_t) ipg_plan_batch(p) * c;
    ipg_step_range_prefer(s, 3, (size_t[]){ ((size_t) out->w + 15) / 16, (size_t) out->h, channels },
                          p->cl->is_cpu ? (size_t[]){ 8, 1, 1 } : NULL);
}

ipg_status_t ipg_op_maxpool3x3s2(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    ipg_status_t st = spatial_op(p, "ipg_maxpool3x3s2", in, (in->h - 1) / 2 + 1, (in->w - 1) / 2 + 1, out);
    if (st == IPG_OK) row_segments(p, in->c, out);
    return st;
}

ipg_status_t ipg_op_subsample2x(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    return spatial_op(p, "ipg_subsample2x", in, (in->h - 1) / 2 + 1, (in->w - 1) / 2 + 1, out);
}

ipg_status_t ipg_op_downsample2x(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out) {
    ipg_status_t st = spatial_op(p, "ipg_downsample2x", in, in->h / 2, in->w / 2, out);
    if (st == IPG_OK) row_segments(p, in->c, out);
    return st;
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
