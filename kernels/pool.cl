// ============================================================================
// pool.cl: pooling and resampling on NCHW float tensors.
//
// Work: one work-item per output element, global (W_out, H_out, C) (the max
// pool and the downsample: per 16 outputs of a row); a batch [B][C] is B * C channels. The global size may be rounded up to the local
// size: every id is bounds-checked against OW, OH and C.
// ============================================================================

// The even (parity 0) or odd (1) lanes of the 32 values lo, hi, in order.
// shuffle2, not swizzles (.even, .odd, vector literals of them): oclgrind
// 21.10's --uninitialized takes every swizzle's result for uninitialised
// (and crashed on one such literal). PoCL compiles shuffle2 to slower code:
// bench-small measured the max pool and the pyramid ~0.1 ms faster with
// swizzles (docs/PERFORMANCE.md).
inline float16 ipg_lanes_of_parity(float16 lo, float16 hi, uint parity)
{
    const uint16 evens = (uint16) (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return shuffle2(lo, hi, evens + parity);
}

// 3x3 max pool, stride 2, padding 1 (the ResNet stem). Padding never wins:
// every window holds at least one real element. One work-item per 16
// outputs of a row, global (ceil(OW / 16), OH, C). Where the segment's 32
// inputs 2x0 .. 2x0 + 31 lie in the row, the three rows are first reduced
// to one (max per column), then the taps of output l are the even lane 2l,
// the odd lane 2l + 1 and the odd lane 2l - 1: the odd lanes shifted by one,
// column 2x0 - 1 (padding for x0 = 0) coming in at lane 0. (Per element it
// took 5-8 ms for the demo model's 32 x 256 x 256 stem output under PoCL;
// three taps per row and a scalar first segment 1.2 ms.) A segment that
// reaches the row's end goes element by element.
__kernel void ipg_maxpool3x3s2(__global const float * in, int H, int W,
                               __global float * out, int OH, int OW, int C)
{
    const int x0 = get_global_id(0) * 16, y = get_global_id(1), c = get_global_id(2);
    if (x0 >= OW || y >= OH || c >= C) return;
    __global const float * p = in + (size_t) c * H * W;
    __global float * o = out + ((size_t) c * OH + y) * OW + x0;
    const int lanes = min(16, OW - x0);
    if (lanes == 16 && 2 * x0 + 32 <= W) {
        float16 lo = -INFINITY, hi = -INFINITY;
        float left = -INFINITY;   // column 2x0 - 1
        for (int iy = max(2 * y - 1, 0); iy <= min(2 * y + 1, H - 1); iy++) {
            __global const float * row = p + (size_t) iy * W + 2 * x0;
            lo = fmax(lo, vload16(0, row));
            hi = fmax(hi, vload16(1, row));
            if (x0 > 0) left = fmax(left, row[-1]);
        }
        const float16 even = ipg_lanes_of_parity(lo, hi, 0), odd = ipg_lanes_of_parity(lo, hi, 1);
        const float16 prev = shuffle2(odd, (float16) left, (uint16) (16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14));
        vstore16(fmax(fmax(even, odd), prev), 0, o);
        return;
    }
    for (int l = 0; l < lanes; l++) {
        float m = -INFINITY;
        for (int iy = max(2 * y - 1, 0); iy <= min(2 * y + 1, H - 1); iy++)
            for (int ix = max(2 * (x0 + l) - 1, 0); ix <= min(2 * (x0 + l) + 1, W - 1); ix++)
                m = fmax(m, p[(size_t) iy * W + ix]);
        o[l] = m;
    }
}

// Max pool 1x1 stride 2 (torchvision LastLevelMaxPool): every other pixel
// of every other row, output ceil(H / 2) x ceil(W / 2).
__kernel void ipg_subsample2x(__global const float * in, int H, int W,
                              __global float * out, int OH, int OW, int C)
{
    const int x = get_global_id(0), y = get_global_id(1), c = get_global_id(2);
    if (x >= OW || y >= OH || c >= C) return;
    out[((size_t) c * OH + y) * OW + x] = in[((size_t) c * H + 2 * y) * W + 2 * x];
}

// Bilinear downsample by exactly 2 (align_corners = false) at output (x, y):
// source pixel 2x + 0.5, i.e. the mean of a 2x2 block, written in PyTorch's
// operation order. For odd sizes the last row/column repeats (index clamped).
inline float ipg_downsample_at(__global const float * p, int H, int W, int OH, int OW, int x, int y)
{
    const float sy = (float) H / (float) OH, sx = (float) W / (float) OW;
    float fy = fmax(sy * ((float) y + 0.5f) - 0.5f, 0.0f);
    float fx = fmax(sx * ((float) x + 0.5f) - 0.5f, 0.0f);
    int y0 = (int) fy, x0 = (int) fx;
    int y1 = y0 + (y0 < H - 1 ? 1 : 0), x1 = x0 + (x0 < W - 1 ? 1 : 0);
    float ly1 = fy - (float) y0, ly0 = 1.0f - ly1;
    float lx1 = fx - (float) x0, lx0 = 1.0f - lx1;
    return ly0 * (lx0 * p[y0 * W + x0] + lx1 * p[y0 * W + x1]) +
           ly1 * (lx0 * p[y1 * W + x0] + lx1 * p[y1 * W + x1]);
}

// One work-item per 16 outputs of a row, global (ceil(OW / 16), OH, C). On
// even sizes every tap is (2x, 2x + 1) x (2y, 2y + 1) with all weights 0.5 --
// exactly what ipg_downsample_at computes there -- so a full segment reads
// 32 inputs of two rows as vectors; odd sizes and a row's last partial
// segment go pixel by pixel.
__kernel void ipg_downsample2x(__global const float * in, int H, int W,
                               __global float * out, int OH, int OW, int C)
{
    const int x0 = get_global_id(0) * 16, y = get_global_id(1), c = get_global_id(2);
    if (x0 >= OW || y >= OH || c >= C) return;
    __global const float * p = in + (size_t) c * H * W;
    __global float * o = out + ((size_t) c * OH + y) * OW + x0;
    const int lanes = min(16, OW - x0);
    if (lanes == 16 && H == 2 * OH && W == 2 * OW) {
        __global const float * row0 = p + (size_t) 2 * y * W + 2 * x0;
        __global const float * row1 = row0 + W;
        const float16 a0 = vload16(0, row0), a1 = vload16(1, row0);
        const float16 b0 = vload16(0, row1), b1 = vload16(1, row1);
        const float16 p00 = ipg_lanes_of_parity(a0, a1, 0), p01 = ipg_lanes_of_parity(a0, a1, 1);
        const float16 p10 = ipg_lanes_of_parity(b0, b1, 0), p11 = ipg_lanes_of_parity(b0, b1, 1);
        const float l = 0.5f;   // lx0 = lx1 = ly0 = ly1
        vstore16(l * (l * p00 + l * p01) + l * (l * p10 + l * p11), 0, o);
    } else {
        for (int l = 0; l < lanes; l++) o[l] = ipg_downsample_at(p, H, W, OH, OW, x0 + l, y);
    }
}

// out = lateral + nearest(top) resized to lateral's size (PyTorch "nearest":
// source index floor(dst * in / out), clamped).
__kernel void ipg_upsample_add(__global const float * lateral, int H, int W,
                               __global const float * top, int TH, int TW,
                               __global float * out, int C)
{
    const int x = get_global_id(0), y = get_global_id(1), c = get_global_id(2);
    if (x >= W || y >= H || c >= C) return;
    const float sy = (float) TH / (float) H, sx = (float) TW / (float) W;
    int ty = min((int) floor((float) y * sy), TH - 1);
    int tx = min((int) floor((float) x * sx), TW - 1);
    size_t i = ((size_t) c * H + y) * W + x;
    out[i] = lateral[i] + top[((size_t) c * TH + ty) * TW + tx];
}
