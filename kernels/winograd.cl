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
// The points are 0, +-1, +-2 and infinity (Lavin's matrices; the scaling
// sits in G). Measured error against float64 is in docs/PERFORMANCE.md.
//
// Layouts (T = tiles of all images of the batch, tile t = (image, ty, tx)
// row-major, ceil(H / 4) x ceil(W / 4) tiles per image; NB = ceil(T / 16)):
//   U: [36][ceil(M / MR)][C][MR]   (each xi's weights packed as gemm.cl's A)
//   V: [36][NB][C][16]             (each xi's input packed as gemm.cl's B;
//                                   lanes past T hold 0)
//   Mt: [36][M][T]                 (the GEMMs' results, row-major per xi)
// V and Mt live in the plan's shared scratch, at float offsets v_at, m_at.
// ============================================================================

// The transforms work on 16 tiles at once, one per vector lane: the tiles
// of one V panel (input) or one Mt row segment (output). A block whose 16
// tiles lie in one tile row of one image loads (stores) its input (output)
// rows as vectors, with the padding (the image's edge) as zero lanes; a block
// that wraps a tile row, or holds the last tiles of T, goes tile by tile.

// B^T x for one row or column of six vectors. B^T:
//   4  0 -5  0  1  0
//   0 -4 -4  1  1  0
//   0  4 -4 -1  1  0
//   0 -2 -1  2  1  0
//   0  2 -1 -2  1  0
//   0  4  0 -5  0  1
inline void ipg_winograd_bt(const float16 * x, float16 * o)
{
    o[0] = 4.0f * x[0] - 5.0f * x[2] + x[4];
    o[1] = -4.0f * (x[1] + x[2]) + x[3] + x[4];
    o[2] = 4.0f * (x[1] - x[2]) - x[3] + x[4];
    o[3] = 2.0f * (x[3] - x[1]) - x[2] + x[4];
    o[4] = 2.0f * (x[1] - x[3]) - x[2] + x[4];
    o[5] = 4.0f * x[1] - 5.0f * x[3] + x[5];
}

// A^T x for six vectors -> four. A^T:
//   1  1  1  1  1  0
//   0  1 -1  2 -2  0
//   0  1  1  4  4  0
//   0  1 -1  8 -8  1
inline void ipg_winograd_at(const float16 * x, float16 * o)
{
    o[0] = x[0] + x[1] + x[2] + x[3] + x[4];
    o[1] = x[1] - x[2] + 2.0f * (x[3] - x[4]);
    o[2] = x[1] + x[2] + 4.0f * (x[3] + x[4]);
    o[3] = x[1] - x[2] + 8.0f * (x[3] - x[4]) + x[5];
}

// Every fourth of 64 floats from p: lane l = p[4 l].
inline float16 ipg_winograd_every4(const float * p)
{
    return (float16) (vload16(0, p).s048c, vload16(1, p).s048c, vload16(2, p).s048c, vload16(3, p).s048c);
}

// Channels per work-item of both transforms: PoCL runs each work-group as
// one task, and one channel of 16 tiles is too little work for one.
#ifndef IPG_WINOGRAD_CHANNELS
#define IPG_WINOGRAD_CHANNELS 8
#endif

inline void ipg_winograd_input_one(__global const float * in, int C, int H, int W, int tiles_y, int tiles_x,
                                   int T, __global float * scratch, int v_at, int nb, int c);

// One work-item per (block of 16 tiles, IPG_WINOGRAD_CHANNELS input
// channels): global (NB, ceil(C / IPG_WINOGRAD_CHANNELS)), every id
// bounds-checked; lanes past T are written as 0.
__kernel void ipg_winograd_input(__global const float * in, int C, int H, int W, int tiles_y, int tiles_x,
                                 int T, __global float * scratch, int v_at)
{
    const int nb = get_global_id(0);
    const int c0 = get_global_id(1) * IPG_WINOGRAD_CHANNELS;
    const int NB = (T + 15) / 16;
    if (nb >= NB || c0 >= C) return;
    for (int c = c0; c < min(C, c0 + IPG_WINOGRAD_CHANNELS); c++)
        ipg_winograd_input_one(in, C, H, W, tiles_y, tiles_x, T, scratch, v_at, nb, c);
}

