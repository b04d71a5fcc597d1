// ============================================================================
// preprocess.cl: packed 8-bit frame -> letterboxed, normalised network input.
//
// Work: one work-item per network-input pixel, global (W, H).
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

__kernel void ipg_letterbox_rgb8(
    __global const uchar * src, int stride, int bpp,
    int r_off, int g_off, int b_off,
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
    __global const uchar * r00 = src + (size_t) y0 * stride + (size_t) x0 * bpp;
    __global const uchar * r01 = src + (size_t) y0 * stride + (size_t) x1 * bpp;
    __global const uchar * r10 = src + (size_t) y1 * stride + (size_t) x0 * bpp;
    __global const uchar * r11 = src + (size_t) y1 * stride + (size_t) x1 * bpp;
    const int offs[3] = { r_off, g_off, b_off };
    const float means[3] = { mean_r, mean_g, mean_b };
    const float stds[3] = { std_r, std_g, std_b };
    for (int c = 0; c < 3; c++) {
        const int o = offs[c];
        // x / 255 as a true division, and PyTorch's order of operations.
        const float v = ly0 * (lx0 * ((float) r00[o] / 255.0f) + lx1 * ((float) r01[o] / 255.0f)) +
                        ly1 * (lx0 * ((float) r10[o] / 255.0f) + lx1 * ((float) r11[o] / 255.0f));
        dst[c * plane + y * W + x] = (v - means[c]) / stds[c];
    }
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
