// SPDX-License-Identifier: LGPL-2.1-or-later
//
// ipg.h: the ipgnet inference library. Runs IPG-Net (Image Pyramid Guidance
// Network, Liu et al., CVPR Workshops 2020) through OpenCL and returns
// bounding boxes in frame pixels. Plain C11; no GLib, no GStreamer.
//
// Usage
// -----
//
//     char err[512];
//     ipg_model_t * model = NULL;
//     if (ipg_model_load_file("model.safetensors", &model, err, sizeof err) != IPG_OK) {
//         fprintf(stderr, "%s\n", err);
//         return 1;
//     }
//     ipg_ctx_params_t params = ipg_ctx_params_default();
//     params.device = "gpu";                      // or "cpu", "0", "1:0", NULL = auto
//     ipg_ctx_t * ctx = NULL;
//     if (ipg_ctx_init(model, &params, &ctx, err, sizeof err) != IPG_OK) { ... }
//
//     // Once per frame size and pixel format: compiles every kernel and
//     // allocates every buffer. ipg_ctx_run() allocates nothing afterwards.
//     if (ipg_ctx_prepare(ctx, 1280, 720, IPG_PIXEL_RGB) != IPG_OK) {
//         fprintf(stderr, "%s\n", ipg_ctx_last_error(ctx));
//     }
//
//     ipg_frame_t frame = { .data = pixels, .stride = 1280 * 3 };
//     ipg_detection_t dets[300];
//     int32_t n = 0;
//     if (ipg_ctx_run(ctx, &frame, dets, 300, &n) == IPG_OK) {
//         for (int32_t i = 0; i < n; i++)
//             printf("%s %.3f\n", ipg_model_label(model, dets[i].label), dets[i].score);
//     }
//     ipg_ctx_free(ctx);
//     ipg_model_free(model);
//
// Model file
// ----------
// One safetensors file (8-byte little-endian header length, JSON header, raw
// tensor data). Tensors carry the PyTorch reference's state_dict names and
// shapes, F32 or F16, BatchNorm unfolded (the library folds it at load).
// `__metadata__` holds strings only:
//     "format": "ipgnet", "format_version": "1",
//     "config": the network configuration as a JSON object (see docs/MODEL-FORMAT.md),
//     "labels": a JSON array of class names.
// The loader trusts nothing: every length, offset, dtype and shape is checked,
// and a bad file is refused with a message naming the problem.
//
// Ownership and threading
// -----------------------
// A model is immutable once loaded and may be shared by several contexts (it
// must outlive them). A context owns its OpenCL queue and buffers and must be
// used by one thread at a time. Contexts made from one engine
// (ipg_engine_create, ipg_ctx_init_shared) share the device, the compiled
// program and the weights, and may run on different threads at once. The library never aborts or exits: every
// fallible call returns an ipg_status_t, and ipg_ctx_last_error() says why.

#ifndef IPG_H
#define IPG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    IPG_OK = 0,
    IPG_ERR_INVALID_ARG,   // a caller error: NULL pointer, size out of range, ...
    IPG_ERR_IO,            // a file could not be opened or read
    IPG_ERR_BAD_FILE,      // the model file is malformed or inconsistent
    IPG_ERR_NO_DEVICE,     // no OpenCL device matches the request
    IPG_ERR_OPENCL,        // an OpenCL call failed
    IPG_ERR_NO_MEMORY,     // host or device allocation failed
    IPG_ERR_STATE,         // call out of order (e.g. run before prepare)
} ipg_status_t;

const char * ipg_status_name(ipg_status_t status);

// Pixel layouts of a host frame. Packed formats list the bytes in memory order.
typedef enum {
    IPG_PIXEL_RGB = 0,
    IPG_PIXEL_BGR,
    IPG_PIXEL_RGBX,
    IPG_PIXEL_BGRX,
    IPG_PIXEL_XRGB,
    IPG_PIXEL_XBGR,
    IPG_PIXEL_RGBA,
    IPG_PIXEL_BGRA,
    IPG_PIXEL_ARGB,
    IPG_PIXEL_ABGR,
    IPG_PIXEL_I420,   // planar Y, U, V; chroma halved both ways (rounded up)
    IPG_PIXEL_NV12,   // planar Y, then interleaved U V; chroma halved both ways
    IPG_PIXEL_COUNT_
} ipg_pixel_format_t;

