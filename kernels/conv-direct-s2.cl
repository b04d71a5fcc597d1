// ============================================================================
// conv-direct-s2.cl: stride-2 convolutions of 3 to 17 taps (the stem's 7x7/2,
// the stages' 3x3/2) that read their input in place, with the fused
// epilogue of common.cl.
//
// Why: through im2col a 7x7/2 stem writes K = 49 C rows per output pixel (38
// MB for a 512x512 frame) before the GEMM reads them back. Here a work-item
// owns 16 output channels (the vector lanes) x 16 pixels of one output row,
// as in conv-direct.cl: for each (c, ky) it loads the KW tap vectors of its
// channels and broadcasts each input value of the row segment the 16 pixels
// read (2 * 16 + KW - 2 values); at stride 2 each feeds the KW / 2 or so taps
// that use it. For KW = 7 (every ResNet stem) and KW = 3 (the first conv of
// a ResNet stage) the taps are unrolled with the weights in registers (7 +
// 37 loads per 112 FMAs; 3 + 33 per 48); other widths loop over the taps
// (one weight vector and 16 broadcasts per 16 FMAs). The tile is transposed
// in registers for the store (ipg_transpose16).
//
// A: weights packed [ceil(M / 16)][K = C * KH * KW][16] (the packed GEMM's
//    upload; k = (c * KH + ky) * KW + kx): vload16(k, a) is tap k of the
//    work-item's 16 output channels.
// in: [C][H][W]; out, res: [M][OH][OW].
// flags: bit 0 = ReLU, bit 1 = add res. KW <= IPG_S2_MAX_KW.
// Batch: image b = get_global_id(2) reads in + b * C * H * W and writes (and
// adds) at b * M * OH * OW.
// Work: global (ceil(M / 16), OH * ceil(OW / 16), B = images), rounded up to
// the local size (every id is bounds-checked); local (1, 1, 1) on CPUs.
// ============================================================================

#if IPG_GEMM_MR != 16
#error "conv-direct-s2.cl is written for 16 output channels per work-item"
#endif

#define IPG_S2_MAX_KW 17   // the private row holds 2 * 16 + KW - 2 <= 47 values

// The KW-wide taps (KW a constant) of one (c, ky) row into acc[p]; X(j) is
// input column x0 + j of the row (output pixel p reads columns 2p ..
// 2p + KW - 1).
// The taps run in two passes, even kx then odd kx: within a pass, input
// column j = 2 i + parity feeds output pixel p through tap kx = 2 (i - p) +
// parity, a stride-1 sliding window over every other column. Each pass
// holds only its own tap vectors (4 and 3 for KW = 7): with the 16
// accumulators and the broadcast, at most 21 of AVX-512's 32 vector
// registers.
#define IPG_S2_TAPS(KW, X)                                                                       \
    _Pragma("unroll") for (int parity = 0; parity < 2; parity++) {                               \
        const int nt = (KW - parity + 1) / 2;   /* taps kx = parity, parity + 2, ... */          \
        float16 w[(KW + 1) / 2];                                                                 \
        _Pragma("unroll") for (int t = 0; t < nt; t++) w[t] = vload16(k + parity + 2 * t, a);    \
        _Pragma("unroll") for (int i = 0; i < 15 + nt; i++) {                                    \
            const int j = 2 * i + parity;                                                        \
            const float16 x = (float16) (X);                                                     \
            _Pragma("unroll") for (int t = 0; t < nt; t++) {                                     \
                if (i - t < 0 || i - t >= 16) continue;                                          \
                acc[i - t] = fma(w[t], x, acc[i - t]);                                           \
            }                                                                                    \
        }                                                                                        \
    }

// The statements for every (c, ky) whose input row iy lies in the image, with row =
// its column x0 and k = its first tap.
#define IPG_S2_ROWS(...)                                                                         \
    for (int c = 0; c < C; c++) {                                                                \
        for (int ky = 0; ky < KH; ky++) {                                                        \
            const int iy = 2 * oy - pad + ky;                                                    \
            if (iy < 0 || iy >= H) continue;                                                     \
            __global const float * row = in + ((size_t) c * H + iy) * W + x0;                    \
            const int k = (c * KH + ky) * KW;                                                    \
            __VA_ARGS__                                                                          \
        }                                                                                        \
    }

