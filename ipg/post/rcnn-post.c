// SPDX-License-Identifier: LGPL-2.1-or-later
// rcnn-post.c: the Faster R-CNN detector (detector.h): its two stages on
// P2..P6 (arch/rpn-head.c, arch/rpn-proposals.c, arch/roi-head.c) and its
// post-processing, torchvision semantics (RoIHeads.postprocess_detections).
// The device takes each RoI's softmax, decodes and clips its per-class boxes
// and compacts the candidates above the threshold (kernels/rcnn-detect.cl);
// the host reads them back, restores torchvision's (RoI, class) order and
// runs class-wise NMS (nms.c), as for RetinaNet.
#include "../detector.h"
#include "../log.h"
#include "../post.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t max_cands;   // max_rois * num_classes
    cl_mem count, box, score, label, flat;
    int32_t thresh_step, thresh_arg;   // ipg_rcnn_candidates' score threshold
    int32_t zero;
    float * h_box;
    float * h_score;
    int32_t * h_label;
    int32_t * h_flat;
    ipg_candidate_t * cands;
    ipg_candidate_t * kept;
    int32_t * nms_scratch;
} rcnn_post_t;

static void rcnn_free(void * state) {
    rcnn_post_t * post = state;
    if (!post) return;
    free(post->h_box);
    free(post->h_score);
    free(post->h_label);
    free(post->h_flat);
    free(post->cands);
    free(post->kept);
    free(post->nms_scratch);
    free(post);
}

