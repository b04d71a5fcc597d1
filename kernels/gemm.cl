// ============================================================================
// gemm.cl: the convolution GEMM with a fused epilogue.
//
// out[m][n] = act(sum_k A[m][k] * B[k][n] + bias[m] (+ res[m][n]))
//   A: weights packed [ceil(M / MR)][K][MR] (host, at upload)
//   B: activations packed [ceil(N / NR)][K][NR] (conv-pack.cl)
//   out, res: [M][N] row-major, i.e. NCHW with N = H * W
// Each work-item owns an MR x NR register tile (MR accumulators of NR-wide
// vectors), so the K loop is MR vector FMAs per NR-wide load. On CPUs
// (PoCL) the host launches it with local size (1, 1) so no work-item loop
// is generated around the register tile; on GPUs the driver picks.
// flags: bit 0 = ReLU, bit 1 = add res.
//
// Work: global (ceil(N / NR), ceil(M / MR)).
// ============================================================================

#if IPG_GEMM_NR != 16 || IPG_GEMM_MR != 8
#error "gemm.cl is written for an 8 x 16 register tile"
#endif

__kernel void ipg_gemm_packed(__global const float * A, __global const float * B,
                              __global const float * bias, __global const float * res,
                              __global float * out, int M, int N, int K, int flags)
{
    const int nb = get_global_id(0);
    const int mb = get_global_id(1);
    __global const float * a = A + (size_t) mb * K * 8;
    __global const float * b = B + (size_t) nb * K * 16;
    float16 c0 = 0.0f, c1 = 0.0f, c2 = 0.0f, c3 = 0.0f, c4 = 0.0f, c5 = 0.0f, c6 = 0.0f, c7 = 0.0f;
    for (int k = 0; k < K; k++) {
        const float16 bv = vload16(k, b);
        const float8  av = vload8(k, a);
        c0 = fma((float16) av.s0, bv, c0);
        c1 = fma((float16) av.s1, bv, c1);
        c2 = fma((float16) av.s2, bv, c2);
        c3 = fma((float16) av.s3, bv, c3);
        c4 = fma((float16) av.s4, bv, c4);
        c5 = fma((float16) av.s5, bv, c5);
        c6 = fma((float16) av.s6, bv, c6);
        c7 = fma((float16) av.s7, bv, c7);
    }
    float16 acc[8] = { c0, c1, c2, c3, c4, c5, c6, c7 };
    const int n0 = nb * 16;
    for (int i = 0; i < 8; i++) {
        const int m = mb * 8 + i;
        if (m >= M) break;
        float16 v = acc[i] + bias[m];
        if (n0 + 16 <= N) {
            if (flags & 2) v += vload16(0, res + (size_t) m * N + n0);
            if (flags & 1) v = fmax(v, 0.0f);
            vstore16(v, 0, out + (size_t) m * N + n0);
        } else {
            float t[16];
            vstore16(v, 0, t);
            for (int j = 0; j < 16 && n0 + j < N; j++) {
                float e = t[j];
                if (flags & 2) e += res[(size_t) m * N + n0 + j];
                if (flags & 1) e = fmax(e, 0.0f);
                out[(size_t) m * N + n0 + j] = e;
            }
        }
    }
}
