// SPDX-License-Identifier: LGPL-2.1-or-later
// ipg-impl.h: the library's internal types, shared by model.c (host-side
// weights), the arch/ builders (bind weights, plan kernels), ctx.c (run) and
// post/ (detection post-processing). Not installed.
//
// Life cycle (ncnn-style, one direction):
//   model load:  safetensors -> config -> arch *_bind(): every tensor checked,
//                BatchNorm folded into its conv, host copies kept in the model
//   ctx init:    OpenCL device + programs; every conv's weights packed and
//                uploaded once
//   ctx prepare: arch *_plan(): one ipg_step_t per kernel launch, every
//                buffer allocated, every kernel argument set
//   ctx run:     upload the frame, enqueue the steps, read back candidates,
//                NMS on the host
#ifndef IPG_IMPL_H
#define IPG_IMPL_H

#include "config.h"
#include "ipg.h"
#include "safetensors.h"

#include <CL/cl.h>

#include <stdbool.h>
#include <stdio.h>

#define IPG_ERR_LEN 1024

// ---- errors and logging ---------------------------------------------------

// printf into a caller's error buffer (NULL-safe, always terminated).
void ipg_format_error(char * err, size_t err_size, const char * fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ipg_log(ipg_log_level_t level, const char * fmt, ...) __attribute__((format(printf, 2, 3)));

// ---- host-side model ------------------------------------------------------

// One convolution with BatchNorm folded in: y = W x + b. Weights OIHW, so
// w[o][i * kh * kw + ky * kw + kx].
typedef struct {
    char *  name;      // base name, e.g. "backbone.body.layer1.0.conv1"
    int32_t cout, cin, kh, kw, stride, pad;
    float * w;         // cout * cin * kh * kw
    float * b;         // cout (zeros where the conv had neither bias nor BN)
} ipg_conv_host_t;

typedef struct {
    int32_t conv1, conv2, conv3;   // conv3 = -1 for basic blocks
    int32_t down;                  // downsample conv, -1 if identity
} ipg_block_desc_t;

// Indices into ipg_model.convs; -1 = absent.
typedef struct {
    int32_t           stem;
    int32_t           n_blocks[4];
    ipg_block_desc_t  blocks[4][32];
    // IPG modules, indexed by level - 2.
    int32_t           t_conv[4];
    ipg_block_desc_t  t_block[4];
    int32_t           fusion[4];      // conv over concat(C_l, G_l), BN folded
    // FPN: one-stage over F3..F5 (index 0..2) + P6, P7 convs; two-stage
    // over F2..F5 (index 0..3), P6 a max pool (p6 = p7 = -1).
    int32_t           n_fpn_inputs;
    int32_t           fpn_inner[4], fpn_layer[4], p6, p7;
    // RetinaNet head.
    int32_t           cls_tower[4], cls_logits, box_tower[4], box_reg;
    // Faster R-CNN: RPN head and box head (fc layers kept as 1x1 convs).
    int32_t           rpn_conv, rpn_cls, rpn_box;
    int32_t           fc6, fc7, cls_score, bbox_pred;
} ipg_net_desc_t;

struct ipg_model {
    ipg_config_t      cfg;
    char **           labels;
    int32_t           n_labels;
    char              desc[160];
    int32_t           n_convs;
    int32_t           cap_convs;
    ipg_conv_host_t * convs;
    ipg_net_desc_t    net;
};

// Binding: used by arch/*_bind while a model loads. `used` marks each tensor
// of the file consumed; a tensor left over is an error (a config that does
// not describe the file).
typedef struct {
    struct ipg_model *    model;
    const ipg_st_file_t * file;
    bool *                used;
    char *                err;
    size_t                err_size;
} ipg_binder_t;

// Binds `<name>.weight` [cout, cin, k, k] (+ `<name>.bias` if has_bias), and
// the BatchNorm `<bn>.{weight,bias,running_mean,running_var}` if bn != NULL,
// folding it. Returns the conv index or -1 (error in binder->err).
int32_t ipg_bind_conv(ipg_binder_t * b, const char * name, int32_t cout, int32_t cin, int32_t k,
                      int32_t stride, int32_t pad, bool has_bias, const char * bn);

// A torch Linear `<name>.weight` [out, in] + `<name>.bias`, kept as a 1x1 conv.
int32_t ipg_bind_linear(ipg_binder_t * b, const char * name, int32_t out_features, int32_t in_features);

int ipg_resnet_bind(ipg_binder_t * b);
int ipg_guidance_bind(ipg_binder_t * b);
int ipg_fpn_bind(ipg_binder_t * b);
int ipg_retinanet_head_bind(ipg_binder_t * b);
int ipg_rpn_head_bind(ipg_binder_t * b);
int ipg_roi_head_bind(ipg_binder_t * b);

// ---- OpenCL runtime -------------------------------------------------------

typedef struct {
    cl_platform_id   platform;
    cl_device_id     device;
    cl_context       context;
    cl_command_queue queue;
    cl_program       program;       // all embedded kernels, one program
    char             device_name[256];
    bool             is_cpu;
    size_t           max_wg_size;
    cl_ulong         local_mem_size;
    bool             profiling;
    uint64_t         objects_created; // programs built, buffers, kernels: all before the first run
} ipg_cl_t;

const char * ipg_cl_error_name(cl_int code);
// Selects the device, creates context, queue, and builds the program.
ipg_status_t ipg_cl_init(ipg_cl_t * cl, const char * device, bool profiling, char * err, size_t err_size);
void         ipg_cl_free(ipg_cl_t * cl);
// OpenCL objects (programs, buffers, kernels) a context has created so far: a
// test checks that running frames creates none (everything is made at init and
// prepare).
uint64_t     ipg_ctx_cl_objects_created(const struct ipg_ctx * ctx);
cl_mem       ipg_cl_buffer(ipg_cl_t * cl, cl_mem_flags flags, size_t bytes, const void * host,
                           char * err, size_t err_size);

// ---- tensors, steps, plan -------------------------------------------------

// A device tensor, batch 1, NCHW float32. Its buffer has IPG_TENSOR_SLACK
// floats past the end: conv-direct.cl's vector loads may read (never use) up
// to 16 floats past a row.
#define IPG_TENSOR_SLACK 16
typedef struct {
    cl_mem  buf;
    int32_t c, h, w;
} ipg_tensor_t;

// A kernel argument whose value is bound at plan finalisation, so that a
// step may name a buffer (the shared scratch) that grows while planning.
typedef struct {
    enum { IPG_ARG_MEM, IPG_ARG_MEMREF, IPG_ARG_INT, IPG_ARG_FLOAT, IPG_ARG_LOCAL } kind;   // LOCAL: i bytes
    cl_mem   mem;
    cl_mem * memref;
    cl_int   i;
    cl_float f;
} ipg_arg_t;

#define IPG_MAX_ARGS 24

typedef struct {
    cl_kernel    kernel;         // owned: one kernel object per step keeps its args
    const char * kernel_name;
    cl_uint      dims;
    size_t       gws[3];
    size_t       lws[3];
    bool         has_lws;
    int32_t      n_args;
    ipg_arg_t    args[IPG_MAX_ARGS];
    const char * group;          // profiling group ("stem", "layer2", "head", ...)
    double       flop;           // arithmetic of this launch (convolutions only)
} ipg_step_t;

// A named tensor handed to the stage callback once step `after_step` ran.
// With `count` set, only the first *count rows (count_axis 1: along h) or
// columns (2: along w) are valid this frame; the dump reports just those.
typedef struct {
    int32_t      after_step;
    char         name[32];
    ipg_tensor_t t;
    cl_mem       count;
    int32_t      count_axis;
} ipg_stage_t;

// Device copy of a folded conv: weights packed [ceil(M/MR)][K][MR].
typedef struct {
    cl_mem  w_packed;
    cl_mem  bias;
    int32_t cout, cin, kh, kw, stride, pad;
} ipg_conv_dev_t;

#define IPG_GEMM_MR 16
#define IPG_GEMM_NR 16

typedef struct ipg_plan {
    ipg_cl_t *     cl;
    ipg_step_t *   steps;
    int32_t        n_steps, cap_steps;
    cl_mem *       buffers;       // every buffer the plan allocated (owned)
    int32_t        n_buffers, cap_buffers;
    cl_mem         scratch;       // packed im2col operand, shared by all convs
    bool           pack_all_convs; // no direct 3x3 path (IPG_CONV=pack; tests)
    size_t         scratch_bytes;
    ipg_stage_t *  stages;
    int32_t        n_stages, cap_stages;
    const char *   group;         // current profiling group
    char *         err;
    size_t         err_size;
} ipg_plan_t;

ipg_status_t ipg_plan_tensor(ipg_plan_t * p, ipg_tensor_t * t, int32_t c, int32_t h, int32_t w);
ipg_step_t * ipg_plan_step(ipg_plan_t * p, const char * kernel_name);
void         ipg_step_mem(ipg_step_t * s, cl_mem m);
void         ipg_step_memref(ipg_step_t * s, cl_mem * m);
void         ipg_step_int(ipg_step_t * s, int32_t v);
void         ipg_step_float(ipg_step_t * s, float v);
void         ipg_step_local(ipg_step_t * s, size_t bytes);
void         ipg_step_range(ipg_step_t * s, cl_uint dims, const size_t * gws, const size_t * lws);
void         ipg_plan_stage(ipg_plan_t * p, const char * name, const ipg_tensor_t * t);
// A stage of which only the first *count rows (axis 1) or columns (axis 2) are valid.
void         ipg_plan_stage_counted(ipg_plan_t * p, const char * name, const ipg_tensor_t * t, cl_mem count,
                                    int32_t axis);
ipg_status_t ipg_plan_finalize(ipg_plan_t * p);
// Enqueues every step and waits (tests; ctx.c has its own loop for dumps).
ipg_status_t ipg_plan_run(ipg_plan_t * p);
void         ipg_plan_free(ipg_plan_t * p);

// ---- ops (ops.c): each appends steps to a plan -----------------------------

ipg_status_t ipg_conv_upload(ipg_cl_t * cl, const ipg_conv_host_t * h, int32_t cin_begin, int32_t cin_count,
                             bool with_bias, ipg_conv_dev_t * out, char * err, size_t err_size);
void         ipg_conv_dev_free(ipg_conv_dev_t * d);

// out = act(conv(in) + bias [+ res]); allocates `out` (unless out->buf is set).
ipg_status_t ipg_op_conv(ipg_plan_t * p, const ipg_conv_dev_t * conv, const ipg_tensor_t * in,
                         const ipg_tensor_t * res, bool relu, ipg_tensor_t * out);
ipg_status_t ipg_op_maxpool3x3s2(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out);
ipg_status_t ipg_op_downsample2x(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out);
// out = lateral + nearest-upsample(top) to lateral's size.
ipg_status_t ipg_op_upsample_add(ipg_plan_t * p, const ipg_tensor_t * lateral, const ipg_tensor_t * top,
                                 ipg_tensor_t * out);
ipg_status_t ipg_op_relu(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out);
// Every other pixel of every other row: max pool 1x1 stride 2 (LastLevelMaxPool).
ipg_status_t ipg_op_subsample2x(ipg_plan_t * p, const ipg_tensor_t * in, ipg_tensor_t * out);

// ---- device network (arch/*_plan) ----------------------------------------

typedef struct {
    ipg_conv_dev_t * convs;        // one per model conv (index-aligned), fusion convs split below
    ipg_conv_dev_t   fusion_c[4];  // fusion conv's columns over C_l (with bias)
    ipg_conv_dev_t   fusion_g[4];  // ... over G_l (no bias)
} ipg_weights_dev_t;

// Faster R-CNN's proposals on the device (arch/rpn-proposals.c): per level
// the top k objectness logits, sorted, decoded and NMS'ed; then the levels
// merged by score into at most max_rois RoIs. Buffers are owned by the plan.
typedef struct {
    int32_t levels;
    int32_t k_max;                 // rpn_pre_nms_top_n: slots per level
    int32_t k[5];                  // min(k_max, anchors of the level)
    int32_t words;                 // NMS mask words (32 bits) per box: ceil(k_max / 32)
    int32_t max_rois;              // rpn_post_nms_top_n
    cl_mem  sel_key, sel_index;    // [levels][k_max] the top k, unordered
    cl_mem  box, score, valid, skey;   // [levels][k_max] in score order, decoded and clipped; order keys
    cl_mem  mask, removed;         // [levels][k_max][words], [levels][words]
    cl_mem  kept_box, kept_score, kept_key, kept_count;   // NMS survivors in score order, per level
    ipg_tensor_t rois;             // [1][max_rois][4], network-input pixels
    ipg_tensor_t roi_score;        // [1][1][max_rois], sigmoid objectness
    cl_mem  roi_count;             // one int: the RoIs of this frame
} ipg_proposals_t;

typedef struct {
    const struct ipg_model * model;
    const ipg_weights_dev_t * wd;
    ipg_tensor_t input;            // normalised network input [3][H][W]
    ipg_tensor_t pyramid[6];       // I_1 (= input), I_2, I_4, ..., I_32; index = log2(stride)
    ipg_tensor_t c[4];             // C2..C5
    ipg_tensor_t f[4];             // F2..F5 (= C where not guided)
    int32_t      first_level;      // of p[0]: 3 (one-stage, P3..P7) or 2 (two-stage, P2..P6)
    ipg_tensor_t p[5];
    ipg_tensor_t head_cls[5];      // RetinaNet head, or RPN objectness [A][h][w]
    ipg_tensor_t head_box[5];      // RetinaNet head, or RPN deltas [4A][h][w]
    // Two-stage only.
    ipg_proposals_t prop;
    ipg_tensor_t roi_features;     // [C * s * s][1][max_rois]: RoI r's feature k at (k, r)
    ipg_tensor_t roi_cls;          // [K + 1][1][max_rois] class logits (0 = background)
    ipg_tensor_t roi_box;          // [4 (K + 1)][1][max_rois] box deltas per class
} ipg_graph_t;

ipg_status_t ipg_weights_upload(ipg_cl_t * cl, const struct ipg_model * m, ipg_weights_dev_t * wd, char * err,
                                size_t err_size);
void         ipg_weights_free(ipg_weights_dev_t * wd, int32_t n_convs);
// Plans the whole network from g->input (already allocated) to the head outputs.
ipg_status_t ipg_network_plan(ipg_plan_t * p, ipg_graph_t * g);

ipg_status_t ipg_resnet_plan_stem(ipg_plan_t * p, ipg_graph_t * g, ipg_tensor_t * out);
ipg_status_t ipg_resnet_plan_stage(ipg_plan_t * p, ipg_graph_t * g, int32_t stage, const ipg_tensor_t * in,
                                   ipg_tensor_t * out);
ipg_status_t ipg_guidance_plan_pyramid(ipg_plan_t * p, ipg_graph_t * g);
ipg_status_t ipg_guidance_plan_level(ipg_plan_t * p, ipg_graph_t * g, int32_t level);
ipg_status_t ipg_fpn_plan(ipg_plan_t * p, ipg_graph_t * g);
ipg_status_t ipg_retinanet_head_plan(ipg_plan_t * p, ipg_graph_t * g);
ipg_status_t ipg_rpn_head_plan(ipg_plan_t * p, ipg_graph_t * g);
ipg_status_t ipg_rpn_proposals_plan(ipg_plan_t * p, ipg_graph_t * g);
ipg_status_t ipg_roi_head_plan(ipg_plan_t * p, ipg_graph_t * g);

// ---- post-processing ------------------------------------------------------

// Anchors of one level (torchvision AnchorGenerator): base anchors [A][4] and
// the grid stride. Computed on the host at prepare time.
typedef struct {
    int32_t grid_w, grid_h;
    int32_t stride_w, stride_h;
    int32_t n_anchors;
    float   base[IPG_MAX_ANCHOR_SIZES * IPG_MAX_RATIOS][4];
} ipg_level_anchors_t;

void ipg_anchors_level(const ipg_config_t * cfg, int32_t level, int32_t grid_w, int32_t grid_h,
                       int32_t image_w, int32_t image_h, ipg_level_anchors_t * out);

// A decoded candidate in network-input pixels.
typedef struct {
    float   box[4];
    float   score;
    int32_t label;
} ipg_candidate_t;

// RetinaNet post-processing state: device buffers (owned by the plan) and
// host staging (owned here), sized at prepare time.
typedef struct {
    int32_t   levels, k;
    cl_mem    cand_score, cand_index, count, offsets, slots;
    cl_mem    top_score, top_index, top_count, out_box, out_score, out_label;
    int32_t * zeros;              // levels ints, to reset `count`
    int32_t * h_count;
    float *   h_box;
    float *   h_score;
    int32_t * h_label;
    int32_t * h_index;            // flat (location, anchor, class) index per slot
    ipg_candidate_t * cands;
    ipg_candidate_t * kept;
    int32_t * nms_scratch;
} ipg_retina_post_t;

// Index of the score-threshold argument of ipg_retina_candidates (detect.cl).
#define IPG_CANDIDATES_THRESH_ARG 4

ipg_status_t ipg_retina_post_plan(ipg_plan_t * p, const ipg_graph_t * g, float candidate_thresh,
                                  ipg_retina_post_t * post);
// Enqueues the reset of the candidate counters (before the plan runs).
ipg_status_t ipg_retina_post_reset(ipg_cl_t * cl, ipg_retina_post_t * post, char * err, size_t err_size);
// Reads back the selected candidates and runs NMS; *out points into post.
ipg_status_t ipg_retina_post_collect(ipg_cl_t * cl, ipg_retina_post_t * post, float nms_thresh, int32_t max_keep,
                                     ipg_candidate_t ** out, int32_t * n_out, char * err, size_t err_size);
void         ipg_retina_post_free(ipg_retina_post_t * post);

// Faster R-CNN post-processing (post/rcnn-post.c): per RoI softmax, class-wise
// decoding and clipping on the device, candidates above the threshold
// compacted there; the host reads them back and runs class-wise NMS.
typedef struct {
    int32_t   max_cands;           // max_rois * num_classes
    cl_mem    count, box, score, label, flat;
    int32_t   zero;
    float *   h_box;
    float *   h_score;
    int32_t * h_label;
    int32_t * h_flat;
    ipg_candidate_t * cands;
    ipg_candidate_t * kept;
    int32_t * nms_scratch;
} ipg_rcnn_post_t;

// Index of the score-threshold argument of ipg_rcnn_candidates (rcnn-detect.cl).
#define IPG_RCNN_THRESH_ARG 13

ipg_status_t ipg_rcnn_post_plan(ipg_plan_t * p, const ipg_graph_t * g, float candidate_thresh, ipg_rcnn_post_t * post);
ipg_status_t ipg_rcnn_post_reset(ipg_cl_t * cl, ipg_rcnn_post_t * post, char * err, size_t err_size);
ipg_status_t ipg_rcnn_post_collect(ipg_cl_t * cl, ipg_rcnn_post_t * post, float nms_thresh, int32_t max_keep,
                                   ipg_candidate_t ** out, int32_t * n_out, char * err, size_t err_size);
void         ipg_rcnn_post_free(ipg_rcnn_post_t * post);

cl_mem ipg_plan_buffer(ipg_plan_t * p, size_t bytes, const void * host);

// Sorts candidates by decreasing score (stable on ties by index), runs
// class-wise greedy NMS (suppress IoU > thresh) and writes the first
// `max_keep` survivors to `out` in score order. `scratch` holds 2n ints.
int32_t ipg_nms_classwise(const ipg_candidate_t * c, int32_t n, float iou_thresh, int32_t max_keep,
                          int32_t * scratch, ipg_candidate_t * out);

// Sorts n (flat index, slot) int pairs by flat index (unique within a set):
// the device writes candidates in atomic order, and both detectors put them
// back in torchvision's order with this before NMS.
void ipg_sort_by_flat_index(int32_t * pairs, int32_t n);

#endif // IPG_IMPL_H
