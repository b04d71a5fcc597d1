// SPDX-License-Identifier: LGPL-2.1-or-later
// detect-post.c: RetinaNet post-processing, torchvision semantics
// (RetinaNet.postprocess_detections). The device keeps, per level, the
// candidates above the score threshold, selects the top k and decodes their
// boxes (kernels/detect.cl); the host reads back at most levels * k decoded
// candidates and runs class-wise NMS. NMS stays on the host: it is a
// sequential greedy pass over a few thousand boxes, and the readback it
// needs is ~100 KB.
#include "../ipg-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ipg_status_t ipg_retina_post_plan(ipg_plan_t * p, const ipg_graph_t * g, float candidate_thresh,
                                  ipg_retina_post_t * post) {
    const ipg_config_t * cfg = &g->model->cfg;
    const int32_t L = 5, K = cfg->num_classes;
    const int32_t A = cfg->num_anchor_sizes * cfg->num_aspect_ratios;
    const int32_t k = cfg->topk_candidates;
    memset(post, 0, sizeof *post);
    post->levels = L;
    post->k = k;
    p->group = "post";

    int32_t offsets[5], slots[5];
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
    if (!post->cand_score || !post->cand_index || !post->count || !post->offsets || !post->slots ||
        !post->top_score || !post->top_index || !post->top_count || !post->out_box || !post->out_score ||
        !post->out_label)
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

    // 1. Candidates above the threshold, per level.
    for (int32_t l = 0; l < L; l++) {
        const ipg_tensor_t * t = &g->head_cls[l];
        ipg_step_t * s = ipg_plan_step(p, "ipg_retina_candidates");
        if (!s) return IPG_ERR_OPENCL;
        ipg_step_mem(s, t->buf);
        ipg_step_int(s, t->h); ipg_step_int(s, t->w); ipg_step_int(s, A * K);
        ipg_step_float(s, candidate_thresh);
        // Each level writes at its own offset of the shared arrays (no
        // sub-buffers: their offsets would have to meet alignment rules).
        ipg_step_mem(s, post->cand_score);
        ipg_step_mem(s, post->cand_index);
        ipg_step_mem(s, post->count);
        ipg_step_int(s, l);
        ipg_step_int(s, slots[l]);
        ipg_step_int(s, offsets[l]);
        ipg_step_range(s, 3, (size_t[]) { (size_t) t->w, (size_t) t->h, (size_t) (A * K) }, NULL);
    }

    // 2. Exact top-k per level, one work-group each.
    size_t wg = p->cl->max_wg_size < 256 ? p->cl->max_wg_size : 256;
    ipg_step_t * s = ipg_plan_step(p, "ipg_topk_select");
    if (!s) return IPG_ERR_OPENCL;
    size_t kernel_wg = 0;
    if (clGetKernelWorkGroupInfo(s->kernel, p->cl->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_wg, &kernel_wg,
                                 NULL) == CL_SUCCESS && kernel_wg > 0 && kernel_wg < wg)
        wg = kernel_wg;
    ipg_step_mem(s, post->cand_score);
    ipg_step_mem(s, post->cand_index);
    ipg_step_mem(s, post->count);
    ipg_step_mem(s, post->offsets);
    ipg_step_mem(s, post->slots);
    ipg_step_int(s, k);
    ipg_step_mem(s, post->top_score);
    ipg_step_mem(s, post->top_index);
    ipg_step_mem(s, post->top_count);
    ipg_step_local(s, 256 * sizeof(cl_uint));
    ipg_step_range(s, 1, (size_t[]) { wg * L }, (size_t[]) { wg });

    // 3. Decode the selected candidates against their anchors.
    const float clip = (float) log(1000.0 / 16.0);
    for (int32_t l = 0; l < L; l++) {
        const ipg_tensor_t * t = &g->head_box[l];
        ipg_level_anchors_t anchors;
        ipg_anchors_level(cfg, l, t->w, t->h, g->input.w, g->input.h, &anchors);
        cl_mem base = ipg_plan_buffer(p, (size_t) anchors.n_anchors * 4 * sizeof(float), anchors.base);
        if (!base) return IPG_ERR_NO_MEMORY;
        s = ipg_plan_step(p, "ipg_retina_decode");
        if (!s) return IPG_ERR_OPENCL;
        ipg_step_mem(s, t->buf);
        ipg_step_int(s, t->h); ipg_step_int(s, t->w); ipg_step_int(s, A); ipg_step_int(s, K);
        ipg_step_mem(s, base);
        ipg_step_int(s, anchors.stride_w); ipg_step_int(s, anchors.stride_h);
        for (int i = 0; i < 4; i++) ipg_step_float(s, cfg->box_weights[i]);
        ipg_step_float(s, clip);
        ipg_step_float(s, (float) g->input.w); ipg_step_float(s, (float) g->input.h);
        ipg_step_mem(s, post->top_score);
        ipg_step_mem(s, post->top_index);
        ipg_step_mem(s, post->top_count);
        ipg_step_int(s, l);
        ipg_step_int(s, k);
        ipg_step_mem(s, post->out_box);
        ipg_step_mem(s, post->out_score);
        ipg_step_mem(s, post->out_label);
        ipg_step_range(s, 1, (size_t[]) { (size_t) k }, NULL);
    }
    return IPG_OK;
}

