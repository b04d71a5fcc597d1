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
    int32_t frame_w, frame_h;
    ipg_pixel_format_t format;
    ipg_yuv_matrix_t matrix;   // planar formats only
    int32_t full_range;        // planar formats only: 1 = 0..255
} ipg_letterbox_t;

// One image of a frame's batch: the whole frame (tile -1) or a tile, in
// frame pixels, and how it is letterboxed (IPGNET.md: s = min(W / w, H / h),
// the scaled size rounded, clamped to 1 .. the input's).
typedef struct {
    int32_t tile;           // -1: the full frame
    int32_t x0, y0, w, h;   // the source rect in the frame
    int32_t new_w, new_h;   // its size after scaling
    double scale;           // s
} ipg_view_t;

ipg_view_t ipg_view_make(int32_t tile, int32_t x0, int32_t y0, int32_t w, int32_t h, int32_t in_w, int32_t in_h);

// Bytes of the packed frame buffer: rows of frame_w * bpp, or the Y plane
// then the chroma planes (I420: U, V; NV12: UV interleaved).
size_t ipg_frame_bytes(int32_t w, int32_t h, ipg_pixel_format_t format);
// The packed frame buffer of `bytes`. Where the device shares the host's
// memory (CL_DEVICE_HOST_UNIFIED_MEMORY: integrated GPUs, CPU drivers) the
// driver allocates it host-visible (CL_MEM_ALLOC_HOST_PTR) and *mapped is
// set: uploads then write it through a map, with no copy on the device side
// (zero-copy). IPG_UPLOAD=copy forces the plain buffer and copies (tests,
// and drivers whose mapping is slow).
cl_mem ipg_frame_buffer(ipg_cl_t * cl, size_t bytes, bool * mapped, char * err, size_t err_size);
// Copies a caller's frame into the packed buffer (rows packed whatever the
// stride): through a map when `mapped`, else with clEnqueueWriteBufferRect.
// Checks every plane and stride first. Blocking: the caller's frame may go
// once it returns.
ipg_status_t ipg_frame_upload(ipg_cl_t * cl, cl_mem frame_buf, bool mapped, const ipg_letterbox_t * lb,
                              const ipg_frame_t * frame, char * err, size_t err_size);
// Plans the letterbox steps, one per view: view b of frame_buf -> image
// first_image + b of `images` ([n][3][H][W] floats: scaled, normalised with
// the config's mean and std, zero padded). Views of one size share one taps
// table. (A batch of frames calls it once per frame buffer.)
ipg_status_t ipg_preprocess_plan(ipg_plan_t * p, const ipg_letterbox_t * lb, const ipg_config_t * cfg, cl_mem frame_buf,
                                 const ipg_view_t * views, int32_t n_views, cl_mem images, int32_t first_image,
                                 int32_t in_w, int32_t in_h);

#endif   // IPG_PREPROCESS_H
