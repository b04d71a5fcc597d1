// SPDX-License-Identifier: LGPL-2.1-or-later
// test-preprocess.c: the packed-frame letterbox (kernels/preprocess.cl,
// ipg_letterbox_rgb8: 16 pixels of a row per work-item) against a host
// reference of PyTorch's arithmetic (F.interpolate bilinear, align_corners =
// false, on x / 255, then (v - mean) / std, zero padding), on odd sizes:
// widths that are no multiple of 16, 1-pixel frames and inputs, up- and
// downscaling, padding on the right or at the bottom, tiles at odd origins,
// every byte order, and an image in the middle of a batch (its neighbours
// must stay untouched). `--small`: a subset for oclgrind.
#include "error.h"
#include "preprocess.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-check.h"

static ipg_cl_t g_cl;
static char g_err[IPG_ERR_LEN];
static uint32_t g_rng = 2026;

static uint8_t byte_rand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return (uint8_t) (g_rng >> 11);
}

static const float MEAN[3] = { 0.485f, 0.456f, 0.406f }, STD[3] = { 0.229f, 0.224f, 0.225f };

// PyTorch's CPU upsample_bilinear2d taps of one axis: scale = in / out in
// float, source = scale * (dst + 0.5) - 0.5 in double clamped at 0, the
// second tap clamped at the last pixel.
static void taps(int in, int out, int d, int * i0, int * i1, float * l1) {
    double src = (double) ((float) in / (float) out) * (d + 0.5) - 0.5;
    if (src < 0) src = 0;
    int a = (int) floor(src);
    if (a > in - 1) a = in - 1;
    *i0 = a;
    *i1 = a < in - 1 ? a + 1 : a;
    *l1 = (float) (src - a);
}

// The reference of one view into one [3][H][W] image.
static void letterbox_ref(const uint8_t * frame, int frame_w, int bpp, const int off[3], const ipg_view_t * v, int W,
                          int H, float * want) {
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float * o = &want[((size_t) c * H + y) * W + x];
                if (x >= v->new_w || y >= v->new_h) {
                    *o = 0.0f;
                    continue;
                }
                int x0, x1, y0, y1;
                float lx1, ly1;
                taps(v->w, v->new_w, x, &x0, &x1, &lx1);
                taps(v->h, v->new_h, y, &y0, &y1, &ly1);
                const float lx0 = 1.0f - lx1, ly0 = 1.0f - ly1;
#define PX(yy, xx) ((float) frame[((size_t) (v->y0 + (yy)) * frame_w + v->x0 + (xx)) * bpp + off[c]] / 255.0f)
                const float val =
                    ly0 * (lx0 * PX(y0, x0) + lx1 * PX(y0, x1)) + ly1 * (lx0 * PX(y1, x0) + lx1 * PX(y1, x1));
#undef PX
                *o = (val - MEAN[c]) / STD[c];
            }
}

static void offsets(ipg_pixel_format_t f, int off[3]) {
    switch (f) {
        case IPG_PIXEL_RGB:
        case IPG_PIXEL_RGBX:
        case IPG_PIXEL_RGBA: off[0] = 0, off[1] = 1, off[2] = 2; break;
        case IPG_PIXEL_BGR:
        case IPG_PIXEL_BGRX:
        case IPG_PIXEL_BGRA: off[0] = 2, off[1] = 1, off[2] = 0; break;
        case IPG_PIXEL_XRGB:
        case IPG_PIXEL_ARGB: off[0] = 1, off[1] = 2, off[2] = 3; break;
        default: off[0] = 3, off[1] = 2, off[2] = 1; break;
    }
}

