// SPDX-License-Identifier: LGPL-2.1-or-later
// network.c: IPG-Net as a whole. Uploads a model's folded weights to a
// device, and plans one frame's data flow:
//   input -> pyramid I_2..I_32
//   stem -> layer1 -> C2 -> F2 = fuse(C2, T2(I_4)) -> layer2 -> C3 -> F3 ...
//   -> FPN -> P3..P7 or P2..P6 (the detector's neck)
//   -> the detector's head (detector.h): RetinaNet's per level, or Faster
//      R-CNN's RPN, proposals, MultiScaleRoIAlign and box head
#include "network.h"

#include "arch.h"
#include "detector.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static bool is_fusion(const ipg_model_t * m, int32_t conv) {
    for (int32_t i = 0; i < 4; i++)
        if (m->net.fusion[i] == conv) return true;
    return false;
}

void ipg_weights_free(ipg_weights_dev_t * wd, int32_t n_convs) {
    if (wd->convs)
        for (int32_t i = 0; i < n_convs; i++) ipg_conv_dev_free(&wd->convs[i]);
    for (int32_t i = 0; i < 4; i++) {
        ipg_conv_dev_free(&wd->fusion_c[i]);
        ipg_conv_dev_free(&wd->fusion_g[i]);
    }
    free(wd->convs);
    memset(wd, 0, sizeof *wd);
}

ipg_status_t ipg_weights_upload(ipg_cl_t * cl, const ipg_model_t * m, ipg_weights_dev_t * wd, char * err,
                                size_t err_size) {
    memset(wd, 0, sizeof *wd);
    if (!ipg_model_weights_present(m)) {
        ipg_format_error(err, err_size,
                         "the model's weights were released after its first engine (ipg_model_release_weights or "
                         "ipg_model_release_weights_on_upload): "
                         "load the model again to create another engine");
        return IPG_ERR_INVALID_ARG;
    }
    wd->convs = calloc((size_t) m->n_convs, sizeof *wd->convs);
    if (!wd->convs) {
        ipg_format_error(err, err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    for (int32_t i = 0; i < m->n_convs; i++) {
        if (is_fusion(m, i)) continue;   // uploaded split, below
        ipg_status_t st = ipg_conv_upload(cl, &m->convs[i], 0, m->convs[i].cin, true, &wd->convs[i], err, err_size);
        if (st != IPG_OK) goto fail;
        ipg_model_drop_conv_weights(m, i);
    }
    // The fusion conv over concat(C_l, G_l) becomes two GEMMs: columns
    // [0, C) with the bias, then columns [C, C + g).
    for (int32_t l = 0; l < 4; l++) {
        const int32_t f = m->net.fusion[l];
        if (f < 0) continue;
        const int32_t cch = m->cfg.stage_channels[l];
        ipg_status_t st = ipg_conv_upload(cl, &m->convs[f], 0, cch, true, &wd->fusion_c[l], err, err_size);
        if (st == IPG_OK)
            st = ipg_conv_upload(cl, &m->convs[f], cch, m->convs[f].cin - cch, false, &wd->fusion_g[l], err, err_size);
        if (st != IPG_OK) goto fail;
        ipg_model_drop_conv_weights(m, f);
    }
    return IPG_OK;
fail:
    ipg_weights_free(wd, m->n_convs);
    return IPG_ERR_NO_MEMORY;
}

ipg_status_t ipg_network_plan(ipg_plan_t * p, ipg_net_tensors_t * g) {
    ipg_plan_stage(p, "input", &g->input);
    ipg_status_t st = ipg_guidance_plan_pyramid(p, g);
    ipg_tensor_t x = { 0 };
    if (st == IPG_OK) st = ipg_resnet_plan_stem(p, g, &x);
    for (int32_t s = 0; s < 4 && st == IPG_OK; s++) {
        st = ipg_resnet_plan_stage(p, g, s, s == 0 ? &x : &g->f[s - 1], &g->c[s]);
        if (st == IPG_OK) st = ipg_guidance_plan_level(p, g, s + 2);
    }
    if (st == IPG_OK) st = ipg_fpn_plan(p, g);
    if (st == IPG_OK) st = g->model->detector->plan(p, g);
    return st;
}
