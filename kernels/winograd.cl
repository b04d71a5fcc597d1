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
//   V = B^T d B   the input patches (ipg_winograd_input_one)
//   Y = A^T M A   back to 4x4 outputs, with the convolutions' epilogue
//                 (bias, residual, ReLU; ipg_winograd_output_store)
// The points are 0, +-1, +-2 and infinity (Lavin's matrices; the scaling
// sits in G). Measured error against float64 is in docs/PERFORMANCE.md.
//
// Two forms (winograd.c picks one per conv by the number of tiles):
//   fused   ipg_winograd_fused: one launch, one work-item per 16 tiles, V
//           and M of its tiles stay in its core's caches (many tiles);
//   split   ipg_winograd_input, ipg_winograd_gemm, ipg_winograd_output:
//           three launches over all tiles, V and Mt through the scratch
//           (few tiles: more work-items than there are 16-tile blocks).
//
// Layouts (T = tiles of all images of the batch, tile t = (image, ty, tx)
// row-major, ceil(H / 4) x ceil(W / 4) tiles per image; NB = ceil(T / 16)):
//   U: [36][ceil(M / MR)][C][MR]   (each xi's weights packed as gemm.cl's A)
//   V: [36][NB][C][16]             (each xi's input packed as gemm.cl's B;
//                                   lanes past T hold 0; fused: NB = 1 per
//                                   work-item)
//   Mt: [36][M][T]                 (split: the GEMMs' results, row-major
//                                   per xi; fused: a private [36][MR] tile)
// The xi rows of V and Mt are one cache line further apart than their size
// (IPG_WINOGRAD_V_STRIDE, _M_STRIDE). V and Mt live in the plan's shared
// scratch, at float offsets v_at, m_at.
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

// Patch column j of 16 tiles of one input row: lane l = row[x0 + 4 l + j - 1]
// for j = 0..5, 0 outside the row (x0 = the first tile's first column). The
// 64 columns x0 .. x0 + 63 are loaded as four vectors and split by column
// within the tile (j = 1..4, every fourth lane); j = 0 and 5 are j = 4 and 1
// shifted by one tile, with the columns x0 - 1 and x0 + 64 coming in.
inline void ipg_winograd_patch_row(__global const float * row, int x0, int W, float16 * d)
{
    float16 q[4];
    if (x0 + 64 <= W) {
        for (int k = 0; k < 4; k++) q[k] = vload16(k, row + x0);
    } else {
        float t[64];
        for (int k = 0; k < 64; k++) t[k] = x0 + k < W ? row[x0 + k] : 0.0f;
        for (int k = 0; k < 4; k++) q[k] = vload16(k, t);
    }
    const float left = x0 > 0 ? row[x0 - 1] : 0.0f;
    const float right = x0 + 64 < W ? row[x0 + 64] : 0.0f;
    d[1] = (float16) (q[0].s048c, q[1].s048c, q[2].s048c, q[3].s048c);
    d[2] = (float16) (q[0].s159d, q[1].s159d, q[2].s159d, q[3].s159d);
    d[3] = (float16) (q[0].s26ae, q[1].s26ae, q[2].s26ae, q[3].s26ae);
    d[4] = (float16) (q[0].s37bf, q[1].s37bf, q[2].s37bf, q[3].s37bf);
    d[0] = (float16) (left, d[4].s012, d[4].s3456789a, d[4].sbcde);
    d[5] = (float16) (d[1].s123, d[1].s456789ab, d[1].scdef, right);
}

// The distance between two xi's rows in V and Mt: one cache line more than
// the rows' size, which is often a power of two (16 tiles x 64 channels: 4
// KiB) and would put the 36 rows a transform writes or reads into one
// cache set. (winograd.c sizes the scratch with the same strides.)
#define IPG_WINOGRAD_V_STRIDE(NB, C) ((size_t) (NB) * (C) * 16 + 16)
#define IPG_WINOGRAD_M_STRIDE(M, T)  ((size_t) (M) * (T) + 16)

// Channels per work-item of both transforms: PoCL runs each work-group as
// one task, and one channel of 16 tiles is too little work for one.
#ifndef IPG_WINOGRAD_CHANNELS
#define IPG_WINOGRAD_CHANNELS 8
#endif

inline void ipg_winograd_input_one(__global const float * in, int C, int H, int W, int tiles_y, int tiles_x,
                                   int T, int nb, int c, __global float * v, size_t xi_stride);

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
        ipg_winograd_input_one(in, C, H, W, tiles_y, tiles_x, T, nb, c, scratch + v_at + ((size_t) nb * C + c) * 16,
                               IPG_WINOGRAD_V_STRIDE(NB, C));
}

