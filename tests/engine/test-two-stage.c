// SPDX-License-Identifier: LGPL-2.1-or-later
// test-two-stage.c: Faster R-CNN's device kernels launched directly through
// a plan, each against a naive host reference written from torchvision
// 0.14's semantics:
//   1. ipg_roi_align (roi-align.cl): MultiScaleRoIAlign over four levels,
//      LevelMapper (224, level 4, eps 1e-6) and roi_align's CPU sampler
//      (aligned = false, fixed sampling ratio); boxes inside, on and across
//      the border, outside, tiny, zero-area, huge, on level boundaries; the
//      columns past the RoI count zero.
//   2. the proposal chain (proposals.cl): ipg_rpn_select -> ipg_rpn_sort_decode
//      -> ipg_nms_mask -> ipg_nms_scan_group per level, then ipg_rpn_merge, as
//      RegionProposalNetwork.filter_proposals at test time; each stage
//      checked, plus hand-made NMS and merge cases (IoU exactly at the
//      threshold, invalid boxes, suppression chains, ties across levels),
//      and random NMS (0, 1, odd and > 64 boxes, duplicates) where the
//      serial ipg_nms_scan and the work-group pass at several local sizes
//      keep the host's boxes in the host's order.
//   3. ipg_rcnn_candidates (rcnn-detect.cl): RoIHeads.postprocess_detections
//      up to the class-wise NMS, compared as sets keyed by r * K + j - 1.
// Tie rules the kernels document and the test holds them to: the top k of a
// level sorted by (logit descending, flat anchor index ascending); a tie
// across the top-k cut resolved by memory order ([A][h][w]); merged RoIs by
// (score descending, level ascending, order in the level).
// Inputs are seeded. Where two correct float implementations could decide
// differently (a value within rounding of a threshold or of the sampler's
// cut-offs), the reference accepts either verdict (RoIAlign, candidates) or
// refuses the data ("test data" checks: proposals), so that the comparisons
// hold on any conforming OpenCL device. Runs on IPG_TEST_DEVICE (default: auto).
#include "arch.h"   // IPG_NMS_SCAN_WG
#include "log.h"
#include "plan.h"
#include "post.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_failed = 0, g_passed = 0;
static ipg_cl_t g_cl;
static char g_err[IPG_ERR_LEN];

#define MAX_FAIL_LINES 100
#define CHECK(cond, ...)                                \
    do {                                                \
        if (cond) {                                     \
            g_passed++;                                 \
        } else if (g_failed++ < MAX_FAIL_LINES) {       \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
        }                                               \
    } while (0)

static uint32_t g_rng = 20250611u;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}
static float urand(void) { return (float) (rnd() >> 8) / (float) (1u << 24); }   // [0, 1)
static float frand(void) { return 2.0f * urand() - 1.0f; }                       // [-1, 1)
static float urange(float lo, float hi) { return lo + (hi - lo) * urand(); }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static void plan_init(ipg_plan_t * p) {
    memset(p, 0, sizeof *p);
    p->cl = &g_cl;
    p->err = g_err;
    p->err_size = sizeof g_err;
}

