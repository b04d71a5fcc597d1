// SPDX-License-Identifier: LGPL-2.1-or-later
// nms.h: the host side of detection post-processing that every detector
// shares (post/nms.c): torchvision's class-wise greedy NMS and the sort that
// restores torchvision's candidate order. Not installed.
#ifndef IPG_NMS_H
#define IPG_NMS_H

#include <stdbool.h>
#include <stdint.h>

// A decoded candidate in network-input pixels.
typedef struct {
    float box[4];
    float score;
    int32_t label;
} ipg_candidate_t;

// Sorts candidates by decreasing score (stable on ties by index), runs
// class-wise greedy NMS (suppress IoU > thresh) and writes the first
// `max_keep` survivors to `out` in score order. Candidates whose label is
// not in `keep_label` (when not NULL, one flag per label) are dropped first:
// NMS is per class, so the others' survivors do not change. `scratch` holds
// 2n ints.
int32_t ipg_nms_classwise(const ipg_candidate_t * c, int32_t n, float iou_thresh, int32_t max_keep,
                          const bool * keep_label, int32_t * scratch, ipg_candidate_t * out);

// Sorts n (flat index, slot) int pairs by flat index (unique within a set):
// the device writes candidates in atomic order, and both detectors put them
// back in torchvision's order with this before NMS.
void ipg_sort_by_flat_index(int32_t * pairs, int32_t n);

// A sort key that carries its score and its index, so that the comparator
// needs no global state (two contexts may sort on two threads at once).
typedef struct {
    float score;
    int32_t index;
} ipg_score_key_t;

// Sorts keys by decreasing score, ties by increasing index: torch's
// sort(descending=True, stable=True). Class-wise NMS and the cross-tile
// merge (tiling.c) both order their boxes with it.
void ipg_sort_by_score(ipg_score_key_t * keys, int32_t n);

#endif   // IPG_NMS_H
