// SPDX-License-Identifier: LGPL-2.1-or-later
// rpn-proposals.c: plans Faster R-CNN's proposal stage on the device
// (kernels/proposals.cl), torchvision's RegionProposalNetwork.filter_proposals
// at test time: per level the top rpn_pre_nms_top_n logits, decoded with
// weights (1, 1, 1, 1) and clipped, small boxes and low scores dropped, NMS
// inside the level at rpn_nms_thresh; then the levels merged by score and the
// first rpn_post_nms_top_n kept as RoIs. Every buffer is sized for the
// maximum here; the frame's RoI count stays on the device.
#include "../arch.h"
#include "../post.h"

#include <stdlib.h>
#include <string.h>

// The top k of one level's objectness logits into sel_key / sel_index at
// `base`: one work-group (ipg_rpn_select), or G partial selects and a merge
// (select-groups.cl) where the device has compute units to spare. The
// partial buffers are made for the first level that needs them, sized for
// the largest G (level 0's: the most anchors), and shared: the levels run
// in queue order.
static ipg_status_t rpn_select_plan(ipg_plan_t * p, const ipg_proposals_t * pr, const ipg_tensor_t * cls, int32_t A,
                                    int32_t k, int32_t base, cl_mem * part_val, cl_mem * part_pos) {
    const int64_t n = (int64_t) A * cls->h * cls->w;
    const int32_t groups = ipg_select_groups(p, n, k);
    ipg_step_t * s;
    if (groups > 1) {
        if (!*part_val) {
            const size_t slots = (size_t) IPG_SELECT_MAX_GROUPS * pr->k_max;
            *part_val = ipg_plan_buffer(p, slots * sizeof(float), NULL);
            *part_pos = *part_val ? ipg_plan_buffer(p, slots * sizeof(cl_int), NULL) : NULL;
            if (!*part_pos) return IPG_ERR_NO_MEMORY;
        }
        if (!(s = ipg_plan_step(p, "ipg_rpn_select_partial"))) return IPG_ERR_OPENCL;
        size_t wg = ipg_step_select_wg(p, s);
        ipg_step_mem(s, cls->buf);
        ipg_step_int(s, (int32_t) n);
        ipg_step_int(s, k);
        ipg_step_int(s, groups);
        ipg_step_mem(s, *part_val);
        ipg_step_mem(s, *part_pos);
        ipg_step_local(s, IPG_RADIX_BINS * sizeof(cl_uint));
        ipg_step_range(s, 1, (size_t[]){ wg * groups }, (size_t[]){ wg });
        if (!(s = ipg_plan_step(p, "ipg_rpn_select_merge"))) return IPG_ERR_OPENCL;
        wg = ipg_step_select_wg(p, s);
        ipg_step_mem(s, *part_val);
        ipg_step_mem(s, *part_pos);
        ipg_step_int(s, groups);
        ipg_step_int(s, cls->h);
        ipg_step_int(s, cls->w);
        ipg_step_int(s, A);
        ipg_step_int(s, k);
        ipg_step_mem(s, pr->sel_key);
        ipg_step_mem(s, pr->sel_index);
        ipg_step_int(s, base);
        ipg_step_local(s, IPG_RADIX_BINS * sizeof(cl_uint));
        ipg_step_range(s, 1, (size_t[]){ wg }, (size_t[]){ wg });
        return IPG_OK;
    }
    if (!(s = ipg_plan_step(p, "ipg_rpn_select"))) return IPG_ERR_OPENCL;
    const size_t wg = ipg_step_select_wg(p, s);
    ipg_step_mem(s, cls->buf);
    ipg_step_int(s, cls->h);
    ipg_step_int(s, cls->w);
    ipg_step_int(s, A);
    ipg_step_int(s, k);
    ipg_step_mem(s, pr->sel_key);
    ipg_step_mem(s, pr->sel_index);
    ipg_step_int(s, base);
    ipg_step_local(s, IPG_RADIX_BINS * sizeof(cl_uint));
    ipg_step_range(s, 1, (size_t[]){ wg }, (size_t[]){ wg });
    return IPG_OK;
}

