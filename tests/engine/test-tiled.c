// SPDX-License-Identifier: LGPL-2.1-or-later
// test-tiled.c: tiled inference through the public context API. A tiled run
// equals the tiling spec done by hand: each tile cropped on the host and run
// as a frame of its own, its detections mapped to frame pixels (x / s + x0,
// clipped to the tile), pooled in image order and merged with
// ipg_tile_merge. Planar frames: every image of the batch equals the host
// conversion of its crop (odd origins, where a tile starts inside a chroma
// block). The head's outputs of a tiled (batched) run equal those of each
// crop run alone within 1e-6. Bad tiling parameters and a frame needing more
// than max-tiles are refused with messages naming them. Usage: test-tiled MODEL
#include "ipg.h"
#include "tiling.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-check.h"

#define MAXD 4096

typedef struct {
    ipg_detection_t d[MAXD];
    int32_t n;
} result_t;

static result_t g_res, g_want, g_one;
static ipg_detection_t g_pool[MAXD];
static int32_t g_scratch[2 * MAXD];

// A picture-like frame: gradients, noise, a few bright blocks.
static uint8_t * make_rgb(int w, int h, uint32_t seed) {
    uint8_t * rgb = malloc((size_t) w * h * 3);
    for (int i = 0; i < w * h * 3; i++) {
        seed = seed * 1664525u + 1013904223u;
        const int x = i / 3 % w, y = i / 3 / w;
        const int block = ((x / 9 + y / 7) % 5 == 0) ? 120 : 0;
        rgb[i] = (uint8_t) (x * 3 + y * 2 + (seed >> 28) * 4 + (i % 3) * 40 + block);
    }
    return rgb;
}

static uint8_t * crop_rgb(const uint8_t * rgb, int w, const ipg_tile_rect_t * r) {
    uint8_t * out = malloc((size_t) r->w * r->h * 3);
    for (int y = 0; y < r->h; y++)
        memcpy(out + (size_t) y * r->w * 3, rgb + ((size_t) (r->y + y) * w + r->x) * 3, (size_t) r->w * 3);
    return out;
}

static bool close_dets(const result_t * a, const result_t * b, double tol, int * where) {
    *where = -1;
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++) {
        const ipg_detection_t *x = &a->d[i], *y = &b->d[i];
        if (x->label != y->label || x->score != y->score || x->tile != y->tile || x->scale != y->scale ||
            fabs(x->x1 - y->x1) > tol || fabs(x->y1 - y->y1) > tol || fabs(x->x2 - y->x2) > tol ||
            fabs(x->y2 - y->y2) > tol) {
            *where = i;
            return false;
        }
    }
    return true;
}

// The tiling spec by hand on an RGB frame: every view cropped and run
// untiled, mapped, pooled, merged.
static void expected_tiled(const ipg_model_t * model, const ipg_ctx_params_t * tiled, const uint8_t * rgb, int w, int h,
                           result_t * want) {
    const ipg_tiling_t * tl = &tiled->tiling;
    ipg_ctx_params_t p = *tiled;
    p.tiling = ipg_tiling_default();
    char err[1024];
    ipg_ctx_t * ctx = NULL;
    want->n = 0;
    if (ipg_ctx_init(model, &p, &ctx, err, sizeof err) != IPG_OK) {
        CHECK(false, "init the untiled context: %s", err);
        return;
    }
    int32_t in_w, in_h;
    ipg_model_input_size(model, &in_w, &in_h);
    if (p.input_width) {
        in_w = p.input_width;
        in_h = p.input_height;
    }
    ipg_tile_rect_t rects[IPG_MAX_TILES_LIMIT + 1];
    int32_t n = 0;
    if (tl->full_frame) rects[n++] = (ipg_tile_rect_t){ 0, 0, w, h };
    const int32_t first_tile = n;
    n += ipg_tile_grid(w, h, tl->tile_width, tl->tile_height, tl->overlap, rects + n, IPG_MAX_TILES_LIMIT);
    int32_t pooled = 0;
    for (int32_t v = 0; v < n; v++) {
        const ipg_tile_rect_t * r = &rects[v];
        uint8_t * crop = crop_rgb(rgb, w, r);
        ipg_frame_t frame = { .data = crop, .stride = r->w * 3 };
        ipg_status_t st = ipg_ctx_prepare(ctx, r->w, r->h, IPG_PIXEL_RGB);
        if (st == IPG_OK) st = ipg_ctx_run(ctx, &frame, g_one.d, MAXD, &g_one.n);
        CHECK(st == IPG_OK, "untiled run of view %d: %s", v, ipg_ctx_last_error(ctx));
        free(crop);
        if (st != IPG_OK) break;
        const double s = fmin((double) in_w / r->w, (double) in_h / r->h);
        for (int32_t i = 0; i < g_one.n && pooled < MAXD; i++) {
            ipg_detection_t d = g_one.d[i];
            CHECK(d.tile == -1 && d.scale == (float) s, "an untiled detection has tile -1 and scale s");
            // The crop's detections are x / s clipped to the crop; shifted by the origin.
            d.x1 += (float) r->x;
            d.x2 += (float) r->x;
            d.y1 += (float) r->y;
            d.y2 += (float) r->y;
            d.tile = v - first_tile;
            g_pool[pooled++] = d;
        }
    }
    const int32_t cap = tiled->max_detections;
    want->n = ipg_tile_merge(g_pool, pooled, tl->merge, tl->match_metric, tl->match_threshold, cap, g_scratch, want->d);
    ipg_ctx_free(ctx);
}

