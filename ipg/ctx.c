// SPDX-License-Identifier: LGPL-2.1-or-later
// ctx.c: the public context API. init = a private engine (device, program,
// weights: engine.c) or a borrowed one, and the context's own queue;
// prepare = the images of a frame (the whole frame, or its tiles and the
// full-frame pass: tiling.c) + the plan (preprocess.c, network.c, the
// detector's post-processing: every buffer, every kernel argument); run =
// upload the frame, enqueue the plan, collect detections (tiled: map each
// image's to frame pixels and merge them). Nothing is allocated or compiled
// in run.
#include "cl-runtime.h"
#include "detector.h"
#include "kernel-path.h"
#include "engine.h"
#include "log.h"
#include "network.h"
#include "plan.h"
#include "preprocess.h"
#include "tiling.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ipg_ctx {
    const ipg_model_t * model;
    ipg_ctx_params_t params;
    char device_arg[128];
    char * classes;          // the caller's params.classes, copied
    bool * keep_label;       // per label: reported? NULL = all
    ipg_engine_t * engine;   // device, program and weights, shared (engine.h)
    ipg_cl_t cl;             // the engine's, borrowed, with this context's own queue
    int32_t frames;          // frames per run (params.batch_frames; 1 when tiled)

    bool prepared;
    ipg_letterbox_t lb;    // the prepared frame size and format
    int32_t in_w, in_h;    // network input
    cl_mem * frame_bufs;   // one packed frame (preprocess.h) per frame of a run
    bool * frame_mapped;   // ... each filled through a map (zero-copy; ipg_frame_buffer)
    ipg_view_t * views;    // the images of a run: each frame whole, or one frame's full-frame pass and tiles
    int32_t n_views;
    cl_mem images;             // tiled: the letterboxed images [n_views][3][H][W]; else the net input
    ipg_detection_t * pool;    // tiled: every image's detections in frame pixels, image order
    int32_t * merge_scratch;   // tiled: ipg_tile_merge's 2 ints per pooled detection
    int32_t pool_cap;          // n_views * the model's per-image cap
    ipg_plan_t plan;
    ipg_net_tensors_t net;
    const ipg_detector_i * det;   // the model's detector
    void ** det_states;           // its post-processing state per image of the batch, made at prepare
    int32_t batch;                // images per pass of the plan (plan.h): n_views, or 1 (detector.h)
    int32_t first_net_step;       // steps before it are preprocessing
    uint64_t prepared_bytes;      // device memory of this preparation

    cl_event * events;   // one per step when profiling
    ipg_stage_fn stage_fn;
    void * stage_ud;
    float * stage_host;
    size_t stage_host_size;
    char err[IPG_ERR_LEN];
};

ipg_ctx_params_t ipg_ctx_params_default(void) {
    ipg_ctx_params_t p = { .device = NULL,
                           .device_path = NULL,
                           .input_width = 0,
                           .input_height = 0,
                           .score_threshold = -1.0f,
                           .nms_threshold = -1.0f,
                           .max_detections = 0,
                           .classes = NULL,
                           .tiling = ipg_tiling_default(),
                           .batch_frames = 1 };
    return p;
}

static bool tiling_on(const ipg_tiling_t * t) { return t->tile_width > 0; }

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

// The model's labels as "a, b, c" for a message.
static void list_labels(const ipg_model_t * model, char * buf, size_t size) {
    size_t len = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < ipg_model_num_labels(model) && len < size; i++)
        len += (size_t) snprintf(buf + len, size - len, "%s%s", i ? "," : "", ipg_model_label(model, i));
}