// The greedy NMS pass of level l (proposals.cl): on GPUs one work-group of
// up to 32 work-items (one per mask word after the current block of 32
// boxes), its removal words in local memory; on CPUs, and where those words
// do not fit the device's local memory, the one-work-item kernel (PoCL runs
// a work-group on one thread: the group pass measured 0.010 vs 0.005 ms for
// five levels, docs/PERFORMANCE.md). IPG_NMS_SCAN=group or =serial forces
// one (tests). Both give the same survivors.
static ipg_status_t ipg_nms_scan_plan(ipg_plan_t * p, const ipg_proposals_t * pr, int32_t base, int32_t k, int32_t l) {
    const char * mode = getenv("IPG_NMS_SCAN");
    const size_t rm_bytes = (size_t) ((k + 31) / 32 + (k == 0)) * sizeof(cl_uint);   // never 0 bytes
    bool group = !p->cl->is_cpu;
    if (mode && strcmp(mode, "serial") == 0) group = false;
    if (mode && strcmp(mode, "group") == 0) group = true;
    if (rm_bytes + 64 > p->cl->local_mem) group = false;
    ipg_step_t * s = ipg_plan_step(p, group ? "ipg_nms_scan_group" : "ipg_nms_scan");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, pr->box);
    ipg_step_mem(s, pr->score);
    ipg_step_mem(s, pr->valid);
    ipg_step_mem(s, pr->skey);
    ipg_step_mem(s, pr->mask);
    ipg_step_int(s, base);
    ipg_step_int(s, k);
    ipg_step_int(s, pr->words);
    ipg_step_int(s, l);
    if (group) {
        ipg_step_local(s, rm_bytes);
    } else {
        ipg_step_mem(s, pr->removed);
    }
    ipg_step_mem(s, pr->kept_box);
    ipg_step_mem(s, pr->kept_score);
    ipg_step_mem(s, pr->kept_key);
    ipg_step_mem(s, pr->kept_count);
    if (!group) {
        ipg_step_range(s, 1, (size_t[]){ 1 }, NULL);
        return IPG_OK;
    }
    size_t wg = IPG_NMS_SCAN_WG;
    if (wg > s->kernel_wg) wg = s->kernel_wg;
    ipg_step_range(s, 1, (size_t[]){ wg }, (size_t[]){ wg });
    return IPG_OK;
}

