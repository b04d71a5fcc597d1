// ============================================================================
// gemm.cl: the convolution GEMM with a fused epilogue.
//
// out[m][n] = act(sum_k A[m][k] * B[k][n] + bias[m] (+ res[m][n]))
//   A: weights packed [ceil(M / MR)][K][MR] (host, at upload)
//   B: activations packed [ceil(N / NR)][K][NR] (conv-pack.cl). Reading a
//      1x1 convolution's input in place instead was measured slower (150 vs
//      180 GFLOP/s: 16 strided rows per K step), so every conv packs.
//   out, res: [M][N] row-major, i.e. NCHW with N = H * W
// Batch: image b = get_global_id(2) of B has its own packed panel (the
// scratch holds B of them) and its own [M][N] output and residual.
// Chunks (conv-pack.cl): images image0.. (`images`) and pixel blocks
// block0.. (`blocks`, the panels per image in the scratch).
// Each work-item owns an MR x NR register tile (MR accumulators of NR-wide
// vectors), so the K loop is MR vector FMAs per NR-wide load. MR = 16 keeps
// 16 independent FMA chains in flight, which AVX-512 CPUs need to hide FMA
// latency (measured: 8 x 16 reached 172 GFLOP/s, 16 x 16 182 GFLOP/s on the
// R50 convolutions under PoCL; 8 x 32, 12 x 32 and 14 x 32 tiles, tried
// later, were no faster: 180-190 vs 200 GFLOP/s). A GPU wants a smaller
// private tile and a work-group tiling through local memory.
// On CPUs (PoCL) the host launches it with local size (1, 1) so no
// work-item loop is generated around the register tile; on GPUs the driver
// picks.
// flags: bit 0 = ReLU, bit 1 = add res.
//
// Work: global (ceil(M / MR), blocks, images), rounded up to the
// local size: every id is bounds-checked. M blocks are the fastest
// dimension so that consecutive work-items share one B panel (K x 16 floats)
// while it is in cache; N-first streamed each panel from memory M / MR times
// (measured: 170 -> 200 GFLOP/s).
// ============================================================================

#if IPG_GEMM_NR != 16 || (IPG_GEMM_MR != 8 && IPG_GEMM_MR != 16)
#error "gemm.cl is written for an 8 x 16 or 16 x 16 register tile"
#endif

// One MR x 16 register tile: acc[i] = sum_k a[k MR + i] b[k], with a packed
// [K][MR] (the weights of MR output channels) and b a [K][16] panel. Also
// the 36 GEMMs of winograd.cl.
__attribute__((always_inline)) inline void ipg_gemm_tile(__global const float * a, __global const float * b, int K,
                                                         float16 * acc)
{
    for (int i = 0; i < IPG_GEMM_MR; i++) acc[i] = 0.0f;
    for (int k = 0; k < K; k++) {
        const float16 bv = vload16(k, b);
        #pragma unroll
        for (int i = 0; i < IPG_GEMM_MR; i++) acc[i] = fma((float16) a[k * IPG_GEMM_MR + i], bv, acc[i]);
    }
}

// The epilogue (common.cl) and the store of one MR x 16 tile.
inline void ipg_gemm_store(const float16 * acc, int mb, int n0, __global const float * bias,
                           __global const float * res, __global float * out, int M, int N, int flags)
{
    const int lanes = min(16, N - n0);
    for (int i = 0; i < IPG_GEMM_MR; i++) {
        const int m = mb * IPG_GEMM_MR + i;
        if (m >= M) break;
        ipg_conv_epilogue(acc[i], bias[m], res, out, (size_t) m * N + n0, lanes, flags);
    }
}

__kernel void ipg_gemm_packed(__global const float * A, __global const float * B,
                              __global const float * bias, __global const float * res,
                              __global float * out, int M, int N, int K, int flags, int images,
                              int image0, int block0, int blocks)
{
    const int mb = get_global_id(0);
    const int cb = get_global_id(1);   // block of the chunk
    const int nb = block0 + cb;
    const int ci = get_global_id(2);   // image of the chunk
    // A local size rounds the global size up: ids past the tiles read nothing.
    if (mb * IPG_GEMM_MR >= M || cb >= blocks || nb * 16 >= N || ci >= images) return;
    const int image = image0 + ci;
    __global const float * a = A + (size_t) mb * K * IPG_GEMM_MR;
    __global const float * b = B + ((size_t) ci * blocks + cb) * K * 16;
    out += (size_t) image * M * N;
    if (flags & 2) res += (size_t) image * M * N;
    float16 acc[IPG_GEMM_MR];
    ipg_gemm_tile(a, b, K, acc);
    ipg_gemm_store(acc, mb, nb * 16, bias, res, out, M, N, flags);
}
