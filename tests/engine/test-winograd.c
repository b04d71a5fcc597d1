// SPDX-License-Identifier: LGPL-2.1-or-later
// test-winograd.c: the Winograd F(4x4, 3x3) convolution (winograd.c,
// kernels/winograd.cl) against a float64 host reference and against the
// direct 3x3 kernel (the plain path), on random data: odd sizes (H, W not
// multiples of the 4x4 tile, odd channel counts, partial MR tiles, 16-tile
// blocks that wrap a tile row or an image, rows wider than one block), a
// batch, residual and ReLU; then when ipg_op_conv takes it (the thresholds,
// IPG_CONV=direct's plan flag, IPG_WINOGRAD=0 at upload). Prints the
// measured error of both paths. `--small`: tiny shapes for oclgrind.
#include "error.h"
#include "ops.h"
#include "winograd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-check.h"

static ipg_cl_t g_cl;
static char g_err[IPG_ERR_LEN];

static uint32_t g_rng = 777;
static float frand(void) {   // uniform in [-1, 1)
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return (float) (g_rng >> 8) / (float) (1u << 23) - 1.0f;
}

// The tolerance against float64, relative to the largest output: the
// parity contract allows 1e-4 per stage; one conv is held to a tenth of it.
#define TOL 1e-5

// out = act(conv3x3(in) + b [+ res]) in double, one image.
static void conv_ref(const float * in, int C, int H, int W, const ipg_conv_host_t * cv, const float * res, bool relu,
                     double * out) {
    for (int o = 0; o < cv->cout; o++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                double acc = cv->b[o];
                for (int c = 0; c < C; c++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            const int iy = y - 1 + ky, ix = x - 1 + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            acc += (double) cv->w[((size_t) o * C + c) * 9 + ky * 3 + kx] *
                                   in[((size_t) c * H + iy) * W + ix];
                        }
                const size_t i = ((size_t) o * H + y) * W + x;
                if (res) acc += res[i];
                if (relu && acc < 0) acc = 0;
                out[i] = acc;
            }
}

// max|got - want| / max(max|want|, 1e-3)
static double rel_error(const float * got, const double * want, size_t n) {
    double max_diff = 0, max_ref = 1e-3;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double) got[i] - want[i]);
        if (!(d <= max_diff)) max_diff = d;   // NaN counts as the worst
        if (fabs(want[i]) > max_ref) max_ref = fabs(want[i]);
    }
    return max_diff / max_ref;
}

static bool plan_has(const ipg_plan_t * p, const char * kernel) {
    for (int32_t i = 0; i < p->n_steps; i++)
        if (strcmp(p->steps[i].kernel_name, kernel) == 0) return true;
    return false;
}

// The two Winograd forms (one fused launch; three launches), each forced.
typedef enum { PATH_FUSED, PATH_SPLIT, PATH_DIRECT, PATH_DISPATCH } path_t;