// max_dets: the per-image and merged cap (at most the model's).
static void test_rgb(const ipg_model_t * model, int w, int h, ipg_tiling_t tl, float score, int max_dets) {
    ipg_ctx_params_t p = ipg_ctx_params_default();
    p.score_threshold = score;
    p.max_detections = max_dets;
    p.tiling = tl;
    char err[1024];
    ipg_ctx_t * ctx = NULL;
    ipg_status_t st = ipg_ctx_init(model, &p, &ctx, err, sizeof err);
    CHECK(st == IPG_OK, "init tiled: %s", err);
    if (st != IPG_OK) return;
    uint8_t * rgb = make_rgb(w, h, (uint32_t) (w * 31 + h));
    st = ipg_ctx_prepare(ctx, w, h, IPG_PIXEL_RGB);
    CHECK(st == IPG_OK, "prepare tiled %dx%d: %s", w, h, ipg_ctx_last_error(ctx));
    const int32_t n_tiles = ipg_tile_grid(w, h, tl.tile_width, tl.tile_height, tl.overlap, NULL, 0);
    CHECK(ipg_ctx_images_per_frame(ctx) == n_tiles + (tl.full_frame ? 1 : 0),
          "%dx%d tiles %dx%d: %d images per frame (want %d)", w, h, tl.tile_width, tl.tile_height,
          ipg_ctx_images_per_frame(ctx), n_tiles + (tl.full_frame ? 1 : 0));
    ipg_frame_t frame = { .data = rgb, .stride = w * 3 };
    st = ipg_ctx_run(ctx, &frame, g_res.d, MAXD, &g_res.n);
    CHECK(st == IPG_OK, "run tiled: %s", ipg_ctx_last_error(ctx));
    // Twice: nothing of one frame leaks into the next.
    result_t * again = &g_one;
    st = ipg_ctx_run(ctx, &frame, again->d, MAXD, &again->n);
    int where = -1;
    CHECK(st == IPG_OK && close_dets(again, &g_res, 0.0, &where), "a second run of the same frame is identical");
    ipg_ctx_free(ctx);
    expected_tiled(model, &p, rgb, w, h, &g_want);
    const bool ok = close_dets(&g_res, &g_want, 1e-3, &where);
    CHECK(ok && g_res.n > 0,
          "%dx%d tiles %dx%d overlap %g full %d merge %d metric %d: tiled run = the spec by hand "
          "(%d vs %d detections, first difference at %d)",
          w, h, tl.tile_width, tl.tile_height, tl.overlap, tl.full_frame, (int) tl.merge, (int) tl.match_metric,
          g_res.n, g_want.n, where);
    if (!ok && where >= 0 && where < g_res.n && where < g_want.n) {
        const ipg_detection_t *a = &g_res.d[where], *b = &g_want.d[where];
        printf("  got  %d %.6f [%g %g %g %g] tile %d s %g\n", a->label, a->score, a->x1, a->y1, a->x2, a->y2, a->tile,
               a->scale);
        printf("  want %d %.6f [%g %g %g %g] tile %d s %g\n", b->label, b->score, b->x1, b->y1, b->x2, b->y2, b->tile,
               b->scale);
    }
    bool inside = true;
    for (int i = 0; i < g_res.n; i++) {
        const ipg_detection_t * d = &g_res.d[i];
        inside = inside && d->x1 >= 0 && d->y1 >= 0 && d->x2 <= w && d->y2 <= h && d->tile >= -1 && d->tile < n_tiles &&
                 (i == 0 || d->score <= g_res.d[i - 1].score);
    }
    CHECK(inside, "tiled detections lie in the frame, in score order, with a valid tile");
    free(rgb);
}

