// SPDX-License-Identifier: LGPL-2.1-or-later
// detector.h: the detector interface. A detector is the part of the network
// after the FPN (its head) plus its post-processing: RetinaNet
// (post/retina-post.c) or Faster R-CNN (post/rcnn-post.c). Each fills one
// table of operations, as ggml's backends fill `struct ggml_backend_i`; the
// loader and the context pick the table once from the config's arch and
// never branch on the arch again.
//
// Adding a head: one file implementing this table (its state is private to
// it) and one entry in detector.c.
//
// Calls, in order:
//   model load:  bind
//   prepare:     plan (after the FPN), post_plan once per image of the
//                plan's batch (one state each); set_thresholds at any time
//                after
//   run:         reset, the plan enqueued, collect
//   unprepare:   free
// Not installed.
#ifndef IPG_DETECTOR_H
#define IPG_DETECTOR_H

#include "arch.h"
#include "nms.h"

typedef struct ipg_detector_i {
    const char * name;         // the config's "arch"
    ipg_fpn_neck_t fpn_neck;   // the FPN levels the head reads
    // Whether plan and post_plan take a batch of images (plan.h); if not,
    // the context runs the network once per image with a batch of 1.
    bool batched;
    // Binds the head's weights (after the backbone's and the FPN's). 0 or -1
    // (error in b->err).
    int (*bind)(ipg_binder_t * b);
    // Plans the head on t->p; its outputs go into t.
    ipg_status_t (*plan)(ipg_plan_t * p, ipg_net_tensors_t * t);
    // Plans the post-processing of image `image` of the batch on the head's
    // outputs with the candidate score threshold, and creates *state
    // (buffers, host staging, the recorded threshold arguments). On failure
    // *state may be set: free it.
    ipg_status_t (*post_plan)(ipg_plan_t * p, const ipg_net_tensors_t * t, int32_t image, float candidate_thresh,
                              void ** state);
    // Enqueues what must happen before the plan runs (counter resets).
    ipg_status_t (*reset)(void * state, ipg_cl_t * cl, char * err, size_t err_size);
    // After the plan ran: reads the candidates back and runs NMS with
    // `keep_label` (nms.h); *out points into the state.
    ipg_status_t (*collect)(void * state, ipg_cl_t * cl, float nms_thresh, int32_t max_keep, const bool * keep_label,
                            ipg_candidate_t ** out, int32_t * n_out, char * err, size_t err_size);
    // Rewrites the candidate score threshold of the finalised plan in place.
    ipg_status_t (*set_thresholds)(void * state, ipg_plan_t * p, float candidate_thresh);
    void (*free)(void * state);   // NULL-safe
} ipg_detector_i;

extern const ipg_detector_i ipg_detector_retinanet;
extern const ipg_detector_i ipg_detector_fasterrcnn;

// The detector of a config's arch, or NULL.
const ipg_detector_i * ipg_detector_for_arch(ipg_arch_t arch);

#endif   // IPG_DETECTOR_H