// Runs the conv through one path; returns the output (B images) or NULL.
static float * run_path(path_t path, const ipg_conv_dev_t * dev, int batch, int cin, int h, int w, const float * in,
                        const float * res, bool relu, bool * used_winograd) {
    ipg_plan_t p;
    memset(&p, 0, sizeof p);
    p.cl = &g_cl;
    p.err = g_err;
    p.err_size = sizeof g_err;
    p.batch = batch;
    p.no_winograd = path == PATH_DIRECT;
    p.winograd_form = path == PATH_FUSED   ? IPG_WINOGRAD_FORM_FUSED
                      : path == PATH_SPLIT ? IPG_WINOGRAD_FORM_SPLIT
                                           : IPG_WINOGRAD_FORM_AUTO;
    ipg_tensor_t tin = { 0 }, tres = { 0 }, tout = { 0 };
    ipg_status_t st = ipg_plan_tensor(&p, &tin, cin, h, w);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tres, dev->cout, h, w);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tout, dev->cout, h, w);
    if (st == IPG_OK) {
        if (path == PATH_FUSED || path == PATH_SPLIT) {
            bool planned = false;
            st = ipg_op_conv_winograd(&p, dev, &tin, res ? &tres : NULL, relu, &tout, &planned);
            CHECK(st != IPG_OK || planned, "winograd not planned for %dx%d", w, h);
            const char * kernel = path == PATH_FUSED ? "ipg_winograd_fused" : "ipg_winograd_gemm";
            CHECK(st != IPG_OK || plan_has(&p, kernel), "the forced form runs %s", kernel);
        } else {
            st = ipg_op_conv(&p, dev, &tin, res ? &tres : NULL, relu, &tout);
        }
    }
    if (st == IPG_OK) st = ipg_plan_finalize(&p);
    CHECK(st == IPG_OK, "plan: %s", g_err);
    float * got = NULL;
    if (st == IPG_OK) {
        const size_t nin = (size_t) batch * cin * h * w, nout = (size_t) batch * dev->cout * h * w;
        cl_int rc = clEnqueueWriteBuffer(g_cl.queue, tin.buf, CL_TRUE, 0, nin * 4, in, 0, NULL, NULL);
        if (rc == CL_SUCCESS && res)
            rc = clEnqueueWriteBuffer(g_cl.queue, tres.buf, CL_TRUE, 0, nout * 4, res, 0, NULL, NULL);
        CHECK(rc == CL_SUCCESS, "upload: %s", ipg_cl_error_name(rc));
        st = ipg_plan_run(&p);
        CHECK(st == IPG_OK, "run: %s", g_err);
        got = malloc(nout * sizeof(float));
        rc = clEnqueueReadBuffer(g_cl.queue, tout.buf, CL_TRUE, 0, nout * 4, got, 0, NULL, NULL);
        CHECK(rc == CL_SUCCESS, "download: %s", ipg_cl_error_name(rc));
        if (used_winograd) *used_winograd = plan_has(&p, "ipg_winograd_gemm") || plan_has(&p, "ipg_winograd_fused");
    }
    ipg_plan_free(&p);
    return got;
}

static double g_worst_winograd = 0, g_worst_direct = 0, g_worst_u = 0;

