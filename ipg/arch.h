// SPDX-License-Identifier: LGPL-2.1-or-later
// arch.h: the arch builders (arch/*.c), one per part of the network. Each has
// a *_bind, called while a model loads (every name and shape checked through
// the binder, model-loader.h), and a *_plan, called at prepare (kernel
// launches appended to the plan, tensors recorded in the frame's tensor set).
// The detectors (detector.h) pick the head builders. Not installed.
#ifndef IPG_ARCH_H
#define IPG_ARCH_H

#include "model-loader.h"
#include "network.h"

// The FPN's inputs and extra levels, chosen by the detector.
typedef enum {
    IPG_FPN_P3_P7,   // over F3..F5, then LastLevelP6P7 fed by P5 (RetinaNet)
    IPG_FPN_P2_P6,   // over F2..F5, then LastLevelMaxPool: P6 = max pool 1x1/2 of P5
} ipg_fpn_neck_t;

int ipg_resnet_bind(ipg_binder_t * b);
int ipg_guidance_bind(ipg_binder_t * b);
int ipg_fpn_bind(ipg_binder_t * b, ipg_fpn_neck_t neck);
int ipg_retinanet_head_bind(ipg_binder_t * b);
int ipg_rpn_head_bind(ipg_binder_t * b);
int ipg_roi_head_bind(ipg_binder_t * b);

ipg_status_t ipg_resnet_plan_stem(ipg_plan_t * p, ipg_net_tensors_t * t, ipg_tensor_t * out);
ipg_status_t ipg_resnet_plan_stage(ipg_plan_t * p, ipg_net_tensors_t * t, int32_t stage, const ipg_tensor_t * in,
                                   ipg_tensor_t * out);
ipg_status_t ipg_guidance_plan_pyramid(ipg_plan_t * p, ipg_net_tensors_t * t);
ipg_status_t ipg_guidance_plan_level(ipg_plan_t * p, ipg_net_tensors_t * t, int32_t level);
ipg_status_t ipg_fpn_plan(ipg_plan_t * p, ipg_net_tensors_t * t);
ipg_status_t ipg_retinanet_head_plan(ipg_plan_t * p, ipg_net_tensors_t * t);
ipg_status_t ipg_rpn_head_plan(ipg_plan_t * p, ipg_net_tensors_t * t);
ipg_status_t ipg_rpn_proposals_plan(ipg_plan_t * p, ipg_net_tensors_t * t);
// The work-group of the proposals' NMS pass (ipg_nms_scan_group): one
// work-item per mask word after the current block of 32 boxes (rpn k_max
// 1000: at most 31), and per survivor of a block when copying them out.
#define IPG_NMS_SCAN_WG 32
ipg_status_t ipg_roi_head_plan(ipg_plan_t * p, ipg_net_tensors_t * t);

#endif   // IPG_ARCH_H
