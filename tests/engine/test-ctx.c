// SPDX-License-Identifier: LGPL-2.1-or-later
// test-ctx.c: the public context API on a small model. Every packed pixel
// format with a padded stride gives exactly the RGB result; run before
// prepare, bad sizes and strides, and unknown devices are refused with a
// message; re-preparing for another size and back changes nothing; the
// tensor entry point agrees with the frame entry point; thresholds and input
// size overrides behave. Usage: test-ctx MODEL
#include "ipg.h"
#include "cl-runtime.h"   // ipg_ctx_cl_objects_created

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-check.h"

#define MAXD 300

typedef struct {
    ipg_detection_t d[MAXD];
    int32_t n;
} result_t;

static bool same(const result_t * a, const result_t * b) {
    if (a->n != b->n) return false;
    return memcmp(a->d, b->d, (size_t) a->n * sizeof a->d[0]) == 0;
}

// The same detections up to float summation order: count, labels and order
// equal, scores within 1e-4, boxes within 1e-3 pixels.
static bool close_to(const result_t * a, const result_t * b) {
    if (a->n != b->n) return false;
    for (int32_t i = 0; i < a->n; i++) {
        const ipg_detection_t *x = &a->d[i], *y = &b->d[i];
        if (x->label != y->label || fabsf(x->score - y->score) > 1e-4f || fabsf(x->x1 - y->x1) > 1e-3f ||
            fabsf(x->y1 - y->y1) > 1e-3f || fabsf(x->x2 - y->x2) > 1e-3f || fabsf(x->y2 - y->y2) > 1e-3f)
            return false;
    }
    return true;
}

// Writes the RGB image into `format` with `stride`.
static uint8_t * convert(const uint8_t * rgb, int w, int h, ipg_pixel_format_t format, int stride) {
    static const int offs[IPG_PIXEL_COUNT_][3] = {
        [IPG_PIXEL_RGB] = { 0, 1, 2 },  [IPG_PIXEL_BGR] = { 2, 1, 0 },  [IPG_PIXEL_RGBX] = { 0, 1, 2 },
        [IPG_PIXEL_BGRX] = { 2, 1, 0 }, [IPG_PIXEL_XRGB] = { 1, 2, 3 }, [IPG_PIXEL_XBGR] = { 3, 2, 1 },
        [IPG_PIXEL_RGBA] = { 0, 1, 2 }, [IPG_PIXEL_BGRA] = { 2, 1, 0 }, [IPG_PIXEL_ARGB] = { 1, 2, 3 },
        [IPG_PIXEL_ABGR] = { 3, 2, 1 },
    };
    const int bpp = ipg_pixel_format_bpp(format);
    uint8_t * out = malloc((size_t) stride * h);
    memset(out, 0xA5, (size_t) stride * h);   // padding and X bytes hold junk
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) out[y * stride + x * bpp + offs[format][c]] = rgb[(y * w + x) * 3 + c];
    return out;
}

// Counts the library's log lines that contain g_log_needle.
static const char * g_log_needle = "";
static int g_log_hits = 0;
static void count_log(ipg_log_level_t level, const char * message, void * ud) {
    (void) level;
    (void) ud;
    if (strstr(message, g_log_needle)) g_log_hits++;
}

static result_t run_frame(ipg_ctx_t * ctx, const uint8_t * data, int w, int h, ipg_pixel_format_t format, int stride) {
    result_t r = { .n = -1 };
    ipg_status_t st = ipg_ctx_prepare(ctx, w, h, format);
    CHECK(st == IPG_OK, "prepare %dx%d format %d: %s", w, h, (int) format, ipg_ctx_last_error(ctx));
    if (st != IPG_OK) return r;
    ipg_frame_t frame = { .data = data, .stride = stride };
    st = ipg_ctx_run(ctx, &frame, r.d, MAXD, &r.n);
    CHECK(st == IPG_OK, "run format %d: %s", (int) format, ipg_ctx_last_error(ctx));
    return r;
}

static float * g_input = NULL;   // the "input" stage of the last run
static int g_input_c, g_input_h, g_input_w;
static void grab_input(const char * name, const float * data, int32_t c, int32_t h, int32_t w, void * ud) {
    (void) ud;
    if (strcmp(name, "input") != 0) return;
    free(g_input);
    g_input = malloc((size_t) c * h * w * sizeof(float));
    g_input_c = c;
    g_input_h = h;
    g_input_w = w;
    memcpy(g_input, data, (size_t) c * h * w * sizeof(float));
}

