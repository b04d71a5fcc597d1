// SPDX-License-Identifier: LGPL-2.1-or-later
// ipg-guidance.c: the paper's two modules. The image pyramid I_1..I_32 (each
// level a 2x bilinear downsample of the previous, i.e. 2x2 averaging on even
// sizes); the IPG transformation module T_l (conv3x3-BN-ReLU + one BasicBlock)
// turning I_l into G_l; the IPG fusion module F_l = C_l + BN(conv1x1([C_l, G_l])).
// The concat is never materialised: the 1x1 conv is split by input columns
// into two GEMMs, the first adding C_l as its residual, the second adding the
// first's result.
#include "../arch.h"
#include "../log.h"

#include <stdio.h>

static bool guided(const ipg_config_t * cfg, int32_t level) {
    for (int32_t i = 0; i < cfg->num_ipg_levels; i++)
        if (cfg->ipg_levels[i] == level) return true;
    return false;
}

int ipg_guidance_bind(ipg_binder_t * b) {
    const ipg_config_t * cfg = &b->model->cfg;
    ipg_net_desc_t * net = &b->model->net;
    for (int32_t l = 2; l <= 5; l++) {
        const int32_t i = l - 2;
        net->t_conv[i] = net->fusion[i] = -1;
        net->t_block[i] = (ipg_block_desc_t){ -1, -1, -1, -1 };
        if (!guided(cfg, l)) continue;
        const int32_t gch = cfg->ipg_channels[i];
        const int32_t cch = cfg->stage_channels[i];
        char name[96], bn[96];
        snprintf(name, sizeof name, "backbone.guidance.t%d.conv", l);
        snprintf(bn, sizeof bn, "backbone.guidance.t%d.bn", l);
        net->t_conv[i] = ipg_bind_conv(b, name, gch, 3, 3, 1, 1, false, bn);
        if (net->t_conv[i] < 0) return -1;
        snprintf(name, sizeof name, "backbone.guidance.t%d.block.conv1", l);
        snprintf(bn, sizeof bn, "backbone.guidance.t%d.block.bn1", l);
        net->t_block[i].conv1 = ipg_bind_conv(b, name, gch, gch, 3, 1, 1, false, bn);
        if (net->t_block[i].conv1 < 0) return -1;
        snprintf(name, sizeof name, "backbone.guidance.t%d.block.conv2", l);
        snprintf(bn, sizeof bn, "backbone.guidance.t%d.block.bn2", l);
        net->t_block[i].conv2 = ipg_bind_conv(b, name, gch, gch, 3, 1, 1, false, bn);
        if (net->t_block[i].conv2 < 0) return -1;
        snprintf(name, sizeof name, "backbone.guidance.f%d.conv", l);
        snprintf(bn, sizeof bn, "backbone.guidance.f%d.bn", l);
        net->fusion[i] = ipg_bind_conv(b, name, cch, cch + gch, 1, 1, 0, false, bn);
        if (net->fusion[i] < 0) return -1;
    }
    return 0;
}

ipg_status_t ipg_guidance_plan_pyramid(ipg_plan_t * p, ipg_net_tensors_t * g) {
    const ipg_config_t * cfg = &g->model->cfg;
    int32_t top = 0;
    for (int32_t i = 0; i < cfg->num_ipg_levels; i++)
        if (cfg->ipg_levels[i] > top) top = cfg->ipg_levels[i];
    p->group = "pyramid";
    g->pyramid[0] = g->input;
    for (int32_t i = 1; i <= top; i++) {
        ipg_status_t st = ipg_op_downsample2x(p, &g->pyramid[i - 1], &g->pyramid[i]);
        if (st != IPG_OK) return st;
        if (i >= 2) {
            char name[32];
            snprintf(name, sizeof name, "pyramid.i%d", 1 << i);
            ipg_plan_stage(p, name, &g->pyramid[i]);
        }
    }
    return IPG_OK;
}

ipg_status_t ipg_guidance_plan_level(ipg_plan_t * p, ipg_net_tensors_t * g, int32_t level) {
    const int32_t i = level - 2;
    const ipg_net_desc_t * net = &g->model->net;
    const ipg_weights_dev_t * wd = g->wd;
    if (net->fusion[i] < 0) {
        g->f[i] = g->c[i];
        return IPG_OK;
    }
    p->group = "ipg";
    ipg_tensor_t t0 = { 0 }, t1 = { 0 }, gl = { 0 }, half = { 0 };
    ipg_status_t st = ipg_op_conv(p, &wd->convs[net->t_conv[i]], &g->pyramid[level], NULL, true, &t0);
    if (st == IPG_OK) st = ipg_op_conv(p, &wd->convs[net->t_block[i].conv1], &t0, NULL, true, &t1);
    if (st == IPG_OK) st = ipg_op_conv(p, &wd->convs[net->t_block[i].conv2], &t1, &t0, true, &gl);
    if (st != IPG_OK) return st;
    char name[32];
    snprintf(name, sizeof name, "ipg.g%d", level);
    ipg_plan_stage(p, name, &gl);
    if (gl.h != g->c[i].h || gl.w != g->c[i].w) {
        ipg_format_error(p->err, p->err_size, "IPG level %d: G is %dx%d but C is %dx%d", level, gl.w, gl.h, g->c[i].w,
                         g->c[i].h);
        return IPG_ERR_INVALID_ARG;
    }
    st = ipg_op_conv(p, &wd->fusion_c[i], &g->c[i], &g->c[i], false, &half);
    if (st == IPG_OK) st = ipg_op_conv(p, &wd->fusion_g[i], &gl, &half, false, &g->f[i]);
    if (st != IPG_OK) return st;
    snprintf(name, sizeof name, "ipg.f%d", level);
    ipg_plan_stage(p, name, &g->f[i]);
    return IPG_OK;
}