static void write_buf(cl_mem m, const void * host, size_t bytes) {
    cl_int rc = clEnqueueWriteBuffer(g_cl.queue, m, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    CHECK(rc == CL_SUCCESS, "write of %zu bytes: %s", bytes, ipg_cl_error_name(rc));
}

static void read_buf(cl_mem m, void * host, size_t bytes) {
    cl_int rc = clEnqueueReadBuffer(g_cl.queue, m, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    CHECK(rc == CL_SUCCESS, "read of %zu bytes: %s", bytes, ipg_cl_error_name(rc));
}

static void fill_floats(cl_mem m, float v, size_t n) {
    float * h = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = v;
    write_buf(m, h, n * sizeof(float));
    free(h);
}

// |got - want| <= tol * max(|want|, 1)
static bool close_to(float got, float want, float tol) { return fabsf(got - want) <= tol * fmaxf(fabsf(want), 1.0f); }

static bool boxes_close(const float * got, const float * want, float tol) {
    for (int i = 0; i < 4; i++)
        if (!close_to(got[i], want[i], tol)) return false;
    return true;
}

// ipg_order_key (common.cl): floats as uints in the same order.
static uint32_t order_key(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// torchvision BoxCoder.decode_single for one box (float32, the operation
// order of box_coder.py), dw and dh clamped at `clip`, then
// clip_boxes_to_image.
static void ref_decode(const float a[4], const float d[4], const float wt[4], float clip, float image_w, float image_h,
                       float out[4]) {
    const float widths = a[2] - a[0], heights = a[3] - a[1];
    const float ctr_x = a[0] + 0.5f * widths, ctr_y = a[1] + 0.5f * heights;
    const float dx = d[0] / wt[0], dy = d[1] / wt[1];
    float dw = d[2] / wt[2], dh = d[3] / wt[3];
    if (dw > clip) dw = clip;
    if (dh > clip) dh = clip;
    const float pcx = dx * widths + ctr_x, pcy = dy * heights + ctr_y;
    const float pw = expf(dw) * widths, ph = expf(dh) * heights;
    const float cw = 0.5f * pw, ch = 0.5f * ph;
    const float b[4] = { pcx - cw, pcy - ch, pcx + cw, pcy + ch };
    const float lim[4] = { image_w, image_h, image_w, image_h };
    for (int i = 0; i < 4; i++) out[i] = b[i] < 0.0f ? 0.0f : (b[i] > lim[i] ? lim[i] : b[i]);
}

// torchvision's CPU nms kernel's IoU.
static float ref_iou(const float * a, const float * b) {
    const float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
    const float w = fmaxf(0.0f, fminf(a[2], b[2]) - fmaxf(a[0], b[0]));
    const float h = fmaxf(0.0f, fminf(a[3], b[3]) - fmaxf(a[1], b[1]));
    const float inter = w * h;
    return inter / (area_a + area_b - inter);
}

static const float g_clip_default = 4.135166556742356f;   // log(1000 / 16)

// =============================================================================
// 1. RoIAlign
// =============================================================================

typedef struct {
    int h, w;
    float scale;
} fmap_t;

#define K_MIN 2   // P2..P5

// LevelMapper (poolers.py) in float32: floor(4 + log2(sqrt(area) / 224) + eps),
// clamped to [k_min, k_min + 3] (-inf for a zero area clamps to k_min).
static int ref_level(const float b[4], float eps) {
    const float s = sqrtf((b[2] - b[0]) * (b[3] - b[1]));
    float t = floorf(4.0f + log2f(s / 224.0f) + eps);
    if (t < (float) K_MIN) t = (float) K_MIN;
    if (t > (float) (K_MIN + 3)) t = (float) (K_MIN + 3);
    return (int) t - K_MIN;
}

// roi_align's bilinear_interpolate (torchvision/csrc/ops/cpu/roi_align_kernel.cpp).
static float ref_bilinear(const float * plane, int h, int w, float y, float x) {
    if (y < -1.0f || y > (float) h || x < -1.0f || x > (float) w) return 0.0f;
    if (y <= 0.0f) y = 0.0f;
    if (x <= 0.0f) x = 0.0f;
    int y_low = (int) y, x_low = (int) x, y_high, x_high;
    if (y_low >= h - 1) {
        y_high = y_low = h - 1;
        y = (float) y_low;
    } else {
        y_high = y_low + 1;
    }
    if (x_low >= w - 1) {
        x_high = x_low = w - 1;
        x = (float) x_low;
    } else {
        x_high = x_low + 1;
    }
    const float ly = y - (float) y_low, lx = x - (float) x_low;
    const float hy = 1.0f - ly, hx = 1.0f - lx;
    const float w1 = hy * hx, w2 = hy * lx, w3 = ly * hx, w4 = ly * lx;
    return w1 * plane[y_low * w + x_low] + w2 * plane[y_low * w + x_high] + w3 * plane[y_high * w + x_low] +
           w4 * plane[y_high * w + x_high];
}

// The sample coordinates of a RoI at its level, as roi_align computes them.
static void roi_geometry(const float b[4], float scale, int S, int sr, float * start_w, float * start_h, float * bin_w,
                         float * bin_h) {
    *start_w = b[0] * scale;
    *start_h = b[1] * scale;
    const float end_w = b[2] * scale, end_h = b[3] * scale;
    const float roi_w = fmaxf(end_w - *start_w, 1.0f), roi_h = fmaxf(end_h - *start_h, 1.0f);
    *bin_w = roi_w / (float) S;
    *bin_h = roi_h / (float) S;
}

static float sample_coord(float start, int p, float bin, int i, int sr) {
    return start + (float) p * bin + ((float) i + 0.5f) * bin / (float) sr;
}

// MultiScaleRoIAlign: out [C * S * S][max_rois], columns >= count zero.
static void ref_roi_align(const float * const feats[4], const fmap_t maps[4], int C, int S, int sr, const float * rois,
                          int count, int max_rois, float * out) {
    memset(out, 0, (size_t) C * S * S * max_rois * sizeof(float));
    for (int r = 0; r < count; r++) {
        const float * b = rois + 4 * r;
        const int l = ref_level(b, 1e-6f);
        const fmap_t * m = &maps[l];
        float sw, sh, bw, bh;
        roi_geometry(b, m->scale, S, sr, &sw, &sh, &bw, &bh);
        for (int c = 0; c < C; c++) {
            const float * plane = feats[l] + (size_t) c * m->h * m->w;
            for (int ph = 0; ph < S; ph++)
                for (int pw = 0; pw < S; pw++) {
                    float sum = 0.0f;
                    for (int iy = 0; iy < sr; iy++) {
                        const float y = sample_coord(sh, ph, bh, iy, sr);
                        for (int ix = 0; ix < sr; ix++)
                            sum += ref_bilinear(plane, m->h, m->w, y, sample_coord(sw, pw, bw, ix, sr));
                    }
                    out[((size_t) (c * S + ph) * S + pw) * max_rois + r] = sum / (float) (sr * sr);
                }
        }
    }
}

// True where two correct float implementations could disagree: the level
// value within rounding of an integer (other than exactly on it plus eps,
// which the eps exists for), or a sample within 1e-3 of the sampler's
// cut-offs at -1 and h / w (the one discontinuity of bilinear_interpolate).
static bool roi_fragile(const float b[4], const fmap_t maps[4], int S, int sr) {
    const double area = ((double) b[2] - b[0]) * ((double) b[3] - b[1]);
    if (area > 0) {
        const double v = 4.0 + log2(sqrt(area) / 224.0) + 1e-6, n = rint(v);
        if (n > K_MIN && n <= K_MIN + 3 && fabs(v - n) < 4e-7) return true;   // only 3 | 4 | 5 matter
    }
    const fmap_t * m = &maps[ref_level(b, 1e-6f)];
    float sw, sh, bw, bh;
    roi_geometry(b, m->scale, S, sr, &sw, &sh, &bw, &bh);
    for (int p = 0; p < S; p++)
        for (int i = 0; i < sr; i++) {
            const float y = sample_coord(sh, p, bh, i, sr), x = sample_coord(sw, p, bw, i, sr);
            if (fabsf(y + 1.0f) < 1e-3f || fabsf(y - (float) m->h) < 1e-3f) return true;
            if (fabsf(x + 1.0f) < 1e-3f || fabsf(x - (float) m->w) < 1e-3f) return true;
        }
    return false;
}

#define MAX_ROI_BOXES 96

typedef struct {
    int n, n_fixed;   // hand-made boxes first, then random ones
    float b[MAX_ROI_BOXES][4];
    const char * name[MAX_ROI_BOXES];
} roi_boxes_t;

static void add_box(roi_boxes_t * set, const char * name, float x1, float y1, float x2, float y2) {
    if (set->n >= MAX_ROI_BOXES) return;
    set->b[set->n][0] = x1;
    set->b[set->n][1] = y1;
    set->b[set->n][2] = x2;
    set->b[set->n][3] = y2;
    set->name[set->n++] = name;
}

// A square of `side` at (x0, y0), shrunk by ulps until LevelMapper needs its
// eps: without the +1e-6, floor() drops it one level.
static bool add_eps_critical(roi_boxes_t * set, const char * name, float x0, float y0, float side) {
    float b[4] = { x0, y0, x0 + side, y0 + side };
    for (int i = 0; i < 64; i++) {
        b[3] = nextafterf(b[3], -INFINITY);
        if (ref_level(b, 0.0f) != ref_level(b, 1e-6f)) {
            add_box(set, name, b[0], b[1], b[2], b[3]);
            return true;
        }
    }
    return false;
}

// The boxes for an image of W x H (network-input pixels).
static void make_roi_boxes(roi_boxes_t * set, float W, float H) {
    memset(set, 0, sizeof *set);
    add_box(set, "inside small", 10.3f, 12.7f, 30.1f, 41.9f);
    add_box(set, "inside", 5.5f, 20.25f, W - 5.5f, H - 4.25f);
    add_box(set, "touching top-left", 0.0f, 0.0f, 40.0f, 33.0f);
    add_box(set, "touching bottom-right", W - 37.5f, H - 25.25f, W, H);
    add_box(set, "the whole image", 0.0f, 0.0f, W, H);
    add_box(set, "crossing left", -30.6f, 10.2f, 25.3f, 60.7f);
    add_box(set, "crossing top and right", 50.2f, -40.3f, W + 30.4f, 20.6f);
    add_box(set, "crossing bottom", 20.1f, H - 15.3f, 60.8f, H + 35.7f);
    add_box(set, "across the whole image", -20.3f, -30.7f, W + 25.1f, H + 15.9f);
    add_box(set, "outside left", -90.3f, 10.1f, -40.7f, 50.2f);
    add_box(set, "outside above", 10.2f, -70.6f, 50.9f, -30.1f);
    add_box(set, "outside right", W + 20.3f, 30.1f, W + 80.9f, 70.4f);
    add_box(set, "outside below", 5.1f, H + 10.2f, 45.3f, H + 60.7f);
    add_box(set, "outside, far", -1000.5f, -900.25f, -800.75f, -700.5f);
    add_box(set, "just outside left (samples in [-1, 0) and below -1)", -7.9f, 30.2f, -0.3f, 50.1f);
    add_box(set, "just outside below", 12.2f, H + 0.3f, 30.9f, H + 7.7f);
    add_box(set, "tiny width", 30.2f, 40.1f, 30.7f, 48.3f);
    add_box(set, "tiny height", 12.1f, 50.3f, 25.6f, 50.35f);
    add_box(set, "tiny", 60.1f, 70.2f, 60.4f, 70.6f);
    add_box(set, "zero area (a point)", 33.3f, 44.4f, 33.3f, 44.4f);
    add_box(set, "zero width", 20.0f, 10.0f, 20.0f, 90.0f);
    add_box(set, "zero height", 3.5f, 7.25f, 70.5f, 7.25f);
    add_box(set, "huge", -300.2f, -250.7f, 420.3f, 510.9f);
    add_box(set, "huge, around the image", -500.0f, -500.0f, W + 500.0f, H + 500.0f);
    // sqrt(area) exactly on the level boundaries (levels 3 | 4 | 5 at 112,
    // 224, 448) and half a pixel either side.
    // (Corners at odd quarters keep every sample off the sampler's cut-offs.)
    add_box(set, "side 112 (level 3)", 3.25f, 5.75f, 115.25f, 117.75f);
    add_box(set, "side 111.5 (level 2)", 3.25f, 5.75f, 114.75f, 117.25f);
    add_box(set, "side 112.5 (level 3)", 3.25f, 5.75f, 115.75f, 118.25f);
    add_box(set, "side 224 (level 4)", -50.25f, -60.75f, 173.75f, 163.25f);
    add_box(set, "side 223.5 (level 3)", -50.25f, -60.75f, 173.25f, 162.75f);
    add_box(set, "side 224.5 (level 4)", -50.25f, -60.75f, 174.25f, 163.75f);
    add_box(set, "side 448 (level 5)", -150.25f, -160.75f, 297.75f, 287.25f);
    add_box(set, "side 447.5 (level 4)", -150.25f, -160.75f, 297.25f, 286.75f);
    add_box(set, "side 448.5 (level 5)", -150.25f, -160.75f, 298.25f, 287.75f);
    add_box(set, "56 x 224 (sqrt(area) 112)", 10.25f, -20.75f, 66.25f, 203.25f);
    add_box(set, "98 x 512 (sqrt(area) 224)", -10.75f, -200.25f, 87.25f, 311.75f);
    add_box(set, "392 x 512 (sqrt(area) 448)", -150.25f, -200.75f, 241.75f, 311.25f);
    const int before = set->n;
    add_eps_critical(set, "side 112 less ulps (level 3 only with eps)", 4.25f, 2.75f, 112.0f);
    add_eps_critical(set, "side 224 less ulps (level 4 only with eps)", -20.25f, -30.75f, 224.0f);
    add_eps_critical(set, "side 448 less ulps (level 5 only with eps)", -100.25f, -90.75f, 448.0f);
    CHECK(set->n == before + 3, "test data: found %d of 3 boxes whose level needs the eps", set->n - before);
    set->n_fixed = set->n;
    while (set->n < MAX_ROI_BOXES) {   // random: sqrt(area) log-uniform in [1, 700], aspect 1/4 .. 4
        const float s = expf(urange(0.0f, logf(700.0f))), aspect = expf(urange(logf(0.25f), logf(4.0f)));
        const float bw = s * sqrtf(aspect), bh = s / sqrtf(aspect);
        const float cx = urange(-40.0f, W + 40.0f), cy = urange(-40.0f, H + 40.0f);
        add_box(set, "random", cx - 0.5f * bw, cy - 0.5f * bh, cx + 0.5f * bw, cy + 0.5f * bh);
    }
}

static float infer_scale(int feature, int image) {   // MultiScaleRoIAlign._infer_scale
    return (float) pow(2.0, rint(log2((double) feature / (double) image)));
}

// One launch of ipg_roi_align: the first `count` of max_rois RoIs are the
// first boxes of `set` (rows past the count hold boxes too: they must not
// matter).
static void test_roi_align(int H, int W, int C, int S, int sr, int count, int max_rois) {
    roi_boxes_t set;
    make_roi_boxes(&set, (float) W, (float) H);
    char what[96];
    snprintf(what, sizeof what, "roi_align %dx%d C=%d S=%d sampling=%d RoIs %d of %d", W, H, C, S, sr, count, max_rois);
    fmap_t maps[4];
    int h = (H + 3) / 4, w = (W + 3) / 4;   // P2 = ceil(H / 4), then stride-2 halvings (ceil)
    for (int l = 0; l < 4; l++) {
        maps[l].h = h;
        maps[l].w = w;
        maps[l].scale = infer_scale(h, H);
        CHECK(maps[l].scale == ldexpf(1.0f, -(l + K_MIN)), "%s: level %d (%dx%d) scale %g", what, l, w, h,
              maps[l].scale);
        h = (h + 1) / 2;
        w = (w + 1) / 2;
    }
    float * feats[4];
    for (int l = 0; l < 4; l++) {
        const size_t n = (size_t) C * maps[l].h * maps[l].w;
        feats[l] = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) feats[l][i] = frand();
    }
    float * rois = malloc((size_t) max_rois * 4 * sizeof(float));
    for (int r = 0; r < max_rois; r++) memcpy(rois + 4 * r, set.b[r % set.n], 4 * sizeof(float));
    const size_t n_out = (size_t) C * S * S * max_rois;
    float *want = malloc(n_out * sizeof(float)), *got = malloc(n_out * sizeof(float));
    ref_roi_align((const float * const *) feats, maps, C, S, sr, rois, count, max_rois, want);

    ipg_plan_t p;
    plan_init(&p);
    ipg_tensor_t tf[4] = { { 0 } }, trois = { 0 }, tout = { 0 };
    ipg_status_t st = IPG_OK;
    for (int l = 0; l < 4 && st == IPG_OK; l++) st = ipg_plan_tensor(&p, &tf[l], C, maps[l].h, maps[l].w);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &trois, 1, max_rois, 4);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tout, C * S * S, 1, max_rois);
    cl_mem tcount = st == IPG_OK ? ipg_plan_buffer(&p, sizeof(cl_int), &count) : NULL;
    // The launches of arch/roi-head.c: each level channel-last, then RoIAlign.
    cl_mem nhwc[4] = { NULL };
    bool planned = tcount != NULL;
    for (int l = 0; l < 4 && planned; l++) {
        nhwc[l] = ipg_plan_buffer(&p, (size_t) C * maps[l].h * maps[l].w * sizeof(float), NULL);
        ipg_step_t * t = nhwc[l] ? ipg_plan_step(&p, "ipg_nchw_to_nhwc") : NULL;
        planned = t != NULL;
        if (!planned) break;
        ipg_step_mem(t, tf[l].buf);
        ipg_step_int(t, C);
        ipg_step_int(t, maps[l].h);
        ipg_step_int(t, maps[l].w);
        ipg_step_mem(t, nhwc[l]);
        ipg_step_range(t, 3, (size_t[]){ (size_t) maps[l].w, (size_t) maps[l].h, (size_t) C }, NULL);
    }
    ipg_step_t * s = planned ? ipg_plan_step(&p, "ipg_roi_align") : NULL;
    if (s) {
        ipg_step_mem(s, trois.buf);
        ipg_step_mem(s, tcount);
        ipg_step_int(s, max_rois);
        for (int l = 0; l < 4; l++) {
            ipg_step_mem(s, nhwc[l]);
            ipg_step_int(s, maps[l].h);
            ipg_step_int(s, maps[l].w);
            ipg_step_float(s, maps[l].scale);
        }
        ipg_step_int(s, K_MIN);
        ipg_step_int(s, S);
        ipg_step_int(s, sr);
        ipg_step_int(s, C);
        ipg_step_mem(s, tout.buf);
        ipg_step_range(s, 2, (size_t[]){ (size_t) max_rois, (size_t) S * S }, NULL);
        st = ipg_plan_finalize(&p);
    } else {
        st = IPG_ERR_OPENCL;
    }
    CHECK(st == IPG_OK, "%s setup: %s", what, g_err);
    if (st == IPG_OK) {
        for (int l = 0; l < 4; l++) write_buf(tf[l].buf, feats[l], (size_t) C * maps[l].h * maps[l].w * sizeof(float));
        write_buf(trois.buf, rois, (size_t) max_rois * 4 * sizeof(float));
        fill_floats(tout.buf, 1234.5f, n_out);   // every element must be written
        CHECK(ipg_plan_run(&p) == IPG_OK, "%s run: %s", what, g_err);
        read_buf(tout.buf, got, n_out * sizeof(float));
        int fragile = 0;
        for (int r = 0; r < max_rois; r++) {
            const char * name = set.name[r % set.n];
            if (r >= count) {
                int nonzero = 0;
                for (size_t k = 0; k < n_out / max_rois; k++) nonzero += got[k * max_rois + r] != 0.0f;
                CHECK(nonzero == 0, "%s: RoI %d (past the count) has %d non-zero features", what, r, nonzero);
                continue;
            }
            if (roi_fragile(rois + 4 * r, maps, S, sr)) {
                CHECK(r % set.n >= set.n_fixed, "test data: %s: hand-made RoI %d (%s) sits on a rounding edge", what, r,
                      name);
                fragile++;
                continue;
            }
            double max_diff = 0, max_ref = 1.0;
            size_t worst = 0;
            for (size_t k = 0; k < n_out / max_rois; k++) {
                const size_t i = k * max_rois + r;
                const double d = fabs((double) got[i] - want[i]);
                if (!(d <= max_diff)) {
                    max_diff = d;
                    worst = k;
                }
                if (fabs(want[i]) > max_ref) max_ref = fabs(want[i]);
            }
            const float * b = rois + 4 * r;
            CHECK(max_diff <= 2e-5 * max_ref,
                  "%s: RoI %d (%s: %g,%g,%g,%g, level %d): feature %zu got %g want %g (max diff %.3g)", what, r, name,
                  b[0], b[1], b[2], b[3], ref_level(b, 1e-6f) + K_MIN, worst, got[worst * max_rois + r],
                  want[worst * max_rois + r], max_diff);
        }
        if (fragile) printf("  %s: %d random RoIs skipped (on a rounding edge)\n", what, fragile);
    }
    ipg_plan_free(&p);
    for (int l = 0; l < 4; l++) free(feats[l]);
    free(rois);
    free(want);
    free(got);
}

