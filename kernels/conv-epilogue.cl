// ============================================================================
// conv-epilogue.cl: the CLBlast path's epilogue (kernel-path.c, "clblast").
// CLBlast's Sgemm and Sconvgemm write the bare product W * X into out; this
// adds what gemm.cl and conv-direct.cl fuse into their stores, in the same
// order: bias, the residual (flags bit 1), ReLU (bit 0).
// out, res: [images][M][N].
// Work: global (N, M, images), any local size (every id bounds-checked).
// ============================================================================

__kernel void ipg_conv_epilogue_inplace(__global float * out, __global const float * bias, __global const float * res,
                                        int M, int N, int flags, int images)
{
    const int n = get_global_id(0), m = get_global_id(1), image = get_global_id(2);
    if (n >= N || m >= M || image >= images) return;
    const size_t at = ((size_t) image * M + m) * N + n;
    float v = out[at] + bias[m];
    if (flags & 2) v += res[at];
    if (flags & 1) v = fmax(v, 0.0f);
    out[at] = v;
}
