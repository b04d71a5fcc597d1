// SPDX-License-Identifier: LGPL-2.1-or-later
// preprocess.c: the frame side of a context, paired with
// kernels/preprocess.cl: the packed frame buffer and its upload, and the
// letterbox step (bilinear taps computed here exactly as PyTorch computes
// them, the Y'CbCr matrix, normalisation) that makes the network input.
#include "preprocess.h"

#include "log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Byte offsets of R, G, B within a packed pixel.
static void channel_offsets(ipg_pixel_format_t f, int32_t * r, int32_t * g, int32_t * b) {
    switch (f) {
        case IPG_PIXEL_RGB:
        case IPG_PIXEL_RGBX:
        case IPG_PIXEL_RGBA:
            *r = 0;
            *g = 1;
            *b = 2;
            break;
        case IPG_PIXEL_BGR:
        case IPG_PIXEL_BGRX:
        case IPG_PIXEL_BGRA:
            *r = 2;
            *g = 1;
            *b = 0;
            break;
        case IPG_PIXEL_XRGB:
        case IPG_PIXEL_ARGB:
            *r = 1;
            *g = 2;
            *b = 3;
            break;
        default: /* XBGR, ABGR */
            *r = 3;
            *g = 2;
            *b = 1;
            break;
    }
}

// Bilinear taps of one axis, as PyTorch's CPU upsample_bilinear2d computes
// them: scale = (float) in / out; src = scale * (dst + 0.5) - 0.5 in double,
// clamped at 0; lambda = (float) (src - floor(src)).
static void axis_taps(int32_t in, int32_t out, int32_t * i0, int32_t * i1, float * l1) {
    const float scale = (float) in / (float) out;
    for (int32_t d = 0; d < out; d++) {
        double src = (double) scale * (d + 0.5) - 0.5;
        if (src < 0) src = 0;
        int32_t a = (int32_t) floor(src);
        if (a > in - 1) a = in - 1;
        i0[d] = a;
        i1[d] = a < in - 1 ? a + 1 : a;
        l1[d] = (float) (src - a);
    }
}

