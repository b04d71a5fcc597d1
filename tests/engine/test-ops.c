// SPDX-License-Identifier: LGPL-2.1-or-later
// test-ops.c: every kernel of kernels/ against a naive host reference, on
// sizes that hit the remainders of the register tiles (1x1, 3x5, 13 and 24
// channels, strides 1 and 2), plus anchors against torchvision's numbers and
// the host NMS on hand-made cases, and the RetinaNet top-k (ties across the
// cut too), and the plan's argument cap. The convolutions run on every
// kernel path (kernel-path.c: cpu, gpu with several work-group shapes,
// clblast), each against the same host reference. Runs on whatever OpenCL device
// IPG_TEST_DEVICE names (default: auto). `--small`: a CI-sized subset on
// tiny shapes, for oclgrind (~1000x slower; the `oclgrind` suite).
#include "clblast-path.h"
#include "kernel-path.h"
#include "log.h"
#include "nms.h"
#include "ops.h"
#include "post.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-check.h"

static ipg_cl_t g_cl;
static char g_err[IPG_ERR_LEN];

static uint32_t g_rng = 12345;
static float frand(void) {   // uniform in [-1, 1)
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return (float) (g_rng >> 8) / (float) (1u << 23) - 1.0f;
}

static void fill(float * x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = frand();
}

// The batch of the plans the tests make (plan_init), and so of their tensors.
static int g_batch = 1;
// The GPU path's work-group in the labels of the conv tests.
static char g_tile_label[64] = "";
// The path ipg_cl_init chose (the table, or IPG_PATH).
static ipg_kernel_path_t g_default_path;

// Chooses the kernel path for the tests that follow, as a context's
// device-path parameter would (each test uploads its weights for it).
static bool use_path(ipg_kernel_path_t path) {
    const ipg_status_t st = ipg_kernel_path_select(&g_cl, ipg_kernel_path_name(path), g_err, sizeof g_err);
    CHECK(st == IPG_OK && g_cl.path == path, "select the %s path: %s", ipg_kernel_path_name(path), g_err);
    g_tile_label[0] = '\0';
    if (path == IPG_PATH_GPU)
        snprintf(g_tile_label, sizeof g_tile_label, ", work-group %zu x %zu", g_cl.tile_lws[0], g_cl.tile_lws[1]);
    return st == IPG_OK;
}

// IPG_TEST_SKIP_PATHS (comma-separated path names): paths the small subset
// leaves out. oclgrind's --uninitialized plugin aborts in CLBlast's own
// Xconvgemm kernel (an LLVM `freeze` it cannot follow), so that run skips
// clblast (meson.build, oclgrind-ops-uninitialized).
static bool skip_path(ipg_kernel_path_t path) {
    const char * skip = getenv("IPG_TEST_SKIP_PATHS");
    if (!skip) return false;
    const char * name = ipg_kernel_path_name(path);
    const size_t len = strlen(name);
    for (const char * at = skip; (at = strstr(at, name)) != NULL; at += len)
        if ((at == skip || at[-1] == ',') && (at[len] == '\0' || at[len] == ',')) return true;
    return false;
}

// The GPU path with a work-group of lx x ly (capped by the device).
static bool use_tile(size_t lx, size_t ly) {
    const ipg_status_t st = ipg_kernel_path_set_tile(&g_cl, lx, ly, g_err, sizeof g_err);
    CHECK(st == IPG_OK && g_cl.tile_lws[0] * g_cl.tile_lws[1] >= 1, "work-group %zu x %zu: %s", lx, ly, g_err);
    snprintf(g_tile_label, sizeof g_tile_label, ", work-group %zu x %zu", g_cl.tile_lws[0], g_cl.tile_lws[1]);
    return st == IPG_OK;
}

static void upload(const ipg_tensor_t * t, const float * host) {
    size_t bytes = (size_t) g_batch * t->c * t->h * t->w * sizeof(float);
    cl_int rc = clEnqueueWriteBuffer(g_cl.queue, t->buf, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    CHECK(rc == CL_SUCCESS, "upload: %s", ipg_cl_error_name(rc));
}

static float * download(const ipg_tensor_t * t) {
    size_t n = (size_t) g_batch * t->c * t->h * t->w;
    float * h = malloc(n * sizeof(float));
    cl_int rc = clEnqueueReadBuffer(g_cl.queue, t->buf, CL_TRUE, 0, n * sizeof(float), h, 0, NULL, NULL);
    CHECK(rc == CL_SUCCESS, "download: %s", ipg_cl_error_name(rc));
    return h;
}

// max|a - b| <= tol * max(max|b|, 1e-3)
static void compare(const char * what, const float * got, const float * want, size_t n, double tol) {
    double max_diff = 0, max_ref = 1e-3;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double) got[i] - want[i]);
        if (!(d <= max_diff)) {
            max_diff = d;
            worst = i;
        }
        if (fabs(want[i]) > max_ref) max_ref = fabs(want[i]);
    }
    CHECK(max_diff <= tol * max_ref, "%s: max diff %.3g at %zu (got %g want %g), max |ref| %.3g", what, max_diff, worst,
          got[worst], want[worst], max_ref);
}

static void plan_init(ipg_plan_t * p) {
    memset(p, 0, sizeof *p);
    p->cl = &g_cl;
    p->err = g_err;
    p->err_size = sizeof g_err;
    p->batch = g_batch;
}

// ---- convolution -------------------------------------------------------------

static void conv_ref(const float * in, int C, int H, int W, const ipg_conv_host_t * cv, const float * res, bool relu,
                     float * out, int OH, int OW) {
    for (int o = 0; o < cv->cout; o++)
        for (int y = 0; y < OH; y++)
            for (int x = 0; x < OW; x++) {
                double acc = cv->b[o];
                for (int c = 0; c < C; c++)
                    for (int ky = 0; ky < cv->kh; ky++)
                        for (int kx = 0; kx < cv->kw; kx++) {
                            int iy = y * cv->stride - cv->pad + ky, ix = x * cv->stride - cv->pad + kx;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            acc += (double) cv->w[((size_t) o * C + c) * cv->kh * cv->kw + ky * cv->kw + kx] *
                                   in[((size_t) c * H + iy) * W + ix];
                        }
                size_t i = ((size_t) o * OH + y) * OW + x;
                if (res) acc += res[i];
                if (relu && acc < 0) acc = 0;
                out[i] = (float) acc;
            }
}

// When set, the largest buffer while the conv is planned (its tensors are
// made first): the im2col scratch is then split into chunks (ops.c).
static uint64_t g_conv_alloc_limit = 0;

static void test_conv(int cin, int cout, int h, int w, int k, int stride, int pad, bool use_res, bool relu,
                      bool pack_all) {
    ipg_conv_host_t cv = { .name = "test", .cout = cout, .cin = cin, .kh = k, .kw = k, .stride = stride, .pad = pad };
    cv.w = malloc((size_t) cout * cin * k * k * sizeof(float));
    cv.b = malloc((size_t) cout * sizeof(float));
    fill(cv.w, (size_t) cout * cin * k * k);
    fill(cv.b, (size_t) cout);
    const int OH = (h + 2 * pad - k) / stride + 1, OW = (w + 2 * pad - k) / stride + 1;
    // g_batch images, each against the host reference on its own.
    const size_t nin = (size_t) cin * h * w, nout = (size_t) cout * OH * OW;
    float * in = malloc(g_batch * nin * sizeof(float));
    float * res = malloc(g_batch * nout * sizeof(float));
    float * want = malloc(g_batch * nout * sizeof(float));
    fill(in, g_batch * nin);
    fill(res, g_batch * nout);
    for (int b = 0; b < g_batch; b++)
        conv_ref(in + b * nin, cin, h, w, &cv, use_res ? res + b * nout : NULL, relu, want + b * nout, OH, OW);

    ipg_plan_t p;
    plan_init(&p);
    p.pack_all_convs = pack_all;
    ipg_conv_dev_t dev;
    ipg_tensor_t tin = { 0 }, tres = { 0 }, tout = { 0 };
    ipg_status_t st = ipg_conv_upload(&g_cl, &cv, 0, cin, true, &dev, g_err, sizeof g_err);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tin, cin, h, w);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tres, cout, OH, OW);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tout, cout, OH, OW);
    const uint64_t saved_alloc = g_cl.max_alloc;
    const int32_t steps_before = p.n_steps;
    if (g_conv_alloc_limit) g_cl.max_alloc = g_conv_alloc_limit;
    if (st == IPG_OK) st = ipg_op_conv(&p, &dev, &tin, use_res ? &tres : NULL, relu, &tout);
    g_cl.max_alloc = saved_alloc;
    if (st == IPG_OK) st = ipg_plan_finalize(&p);
    CHECK(st == IPG_OK, "conv setup: %s", g_err);
    const int32_t launches = p.n_steps - steps_before;
    if (g_conv_alloc_limit && st == IPG_OK)
        CHECK(launches > 2 && p.scratch_bytes <= g_conv_alloc_limit,
              "a scratch limit of %llu bytes splits the conv (%d launches, scratch %zu bytes)",
              (unsigned long long) g_conv_alloc_limit, launches, p.scratch_bytes);
    if (st == IPG_OK) {
        upload(&tin, in);
        upload(&tres, res);
        st = ipg_plan_run(&p);
        CHECK(st == IPG_OK, "conv run: %s", g_err);
        float * got = download(&tout);
        char what[256];
        snprintf(what, sizeof what, "conv cin=%d cout=%d %dx%d k=%d s=%d p=%d res=%d relu=%d batch %d, %s path%s%s%s",
                 cin, cout, h, w, k, stride, pad, use_res, relu, g_batch, ipg_kernel_path_name(g_cl.path),
                 pack_all ? " (im2col)" : "", g_tile_label, g_conv_alloc_limit ? " (scratch split)" : "");
        compare(what, got, want, g_batch * nout, 1e-5);
        free(got);
        ipg_conv_dev_free(&dev);
    }
    ipg_plan_free(&p);
    free(cv.w);
    free(cv.b);
    free(in);
    free(res);
    free(want);
}

