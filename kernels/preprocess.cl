// ============================================================================
// preprocess.cl: packed 8-bit frame -> letterboxed, normalised network input.
//
// Work: ipg_letterbox_rgb8 one work-item per 16 network-input pixels of a
// row, global (ceil(W / 16), H); ipg_letterbox_yuv420 one per pixel, (W, H).
// Pixel at (x, y) of the frame is at src[y * stride + x * bpp + {r,g,b}_off].
// When the frame already has the scaled size the taps are the identity.
// The source is a view of the frame: its whole, or a tile at (ox, oy) whose
// taps index the tile (they clamp at the tile's edges, so no sample is read
// outside it: the reference's crop, then resize). The result is image
// `image` of a batch [B][3][H][W].
// The view is scaled to new_w x new_h (bilinear, align_corners = false, no
// antialiasing: PyTorch's F.interpolate on the float image x / 255), placed at
// the top-left, then normalised (v - mean) / std; the rest is 0, which is
// torchvision's batch padding after normalisation.
// ============================================================================

// The interpolation taps come from tables the host computes once per frame
// size, exactly as PyTorch's CPU kernel does (source index in double):
// idx = [x0 (new_w), x1 (new_w), y0 (new_h), y1 (new_h)], lambda1 = [lx (new_w), ly (new_h)].
typedef struct {
    int   x0, x1, y0, y1;
    float lx0, lx1, ly0, ly1;
} ipg_taps_t;

// Taps of output pixel (x, y) in frame coordinates (the view's origin
// added); false (after writing the zero padding) when the pixel lies outside
// the scaled view.
inline bool ipg_letterbox_taps(int x, int y, int ox, int oy, int new_w, int new_h, __global const int * idx,
                               __global const float * lambda1, __global float * dst, int W, int H,
                               ipg_taps_t * t)
{
    if (x >= new_w || y >= new_h) {
        dst[y * W + x] = 0.0f;
        dst[W * H + y * W + x] = 0.0f;
        dst[2 * W * H + y * W + x] = 0.0f;
        return false;
    }
    t->x0 = ox + idx[x];
    t->x1 = ox + idx[new_w + x];
    t->y0 = oy + idx[2 * new_w + y];
    t->y1 = oy + idx[2 * new_w + new_h + y];
    t->lx1 = lambda1[x];
    t->lx0 = 1.0f - t->lx1;
    t->ly1 = lambda1[new_w + y];
    t->ly0 = 1.0f - t->ly1;
    return true;
}

// The 16 elements p[at.s0] .. p[at.sf], for a vector literal: a gather
// (the column taps are arbitrary).
#define IPG_GATHER16(p, at)                                                                              \
    (p)[(at).s0], (p)[(at).s1], (p)[(at).s2], (p)[(at).s3], (p)[(at).s4], (p)[(at).s5], (p)[(at).s6],  \
        (p)[(at).s7], (p)[(at).s8], (p)[(at).s9], (p)[(at).sa], (p)[(at).sb], (p)[(at).sc], (p)[(at).sd], \
        (p)[(at).se], (p)[(at).sf]

// One channel (byte offset o in a pixel) of 16 letterboxed pixels: the four
// taps of each lane gathered from the two source rows, x / 255 as a true
// division, PyTorch's order of operations, then (v - mean) / std. A tap
// whose weight is 0 in every lane (x1 when no lane's lx1 is nonzero, row 1
// when ly1 is 0: an unscaled axis) is not gathered but taken as 0: weight 0
// times a finite sample is +0 either way, so the sum is the same bit for bit.
inline float16 ipg_letterbox_channel(__global const uchar * row0, __global const uchar * row1, int16 c0, int16 c1,
                                     bool need_x1, bool need_y1, int o, float16 lx0, float16 lx1, float ly0, float ly1,
                                     float mean, float std)
{
    const float16 zero = 0.0f;
    const float16 p00 = convert_float16((uchar16) (IPG_GATHER16(row0, c0 + o)));
    const float16 p01 = need_x1 ? convert_float16((uchar16) (IPG_GATHER16(row0, c1 + o))) : zero;
    const float16 p10 = need_y1 ? convert_float16((uchar16) (IPG_GATHER16(row1, c0 + o))) : zero;
    const float16 p11 = need_x1 && need_y1 ? convert_float16((uchar16) (IPG_GATHER16(row1, c1 + o))) : zero;
    const float16 v = ly0 * (lx0 * (p00 / 255.0f) + lx1 * (p01 / 255.0f)) +
                      ly1 * (lx0 * (p10 / 255.0f) + lx1 * (p11 / 255.0f));
    return (v - mean) / std;
}