// The reference's own LevelMapper on the hand-made boundary boxes.
static void test_level_mapper_ref(void) {
    static const struct {
        float b[4];
        int level;
    } cases[] = {
        { { 0, 0, 112, 112 }, 3 },       { { 0, 0, 111.5f, 111.5f }, 2 }, { { 0, 0, 224, 224 }, 4 },
        { { 0, 0, 223.5f, 223.5f }, 3 }, { { 0, 0, 448, 448 }, 5 },       { { 0, 0, 1000, 1000 }, 5 },
        { { 5, 5, 5, 5 }, 2 },           { { 0, 0, 0.5f, 0.5f }, 2 },     { { 0, 0, 56, 224 }, 3 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(ref_level(cases[i].b, 1e-6f) + K_MIN == cases[i].level,
              "reference LevelMapper case %zu: level %d, want %d", i, ref_level(cases[i].b, 1e-6f) + K_MIN,
              cases[i].level);
}

// =============================================================================
// 2. RPN proposals
// =============================================================================

#define RPN_LEVELS 5
#define RPN_A      3

typedef struct {
    uint32_t key;
    int32_t flat;
} sel_t;

// Logit descending, then the lower flat index (torchvision's anchor order) first.
static int sel_order(const void * pa, const void * pb) {
    const sel_t *a = pa, *b = pb;
    if (a->key != b->key) return a->key > b->key ? -1 : 1;
    return (a->flat > b->flat) - (a->flat < b->flat);
}

static int uint_desc(const void * pa, const void * pb) {
    const uint32_t a = *(const uint32_t *) pa, b = *(const uint32_t *) pb;
    return (a < b) - (a > b);
}

typedef struct {
    int h, w, n, k, base;
    float * logits;   // [A][h][w]
    float * deltas;   // [4A][h][w]
    ipg_level_anchors_t anchors;
    // host reference, from the device's selection (identical to the host's
    // own where there are no ties at the k-th key)
    float box[1024][4], score[1024];
    int valid[1024];
    uint32_t key[1024];
    int n_kept, kept[1024];   // indices into the sorted arrays
} rpn_level_t;

// The top k of a level: memory index i = a * h * w + loc, flat = loc * A + a.
// Keys descending; among keys equal to the k-th, the lower flat index first
// (torchvision's anchor order), or with memory_ties the lower memory index
// (ipg_rpn_select's documented choice when a tie crosses the cut).
static void ref_select(const rpn_level_t * lv, sel_t * out, bool memory_ties) {
    const int plane = lv->h * lv->w;
    sel_t * all = malloc((size_t) lv->n * sizeof *all);
    for (int i = 0; i < lv->n; i++) {
        const int a = i / plane, loc = i - a * plane;
        all[i].key = order_key(lv->logits[i]);
        all[i].flat = memory_ties ? i : loc * RPN_A + a;
    }
    qsort(all, (size_t) lv->n, sizeof *all, sel_order);
    for (int i = 0; i < lv->k; i++) {
        out[i] = all[i];
        if (memory_ties) out[i].flat = (all[i].flat % plane) * RPN_A + all[i].flat / plane;
    }
    free(all);
}

typedef struct {
    float nms_thresh, score_thresh;
    int image_w, image_h;
    int fragile;   // decisions within rounding of a threshold
} rpn_params_t;

// Sort, decode, clip, validity (filter_proposals), then greedy NMS (IoU > thresh).
static void ref_level_proposals(rpn_level_t * lv, const sel_t * sel_in, rpn_params_t * pp) {
    sel_t sel[1024];
    memcpy(sel, sel_in, (size_t) lv->k * sizeof *sel);
    qsort(sel, (size_t) lv->k, sizeof *sel, sel_order);
    const int plane = lv->h * lv->w;
    const float ones[4] = { 1, 1, 1, 1 };
    for (int i = 0; i < lv->k; i++) {
        const int a = sel[i].flat % RPN_A, loc = sel[i].flat / RPN_A;
        const int y = loc / lv->w, x = loc - y * lv->w;
        const float sx = (float) (x * lv->anchors.stride_w), sy = (float) (y * lv->anchors.stride_h);
        const float anchor[4] = { sx + lv->anchors.base[a][0], sy + lv->anchors.base[a][1], sx + lv->anchors.base[a][2],
                                  sy + lv->anchors.base[a][3] };
        float d[4];
        for (int j = 0; j < 4; j++) d[j] = lv->deltas[(size_t) (a * 4 + j) * plane + loc];
        ref_decode(anchor, d, ones, g_clip_default, (float) pp->image_w, (float) pp->image_h, lv->box[i]);
        const float logit = lv->logits[(size_t) a * plane + loc];
        const float s = 1.0f / (1.0f + expf(-logit));
        const float bw = lv->box[i][2] - lv->box[i][0], bh = lv->box[i][3] - lv->box[i][1];
        lv->score[i] = s;
        lv->key[i] = sel[i].key;
        lv->valid[i] = bw >= 1e-3f && bh >= 1e-3f && s >= pp->score_thresh;
        if ((bw != 0.0f && fabsf(bw - 1e-3f) < 1e-4f) || (bh != 0.0f && fabsf(bh - 1e-3f) < 1e-4f) ||
            (s != pp->score_thresh && fabsf(s - pp->score_thresh) < 2e-6f))
            pp->fragile++;
    }
    bool removed[1024] = { false };
    lv->n_kept = 0;
    for (int i = 0; i < lv->k; i++) {
        if (!lv->valid[i] || removed[i]) continue;
        lv->kept[lv->n_kept++] = i;
        for (int j = i + 1; j < lv->k; j++) {
            if (!lv->valid[j]) continue;
            const float iou = ref_iou(lv->box[i], lv->box[j]);
            if (iou > pp->nms_thresh) removed[j] = true;
            if (fabsf(iou - pp->nms_thresh) < 2e-5f) pp->fragile++;
        }
    }
}

typedef struct {
    int level, pos;
    float score, box[4];
    uint32_t key;
} merged_t;

// Score descending; ties: the lower level, then the order inside the level.
// The device merges by the logits' order keys (the sigmoid's order, exact
// whatever the device's exp rounds to); ties: lower level, then position.
static int merged_order(const void * pa, const void * pb) {
    const merged_t *a = pa, *b = pb;
    if (a->key != b->key) return a->key > b->key ? -1 : 1;
    if (a->level != b->level) return a->level - b->level;
    return a->pos - b->pos;
}

// All levels' survivors merged; returns the total (the caller keeps max_rois).
static int ref_merge(const float * kept_box, const float * kept_score, const int * kept_count, const uint32_t * keys,
                     int levels, int k_max, merged_t * out, int * fragile) {
    int n = 0;
    for (int l = 0; l < levels; l++)
        for (int p = 0; p < kept_count[l]; p++) {
            const size_t at = (size_t) l * k_max + p;
            out[n].level = l;
            out[n].pos = p;
            out[n].score = kept_score[at];
            memcpy(out[n].box, kept_box + 4 * at, sizeof out[n].box);
            out[n].key = keys[at];
            n++;
        }
    qsort(out, (size_t) n, sizeof *out, merged_order);
    (void) fragile;   // keys are exact: no merge decision is within rounding
    return n;
}

typedef struct {
    const char * name;
    int image_w, image_h, k_max, max_rois;
    float nms_thresh, score_thresh;
    int tie_values;   // 0: distinct logits; else logits from this many values
    float sizes[RPN_LEVELS];
} rpn_case_t;

static size_t select_wg(ipg_step_t * s) {   // as arch/rpn-proposals.c
    size_t wg = g_cl.max_wg_size < 256 ? g_cl.max_wg_size : 256, kernel_wg = 0;
    if (clGetKernelWorkGroupInfo(s->kernel, g_cl.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_wg, &kernel_wg,
                                 NULL) == CL_SUCCESS &&
        kernel_wg > 0 && kernel_wg < wg)
        wg = kernel_wg;
    return wg;
}

// Logits of several maps (n[0] + n[1] + ... values): with tie_values, a few
// values of both signs (0 among them when tie_values is odd); else one
// shuffled ramp over [-4, 4) across all the maps, so that no two logits --
// and no two sigmoids, even across levels -- lie within rounding of each other.
static void fill_logits(float * const * x, const int * n, int maps, int tie_values) {
    int total = 0;
    for (int m = 0; m < maps; m++) total += n[m];
    if (tie_values > 0) {
        for (int m = 0; m < maps; m++)
            for (int i = 0; i < n[m]; i++)
                x[m][i] = 0.5f * (float) ((int) (rnd() % (uint32_t) tie_values) - tie_values / 2);
        return;
    }
    int * perm = malloc((size_t) total * sizeof *perm);
    for (int i = 0; i < total; i++) perm[i] = i;
    for (int i = total - 1; i > 0; i--) {
        const int j = (int) (rnd() % (uint32_t) (i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int m = 0, at = 0; m < maps; m++)
        for (int i = 0; i < n[m]; i++, at++)
            x[m][i] = -4.0f + 8.0f * (((float) perm[at] + 0.25f + 0.5f * urand()) / (float) total);
    free(perm);
}

static void fill_deltas(float * d, int A, int plane) {
    for (int a = 0; a < A; a++)
        for (int loc = 0; loc < plane; loc++) {
            float v[4] = { 0.4f * frand(), 0.4f * frand(), 0.6f * frand(), 0.6f * frand() };
            const float u = urand();
            if (u < 0.06f) {
                v[0] = 3.0f * frand();
                v[1] = 3.0f * frand();
            }   // far off: often clipped to nothing
            else if (u < 0.10f) {
                v[2] = urange(4.0f, 6.0f);
                v[3] = urange(-1.0f, 6.0f);
            }   // past the clamp
            else if (u < 0.14f) {
                v[2] = urange(-22.0f, -18.0f);
            }   // far under 1e-3 wide
            else if (u < 0.18f) {
                v[3] = urange(-22.0f, -18.0f);
            }   // ... or high
            for (int j = 0; j < 4; j++) d[(size_t) (a * 4 + j) * plane + loc] = v[j];
        }
}

// The greedy NMS pass of one level: ipg_nms_scan_group with local size
// `group_wg` (as arch/rpn-proposals.c plans it, IPG_NMS_SCAN_WG there), or
// the one-work-item ipg_nms_scan when group_wg is 0.
static ipg_step_t * plan_nms_scan(ipg_plan_t * p, size_t group_wg, cl_mem box, cl_mem score, cl_mem valid, cl_mem skey,
                                  cl_mem mask, int base, int k, int words, int level, cl_mem removed, cl_mem kept_box,
                                  cl_mem kept_score, cl_mem kept_key, cl_mem kept_count) {
    ipg_step_t * s = ipg_plan_step(p, group_wg ? "ipg_nms_scan_group" : "ipg_nms_scan");
    if (!s) return NULL;
    ipg_step_mem(s, box);
    ipg_step_mem(s, score);
    ipg_step_mem(s, valid);
    ipg_step_mem(s, skey);
    ipg_step_mem(s, mask);
    ipg_step_int(s, base);
    ipg_step_int(s, k);
    ipg_step_int(s, words);
    ipg_step_int(s, level);
    if (group_wg)
        ipg_step_local(s, (size_t) ((k + 31) / 32 + (k == 0)) * sizeof(cl_uint));   // never 0 bytes
    else
        ipg_step_mem(s, removed);
    ipg_step_mem(s, kept_box);
    ipg_step_mem(s, kept_score);
    ipg_step_mem(s, kept_key);
    ipg_step_mem(s, kept_count);
    if (group_wg) {
        const size_t wg = group_wg < s->kernel_wg ? group_wg : s->kernel_wg;
        ipg_step_range(s, 1, (size_t[]){ wg }, (size_t[]){ wg });
    } else {
        ipg_step_range(s, 1, (size_t[]){ 1 }, NULL);
    }
    return s;
}

static void test_proposals(const rpn_case_t * pc) {
    const char * what = pc->name;
    if (pc->k_max > 1024) {   // rpn_level_t's arrays
        CHECK(false, "%s: k_max %d is over the test's 1024", what, pc->k_max);
        return;
    }
    ipg_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.num_anchor_sizes = 1;
    cfg.num_aspect_ratios = 3;
    cfg.aspect_ratios[0] = 0.5f;
    cfg.aspect_ratios[1] = 1.0f;
    cfg.aspect_ratios[2] = 2.0f;
    rpn_level_t * lv = calloc(RPN_LEVELS, sizeof *lv);
    int h = (pc->image_h + 3) / 4, w = (pc->image_w + 3) / 4;   // P2 .. P6
    for (int l = 0; l < RPN_LEVELS; l++) {
        cfg.anchor_sizes[l][0] = pc->sizes[l];
        lv[l].h = h;
        lv[l].w = w;
        lv[l].n = RPN_A * h * w;
        lv[l].k = lv[l].n < pc->k_max ? lv[l].n : pc->k_max;
        lv[l].base = l * pc->k_max;
        ipg_anchors_level(&cfg, l, w, h, pc->image_w, pc->image_h, &lv[l].anchors);
        lv[l].logits = malloc((size_t) lv[l].n * sizeof(float));
        lv[l].deltas = malloc((size_t) 4 * lv[l].n * sizeof(float));
        fill_deltas(lv[l].deltas, RPN_A, h * w);
        h = (h + 1) / 2;
        w = (w + 1) / 2;
    }
    {
        float * maps[RPN_LEVELS];
        int n[RPN_LEVELS];
        for (int l = 0; l < RPN_LEVELS; l++) maps[l] = lv[l].logits, n[l] = lv[l].n;
        fill_logits(maps, n, RPN_LEVELS, pc->tie_values);
    }
    const int L = RPN_LEVELS, k_max = pc->k_max, words = (k_max + 31) / 32, max_rois = pc->max_rois;
    const size_t slots = (size_t) L * k_max;
    const float clip = (float) log(1000.0 / 16.0);
    CHECK(clip == g_clip_default, "log(1000/16) as a float");

    ipg_plan_t p;
    plan_init(&p);
    cl_mem sel_key = ipg_plan_buffer(&p, slots * sizeof(cl_uint), NULL);
    cl_mem sel_index = ipg_plan_buffer(&p, slots * sizeof(cl_int), NULL);
    cl_mem box = ipg_plan_buffer(&p, slots * 4 * sizeof(float), NULL);
    cl_mem score = ipg_plan_buffer(&p, slots * sizeof(float), NULL);
    cl_mem valid = ipg_plan_buffer(&p, slots * sizeof(cl_int), NULL);
    cl_mem skey = ipg_plan_buffer(&p, slots * sizeof(cl_uint), NULL);
    cl_mem mask = ipg_plan_buffer(&p, slots * words * sizeof(cl_uint), NULL);
    cl_mem removed = ipg_plan_buffer(&p, (size_t) L * words * sizeof(cl_uint), NULL);
    cl_mem kept_box = ipg_plan_buffer(&p, slots * 4 * sizeof(float), NULL);
    cl_mem kept_score = ipg_plan_buffer(&p, slots * sizeof(float), NULL);
    cl_mem kept_key = ipg_plan_buffer(&p, slots * sizeof(cl_uint), NULL);
    cl_mem kept_count = ipg_plan_buffer(&p, L * sizeof(cl_int), NULL);
    cl_mem roi_count = ipg_plan_buffer(&p, sizeof(cl_int), NULL);
    ipg_tensor_t rois = { 0 }, roi_score = { 0 }, tcls[RPN_LEVELS] = { { 0 } }, tbox[RPN_LEVELS] = { { 0 } };
    ipg_status_t st = sel_key && sel_index && box && score && valid && skey && mask && removed && kept_box &&
                              kept_score && kept_key && kept_count && roi_count
                          ? IPG_OK
                          : IPG_ERR_NO_MEMORY;
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &rois, 1, max_rois, 4);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &roi_score, 1, 1, max_rois);
    // The launches of arch/rpn-proposals.c.
    for (int l = 0; l < L && st == IPG_OK; l++) {
        const int k = lv[l].k, base = lv[l].base;
        st = ipg_plan_tensor(&p, &tcls[l], RPN_A, lv[l].h, lv[l].w);
        if (st == IPG_OK) st = ipg_plan_tensor(&p, &tbox[l], 4 * RPN_A, lv[l].h, lv[l].w);
        cl_mem base_anchors = st == IPG_OK ? ipg_plan_buffer(&p, RPN_A * 4 * sizeof(float), lv[l].anchors.base) : NULL;
        ipg_step_t * s = base_anchors ? ipg_plan_step(&p, "ipg_rpn_select") : NULL;
        if (!s) {
            st = IPG_ERR_OPENCL;
            break;
        }
        const size_t wg = select_wg(s);
        ipg_step_mem(s, tcls[l].buf);
        ipg_step_int(s, lv[l].h);
        ipg_step_int(s, lv[l].w);
        ipg_step_int(s, RPN_A);
        ipg_step_int(s, k);
        ipg_step_mem(s, sel_key);
        ipg_step_mem(s, sel_index);
        ipg_step_int(s, base);
        ipg_step_local(s, 256 * sizeof(cl_uint));
        ipg_step_range(s, 1, (size_t[]){ wg }, (size_t[]){ wg });

        if (!(s = ipg_plan_step(&p, "ipg_rpn_sort_decode"))) {
            st = IPG_ERR_OPENCL;
            break;
        }
        ipg_step_mem(s, sel_key);
        ipg_step_mem(s, sel_index);
        ipg_step_int(s, base);
        ipg_step_int(s, k);
        ipg_step_mem(s, tcls[l].buf);
        ipg_step_mem(s, tbox[l].buf);
        ipg_step_int(s, lv[l].h);
        ipg_step_int(s, lv[l].w);
        ipg_step_int(s, RPN_A);
        ipg_step_mem(s, base_anchors);
        ipg_step_int(s, lv[l].anchors.stride_w);
        ipg_step_int(s, lv[l].anchors.stride_h);
        ipg_step_float(s, clip);
        ipg_step_float(s, (float) pc->image_w);
        ipg_step_float(s, (float) pc->image_h);
        ipg_step_float(s, pc->score_thresh);
        ipg_step_mem(s, box);
        ipg_step_mem(s, score);
        ipg_step_mem(s, valid);
        ipg_step_mem(s, skey);
        ipg_step_range(s, 1, (size_t[]){ (size_t) k }, NULL);

        if (!(s = ipg_plan_step(&p, "ipg_nms_mask"))) {
            st = IPG_ERR_OPENCL;
            break;
        }
        ipg_step_mem(s, box);
        ipg_step_mem(s, valid);
        ipg_step_int(s, base);
        ipg_step_int(s, k);
        ipg_step_int(s, words);
        ipg_step_float(s, pc->nms_thresh);
        ipg_step_mem(s, mask);
        ipg_step_range(s, 2, (size_t[]){ (size_t) (k + 31) / 32, (size_t) k }, NULL);

        if (!plan_nms_scan(&p, IPG_NMS_SCAN_WG, box, score, valid, skey, mask, base, k, words, l, removed, kept_box,
                           kept_score, kept_key, kept_count)) {
            st = IPG_ERR_OPENCL;
            break;
        }
    }
    ipg_step_t * s = st == IPG_OK ? ipg_plan_step(&p, "ipg_rpn_merge") : NULL;
    if (s) {
        ipg_step_mem(s, kept_box);
        ipg_step_mem(s, kept_score);
        ipg_step_mem(s, kept_key);
        ipg_step_mem(s, kept_count);
        ipg_step_int(s, k_max);
        ipg_step_int(s, L);
        ipg_step_int(s, max_rois);
        ipg_step_mem(s, rois.buf);
        ipg_step_mem(s, roi_score.buf);
        ipg_step_mem(s, roi_count);
        ipg_step_range(s, 2, (size_t[]){ (size_t) k_max, (size_t) L }, NULL);
        st = ipg_plan_finalize(&p);
    } else if (st == IPG_OK) {
        st = IPG_ERR_OPENCL;
    }
    CHECK(st == IPG_OK, "%s setup: %s", what, g_err);
    if (st != IPG_OK) goto done;
    for (int l = 0; l < L; l++) {
        write_buf(tcls[l].buf, lv[l].logits, (size_t) lv[l].n * sizeof(float));
        write_buf(tbox[l].buf, lv[l].deltas, (size_t) 4 * lv[l].n * sizeof(float));
    }
    CHECK(ipg_plan_run(&p) == IPG_OK, "%s run: %s", what, g_err);

    uint32_t * d_key = malloc(slots * sizeof *d_key);
    int32_t *d_index = malloc(slots * sizeof *d_index), *d_valid = malloc(slots * sizeof *d_valid);
    float *d_box = malloc(slots * 4 * sizeof(float)), *d_score = malloc(slots * sizeof(float));
    float *d_kbox = malloc(slots * 4 * sizeof(float)), *d_kscore = malloc(slots * sizeof(float));
    float *d_rois = malloc((size_t) max_rois * 4 * sizeof(float)),
          *d_rscore = malloc((size_t) max_rois * sizeof(float));
    int32_t d_kcount[RPN_LEVELS], d_count = -1;
    read_buf(sel_key, d_key, slots * sizeof *d_key);
    read_buf(sel_index, d_index, slots * sizeof *d_index);
    read_buf(box, d_box, slots * 4 * sizeof(float));
    read_buf(score, d_score, slots * sizeof(float));
    read_buf(valid, d_valid, slots * sizeof(int32_t));
    read_buf(kept_box, d_kbox, slots * 4 * sizeof(float));
    read_buf(kept_score, d_kscore, slots * sizeof(float));
    read_buf(kept_count, d_kcount, sizeof d_kcount);
    read_buf(roi_count, &d_count, sizeof d_count);
    read_buf(rois.buf, d_rois, (size_t) max_rois * 4 * sizeof(float));
    read_buf(roi_score.buf, d_rscore, (size_t) max_rois * sizeof(float));

    rpn_params_t pp = { pc->nms_thresh, pc->score_thresh, pc->image_w, pc->image_h, 0 };
    float *h_kbox = calloc(slots * 4, sizeof(float)), *h_kscore = calloc(slots, sizeof(float));
    uint32_t * h_kkey = calloc(slots, sizeof(uint32_t));
    int h_kcount[RPN_LEVELS];
    int ties_at_k = 0;
    for (int l = 0; l < L; l++) {
        rpn_level_t * v = &lv[l];
        const int k = v->k, base = v->base;
        // select: k distinct in-range anchors, each with its own key, and the
        // multiset of keys of the host's top k
        sel_t *want = malloc((size_t) k * sizeof *want), *got = malloc((size_t) k * sizeof *got);
        ref_select(v, want, false);
        const int plane = v->h * v->w;
        int bad_index = 0, dup = 0;
        char * seen = calloc((size_t) v->n, 1);
        for (int i = 0; i < k; i++) {
            got[i].key = d_key[base + i];
            got[i].flat = d_index[base + i];
            const int f = got[i].flat;
            if (f < 0 || f >= v->n) {
                bad_index++;
                got[i].flat = 0;
                continue;
            }
            if (seen[f]++) dup++;
            if (order_key(v->logits[(size_t) (f % RPN_A) * plane + f / RPN_A]) != got[i].key) bad_index++;
        }
        free(seen);
        CHECK(bad_index == 0 && dup == 0,
              "%s level %d select: %d indices out of range or not matching their key, "
              "%d repeated",
              what, l, bad_index, dup);
        uint32_t *wk = malloc((size_t) k * sizeof *wk), *gk = malloc((size_t) k * sizeof *gk);
        for (int i = 0; i < k; i++) {
            wk[i] = want[i].key;
            gk[i] = got[i].key;
        }
        qsort(gk, (size_t) k, sizeof *gk, uint_desc);
        int key_diff = 0;
        for (int i = 0; i < k; i++) key_diff += wk[i] != gk[i];
        CHECK(key_diff == 0, "%s level %d select: %d of the top %d keys differ from the host's top k", what, l,
              key_diff, k);
        // which anchors: with a tie across the cut, the first in memory order
        // (deterministic: the same frame, the same proposals)
        if (k < v->n) {
            sel_t *all = malloc((size_t) v->n * sizeof *all), *mem = malloc((size_t) k * sizeof *mem);
            for (int i = 0; i < v->n; i++) all[i].key = order_key(v->logits[i]), all[i].flat = i;
            qsort(all, (size_t) v->n, sizeof *all, sel_order);
            const bool tie = all[k].key == all[k - 1].key;
            ties_at_k += tie;
            ref_select(v, mem, true);
            qsort(mem, (size_t) k, sizeof *mem, sel_order);
            qsort(got, (size_t) k, sizeof *got, sel_order);
            int same = 0;
            for (int i = 0; i < k; i++) same += got[i].flat == mem[i].flat;
            CHECK(same == k, "%s level %d select: %d of %d selected anchors differ from the host's top k%s", what, l,
                  k - same, k, tie ? " (ties across the cut: the first in memory order)" : "");
            free(all);
            free(mem);
        }
        free(wk);
        free(gk);
        // sort_decode, NMS: the host reference from the device's selection
        for (int i = 0; i < k; i++) got[i].key = d_key[base + i], got[i].flat = d_index[base + i];
        if (bad_index || dup) memcpy(got, want, (size_t) k * sizeof *got);
        ref_level_proposals(v, got, &pp);
        int bad_box = 0, bad_score = 0, bad_valid = 0, first = -1;
        for (int i = 0; i < k; i++) {
            const bool b_ok = boxes_close(d_box + 4 * ((size_t) base + i), v->box[i], 1e-4f);
            const bool s_ok = fabsf(d_score[base + i] - v->score[i]) <= 2e-6f;
            const bool v_ok = d_valid[base + i] == v->valid[i];
            bad_box += !b_ok;
            bad_score += !s_ok;
            bad_valid += !v_ok;
            if ((!b_ok || !s_ok || !v_ok) && first < 0) first = i;
        }
        CHECK(bad_box + bad_score + bad_valid == 0,
              "%s level %d sort_decode: %d boxes, %d scores, %d valid flags of %d differ; first at slot %d: "
              "(%g,%g,%g,%g) %g %d, want (%g,%g,%g,%g) %g %d",
              what, l, bad_box, bad_score, bad_valid, k, first, first < 0 ? 0 : d_box[4 * (base + first)],
              first < 0 ? 0 : d_box[4 * (base + first) + 1], first < 0 ? 0 : d_box[4 * (base + first) + 2],
              first < 0 ? 0 : d_box[4 * (base + first) + 3], first < 0 ? 0 : d_score[base + first],
              first < 0 ? 0 : d_valid[base + first], first < 0 ? 0 : v->box[first][0], first < 0 ? 0 : v->box[first][1],
              first < 0 ? 0 : v->box[first][2], first < 0 ? 0 : v->box[first][3], first < 0 ? 0 : v->score[first],
              first < 0 ? 0 : v->valid[first]);
        // NMS survivors, in score order
        h_kcount[l] = v->n_kept;
        for (int i = 0; i < v->n_kept; i++) {
            const size_t at = (size_t) base + i;
            memcpy(h_kbox + 4 * at, v->box[v->kept[i]], 4 * sizeof(float));
            h_kscore[at] = v->score[v->kept[i]];
            h_kkey[at] = v->key[v->kept[i]];
        }
        int bad_kept = 0;
        if (d_kcount[l] == v->n_kept)
            for (int i = 0; i < v->n_kept; i++)
                bad_kept += !boxes_close(d_kbox + 4 * ((size_t) base + i), h_kbox + 4 * ((size_t) base + i), 1e-4f) ||
                            fabsf(d_kscore[base + i] - h_kscore[base + i]) > 2e-6f;
        CHECK(d_kcount[l] == v->n_kept && bad_kept == 0, "%s level %d NMS: %d kept (want %d), %d differ", what, l,
              d_kcount[l], v->n_kept, bad_kept);
        free(want);
        free(got);
    }
    // merge
    merged_t * m = malloc(slots * sizeof *m);
    const int total = ref_merge(h_kbox, h_kscore, h_kcount, h_kkey, L, k_max, m, &pp.fragile);
    const int want_count = total < max_rois ? total : max_rois;
    CHECK(d_count == want_count, "%s merge: roi_count %d, want %d (%d kept in all, max_rois %d)", what, d_count,
          want_count, total, max_rois);
    int bad_roi = 0, first = -1;
    for (int i = 0; i < want_count && i < max_rois; i++) {
        const bool ok = boxes_close(d_rois + 4 * i, m[i].box, 1e-4f) && fabsf(d_rscore[i] - m[i].score) <= 2e-6f;
        if (!ok && first < 0) first = i;
        bad_roi += !ok;
    }
    CHECK(bad_roi == 0,
          "%s merge: %d of %d RoIs differ; first %d: (%g,%g,%g,%g) %g, want (%g,%g,%g,%g) %g "
          "(level %d #%d)",
          what, bad_roi, want_count, first, first < 0 ? 0 : d_rois[4 * first], first < 0 ? 0 : d_rois[4 * first + 1],
          first < 0 ? 0 : d_rois[4 * first + 2], first < 0 ? 0 : d_rois[4 * first + 3], first < 0 ? 0 : d_rscore[first],
          first < 0 ? 0 : m[first].box[0], first < 0 ? 0 : m[first].box[1], first < 0 ? 0 : m[first].box[2],
          first < 0 ? 0 : m[first].box[3], first < 0 ? 0 : m[first].score, first < 0 ? 0 : m[first].level,
          first < 0 ? 0 : m[first].pos);
    CHECK(pp.fragile == 0, "test data: %s: %d decisions within rounding of a threshold", what, pp.fragile);
    CHECK(pc->tie_values == 0 || ties_at_k > 0, "test data: %s: no tie at the k-th key", what);
    // the data exercises what it is meant to
    int n_invalid = 0, n_suppressed = 0, n_k_short = 0;
    for (int l = 0; l < L; l++) {
        for (int i = 0; i < lv[l].k; i++) n_invalid += !lv[l].valid[i];
        int n_valid = 0;
        for (int i = 0; i < lv[l].k; i++) n_valid += lv[l].valid[i];
        n_suppressed += n_valid - lv[l].n_kept;
        n_k_short += lv[l].k < k_max;
    }
    CHECK(n_invalid > 0 && n_suppressed > 0 && n_k_short > 0 && n_k_short < L,
          "test data: %s: %d invalid, %d suppressed, %d levels under k_max", what, n_invalid, n_suppressed, n_k_short);
    printf("  %s: %d RoIs of %d kept (max %d), %d invalid, %d suppressed%s\n", what, d_count, total, max_rois,
           n_invalid, n_suppressed, ties_at_k ? ", ties at the k-th logit" : "");
    free(m);
    free(h_kbox);
    free(h_kscore);
    free(h_kkey);
    free(d_key);
    free(d_index);
    free(d_valid);
    free(d_box);
    free(d_score);
    free(d_kbox);
    free(d_kscore);
    free(d_rois);
    free(d_rscore);
done:
    ipg_plan_free(&p);
    for (int l = 0; l < RPN_LEVELS; l++) {
        free(lv[l].logits);
        free(lv[l].deltas);
    }
    free(lv);
}

// ipg_rpn_select alone, on many ties, with several work-group sizes: k
// elements, the right multiset of keys, distinct anchors. groups > 0: the
// multi-group pair of select-groups.cl instead (ipg_rpn_select_partial over
// that many slices, ipg_rpn_select_merge), as arch/rpn-proposals.c plans it.
static void test_select_groups(int h, int w, int k, size_t L, int tie_values, int groups) {
    char what[128];
    snprintf(what, sizeof what, "rpn_select %dx%dx%d k=%d local %zu%s%s%d", RPN_A, h, w, k, L,
             tie_values ? " (ties)" : "", groups > 0 ? ", groups " : "", groups > 0 ? groups : 0);
    rpn_level_t * lv = calloc(1, sizeof *lv);
    lv->h = h;
    lv->w = w;
    lv->n = RPN_A * h * w;
    lv->k = k;
    lv->logits = malloc((size_t) lv->n * sizeof(float));
    fill_logits(&lv->logits, &lv->n, 1, tie_values);
    if (!tie_values) {   // negative, zero and huge logits among them
        lv->logits[0] = -1e30f;
        lv->logits[1] = 1e30f;
        lv->logits[2] = 0.0f;
    }
    const int base = 3;   // not at the buffer's start
    ipg_plan_t p;
    plan_init(&p);
    ipg_tensor_t tcls = { 0 };
    ipg_status_t st = ipg_plan_tensor(&p, &tcls, RPN_A, h, w);
    cl_mem sel_key = st == IPG_OK ? ipg_plan_buffer(&p, (size_t) (base + k + 1) * sizeof(cl_uint), NULL) : NULL;
    cl_mem sel_index = sel_key ? ipg_plan_buffer(&p, (size_t) (base + k + 1) * sizeof(cl_int), NULL) : NULL;
    cl_mem part_val = NULL, part_pos = NULL;
    if (groups > 0 && sel_index) {
        part_val = ipg_plan_buffer(&p, (size_t) groups * k * sizeof(float), NULL);
        part_pos = part_val ? ipg_plan_buffer(&p, (size_t) groups * k * sizeof(cl_int), NULL) : NULL;
    }
    ipg_step_t * s = sel_index && (groups == 0 || part_pos)
                         ? ipg_plan_step(&p, groups > 0 ? "ipg_rpn_select_partial" : "ipg_rpn_select")
                         : NULL;
    if (s && L > select_wg(s) && L > 1) L = select_wg(s);
    if (s && groups > 0) {
        ipg_step_mem(s, tcls.buf);
        ipg_step_int(s, RPN_A * h * w);
        ipg_step_int(s, k);
        ipg_step_int(s, groups);
        ipg_step_mem(s, part_val);
        ipg_step_mem(s, part_pos);
        ipg_step_local(s, 256 * sizeof(cl_uint));
        ipg_step_range(s, 1, (size_t[]){ L * groups }, (size_t[]){ L });
        s = ipg_plan_step(&p, "ipg_rpn_select_merge");
        if (s) {
            ipg_step_mem(s, part_val);
            ipg_step_mem(s, part_pos);
            ipg_step_int(s, groups);
            ipg_step_int(s, h);
            ipg_step_int(s, w);
            ipg_step_int(s, RPN_A);
            ipg_step_int(s, k);
            ipg_step_mem(s, sel_key);
            ipg_step_mem(s, sel_index);
            ipg_step_int(s, base);
            ipg_step_local(s, 256 * sizeof(cl_uint));
            ipg_step_range(s, 1, (size_t[]){ L }, (size_t[]){ L });
            st = ipg_plan_finalize(&p);
        } else {
            st = IPG_ERR_OPENCL;
        }
    } else if (s) {
        ipg_step_mem(s, tcls.buf);
        ipg_step_int(s, h);
        ipg_step_int(s, w);
        ipg_step_int(s, RPN_A);
        ipg_step_int(s, k);
        ipg_step_mem(s, sel_key);
        ipg_step_mem(s, sel_index);
        ipg_step_int(s, base);
        ipg_step_local(s, 256 * sizeof(cl_uint));
        ipg_step_range(s, 1, (size_t[]){ L }, (size_t[]){ L });
        st = ipg_plan_finalize(&p);
    } else {
        st = IPG_ERR_OPENCL;
    }
    CHECK(st == IPG_OK, "%s setup: %s", what, g_err);
    if (st == IPG_OK) {
        write_buf(tcls.buf, lv->logits, (size_t) lv->n * sizeof(float));
        uint32_t * keys = malloc((size_t) (base + k + 1) * sizeof *keys);
        int32_t * idx = malloc((size_t) (base + k + 1) * sizeof *idx);
        for (int i = 0; i < base + k + 1; i++) {
            keys[i] = 0xdeadbeefu;
            idx[i] = -7;
        }
        write_buf(sel_key, keys, (size_t) (base + k + 1) * sizeof *keys);
        write_buf(sel_index, idx, (size_t) (base + k + 1) * sizeof *idx);
        CHECK(ipg_plan_run(&p) == IPG_OK, "%s run: %s", what, g_err);
        read_buf(sel_key, keys, (size_t) (base + k + 1) * sizeof *keys);
        read_buf(sel_index, idx, (size_t) (base + k + 1) * sizeof *idx);
        sel_t * want = malloc((size_t) k * sizeof *want);
        ref_select(lv, want, false);
        const int plane = h * w;
        int bad = 0, dup = 0, key_diff = 0;
        char * seen = calloc((size_t) lv->n, 1);
        uint32_t * gk = malloc((size_t) k * sizeof *gk);
        for (int i = 0; i < k; i++) {
            const int f = idx[base + i];
            gk[i] = keys[base + i];
            if (f < 0 || f >= lv->n) {
                bad++;
                continue;
            }
            if (seen[f]++) dup++;
            if (order_key(lv->logits[(size_t) (f % RPN_A) * plane + f / RPN_A]) != keys[base + i]) bad++;
        }
        qsort(gk, (size_t) k, sizeof *gk, uint_desc);
        for (int i = 0; i < k; i++) key_diff += gk[i] != want[i].key;
        // the anchors: ties across the cut resolved by memory order
        sel_t * got = malloc((size_t) k * sizeof *got);
        for (int i = 0; i < k; i++) got[i].key = keys[base + i], got[i].flat = idx[base + i];
        ref_select(lv, want, true);
        qsort(want, (size_t) k, sizeof *want, sel_order);
        qsort(got, (size_t) k, sizeof *got, sel_order);
        int other = 0;
        for (int i = 0; i < k; i++) other += got[i].flat != want[i].flat;
        CHECK(other == 0, "%s: %d of %d selected anchors are not the first in memory order among the tied", what, other,
              k);
        free(got);
        const bool untouched = keys[base - 1] == 0xdeadbeefu && idx[base - 1] == -7 && keys[base + k] == 0xdeadbeefu &&
                               idx[base + k] == -7;
        CHECK(bad == 0 && dup == 0 && key_diff == 0 && untouched,
              "%s: %d bad or mismatched indices, %d repeated, %d keys differ from the top k, %s", what, bad, dup,
              key_diff, untouched ? "slots outside [base, base + k) untouched" : "wrote outside [base, base + k)");
        free(seen);
        free(gk);
        free(want);
        free(keys);
        free(idx);
    }
    ipg_plan_free(&p);
    free(lv->logits);
    free(lv);
}

// ipg_rpn_select, then the same selection over 2, 3 and 16 groups.
static void test_select(int h, int w, int k, size_t L, int tie_values) {
    static const int groups[] = { 0, 2, 3, 16 };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) test_select_groups(h, w, k, L, tie_values, groups[i]);
}

// ipg_nms_mask + ipg_nms_scan on hand-made boxes (level 1 of 2, so base = k_max):
// IoU exactly at the threshold survives, an invalid box suppresses nothing, a
// suppressed box suppresses nothing, suppression across 32-bit words.
static void test_nms_cases(size_t group_wg) {
    const int k_max = 80, k = 70, level = 1, base = level * k_max, words = (k_max + 31) / 32;
    const float thresh = 0.75f;
    float bx[80][4];
    float sc[80];
    int vd[80];
    for (int i = 0; i < k; i++) {   // far apart by default: 20 x 10 cells on a grid
        const float x = (float) (i % 10) * 50.0f + 1000.0f, y = (float) (i / 10) * 50.0f;
        bx[i][0] = x;
        bx[i][1] = y;
        bx[i][2] = x + 20.0f;
        bx[i][3] = y + 10.0f;
        sc[i] = 1.0f - (float) i / 128.0f;
        vd[i] = 1;
    }
    const float set[][5] = {
        { 0, 0, 0, 16, 8 },          // area 128
        { 1, 0, 0, 16, 6 },          // IoU with 0 = 96 / 128 = 0.75 exactly: survives
        { 2, 0, 0, 16, 7.5f },       // IoU with 0 = 0.9375: suppressed
        { 3, 100, 100, 120, 120 },   // invalid ...
        { 4, 100, 100, 120, 120 },   // ... so this survives
        { 5, 101, 100, 121, 120 },   // IoU with 4 = 0.905: suppressed
        { 6, 200, 0, 220, 20 },      // A
        { 7, 202, 0, 222, 20 },      // B: IoU(A, B) = 0.818: suppressed
        { 8, 204, 0, 224, 20 },      // C: IoU(A, C) = 0.667, IoU(B, C) = 0.818: survives (B is gone)
        { 30, 300, 300, 310, 310 },
        { 31, 400, 400, 410, 410 },      // invalid ...
        { 32, 400, 400, 410, 410 },      // ... this survives (bit 0 of word 1)
        { 33, 300, 300, 310, 309.5f },   // IoU with 30 = 0.95: suppressed across the word boundary
        { 40, 500, 0, 510, 10 },
        { 69, 500, 0, 510, 10 },   // identical to 40: suppressed (word 2)
        { 50, 600, 0, 610, 10 },   // invalid, and nothing overlaps it
    };
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        const int at = (int) set[i][0];
        memcpy(bx[at], &set[i][1], 4 * sizeof(float));
    }
    vd[3] = 0;
    vd[31] = 0;
    vd[50] = 0;
    // the reference's own verdicts, from the comments above
    rpn_level_t * lv = calloc(1, sizeof *lv);
    lv->k = k;
    memcpy(lv->box, bx, sizeof bx);
    memcpy(lv->score, sc, sizeof sc);
    memcpy(lv->valid, vd, sizeof vd);
    bool removed[80] = { false };
    lv->n_kept = 0;
    for (int i = 0; i < k; i++) {
        if (!vd[i] || removed[i]) continue;
        lv->kept[lv->n_kept++] = i;
        for (int j = i + 1; j < k; j++)
            if (vd[j] && ref_iou(bx[i], bx[j]) > thresh) removed[j] = true;
    }
    CHECK(ref_iou(bx[0], bx[1]) == 0.75f, "the reference IoU of boxes 0 and 1: %.9g", ref_iou(bx[0], bx[1]));
    const int gone[] = { 2, 3, 5, 7, 31, 33, 50, 69 };
    CHECK(lv->n_kept == k - 8, "reference NMS kept %d of %d", lv->n_kept, k);
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        bool kept = false;
        for (int j = 0; j < lv->n_kept; j++) kept |= lv->kept[j] == gone[i];
        CHECK(!kept, "reference NMS kept box %d", gone[i]);
    }

    ipg_plan_t p;
    plan_init(&p);
    const size_t slots = 2 * (size_t) k_max;
    float *hb = calloc(slots * 4, sizeof(float)), *hs = calloc(slots, sizeof(float));
    int32_t * hv = calloc(slots, sizeof(int32_t));
    memcpy(hb + 4 * base, bx, (size_t) k * 4 * sizeof(float));
    memcpy(hs + base, sc, (size_t) k * sizeof(float));
    memcpy(hv + base, vd, (size_t) k * sizeof(int32_t));
    for (int i = 0; i < base; i++) hv[i] = 1;   // level 0: must not matter
    cl_mem box = ipg_plan_buffer(&p, slots * 4 * sizeof(float), hb);
    cl_mem score = box ? ipg_plan_buffer(&p, slots * sizeof(float), hs) : NULL;
    cl_mem valid = score ? ipg_plan_buffer(&p, slots * sizeof(cl_int), hv) : NULL;
    // order keys, decreasing like the scores: the scan carries them along
    uint32_t * hk = calloc(slots, sizeof(uint32_t));
    for (size_t i = 0; i < slots; i++) hk[i] = 0xF0000000u - (uint32_t) i;
    cl_mem skey = valid ? ipg_plan_buffer(&p, slots * sizeof(cl_uint), hk) : NULL;
    cl_mem mask = skey ? ipg_plan_buffer(&p, slots * words * sizeof(cl_uint), NULL) : NULL;
    cl_mem rem = mask ? ipg_plan_buffer(&p, 2 * (size_t) words * sizeof(cl_uint), NULL) : NULL;
    cl_mem kbox = rem ? ipg_plan_buffer(&p, slots * 4 * sizeof(float), NULL) : NULL;
    cl_mem kscore = kbox ? ipg_plan_buffer(&p, slots * sizeof(float), NULL) : NULL;
    cl_mem kkey = kscore ? ipg_plan_buffer(&p, slots * sizeof(cl_uint), NULL) : NULL;
    const int32_t counts0[2] = { -1, -1 };
    cl_mem kcount = kkey ? ipg_plan_buffer(&p, sizeof counts0, counts0) : NULL;
    ipg_step_t * s = kcount ? ipg_plan_step(&p, "ipg_nms_mask") : NULL;
    ipg_status_t st = IPG_ERR_OPENCL;
    if (s) {
        ipg_step_mem(s, box);
        ipg_step_mem(s, valid);
        ipg_step_int(s, base);
        ipg_step_int(s, k);
        ipg_step_int(s, words);
        ipg_step_float(s, thresh);
        ipg_step_mem(s, mask);
        ipg_step_range(s, 2, (size_t[]){ (size_t) (k + 31) / 32, (size_t) k }, NULL);
        s = plan_nms_scan(&p, group_wg, box, score, valid, skey, mask, base, k, words, level, rem, kbox, kscore, kkey,
                          kcount);
    }
    if (s) st = ipg_plan_finalize(&p);
    CHECK(st == IPG_OK, "NMS cases setup: %s", g_err);
    if (st == IPG_OK) {
        CHECK(ipg_plan_run(&p) == IPG_OK, "NMS cases run: %s", g_err);
        int32_t counts[2];
        read_buf(kcount, counts, sizeof counts);
        read_buf(kbox, hb, slots * 4 * sizeof(float));
        read_buf(kscore, hs, slots * sizeof(float));
        uint32_t * gk = calloc(slots, sizeof(uint32_t));
        read_buf(kkey, gk, slots * sizeof(uint32_t));
        int bad = 0;
        if (counts[1] == lv->n_kept)
            for (int i = 0; i < lv->n_kept; i++)
                bad += memcmp(hb + 4 * (base + i), bx[lv->kept[i]], 4 * sizeof(float)) != 0 ||
                       hs[base + i] != sc[lv->kept[i]] || gk[base + i] != hk[base + lv->kept[i]];
        free(gk);
        CHECK(counts[1] == lv->n_kept && bad == 0 && counts[0] == -1,
              "NMS cases (IoU at the threshold, invalid and suppressed boxes, across words), %s local %zu: kept %d "
              "(want %d), %d differ, level 0's count %d (want untouched)",
              group_wg ? "ipg_nms_scan_group" : "ipg_nms_scan", group_wg, counts[1], lv->n_kept, bad, counts[0]);
    }
    ipg_plan_free(&p);
    free(hb);
    free(hs);
    free(hv);
    free(hk);
    free(lv);
}