// The fusion conv uploaded as two column ranges gives the full conv.
static void test_conv_split(void) {
    const int C = 13, G = 5, H = 3, W = 5;
    ipg_conv_host_t cv = { .name = "fusion", .cout = C, .cin = C + G, .kh = 1, .kw = 1, .stride = 1, .pad = 0 };
    cv.w = malloc((size_t) C * (C + G) * sizeof(float));
    cv.b = malloc((size_t) C * sizeof(float));
    fill(cv.w, (size_t) C * (C + G));
    fill(cv.b, C);
    float cin[13 * 15], gin[5 * 15], cat[18 * 15], want[13 * 15];
    fill(cin, sizeof cin / 4);
    fill(gin, sizeof gin / 4);
    memcpy(cat, cin, sizeof cin);
    memcpy(cat + 13 * 15, gin, sizeof gin);
    conv_ref(cat, C + G, H, W, &cv, cin, false, want, H, W);   // F = C + conv(cat)

    ipg_plan_t p;
    plan_init(&p);
    ipg_conv_dev_t dc, dg;
    ipg_tensor_t tc = { 0 }, tg = { 0 }, half = { 0 }, out = { 0 };
    ipg_status_t st = ipg_conv_upload(&g_cl, &cv, 0, C, true, &dc, g_err, sizeof g_err);
    if (st == IPG_OK) st = ipg_conv_upload(&g_cl, &cv, C, G, false, &dg, g_err, sizeof g_err);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tc, C, H, W);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tg, G, H, W);
    if (st == IPG_OK) st = ipg_op_conv(&p, &dc, &tc, &tc, false, &half);
    if (st == IPG_OK) st = ipg_op_conv(&p, &dg, &tg, &half, false, &out);
    if (st == IPG_OK) st = ipg_plan_finalize(&p);
    CHECK(st == IPG_OK, "split setup: %s", g_err);
    if (st == IPG_OK) {
        upload(&tc, cin);
        upload(&tg, gin);
        CHECK(ipg_plan_run(&p) == IPG_OK, "split run: %s", g_err);
        float * got = download(&out);
        char what[160];
        snprintf(what, sizeof what, "fusion conv split into two GEMMs, %s path%s", ipg_kernel_path_name(g_cl.path),
                 g_tile_label);
        compare(what, got, want, sizeof want / 4, 1e-5);
        free(got);
        ipg_conv_dev_free(&dc);
        ipg_conv_dev_free(&dg);
    }
    ipg_plan_free(&p);
    free(cv.w);
    free(cv.b);
}

// One conv over several levels (ipg_op_conv_levels, the heads): on the
// clblast path one GEMM over every level and image, elsewhere one conv per
// level; each level of each image against the host reference.
static void test_conv_levels(int cin, int cout, int k, bool relu) {
    static const int sizes[3][2] = { { 13, 11 }, { 5, 3 }, { 1, 1 } };
    const int pad = k / 2;
    ipg_conv_host_t cv = { .name = "head", .cout = cout, .cin = cin, .kh = k, .kw = k, .stride = 1, .pad = pad };
    cv.w = malloc((size_t) cout * cin * k * k * sizeof(float));
    cv.b = malloc((size_t) cout * sizeof(float));
    fill(cv.w, (size_t) cout * cin * k * k);
    fill(cv.b, (size_t) cout);
    ipg_plan_t p;
    plan_init(&p);
    ipg_conv_dev_t dev;
    ipg_tensor_t in[3] = { { 0 } }, out[3] = { { 0 } };
    float * host_in[3] = { 0 };
    ipg_levels_ws_t ws = { 0 };
    ipg_status_t st = ipg_conv_upload(&g_cl, &cv, 0, cin, true, &dev, g_err, sizeof g_err);
    for (int l = 0; l < 3 && st == IPG_OK; l++) {
        st = ipg_plan_tensor(&p, &in[l], cin, sizes[l][0], sizes[l][1]);
        host_in[l] = malloc((size_t) g_batch * cin * sizes[l][0] * sizes[l][1] * sizeof(float));
        fill(host_in[l], (size_t) g_batch * cin * sizes[l][0] * sizes[l][1]);
    }
    if (st == IPG_OK && g_cl.path == IPG_PATH_CLBLAST) {
        // Not reserved: refused, not overrun.
        ipg_tensor_t tmp[3] = { { 0 } };
        CHECK(ipg_op_conv_levels(&p, &dev, in, 3, relu, tmp, &ws) == IPG_ERR_INVALID_ARG && strstr(g_err, "reserved"),
              "levels without a reserved workspace are refused: %s", g_err);
    }
    ipg_levels_ws_reserve(&ws, &p, &dev, in, 3);
    if (st == IPG_OK) st = ipg_op_conv_levels(&p, &dev, in, 3, relu, out, &ws);
    if (st == IPG_OK) st = ipg_plan_finalize(&p);
    CHECK(st == IPG_OK, "levels setup: %s", g_err);
    if (st == IPG_OK) {
        for (int l = 0; l < 3; l++) upload(&in[l], host_in[l]);
        CHECK(ipg_plan_run(&p) == IPG_OK, "levels run: %s", g_err);
        for (int l = 0; l < 3; l++) {
            const int h = sizes[l][0], w = sizes[l][1];
            const size_t nin = (size_t) cin * h * w, nout = (size_t) cout * h * w;
            float * want = malloc(g_batch * nout * sizeof(float));
            for (int b = 0; b < g_batch; b++)
                conv_ref(host_in[l] + b * nin, cin, h, w, &cv, NULL, relu, want + b * nout, h, w);
            float * got = download(&out[l]);
            char what[160];
            snprintf(what, sizeof what, "conv over levels, level %d (%dx%d) k=%d relu=%d batch %d, %s path%s", l, h, w,
                     k, relu, g_batch, ipg_kernel_path_name(g_cl.path), g_tile_label);
            compare(what, got, want, g_batch * nout, 1e-5);
            free(got);
            free(want);
        }
        ipg_conv_dev_free(&dev);
    }
    for (int l = 0; l < 3; l++) free(host_in[l]);
    ipg_plan_free(&p);
    free(cv.w);
    free(cv.b);
}

// ---- pooling, resampling, relu ------------------------------------------------

typedef ipg_status_t (*unary_op)(ipg_plan_t *, const ipg_tensor_t *, ipg_tensor_t *);

static void run_unary(const char * what, unary_op op, int c, int h, int w, const float * in, const float * want, int oh,
                      int ow) {
    ipg_plan_t p;
    plan_init(&p);
    ipg_tensor_t tin = { 0 }, tout = { 0 };
    ipg_status_t st = ipg_plan_tensor(&p, &tin, c, h, w);
    if (st == IPG_OK) st = op(&p, &tin, &tout);
    if (st == IPG_OK) st = ipg_plan_finalize(&p);
    CHECK(st == IPG_OK && tout.h == oh && tout.w == ow, "%s setup: %s (out %dx%d, want %dx%d)", what, g_err, tout.w,
          tout.h, ow, oh);
    if (st == IPG_OK && tout.h == oh && tout.w == ow) {
        upload(&tin, in);
        CHECK(ipg_plan_run(&p) == IPG_OK, "%s run: %s", what, g_err);
        float * got = download(&tout);
        compare(what, got, want, (size_t) g_batch * c * oh * ow, 1e-6);
        free(got);
    }
    ipg_plan_free(&p);
}

// The spatial ops' tests run g_batch images, each against the host
// reference of one image (the kernels see the batch as B * C channels).
static void maxpool_ref(const float * in, int c, int h, int w, float * want, int oh, int ow) {
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float m = -INFINITY;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int iy = 2 * y + dy, ix = 2 * x + dx;
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w && in[(ch * h + iy) * w + ix] > m)
                            m = in[(ch * h + iy) * w + ix];
                    }
                want[(ch * oh + y) * ow + x] = m;
            }
}