inline void ipg_winograd_input_one(__global const float * in, int C, int H, int W, int tiles_y, int tiles_x,
                                   int T, int nb, int c, __global float * v, size_t xi_stride)
{
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
            ipg_winograd_patch_row(row, xs + 1, W, d[i]);
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
    __global const float * b = scratch + v_at + xi * IPG_WINOGRAD_V_STRIDE(NB, C) + (size_t) nb * C * 16;
    float16 acc[IPG_GEMM_MR];
    ipg_gemm_tile(a, b, C, acc);   // gemm.cl
    const int t0 = nb * 16;
    const int lanes = min(16, T - t0);
    __global float * out = scratch + m_at + xi * IPG_WINOGRAD_M_STRIDE(M, T) + t0;
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

// Y = A^T M A of one output channel m of 16 tiles (block nb), whose 36
// transform-domain values are mv[0], mv[stride], ... mv[35 stride]; then the
// epilogue, stored where a tile lies inside the image.
inline void ipg_winograd_output_store(const float16 * mv, int stride, __global const float * bias,
                                      __global const float * res, __global float * out, int M, int H, int W,
                                      int tiles_y, int tiles_x, int T, int flags, int nb, int m)
{
    const int t0 = nb * 16;
    float16 e[4][6];   // A^T M: [output row][transform column]
    for (int j = 0; j < 6; j++) {
        float16 col[6], o[4];
        for (int i = 0; i < 6; i++) col[i] = mv[(i * 6 + j) * stride];
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

inline void ipg_winograd_output_one(__global const float * scratch, int m_at, __global const float * bias,
                                    __global const float * res, __global float * out, int M, int H, int W,
                                    int tiles_y, int tiles_x, int T, int flags, int nb, int m)
{
    __global const float * src = scratch + m_at + (size_t) m * T + nb * 16;
    const size_t xi_stride = IPG_WINOGRAD_M_STRIDE(M, T);
    float16 mv[36];
    for (int xi = 0; xi < 36; xi++) mv[xi] = vload16(0, src + xi * xi_stride);
    ipg_winograd_output_store(mv, 1, bias, res, out, M, H, W, tiles_y, tiles_x, T, flags, nb, m);
}

// The whole convolution in one launch, so that neither the transformed
// input (V) nor the products (Mt) leave a core's caches: one work-item per
// (block of 16 tiles nb, group g of the output channel blocks), global
// (NB, groups), every id bounds-checked. It transforms its 16 tiles' input,
// all C channels, into its own V region of the scratch ([36][C][16], xi
// rows IPG_WINOGRAD_V_STRIDE(1, C) apart, at v_at + (nb * groups + g) * 36 *
// that stride), then for each block of MR output
// channels of its group runs the 36 GEMMs into a private [36][MR] tile and
// transforms that back to the output with the epilogue. With few tiles, the
// host splits the output channels over `groups` work-items (each then
// transforms the same input): parallelism for the small maps. A
// work-item reads back only what it wrote itself, so no barrier is needed.
__kernel void ipg_winograd_fused(__global const float * in, int C, int H, int W, int tiles_y, int tiles_x, int T,
                                 __global const float * U, int M, int groups, __global const float * bias,
                                 __global const float * res, __global float * out, int flags,
                                 __global float * scratch, int v_at)
{
    const int nb = get_global_id(0);
    const int g = get_global_id(1);
    const int NB = (T + 15) / 16;
    if (nb >= NB || g >= groups) return;
    const int MB = (M + IPG_GEMM_MR - 1) / IPG_GEMM_MR;
    const int per_group = (MB + groups - 1) / groups;
    const int mb0 = g * per_group, mb1 = min(MB, mb0 + per_group);
    if (mb0 >= mb1) return;
    const size_t xi_stride = IPG_WINOGRAD_V_STRIDE(1, C);
    __global float * v = scratch + v_at + (size_t) (nb * groups + g) * 36 * xi_stride;
    for (int c = 0; c < C; c++)
        ipg_winograd_input_one(in, C, H, W, tiles_y, tiles_x, T, nb, c, v + (size_t) c * 16, xi_stride);
    for (int mb = mb0; mb < mb1; mb++) {
        float16 mt[36][IPG_GEMM_MR];   // [xi][row of the block], lanes = tiles
        for (int xi = 0; xi < 36; xi++) {
            __global const float * a = U + ((size_t) xi * MB + mb) * C * IPG_GEMM_MR;
            float16 acc[IPG_GEMM_MR];
            ipg_gemm_tile(a, v + xi * xi_stride, C, acc);
            for (int i = 0; i < IPG_GEMM_MR; i++) mt[xi][i] = acc[i];
        }
        for (int i = 0; i < IPG_GEMM_MR; i++) {
            const int m = mb * IPG_GEMM_MR + i;
            if (m >= M) break;
            ipg_winograd_output_store(&mt[0][i], IPG_GEMM_MR, bias, res, out, M, H, W, tiles_y, tiles_x, T, flags, nb, m);
        }
    }
}