ipg_status_t ipg_retina_post_reset(ipg_cl_t * cl, ipg_retina_post_t * post, char * err, size_t err_size) {
    cl_int rc = clEnqueueWriteBuffer(cl->queue, post->count, CL_FALSE, 0, (size_t) post->levels * sizeof(int32_t),
                                     post->zeros, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        ipg_format_error(err, err_size, "resetting candidate counters failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    return IPG_OK;
}

ipg_status_t ipg_retina_post_collect(ipg_cl_t * cl, ipg_retina_post_t * post, float nms_thresh, int32_t max_keep,
                                     ipg_candidate_t ** out, int32_t * n_out, char * err, size_t err_size) {
    const int32_t L = post->levels, k = post->k;
    cl_int rc = clEnqueueReadBuffer(cl->queue, post->top_count, CL_TRUE, 0, L * sizeof(int32_t), post->h_count, 0,
                                    NULL, NULL);
    // Only the filled prefix of each level's slots is read.
    for (int32_t l = 0; l < L && rc == CL_SUCCESS; l++) {
        const int32_t n = post->h_count[l] < 0 ? 0 : (post->h_count[l] > k ? k : post->h_count[l]);
        post->h_count[l] = n;
        if (n == 0) continue;
        const size_t at = (size_t) l * k;
        rc = clEnqueueReadBuffer(cl->queue, post->out_box, CL_FALSE, at * 4 * sizeof(float), (size_t) n * 4 * sizeof(float),
                                 post->h_box + at * 4, 0, NULL, NULL);
        if (rc == CL_SUCCESS)
            rc = clEnqueueReadBuffer(cl->queue, post->out_score, CL_FALSE, at * sizeof(float), (size_t) n * sizeof(float),
                                     post->h_score + at, 0, NULL, NULL);
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
    // atomic order. With the device's tie rule (detect.cl), the same frame
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
    *n_out = ipg_nms_classwise(post->cands, n, nms_thresh, max_keep, post->nms_scratch, post->kept);
    *out = post->kept;
    return IPG_OK;
}

void ipg_retina_post_free(ipg_retina_post_t * post) {
    free(post->zeros);
    free(post->h_count);
    free(post->h_box);
    free(post->h_score);
    free(post->h_label);
    free(post->h_index);
    free(post->cands);
    free(post->nms_scratch);
    free(post->kept);
    memset(post, 0, sizeof *post);
}

// ---- NMS ---------------------------------------------------------------------

// Sort keys carry the score and the index themselves, so the comparator needs
// no global state (two contexts may run NMS on two threads at once).
typedef struct {
    float   score;
    int32_t index;
} sort_key_t;

static int by_score_desc(const void * a, const void * b) {
    const sort_key_t * x = a, * y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);   // stable, as torch's sort(stable=True)
}

static int by_flat_index(const void * a, const void * b) {
    const int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
    return (x > y) - (x < y);
}

void ipg_sort_by_flat_index(int32_t * pairs, int32_t n) {
    if (n > 1) qsort(pairs, (size_t) n, 2 * sizeof(int32_t), by_flat_index);
}

// IoU as torchvision's CPU nms kernel computes it.
static float iou(const float * a, const float * b) {
    const float area_a = (a[2] - a[0]) * (a[3] - a[1]);
    const float area_b = (b[2] - b[0]) * (b[3] - b[1]);
    const float w = fmaxf(0.0f, fminf(a[2], b[2]) - fmaxf(a[0], b[0]));
    const float h = fmaxf(0.0f, fminf(a[3], b[3]) - fmaxf(a[1], b[1]));
    const float inter = w * h;
    return inter / (area_a + area_b - inter);
}

int32_t ipg_nms_classwise(const ipg_candidate_t * c, int32_t n, float iou_thresh, int32_t max_keep,
                          int32_t * scratch, ipg_candidate_t * out) {
    if (n <= 0) return 0;
    sort_key_t * order = (sort_key_t *) scratch;   // n keys = 2n ints
    for (int32_t i = 0; i < n; i++) order[i] = (sort_key_t) { c[i].score, i };
    qsort(order, (size_t) n, sizeof *order, by_score_desc);
    // Greedy: a box survives unless a kept, higher-scoring box of its class
    // overlaps it by IoU > thresh.
    int32_t n_kept = 0;
    for (int32_t oi = 0; oi < n && n_kept < max_keep; oi++) {
        const ipg_candidate_t * ci = &c[order[oi].index];
        bool suppressed = false;
        for (int32_t j = 0; j < n_kept && !suppressed; j++) {
            const ipg_candidate_t * cj = &c[order[j].index];   // order[0..n_kept) holds the kept
            if (cj->label == ci->label && iou(cj->box, ci->box) > iou_thresh) suppressed = true;
        }
        if (!suppressed) order[n_kept++].index = order[oi].index;   // n_kept <= oi: safe in place
    }
    for (int32_t i = 0; i < n_kept; i++) out[i] = c[order[i].index];
    return n_kept;
}
