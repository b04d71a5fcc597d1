// ============================================================================
// conv-levels.cl: one convolution over several pyramid levels as ONE GEMM
// (the clblast path, clblast-path.c: ipg_clblast_plan_conv_levels). The
// heads apply the same weights to every level; one GEMM over all levels and
// images keeps the small levels (P6, P7: tens of pixels) from being GEMMs of
// their own.
//   col: [K][ld], ld = images * cols; image b's columns start at b * cols,
//        level l's at col0 (its offset among the levels) within them
//   cat: [M][ld], the GEMM's product W [M][K] x col
// ipg_im2col_slice writes one level's im2col into its columns;
// ipg_conv_epilogue_gather reads that level back from cat into its own
// tensor [images][M][OH][OW], adding bias, residual (flags bit 1) and ReLU
// (bit 0) as gemm.cl's epilogue does.
// Work: global (OH * OW, K or M, images), any local size (every id
// bounds-checked).
// ============================================================================

__kernel void ipg_im2col_slice(__global const float * in, int C, int H, int W, int kh, int kw, int stride, int pad,
                               int OH, int OW, __global float * col, int ld, int cols, int col0, int images)
{
    const int n = get_global_id(0), k = get_global_id(1), image = get_global_id(2);
    const int taps = kh * kw;
    if (n >= OH * OW || k >= C * taps || image >= images) return;
    const int c = k / taps, t = k - c * taps;
    const int ky = t / kw, kx = t - ky * kw;
    const int oy = n / OW, ox = n - oy * OW;
    const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
    float v = 0.0f;
    if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = in[(((size_t) image * C + c) * H + iy) * W + ix];
    col[(size_t) k * ld + (size_t) image * cols + col0 + n] = v;
}

__kernel void ipg_conv_epilogue_gather(__global const float * cat, int ld, int cols, int col0,
                                       __global const float * bias, __global const float * res, __global float * out,
                                       int M, int N, int flags, int images)
{
    const int n = get_global_id(0), m = get_global_id(1), image = get_global_id(2);
    if (n >= N || m >= M || image >= images) return;
    const size_t at = ((size_t) image * M + m) * N + n;
    float v = cat[(size_t) m * ld + (size_t) image * cols + col0 + n] + bias[m];
    if (flags & 2) v += res[at];
    if (flags & 1) v = fmax(v, 0.0f);
    out[at] = v;
}
