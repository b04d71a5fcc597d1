// SPDX-License-Identifier: LGPL-2.1-or-later
// retina-post.c: the RetinaNet detector (detector.h): its head
// (arch/retinanet-head.c) on P3..P7 and its post-processing, torchvision
// semantics (RetinaNet.postprocess_detections). The device keeps, per level,
// the candidates above the score threshold, selects the top k and decodes
// their boxes (kernels/retina-detect.cl); the host reads back at most
// levels * k decoded candidates and runs class-wise NMS (nms.c). NMS stays on
// the host: it is a sequential greedy pass over a few thousand boxes, and the
// readback it needs is ~100 KB.
#include "../detector.h"
#include "../log.h"
#include "../post.h"

#include <stdlib.h>
#include <string.h>

#define LEVELS 5   // P3..P7

// Device buffers (owned by the plan) and host staging (owned here), sized at
// prepare time.
typedef struct {
    int32_t levels, k;
    cl_mem cand_score, cand_index, count, offsets, slots;
    cl_mem top_score, top_index, top_count, out_box, out_score, out_label;
    int32_t thresh_step[LEVELS];   // the ipg_retina_candidates steps ...
    int32_t thresh_arg;            // ... and their score-threshold argument
    int32_t * zeros;               // levels ints, to reset `count`
    int32_t * h_count;
    float * h_box;
    float * h_score;
    int32_t * h_label;
    int32_t * h_index;   // flat (location, anchor, class) index per slot
    ipg_candidate_t * cands;
    ipg_candidate_t * kept;
    int32_t * nms_scratch;
} retina_post_t;

static void retina_free(void * state) {
    retina_post_t * post = state;
    if (!post) return;
    free(post->zeros);
    free(post->h_count);
    free(post->h_box);
    free(post->h_score);
    free(post->h_label);
    free(post->h_index);
    free(post->cands);
    free(post->nms_scratch);
    free(post->kept);
    free(post);
}

int32_t ipg_retina_candidates_plan(ipg_plan_t * p, const ipg_tensor_t * logits, int32_t ak, int32_t image, float thresh,
                                   const ipg_retina_cand_bufs_t * bufs, int32_t level, int32_t slots, int32_t base,
                                   int32_t * thresh_arg) {
    ipg_step_t * s = ipg_plan_step(p, "ipg_retina_candidates");
    if (!s) return -1;
    ipg_step_mem(s, logits->buf);
    ipg_step_int(s, logits->h);
    ipg_step_int(s, logits->w);
    ipg_step_int(s, ak);
    ipg_step_int(s, image);
    *thresh_arg = ipg_step_float(s, thresh);
    ipg_step_mem(s, bufs->score);
    ipg_step_mem(s, bufs->index);
    ipg_step_mem(s, bufs->count);
    ipg_step_int(s, level);
    ipg_step_int(s, slots);
    ipg_step_int(s, base);
    // retina-detect.cl: 16 logits of a plane per work-item; 8 a group on CPU
    // drivers, as pool.cl's row segments (ops.c).
    const size_t hw = (size_t) logits->h * logits->w;
    ipg_step_range_prefer(s, 2, (size_t[]){ (hw + 15) / 16, (size_t) ak }, p->cl->is_cpu ? (size_t[]){ 8, 1 } : NULL);
    ipg_step_image(s, image);   // a partial batch skips the images it does not hold
    return p->n_steps - 1;
}