// Bytes per pixel of a packed format (3 or 4), 0 for planar or unknown formats.
int32_t ipg_pixel_format_bpp(ipg_pixel_format_t format);
// 1 for I420 and NV12.
int32_t ipg_pixel_format_is_planar(ipg_pixel_format_t format);

// How Y'CbCr turns into R'G'B' for the planar formats (the caps' colorimetry).
typedef enum { IPG_YUV_BT601 = 0, IPG_YUV_BT709, IPG_YUV_BT2020 } ipg_yuv_matrix_t;

// A frame in host memory, of the size and format given to ipg_ctx_prepare().
// Packed formats: `height` rows of `stride` bytes from `data`. Planar
// formats: `planes` and `strides` (I420: Y, U, V; NV12: Y, UV), `data` unused.
typedef struct {
    const uint8_t * data;
    int32_t stride;   // bytes from one row to the next (>= width * bpp)
    const uint8_t * planes[3];
    int32_t strides[3];
} ipg_frame_t;

// One detection, in frame pixels (x2 > x1, y2 > y1 unless clipped to a line).
typedef struct {
    float x1, y1, x2, y2;
    float score;     // in [0, 1]
    int32_t label;   // index into the model's labels, 0-based
    // Provenance: the tile the detection came from (row-major index; -1 for
    // the full-frame pass, and for every detection when tiling is off) and
    // the scale factor from frame to network-input pixels it was seen at.
    int32_t tile;
    float scale;
} ipg_detection_t;

// ---- tiling ----------------------------------------------------------------
//
// Tiled inference (SAHI's slicing, docs/TILING.md): the frame is cut into
// overlapping tiles, every tile is letterboxed to the network input on the
// device (a tile smaller than the input is enlarged, which is what finds the
// smallest objects), all tiles and an optional full-frame pass run as one
// batch, and their detections are merged across tiles.

typedef enum {
    IPG_TILE_MERGE_NMM = 0,   // greedy non-maximum merging: matched boxes become their union (SAHI's default)
    IPG_TILE_MERGE_NMS,       // greedy non-maximum suppression
} ipg_tile_merge_t;

typedef enum {
    IPG_TILE_METRIC_IOS = 0,   // intersection over the smaller box: a box cut by a tile border matches the whole one
    IPG_TILE_METRIC_IOU,       // intersection over union
} ipg_tile_metric_t;

#define IPG_MAX_TILES_DEFAULT 64
#define IPG_MAX_TILES_LIMIT   1024

typedef struct {
    int32_t tile_width;   // frame pixels; 0 = tiling off
    int32_t tile_height;
    double overlap;       // fraction of a tile shared with its neighbour, 0 .. 0.9
    int32_t full_frame;   // 1 = also run the whole frame (tile -1)
    ipg_tile_merge_t merge;
    ipg_tile_metric_t match_metric;
    float match_threshold;   // boxes of one label with metric > this are merged / suppressed
    int32_t max_tiles;       // a frame needing more tiles is refused at prepare; 1 .. IPG_MAX_TILES_LIMIT
} ipg_tiling_t;

// Tiling off, and SAHI's defaults for the rest: overlap 0.2, full-frame
// pass, NMM, IoS 0.5, at most 64 tiles.
ipg_tiling_t ipg_tiling_default(void);

// IPG_OK when every field is in range (tile sides both 0, or both in
// 1..16384; overlap 0..0.9; threshold 0..1; max_tiles 1..IPG_MAX_TILES_LIMIT);
// else IPG_ERR_INVALID_ARG and a sentence naming the field in `err`.
ipg_status_t ipg_tiling_check(const ipg_tiling_t * tiling, char * err, size_t err_size);

// Names as the CLI and the element spell them: "nmm", "nms"; "ios", "iou".
// The parsers return -1 for an unknown name.
const char * ipg_tile_merge_name(ipg_tile_merge_t merge);
const char * ipg_tile_metric_name(ipg_tile_metric_t metric);
int32_t ipg_tile_merge_parse(const char * name);
int32_t ipg_tile_metric_parse(const char * name);

// ---- logging -------------------------------------------------------------

typedef enum { IPG_LOG_ERROR = 0, IPG_LOG_WARNING, IPG_LOG_INFO, IPG_LOG_DEBUG } ipg_log_level_t;
typedef void (*ipg_log_fn)(ipg_log_level_t level, const char * message, void * user_data);