// One shape: Winograd and direct against float64. `scale` multiplies the
// input (activations after ReLU are non-negative and larger than 1: nonneg).
static void test_shape(int cin, int cout, int h, int w, int batch, bool use_res, bool relu, bool nonneg) {
    ipg_conv_host_t cv = { .name = "test", .cout = cout, .cin = cin, .kh = 3, .kw = 3, .stride = 1, .pad = 1 };
    const size_t nw = (size_t) cout * cin * 9, nin = (size_t) cin * h * w, nout = (size_t) cout * h * w;
    cv.w = malloc(nw * sizeof(float));
    cv.b = malloc((size_t) cout * sizeof(float));
    float * in = malloc(batch * nin * sizeof(float));
    float * res = malloc(batch * nout * sizeof(float));
    double * want = malloc(batch * nout * sizeof(double));
    // He-like weight scale, so outputs stay O(1) whatever cin is.
    const float ws = sqrtf(2.0f / (9.0f * cin));
    for (size_t i = 0; i < nw; i++) cv.w[i] = frand() * ws;
    for (int i = 0; i < cout; i++) cv.b[i] = frand() * 0.1f;
    for (size_t i = 0; i < batch * nin; i++) in[i] = nonneg ? 4.0f * fabsf(frand()) : frand();
    for (size_t i = 0; i < batch * nout; i++) res[i] = frand();
    for (int b = 0; b < batch; b++)
        conv_ref(in + b * nin, cin, h, w, &cv, use_res ? res + b * nout : NULL, relu, want + b * nout);

    ipg_conv_dev_t dev;
    ipg_status_t st = ipg_conv_upload(&g_cl, &cv, 0, cin, true, &dev, g_err, sizeof g_err);
    CHECK(st == IPG_OK, "upload: %s", g_err);
    if (st == IPG_OK && !dev.w_winograd) {
        // Below the upload's channel threshold: the test still checks the kernels.
        dev.w_winograd = ipg_winograd_upload(&g_cl, &cv, 0, cin, g_err, sizeof g_err);
        CHECK(dev.w_winograd != NULL, "winograd upload: %s", g_err);
    }
    if (st == IPG_OK && dev.w_winograd) {
        char what[160];
        snprintf(what, sizeof what, "conv3x3 %d -> %d, %dx%d, batch %d, res %d, relu %d%s", cin, cout, h, w, batch,
                 use_res, relu, nonneg ? ", inputs in [0, 4)" : "");
        // A conv that keeps only U (ipg_winograd_only) gets a second upload
        // with its packed weights (IPG_CONV=pack) for the plain direct kernel.
        ipg_conv_dev_t plain = { 0 };
        if (!dev.w_packed) {
            setenv("IPG_CONV", "pack", 1);
            CHECK(ipg_conv_upload(&g_cl, &cv, 0, cin, true, &plain, g_err, sizeof g_err) == IPG_OK, "upload: %s",
                  g_err);
            unsetenv("IPG_CONV");
        }
        const ipg_conv_dev_t * with_packed = dev.w_packed ? &dev : &plain;
        float * gd = with_packed->w_packed
                         ? run_path(PATH_DIRECT, with_packed, batch, cin, h, w, in, use_res ? res : NULL, relu, NULL)
                         : NULL;
        // The direct kernel from U (ipg_conv3x3_direct_u) against float64
        // and the plain direct kernel.
        {
            ipg_conv_dev_t u_only = *with_packed;
            u_only.w_packed = NULL;
            float * gu = run_path(PATH_DIRECT, &u_only, batch, cin, h, w, in, use_res ? res : NULL, relu, NULL);
            if (gu && gd) {
                const double eu = rel_error(gu, want, batch * nout);
                double max_diff = 0, max_ref = 1e-3;
                for (size_t i = 0; i < batch * nout; i++) {
                    const double d = fabs((double) gu[i] - gd[i]);
                    if (!(d <= max_diff)) max_diff = d;
                    if (fabs(gd[i]) > max_ref) max_ref = fabs(gd[i]);
                }
                printf("%s: direct from U %.2e (vs float64), %.2e vs the direct kernel\n", what, eu,
                       max_diff / max_ref);
                CHECK(eu <= TOL, "%s: direct-from-U error %.3g over %.1g", what, eu, TOL);
                CHECK(max_diff <= 2 * TOL * max_ref, "%s: direct from U vs direct %.3g", what, max_diff / max_ref);
                if (eu > g_worst_u) g_worst_u = eu;
            }
            free(gu);
        }
        ipg_conv_dev_free(&plain);
        for (int form = 0; form < 2; form++) {
            const path_t path = form ? PATH_SPLIT : PATH_FUSED;
            float * gw = run_path(path, &dev, batch, cin, h, w, in, use_res ? res : NULL, relu, NULL);
            if (gw && gd) {
                const double ew = rel_error(gw, want, batch * nout), ed = rel_error(gd, want, batch * nout);
                printf("%s: winograd (%s) %.2e, direct %.2e (max |error| / max |output| vs float64)\n", what,
                       form ? "three launches" : "fused", ew, ed);
                CHECK(ew <= TOL, "%s: winograd error %.3g over %.1g", what, ew, TOL);
                CHECK(ed <= TOL, "%s: direct error %.3g over %.1g", what, ed, TOL);
                if (ew > g_worst_winograd) g_worst_winograd = ew;
                if (ed > g_worst_direct) g_worst_direct = ed;
                // The two float paths against each other, as the parity suite sees them.
                double max_diff = 0, max_ref = 1e-3;
                for (size_t i = 0; i < batch * nout; i++) {
                    const double d = fabs((double) gw[i] - gd[i]);
                    if (!(d <= max_diff)) max_diff = d;
                    if (fabs(gd[i]) > max_ref) max_ref = fabs(gd[i]);
                }
                CHECK(max_diff <= 2 * TOL * max_ref, "%s: winograd vs direct %.3g", what, max_diff / max_ref);
            }
            free(gw);
        }
        free(gd);
    }
    ipg_conv_dev_free(&dev);
    free(cv.w);
    free(cv.b);
    free(in);
    free(res);
    free(want);
}