// ipg_nms_mask + both NMS passes on random boxes, against the host's greedy
// NMS: k boxes (0, 1, odd, > 64) in clusters (long suppression chains),
// some invalid, some exact duplicates (IoU 1, ties of equal boxes), level 2
// of 3 (base = 2 k_max). The serial kernel and the work-group kernel at
// several local sizes must keep the same boxes in the same order, bit for bit.
static void test_nms_random(int k, int k_max, float thresh, const size_t * group_wgs, int n_wgs) {
    const int level = 2, base = level * k_max, words = (k_max + 31) / 32;
    const size_t slots = 3 * (size_t) k_max;
    float * hb = calloc(slots * 4, sizeof(float));
    float * hs = calloc(slots, sizeof(float));
    int32_t * hv = calloc(slots, sizeof(int32_t));
    uint32_t * hk = calloc(slots, sizeof(uint32_t));
    for (int i = 0; i < k; i++) {
        float * b = hb + 4 * (base + i);
        if (i > 0 && rnd() % 8 == 0) {
            memcpy(b, hb + 4 * (base + (int) (rnd() % (uint32_t) i)), 4 * sizeof(float));   // duplicate
        } else {
            const float cx = 40.0f * (float) (rnd() % 6) + urange(-6, 6),
                        cy = 40.0f * (float) (rnd() % 4) + urange(-6, 6);
            const float bw = urange(8, 30), bh = urange(8, 30);
            b[0] = cx - bw / 2;
            b[1] = cy - bh / 2;
            b[2] = cx + bw / 2;
            b[3] = cy + bh / 2;
        }
        hs[base + i] = 1.0f - (float) i / (float) (k + 1);
        hk[base + i] = 0xF0000000u - (uint32_t) i;
        hv[base + i] = rnd() % 10 != 0;
    }
    // host greedy NMS over the slots in order
    int n_want = 0, *want = malloc((size_t) (k > 0 ? k : 1) * sizeof(int));
    for (int i = 0; i < k; i++) {
        if (!hv[base + i]) continue;
        bool gone = false;
        for (int j = 0; j < n_want && !gone; j++)
            gone = ref_iou(hb + 4 * (base + want[j]), hb + 4 * (base + i)) > thresh;
        if (!gone) want[n_want++] = i;
    }
    for (int v = -1; v < n_wgs; v++) {
        const size_t wg = v < 0 ? 0 : group_wgs[v];
        ipg_plan_t p;
        plan_init(&p);
        cl_mem box = ipg_plan_buffer(&p, slots * 4 * sizeof(float), hb);
        cl_mem score = ipg_plan_buffer(&p, slots * sizeof(float), hs);
        cl_mem valid = ipg_plan_buffer(&p, slots * sizeof(cl_int), hv);
        cl_mem skey = ipg_plan_buffer(&p, slots * sizeof(cl_uint), hk);
        cl_mem mask = ipg_plan_buffer(&p, slots * words * sizeof(cl_uint), NULL);
        cl_mem rem = ipg_plan_buffer(&p, 3 * (size_t) words * sizeof(cl_uint), NULL);
        cl_mem kbox = ipg_plan_buffer(&p, slots * 4 * sizeof(float), NULL);
        cl_mem kscore = ipg_plan_buffer(&p, slots * sizeof(float), NULL);
        cl_mem kkey = ipg_plan_buffer(&p, slots * sizeof(cl_uint), NULL);
        const int32_t counts0[3] = { -1, -1, -1 };
        cl_mem kcount = ipg_plan_buffer(&p, sizeof counts0, counts0);
        ipg_status_t st = IPG_ERR_OPENCL;
        ipg_step_t * s = box && score && valid && skey && mask && rem && kbox && kscore && kkey && kcount
                             ? ipg_plan_step(&p, "ipg_nms_mask")
                             : NULL;
        if (s) {
            ipg_step_mem(s, box);
            ipg_step_mem(s, valid);
            ipg_step_int(s, base);
            ipg_step_int(s, k);
            ipg_step_int(s, words);
            ipg_step_float(s, thresh);
            ipg_step_mem(s, mask);
            ipg_step_range(s, 2, (size_t[]){ (size_t) (k + 31) / 32 + (k == 0), (size_t) k + (k == 0) }, NULL);
            s = plan_nms_scan(&p, wg, box, score, valid, skey, mask, base, k, words, level, rem, kbox, kscore, kkey,
                              kcount);
        }
        if (s) st = ipg_plan_finalize(&p);
        CHECK(st == IPG_OK, "NMS random k=%d setup: %s", k, g_err);
        if (st == IPG_OK) {
            CHECK(ipg_plan_run(&p) == IPG_OK, "NMS random k=%d run: %s", k, g_err);
            int32_t counts[3];
            float * gb = malloc(slots * 4 * sizeof(float));
            float * gs = malloc(slots * sizeof(float));
            uint32_t * gk = malloc(slots * sizeof(uint32_t));
            read_buf(kcount, counts, sizeof counts);
            read_buf(kbox, gb, slots * 4 * sizeof(float));
            read_buf(kscore, gs, slots * sizeof(float));
            read_buf(kkey, gk, slots * sizeof(uint32_t));
            int bad = 0;
            if (counts[2] == n_want)
                for (int i = 0; i < n_want; i++)
                    bad += memcmp(gb + 4 * (base + i), hb + 4 * (base + want[i]), 4 * sizeof(float)) != 0 ||
                           gs[base + i] != hs[base + want[i]] || gk[base + i] != hk[base + want[i]];
            CHECK(counts[2] == n_want && bad == 0 && counts[0] == -1 && counts[1] == -1,
                  "NMS random k=%d (k_max %d, IoU > %g), %s local %zu: kept %d (host %d), %d differ", k, k_max, thresh,
                  wg ? "ipg_nms_scan_group" : "ipg_nms_scan", wg, counts[2], n_want, bad);
            free(gb);
            free(gs);
            free(gk);
        }
        ipg_plan_free(&p);
    }
    free(want);
    free(hb);
    free(hs);
    free(hv);
    free(hk);
}

