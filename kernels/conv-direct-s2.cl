// ============================================================================
// conv-direct-s2.cl: wide stride-2 convolutions (the stem's 7x7/2; ops.c
// sends it KW >= 5) as a GEMM that reads its input in place, with the fused
// epilogue of common.cl.
//
// Why: through im2col a 7x7/2 stem writes K = 49 C rows per output pixel (38
// MB for a 512x512 frame) before the GEMM reads them back. Here a work-item
// owns MR output channels x 16 pixels of one output row; for each (c, ky) it
// copies the 2 * 16 + KW - 2 input values those pixels need into a private
// row (0 in the padding), and takes the KW tap vectors as its even lanes.
// Measured (tools/bench-conv, 512x512 input): 3 -> 32 channels 6.5 vs 13.9
// ms through im2col, 3 -> 64 14.1 vs 17.3 ms; for 3x3/2 the row copy costs
// more than its 3 taps save, so those stay on im2col.
//
// A: weights packed [ceil(M / MR)][K = C * KH * KW][MR] (the packed GEMM's
//    upload; k = (c * KH + ky) * KW + kx).
// in: [C][H][W]; out, res: [M][OH][OW].
// flags: bit 0 = ReLU, bit 1 = add res. KW <= IPG_S2_MAX_KW.
// Batch: image b = get_global_id(2) reads in + b * C * H * W and writes (and
// adds) at b * M * OH * OW.
// Work: global (ceil(M / MR), OH * ceil(OW / 16), B = images), rounded up to
// the local size (every id is bounds-checked); local (1, 1, 1) on CPUs.
// ============================================================================

#define IPG_S2_MAX_KW 17   // the private row holds 2 * 16 + KW - 2 <= 48 values

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
    if (mb * IPG_GEMM_MR >= M || oy >= OH || image >= images || KW > IPG_S2_MAX_KW) return;
    in += (size_t) image * C * H * W;
    out += (size_t) image * M * OH * OW;
    if (flags & 2) res += (size_t) image * M * OH * OW;
    const int K = C * KH * KW;
    const int lanes = min(16, OW - ox0);
    const int x0 = 2 * ox0 - pad;        // input column of lane 0's tap kx = 0
    const int span = 2 * 16 + KW - 2;    // input columns the block reads
    const bool inside = x0 >= 0 && x0 + 48 <= W;
    __global const float * a = A + (size_t) mb * K * IPG_GEMM_MR;
    float16 acc[IPG_GEMM_MR];
    for (int i = 0; i < IPG_GEMM_MR; i++) acc[i] = 0.0f;
    for (int c = 0; c < C; c++) {
        for (int ky = 0; ky < KH; ky++) {
            const int iy = 2 * oy - pad + ky;
            if (iy < 0 || iy >= H) continue;
            __global const float * row = in + ((size_t) c * H + iy) * W + x0;
            float seg[48];
            if (inside) {
                vstore16(vload16(0, row), 0, seg);
                vstore16(vload16(1, row), 0, seg + 16);
                vstore16(vload16(2, row), 0, seg + 32);
            } else {
                for (int j = 0; j < span; j++) seg[j] = (x0 + j >= 0 && x0 + j < W) ? row[j] : 0.0f;
            }
            __global const float * ak = a + (size_t) (c * KH + ky) * KW * IPG_GEMM_MR;
            for (int kx = 0; kx < KW; kx++) {
                const float16 b = (float16) (vload16(0, seg + kx).even, vload16(1, seg + kx).even);
                #pragma unroll
                for (int i = 0; i < IPG_GEMM_MR; i++) acc[i] = fma((float16) ak[kx * IPG_GEMM_MR + i], b, acc[i]);
            }
        }
    }
    const size_t plane = (size_t) OH * OW;
    const size_t pix = (size_t) oy * OW + ox0;
    for (int i = 0; i < IPG_GEMM_MR; i++) {
        const int m = mb * IPG_GEMM_MR + i;
        if (m >= M) break;
        ipg_conv_epilogue(acc[i], bias[m], res, out, m * plane + pix, lanes, flags);
    }
}