ipg_status_t ipg_rpn_proposals_plan(ipg_plan_t * p, ipg_net_tensors_t * g) {
    const ipg_config_t * cfg = &g->model->cfg;
    ipg_proposals_t * pr = &g->prop;
    const int32_t A = cfg->num_anchor_sizes * cfg->num_aspect_ratios;
    const int32_t L = 5;
    memset(pr, 0, sizeof *pr);
    pr->levels = L;
    pr->k_max = cfg->rpn_pre_nms_top_n;
    pr->words = (pr->k_max + 31) / 32;
    pr->max_rois = cfg->rpn_post_nms_top_n;
    p->group = "proposals";

    const size_t slots = (size_t) L * pr->k_max;
    pr->sel_key = ipg_plan_buffer(p, slots * sizeof(cl_uint), NULL);
    pr->sel_index = ipg_plan_buffer(p, slots * sizeof(cl_int), NULL);
    pr->box = ipg_plan_buffer(p, slots * 4 * sizeof(float), NULL);
    pr->score = ipg_plan_buffer(p, slots * sizeof(float), NULL);
    pr->valid = ipg_plan_buffer(p, slots * sizeof(cl_int), NULL);
    pr->skey = ipg_plan_buffer(p, slots * sizeof(cl_uint), NULL);
    pr->mask = ipg_plan_buffer(p, slots * pr->words * sizeof(cl_uint), NULL);
    pr->removed = ipg_plan_buffer(p, (size_t) L * pr->words * sizeof(cl_uint), NULL);
    pr->kept_box = ipg_plan_buffer(p, slots * 4 * sizeof(float), NULL);
    pr->kept_score = ipg_plan_buffer(p, slots * sizeof(float), NULL);
    pr->kept_key = ipg_plan_buffer(p, slots * sizeof(cl_uint), NULL);
    pr->kept_count = ipg_plan_buffer(p, L * sizeof(cl_int), NULL);
    pr->roi_count = ipg_plan_buffer(p, sizeof(cl_int), NULL);
    if (!pr->sel_key || !pr->sel_index || !pr->box || !pr->score || !pr->valid || !pr->skey || !pr->mask ||
        !pr->removed || !pr->kept_box || !pr->kept_score || !pr->kept_key || !pr->kept_count || !pr->roi_count)
        return IPG_ERR_NO_MEMORY;
    ipg_status_t st = ipg_plan_tensor(p, &pr->rois, 1, pr->max_rois, 4);
    if (st == IPG_OK) st = ipg_plan_tensor(p, &pr->roi_score, 1, 1, pr->max_rois);
    if (st != IPG_OK) return st;

    cl_mem part_val = NULL, part_pos = NULL;   // the multi-group select's (shared by the levels)
    for (int32_t l = 0; l < L; l++) {
        const ipg_tensor_t * cls = &g->head_cls[l];
        const ipg_tensor_t * box = &g->head_box[l];
        const int64_t n = (int64_t) A * cls->h * cls->w;
        pr->k[l] = n < pr->k_max ? (int32_t) n : pr->k_max;
        const int32_t k = pr->k[l], base = l * pr->k_max;
        ipg_level_anchors_t anchors;
        ipg_anchors_level(cfg, l, cls->w, cls->h, g->input.w, g->input.h, &anchors);
        cl_mem base_anchors = ipg_plan_buffer(p, (size_t) anchors.n_anchors * 4 * sizeof(float), anchors.base);
        if (!base_anchors) return IPG_ERR_NO_MEMORY;

        st = rpn_select_plan(p, pr, cls, A, k, base, &part_val, &part_pos);
        if (st != IPG_OK) return st;

        ipg_step_t * s = ipg_plan_step(p, "ipg_rpn_sort_decode");
        if (!s) return IPG_ERR_OPENCL;
        ipg_step_mem(s, pr->sel_key);
        ipg_step_mem(s, pr->sel_index);
        ipg_step_int(s, base);
        ipg_step_int(s, k);
        ipg_step_mem(s, cls->buf);
        ipg_step_mem(s, box->buf);
        ipg_step_int(s, cls->h);
        ipg_step_int(s, cls->w);
        ipg_step_int(s, A);
        ipg_step_mem(s, base_anchors);
        ipg_step_int(s, anchors.stride_w);
        ipg_step_int(s, anchors.stride_h);
        ipg_step_float(s, IPG_BBOX_XFORM_CLIP);
        ipg_step_float(s, (float) g->input.w);
        ipg_step_float(s, (float) g->input.h);
        ipg_step_float(s, cfg->rpn_score_thresh);
        ipg_step_mem(s, pr->box);
        ipg_step_mem(s, pr->score);
        ipg_step_mem(s, pr->valid);
        ipg_step_mem(s, pr->skey);
        ipg_step_range(s, 1, (size_t[]){ (size_t) k }, NULL);

        if (!(s = ipg_plan_step(p, "ipg_nms_mask"))) return IPG_ERR_OPENCL;
        ipg_step_mem(s, pr->box);
        ipg_step_mem(s, pr->valid);
        ipg_step_int(s, base);
        ipg_step_int(s, k);
        ipg_step_int(s, pr->words);
        ipg_step_float(s, cfg->rpn_nms_thresh);
        ipg_step_mem(s, pr->mask);
        ipg_step_range(s, 2, (size_t[]){ (size_t) (k + 31) / 32, (size_t) k }, NULL);

        st = ipg_nms_scan_plan(p, pr, base, k, l);
        if (st != IPG_OK) return st;
    }

    ipg_step_t * s = ipg_plan_step(p, "ipg_rpn_merge");
    if (!s) return IPG_ERR_OPENCL;
    ipg_step_mem(s, pr->kept_box);
    ipg_step_mem(s, pr->kept_score);
    ipg_step_mem(s, pr->kept_key);
    ipg_step_mem(s, pr->kept_count);
    ipg_step_int(s, pr->k_max);
    ipg_step_int(s, L);
    ipg_step_int(s, pr->max_rois);
    ipg_step_mem(s, pr->rois.buf);
    ipg_step_mem(s, pr->roi_score.buf);
    ipg_step_mem(s, pr->roi_count);
    ipg_step_range(s, 2, (size_t[]){ (size_t) pr->k_max, (size_t) L }, NULL);
    ipg_plan_stage_counted(p, "rpn.proposals", &pr->rois, pr->roi_count, 1);
    ipg_plan_stage_counted(p, "rpn.scores", &pr->roi_score, pr->roi_count, 2);
    return IPG_OK;
}
