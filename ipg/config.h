// SPDX-License-Identifier: LGPL-2.1-or-later
// config.h: the network configuration stored as JSON in a model file's
// __metadata__["config"], parsed and range-checked. Field meanings are in
// docs/MODEL-FORMAT.md; every default here mirrors tools/ipgnet/config.py.
#ifndef IPG_CONFIG_H
#define IPG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define IPG_MAX_LEVELS       8   // pyramid / FPN levels
#define IPG_MAX_ANCHOR_SIZES 8   // anchor sizes per level
#define IPG_MAX_RATIOS       8   // aspect ratios
#define IPG_MAX_LABELS       4096
#define IPG_MAX_CLASSES      4096

typedef enum { IPG_ARCH_RETINANET = 0, IPG_ARCH_FASTERRCNN } ipg_arch_t;
typedef enum { IPG_BLOCK_BASIC = 0, IPG_BLOCK_BOTTLENECK } ipg_block_t;

typedef struct {
    ipg_arch_t arch;             // "arch": "retinanet" | "fasterrcnn"
    char backbone[16];           // "backbone": "resnet18" | "resnet34" | "resnet50" | "resnet101"
    ipg_block_t block;           // derived from backbone
    int32_t layers[4];           // blocks per stage, derived: 2,2,2,2 / 3,4,6,3 / 3,4,23,3
    double width;                // "width": channel multiplier, (0, 4]
    int32_t stem_channels;       // derived: round(64 * width)
    int32_t stage_planes[4];     // derived: round(64*w), round(128*w), round(256*w), round(512*w)
    int32_t stage_channels[4];   // derived: C2..C5 channels = planes * expansion (1 or 4)

    int32_t num_ipg_levels;   // "ipg_levels": subset of 2..5, strictly increasing; may be empty
    int32_t ipg_levels[4];
    int32_t ipg_channels[4];   // "ipg_channels": g_l for levels 2..5 (always 4 entries, indexed l-2)

    int32_t fpn_channels;   // "fpn_channels"
    int32_t num_classes;    // "num_classes" (RetinaNet: no background class)
    int32_t input_width;    // "input": [W, H], multiples of 32, 32..8192
    int32_t input_height;
    float mean[3];   // "mean"
    float std[3];    // "std", each > 0
    float bn_eps;    // "bn_eps", default 1e-5

    // Anchors: 5 levels, P3..P7 (RetinaNet) or P2..P6 (Faster R-CNN).
    int32_t num_anchor_levels;                                  // length of "anchor_sizes"
    int32_t num_anchor_sizes;                                   // entries per level (the same for every level)
    float anchor_sizes[IPG_MAX_LEVELS][IPG_MAX_ANCHOR_SIZES];   // "anchor_sizes": [[32,40,50], ...]
    int32_t num_aspect_ratios;
    float aspect_ratios[IPG_MAX_RATIOS];   // "aspect_ratios": [0.5, 1.0, 2.0]

    // Post-processing (torchvision RetinaNet / FasterRCNN semantics).
    float score_thresh;           // "score_thresh", default 0.05
    float nms_thresh;             // "nms_thresh", default 0.5
    int32_t detections_per_img;   // "detections_per_img", default 300 (RetinaNet), 100 (Faster R-CNN)
    int32_t topk_candidates;      // "topk_candidates", default 1000 (RetinaNet only)
    float box_weights[4];         // "box_weights", default 1,1,1,1 (RetinaNet), 10,10,5,5 (Faster R-CNN)

    // Two-stage only (torchvision FasterRCNN's test-time values).
    int32_t rpn_pre_nms_top_n;     // "rpn_pre_nms_top_n", per level, default 1000
    int32_t rpn_post_nms_top_n;    // "rpn_post_nms_top_n", default 1000: the RoI count the box head is sized for
    float rpn_nms_thresh;          // "rpn_nms_thresh", default 0.7
    float rpn_score_thresh;        // "rpn_score_thresh", default 0.0
    int32_t roi_output_size;       // "roi_output_size", default 7
    int32_t roi_sampling_ratio;    // "roi_sampling_ratio", default 2 (torchvision's adaptive mode is not supported)
    int32_t representation_size;   // "representation_size", default 1024 (TwoMLPHead)
} ipg_config_t;

// Parses and validates `json` (not NUL-terminated; `len` bytes). On failure
// returns non-zero and writes a sentence naming the field into `err`.
int ipg_config_parse(const char * json, size_t len, ipg_config_t * cfg, char * err, size_t err_size);

// Parses a JSON array of strings (the "labels" metadata). Returns the count,
// or -1 with a message in `err`. *labels is one malloc'd block: an array of
// pointers followed by the strings; free it with free().
int32_t ipg_labels_parse(const char * json, size_t len, char *** labels, char * err, size_t err_size);

#endif   // IPG_CONFIG_H