static void test_maxpool(int c, int h, int w) {
    const int oh = (h - 1) / 2 + 1, ow = (w - 1) / 2 + 1;
    const size_t nin = (size_t) c * h * w, nout = (size_t) c * oh * ow;
    float *in = malloc(g_batch * nin * 4), *want = malloc(g_batch * nout * 4);
    fill(in, g_batch * nin);
    for (int b = 0; b < g_batch; b++) maxpool_ref(in + b * nin, c, h, w, want + b * nout, oh, ow);
    char what[64];
    snprintf(what, sizeof what, "maxpool3x3s2 %dx%dx%d batch %d", c, h, w, g_batch);
    run_unary(what, ipg_op_maxpool3x3s2, c, h, w, in, want, oh, ow);
    free(in);
    free(want);
}

// PyTorch bilinear (align_corners = false) to (h / 2, w / 2), in double.
static void downsample_ref(const float * in, int c, int h, int w, float * want, int oh, int ow) {
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double sy = fmax((double) h / oh * (y + 0.5) - 0.5, 0), sx = fmax((double) w / ow * (x + 0.5) - 0.5, 0);
                int y0 = (int) sy, x0 = (int) sx, y1 = y0 + (y0 < h - 1), x1 = x0 + (x0 < w - 1);
                double ly = sy - y0, lx = sx - x0;
                const float * p = in + (size_t) ch * h * w;
                want[(ch * oh + y) * ow + x] = (float) ((1 - ly) * ((1 - lx) * p[y0 * w + x0] + lx * p[y0 * w + x1]) +
                                                        ly * ((1 - lx) * p[y1 * w + x0] + lx * p[y1 * w + x1]));
            }
}

static void test_downsample(int c, int h, int w) {
    const int oh = h / 2, ow = w / 2;
    const size_t nin = (size_t) c * h * w, nout = (size_t) c * oh * ow;
    float *in = malloc(g_batch * nin * 4), *want = malloc(g_batch * nout * 4);
    fill(in, g_batch * nin);
    for (int b = 0; b < g_batch; b++) downsample_ref(in + b * nin, c, h, w, want + b * nout, oh, ow);
    char what[64];
    snprintf(what, sizeof what, "downsample2x %dx%dx%d batch %d", c, h, w, g_batch);
    run_unary(what, ipg_op_downsample2x, c, h, w, in, want, oh, ow);
    free(in);
    free(want);
}

static void test_relu(int c, int h, int w) {
    const size_t n = (size_t) g_batch * c * h * w;
    float *in = malloc(n * 4), *want = malloc(n * 4);
    fill(in, n);
    for (size_t i = 0; i < n; i++) want[i] = in[i] > 0 ? in[i] : 0;
    char what[64];
    snprintf(what, sizeof what, "relu %dx%dx%d batch %d", c, h, w, g_batch);
    run_unary(what, ipg_op_relu, c, h, w, in, want, h, w);
    free(in);
    free(want);
}

static void upsample_add_ref(const float * lat, const float * top, int c, int h, int w, int th, int tw, float * want) {
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int ty = (int) floorf(y * ((float) th / h)), tx = (int) floorf(x * ((float) tw / w));
                if (ty > th - 1) ty = th - 1;
                if (tx > tw - 1) tx = tw - 1;
                want[(ch * h + y) * w + x] = lat[(ch * h + y) * w + x] + top[(ch * th + ty) * tw + tx];
            }
}

static void test_upsample_add(int c, int h, int w, int th, int tw) {
    const size_t nl = (size_t) c * h * w, nt = (size_t) c * th * tw;
    float *lat = malloc(g_batch * nl * 4), *top = malloc(g_batch * nt * 4), *want = malloc(g_batch * nl * 4);
    fill(lat, g_batch * nl);
    fill(top, g_batch * nt);
    for (int b = 0; b < g_batch; b++) upsample_add_ref(lat + b * nl, top + b * nt, c, h, w, th, tw, want + b * nl);
    ipg_plan_t p;
    plan_init(&p);
    ipg_tensor_t tl = { 0 }, tt = { 0 }, out = { 0 };
    ipg_status_t st = ipg_plan_tensor(&p, &tl, c, h, w);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tt, c, th, tw);
    if (st == IPG_OK) st = ipg_op_upsample_add(&p, &tl, &tt, &out);
    if (st == IPG_OK) st = ipg_plan_finalize(&p);
    CHECK(st == IPG_OK, "upsample setup: %s", g_err);
    if (st == IPG_OK) {
        upload(&tl, lat);
        upload(&tt, top);
        CHECK(ipg_plan_run(&p) == IPG_OK, "upsample run: %s", g_err);
        float * got = download(&out);
        char what[64];
        snprintf(what, sizeof what, "upsample_add %dx%dx%d from %dx%d batch %d", c, h, w, th, tw, g_batch);
        compare(what, got, want, g_batch * nl, 1e-6);
        free(got);
    }
    ipg_plan_free(&p);
    free(lat);
    free(top);
    free(want);
}

// ---- RetinaNet candidates (retina-detect.cl: ipg_retina_candidates) -------------

static int cand_by_flat(const void * pa, const void * pb) {
    const float * a = pa;
    const float * b = pb;
    return (a[1] > b[1]) - (a[1] < b[1]);
}

// Every sigmoid(logit) > thresh of image `image` of a [g_batch][ak][h][w] map,
// appended as level 1 at offset 5, against the host: the same flat indices
// (y * w + x) * ak + channel, the same count, scores within 1e-6. Channels
// alternate between all background (whole 16-logit vectors skipped), mixed,
// and mostly kept; some logits lie just above the kernel's skip floor and
// just around the threshold's logit (moved 1e-3 away from it: host and
// device exp may differ by an ulp there).
static void test_retina_candidates(int ak, int h, int w, float thresh, int image) {
    char what[96];
    snprintf(what, sizeof what, "retina candidates %d x %d x %d thresh %g image %d of %d", ak, h, w, thresh, image,
             g_batch);
    const size_t plane = (size_t) ak * h * w, n = (size_t) g_batch * plane;
    const double cut = thresh > 0 && thresh < 1 ? log(thresh / (1.0 - thresh)) : -1e30;
    float * logits = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        const int kind = (int) (i / ((size_t) h * w) % 3);
        float v = frand() * 2.0f + (kind == 0 ? -12.0f : kind == 1 ? (float) cut : 2.0f);
        if (i % 7 == 3) v = (float) cut - 0.005f;   // above the skip floor, below the threshold
        if (fabs(v - cut) < 1e-3) v = (float) (v < cut ? cut - 1e-3 : cut + 1e-3);
        logits[i] = v;
    }
    int32_t kept = 0;
    float * want = malloc(plane * 2 * sizeof(float));   // (score, flat) pairs
    for (size_t i = 0; i < plane; i++) {
        const float logit = logits[(size_t) image * plane + i];
        const float score = 1.0f / (1.0f + expf(-logit));
        if (score > thresh) {
            const size_t ch = i / ((size_t) h * w), at = i % ((size_t) h * w);
            want[2 * kept] = score;
            want[2 * kept + 1] = (float) (at * ak + ch);
            kept++;
        }
    }
    ipg_plan_t p;
    plan_init(&p);
    const int32_t base = 5, zeros[2] = { 0, 0 };
    ipg_tensor_t t = { 0 };
    ipg_status_t st = ipg_plan_tensor(&p, &t, ak, h, w);
    const ipg_retina_cand_bufs_t bufs = { ipg_plan_buffer(&p, (base + plane) * sizeof(float), NULL),
                                          ipg_plan_buffer(&p, (base + plane) * sizeof(int32_t), NULL),
                                          ipg_plan_buffer(&p, sizeof zeros, zeros) };
    int32_t arg = -1;
    if (st == IPG_OK && (!bufs.score || !bufs.index || !bufs.count)) st = IPG_ERR_NO_MEMORY;
    if (st == IPG_OK &&
        ipg_retina_candidates_plan(&p, &t, ak, image, thresh, &bufs, 1, (int32_t) plane, base, &arg) < 0)
        st = IPG_ERR_OPENCL;
    if (st == IPG_OK) st = ipg_plan_finalize(&p);
    CHECK(st == IPG_OK, "%s: setup: %s", what, g_err);
    if (st == IPG_OK) {
        upload(&t, logits);
        CHECK(ipg_plan_run(&p) == IPG_OK, "%s: run: %s", what, g_err);
        int32_t count[2] = { -1, -1 };
        cl_int rc = clEnqueueReadBuffer(g_cl.queue, bufs.count, CL_TRUE, 0, sizeof count, count, 0, NULL, NULL);
        CHECK(rc == CL_SUCCESS && count[0] == 0 && count[1] == kept, "%s: count %d (level 0: %d), want %d", what,
              count[1], count[0], kept);
        if (rc == CL_SUCCESS && count[1] == kept) {
            float * got_score = malloc((base + plane) * sizeof(float));
            int32_t * got_index = malloc((base + plane) * sizeof(int32_t));
            rc = clEnqueueReadBuffer(g_cl.queue, bufs.score, CL_TRUE, 0, (base + plane) * sizeof(float), got_score, 0,
                                     NULL, NULL);
            if (rc == CL_SUCCESS)
                rc = clEnqueueReadBuffer(g_cl.queue, bufs.index, CL_TRUE, 0, (base + plane) * sizeof(int32_t),
                                         got_index, 0, NULL, NULL);
            float * got = malloc(plane * 2 * sizeof(float));
            for (int32_t j = 0; j < kept; j++) {
                got[2 * j] = got_score[base + j];
                got[2 * j + 1] = (float) got_index[base + j];
            }
            qsort(got, (size_t) kept, 2 * sizeof(float), cand_by_flat);
            qsort(want, (size_t) kept, 2 * sizeof(float), cand_by_flat);
            int wrong = 0;
            for (int32_t j = 0; j < kept; j++)
                wrong += got[2 * j + 1] != want[2 * j + 1] || !(fabsf(got[2 * j] - want[2 * j]) <= 1e-6f * want[2 * j]);
            CHECK(rc == CL_SUCCESS && wrong == 0, "%s: %d of %d candidates differ", what, wrong, kept);
            free(got);
            free(got_score);
            free(got_index);
        }
    }
    ipg_plan_free(&p);
    free(logits);
    free(want);
}