// ---- planar 4:2:0: every image of the batch against the host conversion of its crop ----

static float * g_inputs = NULL;
static size_t g_inputs_n = 0;
static void grab_inputs(const char * name, const float * data, int32_t c, int32_t h, int32_t w, void * ud) {
    (void) ud;
    if (strcmp(name, "input") != 0) return;
    const size_t n = (size_t) c * h * w;
    g_inputs = realloc(g_inputs, (g_inputs_n + n) * sizeof(float));
    memcpy(g_inputs + g_inputs_n, data, n * sizeof(float));
    g_inputs_n += n;
}

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

// BT.601 limited range, the crop (x0, y0, w, h) of a frame fw wide: each
// pixel takes the chroma of the frame's 2x2 block it lies in.
static void yuv_crop_reference(const uint8_t * y, const uint8_t * u, const uint8_t * v, int fw,
                               const ipg_tile_rect_t * r, int in_w, int in_h, float * out) {
    const float mean[3] = { 0.485f, 0.456f, 0.406f }, stdv[3] = { 0.229f, 0.224f, 0.225f };
    const double s = fmin((double) in_w / r->w, (double) in_h / r->h);
    int nw = (int) floor(r->w * s + 0.5), nh = (int) floor(r->h * s + 0.5);
    nw = nw < 1 ? 1 : (nw > in_w ? in_w : nw);
    nh = nh < 1 ? 1 : (nh > in_h ? in_h : nh);
    int *x0 = malloc(sizeof(int) * nw), *x1 = malloc(sizeof(int) * nw);
    int *y0 = malloc(sizeof(int) * nh), *y1 = malloc(sizeof(int) * nh);
    double *lx = malloc(sizeof(double) * nw), *ly = malloc(sizeof(double) * nh);
    taps(r->w, nw, x0, x1, lx);
    taps(r->h, nh, y0, y1, ly);
    const double kr = 0.299, kb = 0.114, kg = 1 - kr - kb, ys = 255.0 / 219, cs = 255.0 / 224, yo = 16;
    const int cw = (fw + 1) / 2;
    memset(out, 0, sizeof(float) * 3 * in_w * in_h);
    for (int oy = 0; oy < nh; oy++)
        for (int ox = 0; ox < nw; ox++) {
            double acc[3] = { 0, 0, 0 };
            for (int t = 0; t < 4; t++) {
                const int px = r->x + (t & 1 ? x1[ox] : x0[ox]), py = r->y + (t & 2 ? y1[oy] : y0[oy]);
                const double wt = (t & 1 ? lx[ox] : 1 - lx[ox]) * (t & 2 ? ly[oy] : 1 - ly[oy]);
                const int ci = (py / 2) * cw + px / 2;
                const double Y = (y[py * fw + px] - yo) * ys;
                const double U = (u[ci] - 128.0) * cs, V = (v[ci] - 128.0) * cs;
                double rgb[3] = { Y + 2 * (1 - kr) * V, Y - 2 * kb * (1 - kb) / kg * U - 2 * kr * (1 - kr) / kg * V,
                                  Y + 2 * (1 - kb) * U };
                for (int c = 0; c < 3; c++) acc[c] += wt * fmin(fmax(rgb[c], 0), 255) / 255.0;
            }
            for (int c = 0; c < 3; c++) out[(c * in_h + oy) * in_w + ox] = (float) ((acc[c] - mean[c]) / stdv[c]);
        }
    free(x0);
    free(x1);
    free(y0);
    free(y1);
    free(lx);
    free(ly);
}

