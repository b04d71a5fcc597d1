// SPDX-License-Identifier: LGPL-2.1-or-later
// winograd.c: 3x3 stride-1 convolutions by Winograd F(4x4, 3x3): the weight
// transform at upload and the plan of one convolution (kernels/winograd.cl
// says the maths and the layouts).
#include "winograd.h"

#include "log.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

// When Winograd pays (tools/bench-conv, docs/PERFORMANCE.md; best of 8
// rounds on 2 cores, ms). Its transforms cost in proportion to (C + M) per
// tile, its GEMMs save in proportion to C * M, and its weights (4x the
// direct kernel's) are read once per 16 tiles. Where the fused form runs
// (fused_pays, below) it keeps its data in cache and pays from 32 channels
// (64 -> 36 at 64x64: 0.38 vs 0.60 direct; 40 -> 40: 0.31 vs 0.39; 32 -> 32
// at 128x128: 0.78 vs 0.78); elsewhere the three launches pay only from
// 128 channels and 8 tiles (64 -> 64 at 32x32: 0.37 vs 0.25;
// 128 -> 128 at 32x32: 0.69 vs 0.93; 256 -> 256 at 16x16: 0.43 vs 0.80;
// 512 -> 512 at 8x8 (4 tiles): 2.5 vs 1.7; 2026-12-03, 7 rounds, the
// machine loaded: 128 -> 128 at 11x9 (9 tiles) 0.19 vs 0.22, 256 -> 256
// at 15x8 (8 tiles) 0.57 vs 1.18, at 13x10 (12) 0.38 vs 0.55, at 8x8 (4)
// 0.56 vs 0.63 but at 7x5 (4) 0.30 vs 0.28 and at 3x3 (1) 0.32 vs 0.13).
// A conv with U only (ipg_winograd_only) has the direct kernel from U
// (twice the direct one's time) as its other path: the three launches from
// 4 tiles then.
#define IPG_WINOGRAD_MIN_CHANNELS       32
#define IPG_WINOGRAD_SPLIT_MIN_CHANNELS 128
#define IPG_WINOGRAD_SPLIT_MIN_TILES    8
#define IPG_WINOGRAD_ONLY_MIN_TILES     4

// The fused kernel (one launch, V and the products in a core's caches) wins
// once there are enough blocks of 16 tiles to share out without splitting
// a block's output channels over work-items, each of which then repeats its
// input transform, and while the weights U (36 C M floats), which every
// work-item reads whole, stay in a core's cache; otherwise the three
// launches win (bench-conv, best of rounds, 2 cores, fused vs three
// launches: 64 -> 64 at 64x64 (16 blocks) 0.47 vs 0.57 ms; at 32x32 (4
// blocks) 0.70 vs 0.55; 128 -> 128 at 64x64 1.48 vs 1.61; 256 -> 256 at
// 64x64 4.4-7.8 vs 5.0-6.7, at 52x40 (9 blocks) 4.0-6.0 vs 3.8-4.3).
#define IPG_WINOGRAD_FUSED_MIN_BLOCKS 8
#define IPG_WINOGRAD_FUSED_MAX_CM     (128 * 128)

static bool fused_pays(int64_t tiles, int32_t C, int32_t M) {
    return (tiles + 15) / 16 >= IPG_WINOGRAD_FUSED_MIN_BLOCKS && (int64_t) C * M <= IPG_WINOGRAD_FUSED_MAX_CM;
}

// Where Winograd is on. Its error is about 5x the direct kernel's (3-7e-6 of
// the largest output vs float64 per conv, test-winograd). The neck and heads
// hold the parity contract with it; the backbone's long chains of 3x3 convs
// (R50: 16 blocks) do not always: a random R50 at 512x512 went from 7.7e-5
// to 1.08e-4 at C5 (docs/PERFORMANCE.md). So the default is the neck and the
// heads; IPG_WINOGRAD=all adds the backbone and the IPG modules, 0 is off.
static bool in_scope(const char * name) {
    const char * env = getenv("IPG_WINOGRAD");
    if (env && strcmp(env, "0") == 0) return false;
    if (env && strcmp(env, "all") == 0) return true;
    return strncmp(name, "backbone.body.", 14) != 0 && strncmp(name, "backbone.guidance.", 18) != 0;
}