// ---- anchors and NMS -------------------------------------------------------------

static void test_anchors(void) {
    ipg_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.num_anchor_sizes = 3;
    cfg.num_aspect_ratios = 3;
    const float sizes[2][3] = { { 32, 40, 50 }, { 512, 645, 812 } };
    for (int l = 0; l < 2; l++)
        for (int s = 0; s < 3; s++) cfg.anchor_sizes[l][s] = sizes[l][s];
    cfg.aspect_ratios[0] = 0.5f;
    cfg.aspect_ratios[1] = 1.0f;
    cfg.aspect_ratios[2] = 2.0f;
    // torchvision AnchorGenerator(((32, 40, 50),), ((0.5, 1.0, 2.0),)).cell_anchors
    static const float want0[9][4] = { { -23, -11, 23, 11 }, { -28, -14, 28, 14 }, { -35, -18, 35, 18 },
                                       { -16, -16, 16, 16 }, { -20, -20, 20, 20 }, { -25, -25, 25, 25 },
                                       { -11, -23, 11, 23 }, { -14, -28, 14, 28 }, { -18, -35, 18, 35 } };
    static const float want1[9][4] = { { -362, -181, 362, 181 }, { -456, -228, 456, 228 }, { -574, -287, 574, 287 },
                                       { -256, -256, 256, 256 }, { -322, -322, 322, 322 }, { -406, -406, 406, 406 },
                                       { -181, -362, 181, 362 }, { -228, -456, 228, 456 }, { -287, -574, 287, 574 } };
    ipg_level_anchors_t a;
    ipg_anchors_level(&cfg, 0, 44, 36, 352, 288, &a);
    CHECK(a.n_anchors == 9 && a.stride_w == 8 && a.stride_h == 8, "anchors level 0: n %d stride %dx%d", a.n_anchors,
          a.stride_w, a.stride_h);
    CHECK(memcmp(a.base, want0, sizeof want0) == 0, "base anchors for sizes 32,40,50 differ from torchvision");
    ipg_anchors_level(&cfg, 1, 6, 5, 352, 288, &a);
    // torchvision: stride = image_size // grid_size, even when inexact.
    CHECK(a.stride_w == 58 && a.stride_h == 57, "anchor stride 352//6, 288//5: got %d, %d", a.stride_w, a.stride_h);
    CHECK(memcmp(a.base, want1, sizeof want1) == 0, "base anchors for sizes 512,645,812 differ from torchvision");
}

static void test_nms(void) {
    ipg_candidate_t c[6] = {
        { { 0, 0, 10, 10 }, 0.5f, 0 },
        { { 1, 1, 11, 11 }, 0.9f, 0 },     // IoU with [0] = 81/119 = 0.68 > 0.5: suppresses [0]
        { { 1, 1, 11, 11 }, 0.8f, 1 },     // other class: kept
        { { 20, 20, 30, 30 }, 0.7f, 0 },   // no overlap: kept
        { { 20, 25, 30, 35 }, 0.6f, 0 },   // IoU with [3] = 50/150 = 0.33: kept
        { { 0, 0, 10, 20 }, 0.4f, 1 },     // IoU with [2] = 81/(100+200-81)=0.37: kept
    };
    ipg_candidate_t out[6];
    int32_t scratch[12];
    int32_t n = ipg_nms_classwise(c, 6, 0.5f, 100, NULL, scratch, out);
    const float want_scores[5] = { 0.9f, 0.8f, 0.7f, 0.6f, 0.4f };
    bool ok = n == 5;
    for (int i = 0; ok && i < 5; i++) ok = out[i].score == want_scores[i];
    CHECK(ok, "class-wise NMS kept %d boxes (want 5, in score order)", n);
    n = ipg_nms_classwise(c, 6, 0.5f, 2, NULL, scratch, out);
    CHECK(n == 2 && out[0].score == 0.9f && out[1].score == 0.8f, "NMS max_keep 2 kept %d", n);
    // IoU exactly at the threshold is not suppressed (torchvision: IoU > thresh).
    ipg_candidate_t d[2] = { { { 0, 0, 10, 10 }, 0.9f, 0 }, { { 0, 0, 10, 5 }, 0.8f, 0 } };   // IoU 0.5
    n = ipg_nms_classwise(d, 2, 0.5f, 10, NULL, scratch, out);
    CHECK(n == 2, "IoU == threshold must survive, kept %d", n);
    CHECK(ipg_nms_classwise(d, 0, 0.5f, 10, NULL, scratch, out) == 0, "NMS of nothing");
    // A class filter drops the other classes before the cap: class 1's two
    // boxes, though class 0 scores higher.
    const bool only1[2] = { false, true };
    n = ipg_nms_classwise(c, 6, 0.5f, 2, only1, scratch, out);
    CHECK(n == 2 && out[0].score == 0.8f && out[1].score == 0.4f && out[0].label == 1 && out[1].label == 1,
          "NMS with class 1 only kept %d", n);
}

// An argument past IPG_MAX_ARGS is refused: the setter says so and the plan
// does not finalise (no silent overwrite of the last argument).
static void test_arg_cap(void) {
    ipg_plan_t p = { .cl = &g_cl, .err = g_err, .err_size = sizeof g_err };
    ipg_step_t * s = ipg_plan_step(&p, "ipg_relu");
    CHECK(s != NULL, "step: %s", g_err);
    if (!s) return;
    int32_t last = 0;
    for (int32_t i = 0; i < IPG_MAX_ARGS; i++) last = ipg_step_int(s, i);
    CHECK(last == IPG_MAX_ARGS - 1, "the setters return the argument index (%d)", last);
    CHECK(ipg_step_float(s, 1.0f) == -1, "argument %d refused", IPG_MAX_ARGS);
    CHECK(s->n_args == IPG_MAX_ARGS && s->args[IPG_MAX_ARGS - 1].i == IPG_MAX_ARGS - 1,
          "the last argument is not overwritten");
    ipg_step_range(s, 1, (size_t[]){ 1 }, NULL);
    CHECK(ipg_plan_finalize(&p) == IPG_ERR_INVALID_ARG && strstr(g_err, "ipg_relu") && strstr(g_err, "arguments"),
          "a plan with too many arguments is an error: %s", g_err);
    ipg_plan_free(&p);
}

