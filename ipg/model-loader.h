// SPDX-License-Identifier: LGPL-2.1-or-later
// model-loader.h: the host-side model (weights with BatchNorm folded, and
// where each layer's conv sits) and the binder service (model-loader.c) that
// the arch builders call while a model loads. Not installed.
#ifndef IPG_MODEL_LOADER_H
#define IPG_MODEL_LOADER_H

#include "config.h"
#include "ipg.h"
#include "safetensors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ipg_detector_i;

// One convolution with BatchNorm folded in: y = W x + b. Weights OIHW, so
// w[o][i * kh * kw + ky * kw + kx].
typedef struct {
    char * name;   // base name, e.g. "backbone.body.layer1.0.conv1"
    int32_t cout, cin, kh, kw, stride, pad;
    float * w;   // cout * cin * kh * kw
    float * b;   // cout (zeros where the conv had neither bias nor BN)
} ipg_conv_host_t;

typedef struct {
    int32_t conv1, conv2, conv3;   // conv3 = -1 for basic blocks
    int32_t down;                  // downsample conv, -1 if identity
} ipg_block_desc_t;

// Indices into ipg_model.convs; -1 = absent.
typedef struct {
    int32_t stem;
    int32_t n_blocks[4];
    ipg_block_desc_t blocks[4][32];
    // IPG modules, indexed by level - 2.
    int32_t t_conv[4];
    ipg_block_desc_t t_block[4];
    int32_t fusion[4];   // conv over concat(C_l, G_l), BN folded
    // FPN: over F3..F5 (index 0..2) + P6, P7 convs, or over F2..F5 (index
    // 0..3) with P6 a max pool (p6 = p7 = -1): the detector's neck.
    int32_t n_fpn_inputs;
    int32_t fpn_inner[4], fpn_layer[4], p6, p7;
    // RetinaNet head.
    int32_t cls_tower[4], cls_logits, box_tower[4], box_reg;
    // Faster R-CNN: RPN head and box head (fc layers kept as 1x1 convs).
    int32_t rpn_conv, rpn_cls, rpn_box;
    int32_t fc6, fc7, cls_score, bbox_pred;
} ipg_net_desc_t;

struct ipg_model {
    ipg_config_t cfg;
    const struct ipg_detector_i * detector;   // the head of cfg.arch (detector.h)
    char ** labels;
    int32_t n_labels;
    char desc[160];
    int32_t n_convs;
    int32_t cap_convs;
    ipg_conv_host_t * convs;
    ipg_net_desc_t net;
    bool weights_released;   // ipg_model_release_weights: convs[].w and .b are NULL
    // ipg_model_release_weights_on_upload: the next weight upload frees each
    // conv's host copy as soon as it is on the device (convs[].w and .b go
    // NULL one by one; the struct itself is const to the uploader).
    bool release_on_upload;
};

// Binding: used by arch/*_bind while a model loads. `used` marks each tensor
// of the file consumed; a tensor left over is an error (a config that does
// not describe the file).
typedef struct {
    struct ipg_model * model;
    const ipg_st_file_t * file;
    bool * used;
    char * err;
    size_t err_size;
} ipg_binder_t;

// Binds `<name>.weight` [cout, cin, k, k] (+ `<name>.bias` if has_bias), and
// the BatchNorm `<bn>.{weight,bias,running_mean,running_var}` if bn != NULL,
// folding it. Returns the conv index or -1 (error in binder->err).
int32_t ipg_bind_conv(ipg_binder_t * b, const char * name, int32_t cout, int32_t cin, int32_t k, int32_t stride,
                      int32_t pad, bool has_bias, const char * bn);

// A torch Linear `<name>.weight` [out, in] + `<name>.bias`, kept as a 1x1 conv.
int32_t ipg_bind_linear(ipg_binder_t * b, const char * name, int32_t out_features, int32_t in_features);

// The uploader's side of ipg_model_release_weights_on_upload: whether every
// conv still has its host weights, and (when the model asked for it) freeing
// one conv's once all its device copies exist.
bool ipg_model_weights_present(const ipg_model_t * m);
void ipg_model_drop_conv_weights(const ipg_model_t * m, int32_t conv);

#endif   // IPG_MODEL_LOADER_H
