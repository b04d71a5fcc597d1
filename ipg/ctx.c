// SPDX-License-Identifier: LGPL-2.1-or-later
// ctx.c: the public context API. init = device + program + weights;
// prepare = letterbox geometry + the plan (every buffer, every kernel
// argument); run = upload the frame, enqueue the plan, collect detections.
// Nothing is allocated or compiled in run.
#include "ipg-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ipg_ctx {
    const ipg_model_t * model;
    ipg_ctx_params_t    params;
    char                device_arg[128];
    ipg_cl_t            cl;
    ipg_weights_dev_t   wd;

    bool                prepared;
    int32_t             frame_w, frame_h;
    ipg_yuv_matrix_t    matrix;
    int32_t             full_range;
    int32_t             frame_w_pending, frame_h_pending;   // while preparing
    ipg_pixel_format_t  format;
    int32_t             in_w, in_h;       // network input
    int32_t             new_w, new_h;     // the frame's size after scaling
    double              scale;            // s = min(in_w / frame_w, in_h / frame_h)
    cl_mem              frame_buf;        // packed frame, rows of frame_w * bpp bytes
    ipg_plan_t          plan;
    ipg_graph_t         graph;
    ipg_retina_post_t   post;             // one-stage
    ipg_rcnn_post_t     rcnn;             // two-stage
    int32_t             first_net_step;   // steps before it are preprocessing

    cl_event *          events;           // one per step when profiling
    ipg_stage_fn        stage_fn;
    void *              stage_ud;
    float *             stage_host;
    size_t              stage_host_size;
    char                err[IPG_ERR_LEN];
};

static bool two_stage(const ipg_ctx_t * ctx) { return ctx->model->cfg.arch == IPG_ARCH_FASTERRCNN; }

ipg_ctx_params_t ipg_ctx_params_default(void) {
    ipg_ctx_params_t p = { .device = NULL, .input_width = 0, .input_height = 0,
                           .score_threshold = -1.0f, .nms_threshold = -1.0f, .max_detections = 0 };
    return p;
}

// Defaults for thresholds left negative or zero (ipg_ctx_params_t).
static void resolve_thresholds(const ipg_config_t * cfg, ipg_ctx_params_t * p) {
    if (p->score_threshold < 0.0f) p->score_threshold = cfg->score_thresh;
    if (p->nms_threshold < 0.0f) p->nms_threshold = cfg->nms_thresh;
    if (p->max_detections <= 0 || p->max_detections > cfg->detections_per_img)
        p->max_detections = cfg->detections_per_img;
}

// Candidates above the reporting threshold only: NMS and top-k keep the
// same survivors above it (lower boxes never suppress higher ones), so
// filtering early changes nothing but the work. score >= T <=> score > prev(T).
static float candidate_threshold(const ipg_config_t * cfg, float score_threshold) {
    float cand = cfg->score_thresh;
    if (score_threshold > cand) cand = nextafterf(score_threshold, 0.0f);
    return cand;
}