static ipg_status_t retina_post_plan(ipg_plan_t * p, const ipg_net_tensors_t * g, int32_t image, float candidate_thresh,
                                     void ** state) {
    const ipg_config_t * cfg = &g->model->cfg;
    const int32_t L = LEVELS, K = cfg->num_classes;
    const int32_t A = cfg->num_anchor_sizes * cfg->num_aspect_ratios;
    const int32_t k = cfg->topk_candidates;
    retina_post_t * post = calloc(1, sizeof *post);
    *state = post;
    if (!post) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    post->levels = L;
    post->k = k;
    p->group = "post";

    int32_t offsets[LEVELS], slots[LEVELS];
    int64_t total = 0;
    for (int32_t l = 0; l < L; l++) {
        const int64_t n = (int64_t) g->head_cls[l].h * g->head_cls[l].w * A * K;
        if (n > INT32_MAX / 2 || total + n > INT32_MAX / 2) {
            ipg_format_error(p->err, p->err_size, "network input too large for %d classes x %d anchors", K, A);
            return IPG_ERR_INVALID_ARG;
        }
        offsets[l] = (int32_t) total;
        slots[l] = (int32_t) n;
        total += n;
    }
    post->cand_score = ipg_plan_buffer(p, (size_t) total * sizeof(float), NULL);
    post->cand_index = ipg_plan_buffer(p, (size_t) total * sizeof(int32_t), NULL);
    post->count = ipg_plan_buffer(p, L * sizeof(int32_t), NULL);
    post->offsets = ipg_plan_buffer(p, sizeof offsets, offsets);
    post->slots = ipg_plan_buffer(p, sizeof slots, slots);
    post->top_score = ipg_plan_buffer(p, (size_t) L * k * sizeof(float), NULL);
    post->top_index = ipg_plan_buffer(p, (size_t) L * k * sizeof(int32_t), NULL);
    post->top_count = ipg_plan_buffer(p, L * sizeof(int32_t), NULL);
    post->out_box = ipg_plan_buffer(p, (size_t) L * k * 4 * sizeof(float), NULL);
    post->out_score = ipg_plan_buffer(p, (size_t) L * k * sizeof(float), NULL);
    post->out_label = ipg_plan_buffer(p, (size_t) L * k * sizeof(int32_t), NULL);
    if (!post->cand_score || !post->cand_index || !post->count || !post->offsets || !post->slots || !post->top_score ||
        !post->top_index || !post->top_count || !post->out_box || !post->out_score || !post->out_label)
        return IPG_ERR_NO_MEMORY;

    post->zeros = calloc(L, sizeof(int32_t));
    post->h_count = calloc(L, sizeof(int32_t));
    post->h_box = malloc((size_t) L * k * 4 * sizeof(float));
    post->h_score = malloc((size_t) L * k * sizeof(float));
    post->h_label = malloc((size_t) L * k * sizeof(int32_t));
    post->h_index = malloc((size_t) L * k * sizeof(int32_t));
    post->cands = malloc((size_t) L * k * sizeof(ipg_candidate_t));
    post->nms_scratch = malloc((size_t) L * k * 2 * sizeof(int32_t));
    post->kept = malloc((size_t) L * k * sizeof(ipg_candidate_t));
    if (!post->kept || !post->zeros || !post->h_count || !post->h_box || !post->h_score || !post->h_label ||
        !post->h_index || !post->cands || !post->nms_scratch) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }

    // 1. Candidates above the threshold, per level. Each level writes at its
    // own offset of the shared arrays (no sub-buffers: their offsets would
    // have to meet alignment rules).
    for (int32_t l = 0; l < L; l++) {
        const ipg_retina_cand_bufs_t bufs = { post->cand_score, post->cand_index, post->count };
        post->thresh_step[l] = ipg_retina_candidates_plan(p, &g->head_cls[l], A * K, image, candidate_thresh, &bufs, l,
                                                          slots[l], offsets[l], &post->thresh_arg);
        if (post->thresh_step[l] < 0) return IPG_ERR_OPENCL;
    }

    // 2. Exact top-k per level: one work-group each, or G each then a merge
    // (select-groups.cl) where the device has compute units to spare.
    int32_t max_slots = 0;
    for (int32_t l = 0; l < L; l++)
        if (slots[l] > max_slots) max_slots = slots[l];
    const int32_t groups = ipg_select_groups(p, max_slots, k);
    ipg_step_t * s = NULL;
    if (groups > 1) {
        const size_t parts = (size_t) L * groups;
        cl_mem part_score = ipg_plan_buffer(p, parts * k * sizeof(float), NULL);
        cl_mem part_index = part_score ? ipg_plan_buffer(p, parts * k * sizeof(int32_t), NULL) : NULL;
        if (!part_index) return IPG_ERR_NO_MEMORY;
        if (!(s = ipg_plan_step(p, "ipg_topk_partial"))) return IPG_ERR_OPENCL;
        size_t wg = ipg_step_select_wg(p, s);
        ipg_step_mem(s, post->cand_score);
        ipg_step_mem(s, post->cand_index);
        ipg_step_mem(s, post->count);
        ipg_step_mem(s, post->offsets);
        ipg_step_mem(s, post->slots);
        ipg_step_int(s, k);
        ipg_step_int(s, groups);
        ipg_step_mem(s, part_score);
        ipg_step_mem(s, part_index);
        ipg_step_local(s, IPG_RADIX_BINS * sizeof(cl_uint));
        ipg_step_range(s, 2, (size_t[]){ wg * groups, L }, (size_t[]){ wg, 1 });
        ipg_step_image(s, image);   // a partial batch skips the images it does not hold
        if (!(s = ipg_plan_step(p, "ipg_topk_merge"))) return IPG_ERR_OPENCL;
        wg = ipg_step_select_wg(p, s);
        ipg_step_mem(s, part_score);
        ipg_step_mem(s, part_index);
        ipg_step_mem(s, post->count);
        ipg_step_mem(s, post->slots);
        ipg_step_int(s, k);
        ipg_step_int(s, groups);
        ipg_step_mem(s, post->top_score);
        ipg_step_mem(s, post->top_index);
        ipg_step_mem(s, post->top_count);
        ipg_step_local(s, IPG_RADIX_BINS * sizeof(cl_uint));
        ipg_step_range(s, 1, (size_t[]){ wg * L }, (size_t[]){ wg });
        ipg_step_image(s, image);
    } else {
        if (!(s = ipg_plan_step(p, "ipg_topk_select"))) return IPG_ERR_OPENCL;
        const size_t wg = ipg_step_select_wg(p, s);
        ipg_step_mem(s, post->cand_score);
        ipg_step_mem(s, post->cand_index);
        ipg_step_mem(s, post->count);
        ipg_step_mem(s, post->offsets);
        ipg_step_mem(s, post->slots);
        ipg_step_int(s, k);
        ipg_step_mem(s, post->top_score);
        ipg_step_mem(s, post->top_index);
        ipg_step_mem(s, post->top_count);
        ipg_step_local(s, IPG_RADIX_BINS * sizeof(cl_uint));
        ipg_step_range(s, 1, (size_t[]){ wg * L }, (size_t[]){ wg });
        ipg_step_image(s, image);
    }

    // 3. Decode the selected candidates against their anchors.
    for (int32_t l = 0; l < L; l++) {
        const ipg_tensor_t * t = &g->head_box[l];
        ipg_level_anchors_t anchors;
        ipg_anchors_level(cfg, l, t->w, t->h, g->input.w, g->input.h, &anchors);
        cl_mem base = ipg_plan_buffer(p, (size_t) anchors.n_anchors * 4 * sizeof(float), anchors.base);
        if (!base) return IPG_ERR_NO_MEMORY;
        s = ipg_plan_step(p, "ipg_retina_decode");
        if (!s) return IPG_ERR_OPENCL;
        ipg_step_mem(s, t->buf);
        ipg_step_int(s, t->h);
        ipg_step_int(s, t->w);
        ipg_step_int(s, A);
        ipg_step_int(s, K);
        ipg_step_int(s, image);
        ipg_step_mem(s, base);
        ipg_step_int(s, anchors.stride_w);
        ipg_step_int(s, anchors.stride_h);
        for (int i = 0; i < 4; i++) ipg_step_float(s, cfg->box_weights[i]);
        ipg_step_float(s, IPG_BBOX_XFORM_CLIP);
        ipg_step_float(s, (float) g->input.w);
        ipg_step_float(s, (float) g->input.h);
        ipg_step_mem(s, post->top_score);
        ipg_step_mem(s, post->top_index);
        ipg_step_mem(s, post->top_count);
        ipg_step_int(s, l);
        ipg_step_int(s, k);
        ipg_step_mem(s, post->out_box);
        ipg_step_mem(s, post->out_score);
        ipg_step_mem(s, post->out_label);
        ipg_step_range(s, 1, (size_t[]){ (size_t) k }, NULL);
        ipg_step_image(s, image);   // a partial batch skips the images it does not hold
    }
    return IPG_OK;
}

