// SPDX-License-Identifier: LGPL-2.1-or-later
// preprocess.h: the frame side of a context (preprocess.c, with
// kernels/preprocess.cl): the packed frame buffer, its upload, and the
// letterbox step that turns it into the normalised network input. Not
// installed.
#ifndef IPG_PREPROCESS_H
#define IPG_PREPROCESS_H

#include "config.h"
#include "plan.h"

// One prepared frame geometry and format.
typedef struct {
    int32_t            frame_w, frame_h;
    ipg_pixel_format_t format;
    ipg_yuv_matrix_t   matrix;       // planar formats only
    int32_t            full_range;   // planar formats only: 1 = 0..255
    int32_t            new_w, new_h; // the frame's size after scaling (<= the input's)
} ipg_letterbox_t;

// Bytes of the packed frame buffer: rows of frame_w * bpp, or the Y plane
// then the chroma planes (I420: U, V; NV12: UV interleaved).
size_t       ipg_frame_bytes(int32_t w, int32_t h, ipg_pixel_format_t format);
// Copies a caller's frame into the packed buffer (rows packed whatever the
// stride). Checks every plane and stride.
ipg_status_t ipg_frame_upload(ipg_cl_t * cl, cl_mem frame_buf, const ipg_letterbox_t * lb, const ipg_frame_t * frame,
                              char * err, size_t err_size);
// Plans the letterbox step: frame_buf -> input (scaled, normalised with the
// config's mean and std, zero padded).
ipg_status_t ipg_preprocess_plan(ipg_plan_t * p, const ipg_letterbox_t * lb, const ipg_config_t * cfg,
                                 cl_mem frame_buf, const ipg_tensor_t * input);

#endif // IPG_PREPROCESS_H
