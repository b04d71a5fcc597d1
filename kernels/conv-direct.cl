// ============================================================================
// conv-direct.cl: 3x3 stride-1 pad-1 convolution that reads its input in
// place (implicit im2col), with the fused epilogue of common.cl.
//
// Why this shape: a work-item owns 16 output channels x 16 pixels of one
// output row, with the output channels in the vector lanes. For each (c, ky)
// it loads the three kx taps of its 16 channels as three vectors (the weight
// packing below makes each one contiguous) and broadcasts each of the 18
// input pixels of the row segment once; every broadcast feeds up to three
// FMAs (the kx taps that use it). That is 21 loads per 48 FMAs, against 51
// when the pixels were the lanes and every weight was broadcast (measured on
// the AVX-512 CPU under PoCL: 344 -> 448 GFLOP/s for 64 -> 64 channels at
// 64x64, 283 -> 430 for 256 -> 256 at 16x16; the machine's FMA peak is about
// 510). The 16 x 16 tile is transposed in registers (four butterfly stages
// of shuffles) so that each output channel's 16 pixels are stored as one
// vector, with the bias / residual / ReLU epilogue.
//
// A: weights packed [ceil(M / 16)][K = C * 9][16] (the same upload as the
//    packed GEMM; k = c * 9 + ky * 3 + kx): vload16(k, a) is tap k of the
//    work-item's 16 output channels.
// in: [C][H][W]; out, res: [M][H][W] (stride 1, pad 1: same size).
// Blocks whose 18-pixel input segment lies inside the row take a loop with
// no bounds tests. So do the row's ends where only the padding column is
// outside (the first block of a row of 17 or more; the last when it is
// full; a row of exactly 16): their zero is a constant once the loop is
// unrolled (bench-conv, 5 rounds, 3 alternations with the tested form, best:
// 128 -> 128 at 32x32 0.687 -> 0.631 ms, 256 -> 256 at 16x16 0.643 ->
// 0.602, 64 -> 64 at 64x64 0.674 -> 0.646). The others (partial last
// blocks, narrow images) test each pixel and read nothing outside the row.
// flags: bit 0 = ReLU, bit 1 = add res.
//
// ipg_conv3x3_direct_u is the same kernel reading the weights from their
// Winograd transform U = G g G^T (winograd.cl's layout, [36][ceil(M / 16)]
// [C][16]) for the convs that keep only U (the 256-channel necks and heads:
// ipg/winograd.c, ipg_winograd_only). Rows 0, 1, 2 and 5 of Lavin's
// G give g back: g0 = 4 u0, g1 = 3 (u2 - u1), g2 = u5, so each (c, ky) reads
// 4 or 8 vectors of U, in as many streams, for its three taps instead of 3
// contiguous ones. It takes about twice the packed kernel's time
// (bench-conv: 256 -> 256 at 13x10 1.17 vs 0.55 ms; rebuilding 8 channels'
// taps at a time into a private buffer, or all nine of a channel's, was no
// faster), so it runs only where the three Winograd launches do not pay
// either: levels of under 4 tiles (P7).
//
// Batch: image b = get_global_id(2) reads in + b * C * H * W and writes (and
// adds) at b * M * H * W.
// Work: global (ceil(M / 16), H * ceil(W / 16), B = images), rounded up to the
// local size (every id is bounds-checked); local (1, 1, 1) on CPUs, as for
// gemm.cl.
// ============================================================================

#if IPG_GEMM_MR != 16 || IPG_GEMM_NR != 16
#error "conv-direct.cl is written for 16 output channels x 16 pixels per work-item"
#endif

// Accumulate the taps of input channels 0..C-1 and kernel rows ky0..ky1-1
// into acc[p] (p = output pixel ox0 + p); X(j) is input pixel ox0 - 1 + j of
// the row.
#define IPG_DIRECT_TAPS(X)                                                                       \
    for (int c = 0; c < C; c++) {                                                                \
        for (int ky = ky0; ky < ky1; ky++) {                                                     \
            __global const float * row = in + ((size_t) c * H + oy + ky - 1) * W + ox0 - 1;      \
            float16 w0, w1, w2;                                                                  \
            if (from_u) {                                                                        \
                ipg_direct_taps_from_u(a, u_stride, c, ky, &w0, &w1, &w2);                       \
            } else {                                                                             \
                const int k = c * 9 + ky * 3;                                                    \
                w0 = vload16(k, a);                                                              \
                w1 = vload16(k + 1, a);                                                          \
                w2 = vload16(k + 2, a);                                                          \
            }                                                                                    \
            _Pragma("unroll") for (int j = 0; j < 18; j++) {                                     \
                const float16 x = (float16) (X);                                                 \
                if (j < 16) acc[j] = fma(w0, x, acc[j]);                                         \
                if (j >= 1 && j < 17) acc[j - 1] = fma(w1, x, acc[j - 1]);                       \
                if (j >= 2) acc[j - 2] = fma(w2, x, acc[j - 2]);                                 \
            }                                                                                    \
        }                                                                                        \
    }