// ipg_rpn_merge on hand-made survivor lists with ties inside and across levels.
static void test_merge_cases(int max_rois) {
    const int L = 5, k_max = 8;
    static const float lists[5][8] = {
        { 0.9f, 0.5f, 0.5f },
        { 0 },
        { 0.9f, 0.7f, 0.5f, 0.1f },
        { 1.0f, 0.9f, 0.5f, 0.5f, 0.3f, 0.2f, 0.2f, 0.1f },
        { 0.5f },
    };
    const int32_t counts[5] = { 3, 0, 4, 8, 1 };
    float kb[5 * 8 * 4] = { 0 }, ks[5 * 8] = { 0 };
    uint32_t kk[5 * 8] = { 0 };
    for (int l = 0; l < L; l++)
        for (int i = 0; i < counts[l]; i++) {   // box = (level, position, ...) to tell them apart
            float * b = kb + 4 * (l * k_max + i);
            b[0] = (float) l;
            b[1] = (float) i;
            b[2] = (float) l + 10.0f;
            b[3] = (float) i + 10.0f;
            ks[l * k_max + i] = lists[l][i];
            kk[l * k_max + i] = order_key(lists[l][i]);
        }
    // A saturated sigmoid: level 4's 0.5 comes from a larger logit than the
    // other 0.5s (same score, larger key), so it goes ahead of all of them.
    kk[4 * k_max] += 1;
    merged_t want[40];
    const int total = ref_merge(kb, ks, counts, kk, L, k_max, want, NULL);
    const int want_count = total < max_rois ? total : max_rois;
    // the reference itself: 1.0 (L3), then 0.9 from levels 0, 2, 3 in that order,
    // 0.7 (L2), then the saturated 0.5 of L4 ahead of the other 0.5s (L0 first)
    CHECK(total == 16 && want[0].level == 3 && want[1].level == 0 && want[2].level == 2 && want[3].level == 3 &&
              want[4].level == 2 && want[5].level == 4 && want[6].level == 0 && want[6].pos == 1 &&
              want[7].level == 0 && want[7].pos == 2,
          "reference merge order");

    ipg_plan_t p;
    plan_init(&p);
    ipg_tensor_t rois = { 0 }, rscore = { 0 };
    ipg_status_t st = ipg_plan_tensor(&p, &rois, 1, max_rois, 4);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &rscore, 1, 1, max_rois);
    cl_mem kbox = st == IPG_OK ? ipg_plan_buffer(&p, sizeof kb, kb) : NULL;
    cl_mem kscore = kbox ? ipg_plan_buffer(&p, sizeof ks, ks) : NULL;
    cl_mem kkey = kscore ? ipg_plan_buffer(&p, sizeof kk, kk) : NULL;
    cl_mem kcount = kkey ? ipg_plan_buffer(&p, sizeof counts, counts) : NULL;
    cl_mem rcount = kcount ? ipg_plan_buffer(&p, sizeof(cl_int), NULL) : NULL;
    ipg_step_t * s = rcount ? ipg_plan_step(&p, "ipg_rpn_merge") : NULL;
    st = IPG_ERR_OPENCL;
    if (s) {
        ipg_step_mem(s, kbox);
        ipg_step_mem(s, kscore);
        ipg_step_mem(s, kkey);
        ipg_step_mem(s, kcount);
        ipg_step_int(s, k_max);
        ipg_step_int(s, L);
        ipg_step_int(s, max_rois);
        ipg_step_mem(s, rois.buf);
        ipg_step_mem(s, rscore.buf);
        ipg_step_mem(s, rcount);
        ipg_step_range(s, 2, (size_t[]){ (size_t) k_max, (size_t) L }, NULL);
        st = ipg_plan_finalize(&p);
    }
    CHECK(st == IPG_OK, "merge cases setup: %s", g_err);
    if (st == IPG_OK) {
        fill_floats(rois.buf, -1.0f, (size_t) max_rois * 4);
        CHECK(ipg_plan_run(&p) == IPG_OK, "merge cases run: %s", g_err);
        int32_t n = -1;
        float *got = malloc((size_t) max_rois * 4 * sizeof(float)), *gs = malloc((size_t) max_rois * sizeof(float));
        read_buf(rcount, &n, sizeof n);
        read_buf(rois.buf, got, (size_t) max_rois * 4 * sizeof(float));
        read_buf(rscore.buf, gs, (size_t) max_rois * sizeof(float));
        int bad = 0, first = -1;
        for (int i = 0; i < want_count; i++) {
            const bool ok = memcmp(got + 4 * i, want[i].box, 4 * sizeof(float)) == 0 && gs[i] == want[i].score;
            if (!ok && first < 0) first = i;
            bad += !ok;
        }
        CHECK(n == want_count && bad == 0,
              "merge cases (ties across levels, max_rois %d): roi_count %d (want %d), %d differ, first at %d: "
              "level %g #%g, want level %d #%d",
              max_rois, n, want_count, bad, first, first < 0 ? 0 : got[4 * first], first < 0 ? 0 : got[4 * first + 1],
              first < 0 ? 0 : want[first].level, first < 0 ? 0 : want[first].pos);
        free(got);
        free(gs);
    }
    ipg_plan_free(&p);
}