// Whether ipg_op_conv plans this conv at h x w with `kernel`.
static bool dispatched_kernel(const ipg_conv_dev_t * dev, int cin, int h, int w, const char * kernel) {
    ipg_plan_t p;
    memset(&p, 0, sizeof p);
    p.cl = &g_cl;
    p.err = g_err;
    p.err_size = sizeof g_err;
    ipg_tensor_t tin = { 0 }, tout = { 0 };
    ipg_status_t st = ipg_plan_tensor(&p, &tin, cin, h, w);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tout, dev->cout, h, w);
    if (st == IPG_OK) st = ipg_op_conv(&p, dev, &tin, NULL, false, &tout);
    CHECK(st == IPG_OK, "plan: %s", g_err);
    const bool has = st == IPG_OK && plan_has(&p, kernel);
    ipg_plan_free(&p);
    return has;
}

// Which Winograd form ipg_op_conv runs this conv through at h x w: NULL
// (a direct kernel), "fused" or "three launches".
static const char * dispatched(const ipg_conv_dev_t * dev, int cin, int h, int w) {
    if (dispatched_kernel(dev, cin, h, w, "ipg_winograd_fused")) return "fused";
    if (dispatched_kernel(dev, cin, h, w, "ipg_winograd_gemm")) return "three launches";
    return NULL;
}

static bool same(const char * a, const char * b) { return a == b || (a && b && strcmp(a, b) == 0); }

