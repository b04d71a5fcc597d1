// SPDX-License-Identifier: LGPL-2.1-or-later
// roi-head.c: Faster R-CNN's second stage: MultiScaleRoIAlign over P2..P5
// (kernels/roi-align.cl), torchvision's TwoMLPHead (fc6, fc7 with ReLU) and
// FastRCNNPredictor (cls_score over K + 1 classes, bbox_pred 4 (K + 1)).
// The RoIs are the columns of a 1 x max_rois image, so each fc layer is a
// 1x1 conv through the packed GEMM (M = outputs, N = RoIs, K = inputs).
// The GEMM always covers max_rois columns: the frame's count is only known
// on the device, and columns past it hold zeros.
#include "../arch.h"
#include "../log.h"

#include <math.h>

// Features of one RoI the box head accepts (C * S * S): far above any real
// config, and it keeps fc6's K and the RoIAlign output's index math in int.
#define MAX_BOX_HEAD_INPUT (1 << 24)

int ipg_roi_head_bind(ipg_binder_t * b) {
    const ipg_config_t * cfg = &b->model->cfg;
    ipg_net_desc_t * net = &b->model->net;
    const int32_t s = cfg->roi_output_size, rep = cfg->representation_size;
    const int64_t in = (int64_t) cfg->fpn_channels * s * s;
    if (in > MAX_BOX_HEAD_INPUT) {
        ipg_format_error(b->err, b->err_size, "the box head's input (%lld features) is too large", (long long) in);
        return -1;
    }
    if ((net->fc6 = ipg_bind_linear(b, "roi_heads.box_head.fc6", rep, (int32_t) in)) < 0) return -1;
    if ((net->fc7 = ipg_bind_linear(b, "roi_heads.box_head.fc7", rep, rep)) < 0) return -1;
    if ((net->cls_score = ipg_bind_linear(b, "roi_heads.box_predictor.cls_score", cfg->num_classes + 1, rep)) < 0)
        return -1;
    net->bbox_pred = ipg_bind_linear(b, "roi_heads.box_predictor.bbox_pred", 4 * (cfg->num_classes + 1), rep);
    return net->bbox_pred < 0 ? -1 : 0;
}

// torchvision's MultiScaleRoIAlign scale of a level: 2^round(log2(size / image size)).
static float infer_scale(int32_t feature, int32_t image) {
    return (float) pow(2.0, rint(log2((double) feature / (double) image)));
}

ipg_status_t ipg_roi_head_plan(ipg_plan_t * p, ipg_net_tensors_t * g) {
    const ipg_config_t * cfg = &g->model->cfg;
    const ipg_net_desc_t * net = &g->model->net;
    const ipg_conv_dev_t * convs = g->wd->convs;
    const ipg_proposals_t * pr = &g->prop;
    const int32_t S = cfg->roi_output_size, C = cfg->fpn_channels, R = pr->max_rois;
    p->group = "roi";
    ipg_status_t st = ipg_plan_tensor(p, &g->roi_features, C * S * S, 1, R);
    if (st != IPG_OK) return st;
    // P2..P5 channel-last, so that RoIAlign loads 16 channels of a tap at once.
    cl_mem nhwc[4];
    for (int32_t l = 0; l < 4; l++) {
        const ipg_tensor_t * t = &g->p[l];
        nhwc[l] = ipg_plan_buffer(p, (size_t) t->c * t->h * t->w * sizeof(float), NULL);
        if (!nhwc[l]) return IPG_ERR_NO_MEMORY;
        ipg_step_t * s = ipg_plan_step(p, "ipg_nchw_to_nhwc");
        if (!s) return IPG_ERR_OPENCL;
        ipg_step_mem(s, t->buf);
        ipg_step_int(s, t->c);
        ipg_step_int(s, t->h);
        ipg_step_int(s, t->w);
        ipg_step_mem(s, nhwc[l]);
        ipg_step_range(s, 3, (size_t[]){ (size_t) t->w, (size_t) t->h, (size_t) t->c }, NULL);
    }
    ipg_step_t * s = ipg_plan_step(p, "ipg_roi_align");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, pr->rois.buf);
    ipg_step_mem(s, pr->roi_count);
    ipg_step_int(s, R);
    // P2..P5 (p[0..3]); the scales as torchvision infers them, from the heights.
    const float scale0 = infer_scale(g->p[0].h, g->input.h);
    for (int32_t l = 0; l < 4; l++) {
        ipg_step_mem(s, nhwc[l]);
        ipg_step_int(s, g->p[l].h);
        ipg_step_int(s, g->p[l].w);
        ipg_step_float(s, infer_scale(g->p[l].h, g->input.h));
    }
    ipg_step_int(s, (int32_t) rint(-log2(scale0)));
    ipg_step_int(s, S);
    ipg_step_int(s, cfg->roi_sampling_ratio);
    ipg_step_int(s, C);
    ipg_step_mem(s, g->roi_features.buf);
    ipg_step_range(s, 2, (size_t[]){ (size_t) R, (size_t) S * S }, NULL);
    ipg_plan_stage_counted(p, "roi.features", &g->roi_features, pr->roi_count, 2);

    p->group = "box_head";
    ipg_tensor_t h6 = { 0 }, h7 = { 0 };
    st = ipg_op_conv(p, &convs[net->fc6], &g->roi_features, NULL, true, &h6);
    if (st == IPG_OK) st = ipg_op_conv(p, &convs[net->fc7], &h6, NULL, true, &h7);
    if (st == IPG_OK) st = ipg_op_conv(p, &convs[net->cls_score], &h7, NULL, false, &g->roi_cls);
    if (st == IPG_OK) st = ipg_op_conv(p, &convs[net->bbox_pred], &h7, NULL, false, &g->roi_box);
    if (st != IPG_OK) return st;
    ipg_plan_stage_counted(p, "roi.cls", &g->roi_cls, pr->roi_count, 2);
    ipg_plan_stage_counted(p, "roi.box", &g->roi_box, pr->roi_count, 2);
    return IPG_OK;
}
