// ============================================================================
// common.cl: definitions shared by every ipgnet kernel. Prepended to the
// program; tunables are #defines with defaults that the host may override
// with -D options.
//
// Layout everywhere: batch 1, NCHW float32, tightly packed
// (index = (c * H + y) * W + x).
// ============================================================================

#ifndef IPG_GEMM_MR
#define IPG_GEMM_MR 16    // output channels per work-item (must match the host's packing)
#endif
#ifndef IPG_GEMM_NR
#define IPG_GEMM_NR 16    // output pixels per work-item (must match the host's packing)
#endif
#ifndef IPG_RADIX_BINS
#define IPG_RADIX_BINS 256   // bins of one radix pass (the select kernels' local histogram)
#endif
#if IPG_RADIX_BINS != 256
#error "the radix select makes four 8-bit passes over 32-bit keys: IPG_RADIX_BINS must be 256"
#endif

// An unsigned key that orders like the float value (negative values too):
// negatives have every bit flipped, the others only the sign bit.
uint ipg_order_key(float f)
{
    const uint u = as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// The k-th largest key of n elements (1 <= k <= the number of keyed
// elements), exactly: four 8-bit radix passes, each a histogram of the keys
// that match the prefix found so far. The key of element i is
// ipg_order_key(vals[i]); or, when `keyed`, ~index of only the elements whose
// ipg_order_key(vals[i]) equals `tie` -- so that the k-th largest is the k-th
// smallest index among them; the index is index[i], or index_base + i when
// `index` is null (the element's position). Every work-item of one
// work-group calls it (it has barriers). `hist`: IPG_RADIX_BINS uints,
// `state`: 4 uints of local memory. Returns the key T; *n_eq = how many keys
// equal to T belong to the top k (the other k - *n_eq are above T); *n_tied =
// how many keys equal T in all.
uint ipg_radix_kth_core(__global const float * vals, __global const int * index, int index_base, int keyed, uint tie,
                        int n, int k, __local uint * hist, __local uint * state, int * n_eq, int * n_tied)
{
    const int lid = get_local_id(0), L = get_local_size(0);
    barrier(CLK_LOCAL_MEM_FENCE);   // a previous call's results are read before state is reset
    if (lid == 0) { state[0] = 0; state[1] = 0; state[2] = (uint) k; }   // prefix, mask, remaining
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int pass = 0; pass < 4; pass++) {
        const int shift = 24 - 8 * pass;
        for (int b = lid; b < IPG_RADIX_BINS; b += L) hist[b] = 0;
        barrier(CLK_LOCAL_MEM_FENCE);
        const uint pf = state[0], mk = state[1];
        for (int i = lid; i < n; i += L) {
            uint key = ipg_order_key(vals[i]);
            if (keyed) {
                if (key != tie) continue;
                key = ~(uint) (index ? index[i] : index_base + i);
            }
            if ((key & mk) == pf) atomic_inc(&hist[(key >> shift) & (IPG_RADIX_BINS - 1)]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid == 0) {
            uint cum = 0;
            for (int b = IPG_RADIX_BINS - 1; b >= 0; b--) {
                if (cum + hist[b] >= state[2]) {
                    state[0] |= (uint) b << shift;
                    state[2] -= cum;
                    state[3] = hist[b];   // after the last pass: the keys equal to T
                    break;
                }
                cum += hist[b];
            }
            state[1] |= (uint) (IPG_RADIX_BINS - 1) << shift;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    *n_eq = (int) state[2];
    *n_tied = (int) state[3];
    return state[0];
}

// ipg_radix_kth_core over index[i] when `index` is given (keyed on `tie`),
// else over the keys themselves.
uint ipg_radix_kth_keyed(__global const float * vals, __global const int * index, uint tie, int n, int k,
                         __local uint * hist, __local uint * state, int * n_eq, int * n_tied)
{
    return ipg_radix_kth_core(vals, index, 0, index != 0, tie, n, k, hist, state, n_eq, n_tied);
}

// The k-th largest ipg_order_key of vals[0..n) (1 <= k <= n): see above.
uint ipg_radix_kth(__global const float * vals, int n, int k, __local uint * hist, __local uint * state, int * n_eq,
                   int * n_tied)
{
    return ipg_radix_kth_keyed(vals, (__global const int *) 0, 0u, n, k, hist, state, n_eq, n_tied);
}

// torchvision BoxCoder.decode_single for one box: anchor or proposal `a`
// (x1, y1, x2, y2), deltas d divided by the weights w, dw and dh clamped at
// `clip`; then clip_boxes_to_image to [0, image_w] x [0, image_h].
float4 ipg_decode_box(float4 a, float4 d, float4 w, float clip, float image_w, float image_h)
{
    const float dx = d.s0 / w.s0, dy = d.s1 / w.s1;
    const float dw = fmin(d.s2 / w.s2, clip), dh = fmin(d.s3 / w.s3, clip);
    const float widths = a.s2 - a.s0, heights = a.s3 - a.s1;
    const float ctr_x = a.s0 + 0.5f * widths, ctr_y = a.s1 + 0.5f * heights;
    const float pcx = dx * widths + ctr_x, pcy = dy * heights + ctr_y;
    const float pw = exp(dw) * widths, ph = exp(dh) * heights;
    const float hw = 0.5f * pw, hh = 0.5f * ph;
    return (float4) (clamp(pcx - hw, 0.0f, image_w), clamp(pcy - hh, 0.0f, image_h),
                     clamp(pcx + hw, 0.0f, image_w), clamp(pcy + hh, 0.0f, image_h));
}

// The fused epilogue of both convolution kernels (gemm.cl, conv-direct.cl) for
// one output row segment of `lanes` <= 16 pixels at out[at..], res[at..]:
// bias, the residual (flags bit 1), ReLU (bit 0), the store. res is only read
// with bit 1.
inline void ipg_conv_epilogue(float16 v, float bias, __global const float * res, __global float * out, size_t at,
                              int lanes, int flags)
{
    v += bias;
    if (lanes == 16) {
        if (flags & 2) v += vload16(0, res + at);
        if (flags & 1) v = fmax(v, 0.0f);
        vstore16(v, 0, out + at);
    } else {
        float t[16];
        vstore16(v, 0, t);
        for (int j = 0; j < lanes; j++) {
            float e = t[j];
            if (flags & 2) e += res[at + j];
            if (flags & 1) e = fmax(e, 0.0f);
            out[at + j] = e;
        }
    }
}

// One butterfly stage of the 16 x 16 transpose: rows i and i + S (i & S == 0)
// exchange their off-diagonal S-wide blocks.
#define IPG_TRANSPOSE_STAGE(S, LO, HI)                                                           \
    _Pragma("unroll") for (int i = 0; i < 16; i++) {                                             \
        if (i & S) continue;                                                                     \
        const float16 ri = t[i], rj = t[i + S];                                                  \
        t[i] = shuffle2(ri, rj, (uint16) LO);                                                    \
        t[i + S] = shuffle2(ri, rj, (uint16) HI);                                                \
    }

// Transpose a 16 x 16 tile held as 16 vectors in place (t[i] lane j becomes
// t[j] lane i): four butterfly stages of two-vector shuffles. The direct
// convolutions accumulate output channels in the lanes and store pixels.
__attribute__((always_inline)) inline void ipg_transpose16(float16 * t)
{
    IPG_TRANSPOSE_STAGE(8, (0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
                        (8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31))
    IPG_TRANSPOSE_STAGE(4, (0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27),
                        (4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31))
    IPG_TRANSPOSE_STAGE(2, (0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29),
                        (2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31))
    IPG_TRANSPOSE_STAGE(1, (0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
                        (1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31))
}

// IoU as torchvision's CPU nms kernel computes it.
float ipg_iou(float4 a, float4 b)
{
    const float area_a = (a.s2 - a.s0) * (a.s3 - a.s1);
    const float area_b = (b.s2 - b.s0) * (b.s3 - b.s1);
    const float w = fmax(0.0f, fmin(a.s2, b.s2) - fmax(a.s0, b.s0));
    const float h = fmax(0.0f, fmin(a.s3, b.s3) - fmax(a.s1, b.s1));
    const float inter = w * h;
    return inter / (area_a + area_b - inter);
}