// Local sizes: a required one over the kernel's limit is refused at
// finalisation, naming the kernel; a preferred one is capped to fit; and
// under IPG_FORCE_LWS every launch of independent work-items gets the
// forced size with its global size rounded up (so the kernels' bounds
// checks really run in the forced-LWS suites).
static void test_local_sizes(void) {
    ipg_plan_t p = { .cl = &g_cl, .err = g_err, .err_size = sizeof g_err };
    ipg_step_t * s = ipg_plan_step(&p, "ipg_relu");
    CHECK(s != NULL, "step: %s", g_err);
    if (!s) return;
    const size_t big = s->kernel_wg + 1;
    ipg_step_range(s, 1, (size_t[]){ big }, (size_t[]){ big });
    CHECK(ipg_plan_finalize(&p) == IPG_ERR_INVALID_ARG && strstr(g_err, "ipg_relu") && strstr(g_err, "work-group"),
          "a required local size over CL_KERNEL_WORK_GROUP_SIZE is refused: %s", g_err);
    ipg_plan_free(&p);

    s = ipg_plan_step(&p, "ipg_relu");
    CHECK(s != NULL, "step: %s", g_err);
    if (!s) return;
    size_t forced[3];
    const bool is_forced = ipg_forced_lws(forced);
    ipg_step_range_prefer(s, 2, (size_t[]){ 5, 3 }, (size_t[]){ big, big });
    CHECK(s->has_lws && s->lws[0] * s->lws[1] <= s->kernel_wg && s->gws[0] % s->lws[0] == 0 &&
              s->gws[1] % s->lws[1] == 0 && s->gws[0] >= 5 && s->gws[1] >= 3,
          "a preferred local size is capped to the kernel's limit (%zu x %zu of %zu, global %zu x %zu)", s->lws[0],
          s->lws[1], s->kernel_wg, s->gws[0], s->gws[1]);
    ipg_step_range(s, 1, (size_t[]){ 13 }, NULL);
    if (is_forced) {
        CHECK(s->has_lws && s->lws[0] == forced[0] && s->gws[0] == (13 + forced[0] - 1) / forced[0] * forced[0],
              "IPG_FORCE_LWS: local %zu, global %zu for 13 items", s->lws[0], s->gws[0]);
        printf("IPG_FORCE_LWS: %zu x %zu x %zu\n", forced[0], forced[1], forced[2]);
    } else {
        CHECK(!s->has_lws && s->gws[0] == 13, "no local size unless asked");
    }
    ipg_plan_free(&p);
}

// A launch the device refuses (here a local size over its limit, set past
// the plan's checks) fails with a message naming the kernel, the layer's
// group and the stage it leads to, and the OpenCL error; a step over the
// device's local memory is refused at finalisation, naming kernel and group.
static void test_launch_errors(void) {
    ipg_plan_t p;
    plan_init(&p);
    p.group = "layer7";
    ipg_tensor_t t = { 0 }, out = { 0 };
    ipg_status_t st = ipg_plan_tensor(&p, &t, 3, 5, 7);
    if (st == IPG_OK) st = ipg_op_relu(&p, &t, &out);
    if (st == IPG_OK) ipg_plan_stage(&p, "layer7.relu", &out);
    if (st == IPG_OK) st = ipg_plan_finalize(&p);
    CHECK(st == IPG_OK, "setup: %s", g_err);
    if (st == IPG_OK) {
        ipg_step_t * s = &p.steps[p.n_steps - 1];
        s->has_lws = true;
        s->lws[0] = g_cl.max_wg_size * 2;
        s->gws[0] = s->lws[0];
        st = ipg_plan_run(&p);
        CHECK(st == IPG_ERR_OPENCL && strstr(g_err, "ipg_relu") && strstr(g_err, "layer7") &&
                  strstr(g_err, "layer7.relu") &&
                  (strstr(g_err, "CL_INVALID_WORK_GROUP_SIZE") || strstr(g_err, "CL_INVALID_WORK_ITEM_SIZE")),
              "an impossible work-group size fails naming kernel, layer and stage: %s", g_err);
    }
    ipg_plan_free(&p);

    plan_init(&p);
    p.group = "post";
    ipg_step_t * s = ipg_plan_step(&p, "ipg_topk_select");
    CHECK(s != NULL, "step: %s", g_err);
    if (!s) return;
    for (int i = 0; i < 9; i++) ipg_step_int(s, 0);   // never set: refused before
    ipg_step_local(s, (size_t) g_cl.local_mem + 4);
    ipg_step_range(s, 1, (size_t[]){ 1 }, (size_t[]){ 1 });
    CHECK(ipg_plan_finalize(&p) == IPG_ERR_INVALID_ARG && strstr(g_err, "ipg_topk_select") && strstr(g_err, "post") &&
              strstr(g_err, "local memory"),
          "a step over the device's local memory is refused: %s", g_err);
    ipg_plan_free(&p);
}

// A buffer over CL_DEVICE_MAX_MEM_ALLOC_SIZE is refused before allocation,
// naming the layer's group and the numbers: a tensor, and an im2col scratch
// that cannot be split (one panel over the limit). A splittable one is split
// (test_conv_chunked).
static void test_max_alloc(void) {
    const uint64_t saved = g_cl.max_alloc;
    const ipg_kernel_path_t saved_path = g_cl.path;
    g_cl.path = IPG_PATH_CPU;   // the path with the im2col scratch
    ipg_plan_t p;
    plan_init(&p);
    p.group = "layer9";
    ipg_conv_host_t cv = { .name = "test", .cout = 13, .cin = 3, .kh = 3, .kw = 3, .stride = 2, .pad = 1 };
    float w[13 * 3 * 9] = { 0 }, b[13] = { 0 };
    cv.w = w;
    cv.b = b;
    ipg_conv_dev_t dev;
    ipg_tensor_t in = { 0 }, out = { 0 };
    CHECK(ipg_conv_upload(&g_cl, &cv, 0, 3, true, &dev, g_err, sizeof g_err) == IPG_OK, "upload: %s", g_err);
    CHECK(ipg_plan_tensor(&p, &in, 3, 33, 31) == IPG_OK && ipg_plan_tensor(&p, &out, 13, 17, 16) == IPG_OK,
          "tensors: %s", g_err);
    // one panel: K = 27 taps x 16 pixels x 4 bytes = 1728 bytes
    g_cl.max_alloc = 1700;
    CHECK(ipg_op_conv(&p, &dev, &in, NULL, false, &out) == IPG_ERR_NO_MEMORY && strstr(g_err, "im2col scratch") &&
              strstr(g_err, "layer9") && strstr(g_err, "1728") && strstr(g_err, "1700"),
          "an im2col scratch that cannot be split is refused with the layer and the numbers: %s", g_err);
    g_cl.max_alloc = 16384;
    ipg_tensor_t big = { 0 };
    CHECK(ipg_plan_tensor(&p, &big, 64, 8, 8) == IPG_ERR_NO_MEMORY && strstr(g_err, "layer9") &&
              strstr(g_err, "MAX_MEM_ALLOC_SIZE"),
          "a tensor over the largest buffer is refused: %s", g_err);
    g_cl.max_alloc = saved;
    g_cl.path = saved_path;
    ipg_conv_dev_free(&dev);
    ipg_plan_free(&p);
}

// The im2col scratch split into chunks (ops.c) gives the unsplit result: by
// images (limit: two images' scratch), and by pixel blocks within an image
// (limit: 7 or 1 panels), on odd sizes, batches of 1 and 3.
static void test_conv_chunked(bool small) {
    const ipg_kernel_path_t saved_path = g_cl.path;
    g_cl.path = IPG_PATH_CPU;   // the path with the im2col scratch
    static const int convs[][7] = { { 5, 17, 33, 31, 3, 1, 1 }, { 24, 13, 5, 3, 3, 2, 1 }, { 3, 24, 13, 11, 7, 2, 3 } };
    static const int batches[] = { 1, 3 };
    const size_t n_convs = small ? 1 : sizeof convs / sizeof convs[0];
    for (size_t b = 0; b < 2; b++) {
        g_batch = batches[b];
        for (size_t i = 0; i < n_convs; i++) {
            const int * c = convs[i];
            const int OH = (c[2] + 2 * c[6] - c[4]) / c[5] + 1, OW = (c[3] + 2 * c[6] - c[4]) / c[5] + 1;
            const uint64_t panel = (uint64_t) c[0] * c[4] * c[4] * 16 * sizeof(float);
            const uint64_t nb = ((uint64_t) OH * OW + 15) / 16;
            const uint64_t limits[3] = { 2 * nb * panel + 100, 7 * panel + 3, panel };
            for (int l = 0; l < 3; l++) {
                if (limits[l] >= g_batch * nb * panel) continue;   // would not split
                g_conv_alloc_limit = limits[l];
                test_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], true, true, true);
            }
            g_conv_alloc_limit = 0;
        }
    }
    g_batch = 1;
    g_cl.path = saved_path;
}

// ---- kernel paths (kernel-path.c) ---------------------------------------------

// Names: the three paths and "auto" are accepted, anything else is refused
// with the name in the message, from the parameter and from IPG_PATH alike;
// the parameter wins over IPG_PATH.
static void test_path_choice(void) {
    const ipg_kernel_path_t saved = g_cl.path;
    char * env = getenv("IPG_PATH") ? strdup(getenv("IPG_PATH")) : NULL;
    CHECK(ipg_kernel_path_select(&g_cl, "fast", g_err, sizeof g_err) == IPG_ERR_INVALID_ARG && strstr(g_err, "fast") &&
              strstr(g_err, "clblast"),
          "an unknown device-path is refused: %s", g_err);
    setenv("IPG_PATH", "turbo", 1);
    CHECK(ipg_kernel_path_select(&g_cl, NULL, g_err, sizeof g_err) == IPG_ERR_INVALID_ARG &&
              strstr(g_err, "IPG_PATH") && strstr(g_err, "turbo"),
          "an unknown IPG_PATH is refused: %s", g_err);
    setenv("IPG_PATH", "gpu", 1);
    CHECK(ipg_kernel_path_select(&g_cl, "auto", g_err, sizeof g_err) == IPG_OK && g_cl.path == IPG_PATH_GPU,
          "IPG_PATH=gpu chooses the gpu path: %s", g_err);
    CHECK(ipg_kernel_path_select(&g_cl, "cpu", g_err, sizeof g_err) == IPG_OK && g_cl.path == IPG_PATH_CPU,
          "the device-path parameter wins over IPG_PATH: %s", g_err);
    if (env)
        setenv("IPG_PATH", env, 1);
    else
        unsetenv("IPG_PATH");
    free(env);
    CHECK(ipg_kernel_path_set_tile(&g_cl, 0, 4, g_err, sizeof g_err) == IPG_ERR_INVALID_ARG,
          "an empty work-group is refused");
    g_cl.path = saved;
}