// Routes the library's log lines to `fn` (NULL: silence). Process-wide; the
// default prints warnings and errors to stderr when IPG_LOG is set.
void ipg_log_set(ipg_log_fn fn, void * user_data);

// ---- model ---------------------------------------------------------------

typedef struct ipg_model ipg_model_t;

// Loads and validates a model file. On failure *out stays NULL and `err`
// (if not NULL) receives a sentence naming the problem.
ipg_status_t ipg_model_load_file(const char * path, ipg_model_t ** out, char * err, size_t err_size);
// The same from bytes in memory (copied); `name` is used in messages.
ipg_status_t ipg_model_load_memory(const uint8_t * bytes, size_t size, const char * name, ipg_model_t ** out,
                                   char * err, size_t err_size);
void ipg_model_free(ipg_model_t * model);
// Frees the model's host copy of its weights (about the model file's size)
// once the engines that need them exist: they hold their own copies on their
// devices. The command-line tool does this after ipg_ctx_init. Labels,
// configuration and description stay; creating another engine or context
// from the model afterwards fails with an error saying so.
void ipg_model_release_weights(ipg_model_t * model);
// The same, but during the next engine's upload: each conv's host weights
// are freed as soon as they are on that engine's device, so the host and
// device copies never coexist in full (peak memory of the model's size
// less). For a caller that makes one engine from the model, as the
// command-line tool and the GStreamer element (its own model, and the shared
// instances) do. The model can make no other engine or context afterwards,
// as above.
void ipg_model_release_weights_on_upload(ipg_model_t * model);

int32_t ipg_model_num_labels(const ipg_model_t * model);
const char * ipg_model_label(const ipg_model_t * model, int32_t index);   // NULL if out of range
// The network input size the model was made for (config "input").
void ipg_model_input_size(const ipg_model_t * model, int32_t * width, int32_t * height);
// Short description, e.g. "retinanet resnet18 x0.5 ipg[2,3,4,5] fpn64 10 classes 512x512"
// (or "fasterrcnn ...").
const char * ipg_model_description(const ipg_model_t * model);

// The largest network input side. A network input size (a model's config
// "input", ipg_ctx_params_t.input_width/height, the tools' --input-size) has
// both sides multiples of 32 in 32..IPG_MAX_INPUT_SIDE; anything else is
// IPG_ERR_INVALID_ARG with "input size WxH: both sides must be multiples of
// 32 in 32..8192" in `err`.
#define IPG_MAX_INPUT_SIDE 8192
ipg_status_t ipg_check_input_size(int32_t width, int32_t height, char * err, size_t err_size);

// ---- device listing --------------------------------------------------------

// Writes one line per OpenCL device ("P:D  platform / device (type)") into
// `buf`. Returns the number of devices, or -1 if OpenCL is unusable (then buf
// holds the reason).
int32_t ipg_list_devices(char * buf, size_t size);

// ---- context -------------------------------------------------------------

typedef struct ipg_ctx ipg_ctx_t;

typedef struct {
    // OpenCL device: NULL or "" or "auto" (first GPU, else first CPU), "gpu",
    // "cpu", an index into the list of all devices ("2"), or "platform:device".
    const char * device;
    // Convolution kernels: NULL, "" or "auto" (the device's row of the path
    // table: "cpu" on CPU devices, "gpu" on GPUs; or the IPG_PATH environment
    // variable when set), "cpu" (register tiles), "gpu" (work-groups tiled
    // through local memory) or "clblast" (CLBlast's GEMMs). Anything else
    // fails ipg_ctx_init with IPG_ERR_INVALID_ARG. docs/PERFORMANCE.md,
    // "Kernel paths".
    const char * device_path;
    // Network input size; 0 = the model's. Multiples of 32.
    int32_t input_width;
    int32_t input_height;
    // Reported detections have score >= score_threshold. < 0: the model's
    // candidate threshold (config score_thresh).
    float score_threshold;
    // Class-wise NMS IoU threshold; < 0: the model's (config nms_thresh).
    float nms_threshold;
    // At most this many detections; <= 0: the model's (config detections_per_img).
    int32_t max_detections;
    // Time every kernel with OpenCL events (ipg_ctx_profile_report). Costs a
    // little per launch; for benchmarks and tuning.
    int32_t profile;
    // Comma-separated label names to report ("person,car"); NULL or "" = all.
    // An unknown name fails ipg_ctx_init with IPG_ERR_INVALID_ARG. Applied
    // before max_detections (class-wise NMS is per class, so the kept
    // detections of those classes are the same as without the filter). The
    // string is copied.
    const char * classes;
    // Tiled inference (off by default: ipg_tiling_default()). With tiling on,
    // ipg_ctx_run returns the detections of every tile and of the full-frame
    // pass, each image filtered, NMS'ed and capped as an untiled frame is,
    // mapped to frame pixels and merged; max_detections caps the merged set.
    ipg_tiling_t tiling;
    // Frames of several streams inferred together by ipg_ctx_run_batch():
    // prepare plans a batch of this many images (1..IPG_MAX_BATCH_FRAMES;
    // 0 = 1). A batched detector (RetinaNet) runs them in one pass (a call
    // with fewer frames launches only their share of the work); Faster
    // R-CNN runs one frame after the other. Not with tiling: a context with
    // both is refused at init.
    int32_t batch_frames;
} ipg_ctx_params_t;

