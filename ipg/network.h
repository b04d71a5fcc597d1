// SPDX-License-Identifier: LGPL-2.1-or-later
// network.h: IPG-Net on a device (network.c): the uploaded weights of a
// context, the tensors of one frame, and the plan from the network input to
// the head outputs. Not installed.
#ifndef IPG_NETWORK_H
#define IPG_NETWORK_H

#include "ops.h"

typedef struct {
    ipg_conv_dev_t * convs;       // one per model conv (index-aligned), fusion convs split below
    ipg_conv_dev_t fusion_c[4];   // fusion conv's columns over C_l (with bias)
    ipg_conv_dev_t fusion_g[4];   // ... over G_l (no bias)
} ipg_weights_dev_t;

// Faster R-CNN's proposals on the device (arch/rpn-proposals.c): per level
// the top k objectness logits, sorted, decoded and NMS'ed; then the levels
// merged by score into at most max_rois RoIs. Buffers are owned by the plan.
typedef struct {
    int32_t levels;
    int32_t k_max;                    // rpn_pre_nms_top_n: slots per level
    int32_t k[5];                     // min(k_max, anchors of the level)
    int32_t words;                    // NMS mask words (32 bits) per box: ceil(k_max / 32)
    int32_t max_rois;                 // rpn_post_nms_top_n
    cl_mem sel_key, sel_index;        // [levels][k_max] the top k, unordered
    cl_mem box, score, valid, skey;   // [levels][k_max] in score order, decoded and clipped; order keys
    cl_mem mask, removed;             // [levels][k_max][words], [levels][words]
    cl_mem kept_box, kept_score, kept_key, kept_count;   // NMS survivors in score order, per level
    ipg_tensor_t rois;                                   // [1][max_rois][4], network-input pixels
    ipg_tensor_t roi_score;                              // [1][1][max_rois], sigmoid objectness
    cl_mem roi_count;                                    // one int: the RoIs of this frame
} ipg_proposals_t;

// The tensors of one frame, from the network input to the heads' outputs:
// allocated by the plan, named for the stage dumps.
typedef struct {
    const struct ipg_model * model;
    const ipg_weights_dev_t * wd;
    ipg_tensor_t input;        // normalised network input [3][H][W]
    ipg_tensor_t pyramid[6];   // I_1 (= input), I_2, I_4, ..., I_32; index = log2(stride)
    ipg_tensor_t c[4];         // C2..C5
    ipg_tensor_t f[4];         // F2..F5 (= C where not guided)
    int32_t first_level;       // of p[0]: 3 (P3..P7) or 2 (P2..P6), by the FPN neck
    ipg_tensor_t p[5];
    ipg_tensor_t head_cls[5];   // RetinaNet head, or RPN objectness [A][h][w]
    ipg_tensor_t head_box[5];   // RetinaNet head, or RPN deltas [4A][h][w]
    // Two-stage only.
    ipg_proposals_t prop;
    ipg_tensor_t roi_features;   // [C * s * s][1][max_rois]: RoI r's feature k at (k, r)
    ipg_tensor_t roi_cls;        // [K + 1][1][max_rois] class logits (0 = background)
    ipg_tensor_t roi_box;        // [4 (K + 1)][1][max_rois] box deltas per class
} ipg_net_tensors_t;

ipg_status_t ipg_weights_upload(ipg_cl_t * cl, const struct ipg_model * m, ipg_weights_dev_t * wd, char * err,
                                size_t err_size);
void ipg_weights_free(ipg_weights_dev_t * wd, int32_t n_convs);
// Plans the whole network from t->input (already allocated) to the outputs of
// the model's detector head.
ipg_status_t ipg_network_plan(ipg_plan_t * p, ipg_net_tensors_t * t);

#endif   // IPG_NETWORK_H
