// SPDX-License-Identifier: LGPL-2.1-or-later
// fpn.c: torchvision's FeaturePyramidNetwork (1x1 lateral, nearest upsample
// to the lateral's size + add, 3x3 output conv) with either neck of the
// contract, as the detector asks (ipg_fpn_neck_t):
//   P3..P7 (one-stage): over F3..F5, then LastLevelP6P7 fed by P5:
//              P6 = conv3x3/2(P5), P7 = conv3x3/2(ReLU(P6));
//   P2..P6 (two-stage): over F2..F5, then LastLevelMaxPool: P6 = max pool
//              1x1/2 of P5.
#include "../arch.h"

#include <stdio.h>

int ipg_fpn_bind(ipg_binder_t * b, ipg_fpn_neck_t neck) {
    const ipg_config_t * cfg = &b->model->cfg;
    ipg_net_desc_t * net = &b->model->net;
    const int32_t fc = cfg->fpn_channels;
    const bool max_pool = neck == IPG_FPN_P2_P6;
    const int32_t first = max_pool ? 0 : 1;   // index of the first input among C2..C5
    net->n_fpn_inputs = 4 - first;
    char name[96];
    for (int32_t i = 0; i < net->n_fpn_inputs; i++) {
        snprintf(name, sizeof name, "backbone.fpn.inner_blocks.%d.0", i);
        net->fpn_inner[i] = ipg_bind_conv(b, name, fc, cfg->stage_channels[i + first], 1, 1, 0, true, NULL);
        if (net->fpn_inner[i] < 0) return -1;
        snprintf(name, sizeof name, "backbone.fpn.layer_blocks.%d.0", i);
        net->fpn_layer[i] = ipg_bind_conv(b, name, fc, fc, 3, 1, 1, true, NULL);
        if (net->fpn_layer[i] < 0) return -1;
    }
    net->p6 = net->p7 = -1;
    if (max_pool) return 0;
    net->p6 = ipg_bind_conv(b, "backbone.fpn.extra_blocks.p6", fc, fc, 3, 2, 1, true, NULL);
    if (net->p6 < 0) return -1;
    net->p7 = ipg_bind_conv(b, "backbone.fpn.extra_blocks.p7", fc, fc, 3, 2, 1, true, NULL);
    return net->p7 < 0 ? -1 : 0;
}

ipg_status_t ipg_fpn_plan(ipg_plan_t * p, ipg_net_tensors_t * g) {
    const ipg_net_desc_t * net = &g->model->net;
    const ipg_conv_dev_t * convs = g->wd->convs;
    const int32_t n = net->n_fpn_inputs;
    const int32_t first = 4 - n;   // F index of the lowest input
    g->first_level = first + 2;
    p->group = "fpn";
    // Top-down: last_inner = inner(F5); P5 = layer(last_inner); then down to
    // the lowest input, each lateral plus the upsampled level above.
    ipg_tensor_t last = { 0 };
    ipg_status_t st = ipg_op_conv(p, &convs[net->fpn_inner[n - 1]], &g->f[3], NULL, false, &last);
    if (st == IPG_OK) st = ipg_op_conv(p, &convs[net->fpn_layer[n - 1]], &last, NULL, false, &g->p[n - 1]);
    for (int32_t i = n - 2; i >= 0 && st == IPG_OK; i--) {
        ipg_tensor_t lateral = { 0 }, merged = { 0 };
        st = ipg_op_conv(p, &convs[net->fpn_inner[i]], &g->f[i + first], NULL, false, &lateral);
        if (st == IPG_OK) st = ipg_op_upsample_add(p, &lateral, &last, &merged);
        if (st == IPG_OK) st = ipg_op_conv(p, &convs[net->fpn_layer[i]], &merged, NULL, false, &g->p[i]);
        last = merged;
    }
    if (st == IPG_OK && net->p6 < 0) {
        st = ipg_op_subsample2x(p, &g->p[n - 1], &g->p[n]);
    } else if (st == IPG_OK) {
        ipg_tensor_t p6_relu = { 0 };
        st = ipg_op_conv(p, &convs[net->p6], &g->p[n - 1], NULL, false, &g->p[n]);
        if (st == IPG_OK) st = ipg_op_relu(p, &g->p[n], &p6_relu);
        if (st == IPG_OK) st = ipg_op_conv(p, &convs[net->p7], &p6_relu, NULL, false, &g->p[n + 1]);
    }
    if (st != IPG_OK) return st;
    for (int32_t i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "fpn.p%d", i + g->first_level);
        ipg_plan_stage(p, name, &g->p[i]);
    }
    return IPG_OK;
}