// The first n (1 .. 16) lanes of v to d, without private arrays (which
// take scratch memory on GPUs).
inline void ipg_store_lanes(float16 v, int n, __global float * d)
{
    if (n == 16) {
        vstore16(v, 0, d);
        return;
    }
    if (n > 0) d[0] = v.s0;
    if (n > 1) d[1] = v.s1;
    if (n > 2) d[2] = v.s2;
    if (n > 3) d[3] = v.s3;
    if (n > 4) d[4] = v.s4;
    if (n > 5) d[5] = v.s5;
    if (n > 6) d[6] = v.s6;
    if (n > 7) d[7] = v.s7;
    if (n > 8) d[8] = v.s8;
    if (n > 9) d[9] = v.s9;
    if (n > 10) d[10] = v.sa;
    if (n > 11) d[11] = v.sb;
    if (n > 12) d[12] = v.sc;
    if (n > 13) d[13] = v.sd;
    if (n > 14) d[14] = v.se;
}

// Work: one work-item per 16 network-input pixels of a row, global
// (ceil(W / 16), H). The row's taps are read once, the columns' taps are
// vector lanes, and the divisions (x / 255, and by std) are float16 lane
// divisions: each lane computes exactly what the per-pixel form did (the
// per-pixel form spent most of its time in 15 scalar divisions a pixel).
// Lanes outside the scaled view take the view's last column's taps (valid
// pixels) and are written as 0.
__kernel void ipg_letterbox_rgb8(
    __global const uchar * src, int stride, int bpp,
    int r_off, int g_off, int b_off,
    int ox, int oy, int new_w, int new_h,
    __global const int * idx, __global const float * lambda1,
    float mean_r, float mean_g, float mean_b,
    float std_r, float std_g, float std_b,
    __global float * dst, int W, int H, int image)
{
    const int x = get_global_id(0) * 16;   // first network-input column
    const int y = get_global_id(1);        // network-input row
    if (x >= W || y >= H) return;
    const size_t plane = (size_t) W * H;
    dst += (size_t) image * 3 * plane + (size_t) y * W + x;
    const int lanes = min(16, W - x);                               // outputs of this work-item
    const int inside = y < new_h ? clamp(new_w - x, 0, lanes) : 0;  // of those, in the scaled view
    float16 r = 0.0f, g = 0.0f, b = 0.0f;
    if (inside > 0) {
        int16 tx0, tx1;
        float16 lx1;
        if (inside == 16) {
            tx0 = vload16(0, idx + x);
            tx1 = vload16(0, idx + new_w + x);
            lx1 = vload16(0, lambda1 + x);
        } else {
            const int16 at = min((int16) (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) + x, (int16) (new_w - 1));
            tx0 = (int16) (IPG_GATHER16(idx, at));
            tx1 = (int16) (IPG_GATHER16(idx + new_w, at));
            lx1 = (float16) (IPG_GATHER16(lambda1, at));
        }
        const float16 lx0 = 1.0f - lx1;
        const float ly1 = lambda1[new_w + y], ly0 = 1.0f - ly1;
        __global const uchar * row0 = src + (size_t) (oy + idx[2 * new_w + y]) * stride;
        __global const uchar * row1 = src + (size_t) (oy + idx[2 * new_w + new_h + y]) * stride;
        const int16 c0 = (ox + tx0) * bpp, c1 = (ox + tx1) * bpp;
        const int16 in_view = (int16) (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) < inside;
        const bool need_x1 = any(lx1 != 0.0f), need_y1 = ly1 != 0.0f;
        r = select((float16) 0.0f, ipg_letterbox_channel(row0, row1, c0, c1, need_x1, need_y1, r_off, lx0, lx1, ly0, ly1, mean_r, std_r),
                   in_view);
        g = select((float16) 0.0f, ipg_letterbox_channel(row0, row1, c0, c1, need_x1, need_y1, g_off, lx0, lx1, ly0, ly1, mean_g, std_g),
                   in_view);
        b = select((float16) 0.0f, ipg_letterbox_channel(row0, row1, c0, c1, need_x1, need_y1, b_off, lx0, lx1, ly0, ly1, mean_b, std_b),
                   in_view);
    }
    ipg_store_lanes(r, lanes, dst);
    ipg_store_lanes(g, lanes, dst + plane);
    ipg_store_lanes(b, lanes, dst + 2 * plane);
}