// The taps of both axes of a view in two plan buffers: indices
// [x0][x1][y0][y1] (relative to the view's origin) and weights [x][y].
static ipg_status_t letterbox_taps(ipg_plan_t * p, const ipg_view_t * v, cl_mem * idx, cl_mem * lambda1) {
    const int32_t nw = v->new_w, nh = v->new_h;
    int32_t * ih = malloc(2 * ((size_t) nw + nh) * sizeof(int32_t));
    float * lh = malloc(((size_t) nw + nh) * sizeof(float));
    if (!ih || !lh) {
        free(ih);
        free(lh);
        ipg_format_error(p->err, p->err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    axis_taps(v->w, nw, ih, ih + nw, lh);
    axis_taps(v->h, nh, ih + 2 * nw, ih + 2 * nw + nh, lh + nw);
    *idx = ipg_plan_buffer(p, 2 * ((size_t) nw + nh) * sizeof(int32_t), ih);
    *lambda1 = *idx ? ipg_plan_buffer(p, ((size_t) nw + nh) * sizeof(float), lh) : NULL;
    free(ih);
    free(lh);
    return *idx && *lambda1 ? IPG_OK : IPG_ERR_NO_MEMORY;
}

// Y'CbCr -> R'G'B' on the 0..255 scale from the matrix's Kr, Kb:
// { y_offset, y_scale, c_scale, r_v, g_u, g_v, b_u }.
static void yuv_coefficients(ipg_yuv_matrix_t matrix, int32_t full_range, float coef[8]) {
    double kr = 0.299, kb = 0.114;   // BT.601
    if (matrix == IPG_YUV_BT709) {
        kr = 0.2126;
        kb = 0.0722;
    }
    if (matrix == IPG_YUV_BT2020) {
        kr = 0.2627;
        kb = 0.0593;
    }
    const double kg = 1.0 - kr - kb;
    coef[0] = full_range ? 0.0f : 16.0f;
    coef[1] = (float) (full_range ? 1.0 : 255.0 / 219.0);
    coef[2] = (float) (full_range ? 1.0 : 255.0 / 224.0);
    coef[3] = (float) (2.0 * (1.0 - kr));
    coef[4] = (float) (2.0 * kb * (1.0 - kb) / kg);
    coef[5] = (float) (2.0 * kr * (1.0 - kr) / kg);
    coef[6] = (float) (2.0 * (1.0 - kb));
    coef[7] = 0.0f;
}

size_t ipg_frame_bytes(int32_t w, int32_t h, ipg_pixel_format_t format) {
    if (ipg_pixel_format_is_planar(format)) return (size_t) w * h + 2 * (size_t) ((w + 1) / 2) * ((h + 1) / 2);
    return (size_t) w * h * ipg_pixel_format_bpp(format);
}

cl_mem ipg_frame_buffer(ipg_cl_t * cl, size_t bytes, bool * mapped, char * err, size_t err_size) {
    const char * mode = getenv("IPG_UPLOAD");
    *mapped = cl->host_unified && !(mode && strcmp(mode, "copy") == 0);
    ipg_log(IPG_LOG_INFO, "frame upload: %s",
            *mapped            ? "mapped (zero-copy: the device shares the host's memory)"
            : cl->host_unified ? "copied (IPG_UPLOAD=copy)"
                               : "copied (the device has its own memory)");
    return ipg_cl_buffer(cl, CL_MEM_READ_ONLY | (*mapped ? CL_MEM_ALLOC_HOST_PTR : 0), bytes, NULL, err, err_size);
}

// One plane of a frame: rows x row bytes, host rows `stride` apart, packed
// at `offset` of the frame buffer. Rows are packed on the way in, so
// kernels see one layout whatever the stride.
typedef struct {
    const uint8_t * data;
    int32_t stride, row, rows;
    size_t offset;
    const char * what;
} plane_t;

// The planes of a frame in the packed layout (ipg_frame_bytes); returns
// how many, or 0 with err set when one is missing or its stride too small.
static int32_t frame_planes(const ipg_letterbox_t * lb, const ipg_frame_t * frame, plane_t planes[3], char * err,
                            size_t err_size) {
    const int32_t w = lb->frame_w, h = lb->frame_h;
    int32_t n = 0;
    if (!ipg_pixel_format_is_planar(lb->format)) {
        planes[n++] = (plane_t){ frame->data, frame->stride, w * ipg_pixel_format_bpp(lb->format), h, 0, "pixels" };
    } else {
        const int32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
        planes[n++] = (plane_t){ frame->planes[0], frame->strides[0], w, h, 0, "Y plane" };
        if (lb->format == IPG_PIXEL_NV12) {
            planes[n++] = (plane_t){ frame->planes[1], frame->strides[1], 2 * cw, ch, (size_t) w * h, "UV plane" };
        } else {
            planes[n++] = (plane_t){ frame->planes[1], frame->strides[1], cw, ch, (size_t) w * h, "U plane" };
            planes[n++] =
                (plane_t){ frame->planes[2], frame->strides[2], cw, ch, (size_t) w * h + (size_t) cw * ch, "V plane" };
        }
    }
    for (int32_t i = 0; i < n; i++) {
        const plane_t * pl = &planes[i];
        if (!pl->data || pl->stride < pl->row) {
            ipg_format_error(err, err_size, "frame %s: %s (stride %d, a row is %d bytes)", pl->what,
                             pl->data ? "stride smaller than a row" : "no data", pl->stride, pl->row);
            return 0;
        }
    }
    return n;
}

ipg_status_t ipg_frame_upload(ipg_cl_t * cl, cl_mem frame_buf, bool mapped, const ipg_letterbox_t * lb,
                              const ipg_frame_t * frame, char * err, size_t err_size) {
    plane_t planes[3];
    const int32_t n = frame_planes(lb, frame, planes, err, err_size);
    if (n == 0) return IPG_ERR_INVALID_ARG;
    cl_int rc = CL_SUCCESS;
    if (mapped) {
        // Zero-copy: the rows go straight into the driver's host-visible
        // allocation; the unmap hands it to the device (in queue order).
        const size_t bytes = ipg_frame_bytes(lb->frame_w, lb->frame_h, lb->format);
        uint8_t * dst = clEnqueueMapBuffer(cl->queue, frame_buf, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0, bytes, 0,
                                           NULL, NULL, &rc);
        if (rc != CL_SUCCESS) {
            ipg_format_error(err, err_size, "mapping the frame buffer failed: %s", ipg_cl_error_name(rc));
            return IPG_ERR_OPENCL;
        }
        for (int32_t i = 0; i < n; i++)
            for (int32_t y = 0; y < planes[i].rows; y++)
                memcpy(dst + planes[i].offset + (size_t) y * planes[i].row,
                       planes[i].data + (size_t) y * planes[i].stride, (size_t) planes[i].row);
        rc = clEnqueueUnmapMemObject(cl->queue, frame_buf, dst, 0, NULL, NULL);
        if (rc != CL_SUCCESS) {
            ipg_format_error(err, err_size, "unmapping the frame buffer failed: %s", ipg_cl_error_name(rc));
            return IPG_ERR_OPENCL;
        }
        return IPG_OK;
    }
    for (int32_t i = 0; i < n; i++) {
        const plane_t * pl = &planes[i];
        const size_t buffer_origin[3] = { pl->offset, 0, 0 }, host_origin[3] = { 0, 0, 0 };
        const size_t region[3] = { (size_t) pl->row, (size_t) pl->rows, 1 };
        rc = clEnqueueWriteBufferRect(cl->queue, frame_buf, CL_TRUE, buffer_origin, host_origin, region,
                                      (size_t) pl->row, 0, (size_t) pl->stride, 0, pl->data, 0, NULL, NULL);
        if (rc != CL_SUCCESS) {
            ipg_format_error(err, err_size, "uploading the frame's %s failed: %s", pl->what, ipg_cl_error_name(rc));
            return IPG_ERR_OPENCL;
        }
    }
    return IPG_OK;
}

ipg_view_t ipg_view_make(int32_t tile, int32_t x0, int32_t y0, int32_t w, int32_t h, int32_t in_w, int32_t in_h) {
    ipg_view_t v = { .tile = tile, .x0 = x0, .y0 = y0, .w = w, .h = h };
    v.scale = fmin((double) in_w / w, (double) in_h / h);
    v.new_w = (int32_t) floor(w * v.scale + 0.5);
    v.new_h = (int32_t) floor(h * v.scale + 0.5);
    if (v.new_w < 1) v.new_w = 1;
    if (v.new_h < 1) v.new_h = 1;
    if (v.new_w > in_w) v.new_w = in_w;
    if (v.new_h > in_h) v.new_h = in_h;
    return v;
}

ipg_status_t ipg_preprocess_plan(ipg_plan_t * p, const ipg_letterbox_t * lb, const ipg_config_t * cfg, cl_mem frame_buf,
                                 const ipg_view_t * views, int32_t n_views, cl_mem images, int32_t first_image,
                                 int32_t in_w, int32_t in_h) {
    const bool planar = ipg_pixel_format_is_planar(lb->format) != 0;
    p->group = "preprocess";
    cl_mem cbuf = NULL;
    if (planar) {
        float coef[8];
        yuv_coefficients(lb->matrix, lb->full_range, coef);
        cbuf = ipg_plan_buffer(p, sizeof coef, coef);
        if (!cbuf) return IPG_ERR_NO_MEMORY;
    }
    // Every tile has one size: the full frame and the tiles make at most two tables.
    cl_mem idx[2] = { NULL, NULL }, lambda1[2] = { NULL, NULL };
    int32_t table_w[2] = { 0, 0 }, table_h[2] = { 0, 0 }, n_tables = 0;
    for (int32_t b = 0; b < n_views; b++) {
        const ipg_view_t * v = &views[b];
        int32_t k = 0;
        while (k < n_tables && !(table_w[k] == v->w && table_h[k] == v->h)) k++;
        if (k == n_tables) {
            if (n_tables == 2) {
                ipg_format_error(p->err, p->err_size, "internal: the views of a frame have more than two sizes");
                return IPG_ERR_INVALID_ARG;
            }
            ipg_status_t st = letterbox_taps(p, v, &idx[k], &lambda1[k]);
            if (st != IPG_OK) return st;
            table_w[k] = v->w;
            table_h[k] = v->h;
            n_tables++;
        }
        ipg_step_t * s = ipg_plan_step(p, planar ? "ipg_letterbox_yuv420" : "ipg_letterbox_rgb8");
        if (!s) return IPG_ERR_OPENCL;
        ipg_step_mem(s, frame_buf);
        if (planar) {
            ipg_step_int(s, lb->frame_w);
            ipg_step_int(s, lb->frame_h);
            ipg_step_int(s, lb->format == IPG_PIXEL_NV12);
            ipg_step_mem(s, cbuf);
        } else {
            const int32_t bpp = ipg_pixel_format_bpp(lb->format);
            int32_t r_off, g_off, b_off;
            channel_offsets(lb->format, &r_off, &g_off, &b_off);
            ipg_step_int(s, lb->frame_w * bpp);
            ipg_step_int(s, bpp);
            ipg_step_int(s, r_off);
            ipg_step_int(s, g_off);
            ipg_step_int(s, b_off);
        }
        ipg_step_int(s, v->x0);
        ipg_step_int(s, v->y0);
        ipg_step_int(s, v->new_w);
        ipg_step_int(s, v->new_h);
        ipg_step_mem(s, idx[k]);
        ipg_step_mem(s, lambda1[k]);
        for (int i = 0; i < 3; i++) ipg_step_float(s, cfg->mean[i]);
        for (int i = 0; i < 3; i++) ipg_step_float(s, cfg->std[i]);
        ipg_step_mem(s, images);
        ipg_step_int(s, in_w);
        ipg_step_int(s, in_h);
        ipg_step_int(s, first_image + b);
        if (planar) {
            ipg_step_range(s, 2, (size_t[]){ (size_t) in_w, (size_t) in_h }, NULL);
        } else {
            // preprocess.cl: 16 pixels of a row per work-item; 8 a group on
            // CPU drivers (measured faster under PoCL than 1 a group and than
            // the driver's choice: tools/bench-small).
            ipg_step_range_prefer(s, 2, (size_t[]){ ((size_t) in_w + 15) / 16, (size_t) in_h },
                                  p->cl->is_cpu ? (size_t[]){ 8, 1 } : NULL);
        }
        ipg_step_image(s, first_image + b);
    }
    return IPG_OK;
}
