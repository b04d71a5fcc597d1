// SPDX-License-Identifier: LGPL-2.1-or-later
// tiling.h: tiled inference on the host side: the tile grid of a frame and
// the merge of the detections of all tiles (and the full-frame pass). The
// algorithm is SAHI's (Akyon et al., "Slicing Aided Hyper Inference"): the
// same tiles as its get_slice_bboxes and the same greedy NMM; the Python
// reference (tools/ipgnet/tiling.py) implements the same steps, and
// docs/TILING.md states them once for both.
#ifndef IPG_TILING_H
#define IPG_TILING_H

#include "ipg.h"

#include <stdint.h>

// A tile: frame pixels, top-left corner and size.
typedef struct {
    int32_t x, y, w, h;
} ipg_tile_rect_t;

// The tiles of a frame_w x frame_h frame, rows outer, columns inner (the
// tile index is the row-major position). Writes at most `cap` rects to `out`
// (NULL: count only) and returns the number of tiles the frame needs, which
// may exceed cap. Tile sizes are clamped to the frame first.
int32_t ipg_tile_grid(int32_t frame_w, int32_t frame_h, int32_t tile_w, int32_t tile_h, double overlap,
                      ipg_tile_rect_t * out, int32_t cap);

// The match metric of two boxes (x1, y1, x2, y2): IoU, or IoS (intersection
// over the smaller area). A zero denominator gives 0.
float ipg_tile_match(ipg_tile_metric_t metric, const float * a, const float * b);

// Merges the detections pooled from all images of a frame (`in`: in image
// order, each image's in score order): sorts them by score (stable), then
// greedy NMS or greedy NMM among boxes of the same label whose metric exceeds
// `threshold`. Writes at most max_keep results to `out` (not aliasing `in`),
// in score order, and returns their count. `scratch` holds 2n int32_t.
int32_t ipg_tile_merge(const ipg_detection_t * in, int32_t n, ipg_tile_merge_t merge, ipg_tile_metric_t metric,
                       float threshold, int32_t max_keep, int32_t * scratch, ipg_detection_t * out);

#endif   // IPG_TILING_H