// Weights packed for one GPU tile are refused by a plan with another (the
// tile is fixed when the weights are uploaded).
static void test_tile_mismatch(void) {
    if (!use_path(IPG_PATH_GPU) || !use_tile(4, 4)) return;
    ipg_conv_host_t cv = { .name = "test", .cout = 5, .cin = 3, .kh = 1, .kw = 1, .stride = 1, .pad = 0 };
    float w[15] = { 0 }, b[5] = { 0 };
    cv.w = w;
    cv.b = b;
    ipg_conv_dev_t dev;
    ipg_plan_t p;
    plan_init(&p);
    ipg_tensor_t in = { 0 }, out = { 0 };
    CHECK(ipg_conv_upload(&g_cl, &cv, 0, 3, true, &dev, g_err, sizeof g_err) == IPG_OK && dev.mr == 4 * IPG_TILE_WM,
          "upload for a 4 x 4 work-group: %s", g_err);
    CHECK(ipg_plan_tensor(&p, &in, 3, 3, 3) == IPG_OK, "tensor: %s", g_err);
    use_tile(8, 8);
    CHECK(ipg_op_conv(&p, &dev, &in, NULL, false, &out) == IPG_ERR_INVALID_ARG && strstr(g_err, "packed"),
          "weights packed for another tile are refused: %s", g_err);
    ipg_conv_dev_free(&dev);
    ipg_plan_free(&p);
}

// The CLBlast tuning table's mechanism on this device: a row of CLBlast's
// own SM 8.0 Xgemm values applied with CLBlastOverrideParameters, then GEMMs
// large enough for CLBlast's indirect kernel stay correct; a row missing a
// parameter is refused with CLBlast's reason.
static void test_clblast_tuning(void) {
    if (!use_path(IPG_PATH_CLBLAST)) return;
    const ipg_clblast_params_t bad = { "", "Xgemm", 3, { "KWG", "KWI", "MDIMA" }, { 32, 2, 8 }, "test: incomplete" };
    CHECK(ipg_clblast_apply(&g_cl, &bad, g_err, sizeof g_err) != IPG_OK && strstr(g_err, "Xgemm") &&
              strstr(g_err, "missing"),
          "a row missing parameters is refused: %s", g_err);
    const ipg_clblast_params_t row = { "",
                                       "Xgemm",
                                       16,
                                       { "GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB", "NDIMC",
                                         "NWG", "SA", "SB", "STRM", "STRN", "VWM", "VWN" },
                                       { 0, 1, 32, 2, 8, 8, 32, 16, 16, 64, 1, 1, 0, 0, 4, 4 },
                                       "test: CLBlast 1.5.3 SM8.0 values" };
    CHECK(ipg_clblast_apply(&g_cl, &row, g_err, sizeof g_err) == IPG_OK, "a full Xgemm row applies: %s", g_err);
    test_conv(300, 200, 20, 21, 1, 1, 0, true, true, false);
    test_conv(64, 70, 1, 1000, 1, 1, 0, false, true, false);
}

// ---- RetinaNet top-k (retina-detect.cl: ipg_topk_select) --------------------------

typedef struct {
    float score;
    int32_t flat;
} topk_cand_t;

static int topk_by_score_then_flat(const void * pa, const void * pb) {
    const topk_cand_t *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->flat > b->flat) - (a->flat < b->flat);
}

static int int_asc(const void * pa, const void * pb) {
    const int32_t a = *(const int32_t *) pa, b = *(const int32_t *) pb;
    return (a > b) - (a < b);
}

