// SPDX-License-Identifier: LGPL-2.1-or-later
// rpn-head.c: torchvision's RPNHead, shared over P2..P6: conv3x3 + ReLU, then
// two 1x1 convs: objectness logits (A channels) and box deltas (4A). The raw
// outputs go to the proposal stage (rpn-proposals.c).
#include "../arch.h"

#include <stdio.h>

int ipg_rpn_head_bind(ipg_binder_t * b) {
    const ipg_config_t * cfg = &b->model->cfg;
    ipg_net_desc_t * net = &b->model->net;
    const int32_t fc = cfg->fpn_channels;
    const int32_t a = cfg->num_anchor_sizes * cfg->num_aspect_ratios;
    net->rpn_conv = ipg_bind_conv(b, "rpn.head.conv.0.0", fc, fc, 3, 1, 1, true, NULL);
    if (net->rpn_conv < 0) return -1;
    net->rpn_cls = ipg_bind_conv(b, "rpn.head.cls_logits", a, fc, 1, 1, 0, true, NULL);
    if (net->rpn_cls < 0) return -1;
    net->rpn_box = ipg_bind_conv(b, "rpn.head.bbox_pred", 4 * a, fc, 1, 1, 0, true, NULL);
    return net->rpn_box < 0 ? -1 : 0;
}

ipg_status_t ipg_rpn_head_plan(ipg_plan_t * p, ipg_net_tensors_t * g) {
    const ipg_net_desc_t * net = &g->model->net;
    const ipg_conv_dev_t * convs = g->wd->convs;
    p->group = "rpn";
    ipg_status_t st = IPG_OK;
    if (convs[net->rpn_conv].path == IPG_PATH_CLBLAST) {
        // Each layer once over all five levels (ipg_op_conv_levels: one GEMM).
        ipg_levels_ws_t ws = { 0 };
        ipg_levels_ws_reserve(&ws, p, &convs[net->rpn_conv], g->p, 5);
        ipg_levels_ws_reserve(&ws, p, &convs[net->rpn_cls], g->p, 5);
        ipg_levels_ws_reserve(&ws, p, &convs[net->rpn_box], g->p, 5);
        ipg_tensor_t t[5] = { { 0 } };
        st = ipg_op_conv_levels(p, &convs[net->rpn_conv], g->p, 5, true, t, &ws);
        if (st == IPG_OK) st = ipg_op_conv_levels(p, &convs[net->rpn_cls], t, 5, false, g->head_cls, &ws);
        if (st == IPG_OK) st = ipg_op_conv_levels(p, &convs[net->rpn_box], t, 5, false, g->head_box, &ws);
    }
    // The other paths keep the level-by-level order they were measured in.
    for (int32_t l = 0; l < 5 && st == IPG_OK && convs[net->rpn_conv].path != IPG_PATH_CLBLAST; l++) {
        ipg_tensor_t t = { 0 };
        st = ipg_op_conv(p, &convs[net->rpn_conv], &g->p[l], NULL, true, &t);
        if (st == IPG_OK) st = ipg_op_conv(p, &convs[net->rpn_cls], &t, NULL, false, &g->head_cls[l]);
        if (st == IPG_OK) st = ipg_op_conv(p, &convs[net->rpn_box], &t, NULL, false, &g->head_box[l]);
    }
    if (st != IPG_OK) return st;
    // Named in the reference's order: every objectness map, then every delta map.
    for (int32_t l = 0; l < 5; l++) {
        char name[32];
        snprintf(name, sizeof name, "rpn.cls.p%d", l + g->first_level);
        ipg_plan_stage(p, name, &g->head_cls[l]);
    }
    for (int32_t l = 0; l < 5; l++) {
        char name[32];
        snprintf(name, sizeof name, "rpn.box.p%d", l + g->first_level);
        ipg_plan_stage(p, name, &g->head_box[l]);
    }
    return IPG_OK;
}