// Which convs ipg_op_conv sends to Winograd, and the two switches.
static void test_dispatch(void) {
    ipg_conv_host_t cv = { .name = "dispatch", .cout = 72, .cin = 64, .kh = 3, .kw = 3, .stride = 1, .pad = 1 };
    cv.w = calloc((size_t) 72 * 64 * 9, sizeof(float));
    cv.b = calloc(72, sizeof(float));
    float * in = calloc((size_t) 64 * 44 * 44, sizeof(float));   // the direct run below is 44x44
    ipg_conv_dev_t dev;
    CHECK(ipg_conv_upload(&g_cl, &cv, 0, 64, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
    CHECK(dev.w_winograd != NULL, "a 64 -> 72 3x3 conv gets Winograd weights");
    CHECK(dev.w_packed != NULL, "64 -> 72 (C * M under 8192) keeps its packed weights too");
    CHECK(same(dispatched(&dev, 64, 44, 44), "fused"), "64 -> 72 at 44x44 (121 tiles, 8 blocks): fused Winograd");
    CHECK(same(dispatched(&dev, 64, 40, 40), NULL), "64 -> 72 at 40x40 (100 tiles, 7 blocks) stays direct");
    bool used = true;
    free(run_path(PATH_DIRECT, &dev, 1, 64, 44, 44, in, NULL, false, &used));
    CHECK(!used, "no_winograd (IPG_CONV=direct) keeps the direct kernel");
    ipg_conv_dev_free(&dev);

    // 128 channels: the three launches from 8 tiles with the packed weights
    // as well (IPG_CONV=pack at upload), from 4 with U only.
    ipg_conv_host_t wide = { .name = "dispatch", .cout = 128, .cin = 128, .kh = 3, .kw = 3, .stride = 1, .pad = 1 };
    wide.w = calloc((size_t) 128 * 128 * 9, sizeof(float));
    wide.b = calloc(128, sizeof(float));
    setenv("IPG_CONV", "pack", 1);
    CHECK(ipg_conv_upload(&g_cl, &wide, 0, 128, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
    unsetenv("IPG_CONV");
    CHECK(dev.w_packed != NULL, "IPG_CONV=pack: packed weights");
    CHECK(same(dispatched(&dev, 128, 16, 16), "three launches"), "128 -> 128 at 16x16 (16 tiles): three launches");
    CHECK(same(dispatched(&dev, 128, 12, 12), "three launches"), "128 -> 128 at 12x12 (9 tiles): three launches");
    CHECK(same(dispatched(&dev, 128, 8, 8), NULL) && dispatched_kernel(&dev, 128, 8, 8, "ipg_conv3x3_direct"),
          "128 -> 128 at 8x8 (4 tiles) with packed weights: the direct kernel");
    CHECK(same(dispatched(&dev, 128, 44, 44), "fused"), "128 -> 128 at 44x44 (8 blocks): fused");
    ipg_conv_dev_free(&dev);
    CHECK(ipg_conv_upload(&g_cl, &wide, 0, 128, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
    CHECK(dev.w_packed == NULL, "128 -> 128: Winograd weights only");
    CHECK(same(dispatched(&dev, 128, 8, 8), "three launches"), "128 -> 128 at 8x8 (4 tiles), U only: three launches");
    CHECK(same(dispatched(&dev, 128, 3, 7), NULL) && dispatched_kernel(&dev, 128, 3, 7, "ipg_conv3x3_direct_u"),
          "128 -> 128 at 3x7 (2 tiles), U only: the direct kernel from U");
    ipg_conv_dev_free(&dev);
    free(wide.w);
    free(wide.b);

    // 256 channels: the weights outgrow a core's cache, the three launches
    // win even with many blocks.
    ipg_conv_host_t big = { .name = "dispatch", .cout = 256, .cin = 256, .kh = 3, .kw = 3, .stride = 1, .pad = 1 };
    big.w = calloc((size_t) 256 * 256 * 9, sizeof(float));
    big.b = calloc(256, sizeof(float));
    CHECK(ipg_conv_upload(&g_cl, &big, 0, 256, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
    CHECK(same(dispatched(&dev, 256, 64, 64), "three launches"), "256 -> 256 at 64x64: three launches");
    // It keeps only U (ipg_winograd_only): a small level runs the direct
    // kernel from U; IPG_CONV=pack at upload keeps the packed weights.
    CHECK(dev.w_packed == NULL && dev.w_winograd != NULL, "256 -> 256: Winograd weights only");
    CHECK(same(dispatched(&dev, 256, 8, 8), "three launches"), "256 -> 256 at 8x8 (4 tiles): three launches");
    CHECK(same(dispatched(&dev, 256, 3, 4), NULL) && dispatched_kernel(&dev, 256, 3, 4, "ipg_conv3x3_direct_u"),
          "256 -> 256 at 3x4 (1 tile): the direct kernel from U");
    ipg_conv_dev_free(&dev);
    setenv("IPG_CONV", "pack", 1);
    CHECK(ipg_conv_upload(&g_cl, &big, 0, 256, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
    CHECK(dev.w_packed != NULL && dev.w_winograd != NULL, "IPG_CONV=pack: 256 -> 256 keeps its packed weights");
    ipg_conv_dev_free(&dev);
    unsetenv("IPG_CONV");
    free(big.w);
    free(big.b);

    ipg_conv_host_t few = cv;
    few.cin = 24;
    CHECK(ipg_conv_upload(&g_cl, &few, 0, 24, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
    CHECK(dev.w_winograd == NULL, "24 input channels: direct only");
    ipg_conv_dev_free(&dev);

    setenv("IPG_WINOGRAD", "0", 1);
    CHECK(ipg_conv_upload(&g_cl, &cv, 0, 64, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
    CHECK(dev.w_winograd == NULL, "IPG_WINOGRAD=0: no Winograd weights");
    ipg_conv_dev_free(&dev);
    unsetenv("IPG_WINOGRAD");

    ipg_conv_host_t narrow = cv;
    narrow.cout = 16;
    CHECK(ipg_conv_upload(&g_cl, &narrow, 0, 64, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
    CHECK(dev.w_winograd == NULL, "16 output channels: direct only");
    ipg_conv_dev_free(&dev);
    ipg_conv_host_t strided = cv;
    strided.stride = 2;
    CHECK(ipg_conv_upload(&g_cl, &strided, 0, 64, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
    CHECK(dev.w_winograd == NULL, "stride 2: no Winograd weights");
    ipg_conv_dev_free(&dev);

    // The scope: the backbone and the IPG modules only with IPG_WINOGRAD=all.
    static const char * const backbone[] = { "backbone.body.layer1.0.conv1", "backbone.guidance.t3.block.conv2" };
    for (int i = 0; i < 2; i++) {
        ipg_conv_host_t b = cv;
        b.name = (char *) backbone[i];
        CHECK(ipg_conv_upload(&g_cl, &b, 0, 64, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
        CHECK(dev.w_winograd == NULL, "%s: direct by default", backbone[i]);
        ipg_conv_dev_free(&dev);
        setenv("IPG_WINOGRAD", "all", 1);
        CHECK(ipg_conv_upload(&g_cl, &b, 0, 64, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
        CHECK(dev.w_winograd != NULL, "%s: Winograd with IPG_WINOGRAD=all", backbone[i]);
        ipg_conv_dev_free(&dev);
        unsetenv("IPG_WINOGRAD");
    }
    static const char * const neck[] = { "backbone.fpn.layer_blocks.0.0", "head.classification_head.conv.0.0",
                                         "rpn.head.conv.0.0" };
    for (int i = 0; i < 3; i++) {
        ipg_conv_host_t n = cv;
        n.name = (char *) neck[i];
        CHECK(ipg_conv_upload(&g_cl, &n, 0, 64, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
        CHECK(dev.w_winograd != NULL, "%s: Winograd by default", neck[i]);
        ipg_conv_dev_free(&dev);
    }
    free(cv.w);
    free(cv.b);
    free(in);
}

int main(int argc, char ** argv) {
    const bool small = argc > 1 && strcmp(argv[1], "--small") == 0;
    if (ipg_cl_init(&g_cl, getenv("IPG_TEST_DEVICE"), false, g_err, sizeof g_err) != IPG_OK) {
        printf("FAIL: no OpenCL device: %s\n", g_err);
        return 1;
    }
    printf("device: %s\n", g_cl.device_name);
    if (small) {
        // 1x1 and 5x6 images (one partial tile; 2x2 tiles), 3 and 17 channels,
        // a batch of 2 whose 8 tiles share one block; a 5x66 image (2 rows of
        // 17 tiles): its first block lies in one tile row (the vector row
        // loads and stores), its second wraps into the next row, its third
        // holds the last 2 tiles.
        test_shape(3, 5, 1, 1, 1, true, true, false);
        test_shape(17, 3, 5, 6, 2, true, false, false);
        test_shape(3, 5, 5, 66, 1, true, true, false);
    } else {
        // (cin, cout, h, w, batch)
        static const int shapes[][5] = {
            { 32, 32, 16, 16, 1 },    // whole tiles; each 16-tile block wraps 4 tile rows
            { 33, 35, 29, 23, 1 },    // partial tiles on both edges, odd channels, partial MR tile
            { 40, 37, 17, 70, 1 },    // 18 tiles a row: one full block on the row, then a wrapping one
            { 24, 48, 9, 130, 1 },    // 33 tiles a row: two full blocks, the last partial 2 columns
            { 64, 64, 64, 64, 1 },    // the demo model's P3 head conv: one block per tile row
            { 5, 17, 3, 3, 1 },       // one tile, mostly padding
            { 33, 34, 13, 9, 3 },     // batch: blocks straddle images
            { 17, 19, 1, 129, 2 },    // one output row; blocks end T mid-row
            { 129, 21, 12, 12, 1 },   // long channel loop
        };
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            const int * s = shapes[i];
            test_shape(s[0], s[1], s[2], s[3], s[4], false, false, false);
            test_shape(s[0], s[1], s[2], s[3], s[4], true, true, false);
        }
        // Post-ReLU activations (non-negative, larger): the transforms'
        // cancellation is at its worst when inputs share a sign.
        test_shape(64, 64, 32, 32, 1, false, false, true);
        test_shape(256, 256, 16, 16, 1, true, true, true);
        test_shape(512, 64, 8, 8, 1, false, false, true);
        test_dispatch();
    }
    printf("worst error vs float64: winograd %.2e, direct %.2e, direct from U %.2e\n", g_worst_winograd, g_worst_direct,
           g_worst_u);
    ipg_cl_free(&g_cl);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
