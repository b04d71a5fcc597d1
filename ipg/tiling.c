// SPDX-License-Identifier: LGPL-2.1-or-later
// tiling.c: the tile grid and the cross-tile merge (docs/TILING.md). Plain
// host code on a few hundred boxes per frame; the per-tile work (letterbox,
// network, per-image post-processing) is the ordinary batched plan.
#include "tiling.h"

#include "error.h"
#include "nms.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

ipg_tiling_t ipg_tiling_default(void) {
    ipg_tiling_t t = { .tile_width = 0,
                       .tile_height = 0,
                       .overlap = 0.2,
                       .full_frame = 1,
                       .merge = IPG_TILE_MERGE_NMM,
                       .match_metric = IPG_TILE_METRIC_IOS,
                       .match_threshold = 0.5f,
                       .max_tiles = IPG_MAX_TILES_DEFAULT };
    return t;
}

ipg_status_t ipg_tiling_check(const ipg_tiling_t * t, char * err, size_t err_size) {
    if ((t->tile_width == 0) != (t->tile_height == 0) || t->tile_width < 0 || t->tile_height < 0 ||
        t->tile_width > 16384 || t->tile_height > 16384)
        ipg_format_error(err, err_size, "tile size %dx%d: both sides 0 (tiling off) or both in 1..16384", t->tile_width,
                         t->tile_height);
    else if (!(t->overlap >= 0.0 && t->overlap <= 0.9))
        ipg_format_error(err, err_size, "tile overlap %g: must lie in 0..0.9", t->overlap);
    else if (!(t->match_threshold >= 0.0f && t->match_threshold <= 1.0f))
        ipg_format_error(err, err_size, "tile match threshold %g: must lie in 0..1", (double) t->match_threshold);
    else if ((int) t->merge < 0 || t->merge > IPG_TILE_MERGE_NMS)
        ipg_format_error(err, err_size, "tile merge %d: neither nmm nor nms", (int) t->merge);
    else if ((int) t->match_metric < 0 || t->match_metric > IPG_TILE_METRIC_IOU)
        ipg_format_error(err, err_size, "tile match metric %d: neither ios nor iou", (int) t->match_metric);
    else if (t->max_tiles < 1 || t->max_tiles > IPG_MAX_TILES_LIMIT)
        ipg_format_error(err, err_size, "max tiles %d: must lie in 1..%d", t->max_tiles, IPG_MAX_TILES_LIMIT);
    else
        return IPG_OK;
    return IPG_ERR_INVALID_ARG;
}

static const char * const merge_names[] = { "nmm", "nms" };
static const char * const metric_names[] = { "ios", "iou" };

const char * ipg_tile_merge_name(ipg_tile_merge_t merge) {
    return (int) merge >= 0 && merge <= IPG_TILE_MERGE_NMS ? merge_names[merge] : "?";
}

const char * ipg_tile_metric_name(ipg_tile_metric_t metric) {
    return (int) metric >= 0 && metric <= IPG_TILE_METRIC_IOU ? metric_names[metric] : "?";
}