ipg_status_t ipg_ctx_init(const ipg_model_t * model, const ipg_ctx_params_t * params, ipg_ctx_t ** out, char * err,
                          size_t err_size) {
    if (!out || !model) {
        ipg_format_error(err, err_size, "ipg_ctx_init: NULL argument");
        return IPG_ERR_INVALID_ARG;
    }
    *out = NULL;
    ipg_ctx_params_t p = params ? *params : ipg_ctx_params_default();
    const ipg_config_t * cfg = &model->cfg;
    if ((p.input_width != 0 || p.input_height != 0) &&
        ipg_check_input_size(p.input_width, p.input_height, err, err_size) != IPG_OK) {
        return IPG_ERR_INVALID_ARG;
    }
    if (p.score_threshold > 1.0f || p.nms_threshold > 1.0f || isnan(p.score_threshold) || isnan(p.nms_threshold)) {
        ipg_format_error(err, err_size, "thresholds must lie in [0, 1]");
        return IPG_ERR_INVALID_ARG;
    }
    ipg_ctx_t * ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        ipg_format_error(err, err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    ctx->model = model;
    if (p.device) {
        snprintf(ctx->device_arg, sizeof ctx->device_arg, "%s", p.device);
        p.device = ctx->device_arg;
    }
    if (p.input_width == 0) { p.input_width = cfg->input_width; p.input_height = cfg->input_height; }
    resolve_thresholds(cfg, &p);
    ctx->params = p;
    ctx->in_w = p.input_width;
    ctx->in_h = p.input_height;

    ipg_status_t st = ipg_cl_init(&ctx->cl, p.device, p.profile != 0, err, err_size);
    if (st == IPG_OK) st = ipg_weights_upload(&ctx->cl, model, &ctx->wd, err, err_size);
    if (st != IPG_OK) {
        ipg_ctx_free(ctx);
        return st;
    }
    ctx->plan.cl = &ctx->cl;
    ctx->plan.err = ctx->err;
    ctx->plan.err_size = sizeof ctx->err;
    *out = ctx;
    return IPG_OK;
}

static void release_events(ipg_ctx_t * ctx) {
    if (!ctx->events) return;
    for (int32_t i = 0; i < ctx->plan.n_steps; i++)
        if (ctx->events[i]) { clReleaseEvent(ctx->events[i]); ctx->events[i] = NULL; }
}

static void unprepare(ipg_ctx_t * ctx) {
    release_events(ctx);
    free(ctx->events);
    ctx->events = NULL;
    ipg_plan_free(&ctx->plan);
    ipg_retina_post_free(&ctx->post);
    ipg_rcnn_post_free(&ctx->rcnn);
    if (ctx->frame_buf) clReleaseMemObject(ctx->frame_buf);
    ctx->frame_buf = NULL;
    memset(&ctx->graph, 0, sizeof ctx->graph);
    ctx->prepared = false;
}

void ipg_ctx_free(ipg_ctx_t * ctx) {
    if (!ctx) return;
    if (ctx->cl.queue) clFinish(ctx->cl.queue);
    unprepare(ctx);
    ipg_weights_free(&ctx->wd, ctx->model->n_convs);
    ipg_cl_free(&ctx->cl);
    free(ctx->stage_host);
    free(ctx);
}

// Byte offsets of R, G, B within a packed pixel.
static void channel_offsets(ipg_pixel_format_t f, int32_t * r, int32_t * g, int32_t * b) {
    switch (f) {
        case IPG_PIXEL_RGB: case IPG_PIXEL_RGBX: case IPG_PIXEL_RGBA: *r = 0; *g = 1; *b = 2; break;
        case IPG_PIXEL_BGR: case IPG_PIXEL_BGRX: case IPG_PIXEL_BGRA: *r = 2; *g = 1; *b = 0; break;
        case IPG_PIXEL_XRGB: case IPG_PIXEL_ARGB:                     *r = 1; *g = 2; *b = 3; break;
        default: /* XBGR, ABGR */                                      *r = 3; *g = 2; *b = 1; break;
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

static ipg_status_t letterbox_taps(ipg_ctx_t * ctx, ipg_plan_t * p, cl_mem * idx, cl_mem * lambda1) {
    const int32_t nw = ctx->new_w, nh = ctx->new_h;
    int32_t * ih = malloc(2 * ((size_t) nw + nh) * sizeof(int32_t));
    float * lh = malloc(((size_t) nw + nh) * sizeof(float));
    if (!ih || !lh) {
        free(ih); free(lh);
        ipg_format_error(ctx->err, sizeof ctx->err, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    axis_taps(ctx->frame_w_pending, nw, ih, ih + nw, lh);
    axis_taps(ctx->frame_h_pending, nh, ih + 2 * nw, ih + 2 * nw + nh, lh + nw);
    *idx = ipg_plan_buffer(p, 2 * ((size_t) nw + nh) * sizeof(int32_t), ih);
    *lambda1 = *idx ? ipg_plan_buffer(p, ((size_t) nw + nh) * sizeof(float), lh) : NULL;
    free(ih);
    free(lh);
    return *idx && *lambda1 ? IPG_OK : IPG_ERR_NO_MEMORY;
}

// Y'CbCr -> R'G'B' on the 0..255 scale from the matrix's Kr, Kb:
// { y_offset, y_scale, c_scale, r_v, g_u, g_v, b_u }.
static void yuv_coefficients(ipg_yuv_matrix_t matrix, int32_t full_range, float coef[8]) {
    double kr = 0.299, kb = 0.114;                                  // BT.601
    if (matrix == IPG_YUV_BT709) { kr = 0.2126; kb = 0.0722; }
    if (matrix == IPG_YUV_BT2020) { kr = 0.2627; kb = 0.0593; }
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

static size_t frame_bytes(int32_t w, int32_t h, ipg_pixel_format_t format) {
    if (ipg_pixel_format_is_planar(format))
        return (size_t) w * h + 2 * (size_t) ((w + 1) / 2) * ((h + 1) / 2);
    return (size_t) w * h * ipg_pixel_format_bpp(format);
}

ipg_status_t ipg_ctx_prepare(ipg_ctx_t * ctx, int32_t frame_w, int32_t frame_h, ipg_pixel_format_t format) {
    return ipg_ctx_prepare_yuv(ctx, frame_w, frame_h, format, IPG_YUV_BT601, 0);
}

ipg_status_t ipg_ctx_prepare_yuv(ipg_ctx_t * ctx, int32_t frame_w, int32_t frame_h, ipg_pixel_format_t format,
                                 ipg_yuv_matrix_t matrix, int32_t full_range) {
    if (!ctx) return IPG_ERR_INVALID_ARG;
    const bool planar = ipg_pixel_format_is_planar(format) != 0;
    if (frame_w < 1 || frame_h < 1 || frame_w > 16384 || frame_h > 16384 ||
        (ipg_pixel_format_bpp(format) == 0 && !planar) || (int) matrix < 0 || matrix > IPG_YUV_BT2020) {
        ipg_format_error(ctx->err, sizeof ctx->err, "frame %dx%d format %d is not supported (1..16384 pixels a side)",
                         frame_w, frame_h, (int) format);
        return IPG_ERR_INVALID_ARG;
    }
    full_range = full_range ? 1 : 0;
    if (ctx->prepared && ctx->frame_w == frame_w && ctx->frame_h == frame_h && ctx->format == format &&
        (!planar || (ctx->matrix == matrix && ctx->full_range == full_range)))
        return IPG_OK;
    unprepare(ctx);
    ctx->err[0] = '\0';
    const ipg_config_t * cfg = &ctx->model->cfg;
    const int32_t bpp = ipg_pixel_format_bpp(format);

    // Letterbox geometry (IPGNET.md): s = min(W / w, H / h), size rounded.
    ctx->scale = fmin((double) ctx->in_w / frame_w, (double) ctx->in_h / frame_h);
    ctx->new_w = (int32_t) floor(frame_w * ctx->scale + 0.5);
    ctx->new_h = (int32_t) floor(frame_h * ctx->scale + 0.5);
    if (ctx->new_w < 1) ctx->new_w = 1;
    if (ctx->new_h < 1) ctx->new_h = 1;
    if (ctx->new_w > ctx->in_w) ctx->new_w = ctx->in_w;
    if (ctx->new_h > ctx->in_h) ctx->new_h = ctx->in_h;

    ctx->frame_w_pending = frame_w;
    ctx->frame_h_pending = frame_h;
    ipg_plan_t * p = &ctx->plan;
    ipg_graph_t * g = &ctx->graph;
    g->model = ctx->model;
    g->wd = &ctx->wd;
    ipg_status_t st = IPG_ERR_NO_MEMORY;
    ctx->frame_buf = ipg_cl_buffer(&ctx->cl, CL_MEM_READ_ONLY, frame_bytes(frame_w, frame_h, format), NULL, ctx->err,
                                   sizeof ctx->err);
    if (!ctx->frame_buf) goto fail;
    st = ipg_plan_tensor(p, &g->input, 3, ctx->in_h, ctx->in_w);
    if (st != IPG_OK) goto fail;

    p->group = "preprocess";
    cl_mem idx = NULL, lambda1 = NULL;
    st = letterbox_taps(ctx, p, &idx, &lambda1);
    if (st != IPG_OK) goto fail;
    ipg_step_t * s = ipg_plan_step(p, planar ? "ipg_letterbox_yuv420" : "ipg_letterbox_rgb8");
    if (!s) { st = IPG_ERR_OPENCL; goto fail; }
    ipg_step_mem(s, ctx->frame_buf);
    if (planar) {
        float coef[8];
        yuv_coefficients(matrix, full_range, coef);
        cl_mem cbuf = ipg_plan_buffer(p, sizeof coef, coef);
        if (!cbuf) { st = IPG_ERR_NO_MEMORY; goto fail; }
        ipg_step_int(s, frame_w); ipg_step_int(s, frame_h);
        ipg_step_int(s, format == IPG_PIXEL_NV12);
        ipg_step_mem(s, cbuf);
    } else {
        int32_t r_off, g_off, b_off;
        channel_offsets(format, &r_off, &g_off, &b_off);
        ipg_step_int(s, frame_w * bpp); ipg_step_int(s, bpp);
        ipg_step_int(s, r_off); ipg_step_int(s, g_off); ipg_step_int(s, b_off);
    }
    ipg_step_int(s, ctx->new_w); ipg_step_int(s, ctx->new_h);
    ipg_step_mem(s, idx);
    ipg_step_mem(s, lambda1);
    for (int i = 0; i < 3; i++) ipg_step_float(s, cfg->mean[i]);
    for (int i = 0; i < 3; i++) ipg_step_float(s, cfg->std[i]);
    ipg_step_mem(s, g->input.buf);
    ipg_step_int(s, ctx->in_w); ipg_step_int(s, ctx->in_h);
    ipg_step_range(s, 2, (size_t[]) { (size_t) ctx->in_w, (size_t) ctx->in_h }, NULL);
    ctx->first_net_step = p->n_steps;

    // IPG_CONV=pack: every convolution through im2col + the packed GEMM (the
    // plain path, for comparisons and for drivers where the direct 3x3
    // kernel misbehaves).
    const char * conv_env = getenv("IPG_CONV");
    p->pack_all_convs = conv_env && strcmp(conv_env, "pack") == 0;
    st = ipg_network_plan(p, g);
    if (st != IPG_OK) goto fail;
    const float cand = candidate_threshold(cfg, ctx->params.score_threshold);
    st = two_stage(ctx) ? ipg_rcnn_post_plan(p, g, cand, &ctx->rcnn) : ipg_retina_post_plan(p, g, cand, &ctx->post);
    if (st != IPG_OK) goto fail;
    st = ipg_plan_finalize(p);
    if (st != IPG_OK) goto fail;
    if (ctx->params.profile) {
        ctx->events = calloc((size_t) p->n_steps, sizeof *ctx->events);
        if (!ctx->events) { st = IPG_ERR_NO_MEMORY; goto fail; }
    }

    ctx->frame_w = frame_w;
    ctx->frame_h = frame_h;
    ctx->format = format;
    ctx->matrix = matrix;
    ctx->full_range = full_range;
    ctx->prepared = true;
    ipg_log(IPG_LOG_DEBUG, "prepared %dx%d -> %dx%d: %d steps, %d buffers, scratch %zu bytes", frame_w, frame_h,
            ctx->in_w, ctx->in_h, p->n_steps, p->n_buffers, p->scratch_bytes);
    return IPG_OK;
fail:
    unprepare(ctx);
    return st;
}

static ipg_status_t dump_stage(ipg_ctx_t * ctx, const ipg_stage_t * stage) {
    const ipg_tensor_t * t = &stage->t;
    const size_t n = (size_t) t->c * t->h * t->w;
    if (n > ctx->stage_host_size) {
        float * h = realloc(ctx->stage_host, n * sizeof(float));   // debugging path only
        if (!h) {
            ipg_format_error(ctx->err, sizeof ctx->err, "out of memory reading stage %s", stage->name);
            return IPG_ERR_NO_MEMORY;
        }
        ctx->stage_host = h;
        ctx->stage_host_size = n;
    }
    cl_int count = 0;
    cl_int rc = clEnqueueReadBuffer(ctx->cl.queue, t->buf, CL_TRUE, 0, n * sizeof(float), ctx->stage_host, 0, NULL,
                                    NULL);
    if (rc == CL_SUCCESS && stage->count)
        rc = clEnqueueReadBuffer(ctx->cl.queue, stage->count, CL_TRUE, 0, sizeof count, &count, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        ipg_format_error(ctx->err, sizeof ctx->err, "reading stage %s failed: %s", stage->name, ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    int32_t h = t->h, w = t->w;
    if (stage->count && stage->count_axis == 1) {
        h = count < 0 ? 0 : (count < t->h ? count : t->h);   // the first rows of each channel
        for (int32_t c = 1; c < t->c; c++)
            memmove(ctx->stage_host + (size_t) c * h * w, ctx->stage_host + (size_t) c * t->h * w,
                    (size_t) h * w * sizeof(float));
    } else if (stage->count) {
        w = count < 0 ? 0 : (count < t->w ? count : t->w);   // the first columns of each row
        for (int32_t row = 1; row < t->c * t->h; row++)
            memmove(ctx->stage_host + (size_t) row * w, ctx->stage_host + (size_t) row * t->w, (size_t) w * sizeof(float));
    }
    ctx->stage_fn(stage->name, ctx->stage_host, t->c, h, w, ctx->stage_ud);
    return IPG_OK;
}

static ipg_status_t enqueue_from(ipg_ctx_t * ctx, int32_t first) {
    ipg_plan_t * p = &ctx->plan;
    ipg_status_t st = two_stage(ctx) ? ipg_rcnn_post_reset(&ctx->cl, &ctx->rcnn, ctx->err, sizeof ctx->err)
                                     : ipg_retina_post_reset(&ctx->cl, &ctx->post, ctx->err, sizeof ctx->err);
    if (st != IPG_OK) return st;
    release_events(ctx);
    int32_t next_stage = 0;
    while (next_stage < p->n_stages && p->stages[next_stage].after_step < first - 1) next_stage++;
    for (int32_t i = first; i < p->n_steps; i++) {
        const ipg_step_t * s = &p->steps[i];
        cl_int rc = clEnqueueNDRangeKernel(ctx->cl.queue, s->kernel, s->dims, NULL, s->gws, s->has_lws ? s->lws : NULL,
                                           0, NULL, ctx->events ? &ctx->events[i] : NULL);
        if (rc != CL_SUCCESS) {
            ipg_format_error(ctx->err, sizeof ctx->err, "launching %s failed: %s", s->kernel_name,
                             ipg_cl_error_name(rc));
            clFinish(ctx->cl.queue);
            return IPG_ERR_OPENCL;
        }
        // Stage dumps for the steps that just ran ("input" hangs on the
        // preprocessing step, index first - 1 when it is skipped).
        for (; ctx->stage_fn && next_stage < p->n_stages && p->stages[next_stage].after_step <= i; next_stage++) {
            st = dump_stage(ctx, &p->stages[next_stage]);
            if (st != IPG_OK) return st;
        }
    }
    return IPG_OK;
}

static ipg_status_t finish_run(ipg_ctx_t * ctx, double scale, int32_t clip_w, int32_t clip_h, ipg_detection_t * dets,
                               int32_t max_dets, int32_t * n_dets) {
    ipg_candidate_t * kept = NULL;
    int32_t n = 0;
    ipg_status_t st = two_stage(ctx)
        ? ipg_rcnn_post_collect(&ctx->cl, &ctx->rcnn, ctx->params.nms_threshold, ctx->params.max_detections, &kept,
                                &n, ctx->err, sizeof ctx->err)
        : ipg_retina_post_collect(&ctx->cl, &ctx->post, ctx->params.nms_threshold, ctx->params.max_detections, &kept,
                                  &n, ctx->err, sizeof ctx->err);
    if (st != IPG_OK) return st;
    int32_t out = 0;
    for (int32_t i = 0; i < n && out < max_dets; i++) {
        if (kept[i].score < ctx->params.score_threshold) continue;
        ipg_detection_t * d = &dets[out++];
        d->x1 = fminf(fmaxf((float) (kept[i].box[0] / scale), 0.0f), (float) clip_w);
        d->y1 = fminf(fmaxf((float) (kept[i].box[1] / scale), 0.0f), (float) clip_h);
        d->x2 = fminf(fmaxf((float) (kept[i].box[2] / scale), 0.0f), (float) clip_w);
        d->y2 = fminf(fmaxf((float) (kept[i].box[3] / scale), 0.0f), (float) clip_h);
        d->score = kept[i].score;
        d->label = kept[i].label;
    }
    *n_dets = out;
    return IPG_OK;
}

// Copies one plane (rows x row bytes, host rows `stride` apart) to `offset`
// of the frame buffer, packed. Rows are packed on the way in, so kernels see
// one layout whatever the stride.
static ipg_status_t upload_plane(ipg_ctx_t * ctx, const uint8_t * data, int32_t stride, int32_t row, int32_t rows,
                                 size_t offset, const char * what) {
    if (!data || stride < row) {
        ipg_format_error(ctx->err, sizeof ctx->err, "frame %s: %s (stride %d, a row is %d bytes)", what,
                         data ? "stride smaller than a row" : "no data", stride, row);
        return IPG_ERR_INVALID_ARG;
    }
    const size_t buffer_origin[3] = { offset, 0, 0 }, host_origin[3] = { 0, 0, 0 };
    const size_t region[3] = { (size_t) row, (size_t) rows, 1 };
    cl_int rc = clEnqueueWriteBufferRect(ctx->cl.queue, ctx->frame_buf, CL_TRUE, buffer_origin, host_origin, region,
                                         (size_t) row, 0, (size_t) stride, 0, data, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        ipg_format_error(ctx->err, sizeof ctx->err, "uploading the frame's %s failed: %s", what,
                         ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    return IPG_OK;
}

static ipg_status_t upload_frame(ipg_ctx_t * ctx, const ipg_frame_t * frame) {
    const int32_t w = ctx->frame_w, h = ctx->frame_h;
    if (!ipg_pixel_format_is_planar(ctx->format))
        return upload_plane(ctx, frame->data, frame->stride, w * ipg_pixel_format_bpp(ctx->format), h, 0, "pixels");
    const int32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
    ipg_status_t st = upload_plane(ctx, frame->planes[0], frame->strides[0], w, h, 0, "Y plane");
    if (st != IPG_OK) return st;
    if (ctx->format == IPG_PIXEL_NV12)
        return upload_plane(ctx, frame->planes[1], frame->strides[1], 2 * cw, ch, (size_t) w * h, "UV plane");
    st = upload_plane(ctx, frame->planes[1], frame->strides[1], cw, ch, (size_t) w * h, "U plane");
    if (st != IPG_OK) return st;
    return upload_plane(ctx, frame->planes[2], frame->strides[2], cw, ch, (size_t) w * h + (size_t) cw * ch, "V plane");
}

ipg_status_t ipg_ctx_run(ipg_ctx_t * ctx, const ipg_frame_t * frame, ipg_detection_t * dets, int32_t max_dets,
                         int32_t * n_dets) {
    if (!ctx || !frame || !n_dets || (max_dets > 0 && !dets) || max_dets < 0) {
        if (ctx) ipg_format_error(ctx->err, sizeof ctx->err, "ipg_ctx_run: NULL or invalid argument");
        return IPG_ERR_INVALID_ARG;
    }
    *n_dets = 0;
    if (!ctx->prepared) {
        ipg_format_error(ctx->err, sizeof ctx->err, "ipg_ctx_run called before ipg_ctx_prepare");
        return IPG_ERR_STATE;
    }
    ipg_status_t st = upload_frame(ctx, frame);
    if (st != IPG_OK) return st;
    st = enqueue_from(ctx, 0);
    if (st != IPG_OK) return st;
    return finish_run(ctx, ctx->scale, ctx->frame_w, ctx->frame_h, dets, max_dets, n_dets);
}

ipg_status_t ipg_ctx_run_tensor(ipg_ctx_t * ctx, const float * input, ipg_detection_t * dets, int32_t max_dets,
                                int32_t * n_dets) {
    if (!ctx || !input || !n_dets || (max_dets > 0 && !dets) || max_dets < 0) return IPG_ERR_INVALID_ARG;
    *n_dets = 0;
    if (!ctx->prepared) {
        ipg_status_t st = ipg_ctx_prepare(ctx, ctx->in_w, ctx->in_h, IPG_PIXEL_RGB);
        if (st != IPG_OK) return st;
    }
    const size_t bytes = (size_t) 3 * ctx->in_w * ctx->in_h * sizeof(float);
    cl_int rc = clEnqueueWriteBuffer(ctx->cl.queue, ctx->graph.input.buf, CL_TRUE, 0, bytes, input, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        ipg_format_error(ctx->err, sizeof ctx->err, "uploading the input tensor failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    ipg_status_t st = enqueue_from(ctx, ctx->first_net_step);
    if (st != IPG_OK) return st;
    return finish_run(ctx, 1.0, ctx->in_w, ctx->in_h, dets, max_dets, n_dets);
}

ipg_status_t ipg_ctx_set_thresholds(ipg_ctx_t * ctx, float score_threshold, float nms_threshold,
                                    int32_t max_detections) {
    if (!ctx) return IPG_ERR_INVALID_ARG;
    if (score_threshold > 1.0f || nms_threshold > 1.0f || isnan(score_threshold) || isnan(nms_threshold)) {
        ipg_format_error(ctx->err, sizeof ctx->err, "thresholds must lie in [0, 1]");
        return IPG_ERR_INVALID_ARG;
    }
    ipg_ctx_params_t p = ctx->params;
    p.score_threshold = score_threshold;
    p.nms_threshold = nms_threshold;
    p.max_detections = max_detections;
    resolve_thresholds(&ctx->model->cfg, &p);
    if (ctx->prepared) {
        // The candidate kernels' threshold argument is the only device state.
        const cl_float cand = candidate_threshold(&ctx->model->cfg, p.score_threshold);
        for (int32_t i = 0; i < ctx->plan.n_steps; i++) {
            ipg_step_t * s = &ctx->plan.steps[i];
            int32_t arg = -1;
            if (strcmp(s->kernel_name, "ipg_retina_candidates") == 0) arg = IPG_CANDIDATES_THRESH_ARG;
            if (strcmp(s->kernel_name, "ipg_rcnn_candidates") == 0) arg = IPG_RCNN_THRESH_ARG;
            if (arg < 0) continue;
            s->args[arg].f = cand;
            cl_int rc = clSetKernelArg(s->kernel, arg, sizeof cand, &cand);
            if (rc != CL_SUCCESS) {
                ipg_format_error(ctx->err, sizeof ctx->err, "updating the score threshold failed: %s",
                                 ipg_cl_error_name(rc));
                return IPG_ERR_OPENCL;
            }
        }
    }
    ctx->params = p;
    return IPG_OK;
}

double ipg_ctx_gflop(const ipg_ctx_t * ctx) {
    double f = 0;
    if (ctx && ctx->prepared)
        for (int32_t i = 0; i < ctx->plan.n_steps; i++) f += ctx->plan.steps[i].flop;
    return f * 1e-9;
}

void ipg_ctx_profile_report(const ipg_ctx_t * ctx, char * buf, size_t size) {
    if (!buf || size == 0) return;
    buf[0] = '\0';
    if (!ctx || !ctx->events) {
        snprintf(buf, size, "profiling is off (set ipg_ctx_params_t.profile)\n");
        return;
    }
    // Groups in order of first appearance.
    const char * groups[32];
    double ms[32] = { 0 }, flop[32] = { 0 };
    int32_t n_groups = 0;
    double total_ms = 0, total_flop = 0;
    const char * env = getenv("IPG_PROFILE_KERNELS");
    const bool by_kernel = env && *env && strcmp(env, "0") != 0;
    for (int32_t i = 0; i < ctx->plan.n_steps; i++) {
        const ipg_step_t * s = &ctx->plan.steps[i];
        cl_ulong t0 = 0, t1 = 0;
        if (!ctx->events[i] ||
            clGetEventProfilingInfo(ctx->events[i], CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) != CL_SUCCESS ||
            clGetEventProfilingInfo(ctx->events[i], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) != CL_SUCCESS)
            continue;
        // IPG_PROFILE_KERNELS=1 groups by kernel instead, to see pack vs GEMM.
        const char * gname = by_kernel ? s->kernel_name : (s->group ? s->group : "other");
        int32_t g = 0;
        while (g < n_groups && strcmp(groups[g], gname) != 0) g++;
        if (g == n_groups) {
            if (n_groups == 32) continue;
            groups[n_groups++] = gname;
        }
        ms[g] += (double) (t1 - t0) * 1e-6;
        flop[g] += s->flop;
        total_ms += (double) (t1 - t0) * 1e-6;
        total_flop += s->flop;
    }
    size_t len = 0;
    for (int32_t g = 0; g < n_groups && len < size; g++)
        len += (size_t) snprintf(buf + len, size - len, "%-12s %9.3f ms %8.2f GFLOP/s\n", groups[g], ms[g],
                                 ms[g] > 0 ? flop[g] / (ms[g] * 1e6) : 0.0);
    if (len < size)
        snprintf(buf + len, size - len, "%-12s %9.3f ms %8.2f GFLOP/s\n", "total", total_ms,
                 total_ms > 0 ? total_flop / (total_ms * 1e6) : 0.0);
}

uint64_t ipg_ctx_cl_objects_created(const ipg_ctx_t * ctx) { return ctx ? ctx->cl.objects_created : 0; }

const char * ipg_ctx_last_error(const ipg_ctx_t * ctx) { return ctx ? ctx->err : "no context"; }

const char * ipg_ctx_device_name(const ipg_ctx_t * ctx) { return ctx ? ctx->cl.device_name : ""; }

void ipg_ctx_set_stage_callback(ipg_ctx_t * ctx, ipg_stage_fn fn, void * user_data) {
    if (!ctx) return;
    ctx->stage_fn = fn;
    ctx->stage_ud = user_data;
}