// View (x0, y0, w, h) of a frame_w x frame_h frame letterboxed into image 1
// of a batch of 3 W x H images. Images 0 and 2 start as a sentinel that must
// survive; image 1 starts as NaN, so an output the kernel skips shows.
static void test_letterbox(ipg_pixel_format_t format, int frame_w, int frame_h, int vx, int vy, int vw, int vh, int W,
                           int H) {
    char what[128];
    snprintf(what, sizeof what, "letterbox format %d frame %dx%d view (%d,%d) %dx%d -> %dx%d", (int) format, frame_w,
             frame_h, vx, vy, vw, vh, W, H);
    const int bpp = ipg_pixel_format_bpp(format);
    int off[3];
    offsets(format, off);
    const size_t bytes = ipg_frame_bytes(frame_w, frame_h, format), plane = (size_t) 3 * W * H;
    uint8_t * frame = malloc(bytes);
    float *got = malloc(3 * plane * sizeof(float)), *want = malloc(plane * sizeof(float));
    for (size_t i = 0; i < bytes; i++) frame[i] = byte_rand();
    for (size_t i = 0; i < 3 * plane; i++) got[i] = i / plane == 1 ? NAN : -7.0f;

    ipg_plan_t p;
    memset(&p, 0, sizeof p);
    p.cl = &g_cl;
    p.err = g_err;
    p.err_size = sizeof g_err;
    p.batch = 3;
    const ipg_letterbox_t lb = { .frame_w = frame_w, .frame_h = frame_h, .format = format };
    ipg_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    memcpy(cfg.mean, MEAN, sizeof MEAN);
    memcpy(cfg.std, STD, sizeof STD);
    const ipg_view_t v =
        ipg_view_make(vx == 0 && vy == 0 && vw == frame_w && vh == frame_h ? -1 : 0, vx, vy, vw, vh, W, H);
    cl_mem frame_buf = ipg_plan_buffer(&p, bytes, frame);
    cl_mem images = ipg_plan_buffer(&p, 3 * plane * sizeof(float), got);
    ipg_status_t st = frame_buf && images ? IPG_OK : IPG_ERR_NO_MEMORY;
    if (st == IPG_OK) st = ipg_preprocess_plan(&p, &lb, &cfg, frame_buf, &v, 1, images, 1, W, H);
    if (st == IPG_OK) st = ipg_plan_finalize(&p);
    if (st == IPG_OK) st = ipg_plan_run(&p);
    CHECK(st == IPG_OK, "%s: %s", what, g_err);
    if (st == IPG_OK) {
        const cl_int rc =
            clEnqueueReadBuffer(g_cl.queue, images, CL_TRUE, 0, 3 * plane * sizeof(float), got, 0, NULL, NULL);
        CHECK(rc == CL_SUCCESS, "%s: read back: %s", what, ipg_cl_error_name(rc));
        letterbox_ref(frame, frame_w, bpp, off, &v, W, H, want);
        // Each output within 4 float epsilons of the interpolated value
        // (in [0, 1]) divided by std: a driver may fuse the multiply-adds the
        // host rounds twice, and v - mean cancels. A wrong tap is off by
        // about a level, 1 / 255 / std. The padding is exactly 0.
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < plane; i++) {
            const float g = got[plane + i], w = want[i];
            if (!(fabsf(g - w) <= 4.0f * FLT_EPSILON / STD[i / ((size_t) W * H)]) || (w == 0.0f && g != 0.0f)) {
                if (!bad) first = i;
                bad++;
            }
        }
        CHECK(bad == 0, "%s: %zu outputs differ, first at %zu (x %zu, y %zu, channel %zu): got %.9g want %.9g", what,
              bad, first, first % W, first / W % H, first / ((size_t) W * H), got[plane + first], want[first]);
        size_t touched = 0;
        for (size_t i = 0; i < plane; i++) touched += got[i] != -7.0f || got[2 * plane + i] != -7.0f;
        CHECK(touched == 0, "%s: %zu values of the neighbouring images overwritten", what, touched);
    }
    ipg_plan_free(&p);
    free(frame);
    free(got);
    free(want);
}

int main(int argc, char ** argv) {
    const bool small = argc > 1 && strcmp(argv[1], "--small") == 0;
    if (ipg_cl_init(&g_cl, getenv("IPG_TEST_DEVICE"), false, g_err, sizeof g_err) != IPG_OK) {
        printf("FAIL: no OpenCL device: %s\n", g_err);
        return 1;
    }
    printf("device: %s\n", g_cl.device_name);
    // upscale, padding on the right (a 16-pixel segment half in the view)
    test_letterbox(IPG_PIXEL_RGB, 37, 23, 0, 0, 37, 23, 64, 32);
    // downscale, padding at the bottom, a width no multiple of 16, 4 bytes a pixel
    test_letterbox(IPG_PIXEL_BGRX, 70, 40, 0, 0, 70, 40, 40, 72);
    // 1-pixel frame into a wider input; 1-pixel frame into a 1-pixel input
    test_letterbox(IPG_PIXEL_RGB, 1, 1, 0, 0, 1, 1, 24, 8);
    test_letterbox(IPG_PIXEL_BGR, 1, 1, 0, 0, 1, 1, 1, 1);
    // a tile at an odd origin, scaled by an odd factor, one padding row
    test_letterbox(IPG_PIXEL_XRGB, 101, 57, 13, 7, 45, 29, 48, 32);
    if (!small) {
        // no resize (the taps are the identity), a multiple of 16
        test_letterbox(IPG_PIXEL_RGB, 48, 16, 0, 0, 48, 16, 48, 16);
        // odd widths, every other byte order, strong downscale
        test_letterbox(IPG_PIXEL_ARGB, 300, 17, 0, 0, 300, 17, 33, 5);
        test_letterbox(IPG_PIXEL_XBGR, 7, 300, 0, 0, 7, 300, 17, 31);
        test_letterbox(IPG_PIXEL_RGBA, 129, 65, 0, 0, 129, 65, 97, 50);
        test_letterbox(IPG_PIXEL_BGRA, 640, 360, 0, 0, 640, 360, 512, 512);
        test_letterbox(IPG_PIXEL_RGBX, 1920, 1080, 600, 301, 333, 211, 160, 96);
        // the demo's size
        test_letterbox(IPG_PIXEL_RGB, 512, 512, 0, 0, 512, 512, 512, 512);
    }
    ipg_cl_free(&g_cl);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