// params.classes (" person, car") -> one flag per label in ctx->keep_label.
// Names are trimmed of blanks and empty names skipped; NULL, "" or only
// commas and blanks report every class.
static ipg_status_t parse_classes(ipg_ctx_t * ctx, const char * classes, char * err, size_t err_size) {
    if (!classes || classes[strspn(classes, " \t,")] == '\0') return IPG_OK;
    const int32_t n = ipg_model_num_labels(ctx->model);
    ctx->classes = strdup(classes);
    ctx->keep_label = calloc((size_t) n, sizeof *ctx->keep_label);
    if (!ctx->classes || !ctx->keep_label) {
        ipg_format_error(err, err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    for (const char * at = classes;; at++) {
        const char * end = strchr(at, ',');
        size_t len = end ? (size_t) (end - at) : strlen(at);
        while (len > 0 && (*at == ' ' || *at == '\t')) at++, len--;
        while (len > 0 && (at[len - 1] == ' ' || at[len - 1] == '\t')) len--;
        int32_t i = 0;
        while (
            len > 0 && i < n &&
            !(strlen(ipg_model_label(ctx->model, i)) == len && strncmp(ipg_model_label(ctx->model, i), at, len) == 0))
            i++;
        if (len > 0 && i == n) {
            char labels[IPG_ERR_LEN / 2];
            list_labels(ctx->model, labels, sizeof labels);
            ipg_format_error(err, err_size, "unknown class \"%.*s\": the model's labels are %s", (int) len, at, labels);
            return IPG_ERR_INVALID_ARG;
        }
        if (len > 0) ctx->keep_label[i] = true;
        if (!end) break;
        at = end;
    }
    return IPG_OK;
}

// A context without a device yet: the parameters checked and resolved, the
// class filter parsed. Nothing here needs OpenCL, so a bad parameter is
// refused before a device is touched.
static ipg_status_t ctx_create(const ipg_model_t * model, const ipg_ctx_params_t * params, ipg_ctx_t ** out, char * err,
                               size_t err_size) {
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
    if (ipg_tiling_check(&p.tiling, err, err_size) != IPG_OK) return IPG_ERR_INVALID_ARG;
    if (p.batch_frames == 0) p.batch_frames = 1;
    if (p.batch_frames < 1 || p.batch_frames > IPG_MAX_BATCH_FRAMES) {
        ipg_format_error(err, err_size, "batch_frames %d is out of range 1..%d", p.batch_frames, IPG_MAX_BATCH_FRAMES);
        return IPG_ERR_INVALID_ARG;
    }
    // A tiled frame is a batch of its own; frames of several streams each
    // tiled would need a batch of frames x tiles: not supported.
    if (p.batch_frames > 1 && tiling_on(&p.tiling)) {
        ipg_format_error(err, err_size,
                         "batch_frames %d and tiling (%dx%d tiles) cannot be combined: a tiled frame is already a "
                         "batch of its tiles; use batch_frames 1 with tiling",
                         p.batch_frames, p.tiling.tile_width, p.tiling.tile_height);
        return IPG_ERR_INVALID_ARG;
    }
    p.tiling.full_frame = p.tiling.full_frame ? 1 : 0;
    ipg_ctx_t * ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        ipg_format_error(err, err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    ctx->model = model;
    ctx->det = model->detector;
    if (p.device) {
        snprintf(ctx->device_arg, sizeof ctx->device_arg, "%s", p.device);
        p.device = ctx->device_arg;
    }
    ipg_status_t st = parse_classes(ctx, p.classes, err, err_size);
    if (st != IPG_OK) {
        ipg_ctx_free(ctx);
        return st;
    }
    p.classes = ctx->classes;
    if (p.input_width == 0) {
        p.input_width = cfg->input_width;
        p.input_height = cfg->input_height;
    }
    resolve_thresholds(cfg, &p);
    ctx->params = p;
    ctx->frames = p.batch_frames;
    ctx->in_w = p.input_width;
    ctx->in_h = p.input_height;
    *out = ctx;
    return IPG_OK;
}

// Gives the context the engine's device, program and weights, and a queue
// of its own.
static ipg_status_t ctx_attach(ipg_ctx_t * ctx, ipg_engine_t * engine, char * err, size_t err_size) {
    ctx->engine = ipg_engine_ref(engine);
    ipg_status_t st = ipg_engine_borrow_cl(engine, &ctx->cl, ctx->params.profile != 0, err, err_size);
    if (st != IPG_OK) return st;
    ctx->plan.cl = &ctx->cl;
    ctx->plan.err = ctx->err;
    ctx->plan.err_size = sizeof ctx->err;
    return IPG_OK;
}

ipg_status_t ipg_ctx_init(const ipg_model_t * model, const ipg_ctx_params_t * params, ipg_ctx_t ** out, char * err,
                          size_t err_size) {
    if (!out || !model) {
        ipg_format_error(err, err_size, "ipg_ctx_init: NULL argument");
        return IPG_ERR_INVALID_ARG;
    }
    *out = NULL;
    ipg_ctx_t * ctx = NULL;
    ipg_status_t st = ctx_create(model, params, &ctx, err, err_size);
    if (st != IPG_OK) return st;
    ipg_engine_t * engine = NULL;
    st = ipg_engine_create(model, ctx->params.device, ctx->params.device_path, &engine, err, err_size);
    if (st == IPG_OK) st = ctx_attach(ctx, engine, err, err_size);
    ipg_engine_unref(engine);   // the context holds it now
    if (st != IPG_OK) {
        ipg_ctx_free(ctx);
        return st;
    }
    *out = ctx;
    return IPG_OK;
}

ipg_status_t ipg_ctx_init_shared(ipg_engine_t * engine, const ipg_ctx_params_t * params, ipg_ctx_t ** out, char * err,
                                 size_t err_size) {
    if (!out || !engine) {
        ipg_format_error(err, err_size, "ipg_ctx_init_shared: NULL argument");
        return IPG_ERR_INVALID_ARG;
    }
    *out = NULL;
    ipg_ctx_params_t p = params ? *params : ipg_ctx_params_default();
    p.device = engine->device_arg;   // the engine's device, whatever params says
    ipg_ctx_t * ctx = NULL;
    ipg_status_t st = ctx_create(engine->model, &p, &ctx, err, err_size);
    if (st != IPG_OK) return st;
    st = ctx_attach(ctx, engine, err, err_size);
    if (st != IPG_OK) {
        ipg_ctx_free(ctx);
        return st;
    }
    *out = ctx;
    return IPG_OK;
}

// Releases the events of steps first.. (all: 0).
static void release_events(ipg_ctx_t * ctx, int32_t first) {
    if (!ctx->events) return;
    for (int32_t i = first; i < ctx->plan.n_steps; i++)
        if (ctx->events[i]) {
            clReleaseEvent(ctx->events[i]);
            ctx->events[i] = NULL;
        }
}

static void unprepare(ipg_ctx_t * ctx) {
    release_events(ctx, 0);
    free(ctx->events);
    ctx->events = NULL;
    ipg_plan_free(&ctx->plan);
    for (int32_t b = 0; ctx->det_states && b < ctx->batch; b++) ctx->det->free(ctx->det_states[b]);
    free(ctx->det_states);
    ctx->det_states = NULL;
    ctx->batch = 0;
    for (int32_t f = 0; ctx->frame_bufs && f < ctx->frames; f++)
        if (ctx->frame_bufs[f]) clReleaseMemObject(ctx->frame_bufs[f]);
    free(ctx->frame_bufs);
    ctx->frame_bufs = NULL;
    free(ctx->frame_mapped);
    ctx->frame_mapped = NULL;
    free(ctx->views);
    free(ctx->pool);
    free(ctx->merge_scratch);
    ctx->views = NULL;
    ctx->pool = NULL;
    ctx->merge_scratch = NULL;
    ctx->n_views = ctx->pool_cap = 0;
    ctx->images = NULL;
    memset(&ctx->net, 0, sizeof ctx->net);
    ctx->prepared = false;
}

void ipg_ctx_free(ipg_ctx_t * ctx) {
    if (!ctx) return;
    if (ctx->cl.queue) clFinish(ctx->cl.queue);
    unprepare(ctx);
    ipg_cl_free(&ctx->cl);   // the queue; the borrowed context and program released
    ipg_engine_unref(ctx->engine);
    free(ctx->stage_host);
    free(ctx->classes);
    free(ctx->keep_label);
    free(ctx);
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
    const ipg_letterbox_t * cur = &ctx->lb;
    if (ctx->prepared && cur->frame_w == frame_w && cur->frame_h == frame_h && cur->format == format &&
        (!planar || (cur->matrix == matrix && cur->full_range == full_range)))
        return IPG_OK;
    // The tile grid first: a frame needing too many tiles is refused before
    // anything of the current preparation is released.
    const ipg_tiling_t * tl = &ctx->params.tiling;
    const int32_t n_tiles =
        tiling_on(tl) ? ipg_tile_grid(frame_w, frame_h, tl->tile_width, tl->tile_height, tl->overlap, NULL, 0) : 0;
    if (n_tiles > tl->max_tiles) {
        ipg_format_error(ctx->err, sizeof ctx->err,
                         "a %dx%d frame needs %d tiles of %dx%d at overlap %g, more than max-tiles %d", frame_w,
                         frame_h, n_tiles, tl->tile_width, tl->tile_height, tl->overlap, tl->max_tiles);
        return IPG_ERR_INVALID_ARG;
    }
    unprepare(ctx);
    ctx->err[0] = '\0';
    const uint64_t bytes_before = ctx->cl.bytes_allocated;
    const ipg_config_t * cfg = &ctx->model->cfg;
    ipg_letterbox_t lb = {
        .frame_w = frame_w, .frame_h = frame_h, .format = format, .matrix = matrix, .full_range = full_range
    };

    ipg_plan_t * p = &ctx->plan;
    ipg_net_tensors_t * t = &ctx->net;
    t->model = ctx->model;
    t->wd = ipg_engine_weights(ctx->engine);
    ipg_status_t st = IPG_ERR_NO_MEMORY;
    // The images: the full frame (tile -1), then the tiles in grid order;
    // a batch of frames (untiled): each frame whole, in the caller's order.
    const int32_t full = !tiling_on(tl) || tl->full_frame;
    const int32_t per_frame = full + n_tiles;
    ctx->n_views = ctx->frames * per_frame;
    ctx->views = calloc((size_t) ctx->n_views, sizeof *ctx->views);
    ipg_tile_rect_t * rects = calloc((size_t) n_tiles + 1, sizeof *rects);
    if (tiling_on(tl)) {
        ctx->pool_cap = ctx->n_views * cfg->detections_per_img;
        ctx->pool = calloc((size_t) ctx->pool_cap, sizeof *ctx->pool);
        ctx->merge_scratch = calloc(2 * (size_t) ctx->pool_cap, sizeof *ctx->merge_scratch);
    }
    if (!ctx->views || !rects || (tiling_on(tl) && (!ctx->pool || !ctx->merge_scratch))) {
        free(rects);
        ipg_format_error(ctx->err, sizeof ctx->err, "out of memory for the %d images of a frame", ctx->n_views);
        goto fail;
    }
    if (full) ctx->views[0] = ipg_view_make(-1, 0, 0, frame_w, frame_h, ctx->in_w, ctx->in_h);
    if (n_tiles) ipg_tile_grid(frame_w, frame_h, tl->tile_width, tl->tile_height, tl->overlap, rects, n_tiles);
    for (int32_t i = 0; i < n_tiles; i++)
        ctx->views[full + i] = ipg_view_make(i, rects[i].x, rects[i].y, rects[i].w, rects[i].h, ctx->in_w, ctx->in_h);
    free(rects);
    for (int32_t f = 1; f < ctx->frames; f++)
        memcpy(ctx->views + f * per_frame, ctx->views, (size_t) per_frame * sizeof *ctx->views);

    // All images in one pass of the plan when the detector takes a batch;
    // else one image a pass.
    ctx->batch = ctx->det->batched ? ctx->n_views : 1;
    p->batch = ctx->batch;
    ctx->det_states = calloc((size_t) ctx->batch, sizeof *ctx->det_states);
    ctx->frame_bufs = calloc((size_t) ctx->frames, sizeof *ctx->frame_bufs);
    ctx->frame_mapped = calloc((size_t) ctx->frames, sizeof *ctx->frame_mapped);
    if (!ctx->det_states || !ctx->frame_bufs || !ctx->frame_mapped) {
        ipg_format_error(ctx->err, sizeof ctx->err, "out of memory");
        goto fail;
    }
    for (int32_t f = 0; f < ctx->frames; f++) {
        ctx->frame_bufs[f] = ipg_frame_buffer(&ctx->cl, ipg_frame_bytes(frame_w, frame_h, format),
                                              &ctx->frame_mapped[f], ctx->err, sizeof ctx->err);
        if (!ctx->frame_bufs[f]) goto fail;
    }
    // Tensors whose lifetimes do not overlap share buffers (plan-memory.c);
    // IPG_SHARE_TENSORS=0 gives each its own (comparisons, tests). The input
    // is written by the host: it keeps its own.
    const char * share_env = getenv("IPG_SHARE_TENSORS");
    p->share_tensors = !(share_env && strcmp(share_env, "0") == 0);
    st = ipg_plan_tensor(p, &t->input, 3, ctx->in_h, ctx->in_w);
    if (st != IPG_OK) goto fail;
    ipg_plan_pin(p, t->input.buf);
    ctx->images = t->input.buf;
    if (ctx->batch < ctx->n_views) {
        // Every image letterboxed from the one uploaded frame; each then
        // goes through the network in turn.
        ctx->images = ipg_plan_buffer(p, (size_t) ctx->n_views * 3 * ctx->in_w * ctx->in_h * sizeof(float), NULL);
        if (!ctx->images) {
            st = IPG_ERR_NO_MEMORY;
            goto fail;
        }
    }
    for (int32_t f = 0; f < ctx->frames && st == IPG_OK; f++)
        st = ipg_preprocess_plan(p, &lb, cfg, ctx->frame_bufs[f], ctx->views + f * per_frame, per_frame, ctx->images,
                                 f * per_frame, ctx->in_w, ctx->in_h);
    if (st != IPG_OK) goto fail;
    ctx->first_net_step = p->n_steps;

    // IPG_CONV=pack: every convolution through im2col + the packed GEMM (the
    // plain path, for comparisons and for drivers where the direct 3x3
    // kernel misbehaves).
    const char * conv_env = getenv("IPG_CONV");
    p->pack_all_convs = conv_env && strcmp(conv_env, "pack") == 0;
    // IPG_CONV=direct: the direct 3x3 kernel even where Winograd weights were
    // uploaded (comparisons; IPG_WINOGRAD=0 at load skips those weights).
    p->no_winograd = conv_env && strcmp(conv_env, "direct") == 0;
    st = ipg_network_plan(p, t);
    if (st != IPG_OK) goto fail;
    for (int32_t b = 0; b < ctx->batch && st == IPG_OK; b++)
        st = ctx->det->post_plan(p, t, b, candidate_threshold(cfg, ctx->params.score_threshold), &ctx->det_states[b]);
    if (st != IPG_OK) goto fail;
    st = ipg_plan_finalize(p);
    if (st != IPG_OK) goto fail;
    if (ctx->params.profile) {
        ctx->events = calloc((size_t) p->n_steps, sizeof *ctx->events);
        if (!ctx->events) {
            st = IPG_ERR_NO_MEMORY;
            goto fail;
        }
    }

    ctx->lb = lb;
    ctx->prepared = true;
    ctx->prepared_bytes = ctx->cl.bytes_allocated - bytes_before;
    ipg_log(IPG_LOG_DEBUG, "prepared %dx%d -> %d x %dx%d: %d steps, %d buffers, scratch %zu bytes", frame_w, frame_h,
            ctx->n_views, ctx->in_w, ctx->in_h, p->n_steps, p->n_buffers, p->scratch_bytes);
    return IPG_OK;
fail:
    unprepare(ctx);
    return st;
}

static ipg_status_t dump_stage(const ipg_stage_t * stage, void * user_data) {
    ipg_ctx_t * ctx = user_data;
    const ipg_tensor_t * t = &stage->t;
    const int32_t channels = ipg_plan_batch(&ctx->plan) * t->c;   // a batch [B][C] as B * C channels
    const size_t n = (size_t) channels * t->h * t->w;
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
    cl_int rc =
        clEnqueueReadBuffer(ctx->cl.queue, t->buf, CL_TRUE, 0, n * sizeof(float), ctx->stage_host, 0, NULL, NULL);
    if (rc == CL_SUCCESS && stage->count)
        rc = clEnqueueReadBuffer(ctx->cl.queue, stage->count, CL_TRUE, 0, sizeof count, &count, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        ipg_format_error(ctx->err, sizeof ctx->err, "reading stage %s failed: %s", stage->name, ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    int32_t h = t->h, w = t->w;
    if (stage->count && stage->count_axis == 1) {
        h = count < 0 ? 0 : (count < t->h ? count : t->h);   // the first rows of each channel
        for (int32_t c = 1; c < channels; c++)
            memmove(ctx->stage_host + (size_t) c * h * w, ctx->stage_host + (size_t) c * t->h * w,
                    (size_t) h * w * sizeof(float));
    } else if (stage->count) {
        w = count < 0 ? 0 : (count < t->w ? count : t->w);   // the first columns of each row
        for (int32_t row = 1; row < channels * t->h; row++)
            memmove(ctx->stage_host + (size_t) row * w, ctx->stage_host + (size_t) row * t->w,
                    (size_t) w * sizeof(float));
    }
    ctx->stage_fn(stage->name, ctx->stage_host, channels, h, w, ctx->stage_ud);
    return IPG_OK;
}

static ipg_status_t enqueue_from(ipg_ctx_t * ctx, int32_t first) {
    for (int32_t b = 0; b < ctx->batch; b++) {
        ipg_status_t st = ctx->det->reset(ctx->det_states[b], &ctx->cl, ctx->err, sizeof ctx->err);
        if (st != IPG_OK) return st;
    }
    release_events(ctx, first);
    return ipg_plan_enqueue(&ctx->plan, first, ctx->events, ctx->stage_fn ? dump_stage : NULL, ctx);
}

// Reads the detections of image `image` of the batch back and maps them to
// frame pixels: X = x / s + x0 in double, clipped to the view v (IPGNET.md;
// the tiling spec), with the view's provenance. Writes at most max_dets.
static ipg_status_t collect_view(ipg_ctx_t * ctx, int32_t image, const ipg_view_t * v, ipg_detection_t * dets,
                                 int32_t max_dets, int32_t * n_dets) {
    ipg_candidate_t * kept = NULL;
    int32_t n = 0;
    ipg_status_t st =
        ctx->det->collect(ctx->det_states[image], &ctx->cl, ctx->params.nms_threshold, ctx->params.max_detections,
                          ctx->keep_label, &kept, &n, ctx->err, sizeof ctx->err);
    if (st != IPG_OK) return st;
    const double lo[2] = { v->x0, v->y0 }, hi[2] = { v->x0 + v->w, v->y0 + v->h };
    int32_t out = 0;
    for (int32_t i = 0; i < n && out < max_dets; i++) {
        if (kept[i].score < ctx->params.score_threshold) continue;
        float xy[4];
        for (int k = 0; k < 4; k++)
            xy[k] = (float) fmin(fmax(kept[i].box[k] / v->scale + lo[k & 1], lo[k & 1]), hi[k & 1]);
        ipg_detection_t * d = &dets[out++];
        *d = (ipg_detection_t){ .x1 = xy[0],
                                .y1 = xy[1],
                                .x2 = xy[2],
                                .y2 = xy[3],
                                .score = kept[i].score,
                                .label = kept[i].label,
                                .tile = v->tile,
                                .scale = (float) v->scale };
    }
    *n_dets = out;
    return IPG_OK;
}

// Tiled, a detector with a batch: all images in one pass of the plan, then
// each image's detections into the pool, in image order.
static ipg_status_t pool_batched(ipg_ctx_t * ctx, int32_t * pooled) {
    ipg_status_t st = enqueue_from(ctx, 0);
    for (int32_t b = 0; b < ctx->n_views && st == IPG_OK; b++) {
        int32_t n = 0;
        st = collect_view(ctx, b, &ctx->views[b], ctx->pool + *pooled, ctx->pool_cap - *pooled, &n);
        *pooled += n;
    }
    return st;
}

// A detector without a batch: the letterboxed image b copied to the network
// input and the network run on it (its detections are image 0's).
static ipg_status_t run_image_in_turn(ipg_ctx_t * ctx, int32_t b) {
    const size_t image_bytes = (size_t) 3 * ctx->in_w * ctx->in_h * sizeof(float);
    cl_int rc = clEnqueueCopyBuffer(ctx->cl.queue, ctx->images, ctx->net.input.buf, (size_t) b * image_bytes, 0,
                                    image_bytes, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        ipg_format_error(ctx->err, sizeof ctx->err, "copying image %d of the run failed: %s", b, ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    return enqueue_from(ctx, ctx->first_net_step);
}

// The first n images letterboxed at once (the preprocessing steps: one per
// image, in image order; preprocess.c).
static ipg_status_t letterbox_first(ipg_ctx_t * ctx, int32_t n) {
    release_events(ctx, 0);
    return ipg_plan_enqueue_range(&ctx->plan, 0, ctx->first_net_step / ctx->n_views * n, ctx->events, NULL, NULL);
}

// Tiled, a detector without one: every image letterboxed at once, then
// each copied to the network input and run in turn.
static ipg_status_t pool_in_turn(ipg_ctx_t * ctx, int32_t * pooled) {
    ipg_status_t st = letterbox_first(ctx, ctx->n_views);
    for (int32_t b = 0; b < ctx->n_views && st == IPG_OK; b++) {
        st = run_image_in_turn(ctx, b);
        int32_t n = 0;
        if (st == IPG_OK) st = collect_view(ctx, 0, &ctx->views[b], ctx->pool + *pooled, ctx->pool_cap - *pooled, &n);
        *pooled += n;
    }
    return st;
}

// Tiled: every image's detections pooled in image order, then merged across
// images (tiling.c).
static ipg_status_t run_tiled(ipg_ctx_t * ctx, ipg_detection_t * dets, int32_t max_dets, int32_t * n_dets) {
    int32_t pooled = 0;
    ipg_status_t st = ctx->batch == ctx->n_views ? pool_batched(ctx, &pooled) : pool_in_turn(ctx, &pooled);
    if (st != IPG_OK) return st;
    const ipg_tiling_t * tl = &ctx->params.tiling;
    const int32_t keep = max_dets < ctx->params.max_detections ? max_dets : ctx->params.max_detections;
    *n_dets = ipg_tile_merge(ctx->pool, pooled, tl->merge, tl->match_metric, tl->match_threshold, keep,
                             ctx->merge_scratch, dets);
    return IPG_OK;
}

// The checks both run entry points make: arguments, then the order of calls.
static ipg_status_t check_run(ipg_ctx_t * ctx, const void * input, ipg_detection_t * dets, int32_t max_dets,
                              int32_t * n_dets, const char * fn) {
    if (!ctx || !input || !n_dets || (max_dets > 0 && !dets) || max_dets < 0) {
        if (ctx) ipg_format_error(ctx->err, sizeof ctx->err, "%s: NULL or invalid argument", fn);
        return IPG_ERR_INVALID_ARG;
    }
    *n_dets = 0;
    if (!ctx->prepared) {
        ipg_format_error(ctx->err, sizeof ctx->err, "%s called before ipg_ctx_prepare", fn);
        return IPG_ERR_STATE;
    }
    return IPG_OK;
}

ipg_status_t ipg_ctx_run(ipg_ctx_t * ctx, const ipg_frame_t * frame, ipg_detection_t * dets, int32_t max_dets,
                         int32_t * n_dets) {
    ipg_status_t st = check_run(ctx, frame, dets, max_dets, n_dets, "ipg_ctx_run");
    if (st != IPG_OK) return st;
    if (ctx->frames > 1) {
        ipg_batch_item_t item = { .frame = frame, .dets = dets, .max_dets = max_dets };
        st = ipg_ctx_run_batch(ctx, &item, 1);
        *n_dets = st == IPG_OK ? item.n_dets : 0;
        return st;
    }
    st = ipg_frame_upload(&ctx->cl, ctx->frame_bufs[0], ctx->frame_mapped[0], &ctx->lb, frame, ctx->err,
                          sizeof ctx->err);
    if (st != IPG_OK) return st;
    if (tiling_on(&ctx->params.tiling)) return run_tiled(ctx, dets, max_dets, n_dets);
    st = enqueue_from(ctx, 0);
    if (st != IPG_OK) return st;
    return collect_view(ctx, 0, &ctx->views[0], dets, max_dets, n_dets);
}

// Frame k of the run is image k (untiled): a batched detector runs all
// frames' images in one pass (always the prepared batch_frames images; the
// ones past n_items hold earlier frames and are not read back), the others
// one image after the other.
ipg_status_t ipg_ctx_run_batch(ipg_ctx_t * ctx, ipg_batch_item_t * items, int32_t n_items) {
    if (!ctx) return IPG_ERR_INVALID_ARG;
    if (!items || n_items < 1) {
        ipg_format_error(ctx->err, sizeof ctx->err, "ipg_ctx_run_batch: NULL items or a count below 1");
        return IPG_ERR_INVALID_ARG;
    }
    for (int32_t k = 0; k < n_items; k++) {
        if (!items[k].frame || items[k].max_dets < 0 || (items[k].max_dets > 0 && !items[k].dets)) {
            ipg_format_error(ctx->err, sizeof ctx->err, "ipg_ctx_run_batch: item %d has no frame or no room", k);
            return IPG_ERR_INVALID_ARG;
        }
        items[k].n_dets = 0;
    }
    if (!ctx->prepared) {
        ipg_format_error(ctx->err, sizeof ctx->err, "ipg_ctx_run_batch called before ipg_ctx_prepare");
        return IPG_ERR_STATE;
    }
    if (n_items > ctx->frames) {
        ipg_format_error(ctx->err, sizeof ctx->err,
                         "ipg_ctx_run_batch: %d frames, more than the context's batch_frames %d", n_items, ctx->frames);
        return IPG_ERR_INVALID_ARG;
    }
    if (ctx->frames == 1) return ipg_ctx_run(ctx, items[0].frame, items[0].dets, items[0].max_dets, &items[0].n_dets);
    for (int32_t k = 0; k < n_items; k++) {
        ipg_status_t st = ipg_frame_upload(&ctx->cl, ctx->frame_bufs[k], ctx->frame_mapped[k], &ctx->lb, items[k].frame,
                                           ctx->err, sizeof ctx->err);
        if (st != IPG_OK) return st;
    }
    ipg_status_t st = IPG_OK;
    if (ctx->batch == ctx->n_views) {
        // Only the images of these frames are computed (plan.h).
        ctx->plan.images = n_items;
        st = enqueue_from(ctx, 0);
        ctx->plan.images = 0;
        for (int32_t k = 0; k < n_items && st == IPG_OK; k++)
            st = collect_view(ctx, k, &ctx->views[k], items[k].dets, items[k].max_dets, &items[k].n_dets);
    } else {
        st = letterbox_first(ctx, n_items);
        for (int32_t k = 0; k < n_items && st == IPG_OK; k++) {
            st = run_image_in_turn(ctx, k);
            if (st == IPG_OK)
                st = collect_view(ctx, 0, &ctx->views[k], items[k].dets, items[k].max_dets, &items[k].n_dets);
        }
    }
    if (st != IPG_OK)
        for (int32_t k = 0; k < n_items; k++) items[k].n_dets = 0;
    return st;
}

uint64_t ipg_ctx_device_bytes(const ipg_ctx_t * ctx) { return ctx && ctx->prepared ? ctx->prepared_bytes : 0; }

int32_t ipg_ctx_batch_frames(const ipg_ctx_t * ctx) { return ctx ? ctx->frames : 0; }

const ipg_engine_t * ipg_ctx_engine(const ipg_ctx_t * ctx) { return ctx ? ctx->engine : NULL; }

ipg_status_t ipg_ctx_run_tensor(ipg_ctx_t * ctx, const float * input, ipg_detection_t * dets, int32_t max_dets,
                                int32_t * n_dets) {
    ipg_status_t st = check_run(ctx, input, dets, max_dets, n_dets, "ipg_ctx_run_tensor");
    if (st != IPG_OK) return st;
    const size_t bytes = (size_t) 3 * ctx->in_w * ctx->in_h * sizeof(float);
    cl_int rc = clEnqueueWriteBuffer(ctx->cl.queue, ctx->net.input.buf, CL_TRUE, 0, bytes, input, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        ipg_format_error(ctx->err, sizeof ctx->err, "uploading the input tensor failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    st = enqueue_from(ctx, ctx->first_net_step);
    if (st != IPG_OK) return st;
    const ipg_view_t net_input = { .tile = -1, .w = ctx->in_w, .h = ctx->in_h, .scale = 1.0 };
    return collect_view(ctx, 0, &net_input, dets, max_dets, n_dets);
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
        for (int32_t b = 0; b < ctx->batch; b++) {
            ipg_status_t st = ctx->det->set_thresholds(ctx->det_states[b], &ctx->plan,
                                                       candidate_threshold(&ctx->model->cfg, p.score_threshold));
            if (st != IPG_OK) return st;
        }
    }
    ctx->params = p;
    return IPG_OK;
}

int32_t ipg_ctx_images_per_frame(const ipg_ctx_t * ctx) {
    return ctx && ctx->prepared ? ctx->n_views / ctx->frames : 0;
}

double ipg_ctx_gflop(const ipg_ctx_t * ctx) {
    if (!ctx || !ctx->prepared) return 0.0;
    double f = 0;
    for (int32_t i = 0; i < ctx->plan.n_steps; i++) f += ctx->plan.steps[i].flop;
    // Without a batch, the plan runs once per image; a run holds `frames` frames.
    return f * 1e-9 * (ctx->batch < ctx->n_views ? ctx->n_views : 1) / ctx->frames;
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
    // IPG_PROFILE_KERNELS=steps lists every launch first (index, group,
    // kernel, global size), to find the one slow launch of a kernel.
    const bool by_step = env && strcmp(env, "steps") == 0;
    size_t len = 0;
    cl_ulong first_start = 0, last_end = 0;   // the span, to see the gaps between launches
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
        if (by_step && len < size)
            len +=
                (size_t) snprintf(buf + len, size - len, "step %4d %-8s %-24s %6zux%zux%zu %9.3f ms %8.2f GFLOP/s\n", i,
                                  s->group ? s->group : "other", s->kernel_name, s->gws[0], s->dims > 1 ? s->gws[1] : 1,
                                  s->dims > 2 ? s->gws[2] : 1, (double) (t1 - t0) * 1e-6,
                                  t1 > t0 ? s->flop / ((double) (t1 - t0) * 1e-6 * 1e6) : 0.0);
        if (first_start == 0 || t0 < first_start) first_start = t0;
        if (t1 > last_end) last_end = t1;
        ms[g] += (double) (t1 - t0) * 1e-6;
        flop[g] += s->flop;
        total_ms += (double) (t1 - t0) * 1e-6;
        total_flop += s->flop;
    }
    for (int32_t g = 0; g < n_groups && len < size; g++)
        len += (size_t) snprintf(buf + len, size - len, "%-12s %9.3f ms %8.2f GFLOP/s\n", groups[g], ms[g],
                                 ms[g] > 0 ? flop[g] / (ms[g] * 1e6) : 0.0);
    if (len < size)
        len += (size_t) snprintf(buf + len, size - len, "%-12s %9.3f ms %8.2f GFLOP/s\n", "total", total_ms,
                                 total_ms > 0 ? total_flop / (total_ms * 1e6) : 0.0);
    // First launch's start to last launch's end: what the launches' gaps add.
    if (len < size && last_end > first_start)
        snprintf(buf + len, size - len, "%-12s %9.3f ms\n", "span", (double) (last_end - first_start) * 1e-6);
}

uint64_t ipg_ctx_cl_objects_created(const ipg_ctx_t * ctx) { return ctx ? ctx->cl.objects_created : 0; }

uint64_t ipg_ctx_work_items_launched(const ipg_ctx_t * ctx) { return ctx ? ctx->plan.items_launched : 0; }

const char * ipg_ctx_last_error(const ipg_ctx_t * ctx) { return ctx ? ctx->err : "no context"; }

const char * ipg_ctx_device_name(const ipg_ctx_t * ctx) { return ctx ? ctx->cl.device_name : ""; }

const char * ipg_ctx_device_path(const ipg_ctx_t * ctx) { return ctx ? ipg_kernel_path_name(ctx->cl.path) : ""; }

void ipg_ctx_set_stage_callback(ipg_ctx_t * ctx, ipg_stage_fn fn, void * user_data) {
    if (!ctx) return;
    ctx->stage_fn = fn;
    ctx->stage_ud = user_data;
}