static void test_planar(const ipg_model_t * model, int w, int h, ipg_pixel_format_t format, ipg_tiling_t tl) {
    const char * fname = format == IPG_PIXEL_NV12 ? "NV12" : "I420";
    const int cw = (w + 1) / 2, ch = (h + 1) / 2;
    uint8_t *yt = malloc((size_t) w * h), *ut = malloc((size_t) cw * ch), *vt = malloc((size_t) cw * ch);
    uint8_t * uv = malloc((size_t) 2 * cw * ch);
    uint32_t r = 11;
    for (int i = 0; i < w * h; i++) {
        r = r * 1664525u + 1013904223u;
        yt[i] = (uint8_t) (i % w * 5 + (r >> 26));
    }
    for (int i = 0; i < cw * ch; i++) {
        r = r * 1664525u + 1013904223u;
        ut[i] = (uint8_t) (r >> 24);
        vt[i] = (uint8_t) (i * 7);
        uv[2 * i] = ut[i];
        uv[2 * i + 1] = vt[i];
    }
    ipg_ctx_params_t p = ipg_ctx_params_default();
    p.score_threshold = 0.0f;
    p.tiling = tl;
    char err[1024];
    ipg_ctx_t * ctx = NULL;
    ipg_status_t st = ipg_ctx_init(model, &p, &ctx, err, sizeof err);
    CHECK(st == IPG_OK, "init tiled: %s", err);
    if (st != IPG_OK) return;
    st = ipg_ctx_prepare(ctx, w, h, format);
    CHECK(st == IPG_OK, "prepare %s %dx%d tiled: %s", fname, w, h, ipg_ctx_last_error(ctx));
    ipg_frame_t frame = { .planes = { yt, format == IPG_PIXEL_NV12 ? uv : ut, vt },
                          .strides = { w, format == IPG_PIXEL_NV12 ? 2 * cw : cw, cw } };
    g_inputs_n = 0;
    ipg_ctx_set_stage_callback(ctx, grab_inputs, NULL);
    st = ipg_ctx_run(ctx, &frame, g_res.d, MAXD, &g_res.n);
    ipg_ctx_set_stage_callback(ctx, NULL, NULL);
    CHECK(st == IPG_OK, "run %s tiled: %s", fname, ipg_ctx_last_error(ctx));
    int32_t in_w, in_h;
    ipg_model_input_size(model, &in_w, &in_h);
    ipg_tile_rect_t rects[IPG_MAX_TILES_LIMIT + 1];
    int32_t n = 0;
    if (tl.full_frame) rects[n++] = (ipg_tile_rect_t){ 0, 0, w, h };
    n += ipg_tile_grid(w, h, tl.tile_width, tl.tile_height, tl.overlap, rects + n, IPG_MAX_TILES_LIMIT);
    bool odd = false;
    for (int i = 0; i < n; i++) odd = odd || (rects[i].x & 1) || (rects[i].y & 1);
    CHECK(odd, "test data: some %s tile starts at an odd origin", fname);
    const size_t image = (size_t) 3 * in_w * in_h;
    CHECK(g_inputs_n == (size_t) n * image, "%s: the input stage holds %d images (%zu floats, want %zu)", fname, n,
          g_inputs_n, (size_t) n * image);
    if (g_inputs_n == (size_t) n * image) {
        float * want = malloc(image * sizeof(float));
        double worst = 0;
        for (int v = 0; v < n; v++) {
            yuv_crop_reference(yt, ut, vt, w, &rects[v], in_w, in_h, want);
            for (size_t i = 0; i < image; i++) worst = fmax(worst, fabs((double) g_inputs[v * image + i] - want[i]));
        }
        CHECK(worst < 2e-5, "%s %dx%d tiles %dx%d: every image within 2e-5 of its crop's host conversion (%.2g)", fname,
              w, h, tl.tile_width, tl.tile_height, worst);
        free(want);
    }
    ipg_ctx_free(ctx);
    free(yt);
    free(ut);
    free(vt);
    free(uv);
}

// ---- the head's outputs: a batch = its images run one by one ----