// Levels of `n[l]` candidates (count `count[l]`, of which only `slots[l]`
// were stored), each in a shuffled order with unique flat indices. `values`
// > 0: scores drawn from that many values, so ties cross the cut. Checks the
// selected set per level against the host's (score desc, flat index asc)
// top k, and that a second shuffle of the same candidates selects the same.
static void test_topk_select(const char * name, int levels, const int * n, const int * count, int k, int values,
                             size_t L, int groups) {
    int total = 0, offsets[8], slots[8];
    for (int l = 0; l < levels; l++) {
        offsets[l] = total;
        slots[l] = n[l];
        total += n[l];
    }
    ipg_plan_t p;
    plan_init(&p);
    cl_mem score = ipg_plan_buffer(&p, (size_t) total * sizeof(float), NULL);
    cl_mem index = ipg_plan_buffer(&p, (size_t) total * sizeof(int32_t), NULL);
    cl_mem cnt = ipg_plan_buffer(&p, (size_t) levels * sizeof(int32_t), count);
    cl_mem off = ipg_plan_buffer(&p, (size_t) levels * sizeof(int32_t), offsets);
    cl_mem slt = ipg_plan_buffer(&p, (size_t) levels * sizeof(int32_t), slots);
    cl_mem top_score = ipg_plan_buffer(&p, (size_t) levels * k * sizeof(float), NULL);
    cl_mem top_index = ipg_plan_buffer(&p, (size_t) levels * k * sizeof(int32_t), NULL);
    cl_mem top_count = ipg_plan_buffer(&p, (size_t) levels * sizeof(int32_t), NULL);
    // groups > 0: the multi-group pair of select-groups.cl, as retina-post.c plans it
    const size_t parts = (size_t) levels * (groups > 0 ? groups : 1) * k;
    cl_mem part_score = ipg_plan_buffer(&p, parts * sizeof(float), NULL);
    cl_mem part_index = ipg_plan_buffer(&p, parts * sizeof(int32_t), NULL);
    ipg_step_t * st =
        top_count && part_index ? ipg_plan_step(&p, groups > 0 ? "ipg_topk_partial" : "ipg_topk_select") : NULL;
    size_t kernel_wg = 0;
    if (st &&
        clGetKernelWorkGroupInfo(st->kernel, g_cl.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_wg, &kernel_wg,
                                 NULL) == CL_SUCCESS &&
        kernel_wg > 0 && L > kernel_wg)
        L = kernel_wg;
    if (L > g_cl.max_wg_size) L = g_cl.max_wg_size;
    ipg_status_t rc = IPG_ERR_OPENCL;
    if (st && groups > 0) {
        ipg_step_mem(st, score);
        ipg_step_mem(st, index);
        ipg_step_mem(st, cnt);
        ipg_step_mem(st, off);
        ipg_step_mem(st, slt);
        ipg_step_int(st, k);
        ipg_step_int(st, groups);
        ipg_step_mem(st, part_score);
        ipg_step_mem(st, part_index);
        ipg_step_local(st, 256 * sizeof(cl_uint));
        ipg_step_range(st, 2, (size_t[]){ L * (size_t) groups, (size_t) levels }, (size_t[]){ L, 1 });
        st = ipg_plan_step(&p, "ipg_topk_merge");
        if (st) {
            ipg_step_mem(st, part_score);
            ipg_step_mem(st, part_index);
            ipg_step_mem(st, cnt);
            ipg_step_mem(st, slt);
            ipg_step_int(st, k);
            ipg_step_int(st, groups);
            ipg_step_mem(st, top_score);
            ipg_step_mem(st, top_index);
            ipg_step_mem(st, top_count);
            ipg_step_local(st, 256 * sizeof(cl_uint));
            ipg_step_range(st, 1, (size_t[]){ L * (size_t) levels }, (size_t[]){ L });
            rc = ipg_plan_finalize(&p);
        }
    } else if (st) {
        ipg_step_mem(st, score);
        ipg_step_mem(st, index);
        ipg_step_mem(st, cnt);
        ipg_step_mem(st, off);
        ipg_step_mem(st, slt);
        ipg_step_int(st, k);
        ipg_step_mem(st, top_score);
        ipg_step_mem(st, top_index);
        ipg_step_mem(st, top_count);
        ipg_step_local(st, 256 * sizeof(cl_uint));
        ipg_step_range(st, 1, (size_t[]){ L * (size_t) levels }, (size_t[]){ L });
        rc = ipg_plan_finalize(&p);
    }
    CHECK(rc == IPG_OK, "%s: setup: %s", name, g_err);
    topk_cand_t * c = malloc((size_t) total * sizeof *c);
    for (int l = 0; l < levels; l++)
        for (int i = 0; i < n[l]; i++) {
            topk_cand_t * e = &c[offsets[l] + i];
            const float u = 0.5f * (frand() + 1.0f);
            e->score = values > 0 ? 0.05f + 0.9f * (float) ((int) (u * values) % values) / (float) values : u;
            e->flat = 3 * i + (l % 3);   // unique, not contiguous
        }
    int32_t *want = malloc((size_t) levels * k * sizeof(int32_t)), want_n[8];
    for (int l = 0; l < levels; l++) {
        const int m = count[l] < slots[l] ? count[l] : slots[l];
        topk_cand_t * tmp = malloc((size_t) (m > 0 ? m : 1) * sizeof *tmp);
        memcpy(tmp, &c[offsets[l]], (size_t) m * sizeof *tmp);
        qsort(tmp, (size_t) m, sizeof *tmp, topk_by_score_then_flat);
        want_n[l] = m < k ? m : k;
        for (int i = 0; i < want_n[l]; i++) want[(size_t) l * k + i] = tmp[i].flat;
        qsort(&want[(size_t) l * k], (size_t) want_n[l], sizeof(int32_t), int_asc);
        free(tmp);
    }
    float * hs = malloc((size_t) total * sizeof(float));
    int32_t * hi = malloc((size_t) total * sizeof(int32_t));
    float * gs = malloc((size_t) levels * k * sizeof(float));
    int32_t *gi = malloc((size_t) levels * k * sizeof(int32_t)), gn[8];
    for (int round = 0; round < 2 && rc == IPG_OK; round++) {
        for (int l = 0; l < levels; l++)   // a fresh shuffle of each level's stored candidates
            for (int i = n[l] - 1; i > 0; i--) {
                g_rng ^= g_rng << 13;
                g_rng ^= g_rng >> 17;
                g_rng ^= g_rng << 5;
                const int j = (int) (g_rng % (uint32_t) (i + 1));
                topk_cand_t t = c[offsets[l] + i];
                c[offsets[l] + i] = c[offsets[l] + j];
                c[offsets[l] + j] = t;
            }
        for (int i = 0; i < total; i++) {
            hs[i] = c[i].score;
            hi[i] = c[i].flat;
        }
        cl_int e =
            clEnqueueWriteBuffer(g_cl.queue, score, CL_TRUE, 0, (size_t) total * sizeof(float), hs, 0, NULL, NULL);
        if (e == CL_SUCCESS)
            e = clEnqueueWriteBuffer(g_cl.queue, index, CL_TRUE, 0, (size_t) total * sizeof(int32_t), hi, 0, NULL,
                                     NULL);
        CHECK(e == CL_SUCCESS && ipg_plan_run(&p) == IPG_OK, "%s: run: %s", name, g_err);
        e = clEnqueueReadBuffer(g_cl.queue, top_score, CL_TRUE, 0, (size_t) levels * k * sizeof(float), gs, 0, NULL,
                                NULL);
        if (e == CL_SUCCESS)
            e = clEnqueueReadBuffer(g_cl.queue, top_index, CL_TRUE, 0, (size_t) levels * k * sizeof(int32_t), gi, 0,
                                    NULL, NULL);
        if (e == CL_SUCCESS)
            e = clEnqueueReadBuffer(g_cl.queue, top_count, CL_TRUE, 0, (size_t) levels * sizeof(int32_t), gn, 0, NULL,
                                    NULL);
        CHECK(e == CL_SUCCESS, "%s: read back: %s", name, ipg_cl_error_name(e));
        int wrong = 0, wrong_score = 0, wrong_n = 0;
        for (int l = 0; l < levels; l++) {
            const int m = count[l] < slots[l] ? count[l] : slots[l];
            topk_cand_t * tmp = malloc((size_t) (m > 0 ? m : 1) * sizeof *tmp);
            memcpy(tmp, &c[offsets[l]], (size_t) m * sizeof *tmp);
            qsort(tmp, (size_t) m, sizeof *tmp, topk_by_score_then_flat);
            uint32_t kk = 0;
            if (m > k) {
                float f = tmp[k - 1].score;
                memcpy(&kk, &f, 4);
                kk |= 0x80000000u;
            }
            printf("  %s groups %d level %d: device T %08x, host key %08x (k-1: %g, k: %g)\n", name, groups, l,
                   (unsigned) gn[l], kk, m > k ? tmp[k - 1].score : 0, m > k ? tmp[k].score : 0);
            free(tmp);
        }
        for (int l = 0; l < levels; l++) {
            if (gn[l] != want_n[l]) {
                wrong_n++;
                continue;
            }
            for (int i = 0; i < gn[l]; i++) {   // each slot's score is its candidate's
                const int32_t f = gi[(size_t) l * k + i];
                const topk_cand_t * src = NULL;
                for (int j = 0; j < n[l] && !src; j++)
                    if (c[offsets[l] + j].flat == f) src = &c[offsets[l] + j];
                wrong_score += !src || src->score != gs[(size_t) l * k + i];
            }
            qsort(&gi[(size_t) l * k], (size_t) gn[l], sizeof(int32_t), int_asc);
            int wrong_here = 0;
            for (int i = 0; i < gn[l]; i++) wrong_here += gi[(size_t) l * k + i] != want[(size_t) l * k + i];
            if (wrong_here) printf("  %s: level %d: %d of %d wrong\n", name, l, wrong_here, gn[l]);
            wrong += wrong_here;
        }
        CHECK(wrong_n == 0 && wrong == 0 && wrong_score == 0,
              "%s, %d groups, shuffle %d: %d levels with the wrong count, %d selected candidates not the top k "
              "(score desc, flat index asc), %d scores not their candidate's",
              name, groups, round + 1, wrong_n, wrong, wrong_score);
    }
    free(c);
    free(want);
    free(hs);
    free(hi);
    free(gs);
    free(gi);
    ipg_plan_free(&p);
}

// The oclgrind subset: both conv paths on partial tiles (batch 1 and 2), the
// spatial ops, relu, the top-k on a few hundred candidates, the plan checks.
static void run_small(void) {
    const int convs[][7] = {
        { 3, 13, 1, 1, 1, 1, 0 },  { 5, 7, 3, 17, 3, 1, 1 },
        { 2, 5, 2, 16, 3, 1, 1 },   // direct 3x3: one block a row (both ends' variant)
        { 3, 6, 2, 32, 3, 1, 1 },   // direct 3x3: a first and a full last block
        { 4, 9, 5, 3, 3, 2, 1 },   { 3, 5, 5, 9, 7, 2, 3 },
        { 3, 33, 3, 34, 3, 2, 1 },   // direct 3x3/2, 32 channels x 8 pixels (and the
                                     // im2col's stride-2 vector copy)
    };
    static const int batches[] = { 1, 2 };
    for (size_t b = 0; b < 2; b++) {
        g_batch = batches[b];
        // Every kernel path; the GPU path also with an odd work-group.
        for (int path = IPG_PATH_CPU; path <= IPG_PATH_CLBLAST; path++) {
            if (skip_path((ipg_kernel_path_t) path) || !use_path((ipg_kernel_path_t) path)) continue;
            for (int tile = 0; tile < (path == IPG_PATH_GPU ? 2 : 1); tile++) {
                if (tile == 1 && !use_tile(3, 5)) continue;
                for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) {
                    const int * c = convs[i];
                    test_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], true, true, false);
                    if (path == IPG_PATH_CPU && ((c[4] == 3 && c[5] == 1) || (c[4] >= 3 && c[5] == 2)))
                        test_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], true, true, true);
                }
                test_conv_levels(3, 5, 3, true);
            }
        }
        test_maxpool(3, 3, 5);
        test_maxpool(2, 3, 63);
        test_downsample(3, 5, 7);
        test_downsample(2, 4, 40);
        test_relu(3, 3, 5);
        test_upsample_add(3, 5, 7, 3, 4);
        test_retina_candidates(9, 3, 7, 0.05f, g_batch - 1);
    }
    g_batch = 1;
    test_arg_cap();
    test_local_sizes();
    test_max_alloc();
    // not test_launch_errors: --check-api reports its deliberate bad launch
    test_conv_chunked(true);
    test_path_choice();
    const int n1[2] = { 40, 300 }, c1[2] = { 40, 300 };
    const int n2[1] = { 200 }, c2[1] = { 200 };
    for (int groups = 0; groups <= 3; groups += 3) {   // one work-group per level; 3 and a merge
        test_topk_select("topk distinct", 2, n1, c1, 30, 0, 64, groups);
        test_topk_select("topk ties, local 7", 1, n2, c2, 50, 3, 7, groups);
    }
}