static ipg_status_t retina_reset(void * state, ipg_cl_t * cl, char * err, size_t err_size) {
    const retina_post_t * post = state;
    cl_int rc = clEnqueueWriteBuffer(cl->queue, post->count, CL_FALSE, 0, (size_t) post->levels * sizeof(int32_t),
                                     post->zeros, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        ipg_format_error(err, err_size, "resetting candidate counters failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    return IPG_OK;
}

static ipg_status_t retina_collect(void * state, ipg_cl_t * cl, float nms_thresh, int32_t max_keep,
                                   const bool * keep_label, ipg_candidate_t ** out, int32_t * n_out, char * err,
                                   size_t err_size) {
    retina_post_t * post = state;
    const int32_t L = post->levels, k = post->k;
    cl_int rc =
        clEnqueueReadBuffer(cl->queue, post->top_count, CL_TRUE, 0, L * sizeof(int32_t), post->h_count, 0, NULL, NULL);
    // Only the filled prefix of each level's slots is read.
    for (int32_t l = 0; l < L && rc == CL_SUCCESS; l++) {
        const int32_t n = post->h_count[l] < 0 ? 0 : (post->h_count[l] > k ? k : post->h_count[l]);
        post->h_count[l] = n;
        if (n == 0) continue;
        const size_t at = (size_t) l * k;
        rc = clEnqueueReadBuffer(cl->queue, post->out_box, CL_FALSE, at * 4 * sizeof(float),
                                 (size_t) n * 4 * sizeof(float), post->h_box + at * 4, 0, NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clEnqueueReadBuffer(cl->queue, post->out_score, CL_FALSE, at * sizeof(float),
                                     (size_t) n * sizeof(float), post->h_score + at, 0, NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clEnqueueReadBuffer(cl->queue, post->out_label, CL_FALSE, at * sizeof(int32_t),
                                     (size_t) n * sizeof(int32_t), post->h_label + at, 0, NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clEnqueueReadBuffer(cl->queue, post->top_index, CL_FALSE, at * sizeof(int32_t),
                                     (size_t) n * sizeof(int32_t), post->h_index + at, 0, NULL, NULL);
    }
    if (rc == CL_SUCCESS) rc = clFinish(cl->queue);
    if (rc != CL_SUCCESS) {
        ipg_format_error(err, err_size, "reading detections back failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    // Concatenate levels in order, as torchvision does before batched_nms;
    // within a level by flat index, since the device fills the slots in
    // atomic order. With the device's tie rule (retina-detect.cl), the same frame
    // then gives the same candidates in the same order, and so the same
    // NMS result, on every run.
    int32_t n = 0;
    int32_t * order = post->nms_scratch;   // free until the NMS below
    for (int32_t l = 0; l < L; l++) {
        for (int32_t i = 0; i < post->h_count[l]; i++) {
            order[2 * i] = post->h_index[(size_t) l * k + i];
            order[2 * i + 1] = i;
        }
        ipg_sort_by_flat_index(order, post->h_count[l]);
        for (int32_t j = 0; j < post->h_count[l]; j++) {
            const size_t at = (size_t) l * k + order[2 * j + 1];
            ipg_candidate_t * c = &post->cands[n++];
            memcpy(c->box, post->h_box + at * 4, sizeof c->box);
            c->score = post->h_score[at];
            c->label = post->h_label[at];
        }
    }
    *n_out = ipg_nms_classwise(post->cands, n, nms_thresh, max_keep, keep_label, post->nms_scratch, post->kept);
    *out = post->kept;
    return IPG_OK;
}

static ipg_status_t retina_set_thresholds(void * state, ipg_plan_t * p, float candidate_thresh) {
    const retina_post_t * post = state;
    for (int32_t l = 0; l < post->levels; l++) {
        ipg_status_t st = ipg_plan_update_float(p, post->thresh_step[l], post->thresh_arg, candidate_thresh);
        if (st != IPG_OK) return st;
    }
    return IPG_OK;
}

const ipg_detector_i ipg_detector_retinanet = {
    .name = "retinanet",
    .fpn_neck = IPG_FPN_P3_P7,
    .batched = true,
    .bind = ipg_retinanet_head_bind,
    .plan = ipg_retinanet_head_plan,
    .post_plan = retina_post_plan,
    .reset = retina_reset,
    .collect = retina_collect,
    .set_thresholds = retina_set_thresholds,
    .free = retina_free,
};