#define IPG_MAX_BATCH_FRAMES 64

ipg_ctx_params_t ipg_ctx_params_default(void);

ipg_status_t ipg_ctx_init(const ipg_model_t * model, const ipg_ctx_params_t * params, ipg_ctx_t ** out, char * err,
                          size_t err_size);

// ---- engine: one model on one device, shared by contexts ------------------
//
// An engine holds what every context of one (model, device) has in common:
// the OpenCL context, the compiled program and the uploaded weights. Several
// contexts made from one engine (one per camera, say) load the weights and
// build the program once. ipg_ctx_init() makes a private engine for its
// context. Engines are reference-counted and thread-safe: contexts of one
// engine may run on different threads at once (each context itself is still
// used by one thread at a time). The model must outlive the engine.
typedef struct ipg_engine ipg_engine_t;

// `device` and `device_path` as in ipg_ctx_params_t (NULL: the defaults);
// every context of the engine runs its device and kernel path. Returns with
// one reference held.
ipg_status_t ipg_engine_create(const ipg_model_t * model, const char * device, const char * device_path,
                               ipg_engine_t ** out, char * err, size_t err_size);
ipg_engine_t * ipg_engine_ref(ipg_engine_t * engine);
// Drops a reference; the last one (callers' and contexts') frees it.
void ipg_engine_unref(ipg_engine_t * engine);
const ipg_model_t * ipg_engine_model(const ipg_engine_t * engine);
// Device memory of the engine: the packed weights, in bytes.
uint64_t ipg_engine_device_bytes(const ipg_engine_t * engine);
const char * ipg_engine_device_name(const ipg_engine_t * engine);

// A context on the engine's model, device and kernel path (params->device
// and params->device_path are ignored):
// its own queue, kernels, plan and buffers, the engine's weights and
// program. It holds a reference to the engine until ipg_ctx_free().
ipg_status_t ipg_ctx_init_shared(ipg_engine_t * engine, const ipg_ctx_params_t * params, ipg_ctx_t ** out, char * err,
                                 size_t err_size);
void ipg_ctx_free(ipg_ctx_t * ctx);

// Compiles every program and allocates every buffer for frames of this size
// and format. May be called again for a new size; a call with the current
// size and format does nothing. Planar formats are taken as BT.601 limited
// range here; ipg_ctx_prepare_yuv() names the colorimetry. With tiling on it
// computes the tile grid: a frame needing more than tiling.max_tiles tiles is
// refused with IPG_ERR_INVALID_ARG (the previous preparation stays).
ipg_status_t ipg_ctx_prepare(ipg_ctx_t * ctx, int32_t frame_width, int32_t frame_height, ipg_pixel_format_t format);
// The same, with the Y'CbCr matrix and range of planar formats (ignored for
// packed ones). full_range: 1 = 0..255, 0 = limited (Y 16..235, C 16..240).
ipg_status_t ipg_ctx_prepare_yuv(ipg_ctx_t * ctx, int32_t frame_width, int32_t frame_height, ipg_pixel_format_t format,
                                 ipg_yuv_matrix_t matrix, int32_t full_range);

// Runs the network on one frame. Writes at most `max_dets` detections sorted
// by decreasing score and their count to *n_dets. The frame is only read.
ipg_status_t ipg_ctx_run(ipg_ctx_t * ctx, const ipg_frame_t * frame, ipg_detection_t * dets, int32_t max_dets,
                         int32_t * n_dets);