__kernel void ipg_conv_direct_s2(__global const float * A, __global const float * in,
                                 __global const float * bias, __global const float * res,
                                 __global float * out, int M, int C, int H, int W, int KH, int KW, int pad,
                                 int OH, int OW, int flags, int images)
{
    const int mb = get_global_id(0);
    const int nb = get_global_id(1);
    const int bpr = (OW + 15) / 16;
    const int oy = nb / bpr;
    const int ox0 = (nb - oy * bpr) * 16;
    const int image = get_global_id(2);
    if (mb * 16 >= M || oy >= OH || image >= images || KW > IPG_S2_MAX_KW) return;
    in += (size_t) image * C * H * W;
    out += (size_t) image * M * OH * OW;
    if (flags & 2) res += (size_t) image * M * OH * OW;
    const int lanes = min(16, OW - ox0);
    const int x0 = 2 * ox0 - pad;        // input column of pixel 0's tap kx = 0
    const int span = 2 * 16 + KW - 2;    // input columns the block reads
    const bool inside = x0 >= 0 && x0 + span <= W;
    __global const float * a = A + (size_t) mb * C * KH * KW * 16;
    float16 acc[16];
    for (int p = 0; p < 16; p++) acc[p] = 0.0f;
    // Each (KW, inside) case has its own loop over (c, ky), so that the
    // accumulators stay in registers across it: with all the cases in one
    // loop body, PoCL's code reloaded them from the stack on every pass (it
    // still stores them once a pass, never reading them back).
    if (KW == 7 && inside) {
        IPG_S2_ROWS(IPG_S2_TAPS(7, row[j]))
    } else if (KW == 7) {
        IPG_S2_ROWS(IPG_S2_TAPS(7, (x0 + j >= 0 && x0 + j < W) ? row[j] : 0.0f))
    } else if (KW == 3 && inside) {
        IPG_S2_ROWS(IPG_S2_TAPS(3, row[j]))
    } else if (KW == 3) {
        IPG_S2_ROWS(IPG_S2_TAPS(3, (x0 + j >= 0 && x0 + j < W) ? row[j] : 0.0f))
    } else {
        IPG_S2_ROWS({
            float seg[48];
            for (int j = 0; j < span; j++) seg[j] = (x0 + j >= 0 && x0 + j < W) ? row[j] : 0.0f;
            for (int kx = 0; kx < KW; kx++) {
                const float16 w = vload16(k + kx, a);
                _Pragma("unroll") for (int p = 0; p < 16; p++) acc[p] = fma(w, (float16) seg[2 * p + kx], acc[p]);
            }
        })
    }
    // acc[p] lane l is channel l at pixel p; after the transpose acc[l] lane p.
    ipg_transpose16(acc);
    const size_t plane = (size_t) OH * OW;
    const size_t pix = (size_t) oy * OW + ox0;
    for (int l = 0; l < 16; l++) {
        const int m = mb * 16 + l;
        if (m >= M) break;
        ipg_conv_epilogue(acc[l], bias[m], res, out, m * plane + pix, lanes, flags);
    }
}

// ---- 32 output channels x 8 pixels ------------------------------------------
// ipg_conv_direct_s2_c32: the same convolution with a work-item owning two
// 16-channel blocks (mb0 = 2 * get_global_id(0) and mb0 + 1) of 8 pixels of
// one output row. Each broadcast input value then feeds both blocks' taps:
// for KW = 3, 17 broadcasts per 48 FMAs instead of 33 (the 16 x 16 tile's
// 3 x 3/2 convs ran at a third of the stride-1 kernel's rate, bound by the
// broadcasts), and 8-pixel blocks leave rows of 16 to 31 pixels (ResNet's
// last stage) an interior block (bench-conv, best of 5: 32 -> 64 from
// 128x128 1.12 -> 0.67 ms, 64 -> 128 from 64x64 0.91 -> 0.66, 128 -> 256
// from 32x32 0.75 against im2col's 0.79-0.91; the 7x7/2 stem, 3 -> 32 from
// 512x512, 2.08 -> 2.17: its 37 broadcasts already feed 112 FMAs). KW = 3
// only. Registers: 16 accumulators, 2 x 2 tap vectors, a broadcast.
// Past M the second block repeats the first's weights and is not stored.
// Work: global (ceil(M / 32), OH * ceil(OW / 8), B = images), rounded up to
// the local size (every id is bounds-checked); local (1, 1, 1) on CPUs.

