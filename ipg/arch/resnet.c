// SPDX-License-Identifier: LGPL-2.1-or-later
// resnet.c: torchvision's ResNet (v1.5: stride on the 3x3 of a bottleneck)
// with a width multiplier. Tensor names are torchvision's under
// "backbone.body.", so ImageNet weights load unchanged.
#include "../arch.h"
#include "../log.h"

#include <stdio.h>
#include <string.h>

int ipg_resnet_bind(ipg_binder_t * b) {
    const ipg_config_t * cfg = &b->model->cfg;
    ipg_net_desc_t * net = &b->model->net;
    net->stem = ipg_bind_conv(b, "backbone.body.conv1", cfg->stem_channels, 3, 7, 2, 3, false, "backbone.body.bn1");
    if (net->stem < 0) return -1;
    const bool bottleneck = cfg->block == IPG_BLOCK_BOTTLENECK;
    int32_t inplanes = cfg->stem_channels;
    for (int32_t s = 0; s < 4; s++) {
        const int32_t planes = cfg->stage_planes[s];
        const int32_t outc = cfg->stage_channels[s];
        if (cfg->layers[s] > 32) {
            ipg_format_error(b->err, b->err_size, "backbone stage %d has %d blocks (at most 32)", s + 1,
                             cfg->layers[s]);
            return -1;
        }
        net->n_blocks[s] = cfg->layers[s];
        for (int32_t i = 0; i < cfg->layers[s]; i++) {
            const int32_t stride = (i == 0 && s > 0) ? 2 : 1;
            ipg_block_desc_t * blk = &net->blocks[s][i];
            char p[96], name[128], bn[128];
            snprintf(p, sizeof p, "backbone.body.layer%d.%d", s + 1, i);
            snprintf(name, sizeof name, "%s.conv1", p);
            snprintf(bn, sizeof bn, "%s.bn1", p);
            if (bottleneck) {
                blk->conv1 = ipg_bind_conv(b, name, planes, inplanes, 1, 1, 0, false, bn);
                snprintf(name, sizeof name, "%s.conv2", p);
                snprintf(bn, sizeof bn, "%s.bn2", p);
                blk->conv2 = ipg_bind_conv(b, name, planes, planes, 3, stride, 1, false, bn);
                snprintf(name, sizeof name, "%s.conv3", p);
                snprintf(bn, sizeof bn, "%s.bn3", p);
                blk->conv3 = ipg_bind_conv(b, name, outc, planes, 1, 1, 0, false, bn);
            } else {
                blk->conv1 = ipg_bind_conv(b, name, planes, inplanes, 3, stride, 1, false, bn);
                snprintf(name, sizeof name, "%s.conv2", p);
                snprintf(bn, sizeof bn, "%s.bn2", p);
                blk->conv2 = ipg_bind_conv(b, name, outc, planes, 3, 1, 1, false, bn);
                blk->conv3 = -1;
            }
            if (blk->conv1 < 0 || blk->conv2 < 0 || (bottleneck && blk->conv3 < 0)) return -1;
            blk->down = -1;
            if (stride != 1 || inplanes != outc) {
                snprintf(name, sizeof name, "%s.downsample.0", p);
                snprintf(bn, sizeof bn, "%s.downsample.1", p);
                blk->down = ipg_bind_conv(b, name, outc, inplanes, 1, stride, 0, false, bn);
                if (blk->down < 0) return -1;
            }
            inplanes = outc;
        }
    }
    return 0;
}

ipg_status_t ipg_resnet_plan_stem(ipg_plan_t * p, ipg_net_tensors_t * g, ipg_tensor_t * out) {
    p->group = "stem";
    ipg_tensor_t t = { 0 };
    ipg_status_t st = ipg_op_conv(p, &g->wd->convs[g->model->net.stem], &g->input, NULL, true, &t);
    if (st == IPG_OK) st = ipg_op_maxpool3x3s2(p, &t, out);
    if (st == IPG_OK) ipg_plan_stage(p, "backbone.stem", out);
    return st;
}

// One residual block: relu(convN(...relu(conv1(x))) + identity).
static ipg_status_t plan_block(ipg_plan_t * p, ipg_net_tensors_t * g, const ipg_block_desc_t * blk,
                               const ipg_tensor_t * x, ipg_tensor_t * out) {
    const ipg_conv_dev_t * convs = g->wd->convs;
    ipg_tensor_t identity = *x, t1 = { 0 }, t2 = { 0 };
    ipg_status_t st = IPG_OK;
    if (blk->down >= 0) {
        identity = (ipg_tensor_t){ 0 };
        st = ipg_op_conv(p, &convs[blk->down], x, NULL, false, &identity);
    }
    if (st == IPG_OK) st = ipg_op_conv(p, &convs[blk->conv1], x, NULL, true, &t1);
    if (blk->conv3 >= 0) {
        if (st == IPG_OK) st = ipg_op_conv(p, &convs[blk->conv2], &t1, NULL, true, &t2);
        if (st == IPG_OK) st = ipg_op_conv(p, &convs[blk->conv3], &t2, &identity, true, out);
    } else {
        if (st == IPG_OK) st = ipg_op_conv(p, &convs[blk->conv2], &t1, &identity, true, out);
    }
    return st;
}

ipg_status_t ipg_resnet_plan_stage(ipg_plan_t * p, ipg_net_tensors_t * g, int32_t stage, const ipg_tensor_t * in,
                                   ipg_tensor_t * out) {
    static const char * groups[4] = { "layer1", "layer2", "layer3", "layer4" };
    p->group = groups[stage];
    const ipg_net_desc_t * net = &g->model->net;
    ipg_tensor_t x = *in;
    for (int32_t i = 0; i < net->n_blocks[stage]; i++) {
        ipg_tensor_t y = { 0 };
        ipg_status_t st = plan_block(p, g, &net->blocks[stage][i], &x, &y);
        if (st != IPG_OK) return st;
        x = y;
    }
    *out = x;
    char name[32];
    snprintf(name, sizeof name, "backbone.c%d", stage + 2);
    ipg_plan_stage(p, name, out);
    return IPG_OK;
}