// =============================================================================
// 3. R-CNN candidates
// =============================================================================

typedef struct {
    const char * name;
    int K, R, count;
    float thresh;
    bool exact_half;   // RoI 0: class 1's score exactly 0.5; RoI 1: exactly 1
} rcnn_case_t;

typedef struct {
    int flat;
    float box[4], score;
    int label;
} cand_t;

static int g_rcnn_small = 0;   // candidates dropped as too small, over all cases

static int int_order(const void * pa, const void * pb) {
    const int a = *(const int *) pa, b = *(const int *) pb;
    return (a > b) - (a < b);
}

static int cand_by_flat(const void * pa, const void * pb) {
    const cand_t *a = pa, *b = pb;
    return (a->flat > b->flat) - (a->flat < b->flat);
}

static void test_rcnn(const rcnn_case_t * rc) {
    const char * what = rc->name;
    const int K = rc->K, R = rc->R, count = rc->count, image_w = 76, image_h = 100;
    const float wts[4] = { 10.0f, 10.0f, 5.0f, 5.0f };
    float * cls = malloc((size_t) (K + 1) * R * sizeof(float));
    float * box = malloc((size_t) 4 * (K + 1) * R * sizeof(float));
    float * rois = malloc((size_t) R * 4 * sizeof(float));
    for (int r = 0; r < R; r++) {
        float bw, bh;
        switch (r % 4) {
            case 0:
                bw = urange(5.0f, 60.0f);
                bh = urange(5.0f, 80.0f);
                break;
            case 1:
                bw = urange(0.2f, 3.0f);
                bh = urange(0.5f, 20.0f);
                break;
            case 2:
                bw = urange(0.003f, 0.03f);
                bh = urange(0.003f, 0.03f);
                break;   // around the 1e-2 minimum
            default:
                bw = (float) image_w;
                bh = (float) image_h;
                break;
        }
        const float x = urange(0.0f, (float) image_w - bw), y = urange(0.0f, (float) image_h - bh);
        rois[4 * r + 0] = x;
        rois[4 * r + 1] = y;
        rois[4 * r + 2] = x + bw;
        rois[4 * r + 3] = y + bh;
        for (int j = 0; j <= K; j++) {
            cls[(size_t) j * R + r] = 3.0f * frand();
            float d[4] = { 2.0f * frand(), 2.0f * frand(), 2.0f * frand(), 2.0f * frand() };
            const float u = urand();
            if (u < 0.1f) {
                d[2] = urange(21.0f, 30.0f);
                d[3] = urange(15.0f, 30.0f);
            }   // past the clamp (x5)
            else if (u < 0.15f)
                d[0] = urange(20.0f, 40.0f) * (frand() < 0 ? -1.0f : 1.0f);   // off the image
            else if (u < 0.25f)
                d[2] = urange(-15.0f, 10.0f);
            for (int i = 0; i < 4; i++) box[(size_t) (4 * j + i) * R + r] = d[i];
        }
        if (r >= count) {   // past the count: confident, large, valid; must produce nothing
            cls[(size_t) 1 * R + r] = 20.0f;
            for (int i = 0; i < 4; i++) box[(size_t) (4 + i) * R + r] = 0.0f;
        }
    }
    if (rc->exact_half) {   // softmax of {0, 0, -1e30, ...} = {0.5, 0.5, 0, ...}, of {-1e30, 0, ...} = {0, 1, ...}
        for (int j = 0; j <= K; j++) {
            cls[(size_t) j * R + 0] = j <= 1 ? 0.0f : -1e30f;
            cls[(size_t) j * R + 1] = j == 1 ? 0.0f : -1e30f;
        }
    }
    // the reference
    cand_t * want = malloc((size_t) R * K * sizeof *want);
    int * dont_care = malloc((size_t) R * K * sizeof *dont_care);   // ascending
    int n_want = 0, fragile = 0, n_small = 0, n_low = 0;
    for (int r = 0; r < count; r++) {
        float m = -INFINITY, sum = 0.0f;
        for (int j = 0; j <= K; j++) m = fmaxf(m, cls[(size_t) j * R + r]);
        for (int j = 0; j <= K; j++) sum += expf(cls[(size_t) j * R + r] - m);
        for (int j = 1; j <= K; j++) {
            const float s = expf(cls[(size_t) j * R + r] - m) / sum;
            float d[4], b[4];
            for (int i = 0; i < 4; i++) d[i] = box[(size_t) (4 * j + i) * R + r];
            ref_decode(rois + 4 * r, d, wts, g_clip_default, (float) image_w, (float) image_h, b);
            const float bw = b[2] - b[0], bh = b[3] - b[1];
            // within rounding of the score threshold or of the 1e-2 minimum:
            // either verdict is right
            if ((s != rc->thresh && fabsf(s - rc->thresh) <= 1e-6f * rc->thresh + 1e-9f) ||
                (bw != 0.0f && fabsf(bw - 1e-2f) < 3e-5f) || (bh != 0.0f && fabsf(bh - 1e-2f) < 3e-5f)) {
                dont_care[fragile++] = r * K + j - 1;
                continue;
            }
            if (!(s > rc->thresh)) {
                n_low++;
                continue;
            }
            if (!(bw >= 1e-2f && bh >= 1e-2f)) {
                n_small++;
                continue;
            }
            want[n_want].flat = r * K + j - 1;
            memcpy(want[n_want].box, b, sizeof b);
            want[n_want].score = s;
            want[n_want].label = j - 1;
            n_want++;
        }
    }

    ipg_plan_t p;
    plan_init(&p);
    ipg_tensor_t tcls = { 0 }, tbox = { 0 }, trois = { 0 };
    const size_t n_max = (size_t) R * K;
    ipg_status_t st = ipg_plan_tensor(&p, &tcls, K + 1, 1, R);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &tbox, 4 * (K + 1), 1, R);
    if (st == IPG_OK) st = ipg_plan_tensor(&p, &trois, 1, R, 4);
    cl_mem tcount = st == IPG_OK ? ipg_plan_buffer(&p, sizeof(cl_int), &count) : NULL;
    const cl_int zero = 0;
    cl_mem ccount = tcount ? ipg_plan_buffer(&p, sizeof(cl_int), &zero) : NULL;
    cl_mem obox = ccount ? ipg_plan_buffer(&p, n_max * 4 * sizeof(float), NULL) : NULL;
    cl_mem oscore = obox ? ipg_plan_buffer(&p, n_max * sizeof(float), NULL) : NULL;
    cl_mem olabel = oscore ? ipg_plan_buffer(&p, n_max * sizeof(cl_int), NULL) : NULL;
    cl_mem oflat = olabel ? ipg_plan_buffer(&p, n_max * sizeof(cl_int), NULL) : NULL;
    ipg_step_t * s = oflat ? ipg_plan_step(&p, "ipg_rcnn_candidates") : NULL;
    st = IPG_ERR_OPENCL;
    if (s) {   // the argument order of post/rcnn-post.c
        ipg_step_mem(s, tcls.buf);
        ipg_step_mem(s, tbox.buf);
        ipg_step_mem(s, trois.buf);
        ipg_step_mem(s, tcount);
        ipg_step_int(s, R);
        ipg_step_int(s, K);
        for (int i = 0; i < 4; i++) ipg_step_float(s, wts[i]);
        ipg_step_float(s, IPG_BBOX_XFORM_CLIP);
        ipg_step_float(s, (float) image_w);
        ipg_step_float(s, (float) image_h);
        const int32_t thresh_arg = ipg_step_float(s, rc->thresh);
        ipg_step_mem(s, ccount);
        ipg_step_mem(s, obox);
        ipg_step_mem(s, oscore);
        ipg_step_mem(s, olabel);
        ipg_step_mem(s, oflat);
        ipg_step_range(s, 1, (size_t[]){ (size_t) R }, NULL);
        CHECK(thresh_arg >= 0 && s->args[thresh_arg].f == rc->thresh, "the recorded argument is not the threshold");
        st = ipg_plan_finalize(&p);
    }
    CHECK(st == IPG_OK, "%s setup: %s", what, g_err);
    if (st == IPG_OK) {
        write_buf(tcls.buf, cls, (size_t) (K + 1) * R * sizeof(float));
        write_buf(tbox.buf, box, (size_t) 4 * (K + 1) * R * sizeof(float));
        write_buf(trois.buf, rois, (size_t) R * 4 * sizeof(float));
        CHECK(ipg_plan_run(&p) == IPG_OK, "%s run: %s", what, g_err);
        cl_int n = -1;
        read_buf(ccount, &n, sizeof n);
        CHECK(n >= n_want && n <= n_want + fragile, "%s: %d candidates, want %d (+ up to %d on a rounding edge)", what,
              n, n_want, fragile);
        if (n > 0 && (size_t) n <= n_max) {
            float *gb = malloc((size_t) n * 4 * sizeof(float)), *gs = malloc((size_t) n * sizeof(float));
            int32_t *gl = malloc((size_t) n * sizeof(int32_t)), *gf = malloc((size_t) n * sizeof(int32_t));
            read_buf(obox, gb, (size_t) n * 4 * sizeof(float));
            read_buf(oscore, gs, (size_t) n * sizeof(float));
            read_buf(olabel, gl, (size_t) n * sizeof(int32_t));
            read_buf(oflat, gf, (size_t) n * sizeof(int32_t));
            cand_t * got = malloc((size_t) n * sizeof *got);
            for (int i = 0; i < n; i++) {
                got[i].flat = gf[i];
                memcpy(got[i].box, gb + 4 * i, sizeof got[i].box);
                got[i].score = gs[i];
                got[i].label = gl[i];
            }
            qsort(got, (size_t) n, sizeof *got, cand_by_flat);
            qsort(want, (size_t) n_want, sizeof *want, cand_by_flat);
            // a merge walk over both sorted lists
            int missing = 0, extra = 0, bad = 0, i = 0, j = 0;
            const char * first = NULL;
            int first_flat = -1;
            while (i < n || j < n_want) {
                if (j >= n_want || (i < n && got[i].flat < want[j].flat)) {
                    const bool either = bsearch(&got[i].flat, dont_care, (size_t) fragile, sizeof(int), int_order);
                    if (!first && !either) {
                        first = "extra";
                        first_flat = got[i].flat;
                    }
                    extra += !either, i++;
                } else if (i >= n || want[j].flat < got[i].flat) {
                    if (!first) {
                        first = "missing";
                        first_flat = want[j].flat;
                    }
                    missing++, j++;
                } else {
                    const bool ok = got[i].label == want[j].label && got[i].label == got[i].flat % K &&
                                    boxes_close(got[i].box, want[j].box, 1e-4f) &&
                                    fabsf(got[i].score - want[j].score) <= 1e-6f * fmaxf(want[j].score, 1e-3f);
                    if (!ok && !first) {
                        first = "different";
                        first_flat = got[i].flat;
                    }
                    bad += !ok;
                    i++, j++;
                }
            }
            CHECK(missing == 0 && extra == 0 && bad == 0,
                  "%s: %d candidates missing, %d extra, %d with another box, score or label; first: %s (RoI %d "
                  "class %d)",
                  what, missing, extra, bad, first ? first : "-", first_flat < 0 ? -1 : first_flat / K,
                  first_flat < 0 ? -1 : first_flat % K + 1);
            free(gb);
            free(gs);
            free(gl);
            free(gf);
            free(got);
        }
    }
    CHECK(count == 0 || ((n_low > 0 || rc->thresh == 0.0f) && n_want > 0),
          "test data: %s: %d kept, %d under the threshold", what, n_want, n_low);
    g_rcnn_small += n_small;
    printf("  %s: %d candidates (%d under the threshold, %d too small, %d on a rounding edge)\n", what, n_want, n_low,
           n_small, fragile);
    ipg_plan_free(&p);
    free(cls);
    free(box);
    free(rois);
    free(want);
    free(dont_care);
}