// As IPG_S2_TAPS, into acc0[p] (block mb0) and acc1[p] (mb1), p < 8.
#define IPG_S2_TAPS_C32(KW, X)                                                                   \
    _Pragma("unroll") for (int parity = 0; parity < 2; parity++) {                               \
        const int nt = (KW - parity + 1) / 2;   /* taps kx = parity, parity + 2, ... */          \
        float16 w0[(KW + 1) / 2], w1[(KW + 1) / 2];                                              \
        _Pragma("unroll") for (int t = 0; t < nt; t++) {                                         \
            w0[t] = vload16(k + parity + 2 * t, a0);                                             \
            w1[t] = vload16(k + parity + 2 * t, a1);                                             \
        }                                                                                        \
        _Pragma("unroll") for (int i = 0; i < 7 + nt; i++) {                                     \
            const int j = 2 * i + parity;                                                        \
            const float16 x = (float16) (X);                                                     \
            _Pragma("unroll") for (int t = 0; t < nt; t++) {                                     \
                if (i - t < 0 || i - t >= 8) continue;                                           \
                acc0[i - t] = fma(w0[t], x, acc0[i - t]);                                        \
                acc1[i - t] = fma(w1[t], x, acc1[i - t]);                                        \
            }                                                                                    \
        }                                                                                        \
    }

// Channels mb * 16.. of acc[p] (lane l = channel mb * 16 + l at pixel p < 8)
// stored as 8-pixel rows with the epilogue, through the 16 x 16 transpose
// (pixels 8..15 zero).
inline void ipg_s2_store8(const float16 * acc, int mb, int M, __global const float * bias,
                          __global const float * res, __global float * out, size_t plane, size_t pix, int lanes,
                          int flags)
{
    float16 t[16];
    for (int p = 0; p < 8; p++) t[p] = acc[p];
    for (int p = 8; p < 16; p++) t[p] = 0.0f;
    ipg_transpose16(t);
    for (int l = 0; l < 16; l++) {
        const int m = mb * 16 + l;
        if (m >= M) break;
        const size_t at = m * plane + pix;
        float8 v = t[l].lo + bias[m];
        if (lanes == 8) {
            if (flags & 2) v += vload8(0, res + at);
            if (flags & 1) v = fmax(v, 0.0f);
            vstore8(v, 0, out + at);
        } else {
            float e[8];
            vstore8(v, 0, e);
            for (int j = 0; j < lanes; j++) {
                float r = e[j];
                if (flags & 2) r += res[at + j];
                if (flags & 1) r = fmax(r, 0.0f);
                out[at + j] = r;
            }
        }
    }
}

__kernel void ipg_conv_direct_s2_c32(__global const float * A, __global const float * in,
                                     __global const float * bias, __global const float * res,
                                     __global float * out, int M, int C, int H, int W, int KH, int KW, int pad,
                                     int OH, int OW, int flags, int images)
{
    const int mp = get_global_id(0);
    const int nb = get_global_id(1);
    const int bpr = (OW + 7) / 8;
    const int oy = nb / bpr;
    const int ox0 = (nb - oy * bpr) * 8;
    const int image = get_global_id(2);
    if (mp * 32 >= M || oy >= OH || image >= images || KW != 3) return;
    in += (size_t) image * C * H * W;
    out += (size_t) image * M * OH * OW;
    if (flags & 2) res += (size_t) image * M * OH * OW;
    const int mb0 = 2 * mp, mb1 = min(mb0 + 1, (M + 15) / 16 - 1);
    const int lanes = min(8, OW - ox0);
    const int x0 = 2 * ox0 - pad;       // input column of pixel 0's tap kx = 0
    const int span = 2 * 8 + KW - 2;    // input columns the block reads
    const bool inside = x0 >= 0 && x0 + span <= W;
    __global const float * a0 = A + (size_t) mb0 * C * KH * KW * 16;
    __global const float * a1 = A + (size_t) mb1 * C * KH * KW * 16;
    float16 acc0[8], acc1[8];
    for (int p = 0; p < 8; p++) acc0[p] = acc1[p] = 0.0f;
    if (inside) {
        IPG_S2_ROWS(IPG_S2_TAPS_C32(3, row[j]))
    } else {
        IPG_S2_ROWS(IPG_S2_TAPS_C32(3, (x0 + j >= 0 && x0 + j < W) ? row[j] : 0.0f))
    }
    const size_t plane = (size_t) OH * OW;
    const size_t pix = (size_t) oy * OW + ox0;
    ipg_s2_store8(acc0, mb0, M, bias, res, out, plane, pix, lanes, flags);
    if (mb1 != mb0) ipg_s2_store8(acc1, mb1, M, bias, res, out, plane, pix, lanes, flags);
}
