// ============================================================================
// conv-tiled.cl: the GPU path's convolution (kernel-path.c, "gpu"): a GEMM
// tiled through local memory, reading its B operand straight from the NCHW
// input (implicit im2col), with the fused epilogue.
//
// out[m][n] = act(sum_k A[m][k] * B[k][n] + bias[m] (+ res[m][n]))
//   A: weights packed at upload as [ceil(M / TM)][K][TM], TM = WM x local
//      size 1 (chosen at run time per device, kernel-path.c): one K-slice of
//      a work-group's A tile is TK x TM contiguous floats.
//   B[k][n]: k = (c, ky, kx), n = (oy, ox) of the convolution; a 1x1
//      stride-1 convolution reads its input rows as they are ([C][H * W] is
//      [K][N]); every other shape computes the tap's address per element.
//      No im2col copy is written.
//   out, res: [M][OH][OW] per image.
// Why: a CPU wants one big register tile per work-item (gemm.cl,
// conv-direct.cl: 16 x float16 = 1 KB of private memory); a GPU spills that
// (AMDGPU: 310-459 VGPRs and scratch). Here a work-group of LX x LY
// work-items computes a TM x TN tile; each K-slice of TK rows of A and B is
// staged in __local (two barriers per slice), and each work-item keeps only
// WM x WN = 4 x 4 accumulators (tools/check-amdgpu-registers.sh checks that
// this compiles without spills for gfx90a and gfx1030).
// A work-item owns rows m0 + ly + i * LY and columns n0 + lx + j * LX, so
// consecutive work-items read consecutive words of the B tile and store
// consecutive pixels.
// flags: bit 0 = ReLU, bit 1 = add res.
//
// Work: global (ceil(N / TN) * LX, ceil(M / TM) * LY, images), local
// (LX, LY, 1), exactly (kernel-path.c). Groups past M, N or the batch leave
// before the first barrier as a whole (their ids are the group's); every
// element loaded or stored is bounds-checked.
// ============================================================================

#ifndef IPG_TILE_WM
#define IPG_TILE_WM 4
#endif
#ifndef IPG_TILE_WN
#define IPG_TILE_WN 4
#endif
#ifndef IPG_TILE_K
#define IPG_TILE_K 16
#endif

// a_tile: IPG_TILE_K * TM floats; b_tile: IPG_TILE_K * TN floats (host-sized).
__kernel void ipg_conv_tiled(__global const float * A, __global const float * in, __global const float * bias,
                             __global const float * res, __global float * out, int M, int C, int H, int W, int kh,
                             int kw, int stride, int pad, int OH, int OW, int flags, int images,
                             __local float * a_tile, __local float * b_tile)
{
    const int LX = get_local_size(0), LY = get_local_size(1);
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int TN = IPG_TILE_WN * LX, TM = IPG_TILE_WM * LY;
    const int n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM;
    const int image = get_group_id(2);
    const int N = OH * OW, taps = kh * kw, K = C * taps;
    // The whole group leaves together: no work-item skips a barrier.
    if (n0 >= N || m0 >= M || image >= images) return;
    in += (size_t) image * C * H * W;
    out += (size_t) image * M * N;
    if (flags & 2) res += (size_t) image * M * N;
    const bool plain = taps == 1 && stride == 1 && pad == 0;   // B is the input itself
    const int tid = ty * LX + tx, threads = LX * LY;
    __global const float * a_panel = A + (size_t) get_group_id(1) * K * TM;

    float acc[IPG_TILE_WM][IPG_TILE_WN];
    for (int i = 0; i < IPG_TILE_WM; i++)
        for (int j = 0; j < IPG_TILE_WN; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += IPG_TILE_K) {
        // A's slice: rows k0.. of the panel, contiguous; past K: zeros.
        const int a_count = min(IPG_TILE_K, K - k0) * TM;
        for (int e = tid; e < IPG_TILE_K * TM; e += threads)
            a_tile[e] = e < a_count ? a_panel[(size_t) k0 * TM + e] : 0.0f;
        // B's slice: the taps of TK rows x TN pixels; outside: zeros.
        for (int e = tid; e < IPG_TILE_K * TN; e += threads) {
            const int kk = e / TN;
            const int k = k0 + kk, n = n0 + (e - kk * TN);
            float v = 0.0f;
            if (k < K && n < N) {
                if (plain) {
                    v = in[(size_t) k * N + n];
                } else {
                    const int c = k / taps, t = k - c * taps;
                    const int ky = t / kw, kx = t - ky * kw;
                    const int oy = n / OW, ox = n - oy * OW;
                    const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                    if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = in[((size_t) c * H + iy) * W + ix];
                }
            }
            b_tile[e] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        // Unrolled by 4, not 16: fully unrolled, the compiler hoists every
        // local read of the slice into registers (AMDGPU: 166-170 VGPRs,
        // occupancy 3 on gfx90a); by 4: 62-74 VGPRs, occupancy 6 (gfx90a)
        // and 16 (gfx1030). tools/check-amdgpu-registers.sh prints these.
        #pragma unroll 4
        for (int kk = 0; kk < IPG_TILE_K; kk++) {
            float a[IPG_TILE_WM], b[IPG_TILE_WN];
            #pragma unroll
            for (int i = 0; i < IPG_TILE_WM; i++) a[i] = a_tile[kk * TM + ty + i * LY];
            #pragma unroll
            for (int j = 0; j < IPG_TILE_WN; j++) b[j] = b_tile[kk * TN + tx + j * LX];
            #pragma unroll
            for (int i = 0; i < IPG_TILE_WM; i++)
                #pragma unroll
                for (int j = 0; j < IPG_TILE_WN; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    // The epilogue of common.cl, per element: bias, residual, ReLU.
    #pragma unroll
    for (int i = 0; i < IPG_TILE_WM; i++) {
        const int m = m0 + ty + i * LY;
        if (m >= M) break;
        const float bm = bias[m];
        #pragma unroll
        for (int j = 0; j < IPG_TILE_WN; j++) {
            const int n = n0 + tx + j * LX;
            if (n >= N) break;
            const size_t at = (size_t) m * N + n;
            float v = acc[i][j] + bm;
            if (flags & 2) v += res[at];
            if (flags & 1) v = fmax(v, 0.0f);
            out[at] = v;
        }
    }
}