// ---- planar 4:2:0 ---------------------------------------------------------------

// PyTorch's bilinear taps for one axis (as ctx.c and tools/ipgnet/preprocess.py).
static void taps(int in, int out, int * i0, int * i1, double * l1) {
    const float scale = (float) in / (float) out;
    for (int d = 0; d < out; d++) {
        double src = (double) scale * (d + 0.5) - 0.5;
        if (src < 0) src = 0;
        int a = (int) floor(src);
        if (a > in - 1) a = in - 1;
        i0[d] = a;
        i1[d] = a < in - 1 ? a + 1 : a;
        l1[d] = (float) (src - a);
    }
}

// The documented conversion: per tap, Y'CbCr -> RGB (matrix from Kr, Kb;
// limited or full range), clamp to 0..255, then bilinear and normalise.
static void yuv_reference(const uint8_t * y, const uint8_t * u, const uint8_t * v, int uv_step, int w, int h, double kr,
                          double kb, int full, int in_w, int in_h, const float * mean, const float * std, float * out) {
    const double s = fmin((double) in_w / w, (double) in_h / h);
    int nw = (int) floor(w * s + 0.5), nh = (int) floor(h * s + 0.5);
    nw = nw < 1 ? 1 : (nw > in_w ? in_w : nw);
    nh = nh < 1 ? 1 : (nh > in_h ? in_h : nh);
    int *x0 = malloc(sizeof(int) * nw), *x1 = malloc(sizeof(int) * nw);
    int *y0 = malloc(sizeof(int) * nh), *y1 = malloc(sizeof(int) * nh);
    double *lx = malloc(sizeof(double) * nw), *ly = malloc(sizeof(double) * nh);
    taps(w, nw, x0, x1, lx);
    taps(h, nh, y0, y1, ly);
    const double kg = 1 - kr - kb, ys = full ? 1 : 255.0 / 219, cs = full ? 1 : 255.0 / 224, yo = full ? 0 : 16;
    const int cw = (w + 1) / 2;
    memset(out, 0, sizeof(float) * 3 * in_w * in_h);
    for (int oy = 0; oy < nh; oy++)
        for (int ox = 0; ox < nw; ox++) {
            double acc[3] = { 0, 0, 0 };
            for (int t = 0; t < 4; t++) {
                const int px = t & 1 ? x1[ox] : x0[ox], py = t & 2 ? y1[oy] : y0[oy];
                const double wt = (t & 1 ? lx[ox] : 1 - lx[ox]) * (t & 2 ? ly[oy] : 1 - ly[oy]);
                const int ci = (py / 2) * cw + px / 2;
                const double Y = (y[py * w + px] - yo) * ys;
                const double U = (u[ci * uv_step] - 128.0) * cs, V = (v[ci * uv_step] - 128.0) * cs;
                double rgb[3] = { Y + 2 * (1 - kr) * V, Y - 2 * kb * (1 - kb) / kg * U - 2 * kr * (1 - kr) / kg * V,
                                  Y + 2 * (1 - kb) * U };
                for (int c = 0; c < 3; c++) acc[c] += wt * fmin(fmax(rgb[c], 0), 255) / 255.0;
            }
            for (int c = 0; c < 3; c++) out[(c * in_h + oy) * in_w + ox] = (float) ((acc[c] - mean[c]) / std[c]);
        }
    free(x0);
    free(x1);
    free(y0);
    free(y1);
    free(lx);
    free(ly);
}