// Kernel row ky's three taps (16 output channels each) at input channel c,
// from U: row ky of L U L^T over U's rows and columns 0, 1, 2, 5, where L
// (the left inverse of G above) is (4 0 0 0 0 0; 0 -3 3 0 0 0; 0 0 0 0 0 1).
// u: the work-item's channel block of U's first xi; xi rows u_stride apart.
static inline void ipg_direct_taps_from_u(__global const float * u, size_t u_stride, int c, int ky, float16 * w0,
                                          float16 * w1, float16 * w2)
{
    __global const float * uc = u + (size_t) c * 16;
    float16 r0, r1, r2, r5;   // sum_i L[ky][i] U[i][j] for j = 0, 1, 2, 5
    if (ky == 1) {
        __global const float * p1 = uc + 6 * u_stride;
        __global const float * p2 = uc + 12 * u_stride;
        r0 = 3.0f * (vload16(0, p2) - vload16(0, p1));
        r1 = 3.0f * (vload16(0, p2 + u_stride) - vload16(0, p1 + u_stride));
        r2 = 3.0f * (vload16(0, p2 + 2 * u_stride) - vload16(0, p1 + 2 * u_stride));
        r5 = 3.0f * (vload16(0, p2 + 5 * u_stride) - vload16(0, p1 + 5 * u_stride));
    } else {
        __global const float * pi = uc + (ky == 0 ? 0 : 30 * u_stride);
        const float s = ky == 0 ? 4.0f : 1.0f;
        r0 = s * vload16(0, pi);
        r1 = s * vload16(0, pi + u_stride);
        r2 = s * vload16(0, pi + 2 * u_stride);
        r5 = s * vload16(0, pi + 5 * u_stride);
    }
    *w0 = 4.0f * r0;
    *w1 = 3.0f * (r2 - r1);
    *w2 = r5;
}

// The kernels' body: A is the packed weights, or U when from_u (a
// compile-time constant once inlined into each kernel).
static inline __attribute__((always_inline)) void
ipg_conv3x3_direct_body(__global const float * A, bool from_u, __global const float * in,
                        __global const float * bias, __global const float * res, __global float * out, int M,
                        int C, int H, int W, int flags, int images)
{
    const int mb = get_global_id(0);
    const int nb = get_global_id(1);
    const int bpr = (W + 15) / 16;
    const int oy = nb / bpr;
    const int ox0 = (nb - oy * bpr) * 16;
    const int image = get_global_id(2);
    // A local size rounds the global size up: ids past the tiles read nothing.
    if (mb * 16 >= M || oy >= H || image >= images) return;
    in += (size_t) image * C * H * W;
    out += (size_t) image * M * H * W;
    if (flags & 2) res += (size_t) image * M * H * W;
    // U: [36][ceil(M / 16)][C][16]; packed: [ceil(M / 16)][C * 9][16].
    const size_t u_stride = (size_t) ((M + 15) / 16) * C * 16;
    __global const float * a = A + (size_t) mb * C * (from_u ? 1 : 9) * 16;
    float16 acc[16];
    for (int p = 0; p < 16; p++) acc[p] = 0.0f;
    // The padding rows contribute nothing: skip their taps.
    const int ky0 = oy == 0 ? 1 : 0, ky1 = oy == H - 1 ? 2 : 3;
    if (ox0 >= 1 && ox0 + 17 <= W) {
        IPG_DIRECT_TAPS(row[j])
    } else if (ox0 == 0 && W >= 17) {
        IPG_DIRECT_TAPS(j == 0 ? 0.0f : row[j])   // the row's first block: only pixel -1 is outside
    } else if (ox0 >= 1 && ox0 + 16 == W) {
        IPG_DIRECT_TAPS(j == 17 ? 0.0f : row[j])   // its last block, full: only pixel W is outside
    } else if (ox0 == 0 && W == 16) {
        IPG_DIRECT_TAPS((j == 0 || j == 17) ? 0.0f : row[j])   // one block per row
    } else {
        IPG_DIRECT_TAPS((ox0 - 1 + j >= 0 && ox0 - 1 + j < W) ? row[j] : 0.0f)
    }
    // acc[p] lane l is channel l at pixel p; after the transpose acc[l] lane p.
    ipg_transpose16(acc);
    const size_t plane = (size_t) H * W;
    const size_t pix = (size_t) oy * W + ox0;
    const int lanes = min(16, W - ox0);   // output pixels of this block
    for (int l = 0; l < 16; l++) {
        const int m = mb * 16 + l;
        if (m >= M) break;
        ipg_conv_epilogue(acc[l], bias[m], res, out, m * plane + pix, lanes, flags);
    }
}

__kernel void ipg_conv3x3_direct(__global const float * A, __global const float * in,
                                 __global const float * bias, __global const float * res,
                                 __global float * out, int M, int C, int H, int W, int flags, int images)
{
    ipg_conv3x3_direct_body(A, false, in, bias, res, out, M, C, H, W, flags, images);
}

__kernel void ipg_conv3x3_direct_u(__global const float * U, __global const float * in,
                                   __global const float * bias, __global const float * res,
                                   __global float * out, int M, int C, int H, int W, int flags, int images)
{
    ipg_conv3x3_direct_body(U, true, in, bias, res, out, M, C, H, W, flags, images);
}