// The head's output stages of one run ("head.cls.p3", "rpn.box.p4", ...),
// each the concatenation of its callbacks: one [B][C][H][W] callback for a
// batched detector, B [1][C][H][W] ones for a detector run an image a pass.
#define MAX_HEAD_STAGES 16
typedef struct {
    char name[32];
    float * data;
    size_t n;
} head_stage_t;

typedef struct {
    head_stage_t s[MAX_HEAD_STAGES];
    int n;
} head_run_t;

static head_run_t g_batched, g_single;

static void grab_head(const char * name, const float * data, int32_t c, int32_t h, int32_t w, void * ud) {
    head_run_t * run = ud;
    if (strncmp(name, "head.cls.", 9) != 0 && strncmp(name, "head.box.", 9) != 0 && strncmp(name, "rpn.cls.", 8) != 0 &&
        strncmp(name, "rpn.box.", 8) != 0)
        return;
    int i = 0;
    while (i < run->n && strcmp(run->s[i].name, name) != 0) i++;
    if (i == run->n) {
        if (run->n == MAX_HEAD_STAGES) return;
        snprintf(run->s[run->n++].name, sizeof run->s[0].name, "%s", name);
    }
    head_stage_t * st = &run->s[i];
    const size_t n = (size_t) c * h * w;
    st->data = realloc(st->data, (st->n + n) * sizeof(float));
    memcpy(st->data + st->n, data, n * sizeof(float));
    st->n += n;
}

static void head_run_clear(head_run_t * run) {
    for (int i = 0; i < run->n; i++) free(run->s[i].data);
    memset(run, 0, sizeof *run);
}

// The tiled run's head stages, image v of the batch against the same stages
// of crop v run untiled: max |batched - single| <= 1e-6 * max(1, max |single|).
static void test_head_batch(const ipg_model_t * model, int w, int h, ipg_tiling_t tl) {
    ipg_ctx_params_t p = ipg_ctx_params_default();
    p.score_threshold = 0.0f;
    p.tiling = tl;
    char err[1024];
    ipg_ctx_t *tiled = NULL, *single = NULL;
    ipg_status_t st = ipg_ctx_init(model, &p, &tiled, err, sizeof err);
    CHECK(st == IPG_OK, "init tiled: %s", err);
    if (st != IPG_OK) return;
    p.tiling = ipg_tiling_default();
    st = ipg_ctx_init(model, &p, &single, err, sizeof err);
    CHECK(st == IPG_OK, "init untiled: %s", err);
    uint8_t * rgb = make_rgb(w, h, (uint32_t) (w * 7 + h));
    ipg_frame_t frame = { .data = rgb, .stride = w * 3 };
    if (st == IPG_OK) st = ipg_ctx_prepare(tiled, w, h, IPG_PIXEL_RGB);
    ipg_ctx_set_stage_callback(tiled, grab_head, &g_batched);
    if (st == IPG_OK) st = ipg_ctx_run(tiled, &frame, g_res.d, MAXD, &g_res.n);
    CHECK(st == IPG_OK, "tiled run %dx%d: %s", w, h, tiled ? ipg_ctx_last_error(tiled) : err);
    ipg_tile_rect_t rects[IPG_MAX_TILES_LIMIT + 1];
    int32_t n = 0;
    if (tl.full_frame) rects[n++] = (ipg_tile_rect_t){ 0, 0, w, h };
    n += ipg_tile_grid(w, h, tl.tile_width, tl.tile_height, tl.overlap, rects + n, IPG_MAX_TILES_LIMIT);
    CHECK(st != IPG_OK || g_batched.n >= 4, "the tiled run dumps the head's outputs (%d stages)", g_batched.n);
    ipg_ctx_set_stage_callback(single, grab_head, &g_single);
    double worst = 0;
    int compared = 0, bad_sizes = 0;
    for (int32_t v = 0; v < n && st == IPG_OK; v++) {
        uint8_t * crop = crop_rgb(rgb, w, &rects[v]);
        ipg_frame_t one = { .data = crop, .stride = rects[v].w * 3 };
        head_run_clear(&g_single);
        st = ipg_ctx_prepare(single, rects[v].w, rects[v].h, IPG_PIXEL_RGB);
        if (st == IPG_OK) st = ipg_ctx_run(single, &one, g_one.d, MAXD, &g_one.n);
        CHECK(st == IPG_OK, "untiled run of view %d: %s", v, ipg_ctx_last_error(single));
        free(crop);
        bad_sizes += g_single.n != g_batched.n;
        for (int i = 0; i < g_single.n && st == IPG_OK; i++) {
            const head_stage_t * a = &g_single.s[i];
            const head_stage_t * b = NULL;
            for (int j = 0; j < g_batched.n && !b; j++)
                if (strcmp(g_batched.s[j].name, a->name) == 0) b = &g_batched.s[j];
            if (!b || b->n != (size_t) n * a->n) {
                bad_sizes++;
                continue;
            }
            double max_ref = 1, max_diff = 0;
            for (size_t k = 0; k < a->n; k++) {
                max_ref = fmax(max_ref, fabs(a->data[k]));
                max_diff = fmax(max_diff, fabs((double) b->data[(size_t) v * a->n + k] - a->data[k]));
            }
            worst = fmax(worst, max_diff / max_ref);
            compared++;
        }
    }
    CHECK(st == IPG_OK && bad_sizes == 0 && compared == n * g_batched.n && worst <= 1e-6,
          "%dx%d tiles %dx%d (%d images): the batch's head outputs = each image's alone, %d stages compared, "
          "%d missing or of another size, worst %.3g (<= 1e-6)",
          w, h, tl.tile_width, tl.tile_height, n, compared, bad_sizes, worst);
    head_run_clear(&g_batched);
    head_run_clear(&g_single);
    ipg_ctx_free(single);
    ipg_ctx_free(tiled);
    free(rgb);
}

