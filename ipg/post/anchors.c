// SPDX-License-Identifier: LGPL-2.1-or-later
// anchors.c: torchvision's AnchorGenerator, reproduced in float32 so anchors
// match bit for bit: base anchors round(±[w, h] / 2) per (ratio, size) with
// the ratio as the outer loop, and the grid stride image_size // grid_size
// (integer division, as torchvision does, even where it is not exact).
#include "../post.h"

#include <math.h>

void ipg_anchors_level(const ipg_config_t * cfg, int32_t level, int32_t grid_w, int32_t grid_h, int32_t image_w,
                       int32_t image_h, ipg_level_anchors_t * out) {
    out->grid_w = grid_w;
    out->grid_h = grid_h;
    out->stride_w = image_w / grid_w;
    out->stride_h = image_h / grid_h;
    int32_t a = 0;
    for (int32_t r = 0; r < cfg->num_aspect_ratios; r++) {
        const float h_ratio = sqrtf(cfg->aspect_ratios[r]);
        const float w_ratio = 1.0f / h_ratio;
        for (int32_t s = 0; s < cfg->num_anchor_sizes; s++) {
            const float size = cfg->anchor_sizes[level][s];
            const float ws = w_ratio * size, hs = h_ratio * size;
            // rintf rounds half to even, like torch.round.
            out->base[a][0] = rintf(-ws / 2.0f);
            out->base[a][1] = rintf(-hs / 2.0f);
            out->base[a][2] = rintf(ws / 2.0f);
            out->base[a][3] = rintf(hs / 2.0f);
            a++;
        }
    }
    out->n_anchors = a;
}