bool ipg_winograd_wanted(const ipg_conv_host_t * h, int32_t cin_count) {
    if (h->kh != 3 || h->kw != 3 || h->stride != 1 || h->pad != 1) return false;
    if (cin_count < IPG_WINOGRAD_MIN_CHANNELS || h->cout < IPG_WINOGRAD_MIN_CHANNELS) return false;
    return in_scope(h->name ? h->name : "");
}

// A conv keeps only U (not its packed copy, a quarter of U's size) when
// both its channel counts reach IPG_WINOGRAD_SPLIT_MIN_CHANNELS: the
// 256-channel necks and heads of R18-R50 (2.4 MB each at 256 -> 256), where
// the three launches pay from IPG_WINOGRAD_ONLY_MIN_TILES tiles; below that
// (a level of one tile, P7 at 416x320) the direct kernel reads U
// (conv-direct.cl, ipg_conv3x3_direct_u, about twice the packed direct
// kernel's time). The demo model's 64-channel neck and heads keep both.
bool ipg_winograd_only(const ipg_conv_host_t * h, int32_t cin_count) {
    const char * conv = getenv("IPG_CONV");
    if (conv && strcmp(conv, "pack") == 0) return false;
    return ipg_winograd_wanted(h, cin_count) && cin_count >= IPG_WINOGRAD_SPLIT_MIN_CHANNELS &&
           h->cout >= IPG_WINOGRAD_SPLIT_MIN_CHANNELS;
}