// The oclgrind subset (`--small`): tiny maps, a few RoIs, one proposal case.
static void run_small(void) {
    test_roi_align(100, 76, 17, 3, 2, 20, 23);
    static const rpn_case_t rpn_case = {
        "proposals 36x52 k_max 32, tied logits", 36, 52, 32, 25, 0.7f, 0.0f, 5, { 8, 16, 32, 64, 128 }
    };
    test_proposals(&rpn_case);
    test_select(7, 5, 17, 64, 0);
    test_select(13, 10, 389, 33, 2);
    test_nms_cases(0);
    test_nms_cases(IPG_NMS_SCAN_WG);
    test_nms_cases(3);
    {
        static const size_t wgs[] = { IPG_NMS_SCAN_WG, 5 };
        test_nms_random(0, 32, 0.5f, wgs, 2);
        test_nms_random(1, 32, 0.5f, wgs, 2);
        test_nms_random(70, 96, 0.5f, wgs, 2);
    }
    test_merge_cases(9);
    static const rcnn_case_t rcnn_cases[] = {
        { "rcnn_candidates K=3, 7 of 9 RoIs, score > 0.5 (one exactly 0.5)", 3, 9, 7, 0.5f, true },
        { "rcnn_candidates K=4, 0 of 8 RoIs", 4, 8, 0, 0.05f, false },
    };
    for (size_t i = 0; i < sizeof rcnn_cases / sizeof rcnn_cases[0]; i++) test_rcnn(&rcnn_cases[i]);
}

