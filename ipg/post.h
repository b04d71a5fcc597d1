// SPDX-License-Identifier: LGPL-2.1-or-later
// post.h: what the detectors' box decoding shares: torchvision's anchors
// (post/anchors.c) and the box coder's clamp. Not installed.
#ifndef IPG_POST_H
#define IPG_POST_H

#include "config.h"

#include <math.h>
#include <stdint.h>

// torchvision's BBOX_XFORM_CLIP (det_utils.py): log(1000 / 16), the largest
// dw, dh a box delta may scale by.
#define IPG_BBOX_XFORM_CLIP ((float) log(1000.0 / 16.0))

// Anchors of one level (torchvision AnchorGenerator): base anchors [A][4] and
// the grid stride. Computed on the host at prepare time.
typedef struct {
    int32_t grid_w, grid_h;
    int32_t stride_w, stride_h;
    int32_t n_anchors;
    float base[IPG_MAX_ANCHOR_SIZES * IPG_MAX_RATIOS][4];
} ipg_level_anchors_t;

void ipg_anchors_level(const ipg_config_t * cfg, int32_t level, int32_t grid_w, int32_t grid_h, int32_t image_w,
                       int32_t image_h, ipg_level_anchors_t * out);

#endif   // IPG_POST_H