// Planar 4:2:0 frames (I420: Y, U, V planes; NV12: Y, then interleaved UV),
// packed contiguously by the host: Y is W x H, chroma ceil(W/2) x ceil(H/2).
// Each bilinear tap converts its pixel to RGB first (chroma of the 2x2 block
// it lies in), in float without rounding to 8 bits, then the same letterbox
// and normalisation as ipg_letterbox_rgb8.
// coef = { y_offset, y_scale, c_scale, r_v, g_u, g_v, b_u } (0..255 scale).
inline float3 ipg_yuv_pixel(__global const uchar * src, int w, int h, int nv12, int x, int y,
                            __global const float * coef)
{
    const int cw = (w + 1) / 2, ch = (h + 1) / 2;
    const int cx = x / 2, cy = y / 2;
    const size_t plane = (size_t) w * h;
    float u, v;
    if (nv12) {
        __global const uchar * uv = src + plane + (size_t) cy * 2 * cw + 2 * cx;
        u = (float) uv[0];
        v = (float) uv[1];
    } else {
        u = (float) src[plane + (size_t) cy * cw + cx];
        v = (float) src[plane + (size_t) cw * ch + (size_t) cy * cw + cx];
    }
    const float yf = ((float) src[(size_t) y * w + x] - coef[0]) * coef[1];
    const float uf = (u - 128.0f) * coef[2], vf = (v - 128.0f) * coef[2];
    const float3 rgb = (float3) (yf + coef[3] * vf, yf - coef[4] * uf - coef[5] * vf, yf + coef[6] * uf);
    return clamp(rgb, 0.0f, 255.0f) / 255.0f;
}

__kernel void ipg_letterbox_yuv420(
    __global const uchar * src, int src_w, int src_h, int nv12, __global const float * coef,
    int ox, int oy, int new_w, int new_h,
    __global const int * idx, __global const float * lambda1,
    float mean_r, float mean_g, float mean_b,
    float std_r, float std_g, float std_b,
    __global float * dst, int W, int H, int image)
{
    const int x = get_global_id(0);   // network-input column
    const int y = get_global_id(1);   // network-input row
    if (x >= W || y >= H) return;
    const int plane = W * H;
    dst += (size_t) image * 3 * plane;
    ipg_taps_t t;
    if (!ipg_letterbox_taps(x, y, ox, oy, new_w, new_h, idx, lambda1, dst, W, H, &t)) return;
    const int x0 = t.x0, x1 = t.x1, y0 = t.y0, y1 = t.y1;
    const float lx0 = t.lx0, lx1 = t.lx1, ly0 = t.ly0, ly1 = t.ly1;
    const float3 p00 = ipg_yuv_pixel(src, src_w, src_h, nv12, x0, y0, coef);
    const float3 p01 = ipg_yuv_pixel(src, src_w, src_h, nv12, x1, y0, coef);
    const float3 p10 = ipg_yuv_pixel(src, src_w, src_h, nv12, x0, y1, coef);
    const float3 p11 = ipg_yuv_pixel(src, src_w, src_h, nv12, x1, y1, coef);
    const float3 v = ly0 * (lx0 * p00 + lx1 * p01) + ly1 * (lx0 * p10 + lx1 * p11);
    dst[y * W + x] = (v.x - mean_r) / std_r;
    dst[plane + y * W + x] = (v.y - mean_g) / std_g;
    dst[2 * plane + y * W + x] = (v.z - mean_b) / std_b;
}