int main(int argc, char ** argv) {
    const bool small = argc > 1 && strcmp(argv[1], "--small") == 0;
    const char * dev = getenv("IPG_TEST_DEVICE");
    if (ipg_cl_init(&g_cl, dev, false, g_err, sizeof g_err) != IPG_OK) {
        printf("FAIL: no OpenCL device: %s\n", g_err);
        return 1;
    }
    printf("device: %s\n", g_cl.device_name);
    if (small) {
        run_small();
        ipg_cl_free(&g_cl);
        printf("%d passed, %d failed\n", g_passed, g_failed);
        return g_failed ? 1 : 0;
    }
    double t0 = now_s();

    // 1. RoIAlign: (input H, W), channels (the kernel works in blocks of 16),
    // output size, sampling ratio, count, max_rois
    test_level_mapper_ref();
    test_roi_align(100, 76, 1, 7, 2, MAX_ROI_BOXES, MAX_ROI_BOXES + 3);
    test_roi_align(100, 76, 3, 3, 1, MAX_ROI_BOXES - 5, MAX_ROI_BOXES);
    test_roi_align(128, 96, 17, 7, 3, MAX_ROI_BOXES, MAX_ROI_BOXES + 1);
    test_roi_align(128, 96, 16, 5, 2, MAX_ROI_BOXES, MAX_ROI_BOXES);
    test_roi_align(100, 76, 33, 3, 3, 30, 41);
    test_roi_align(128, 96, 3, 7, 2, 0, 9);
    double t1 = now_s();
    printf("roi_align: %.2f s\n", t1 - t0);

    // 2. proposals
    static const rpn_case_t rpn_cases[] = {
        // P2..P6 25x19, 13x10, 7x5, 4x3, 2x2: 1425, 390, 105, 36, 12 anchors
        { "proposals 76x100 k_max 50, max_rois 37", 76, 100, 50, 37, 0.7f, 0.0f, 0, { 16, 32, 64, 128, 256 } },
        { "proposals 76x100 k_max 50, score >= 0.6", 76, 100, 50, 1000, 0.7f, 0.6f, 0, { 16, 32, 64, 128, 256 } },
        { "proposals 76x100 k_max 50, tied logits", 76, 100, 50, 120, 0.7f, 0.0f, 6, { 16, 32, 64, 128, 256 } },
        // tied logits with 0 among them, score threshold 0.5 = sigmoid(0) exactly
        { "proposals 76x100 k_max 40, tied logits, score >= 0.5",
          76,
          100,
          40,
          1000,
          0.7f,
          0.5f,
          7,
          { 8, 16, 32, 64, 128 } },
        // 16x12, 8x6, 4x3, 2x2, 1x1: 576, 144, 36, 12, 3 anchors
        { "proposals 48x64 k_max 50, max_rois 1000", 48, 64, 50, 1000, 0.7f, 0.0f, 0, { 32, 64, 128, 256, 512 } },
        // 9x13, 5x7, 3x4, 2x2, 1x1: 351, 105, 36, 12, 3; k_max 100 (4 words)
        { "proposals 36x52 k_max 100, score >= 0.3", 36, 52, 100, 60, 0.7f, 0.3f, 0, { 8, 16, 32, 64, 128 } },
        { "proposals 36x52 k_max 32, tied logits", 36, 52, 32, 25, 0.7f, 0.0f, 5, { 8, 16, 32, 64, 128 } },
    };
    for (size_t i = 0; i < sizeof rpn_cases / sizeof rpn_cases[0]; i++) test_proposals(&rpn_cases[i]);
    // select alone: (h, w, k, local size, tie values)
    test_select(25, 19, 50, 256, 3);
    test_select(25, 19, 50, 7, 3);
    test_select(25, 19, 50, 1, 4);
    test_select(13, 10, 390, 64, 5);   // k = all
    test_select(13, 10, 389, 33, 2);
    test_select(13, 10, 1, 256, 2);
    test_select(7, 5, 17, 256, 0);
    test_select(31, 29, 1000, 256, 0);
    static const size_t scan_wgs[] = { 1, 3, IPG_NMS_SCAN_WG, 64, 256 };
    for (size_t i = 0; i < 5; i++) test_nms_cases(scan_wgs[i]);
    test_nms_cases(0);
    static const int nms_ks[][2] = { { 0, 32 },  { 1, 1 },    { 31, 32 },   { 33, 50 },
                                     { 64, 64 }, { 65, 100 }, { 333, 333 }, { 1000, 1000 } };
    for (size_t i = 0; i < sizeof nms_ks / sizeof nms_ks[0]; i++) {
        test_nms_random(nms_ks[i][0], nms_ks[i][1], 0.7f, scan_wgs, 5);
        test_nms_random(nms_ks[i][0], nms_ks[i][1], 0.3f, scan_wgs + 2, 1);
    }
    test_merge_cases(9);
    test_merge_cases(100);
    double t2 = now_s();
    printf("proposals: %.2f s\n", t2 - t1);

    // 3. R-CNN candidates
    static const rcnn_case_t rcnn_cases[] = {
        { "rcnn_candidates K=5, 33 of 40 RoIs, score > 0.05", 5, 40, 33, 0.05f, false },
        { "rcnn_candidates K=3, 7 of 9 RoIs, score > 0.5 (one exactly 0.5)", 3, 9, 7, 0.5f, true },
        { "rcnn_candidates K=1, 11 of 12 RoIs, score > 0", 1, 12, 11, 0.0f, false },
        { "rcnn_candidates K=90, 23 of 24 RoIs, score > 0.01", 90, 24, 23, 0.01f, false },
        { "rcnn_candidates K=4, 0 of 8 RoIs", 4, 8, 0, 0.05f, false },
    };
    for (size_t i = 0; i < sizeof rcnn_cases / sizeof rcnn_cases[0]; i++) test_rcnn(&rcnn_cases[i]);
    CHECK(g_rcnn_small > 0, "test data: no candidate under the 1e-2 minimum size");
    double t3 = now_s();
    printf("rcnn_candidates: %.2f s\n", t3 - t2);

    ipg_cl_free(&g_cl);
    if (g_failed > MAX_FAIL_LINES) printf("(%d more failures not shown)\n", g_failed - MAX_FAIL_LINES);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
