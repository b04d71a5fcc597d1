// ============================================================================
// conv-pack.cl: im2col written straight into the GEMM's packed right-hand
// operand.
//
// A convolution is out[M = C_out][N = OH * OW] = W[M][K] x X[K][N] with
// K = C_in * KH * KW and X the im2col matrix. gemm.cl reads X packed as
// [ceil(N / NR)][K][NR]: for each block of NR output pixels, K rows of NR
// values, contiguous, so one work-item streams one block. Pixels past N and
// taps in the padding are written as 0.
//
// Batch: image b = get_global_id(2) reads its own [C][H][W] and writes its
// own packed panel, ceil(N / NR) * K * NR floats after image b - 1's.
// Chunks: when the whole scratch would be over the device's largest buffer
// (ops.c), the conv runs in chunks of images image0.. (`images` of them) and
// pixel blocks block0.. (`blocks` of them); the scratch then holds only the
// chunk, `blocks` panels per image. Unsplit: image0 = block0 = 0, `blocks` =
// ceil(N / NR).
// Work: one work-item per (row k, block of NR pixels), global (K, blocks,
// images), rounded up to the local size (every id is bounds-checked);
// each writes its NR values contiguously. A 1x1, stride-1, unpadded conv
// reads NR contiguous inputs (the block is a plain copy); so does any
// stride-1 tap whose block stays inside one input row (stride 2: the even
// lanes of 2 NR inputs). Blocks that wrap a row or touch the padding take the
// per-element path.
// ============================================================================

__kernel void ipg_conv_pack(__global const float * in, int C, int H, int W,
                            int KH, int KW, int stride, int pad,
                            int OH, int OW,
                            __global float * packed, int K, int images,
                            int image0, int block0, int blocks)
{
    const int k  = get_global_id(0);   // row of the im2col matrix
    const int cb = get_global_id(1);   // block of the chunk
    const int nb = block0 + cb;        // block of NR output pixels
    const int N  = OH * OW;
    const int n0 = nb * IPG_GEMM_NR;
    const int ci = get_global_id(2);   // image of the chunk
    // The global size may be rounded up to the local size.
    if (k >= K || cb >= blocks || n0 >= N || ci >= images) return;
    in += (size_t) (image0 + ci) * C * H * W;
    packed += (size_t) ci * blocks * K * IPG_GEMM_NR;
    __global float * dst = packed + ((size_t) cb * K + k) * IPG_GEMM_NR;
    if (KH == 1 && KW == 1 && stride == 1 && pad == 0 && n0 + IPG_GEMM_NR <= N) {
        vstore16(vload16(0, in + (size_t) k * N + n0), 0, dst);
        return;
    }
    const int c  = k / (KH * KW);
    const int r  = k - c * (KH * KW);
    const int ky = r / KW, kx = r - ky * KW;
    __global const float * plane = in + (size_t) c * H * W;
    int oy = n0 / OW, ox = n0 - oy * OW;
    // Interior fast path: the block lies in one output row, and its taps in
    // one input row, inside the image (no padding). Stride 1 is a plain
    // vector copy; stride 2 takes the even lanes of two vector loads.
    const int iy = oy * stride - pad + ky, ix0 = ox * stride - pad + kx;
    if (ox + IPG_GEMM_NR <= OW && iy >= 0 && iy < H && ix0 >= 0) {
        __global const float * src = plane + (size_t) iy * W + ix0;
        if (stride == 1 && ix0 + IPG_GEMM_NR <= W) {
            vstore16(vload16(0, src), 0, dst);
            return;
        }
        if (stride == 2 && ix0 + 2 * IPG_GEMM_NR <= W) {
            // One shuffle2, not (float16) (lo.even, hi.even): oclgrind 21.10's
            // uninitialised-value tracking reports that concatenation of two
            // fully written vectors as uninitialised (tests/engine/run-oclgrind.sh).
            const float16 lo = vload16(0, src), hi = vload16(0, src + 16);
            vstore16(shuffle2(lo, hi, (uint16) (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)), 0, dst);
            return;
        }
    }
    float v[IPG_GEMM_NR];
    for (int j = 0; j < IPG_GEMM_NR; j++) {
        float e = 0.0f;
        if (n0 + j < N) {
            const int sy = oy * stride - pad + ky, sx = ox * stride - pad + kx;
            if (sy >= 0 && sy < H && sx >= 0 && sx < W) e = plane[sy * W + sx];
        }
        v[j] = e;
        if (++ox == OW) { ox = 0; oy++; }
    }
    vstore16(vload16(0, v), 0, dst);
}