static int32_t name_index(const char * const * names, int32_t n, const char * name) {
    for (int32_t i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

int32_t ipg_tile_merge_parse(const char * name) { return name_index(merge_names, 2, name); }

int32_t ipg_tile_metric_parse(const char * name) { return name_index(metric_names, 2, name); }

// Tiles along one axis, as SAHI's get_slice_bboxes places them: origins in
// steps of tile - floor(overlap * tile) from 0, the last tile shifted inward
// to end at the frame's edge rather than padded. The overlap is a double, so
// that floor() gives what Python's int(overlap * tile) gives.
typedef struct {
    int32_t frame, tile, step, count;
} axis_t;

static axis_t axis_make(int32_t frame, int32_t tile, double overlap) {
    axis_t a = { frame, tile < frame ? tile : frame, 1, 1 };
    if (a.tile == frame) return a;
    a.step = a.tile - (int32_t) floor(overlap * (double) a.tile);
    if (a.step < 1) a.step = 1;
    // Origins 0, step, ... while origin + tile < frame, then frame - tile.
    a.count = (frame - a.tile + a.step - 1) / a.step + 1;
    return a;
}

static int32_t axis_origin(const axis_t * a, int32_t k) { return k == a->count - 1 ? a->frame - a->tile : k * a->step; }

int32_t ipg_tile_grid(int32_t frame_w, int32_t frame_h, int32_t tile_w, int32_t tile_h, double overlap,
                      ipg_tile_rect_t * out, int32_t cap) {
    if (frame_w < 1 || frame_h < 1 || tile_w < 1 || tile_h < 1) return 0;
    const axis_t ax = axis_make(frame_w, tile_w, overlap), ay = axis_make(frame_h, tile_h, overlap);
    const int64_t n = (int64_t) ax.count * ay.count;
    for (int64_t i = 0; out && i < n && i < cap; i++) {
        const int32_t r = (int32_t) (i / ax.count), c = (int32_t) (i % ax.count);
        out[i] = (ipg_tile_rect_t){ axis_origin(&ax, c), axis_origin(&ay, r), ax.tile, ay.tile };
    }
    return n > INT32_MAX ? INT32_MAX : (int32_t) n;
}

float ipg_tile_match(ipg_tile_metric_t metric, const float * a, const float * b) {
    const float area_a = (a[2] - a[0]) * (a[3] - a[1]);
    const float area_b = (b[2] - b[0]) * (b[3] - b[1]);
    const float w = fmaxf(0.0f, fminf(a[2], b[2]) - fmaxf(a[0], b[0]));
    const float h = fmaxf(0.0f, fminf(a[3], b[3]) - fmaxf(a[1], b[1]));
    const float inter = w * h;
    const float denom = metric == IPG_TILE_METRIC_IOU ? area_a + area_b - inter : fminf(area_a, area_b);
    return denom > 0.0f ? inter / denom : 0.0f;
}

static const float * box_of(const ipg_detection_t * d) { return &d->x1; }

int32_t ipg_tile_merge(const ipg_detection_t * in, int32_t n, ipg_tile_merge_t merge, ipg_tile_metric_t metric,
                       float threshold, int32_t max_keep, int32_t * scratch, ipg_detection_t * out) {
    if (n <= 0 || max_keep <= 0) return 0;
    ipg_score_key_t * order = (ipg_score_key_t *) scratch;   // n keys = 2n ints
    for (int32_t i = 0; i < n; i++) order[i] = (ipg_score_key_t){ in[i].score, i };
    ipg_sort_by_score(order, n);   // ties in pool order

    int32_t n_out = 0;
    if (merge == IPG_TILE_MERGE_NMS) {
        // A box survives unless a kept box of its label matches it.
        for (int32_t oi = 0; oi < n && n_out < max_keep; oi++) {
            const ipg_detection_t * d = &in[order[oi].index];
            bool suppressed = false;
            for (int32_t j = 0; j < n_out && !suppressed; j++)
                suppressed = out[j].label == d->label && ipg_tile_match(metric, box_of(&out[j]), box_of(d)) > threshold;
            if (!suppressed) out[n_out++] = *d;
        }
        return n_out;
    }
    // NMM: the next unused box takes every later unused box of its label
    // that matches it (as it was before merging, metric >= threshold) into
    // its group; the group then merges in score order, each box only if it
    // still matches the union so far (metric > threshold). Both comparisons
    // are SAHI's (greedy_nmm, then GreedyNMMPostprocess's has_match). An index of -1 marks a used
    // box, -2 - i box i of the group being formed.
    for (int32_t oi = 0; oi < n && n_out < max_keep; oi++) {
        if (order[oi].index < 0) continue;
        const ipg_detection_t * keep = &in[order[oi].index];
        order[oi].index = -1;
        for (int32_t oj = oi + 1; oj < n; oj++) {
            const int32_t j = order[oj].index;
            if (j >= 0 && in[j].label == keep->label &&
                ipg_tile_match(metric, box_of(keep), box_of(&in[j])) >= threshold)
                order[oj].index = -2 - j;
        }
        ipg_detection_t merged = *keep;
        for (int32_t oj = oi + 1; oj < n; oj++) {
            if (order[oj].index > -2) continue;
            const ipg_detection_t * d = &in[-2 - order[oj].index];
            order[oj].index = -1;
            if (!(ipg_tile_match(metric, box_of(&merged), box_of(d)) > threshold)) continue;
            merged.x1 = fminf(merged.x1, d->x1);
            merged.y1 = fminf(merged.y1, d->y1);
            merged.x2 = fmaxf(merged.x2, d->x2);
            merged.y2 = fmaxf(merged.y2, d->y2);
        }
        out[n_out++] = merged;
    }
    return n_out;
}
