// SPDX-License-Identifier: LGPL-2.1-or-later
// retinanet-head.c: torchvision's RetinaNetHead, shared over P3..P7: two
// towers of four conv3x3+ReLU (no norm), then cls_logits (A*K channels) and
// bbox_reg (A*4 channels). The raw conv outputs go to post-processing.
#include "../arch.h"

#include <stdio.h>
#include <string.h>

int ipg_retinanet_head_bind(ipg_binder_t * b) {
    const ipg_config_t * cfg = &b->model->cfg;
    ipg_net_desc_t * net = &b->model->net;
    const int32_t fc = cfg->fpn_channels;
    const int32_t a = cfg->num_anchor_sizes * cfg->num_aspect_ratios;
    char name[96];
    for (int32_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "head.classification_head.conv.%d.0", i);
        if ((net->cls_tower[i] = ipg_bind_conv(b, name, fc, fc, 3, 1, 1, true, NULL)) < 0) return -1;
        snprintf(name, sizeof name, "head.regression_head.conv.%d.0", i);
        if ((net->box_tower[i] = ipg_bind_conv(b, name, fc, fc, 3, 1, 1, true, NULL)) < 0) return -1;
    }
    net->cls_logits =
        ipg_bind_conv(b, "head.classification_head.cls_logits", a * cfg->num_classes, fc, 3, 1, 1, true, NULL);
    if (net->cls_logits < 0) return -1;
    net->box_reg = ipg_bind_conv(b, "head.regression_head.bbox_reg", a * 4, fc, 3, 1, 1, true, NULL);
    return net->box_reg < 0 ? -1 : 0;
}

static ipg_status_t plan_tower(ipg_plan_t * p, const ipg_conv_dev_t * convs, const int32_t * tower, int32_t last,
                               const ipg_tensor_t * in, ipg_tensor_t * out) {
    ipg_tensor_t x = *in;
    for (int32_t i = 0; i < 4; i++) {
        ipg_tensor_t y = { 0 };
        ipg_status_t st = ipg_op_conv(p, &convs[tower[i]], &x, NULL, true, &y);
        if (st != IPG_OK) return st;
        x = y;
    }
    return ipg_op_conv(p, &convs[last], &x, NULL, false, out);
}

// A tower layer by layer, each layer one ipg_op_conv_levels over all five
// levels (on the clblast path: one GEMM per layer instead of five).
static ipg_status_t plan_tower_levels(ipg_plan_t * p, const ipg_conv_dev_t * convs, const int32_t * tower, int32_t last,
                                      const ipg_tensor_t * in, ipg_tensor_t * out, ipg_levels_ws_t * ws) {
    ipg_tensor_t x[5], y[5];
    memcpy(x, in, sizeof x);
    for (int32_t i = 0; i < 4; i++) {
        memset(y, 0, sizeof y);
        ipg_status_t st = ipg_op_conv_levels(p, &convs[tower[i]], x, 5, true, y, ws);
        if (st != IPG_OK) return st;
        memcpy(x, y, sizeof x);
    }
    return ipg_op_conv_levels(p, &convs[last], x, 5, false, out, ws);
}

ipg_status_t ipg_retinanet_head_plan(ipg_plan_t * p, ipg_net_tensors_t * g) {
    const ipg_net_desc_t * net = &g->model->net;
    const ipg_conv_dev_t * convs = g->wd->convs;
    p->group = "head";
    if (convs[net->cls_logits].path == IPG_PATH_CLBLAST) {
        // One workspace for every layer of both towers (they run in turn).
        ipg_levels_ws_t ws = { 0 };
        for (int32_t i = 0; i < 4; i++) {
            ipg_levels_ws_reserve(&ws, p, &convs[net->cls_tower[i]], g->p, 5);
            ipg_levels_ws_reserve(&ws, p, &convs[net->box_tower[i]], g->p, 5);
        }
        ipg_levels_ws_reserve(&ws, p, &convs[net->cls_logits], g->p, 5);
        ipg_levels_ws_reserve(&ws, p, &convs[net->box_reg], g->p, 5);
        ipg_status_t st = plan_tower_levels(p, convs, net->cls_tower, net->cls_logits, g->p, g->head_cls, &ws);
        if (st == IPG_OK) st = plan_tower_levels(p, convs, net->box_tower, net->box_reg, g->p, g->head_box, &ws);
        if (st != IPG_OK) return st;
    }
    for (int32_t l = 0; l < 5; l++) {
        // The other paths keep the level-by-level order they were measured in.
        ipg_status_t st = IPG_OK;
        if (convs[net->cls_logits].path != IPG_PATH_CLBLAST) {
            st = plan_tower(p, convs, net->cls_tower, net->cls_logits, &g->p[l], &g->head_cls[l]);
            if (st == IPG_OK) st = plan_tower(p, convs, net->box_tower, net->box_reg, &g->p[l], &g->head_box[l]);
        }
        if (st != IPG_OK) return st;
        char name[32];
        snprintf(name, sizeof name, "head.cls.p%d", l + 3);
        ipg_plan_stage(p, name, &g->head_cls[l]);
        snprintf(name, sizeof name, "head.box.p%d", l + 3);
        ipg_plan_stage(p, name, &g->head_box[l]);
    }
    return IPG_OK;
}