// One frame of a batch and where its detections go.
typedef struct {
    const ipg_frame_t * frame;   // the prepared size and format
    ipg_detection_t * dets;      // at most max_dets, sorted by decreasing score
    int32_t max_dets;
    int32_t n_dets;   // written
} ipg_batch_item_t;

// Runs 1..params.batch_frames frames (from different streams, of the
// prepared size and format) together; item k gets exactly the detections
// ipg_ctx_run() gives for its frame. On failure no item's n_dets is valid.
ipg_status_t ipg_ctx_run_batch(ipg_ctx_t * ctx, ipg_batch_item_t * items, int32_t n_items);

// Device memory of the context's current preparation (frame buffers, every
// tensor and scratch of its plan; not the engine's weights), in bytes; 0
// before ipg_ctx_prepare.
uint64_t ipg_ctx_device_bytes(const ipg_ctx_t * ctx);

// params.batch_frames as resolved (>= 1).
int32_t ipg_ctx_batch_frames(const ipg_ctx_t * ctx);

// Runs the network on an already normalised network input: a float tensor
// [3][input_height][input_width] (NCHW, batch 1). Detections are reported in
// network-input pixels (scale 1, clipped to the input). For parity tests.
// Like ipg_ctx_run, it needs a prepared context (any frame size and format:
// the preprocessing is skipped); before ipg_ctx_prepare it returns
// IPG_ERR_STATE.
ipg_status_t ipg_ctx_run_tensor(ipg_ctx_t * ctx, const float * input, ipg_detection_t * dets, int32_t max_dets,
                                int32_t * n_dets);

// The images the network runs per frame at the prepared size: the tiles plus
// the full-frame pass with tiling on, 1 without; 0 before ipg_ctx_prepare.
int32_t ipg_ctx_images_per_frame(const ipg_ctx_t * ctx);

// Convolution work of one frame at the prepared size, in GFLOP (2 * MACs).
double ipg_ctx_gflop(const ipg_ctx_t * ctx);

// With params.profile set: device time of the last run per layer group
// ("preprocess", "stem", "layer1".."layer4", "pyramid", "ipg", "fpn", "head",
// "post"; two-stage: "rpn", "proposals", "roi", "box_head" instead of
// "head"), one "group ms gflop/s" line each, then "total" and "span" (first
// launch's start to last launch's end), written into buf (truncated to
// size). IPG_PROFILE_KERNELS=1 groups by kernel instead; =steps first lists
// every launch (a few hundred lines: give it 64 KiB or more).
void ipg_ctx_profile_report(const ipg_ctx_t * ctx, char * buf, size_t size);

// Changes the reporting threshold, the NMS IoU threshold and the detection
// cap (same meaning and defaults as in ipg_ctx_params_t) without rebuilding
// anything: takes effect on the next run.
ipg_status_t ipg_ctx_set_thresholds(ipg_ctx_t * ctx, float score_threshold, float nms_threshold,
                                    int32_t max_detections);

// The last error of this context, as a sentence ("" if none).
const char * ipg_ctx_last_error(const ipg_ctx_t * ctx);

// Name of the OpenCL device the context runs on.
const char * ipg_ctx_device_name(const ipg_ctx_t * ctx);
// The kernel path the context runs ("cpu", "gpu" or "clblast").
const char * ipg_ctx_device_path(const ipg_ctx_t * ctx);

// ---- stage dumps (debugging, parity) --------------------------------------

// Called after each named stage of ipg_ctx_run*() with the stage's tensor read
// back to the host (NCHW, batch 1, float32): e.g. "input", "pyramid.i4",
// "backbone.c3", "ipg.g3", "ipg.f3", "fpn.p4", "head.cls.p4", "head.box.p4";
// two-stage models: "rpn.cls.p4", "rpn.box.p4", "rpn.proposals" [1][R][4],
// "rpn.scores" [1][1][R], "roi.features" [C*S*S][1][R], "roi.cls" [K+1][1][R],
// "roi.box" [4(K+1)][1][R], with R this frame's number of RoIs.
// Reading back is slow: set a callback for debugging only. NULL disables it.
typedef void (*ipg_stage_fn)(const char * name, const float * data, int32_t channels, int32_t height, int32_t width,
                             void * user_data);
void ipg_ctx_set_stage_callback(ipg_ctx_t * ctx, ipg_stage_fn fn, void * user_data);

#ifdef __cplusplus
}
#endif

#endif   // IPG_H
