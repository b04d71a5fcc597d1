// SPDX-License-Identifier: LGPL-2.1-or-later
// st-builder.h: builds safetensors files in memory for the format tests and
// the fuzzer, so no test depends on a file on disk.
#ifndef IPG_TEST_ST_BUILDER_H
#define IPG_TEST_ST_BUILDER_H

#include <stddef.h>
#include <stdint.h>

// A complete, valid config (resnet18, width 0.5) and labels, the same ones the
// good file stores in __metadata__. The config carries an unknown key
// ("future_field") that the parser must ignore.
#define ST_GOOD_CONFIG                                                                                \
    "{\"arch\": \"retinanet\", \"backbone\": \"resnet18\", \"width\": 0.5, "                          \
    "\"ipg_levels\": [2, 3, 4, 5], \"ipg_channels\": [16, 32, 64, 128], "                             \
    "\"fpn_channels\": 64, \"num_classes\": 3, \"input\": [352, 288], "                               \
    "\"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225], \"bn_eps\": 1e-5, "             \
    "\"anchor_sizes\": [[32, 40.31747359663594, 50.79683366298238], "                                 \
    "[64, 80.63494719327188, 101.59366732596476], [128, 161.26989438654377, 203.18733465192952], "    \
    "[256, 322.53978877308754, 406.37466930385904], [512, 645.0795775461751, 812.7493386077181]], "   \
    "\"aspect_ratios\": [0.5, 1.0, 2.0], \"score_thresh\": 0.05, \"nms_thresh\": 0.5, "               \
    "\"detections_per_img\": 300, \"topk_candidates\": 1000, \"box_weights\": [1.0, 1.0, 1.0, 1.0], " \
    "\"future_field\": {\"x\": [1, 2, {\"y\": null}]}}"

#define ST_GOOD_LABELS "[\"person\", \"bicycle\", \"caf\\u00e9\"]"

// One tensor of the good file.
typedef struct {
    const char * name;
    const char * dtype;
    int32_t n_dims;
    int64_t shape[4];
    size_t nbytes;
    size_t begin;   // offset in the data buffer
} st_good_tensor_t;

// The good file's tensors, in header order (deliberately not offset order).
extern const st_good_tensor_t st_good_tensors[];
extern const int32_t st_good_n_tensors;

// Byte i of the good file's data buffer.
uint8_t st_good_data_byte(size_t i);

// 8-byte little-endian `header_len_field`, then `header` (header_len bytes),
// then `data`. malloc'd; *size receives the total.
uint8_t * st_build_raw(uint64_t header_len_field, const char * header, size_t header_len, const uint8_t * data,
                       size_t data_len, size_t * size);

// Same with the length field equal to strlen(header) and `data_len` bytes of
// a fixed pattern.
uint8_t * st_build(const char * header, size_t data_len, size_t * size);

// The good file: every dtype family, a 0-d scalar, an empty tensor, metadata
// with format, format_version, config and labels. *header_len receives the
// JSON header's length (the file's data starts at 8 + *header_len).
uint8_t * st_build_good(size_t * size, size_t * header_len);

// The good file with other config and labels metadata strings.
uint8_t * st_build_good_meta(const char * config, const char * labels, size_t * size, size_t * header_len);

#endif   // IPG_TEST_ST_BUILDER_H