int main(int argc, char ** argv) {
    const bool small = argc > 1 && strcmp(argv[1], "--small") == 0;
    const char * dev = getenv("IPG_TEST_DEVICE");
    if (ipg_cl_init(&g_cl, dev, false, g_err, sizeof g_err) != IPG_OK) {
        printf("FAIL: no OpenCL device: %s\n", g_err);
        return 1;
    }
    printf("device: %s, kernel path %s\n", g_cl.device_name, ipg_kernel_path_name(g_cl.path));
    g_default_path = g_cl.path;
    if (small) {
        run_small();
        ipg_cl_free(&g_cl);
        printf("%d passed, %d failed\n", g_passed, g_failed);
        return g_failed ? 1 : 0;
    }
    // (cin, cout, h, w, k, stride, pad): 1x1 images, odd sizes, 13 and 24 channels.
    const int convs[][7] = {
        { 3, 13, 1, 1, 1, 1, 0 },
        { 3, 13, 1, 1, 3, 1, 1 },
        { 13, 24, 3, 5, 3, 1, 1 },
        { 24, 13, 5, 3, 3, 2, 1 },
        { 3, 24, 13, 11, 7, 2, 3 },
        { 24, 24, 9, 7, 1, 2, 0 },
        { 13, 8, 17, 3, 1, 1, 0 },
        { 24, 9, 4, 4, 3, 2, 1 },
        { 5, 17, 33, 31, 3, 1, 1 },
        // wide rows: the pack's in-row vector paths (stride 1 and 2), next to
        // blocks that wrap a row or touch the padding
        { 5, 19, 7, 70, 3, 1, 1 },
        { 6, 21, 9, 133, 3, 2, 1 },
        { 4, 18, 5, 96, 1, 1, 0 },
        { 7, 13, 6, 130, 1, 2, 0 },
        { 3, 16, 6, 100, 7, 2, 3 },
        // conv-direct-s2.cl: 5x5/2 on odd sizes, a partial MR tile, rows
        // with an interior block and a partial last block
        { 5, 17, 9, 70, 5, 2, 2 },
        { 3, 33, 7, 129, 7, 2, 3 },
        // 3x3/2 through conv-direct-s2.cl (32 and 33 output columns)
        { 5, 20, 7, 64, 3, 2, 1 },
        { 4, 17, 6, 65, 3, 2, 1 },
        // ... its 32-channel x 8-pixel blocks (ipg_conv_direct_s2_c32): 33
        // channels (a pair with one block past M), 17 output columns (a
        // padded first block, an interior one, one lane), 40 channels and 20
        // columns (a partial MR tile, 4 lanes)
        { 5, 33, 7, 64, 3, 2, 1 },
        { 6, 48, 9, 33, 3, 2, 1 },
        { 7, 40, 4, 40, 3, 2, 1 },
        // direct 3x3: widths 16 and 32 (all blocks full: the row-end
        // variants of conv-direct.cl), 17 (one-lane last block), 47, 1 row,
        // 35 output channels (a partial MR tile); 2 rows of 50 (interior
        // blocks with both padding rows, a 2-lane last block)
        { 4, 16, 5, 16, 3, 1, 1 },
        { 6, 40, 2, 50, 3, 1, 1 },
        { 3, 35, 4, 32, 3, 1, 1 },
        { 5, 7, 3, 17, 3, 1, 1 },
        { 9, 20, 1, 47, 3, 1, 1 },
    };
    // Every kernel path against the same references; the GPU path with the
    // device's work-group, one of a single work-item, and odd ones (tiles
    // of 12 x 20 and 28 x 4: nothing divides).
    static const size_t tiles[][2] = { { 0, 0 }, { 1, 1 }, { 3, 5 }, { 7, 1 } };
    for (int path = IPG_PATH_CPU; path <= IPG_PATH_CLBLAST; path++) {
        const size_t n_tiles = path == IPG_PATH_GPU ? sizeof tiles / sizeof tiles[0] : 1;
        for (size_t t = 0; t < n_tiles; t++) {
            if (!use_path((ipg_kernel_path_t) path)) continue;
            if (tiles[t][0] && !use_tile(tiles[t][0], tiles[t][1])) continue;
            g_batch = 1;
            for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) {
                const int * c = convs[i];
                test_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], false, false, false);
                test_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], true, true, false);
                // 3x3 stride-1 and wide stride-2 convs default to conv-direct.cl
                // and conv-direct-s2.cl on the CPU path: check the im2col path too
                if (path == IPG_PATH_CPU && ((c[4] == 3 && c[5] == 1) || (c[4] >= 3 && c[5] == 2)))
                    test_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], true, true, true);
            }
            // A batch of 3 odd-sized images, each its own reference.
            g_batch = 3;
            for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) {
                const int * c = convs[i];
                test_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], true, true, false);
                if (path == IPG_PATH_CPU && ((c[4] == 3 && c[5] == 1) || (c[4] >= 3 && c[5] == 2)))
                    test_conv(c[0], c[1], c[2], c[3], c[4], c[5], c[6], true, true, true);
            }
            g_batch = 1;
            test_conv_split();
            for (g_batch = 1; g_batch <= 2; g_batch++) {
                test_conv_levels(7, 19, 3, true);
                test_conv_levels(9, 5, 1, false);
            }
            g_batch = 1;
        }
    }
    test_path_choice();
    test_tile_mismatch();
    test_clblast_tuning();
    // The rest does not depend on the path: the device's own.
    if (!use_path(g_default_path)) return 1;
    // The spatial ops, single images then batches of 3 and 2 (odd sizes).
    static const int batches[] = { 1, 3, 2 };
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        g_batch = batches[i];
        test_maxpool(13, 1, 1);
        test_maxpool(3, 3, 5);
        test_maxpool(24, 13, 7);
        test_maxpool(2, 16, 16);
        // wide rows: the vector path of interior blocks, a partial last block
        test_maxpool(3, 7, 100);
        test_maxpool(5, 9, 131);
        // all segments in the vector path (the first one's left tap is
        // padding), one row, and an odd width whose last full segment
        // reaches past the row (element by element)
        test_maxpool(3, 4, 64);
        test_maxpool(2, 1, 64);
        test_maxpool(2, 5, 63);
        test_downsample(3, 2, 2);
        test_downsample(13, 6, 10);
        test_downsample(3, 5, 7);
        // wide rows: 16-output vector segments (even sizes), a partial last
        // segment (odd sizes go pixel by pixel, as 5 x 7 above; wider odd
        // rows differ from this float64 reference by ~2e-6 of the largest
        // value, the float source index, before and after the vector path)
        test_downsample(3, 8, 64);
        test_downsample(2, 6, 70);
        test_downsample(1, 2, 34);
        test_relu(13, 3, 5);
        test_relu(1, 7, 1);
        test_upsample_add(13, 6, 10, 3, 5);
        test_upsample_add(3, 5, 7, 3, 4);
        test_upsample_add(24, 1, 1, 1, 1);
        // the skip floor (0.05, 0.5), none (0.995, 0: every score counts),
        // planes of 1, 21 (a partial vector) and 4096 logits
        for (int last = 0; last < 2; last++) {
            const int image = last ? g_batch - 1 : 0;
            test_retina_candidates(9, 3, 7, 0.05f, image);
            test_retina_candidates(6, 1, 1, 0.5f, image);
            test_retina_candidates(90, 64, 64, 0.05f, image);
            test_retina_candidates(12, 5, 17, 0.995f, image);
            test_retina_candidates(3, 16, 3, 0.0f, image);
        }
    }
    g_batch = 1;
    test_anchors();
    test_nms();
    test_arg_cap();
    test_local_sizes();
    test_max_alloc();
    test_launch_errors();
    test_conv_chunked(false);
    {
        // one level under k, one over with distinct scores, one whose
        // stored candidates are fewer than counted; each with one work-group
        // per level (0) and with partial selects over 2, 5 and 32 groups
        // and a merge (select-groups.cl): the same sets
        static const int group_counts[] = { 0, 2, 5, 32 };
        for (size_t gi = 0; gi < sizeof group_counts / sizeof group_counts[0]; gi++) {
            const int groups = group_counts[gi];
            const int n1[3] = { 40, 3000, 700 }, c1[3] = { 40, 3000, 900 };
            test_topk_select("topk distinct", 3, n1, c1, 100, 0, 256, groups);
            // ties across the cut: 7 score values over 5000 candidates
            const int n2[2] = { 5000, 1500 }, c2[2] = { 5000, 1500 };
            test_topk_select("topk ties", 2, n2, c2, 1000, 7, 256, groups);
            test_topk_select("topk ties, local 7", 2, n2, c2, 1000, 7, 7, groups);
            test_topk_select("topk ties, local 1", 2, n2, c2, 333, 3, 1, groups);
            // every candidate tied
            const int n3[1] = { 4097 }, c3[1] = { 4097 };
            test_topk_select("topk all tied", 1, n3, c3, 1000, 1, 64, groups);
            // a level just over k (slices all under k), one of 0, one of 1
            const int n4[3] = { 101, 0, 1 }, c4[3] = { 101, 0, 1 };
            test_topk_select("topk just over k, 0 and 1", 3, n4, c4, 100, 5, 32, groups);
        }
    }
    ipg_cl_free(&g_cl);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