static ipg_status_t rcnn_post_plan(ipg_plan_t * p, const ipg_net_tensors_t * g, int32_t image, float candidate_thresh,
                                   void ** state) {
    if (image != 0 || ipg_plan_batch(p) != 1) {
        ipg_format_error(p->err, p->err_size, "internal: the two-stage detector runs a batch of 1 (image %d of %d)",
                         image, ipg_plan_batch(p));
        return IPG_ERR_INVALID_ARG;
    }
    const ipg_config_t * cfg = &g->model->cfg;
    const int32_t R = g->prop.max_rois, K = cfg->num_classes;
    rcnn_post_t * post = calloc(1, sizeof *post);
    *state = post;
    if (!post) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    if ((int64_t) R * K > INT32_MAX / 16) {
        ipg_format_error(p->err, p->err_size, "%d RoIs x %d classes is too many candidates", R, K);
        return IPG_ERR_INVALID_ARG;
    }
    const size_t n = (size_t) R * K;
    post->max_cands = (int32_t) n;
    p->group = "post";
    post->count = ipg_plan_buffer(p, sizeof(cl_int), NULL);
    post->box = ipg_plan_buffer(p, n * 4 * sizeof(float), NULL);
    post->score = ipg_plan_buffer(p, n * sizeof(float), NULL);
    post->label = ipg_plan_buffer(p, n * sizeof(cl_int), NULL);
    post->flat = ipg_plan_buffer(p, n * sizeof(cl_int), NULL);
    if (!post->count || !post->box || !post->score || !post->label || !post->flat) return IPG_ERR_NO_MEMORY;
    post->h_box = malloc(n * 4 * sizeof(float));
    post->h_score = malloc(n * sizeof(float));
    post->h_label = malloc(n * sizeof(int32_t));
    post->h_flat = malloc(n * sizeof(int32_t));
    post->cands = malloc(n * sizeof(ipg_candidate_t));
    post->kept = malloc(n * sizeof(ipg_candidate_t));
    post->nms_scratch = malloc(n * 2 * sizeof(int32_t));
    if (!post->h_box || !post->h_score || !post->h_label || !post->h_flat || !post->cands || !post->kept ||
        !post->nms_scratch) {
        ipg_format_error(p->err, p->err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }

    ipg_step_t * s = ipg_plan_step(p, "ipg_rcnn_candidates");
    if (!s) return IPG_ERR_OPENCL;
    post->thresh_step = p->n_steps - 1;
    ipg_step_mem(s, g->roi_cls.buf);
    ipg_step_mem(s, g->roi_box.buf);
    ipg_step_mem(s, g->prop.rois.buf);
    ipg_step_mem(s, g->prop.roi_count);
    ipg_step_int(s, R);
    ipg_step_int(s, K);
    for (int i = 0; i < 4; i++) ipg_step_float(s, cfg->box_weights[i]);
    ipg_step_float(s, IPG_BBOX_XFORM_CLIP);
    ipg_step_float(s, (float) g->input.w);
    ipg_step_float(s, (float) g->input.h);
    post->thresh_arg = ipg_step_float(s, candidate_thresh);
    ipg_step_mem(s, post->count);
    ipg_step_mem(s, post->box);
    ipg_step_mem(s, post->score);
    ipg_step_mem(s, post->label);
    ipg_step_mem(s, post->flat);
    ipg_step_range(s, 1, (size_t[]){ (size_t) R }, NULL);
    return IPG_OK;
}

static ipg_status_t rcnn_reset(void * state, ipg_cl_t * cl, char * err, size_t err_size) {
    const rcnn_post_t * post = state;
    cl_int rc = clEnqueueWriteBuffer(cl->queue, post->count, CL_FALSE, 0, sizeof(cl_int), &post->zero, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        ipg_format_error(err, err_size, "resetting the candidate counter failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    return IPG_OK;
}

static ipg_status_t rcnn_collect(void * state, ipg_cl_t * cl, float nms_thresh, int32_t max_keep,
                                 const bool * keep_label, ipg_candidate_t ** out, int32_t * n_out, char * err,
                                 size_t err_size) {
    rcnn_post_t * post = state;
    cl_int n = 0;
    cl_int rc = clEnqueueReadBuffer(cl->queue, post->count, CL_TRUE, 0, sizeof n, &n, 0, NULL, NULL);
    if (rc == CL_SUCCESS && n > 0) {
        if (n > post->max_cands) n = post->max_cands;
        rc = clEnqueueReadBuffer(cl->queue, post->box, CL_FALSE, 0, (size_t) n * 4 * sizeof(float), post->h_box, 0,
                                 NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clEnqueueReadBuffer(cl->queue, post->score, CL_FALSE, 0, (size_t) n * sizeof(float), post->h_score, 0,
                                     NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clEnqueueReadBuffer(cl->queue, post->label, CL_FALSE, 0, (size_t) n * sizeof(int32_t), post->h_label,
                                     0, NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clEnqueueReadBuffer(cl->queue, post->flat, CL_FALSE, 0, (size_t) n * sizeof(int32_t), post->h_flat, 0,
                                     NULL, NULL);
        if (rc == CL_SUCCESS) rc = clFinish(cl->queue);
    }
    if (rc != CL_SUCCESS) {
        ipg_format_error(err, err_size, "reading detections back failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    if (n < 0) n = 0;
    // torchvision's candidate order is (RoI, class): sort (flat index, slot)
    // pairs, reusing the NMS scratch, then gather.
    int32_t * pairs = post->nms_scratch;
    for (int32_t i = 0; i < n; i++) {
        pairs[2 * i] = post->h_flat[i];
        pairs[2 * i + 1] = i;
    }
    ipg_sort_by_flat_index(pairs, n);
    for (int32_t i = 0; i < n; i++) {
        const int32_t at = pairs[2 * i + 1];
        ipg_candidate_t * c = &post->cands[i];
        memcpy(c->box, post->h_box + (size_t) at * 4, sizeof c->box);
        c->score = post->h_score[at];
        c->label = post->h_label[at];
    }
    *n_out = ipg_nms_classwise(post->cands, n, nms_thresh, max_keep, keep_label, post->nms_scratch, post->kept);
    *out = post->kept;
    return IPG_OK;
}

static ipg_status_t rcnn_set_thresholds(void * state, ipg_plan_t * p, float candidate_thresh) {
    const rcnn_post_t * post = state;
    return ipg_plan_update_float(p, post->thresh_step, post->thresh_arg, candidate_thresh);
}

static int rcnn_bind(ipg_binder_t * b) { return ipg_rpn_head_bind(b) || ipg_roi_head_bind(b) ? -1 : 0; }

static ipg_status_t rcnn_plan(ipg_plan_t * p, ipg_net_tensors_t * t) {
    ipg_status_t st = ipg_rpn_head_plan(p, t);
    if (st == IPG_OK) st = ipg_rpn_proposals_plan(p, t);
    if (st == IPG_OK) st = ipg_roi_head_plan(p, t);
    return st;
}

const ipg_detector_i ipg_detector_fasterrcnn = {
    .name = "fasterrcnn",
    .fpn_neck = IPG_FPN_P2_P6,
    .bind = rcnn_bind,
    .plan = rcnn_plan,
    .batched = false,
    .post_plan = rcnn_post_plan,
    .reset = rcnn_reset,
    .collect = rcnn_collect,
    .set_thresholds = rcnn_set_thresholds,
    .free = rcnn_free,
};