inline void ipg_winograd_input_one(__global const float * in, int C, int H, int W, int tiles_y, int tiles_x,
                                   int T, __global float * scratch, int v_at, int nb, int c)
{
    const int NB = (T + 15) / 16;
    const int t0 = nb * 16;
    const int per_image = tiles_y * tiles_x;
    const int image = t0 / per_image;
    const int r = t0 - image * per_image;
    const int ty = r / tiles_x, tx0 = r - ty * tiles_x;
    float16 d[6][6];   // [patch row][patch column], lanes = tiles
    if (tx0 + 16 <= tiles_x) {
        __global const float * plane = in + ((size_t) image * C + c) * H * W;
        const int xs = 4 * tx0 - 1;   // input column of lane 0's patch column 0
        for (int i = 0; i < 6; i++) {
            const int y = 4 * ty - 1 + i;
            if (y < 0 || y >= H) {
                for (int j = 0; j < 6; j++) d[i][j] = 0.0f;
                continue;
            }
            __global const float * row = plane + (size_t) y * W;
            float seg[80];   // columns xs .. xs + 79 (69 used), 0 outside the row
            for (int q = 0; q < 5; q++) {
                const int x = xs + 16 * q;
                if (x >= 0 && x + 16 <= W) {
                    vstore16(vload16(0, row + x), 0, seg + 16 * q);
                } else {
                    for (int k = 0; k < 16; k++) seg[16 * q + k] = (x + k >= 0 && x + k < W) ? row[x + k] : 0.0f;
                }
            }
            for (int j = 0; j < 6; j++) d[i][j] = ipg_winograd_every4(seg + j);
        }
    } else {
        // Tile by tile: each lane's 6x6 patch, into [row][column][lane].
        float patch[6][6][16];
        for (int l = 0; l < 16; l++) {
            const int t = t0 + l;
            int y0 = -1 << 20, x0 = 0;   // past T: a patch wholly outside, i.e. 0
            __global const float * plane = in;
            if (t < T) {
                const int im = t / per_image;
                const int rr = t - im * per_image;
                const int tyy = rr / tiles_x;
                y0 = tyy * 4 - 1;
                x0 = (rr - tyy * tiles_x) * 4 - 1;
                plane = in + ((size_t) im * C + c) * H * W;
            }
            if (y0 >= 0 && y0 + 6 <= H && x0 >= 0 && x0 + 6 <= W) {
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) patch[i][j][l] = plane[(size_t) (y0 + i) * W + x0 + j];
            } else {
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        const int y = y0 + i, x = x0 + j;
                        patch[i][j][l] = (y >= 0 && y < H && x >= 0 && x < W) ? plane[(size_t) y * W + x] : 0.0f;
                    }
            }
        }
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) d[i][j] = vload16(0, patch[i][j]);
    }
    // Rows: B^T d; then columns: (B^T d) B.
    float16 e[6][6];
    for (int j = 0; j < 6; j++) {
        float16 col[6], o[6];
        for (int i = 0; i < 6; i++) col[i] = d[i][j];
        ipg_winograd_bt(col, o);
        for (int i = 0; i < 6; i++) e[i][j] = o[i];
    }
    __global float * v = scratch + v_at + ((size_t) nb * C + c) * 16;
    const size_t xi_stride = (size_t) NB * C * 16;
    for (int i = 0; i < 6; i++) {
        float16 o[6];
        ipg_winograd_bt(e[i], o);
        for (int j = 0; j < 6; j++) vstore16(o[j], 0, v + (i * 6 + j) * xi_stride);
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

// The epilogue of one output value (bias added by the caller).
inline float ipg_winograd_act(float v, __global const float * res, size_t at, int flags)
{
    if (flags & 2) v += res[at];
    if (flags & 1) v = fmax(v, 0.0f);
    return v;
}

inline void ipg_winograd_output_one(__global const float * scratch, int m_at, __global const float * bias,
                                    __global const float * res, __global float * out, int M, int H, int W,
                                    int tiles_y, int tiles_x, int T, int flags, int nb, int m);

// One work-item per (block of 16 tiles, IPG_WINOGRAD_CHANNELS output
// channels): global (NB, ceil(M / IPG_WINOGRAD_CHANNELS)), every id
// bounds-checked. Y = A^T M A, then bias, residual (flags bit 1), ReLU (bit
// 0), stored where a tile lies inside the image. The lanes of a partial last
// block read past T (into the next row of Mt, or the 16 floats of slack
// after it): computed, never stored.
__kernel void ipg_winograd_output(__global const float * scratch, int m_at, __global const float * bias,
                                  __global const float * res, __global float * out, int M, int H, int W,
                                  int tiles_y, int tiles_x, int T, int flags)
{
    const int nb = get_global_id(0);
    const int m0 = get_global_id(1) * IPG_WINOGRAD_CHANNELS;
    const int NB = (T + 15) / 16;
    if (nb >= NB || m0 >= M) return;
    for (int m = m0; m < min(M, m0 + IPG_WINOGRAD_CHANNELS); m++)
        ipg_winograd_output_one(scratch, m_at, bias, res, out, M, H, W, tiles_y, tiles_x, T, flags, nb, m);
}

inline void ipg_winograd_output_one(__global const float * scratch, int m_at, __global const float * bias,
                                    __global const float * res, __global float * out, int M, int H, int W,
                                    int tiles_y, int tiles_x, int T, int flags, int nb, int m)
{
    const int NB = (T + 15) / 16;
    const int t0 = nb * 16;
    __global const float * src = scratch + m_at + (size_t) m * T + t0;
    const size_t xi_stride = (size_t) M * T;
    float16 e[4][6];   // A^T M: [output row][transform column]
    for (int j = 0; j < 6; j++) {
        float16 col[6], o[4];
        for (int i = 0; i < 6; i++) col[i] = vload16(0, src + (i * 6 + j) * xi_stride);
        ipg_winograd_at(col, o);
        for (int i = 0; i < 4; i++) e[i][j] = o[i];
    }
    const int per_image = tiles_y * tiles_x;
    const int image = t0 / per_image;
    const int r = t0 - image * per_image;
    const int ty = r / tiles_x, tx0 = r - ty * tiles_x;
    const float b = bias[m];
    for (int i = 0; i < 4; i++) {
        float16 yv[4];
        ipg_winograd_at(e[i], yv);
        float yy[4][16];   // [output column][tile]
        for (int j = 0; j < 4; j++) vstore16(yv[j] + b, 0, yy[j]);
        if (tx0 + 16 <= tiles_x && t0 + 16 <= T) {
            // One tile row: output row 4 ty + i, columns 4 tx0 .. 4 tx0 + 63.
            const int y = 4 * ty + i;
            if (y >= H) break;
            float seg[64];
            for (int l = 0; l < 16; l++)
                for (int j = 0; j < 4; j++) seg[4 * l + j] = yy[j][l];
            const size_t row = ((size_t) image * M + m) * H * W + (size_t) y * W;
            for (int q = 0; q < 4; q++) {
                const int x = 4 * tx0 + 16 * q;
                if (x + 16 <= W) {
                    float16 v = vload16(0, seg + 16 * q);
                    if (flags & 2) v += vload16(0, res + row + x);
                    if (flags & 1) v = fmax(v, 0.0f);
                    vstore16(v, 0, out + row + x);
                } else {
                    for (int k = 0; k < 16 && x + k < W; k++)
                        out[row + x + k] = ipg_winograd_act(seg[16 * q + k], res, row + x + k, flags);
                }
            }
        } else {
            // Tile by tile (the block wraps a tile row or ends T).
            for (int l = 0; l < 16 && t0 + l < T; l++) {
                const int t = t0 + l;
                const int im = t / per_image;
                const int rr = t - im * per_image;
                const int tyy = rr / tiles_x;
                const int y = tyy * 4 + i, x0 = (rr - tyy * tiles_x) * 4;
                if (y >= H) continue;
                const size_t row = ((size_t) im * M + m) * H * W + (size_t) y * W;
                for (int j = 0; j < 4 && x0 + j < W; j++)
                    out[row + x0 + j] = ipg_winograd_act(yy[j][l], res, row + x0 + j, flags);
            }
        }
    }
}
