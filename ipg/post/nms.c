// SPDX-License-Identifier: LGPL-2.1-or-later
// nms.c: the host side both detectors share: torchvision's class-wise greedy
// NMS (batched_nms on the CPU), and the (flat index, slot) sort that puts
// candidates the device wrote in atomic order back in torchvision's order.
#include "../nms.h"

#include <math.h>
#include <stdlib.h>

static int by_score_desc(const void * a, const void * b) {
    const ipg_score_key_t *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);   // stable, as torch's sort(stable=True)
}

void ipg_sort_by_score(ipg_score_key_t * keys, int32_t n) {
    if (n > 1) qsort(keys, (size_t) n, sizeof *keys, by_score_desc);
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
                          const bool * keep_label, int32_t * scratch, ipg_candidate_t * out) {
    if (n <= 0) return 0;
    ipg_score_key_t * order = (ipg_score_key_t *) scratch;   // n keys = 2n ints
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (!keep_label || keep_label[c[i].label]) order[m++] = (ipg_score_key_t){ c[i].score, i };
    n = m;
    ipg_sort_by_score(order, n);
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
