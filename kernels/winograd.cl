// ============================================================================
// winograd.cl: 3x3 stride-1 pad-1 convolution by Winograd F(4x4, 3x3)
// (Lavin & Gray 2016), the CPU path's fast 3x3 (ipg/winograd.c plans it).
//
// Each 4x4 block of output pixels ("tile") is computed from the 6x6 input
// patch around it in the 6x6 transform domain, where the convolution is 36
// independent element-wise products summed over input channels, i.e. 36
// GEMMs: M[xi][m][t] = sum_c U[xi][m][c] * V[xi][c][t]. That is 36 multiplies
// per 16 outputs and input channel against 144 for the direct kernel.
//   U = G g G^T   weights, transformed on the host in double at upload
//   V = B^T d B   the input patches (ipg_winograd_input)
//   Y = A^T M A   back to 4x4 outputs, with the convolutions' epilogue
//                 (bias, residual, ReLU; ipg_winograd_output)
// The points are 0, +-1, +-2, infinity with +-1/2 folded into G (Lavin's
// matrices). Measured error against float64 is in docs/PERFORMANCE.md.
//
// Layouts (T = tiles of all images of the batch, tile t = (image, ty, tx)
// row-major, ceil(H / 4) x ceil(W / 4) tiles per image; NB = ceil(T / 16)):
//   U: [36][ceil(M / MR)][C][MR]   (each xi's weights packed as gemm.cl's A)
//   V: [36][NB][C][16]             (each xi's input packed as gemm.cl's B;
//                                   lanes past T hold 0)
//   Mt: [36][M][T]                 (the GEMMs' results, row-major per xi)
// V and Mt live in the plan's shared scratch, at float offsets v_at, m_at.
// ============================================================================

// One work-item per (tile lane, input channel): global (NB * 16, C), every
// id bounds-checked; work-items past T write the zero lanes of the last block.
__kernel void ipg_winograd_input(__global const float * in, int C, int H, int W, int tiles_y, int tiles_x,
                                 int T, __global float * scratch, int v_at)
{
    const int t = get_global_id(0);
    const int c = get_global_id(1);
    const int NB = (T + 15) / 16;
    if (t >= NB * 16 || c >= C) return;
    __global float * v = scratch + v_at + ((size_t) (t / 16) * C + c) * 16 + t % 16;
    const size_t xi_stride = (size_t) NB * C * 16;
    float d[6][6];
    if (t < T) {
        const int per_image = tiles_y * tiles_x;
        const int image = t / per_image;
        const int r = t - image * per_image;
        const int y0 = (r / tiles_x) * 4 - 1, x0 = (r % tiles_x) * 4 - 1;
        __global const float * plane = in + ((size_t) image * C + c) * H * W;
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) {
                const int y = y0 + i, x = x0 + j;
                d[i][j] = (y >= 0 && y < H && x >= 0 && x < W) ? plane[(size_t) y * W + x] : 0.0f;
            }
    } else {
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) d[i][j] = 0.0f;
    }
    // B^T d (rows), then (B^T d) B (columns). B^T:
    //   4  0 -5  0  1  0
    //   0 -4 -4  1  1  0
    //   0  4 -4 -1  1  0
    //   0 -2 -1  2  1  0
    //   0  2 -1 -2  1  0
    //   0  4  0 -5  0  1
    float e[6][6];
    for (int j = 0; j < 6; j++) {
        e[0][j] = 4.0f * d[0][j] - 5.0f * d[2][j] + d[4][j];
        e[1][j] = -4.0f * (d[1][j] + d[2][j]) + d[3][j] + d[4][j];
        e[2][j] = 4.0f * (d[1][j] - d[2][j]) - d[3][j] + d[4][j];
        e[3][j] = 2.0f * (d[3][j] - d[1][j]) - d[2][j] + d[4][j];
        e[4][j] = 2.0f * (d[1][j] - d[3][j]) - d[2][j] + d[4][j];
        e[5][j] = 4.0f * d[1][j] - 5.0f * d[3][j] + d[5][j];
    }
    for (int i = 0; i < 6; i++) {
        const float * r = e[i];
        float o[6];
        o[0] = 4.0f * r[0] - 5.0f * r[2] + r[4];
        o[1] = -4.0f * (r[1] + r[2]) + r[3] + r[4];
        o[2] = 4.0f * (r[1] - r[2]) - r[3] + r[4];
        o[3] = 2.0f * (r[3] - r[1]) - r[2] + r[4];
        o[4] = 2.0f * (r[1] - r[3]) - r[2] + r[4];
        o[5] = 4.0f * r[1] - 5.0f * r[3] + r[5];
        for (int j = 0; j < 6; j++) v[(i * 6 + j) * xi_stride] = o[j];
    }
}

