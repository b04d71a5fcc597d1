// SPDX-License-Identifier: LGPL-2.1-or-later
// post.h: what the detectors' box decoding shares: torchvision's anchors
// (post/anchors.c) and the box coder's clamp. Not installed.
#ifndef IPG_POST_H
#define IPG_POST_H

#include "config.h"
#include "plan.h"

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

// RetinaNet's per-level candidates (post/retina-post.c,
// kernels/retina-detect.cl ipg_retina_candidates): the step that appends
// every sigmoid(logit) > thresh of image `image` of logits ([B][ak][h][w]) to
// score and index (flat (y * w + x) * ak + channel) at base + the level's
// count[level], at most `slots` of them. Returns the step's index, or -1
// (p->err set); *thresh_arg: the threshold's argument, for
// ipg_plan_update_float.
typedef struct {
    cl_mem score, index, count;
} ipg_retina_cand_bufs_t;
int32_t ipg_retina_candidates_plan(ipg_plan_t * p, const ipg_tensor_t * logits, int32_t ak, int32_t image, float thresh,
                                   const ipg_retina_cand_bufs_t * bufs, int32_t level, int32_t slots, int32_t base,
                                   int32_t * thresh_arg);

#endif   // IPG_POST_H
