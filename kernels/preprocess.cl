// ============================================================================
// preprocess.cl: packed 8-bit frame -> letterboxed, normalised network input.
//
// Work: one work-item per network-input pixel, global (W, H).
// Pixel at (x, y) of the frame is at src[y * stride + x * bpp + {r,g,b}_off].
// When the frame already has the scaled size the taps are the identity.
// The frame is scaled to new_w x new_h (bilinear, align_corners = false, no
// antialiasing: PyTorch's F.interpolate on the float image x / 255), placed at
// the top-left, then normalised (v - mean) / std; the rest is 0, which is
// torchvision's batch padding after normalisation.
// ============================================================================

// The interpolation taps come from tables the host computes once per frame
// size, exactly as PyTorch's CPU kernel does (source index in double):
// idx = [x0 (new_w), x1 (new_w), y0 (new_h), y1 (new_h)], lambda1 = [lx (new_w), ly (new_h)].
__kernel void ipg_letterbox_rgb8(
    __global const uchar * src, int stride, int bpp,
    int r_off, int g_off, int b_off,
    int new_w, int new_h,
    __global const int * idx, __global const float * lambda1,
    float mean_r, float mean_g, float mean_b,
    float std_r, float std_g, float std_b,
    __global float * dst, int W, int H)
{
    const int x = get_global_id(0);   // network-input column
    const int y = get_global_id(1);   // network-input row
    if (x >= W || y >= H) return;
    const int plane = W * H;
    if (x >= new_w || y >= new_h) {
        dst[y * W + x] = 0.0f;
        dst[plane + y * W + x] = 0.0f;
        dst[2 * plane + y * W + x] = 0.0f;
        return;
    }
    const int x0 = idx[x], x1 = idx[new_w + x];
    const int y0 = idx[2 * new_w + y], y1 = idx[2 * new_w + new_h + y];
    const float lx1 = lambda1[x], lx0 = 1.0f - lx1;
    const float ly1 = lambda1[new_w + y], ly0 = 1.0f - ly1;
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