// The 36 GEMMs, one work-item per MR x 16 register tile of one xi: global
// (ceil(M / MR), NB, 36), M blocks fastest (they share one V panel in cache,
// as in gemm.cl); local (1, 1, 1) on CPUs. Every id bounds-checked.
__kernel void ipg_winograd_gemm(__global const float * U, __global float * scratch, int v_at, int m_at,
                                int M, int C, int T)
{
    const int mb = get_global_id(0);
    const int nb = get_global_id(1);
    const int xi = get_global_id(2);
    const int NB = (T + 15) / 16;
    const int MB = (M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
    if (mb >= MB || nb >= NB || xi >= 36) return;
    __global const float * a = U + ((size_t) xi * MB + mb) * C * IPG_GEMM_MR;
    __global const float * b = scratch + v_at + ((size_t) xi * NB + nb) * C * 16;
    float16 acc[IPG_GEMM_MR];
    for (int i = 0; i < IPG_GEMM_MR; i++) acc[i] = 0.0f;
    for (int k = 0; k < C; k++) {
        const float16 bv = vload16(k, b);
        #pragma unroll
        for (int i = 0; i < IPG_GEMM_MR; i++) acc[i] = fma((float16) a[k * IPG_GEMM_MR + i], bv, acc[i]);
    }
    const int t0 = nb * 16;
    const int lanes = min(16, T - t0);
    __global float * out = scratch + m_at + (size_t) xi * M * T + t0;
    for (int i = 0; i < IPG_GEMM_MR; i++) {
        const int m = mb * IPG_GEMM_MR + i;
        if (m >= M) break;
        __global float * row = out + (size_t) m * T;
        if (lanes == 16) {
            vstore16(acc[i], 0, row);
        } else {
            float tmp[16];
            vstore16(acc[i], 0, tmp);
            for (int j = 0; j < lanes; j++) row[j] = tmp[j];
        }
    }
}

// One work-item per (tile, output channel): global (T, M), every id
// bounds-checked. Y = A^T M A, then bias, residual (flags bit 1), ReLU (bit
// 0), stored where the tile lies inside the image. A^T:
//   1  1  1  1  1  0
//   0  1 -1  2 -2  0
//   0  1  1  4  4  0
//   0  1 -1  8 -8  1
__kernel void ipg_winograd_output(__global const float * scratch, int m_at, __global const float * bias,
                                  __global const float * res, __global float * out, int M, int H, int W,
                                  int tiles_y, int tiles_x, int T, int flags)
{
    const int t = get_global_id(0);
    const int m = get_global_id(1);
    if (t >= T || m >= M) return;
    __global const float * src = scratch + m_at + (size_t) m * T + t;
    const size_t xi_stride = (size_t) M * T;
    float e[4][6];
    for (int j = 0; j < 6; j++) {
        float s[6];
        for (int i = 0; i < 6; i++) s[i] = src[(i * 6 + j) * xi_stride];
        e[0][j] = s[0] + s[1] + s[2] + s[3] + s[4];
        e[1][j] = s[1] - s[2] + 2.0f * (s[3] - s[4]);
        e[2][j] = s[1] + s[2] + 4.0f * (s[3] + s[4]);
        e[3][j] = s[1] - s[2] + 8.0f * (s[3] - s[4]) + s[5];
    }
    const int per_image = tiles_y * tiles_x;
    const int image = t / per_image;
    const int r = t - image * per_image;
    const int y0 = (r / tiles_x) * 4, x0 = (r % tiles_x) * 4;
    const size_t plane = ((size_t) image * M + m) * H * W;
    const float b = bias[m];
    for (int i = 0; i < 4; i++) {
        const int y = y0 + i;
        if (y >= H) break;
        const float * s = e[i];
        float o[4];
        o[0] = s[0] + s[1] + s[2] + s[3] + s[4];
        o[1] = s[1] - s[2] + 2.0f * (s[3] - s[4]);
        o[2] = s[1] + s[2] + 4.0f * (s[3] + s[4]);
        o[3] = s[1] - s[2] + 8.0f * (s[3] - s[4]) + s[5];
        for (int j = 0; j < 4; j++) {
            const int x = x0 + j;
            if (x >= W) break;
            const size_t at = plane + (size_t) y * W + x;
            float v = o[j] + b;
            if (flags & 2) v += res[at];
            if (flags & 1) v = fmax(v, 0.0f);
            out[at] = v;
        }
    }
}
