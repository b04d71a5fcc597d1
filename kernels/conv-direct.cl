// ============================================================================
// conv-direct.cl: 3x3 stride-1 pad-1 convolution as a GEMM that reads its
// input in place (implicit im2col), with the fused epilogue of common.cl.
//
// Why: im2col writes K = 9 C rows per output pixel; for the head's 3x3 convs
// on P3 that is 9x the input size through memory, twice (pack, then GEMM).
// Here a work-item owns MR output channels x NR = 16 pixels of one output
// row; for each (c, ky) it loads the input row segment once and forms the
// three kx-shifted vectors from it, so the input is read from cache, not a
// packed copy.
//
// A: weights packed [ceil(M / MR)][K = C * 9][MR] (the same upload as the
//    packed GEMM; k = c * 9 + ky * 3 + kx).
// in: [C][H][W]; out, res: [M][H][W] (stride 1, pad 1: same size).
// Per (c, ky) one unaligned vector load per kx; at the row's ends the padding
// tap comes from shuffling in a zero lane instead. A row's partial last block
// reads past the row (into the next row, or the 16 floats of slack every
// plan tensor has: IPG_TENSOR_SLACK); those lanes are computed, never stored.
// flags: bit 0 = ReLU, bit 1 = add res.
//
// Batch: image b = get_global_id(2) reads in + b * C * H * W and writes (and
// adds) at b * M * H * W.
// Work: global (ceil(M / MR), H * ceil(W / 16), B = images), rounded up to
// the local size (every id is bounds-checked); local (1, 1, 1) on CPUs, as
// for gemm.cl.
// ============================================================================

__kernel void ipg_conv3x3_direct(__global const float * A, __global const float * in,
                                 __global const float * bias, __global const float * res,
                                 __global float * out, int M, int C, int H, int W, int flags, int images)
{
    const int mb = get_global_id(0);
    const int nb = get_global_id(1);
    const int bpr = (W + 15) / 16;
    const int oy = nb / bpr;
    const int ox0 = (nb - oy * bpr) * 16;
    const int image = get_global_id(2);
    // A local size rounds the global size up: ids past the tiles read nothing.
    if (mb * IPG_GEMM_MR >= M || oy >= H || image >= images) return;
    in += (size_t) image * C * H * W;
    out += (size_t) image * M * H * W;
    if (flags & 2) res += (size_t) image * M * H * W;
    const int K = C * 9;
    const int lanes = min(16, W - ox0);         // output pixels of this block
    // taps x - 1 / x + 1 inside the row for every lane
    const bool left = ox0 >= 1, right = ox0 + 17 <= W;
    // lanes whose x + 1 tap is at or past the row's end
    const int16 past_end = (int16) (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) >= (int16) (lanes - 1);
    const float16 zero = 0.0f;
    const uint16 shift_in_left = (uint16) (15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30);
    const uint16 shift_in_right = (uint16) (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    __global const float * a = A + (size_t) mb * K * IPG_GEMM_MR;
    float16 acc[IPG_GEMM_MR];
    for (int i = 0; i < IPG_GEMM_MR; i++) acc[i] = 0.0f;
    for (int c = 0; c < C; c++) {
        for (int ky = 0; ky < 3; ky++) {
            const int iy = oy + ky - 1;
            if (iy < 0 || iy >= H) continue;
            __global const float * row = in + ((size_t) c * H + iy) * W;
            // Lanes past a partial block's end read the next row (or the
            // tensor's slack, IPG_TENSOR_SLACK): computed, never stored.
            const float16 b1 = vload16(0, row + ox0);
            const float16 b0 = left ? vload16(0, row + ox0 - 1) : shuffle2(zero, b1, shift_in_left);
            const float16 b2 = right ? vload16(0, row + ox0 + 1)
                                     : select(shuffle2(b1, zero, shift_in_right), zero, past_end);
            __global const float * ak = a + (size_t) (c * 9 + ky * 3) * IPG_GEMM_MR;
            #pragma unroll
            for (int i = 0; i < IPG_GEMM_MR; i++) {
                acc[i] = fma((float16) ak[i], b0, acc[i]);
                acc[i] = fma((float16) ak[IPG_GEMM_MR + i], b1, acc[i]);
                acc[i] = fma((float16) ak[2 * IPG_GEMM_MR + i], b2, acc[i]);
            }
        }
    }
    const size_t plane = (size_t) H * W;
    const size_t pix = (size_t) oy * W + ox0;
    for (int i = 0; i < IPG_GEMM_MR; i++) {
        const int m = mb * IPG_GEMM_MR + i;
        if (m >= M) break;
        ipg_conv_epilogue(acc[i], bias[m], res, out, m * plane + pix, lanes, flags);
    }
}