static void test_planar(const ipg_model_t * model, ipg_ctx_t * ctx, int w, int h, ipg_pixel_format_t format,
                        ipg_yuv_matrix_t matrix, int full) {
    static const double kr[3] = { 0.299, 0.2126, 0.2627 }, kb[3] = { 0.114, 0.0722, 0.0593 };
    const int cw = (w + 1) / 2, ch = (h + 1) / 2, ys = w + 3, cs = (format == IPG_PIXEL_NV12 ? 2 * cw : cw) + 3;
    uint8_t *yp = malloc((size_t) ys * h), *up = malloc((size_t) cs * ch), *vp = malloc((size_t) cs * ch);
    uint8_t *yt = malloc((size_t) w * h), *ut = malloc((size_t) cw * ch), *vt = malloc((size_t) cw * ch);
    uint32_t r = 7;
    for (int i = 0; i < w * h; i++) {
        r = r * 1664525u + 1013904223u;
        yt[i] = (uint8_t) (i % w * 5 + (r >> 26));
    }
    for (int i = 0; i < cw * ch; i++) {
        r = r * 1664525u + 1013904223u;
        ut[i] = (uint8_t) (r >> 24);
        vt[i] = (uint8_t) (i * 7);
    }
    memset(yp, 0x5A, (size_t) ys * h);   // junk in the stride padding
    memset(up, 0x5A, (size_t) cs * ch);
    memset(vp, 0x5A, (size_t) cs * ch);
    for (int yy = 0; yy < h; yy++) memcpy(yp + yy * ys, yt + yy * w, (size_t) w);
    for (int yy = 0; yy < ch; yy++)
        for (int xx = 0; xx < cw; xx++) {
            if (format == IPG_PIXEL_NV12) {
                up[yy * cs + 2 * xx] = ut[yy * cw + xx];
                up[yy * cs + 2 * xx + 1] = vt[yy * cw + xx];
            } else {
                up[yy * cs + xx] = ut[yy * cw + xx];
                vp[yy * cs + xx] = vt[yy * cw + xx];
            }
        }
    ipg_status_t st = ipg_ctx_prepare_yuv(ctx, w, h, format, matrix, full);
    CHECK(st == IPG_OK, "prepare %s %dx%d: %s", format == IPG_PIXEL_NV12 ? "NV12" : "I420", w, h,
          ipg_ctx_last_error(ctx));
    ipg_frame_t frame = { .planes = { yp, up, format == IPG_PIXEL_NV12 ? NULL : vp }, .strides = { ys, cs, cs } };
    result_t res;
    ipg_ctx_set_stage_callback(ctx, grab_input, NULL);
    st = ipg_ctx_run(ctx, &frame, res.d, MAXD, &res.n);
    ipg_ctx_set_stage_callback(ctx, NULL, NULL);
    CHECK(st == IPG_OK, "run planar: %s", ipg_ctx_last_error(ctx));
    if (st == IPG_OK && g_input) {
        const float mean[3] = { 0.485f, 0.456f, 0.406f }, stdv[3] = { 0.229f, 0.224f, 0.225f };
        float * want = malloc(sizeof(float) * 3 * g_input_w * g_input_h);
        yuv_reference(yt, ut, vt, 1, w, h, kr[matrix], kb[matrix], full, g_input_w, g_input_h, mean, stdv, want);
        double worst = 0;
        for (int i = 0; i < 3 * g_input_w * g_input_h; i++) worst = fmax(worst, fabs((double) g_input[i] - want[i]));
        CHECK(worst < 2e-5, "%s %dx%d matrix %d range %s: input tensor within 2e-5 of the host reference (%.2g)",
              format == IPG_PIXEL_NV12 ? "NV12" : "I420", w, h, (int) matrix, full ? "full" : "limited", worst);
        free(want);
    }
    // A plane missing or a stride too small is refused, never read.
    frame.planes[0] = NULL;
    CHECK(ipg_ctx_run(ctx, &frame, res.d, MAXD, &res.n) == IPG_ERR_INVALID_ARG, "missing Y plane refused");
    frame.planes[0] = yp;
    frame.strides[1] = 1;
    CHECK(ipg_ctx_run(ctx, &frame, res.d, MAXD, &res.n) == IPG_ERR_INVALID_ARG, "short chroma stride refused");
    (void) model;
    free(yp);
    free(up);
    free(vp);
    free(yt);
    free(ut);
    free(vt);
}

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test-ctx MODEL\n");
        return 2;
    }
    char err[4096];
    ipg_model_t * model = NULL;
    if (ipg_model_load_file(argv[1], &model, err, sizeof err) != IPG_OK) {
        printf("FAIL: %s\n", err);
        return 1;
    }
    int32_t in_w, in_h;
    ipg_model_input_size(model, &in_w, &in_h);

    // Devices: a name that matches nothing lists what exists.
    ipg_ctx_params_t params = ipg_ctx_params_default();
    ipg_ctx_t * ctx = NULL;
    params.device = "no-such-device";
    ipg_status_t st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
    CHECK(st == IPG_ERR_NO_DEVICE && ctx == NULL && strstr(err, "available devices"),
          "unknown device refused with the list: %d %s", (int) st, err);
    params.device = "99:99";
    CHECK(ipg_ctx_init(model, &params, &ctx, err, sizeof err) == IPG_ERR_NO_DEVICE, "device 99:99 refused");
    params.input_width = 65;
    params.input_height = 64;
    params.device = NULL;
    st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
    CHECK(st == IPG_ERR_INVALID_ARG && strstr(err, "multiples of 32"), "input 65x64 refused: %s", err);
    params = ipg_ctx_params_default();
    params.score_threshold = 0.0f;
    const char * devices[] = { "auto", "cpu", "0", "0:0" };
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        params.device = devices[i];
        st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
        CHECK(st == IPG_OK, "device \"%s\": %s", devices[i], err);
        if (st == IPG_OK && i + 1 < sizeof devices / sizeof devices[0]) ipg_ctx_free(ctx);
    }
    if (st != IPG_OK) return 1;

    // Order and argument errors.
    const int w = 37, h = 23;
    uint8_t * rgb = malloc((size_t) w * h * 3);
    uint32_t s = 1;
    for (int i = 0; i < w * h * 3; i++) {
        s = s * 1664525u + 1013904223u;
        // Smooth gradients plus noise: a picture-like frame.
        rgb[i] = (uint8_t) ((i / 3 % w) * 4 + (i / 3 / w) * 3 + (s >> 28) * 4 + (i % 3) * 40);
    }
    result_t bad;
    ipg_frame_t frame = { .data = rgb, .stride = w * 3 };
    CHECK(ipg_ctx_run(ctx, &frame, bad.d, MAXD, &bad.n) == IPG_ERR_STATE && strstr(ipg_ctx_last_error(ctx), "prepare"),
          "run before prepare refused: %s", ipg_ctx_last_error(ctx));
    CHECK(ipg_ctx_prepare(ctx, 0, 10, IPG_PIXEL_RGB) == IPG_ERR_INVALID_ARG, "0x10 frame refused");
    CHECK(ipg_ctx_prepare(ctx, 10, 10, IPG_PIXEL_COUNT_) == IPG_ERR_INVALID_ARG, "unknown format refused");

    // Every format, padded stride, junk in padding and X bytes: same bytes out.
    ipg_ctx_set_stage_callback(ctx, grab_input, NULL);
    result_t ref = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
    ipg_ctx_set_stage_callback(ctx, NULL, NULL);
    CHECK(ref.n > 0, "the RGB frame gives detections at threshold 0 (%d)", ref.n);
    for (int f = 0; f < IPG_PIXEL_I420; f++) {
        const int stride = w * ipg_pixel_format_bpp((ipg_pixel_format_t) f) + 5;
        uint8_t * data = convert(rgb, w, h, (ipg_pixel_format_t) f, stride);
        result_t r = run_frame(ctx, data, w, h, (ipg_pixel_format_t) f, stride);
        CHECK(same(&r, &ref), "format %d with stride %d gives the RGB result (%d vs %d detections)", f, stride, r.n,
              ref.n);
        frame.data = data;
        frame.stride = w * ipg_pixel_format_bpp((ipg_pixel_format_t) f) - 1;
        CHECK(ipg_ctx_run(ctx, &frame, bad.d, MAXD, &bad.n) == IPG_ERR_INVALID_ARG, "stride below a row refused");
        free(data);
    }
    for (int i = 0; i < ref.n; i++) {
        const ipg_detection_t * d = &ref.d[i];
        if (!(d->x1 >= 0 && d->y1 >= 0 && d->x2 <= w && d->y2 <= h && d->x1 <= d->x2 && d->y1 <= d->y2 &&
              d->score >= 0 && d->score <= 1 && d->label >= 0 && d->label < ipg_model_num_labels(model) &&
              (i == 0 || d->score <= ref.d[i - 1].score))) {
            CHECK(false, "detection %d out of the frame, range or order", i);
            break;
        }
    }

    // Another size, then back: the same answer as the first time.
    uint8_t * big = calloc((size_t) 200 * 100 * 3, 1);
    run_frame(ctx, big, 200, 100, IPG_PIXEL_RGB, 200 * 3);
    result_t again = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
    CHECK(same(&again, &ref), "re-prepare for 200x100 and back changes nothing");
    CHECK(ipg_ctx_gflop(ctx) > 0, "conv work is counted (%.4f GFLOP)", ipg_ctx_gflop(ctx));

    // The tensor entry point: same detections in network pixels (scale s).
    result_t t = { .n = 0 };
    CHECK(g_input != NULL, "the input stage was handed out");
    if (g_input) {
        st = ipg_ctx_run_tensor(ctx, g_input, t.d, MAXD, &t.n);
        CHECK(st == IPG_OK && t.n == ref.n, "run_tensor: %d detections vs %d (%s)", t.n, ref.n,
              ipg_ctx_last_error(ctx));
        const double sc = fmin((double) in_w / w, (double) in_h / h);
        bool ok = t.n == ref.n;
        for (int i = 0; ok && i < t.n; i++)
            ok = t.d[i].label == ref.d[i].label && t.d[i].score == ref.d[i].score &&
                 fabs(fmin(t.d[i].x2 / sc, w) - ref.d[i].x2) < 1e-3 &&
                 fabs(fmin(t.d[i].y2 / sc, h) - ref.d[i].y2) < 1e-3;
        CHECK(ok, "run_tensor boxes are the frame boxes times s");
    }

    // Planar 4:2:0: odd and even sizes, each matrix and range, padded strides.
    test_planar(model, ctx, 37, 23, IPG_PIXEL_I420, IPG_YUV_BT601, 0);
    test_planar(model, ctx, 37, 23, IPG_PIXEL_NV12, IPG_YUV_BT709, 1);
    test_planar(model, ctx, 64, 48, IPG_PIXEL_I420, IPG_YUV_BT2020, 1);
    test_planar(model, ctx, 1, 1, IPG_PIXEL_NV12, IPG_YUV_BT601, 0);
    test_planar(model, ctx, 130, 66, IPG_PIXEL_NV12, IPG_YUV_BT709, 0);

    ipg_ctx_free(ctx);

    // Device limits: a largest buffer (IPG_MAX_ALLOC_BYTES, read at init)
    // under the stem's im2col scratch but over every tensor and weight splits
    // that scratch into chunks (ops.c): the same detections, bit for bit, as
    // the unsplit im2col path. IPG_CONV=pack (read at prepare) sends every
    // convolution through im2col, the stem included (by default it reads its
    // input in place: conv-direct-s2.cl).
    {
        setenv("IPG_CONV", "pack", 1);
        result_t ref_pack = { 0 };
        st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
        CHECK(st == IPG_OK, "init with IPG_CONV=pack: %s", err);
        if (st == IPG_OK) {
            ref_pack = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
            ipg_ctx_free(ctx);
        }
        setenv("IPG_MAX_ALLOC_BYTES", "262144", 1);
        g_log_needle = "im2col scratch";
        g_log_hits = 0;
        ipg_log_set(count_log, NULL);
        st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
        CHECK(st == IPG_OK, "init with IPG_MAX_ALLOC_BYTES=262144: %s", err);
        if (st == IPG_OK) {
            result_t r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
            // Only the CPU path (PoCL's default) has an im2col scratch; the
            // gpu and clblast paths (IPG_PATH, the "paths" suite) do not.
            const char * path = getenv("IPG_PATH");
            const bool cpu_path = !path || !*path || !strcmp(path, "cpu") || !strcmp(path, "auto");
            CHECK(!cpu_path || g_log_hits > 0, "a 256 KiB largest buffer splits a scratch (%d convs split)",
                  g_log_hits);
            CHECK(ref_pack.n > 0 && same(&r, &ref_pack),
                  "the split scratch gives the unsplit im2col path's detections (%d vs %d)", r.n, ref_pack.n);
            ipg_ctx_free(ctx);
        }
        ipg_log_set(NULL, NULL);
        unsetenv("IPG_MAX_ALLOC_BYTES");
        unsetenv("IPG_CONV");
    }

    // The device paths a GPU takes, forced here on whatever device runs the
    // test: the top-k over several work-groups per level (IPG_SELECT=groups)
    // and, for the two-stage model, the work-group NMS pass
    // (IPG_NMS_SCAN=group); then the CPU's choices forced: the same
    // detections, bit for bit.
    {
        static const char * const modes[][2] = { { "IPG_SELECT", "groups" },
                                                 { "IPG_NMS_SCAN", "group" },
                                                 { "IPG_SELECT", "single" },
                                                 { "IPG_NMS_SCAN", "serial" } };
        for (int m = 0; m < 4; m++) {
            setenv(modes[m][0], modes[m][1], 1);
            st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
            CHECK(st == IPG_OK, "init with %s=%s: %s", modes[m][0], modes[m][1], err);
            if (st == IPG_OK) {
                result_t r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
                CHECK(same(&r, &ref), "%s=%s gives the same detections (%d vs %d)", modes[m][0], modes[m][1], r.n,
                      ref.n);
                ipg_ctx_free(ctx);
            }
            unsetenv(modes[m][0]);
        }
    }

    // The frame upload: mapped (zero-copy) where the device shares the
    // host's memory (PoCL does), copied under IPG_UPLOAD=copy; both give the
    // same detections, packed (padded stride) and planar.
    {
        const int stride = w * 4 + 3;
        uint8_t * bgrx = convert(rgb, w, h, IPG_PIXEL_BGRX, stride);
        uint8_t * yuv = calloc((size_t) w * h * 2, 1);
        for (int i = 0; i < w * h * 2; i++) yuv[i] = rgb[i % (w * h * 3)];
        const int cw = (w + 1) / 2;   // NV12: Y rows of w + 2, then (h + 1) / 2 UV rows of 2 cw + 1
        result_t got[2][2];
        int mapped[2] = { 0, 0 };
        for (int mode = 0; mode < 2; mode++) {
            if (mode == 1) setenv("IPG_UPLOAD", "copy", 1);
            g_log_needle = "frame upload: mapped";
            g_log_hits = 0;
            ipg_log_set(count_log, NULL);
            st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
            CHECK(st == IPG_OK, "init (upload mode %d): %s", mode, err);
            if (st == IPG_OK) {
                got[mode][0] = run_frame(ctx, bgrx, w, h, IPG_PIXEL_BGRX, stride);
                CHECK(ipg_ctx_prepare_yuv(ctx, w, h, IPG_PIXEL_NV12, IPG_YUV_BT601, 0) == IPG_OK, "prepare NV12: %s",
                      ipg_ctx_last_error(ctx));
                ipg_frame_t f = { .planes = { yuv, yuv + (size_t) (w + 2) * h }, .strides = { w + 2, 2 * cw + 1 } };
                CHECK(ipg_ctx_run(ctx, &f, got[mode][1].d, MAXD, &got[mode][1].n) == IPG_OK, "run NV12: %s",
                      ipg_ctx_last_error(ctx));
                ipg_ctx_free(ctx);
            }
            mapped[mode] = g_log_hits;
            ipg_log_set(NULL, NULL);
            unsetenv("IPG_UPLOAD");
        }
        CHECK(mapped[0] > 0 && mapped[1] == 0,
              "the upload is mapped by default here and copied under "
              "IPG_UPLOAD=copy (%d, %d)",
              mapped[0], mapped[1]);
        CHECK(same(&got[0][0], &ref), "mapped upload, BGRx with a padded stride: the RGB result");
        CHECK(same(&got[0][0], &got[1][0]), "mapped and copied uploads agree (BGRx: %d vs %d detections)", got[0][0].n,
              got[1][0].n);
        CHECK(same(&got[0][1], &got[1][1]) && got[0][1].n > 0,
              "mapped and copied uploads agree (NV12: %d vs %d detections)", got[0][1].n, got[1][1].n);
        free(bgrx);
        free(yuv);
    }

    // Reporting threshold: exactly the reference detections with score >= 0.5,
    // whether set at init or changed later on a prepared context; and an NMS
    // threshold changed later equals one set at init.
    params.device = NULL;
    params.score_threshold = 0.5f;
    st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
    CHECK(st == IPG_OK, "init with threshold 0.5: %s", err);
    if (st == IPG_OK) {
        result_t r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
        int n_ref = 0;
        while (n_ref < ref.n && ref.d[n_ref].score >= 0.5f) n_ref++;
        CHECK(r.n == n_ref && memcmp(r.d, ref.d, (size_t) r.n * sizeof r.d[0]) == 0,
              "threshold 0.5 keeps the %d reference detections >= 0.5 (got %d)", n_ref, r.n);
        // Steady state: frames and threshold changes create no OpenCL object
        // (no buffer, kernel or program build after prepare).
        const uint64_t made = ipg_ctx_cl_objects_created(ctx);
        ipg_frame_t steady = { .data = rgb, .stride = w * 3 };
        result_t steady_r;
        int ran = 0;
        for (int i = 0; i < 3; i++) ran += ipg_ctx_run(ctx, &steady, steady_r.d, MAXD, &steady_r.n) == IPG_OK;
        ran += ipg_ctx_set_thresholds(ctx, 0.3f, -1.0f, 0) == IPG_OK;
        ran += ipg_ctx_run(ctx, &steady, steady_r.d, MAXD, &steady_r.n) == IPG_OK;
        CHECK(ran == 5 && made > 0 && ipg_ctx_cl_objects_created(ctx) == made,
              "running frames creates no OpenCL objects (%llu after prepare, %llu after 4 runs)",
              (unsigned long long) made, (unsigned long long) ipg_ctx_cl_objects_created(ctx));
        CHECK(ipg_ctx_set_thresholds(ctx, 0.0f, -1.0f, 0) == IPG_OK, "set_thresholds back to 0");
        r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
        CHECK(same(&r, &ref), "set_thresholds(0) on a prepared context gives the threshold-0 result (%d vs %d)", r.n,
              ref.n);
        CHECK(ipg_ctx_set_thresholds(ctx, 0.5f, -1.0f, 0) == IPG_OK, "set_thresholds to 0.5");
        r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
        CHECK(r.n == n_ref && memcmp(r.d, ref.d, (size_t) r.n * sizeof r.d[0]) == 0,
              "set_thresholds(0.5) keeps the %d reference detections >= 0.5 (got %d)", n_ref, r.n);
        CHECK(ipg_ctx_set_thresholds(ctx, 1.5f, -1.0f, 0) == IPG_ERR_INVALID_ARG, "threshold 1.5 refused");
        CHECK(ipg_ctx_set_thresholds(ctx, 0.0f, 0.2f, 0) == IPG_OK, "set NMS 0.2");
        result_t nms_later = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
        ipg_ctx_free(ctx);
        params.score_threshold = 0.0f;
        params.nms_threshold = 0.2f;
        st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
        if (st == IPG_OK) {
            result_t nms_init = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
            CHECK(same(&nms_later, &nms_init) && nms_init.n <= ref.n,
                  "NMS 0.2 set later equals NMS 0.2 at init (%d vs %d)", nms_later.n, nms_init.n);
            ipg_ctx_free(ctx);
        }
        params.nms_threshold = -1.0f;
    }
    // The class filter: exactly the unfiltered run's detections of those
    // classes. At a threshold that keeps half of the reference, the cap
    // plays no part, so the two runs are comparable one for one.
    if (ref.n >= 2) {
        ipg_ctx_params_t cp = ipg_ctx_params_default();
        cp.score_threshold = ref.d[ref.n / 2].score;
        st = ipg_ctx_init(model, &cp, &ctx, err, sizeof err);
        CHECK(st == IPG_OK, "init for the class filter: %s", err);
        result_t all = { .n = 0 };
        if (st == IPG_OK) {
            all = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
            ipg_ctx_free(ctx);
        }
        CHECK(all.n > 0 && all.n < ref.n, "test data: %d of %d detections at threshold %g", all.n, ref.n,
              cp.score_threshold);
        if (all.n > 0) {
            const int32_t a = all.d[0].label;
            int32_t b = a;
            for (int i = 0; i < all.n && b == a; i++) b = all.d[i].label;
            char classes[256];
            snprintf(classes, sizeof classes, " %s ,%s\t", ipg_model_label(model, b),
                     ipg_model_label(model, a));   // blanks trimmed
            result_t want = { .n = 0 };
            for (int i = 0; i < all.n; i++)
                if (all.d[i].label == a || all.d[i].label == b) want.d[want.n++] = all.d[i];
            cp.classes = classes;
            st = ipg_ctx_init(model, &cp, &ctx, err, sizeof err);
            memset(classes, 0, sizeof classes);   // the context keeps its own copy
            CHECK(st == IPG_OK, "init with classes: %s", err);
            if (st == IPG_OK) {
                result_t r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
                CHECK(same(&r, &want), "classes \"%s,%s\" give the unfiltered run's %d detections of them (got %d)",
                      ipg_model_label(model, b), ipg_model_label(model, a), want.n, r.n);
                ipg_ctx_free(ctx);
            }
            const char * all_classes[] = { "", " , ,\t" };   // empty and blank-only: no filter
            for (int32_t k = 0; k < 2; k++) {
                cp.classes = all_classes[k];
                st = ipg_ctx_init(model, &cp, &ctx, err, sizeof err);
                if (st == IPG_OK) {
                    result_t r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
                    CHECK(same(&r, &all), "classes \"%s\" reports every class", all_classes[k]);
                    ipg_ctx_free(ctx);
                }
            }
        }
        cp.classes = "no-such-class";
        ctx = NULL;
        st = ipg_ctx_init(model, &cp, &ctx, err, sizeof err);
        char want_msg[512];
        snprintf(want_msg, sizeof want_msg, "unknown class \"no-such-class\": the model's labels are %s,",
                 ipg_model_label(model, 0));
        CHECK(st == IPG_ERR_INVALID_ARG && ctx == NULL && strncmp(err, want_msg, strlen(want_msg)) == 0,
              "an unknown class is refused with the labels: %s", err);
    }

    // max_detections caps the count; an input size override runs.
    params.score_threshold = 0.0f;
    params.max_detections = 3;
    params.input_width = in_w + 32;
    params.input_height = in_h;
    st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
    CHECK(st == IPG_OK, "init with input %dx%d: %s", in_w + 32, in_h, err);
    if (st == IPG_OK) {
        result_t r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
        CHECK(r.n == 3, "max_detections 3 gives 3 (%d)", r.n);
        ipg_ctx_free(ctx);
    }
    // Kernel paths (device_path): an unknown name is refused with the name;
    // each path reports itself and gives the reference frame's detections.
    params = ipg_ctx_params_default();
    params.score_threshold = 0.0f;
    params.device_path = "fast";
    st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
    CHECK(st == IPG_ERR_INVALID_ARG && ctx == NULL && strstr(err, "\"fast\""), "device_path \"fast\" refused: %s", err);
    static const char * paths[] = { "cpu", "gpu", "clblast", "auto" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        params.device_path = paths[i];
        st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
        CHECK(st == IPG_OK, "device_path \"%s\": %s", paths[i], err);
        if (st != IPG_OK) continue;
        CHECK(i == 3 || strcmp(ipg_ctx_device_path(ctx), paths[i]) == 0, "device_path \"%s\" runs \"%s\"", paths[i],
              ipg_ctx_device_path(ctx));
        result_t r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
        CHECK(close_to(&r, &ref), "device_path \"%s\" gives the reference's %d detections (got %d)", paths[i], ref.n,
              r.n);
        ipg_ctx_free(ctx);
    }
    // Released host weights: a context made before runs as before; another
    // one is refused with a sentence saying why.
    params = ipg_ctx_params_default();
    params.score_threshold = 0.0f;
    st = ipg_ctx_init(model, &params, &ctx, err, sizeof err);
    CHECK(st == IPG_OK, "init before releasing the weights: %s", err);
    ipg_model_release_weights(model);
    ipg_model_release_weights(model);   // twice is harmless
    if (st == IPG_OK) {
        result_t r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
        CHECK(close_to(&r, &ref), "after releasing the host weights: the reference's %d detections (got %d)", ref.n,
              r.n);
        ipg_ctx_free(ctx);
    }
    ipg_ctx_t * late = NULL;
    st = ipg_ctx_init(model, &params, &late, err, sizeof err);
    CHECK(st == IPG_ERR_INVALID_ARG && late == NULL && strstr(err, "weights were released"),
          "a context after releasing the weights refused: %d %s", (int) st, err);
    CHECK(ipg_model_num_labels(model) > 0 && ipg_model_description(model)[0], "labels and description stay");
    // Released during the upload (ipg_model_release_weights_on_upload, as the
    // command-line tool and the elements' instances do): a context that
    // fails before the upload takes nothing; the one that uploads runs as
    // before; another is refused as above.
    ipg_model_t * once = NULL;
    st = ipg_model_load_file(argv[1], &once, err, sizeof err);
    CHECK(st == IPG_OK, "the model again: %s", err);
    if (st == IPG_OK) {
        ipg_model_release_weights_on_upload(once);
        params.device = "no-such-device";
        CHECK(ipg_ctx_init(once, &params, &ctx, err, sizeof err) == IPG_ERR_NO_DEVICE,
              "release on upload: an unknown device refused first");
        params.device = NULL;
        st = ipg_ctx_init(once, &params, &ctx, err, sizeof err);
        CHECK(st == IPG_OK, "release on upload: the first context: %s", err);
        if (st == IPG_OK) {
            result_t r = run_frame(ctx, rgb, w, h, IPG_PIXEL_RGB, w * 3);
            CHECK(close_to(&r, &ref), "release on upload: the reference's %d detections (got %d)", ref.n, r.n);
            ipg_ctx_free(ctx);
        }
        st = ipg_ctx_init(once, &params, &late, err, sizeof err);
        CHECK(st == IPG_ERR_INVALID_ARG && late == NULL && strstr(err, "weights were released"),
              "release on upload: a second context refused: %d %s", (int) st, err);
        ipg_model_release_weights(once);   // after the upload: harmless
        ipg_model_free(once);
    }
    free(big);
    free(rgb);
    free(g_input);
    ipg_model_free(model);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
