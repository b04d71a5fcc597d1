// SPDX-License-Identifier: LGPL-2.1-or-later
// The tile grid and the cross-tile merge (ipg/tiling.c) on crafted cases:
// the grid against SAHI's placement worked out by hand, the merge on boxes
// cut by tile borders. No OpenCL.
#include "tiling.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int g_checks, g_failures;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        g_checks++;                                                         \
        if (!(cond)) {                                                      \
            g_failures++;                                                   \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

static void check_grid(int32_t fw, int32_t fh, int32_t tw, int32_t th, double overlap, int32_t want_n,
                       const int32_t * want_xs, int32_t nx, const int32_t * want_ys, int32_t ny) {
    static ipg_tile_rect_t r[4096];
    const int32_t n = ipg_tile_grid(fw, fh, tw, th, overlap, r, 4096);
    CHECK(n == want_n, "%dx%d tiles %dx%d overlap %.2f: %d tiles, want %d", fw, fh, tw, th, overlap, n, want_n);
    if (n != want_n || nx * ny != n) return;
    for (int32_t i = 0; i < n; i++) {
        const int32_t want_x = want_xs[i % nx], want_y = want_ys[i / nx];
        const int32_t want_w = tw < fw ? tw : fw, want_h = th < fh ? th : fh;
        CHECK(r[i].x == want_x && r[i].y == want_y && r[i].w == want_w && r[i].h == want_h,
              "%dx%d tile %d: (%d,%d %dx%d), want (%d,%d %dx%d)", fw, fh, i, r[i].x, r[i].y, r[i].w, r[i].h, want_x,
              want_y, want_w, want_h);
        // Every tile lies inside the frame.
        CHECK(r[i].x >= 0 && r[i].y >= 0 && r[i].x + r[i].w <= fw && r[i].y + r[i].h <= fh, "tile %d outside", i);
    }
}

static void test_grid(void) {
    // A frame smaller than the tile: one tile of the frame's size.
    check_grid(300, 200, 512, 512, 0.2, 1, (int32_t[]){ 0 }, 1, (int32_t[]){ 0 }, 1);
    // Exactly one tile.
    check_grid(512, 512, 512, 512, 0.2, 1, (int32_t[]){ 0 }, 1, (int32_t[]){ 0 }, 1);
    // 1x1 frame.
    check_grid(1, 1, 512, 512, 0.2, 1, (int32_t[]){ 0 }, 1, (int32_t[]){ 0 }, 1);
    // 17x9 with 8x4 tiles, overlap 0.25: step 8 - 2 = 6 across (0, 6, then
    // 12 would end at 20 > 17: shifted to 9), 4 - 1 = 3 down (0, 3, 5).
    check_grid(17, 9, 8, 4, 0.25, 9, (int32_t[]){ 0, 6, 9 }, 3, (int32_t[]){ 0, 3, 5 }, 3);
    // The last tile ending exactly at the edge is not shifted (SAHI: 0, 6, 12 for 20).
    check_grid(20, 8, 8, 8, 0.25, 3, (int32_t[]){ 0, 6, 12 }, 3, (int32_t[]){ 0 }, 1);
    // 1080p, 512 tiles at 0.2: step 512 - floor(102.4) = 410.
    check_grid(1920, 1080, 512, 512, 0.2, 15, (int32_t[]){ 0, 410, 820, 1230, 1408 }, 5, (int32_t[]){ 0, 410, 568 }, 3);
    // 4096x2160: 10 x 6 = 60 tiles.
    check_grid(4096, 2160, 512, 512, 0.2, 60, (int32_t[]){ 0, 410, 820, 1230, 1640, 2050, 2460, 2870, 3280, 3584 }, 10,
               (int32_t[]){ 0, 410, 820, 1230, 1640, 1648 }, 6);
    // 8192x8192 needs 20 x 20 = 400 tiles: more than the default max-tiles.
    CHECK(ipg_tile_grid(8192, 8192, 512, 512, 0.2, NULL, 0) == 400, "8192^2");
    CHECK(ipg_tile_grid(8192, 8192, 512, 512, 0.2, NULL, 0) > IPG_MAX_TILES_DEFAULT, "8192^2 over the default");
    // The overlap is floored as a double: 0.7 * 10 = 7.000000000000001 -> 7
    // (a float 0.7f * 10 would give 6.9999998 -> 6, a different grid).
    check_grid(30, 10, 10, 10, 0.7, 8, (int32_t[]){ 0, 3, 6, 9, 12, 15, 18, 20 }, 8, (int32_t[]){ 0 }, 1);
    // Overlap 0.9 of a 1-px tile still steps by 1.
    CHECK(ipg_tile_grid(5, 1, 1, 1, 0.9, NULL, 0) == 5, "1-px tiles");
    // Nonsense sizes give no tiles.
    CHECK(ipg_tile_grid(0, 10, 4, 4, 0.2, NULL, 0) == 0, "empty frame");
}

static ipg_detection_t det(float x1, float y1, float x2, float y2, float score, int32_t label, int32_t tile) {
    return (ipg_detection_t){ x1, y1, x2, y2, score, label, tile, 1.0f };
}

static void test_match(void) {
    const float a[4] = { 0, 0, 10, 10 }, half[4] = { 0, 0, 5, 10 }, far[4] = { 20, 20, 30, 30 };
    CHECK(fabsf(ipg_tile_match(IPG_TILE_METRIC_IOU, a, half) - 0.5f) < 1e-6f, "iou half");
    CHECK(fabsf(ipg_tile_match(IPG_TILE_METRIC_IOS, a, half) - 1.0f) < 1e-6f, "ios half");
    CHECK(ipg_tile_match(IPG_TILE_METRIC_IOS, a, far) == 0.0f, "disjoint");
    const float line[4] = { 3, 3, 3, 8 };   // zero area: denominator 0 for IoS
    CHECK(ipg_tile_match(IPG_TILE_METRIC_IOS, a, line) == 0.0f, "zero area");
}

static void test_merge_border(void) {
    // An object on tile 0's right border at x = 100, inside the overlap with
    // tile 1 (which starts at x = 80): tile 0 sees its left half, tile 1 and
    // the full-frame pass (tile -1) all of it. The half has the best score.
    ipg_detection_t in[4] = {
        det(90, 40, 110, 60, 0.80f, 3, -1),   // whole, full frame
        det(90, 40, 100, 60, 0.85f, 3, 0),    // left half, cut by tile 0's border
        det(90, 40, 110, 60, 0.75f, 3, 1),    // whole, tile 1
        det(200, 40, 220, 60, 0.60f, 3, 1),   // another object
    };
    ipg_detection_t out[4];
    int32_t scratch[8];

    // NMM + IoS: the half and the wholes become one box, the union, with
    // the best score and its provenance.
    int32_t n = ipg_tile_merge(in, 4, IPG_TILE_MERGE_NMM, IPG_TILE_METRIC_IOS, 0.5f, 300, scratch, out);
    CHECK(n == 2, "nmm ios: %d boxes, want 2", n);
    if (n == 2) {
        CHECK(out[0].x1 == 90 && out[0].x2 == 110 && out[0].y1 == 40 && out[0].y2 == 60, "union box (%g..%g)",
              out[0].x1, out[0].x2);
        CHECK(out[0].score == 0.85f && out[0].tile == 0, "keeps the best score and its tile");
        CHECK(out[1].x1 == 200 && out[1].score == 0.60f, "other object kept");
    }
    // NMS + IoS: the wholes contain the half: only the best box stays, a
    // half. That is why nmm is the default.
    n = ipg_tile_merge(in, 4, IPG_TILE_MERGE_NMS, IPG_TILE_METRIC_IOS, 0.5f, 300, scratch, out);
    CHECK(n == 2, "nms ios: %d boxes, want 2", n);
    if (n == 2) CHECK(out[0].x2 == 100 && out[0].score == 0.85f, "nms keeps the best box unchanged");
    // NMM + IoU: half vs whole is IoU 0.5, in the group (>=) but not merged
    // (>): one box, the half. NMS + IoU keeps the half and a whole.
    n = ipg_tile_merge(in, 4, IPG_TILE_MERGE_NMM, IPG_TILE_METRIC_IOU, 0.5f, 300, scratch, out);
    CHECK(n == 2 && out[0].x2 == 100, "nmm iou: %d boxes", n);
    n = ipg_tile_merge(in, 4, IPG_TILE_MERGE_NMS, IPG_TILE_METRIC_IOU, 0.5f, 300, scratch, out);
    CHECK(n == 3, "nms iou: %d boxes, want 3 (a half and a whole survive)", n);

    // An object wider than the overlap: both tiles see a half, only the
    // full-frame pass sees it whole. With the whole scored best, both halves
    // merge into it; with a half scored best, the other half does not match
    // that half and survives (SAHI's greedy NMM does the same).
    ipg_detection_t wide[3] = {
        det(50, 40, 150, 60, 0.90f, 3, -1),   // whole, full frame
        det(50, 40, 100, 60, 0.80f, 3, 0),    // left half
        det(100, 40, 150, 60, 0.70f, 3, 1),   // right half
    };
    n = ipg_tile_merge(wide, 3, IPG_TILE_MERGE_NMM, IPG_TILE_METRIC_IOS, 0.5f, 300, scratch, out);
    CHECK(n == 1 && out[0].x1 == 50 && out[0].x2 == 150, "wide, whole best: %d boxes", n);
    wide[0].score = 0.60f;
    n = ipg_tile_merge(wide, 3, IPG_TILE_MERGE_NMM, IPG_TILE_METRIC_IOS, 0.5f, 300, scratch, out);
    CHECK(n == 2 && out[0].x1 == 50 && out[0].x2 == 150 && out[1].x1 == 100, "wide, half best: %d boxes", n);
    // Other labels never match.
    ipg_detection_t two[2] = { det(0, 0, 10, 10, 0.9f, 1, 0), det(0, 0, 10, 10, 0.8f, 2, 1) };
    n = ipg_tile_merge(two, 2, IPG_TILE_MERGE_NMM, IPG_TILE_METRIC_IOU, 0.5f, 300, scratch, out);
    CHECK(n == 2, "labels kept apart: %d", n);
    // max_keep cuts after the merge, in score order.
    n = ipg_tile_merge(in, 4, IPG_TILE_MERGE_NMM, IPG_TILE_METRIC_IOS, 0.5f, 1, scratch, out);
    CHECK(n == 1 && out[0].score == 0.85f, "max_keep");
}

static void test_merge_group_rule(void) {
    ipg_detection_t out[3];
    int32_t scratch[6];
    // NMM forms the group against the first box as it was (metric >= t),
    // then merges each member only while it matches the growing union
    // (metric > t), as SAHI does. A member that matched A but no longer
    // matches the union is absorbed: neither merged nor a box of its own.
    ipg_detection_t absorbed[3] = {
        det(0, 1, 10, 11, 0.9f, 0, 0),   // A
        det(0, 1, 10, 20, 0.8f, 0, 1),   // E: IoU(A, E) = 100/190 = 0.526: group; union y 1..20
        det(0, 0, 10, 10, 0.7f, 0, 2),   // D: IoU(A, D) = 90/110 = 0.82: group; IoU(A u E, D) = 90/200 = 0.45
    };
    int32_t n = ipg_tile_merge(absorbed, 3, IPG_TILE_MERGE_NMM, IPG_TILE_METRIC_IOU, 0.5f, 300, scratch, out);
    CHECK(n == 1, "absorbed member: %d boxes, want 1", n);
    if (n == 1) CHECK(out[0].y1 == 1 && out[0].y2 == 20, "D not merged into the union: y %g..%g", out[0].y1, out[0].y2);
    // A box that does not match A is not in its group: its own box.
    ipg_detection_t apart[3] = {
        det(0, 0, 10, 10, 0.9f, 0, 0),   // A
        det(0, 0, 10, 19, 0.8f, 0, 1),   // E: group
        det(0, 4, 10, 14, 0.7f, 0, 2),   // F: IoU(A, F) = 60/140 = 0.43: not in the group
    };
    n = ipg_tile_merge(apart, 3, IPG_TILE_MERGE_NMM, IPG_TILE_METRIC_IOU, 0.5f, 300, scratch, out);
    CHECK(n == 2 && out[1].score == 0.7f && out[0].y2 == 19, "F outside the group is its own box: %d", n);
    // Exactly at the threshold: in the group (>=), but not merged (>).
    ipg_detection_t edge[2] = { det(0, 0, 10, 10, 0.9f, 0, 0), det(0, 0, 10, 20, 0.8f, 0, 1) };   // IoU 0.5
    n = ipg_tile_merge(edge, 2, IPG_TILE_MERGE_NMM, IPG_TILE_METRIC_IOU, 0.5f, 300, scratch, out);
    CHECK(n == 1 && out[0].y2 == 10, "IoU == t: absorbed, not merged: %d boxes", n);
    // NMS suppresses only above the threshold (torchvision's nms).
    n = ipg_tile_merge(edge, 2, IPG_TILE_MERGE_NMS, IPG_TILE_METRIC_IOU, 0.5f, 300, scratch, out);
    CHECK(n == 2, "nms at IoU == t keeps both: %d", n);
    // Ties keep pool order (stable).
    ipg_detection_t tie[2] = { det(0, 0, 10, 10, 0.5f, 0, 7), det(0, 0, 10, 10, 0.5f, 0, 3) };
    n = ipg_tile_merge(tie, 2, IPG_TILE_MERGE_NMS, IPG_TILE_METRIC_IOU, 0.5f, 300, scratch, out);
    CHECK(n == 1 && out[0].tile == 7, "stable on ties");
}

int main(void) {
    test_grid();
    test_match();
    test_merge_border();
    test_merge_group_rule();
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