// Lavin's G for F(4x4, 3x3) (points 0, +-1, +-2, infinity; 1/2 folded in).
static const double G[6][3] = {
    { 1.0 / 4, 0, 0 },
    { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
    { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
    { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
    { 1.0 / 24, -1.0 / 12, 1.0 / 6 },
    { 0, 0, 1 },
};

cl_mem ipg_winograd_upload(ipg_cl_t * cl, const ipg_conv_host_t * h, int32_t cin_begin, int32_t cin_count, char * err,
                           size_t err_size) {
    const int32_t M = h->cout, C = cin_count;
    const int32_t mb = (M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
    const size_t n = (size_t) 36 * mb * C * IPG_GEMM_MR;
    float * u = calloc(n, sizeof(float));   // rows past M stay zero
    if (!u) {
        ipg_format_error(err, err_size, "out of memory transforming '%s'", h->name);
        return NULL;
    }
    for (int32_t m = 0; m < M; m++)
        for (int32_t c = 0; c < C; c++) {
            const float * g = h->w + ((size_t) m * h->cin + cin_begin + c) * 9;
            double gg[6][3];   // G g
            for (int i = 0; i < 6; i++)
                for (int b = 0; b < 3; b++)
                    gg[i][b] = G[i][0] * g[0 * 3 + b] + G[i][1] * g[1 * 3 + b] + G[i][2] * g[2 * 3 + b];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    const double v = gg[i][0] * G[j][0] + gg[i][1] * G[j][1] + gg[i][2] * G[j][2];
                    const size_t xi = (size_t) i * 6 + j;
                    u[((xi * mb + m / IPG_GEMM_MR) * C + c) * IPG_GEMM_MR + m % IPG_GEMM_MR] = (float) v;
                }
        }
    cl_mem buf = ipg_cl_buffer(cl, CL_MEM_READ_ONLY, n * sizeof(float), u, err, err_size);
    free(u);
    return buf;
}

// The 4x4 output tiles of all images of the plan's batch.
static int64_t tiles_of(const ipg_plan_t * p, const ipg_tensor_t * in) {
    return (int64_t) ipg_plan_batch(p) * ((in->h + 3) / 4) * ((in->w + 3) / 4);
}

// A step's flop count: the direct conv's, as ipg_op_conv counts it.
static double direct_flop(const ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in) {
    return 2.0 * conv->cout * in->c * 9 * (double) in->h * in->w * ipg_plan_batch(p);
}

bool ipg_winograd_pays(const ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in) {
    const int64_t tiles = tiles_of(p, in);
    const int32_t channels = conv->cout < in->c ? conv->cout : in->c;
    if (fused_pays(tiles, in->c, conv->cout)) return channels >= IPG_WINOGRAD_MIN_CHANNELS;
    const int64_t min_tiles = conv->w_packed ? IPG_WINOGRAD_SPLIT_MIN_TILES : IPG_WINOGRAD_ONLY_MIN_TILES;
    return channels >= IPG_WINOGRAD_SPLIT_MIN_CHANNELS && tiles >= min_tiles;
}

// The input transform's first arguments (both forms): in, C, H, W, the
// tiles per column and row of an image, and T, the tiles of the batch.
static void input_args(ipg_step_t * s, const ipg_tensor_t * in, int64_t T) {
    ipg_step_mem(s, in->buf);
    ipg_step_int(s, in->c);
    ipg_step_int(s, in->h);
    ipg_step_int(s, in->w);
    ipg_step_int(s, (in->h + 3) / 4);
    ipg_step_int(s, (in->w + 3) / 4);
    ipg_step_int(s, (int32_t) T);
}

// T: the tiles of the batch (both forms).
static ipg_status_t plan_fused(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                               const ipg_tensor_t * res, bool relu, const ipg_tensor_t * out, int64_t T,
                               bool * planned) {
    const int32_t M = conv->cout, C = in->c;
    const int64_t NB = (T + 15) / 16;
    const int64_t MB = (M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
    // Output channel groups: at least 8 work-items where the blocks allow
    // (only when forced where fused_pays says no).
    int64_t groups = (8 + NB - 1) / NB;
    if (groups > MB) groups = MB;
    if (groups < 1) groups = 1;
    // Each work-item's V: [36][C][16], xi rows IPG_WINOGRAD_V_STRIDE(1, C) apart.
    const int64_t total = NB * groups * 36 * ((int64_t) C * 16 + 16);
    const size_t bytes = (size_t) total * sizeof(float);
    if (total > INT_MAX || bytes > p->cl->max_alloc) return IPG_OK;   // the direct path takes it
    if (bytes > p->scratch_bytes) p->scratch_bytes = bytes;
    ipg_step_t * s = ipg_plan_step(p, "ipg_winograd_fused");
    if (!s) return IPG_ERR_OPENCL;
    input_args(s, in, T);
    ipg_step_mem(s, conv->w_winograd);
    ipg_step_int(s, M);
    ipg_step_int(s, (int32_t) groups);
    ipg_step_mem(s, conv->bias);
    ipg_step_mem(s, res ? res->buf : conv->bias);   // not read without flag 2
    ipg_step_mem(s, out->buf);
    ipg_step_int(s, (relu ? 1 : 0) | (res ? 2 : 0));
    ipg_step_memref(s, &p->scratch);
    ipg_step_int(s, 0);
    s->flop = direct_flop(p, conv, in);
    // Written for 16 tiles per work-item in vector lanes: local (1, 1) on
    // CPUs, so PoCL adds no work-item loop around it.
    ipg_step_range_prefer(s, 2, (size_t[]){ (size_t) NB, (size_t) groups }, p->cl->is_cpu ? (size_t[]){ 1, 1 } : NULL);
    *planned = true;
    return IPG_OK;
}

static ipg_status_t plan_split(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                               const ipg_tensor_t * res, bool relu, const ipg_tensor_t * out, int64_t T,
                               bool * planned) {
    const int32_t M = conv->cout, C = in->c, H = in->h, W = in->w;
    const int64_t tiles_y = (H + 3) / 4, tiles_x = (W + 3) / 4;
    const int64_t NB = (T + 15) / 16;
    const int64_t MB = (M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
    // V then Mt in the shared scratch; Mt starts on a 64-byte boundary.
    // xi strides padded by a cache line (winograd.cl's IPG_WINOGRAD_*_STRIDE).
    const int64_t v_floats = 36 * (NB * C * 16 + 16);
    const int64_t m_at = (v_floats + 15) / 16 * 16;
    // + 16: the output transform's vector loads of a partial last block.
    const int64_t total = m_at + 36 * ((int64_t) M * T + 16) + 16;
    const size_t bytes = (size_t) total * sizeof(float);
    if (total > INT_MAX || bytes > p->cl->max_alloc) return IPG_OK;   // the direct path takes it
    if (bytes > p->scratch_bytes) p->scratch_bytes = bytes;

    ipg_step_t * s = ipg_plan_step(p, "ipg_winograd_input");
    if (!s) return IPG_ERR_OPENCL;
    input_args(s, in, T);
    ipg_step_memref(s, &p->scratch);
    ipg_step_int(s, 0);
    // Both transforms are written for 16 tiles per work-item in vector
    // lanes: local (1, 1) on CPUs, so PoCL adds no work-item loop around them.
    ipg_step_range_prefer(s, 2,
                          (size_t[]){ (size_t) NB, ((size_t) C + IPG_WINOGRAD_CHANNELS - 1) / IPG_WINOGRAD_CHANNELS },
                          p->cl->is_cpu ? (size_t[]){ 1, 1 } : NULL);

    s = ipg_plan_step(p, "ipg_winograd_gemm");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, conv->w_winograd);
    ipg_step_memref(s, &p->scratch);
    ipg_step_int(s, 0);
    ipg_step_int(s, (int32_t) m_at);
    ipg_step_int(s, M);
    ipg_step_int(s, C);
    ipg_step_int(s, (int32_t) T);
    s->flop = direct_flop(p, conv, in);
    // Local (1, 1, 1) on CPUs, as gemm.cl: no work-item loop around the tile.
    ipg_step_range_prefer(s, 3, (size_t[]){ (size_t) MB, (size_t) NB, 36 },
                          p->cl->is_cpu ? (size_t[]){ 1, 1, 1 } : NULL);

    s = ipg_plan_step(p, "ipg_winograd_output");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_memref(s, &p->scratch);
    ipg_step_int(s, (int32_t) m_at);
    ipg_step_mem(s, conv->bias);
    ipg_step_mem(s, res ? res->buf : conv->bias);   // not read without flag 2
    ipg_step_mem(s, out->buf);
    ipg_step_int(s, M);
    ipg_step_int(s, H);
    ipg_step_int(s, W);
    ipg_step_int(s, (int32_t) tiles_y);
    ipg_step_int(s, (int32_t) tiles_x);
    ipg_step_int(s, (int32_t) T);
    ipg_step_int(s, (relu ? 1 : 0) | (res ? 2 : 0));
    ipg_step_range_prefer(s, 2,
                          (size_t[]){ (size_t) NB, ((size_t) M + IPG_WINOGRAD_CHANNELS - 1) / IPG_WINOGRAD_CHANNELS },
                          p->cl->is_cpu ? (size_t[]){ 1, 1 } : NULL);
    *planned = true;
    return IPG_OK;
}

ipg_status_t ipg_op_conv_winograd(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                                  const ipg_tensor_t * res, bool relu, const ipg_tensor_t * out, bool * planned) {
    *planned = false;
    const int64_t T = tiles_of(p, in);
    bool fused = fused_pays(T, in->c, conv->cout);
    if (p->winograd_form == IPG_WINOGRAD_FORM_FUSED) fused = true;
    if (p->winograd_form == IPG_WINOGRAD_FORM_SPLIT) fused = false;
    return fused ? plan_fused(p, conv, in, res, relu, out, T, planned)
                 : plan_split(p, conv, in, res, relu, out, T, planned);
}