// ---- parameters and limits ----

static void expect_refused(const ipg_model_t * model, ipg_tiling_t tl, const char * what) {
    ipg_ctx_params_t p = ipg_ctx_params_default();
    p.tiling = tl;
    char err[1024] = "";
    ipg_ctx_t * ctx = NULL;
    ipg_status_t st = ipg_ctx_init(model, &p, &ctx, err, sizeof err);
    CHECK(st == IPG_ERR_INVALID_ARG && ctx == NULL && strstr(err, what), "bad tiling refused naming \"%s\": %s", what,
          err);
    if (ctx) ipg_ctx_free(ctx);
}

static void test_params(const ipg_model_t * model) {
    const ipg_tiling_t d = ipg_tiling_default();
    CHECK(d.tile_width == 0 && d.tile_height == 0 && d.overlap == 0.2 && d.full_frame == 1 &&
              d.merge == IPG_TILE_MERGE_NMM && d.match_metric == IPG_TILE_METRIC_IOS && d.match_threshold == 0.5f &&
              d.max_tiles == 64,
          "ipg_tiling_default: off, 0.2, full frame, NMM, IoS 0.5, 64");
    ipg_ctx_params_t p = ipg_ctx_params_default();
    CHECK(p.tiling.tile_width == 0 && p.tiling.tile_height == 0 && p.tiling.max_tiles == 64 &&
              p.tiling.overlap == 0.2 && p.tiling.full_frame == 1,
          "ipg_ctx_params_default has tiling off");
    ipg_tiling_t t = d;
    t.tile_width = 64;
    t.tile_height = 0;
    expect_refused(model, t, "tile size 64x0");
    t.tile_width = 16385;
    t.tile_height = 64;
    expect_refused(model, t, "1..16384");
    t = d;
    t.tile_width = t.tile_height = 64;
    t.overlap = 0.95;
    expect_refused(model, t, "tile overlap");
    t.overlap = NAN;
    expect_refused(model, t, "tile overlap");
    t.overlap = 0.2;
    t.match_threshold = 1.5f;
    expect_refused(model, t, "tile match threshold");
    t.match_threshold = 0.5f;
    t.merge = (ipg_tile_merge_t) 2;
    expect_refused(model, t, "tile merge");
    t.merge = IPG_TILE_MERGE_NMS;
    t.match_metric = (ipg_tile_metric_t) 7;
    expect_refused(model, t, "tile match metric");
    t.match_metric = IPG_TILE_METRIC_IOU;
    t.max_tiles = 0;
    expect_refused(model, t, "max tiles 0");
    t.max_tiles = IPG_MAX_TILES_LIMIT + 1;
    expect_refused(model, t, "max tiles");

    // max-tiles: refused at prepare with the numbers; the previous preparation stays.
    t = d;
    t.tile_width = t.tile_height = 512;
    p.tiling = t;
    p.score_threshold = 0.0f;
    char err[1024];
    ipg_ctx_t * ctx = NULL;
    if (ipg_ctx_init(model, &p, &ctx, err, sizeof err) != IPG_OK) {
        CHECK(false, "init 512 px tiles: %s", err);
        return;
    }
    ipg_status_t st = ipg_ctx_prepare(ctx, 1920, 1080, IPG_PIXEL_NV12);
    CHECK(st == IPG_OK && ipg_ctx_images_per_frame(ctx) == 16, "1080p at 512 px: 15 tiles + the full frame (%d)",
          ipg_ctx_images_per_frame(ctx));
    st = ipg_ctx_prepare(ctx, 8192, 8192, IPG_PIXEL_NV12);
    const int32_t n = ipg_tile_grid(8192, 8192, 512, 512, 0.2, NULL, 0);
    char want[256];
    snprintf(want, sizeof want, "a 8192x8192 frame needs %d tiles of 512x512 at overlap 0.2, more than max-tiles 64",
             n);
    CHECK(st == IPG_ERR_INVALID_ARG && strcmp(ipg_ctx_last_error(ctx), want) == 0, "8192x8192 refused: \"%s\"",
          ipg_ctx_last_error(ctx));
    CHECK(ipg_ctx_images_per_frame(ctx) == 16, "the 1080p preparation stays after the refusal");
    ipg_ctx_free(ctx);
}

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test-tiled MODEL\n");
        return 2;
    }
    char err[4096];
    ipg_model_t * model = NULL;
    if (ipg_model_load_file(argv[1], &model, err, sizeof err) != IPG_OK) {
        printf("FAIL: %s\n", err);
        return 1;
    }
    test_params(model);

    ipg_tiling_t tl = ipg_tiling_default();
    // Odd frame, tiles smaller than the input (enlarged), overlapping.
    tl.tile_width = 61;
    tl.tile_height = 47;
    tl.overlap = 0.25;
    test_rgb(model, 157, 93, tl, 0.0f, 40);
    // Without the full-frame pass; NMS with IoU; a per-image cap.
    tl.full_frame = 0;
    tl.merge = IPG_TILE_MERGE_NMS;
    tl.match_metric = IPG_TILE_METRIC_IOU;
    tl.match_threshold = 0.3f;
    test_rgb(model, 157, 93, tl, 0.0f, 7);
    // Tiles larger than the input (shrunk), NMM with IoU, a threshold.
    tl = ipg_tiling_default();
    tl.tile_width = 90;
    tl.tile_height = 77;
    tl.overlap = 0.5;
    tl.match_metric = IPG_TILE_METRIC_IOU;
    test_rgb(model, 201, 131, tl, 0.05f, 30);
    // A frame smaller than a tile: one tile of the frame's size.
    tl = ipg_tiling_default();
    tl.tile_width = 64;
    tl.tile_height = 64;
    test_rgb(model, 41, 29, tl, 0.0f, 25);

    // The head's outputs: odd frame and tiles, with and without the full frame.
    tl = ipg_tiling_default();
    tl.tile_width = 61;
    tl.tile_height = 47;
    tl.overlap = 0.25;
    test_head_batch(model, 157, 93, tl);
    tl.tile_width = 90;
    tl.tile_height = 77;
    tl.overlap = 0.5;
    tl.full_frame = 0;
    test_head_batch(model, 201, 131, tl);

    // Planar: columns at 0, 27, 44 and rows at 0, 22, 24: odd origins inside chroma blocks.
    tl = ipg_tiling_default();
    tl.tile_width = 33;
    tl.tile_height = 27;
    tl.overlap = 0.2;
    test_planar(model, 77, 51, IPG_PIXEL_I420, tl);
    test_planar(model, 77, 51, IPG_PIXEL_NV12, tl);

    free(g_inputs);
    ipg_model_free(model);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
