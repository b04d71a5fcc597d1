/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ipgnetdetect: IPG-Net object detection through OpenCL.
 * Copyright (C) 2025 The ipgnet authors
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Lesser General Public License as published by
 * the Free Software Foundation; either version 2.1 of the License, or (at
 * your option) any later version.
 */

/**
 * SECTION:element-ipgnetdetect
 * @title: ipgnetdetect
 * @see_also: ipgnetoverlay, ipgnetjson
 *
 * Runs an IPG-Net detector (Image Pyramid Guidance Network) on video frames
 * through OpenCL and attaches one #GstVideoRegionOfInterestMeta per detected
 * object. The frames themselves are never dropped, reordered or modified:
 * every buffer leaves with the bytes, timestamps and flags it came in with.
 *
 * Each meta follows the DL Streamer convention: its roi_type is the quark of
 * the label, its rectangle is in pixels of the full frame, and it carries a
 * #GstStructure param named "detection" with the fields `x_min`, `y_min`,
 * `x_max`, `y_max` (doubles, normalised by the frame size, in [0, 1]),
 * `confidence` (double), `label_id` (int, 0-based), `rotation` (double, 0.0),
 * `layer_name` ("detections": the library's output) and `model_name` (the
 * model file's name without its extension); no `label`, as DL Streamer
 * attaches none. Its id is unique in the process and never 0, and its pixel
 * rectangle is DL Streamer's: x = x_min * width + 0.5 and
 * w = (x_max - x_min) * width + 0.5, truncated. Tiled detections also carry
 * `tile` (int), `scale` (double) and the same two as `extra_params_json`.
 *
 * With #GstIpgNetDetect:interval set to N > 1 only every Nth frame (0, N,
 * 2N, ...) is inferred; the frames in between pass through without any new
 * detection meta, marked as not inferred by the custom meta
 * "GstIpgNetNotInferredMeta" (see gstipgnetmeta.h; ipgnettrack fills them
 * with predicted boxes). With #GstIpgNetDetect:post-messages every inferred frame
 * also posts an element message named "ipgnetdetect" with the fields
 * `timestamp`, `stream-time`, `running-time` (#GstClockTime), `width`,
 * `height` (int) and `objects`, a #GST_TYPE_LIST of "object" structures
 * (`label`, `label-id`, `confidence`, `x`, `y`, `w`, `h`).
 *
 * #GstIpgNetDetect:inference-mode says what happens when frames come faster
 * than the engine. `every-frame` infers each candidate frame in the
 * streaming thread before passing it on. `realtime` (the default behind a
 * live source) lets frames flow at the source's rate: a worker thread
 * infers the newest candidate whenever it is free, holding that frame and
 * the frames behind it until its detections are attached; candidates that
 * arrive meanwhile are not inferred, carry "GstIpgNetNotInferredMeta" and
 * are counted in #GstIpgNetDetect:frames-skipped. No frame waits for more
 * than one inference, and buffers and events keep their order. The element
 * answers the LATENCY query with the latency it adds (see
 * #GstIpgNetDetect:max-latency).
 *
 * The model is loaded and the OpenCL context created when the element goes
 * from READY to PAUSED; a missing or invalid model, an unknown object class
 * or no usable OpenCL device fail that state change with an element error.
 * Kernels are compiled for the frame size when caps are set.
 *
 * Several cameras on one model: elements in one process that set the same
 * #GstIpgNetDetect:model-instance-id (as DL Streamer's property of that
 * name) share one loaded model, one OpenCL context and program, and one
 * copy of the weights on the device; each keeps its own queue and buffers.
 * They must name the same model file and device, else the later one fails
 * to start with an error naming both. An empty id (the default) keeps the
 * element's model private. With #GstIpgNetDetect:batch-size N > 1, the
 * frames such elements infer at about the same time (within
 * #GstIpgNetDetect:batch-timeout) run as one batch of up to N images:
 * elements whose frames have one size and format and whose thresholds,
 * object-class and input-size agree batch together. Frames are never
 * dropped, reordered or changed; a stream that reaches EOS or stops is no
 * longer waited for.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! videoconvert ! ipgnetdetect model=model.safetensors ! ipgnetoverlay ! videoconvert ! autovideosink
 * ]|
 * Behind a live camera, frames keep the camera's rate and ipgnettrack fills
 * the frames the engine had no time for:
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! ipgnetdetect model=model.safetensors inference-mode=realtime threshold=0.1 ! ipgnettrack ! ipgnetoverlay ! videoconvert ! autovideosink
 * ]|
 * Without `model`, an installed plugin uses the installed demo model (ten
 * handwritten-digit classes; see models/README.md):
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! ipgnetdetect threshold=0.3 ! ipgnetoverlay ! videoconvert ! autovideosink
 * ]|
 * Four cameras on one model, their frames inferred four at a time:
 * |[
 * gst-launch-1.0 rtspsrc location=rtsp://cam1/ ! decodebin ! videoconvert ! ipgnetdetect model=model.safetensors model-instance-id=cams batch-size=4 ! fakesink  rtspsrc location=rtsp://cam2/ ! decodebin ! videoconvert ! ipgnetdetect model=model.safetensors model-instance-id=cams batch-size=4 ! fakesink  ...
 * ]|
 *
 * Since: 0.1
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstipgnetdetect.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "gstipgnetbatcher.h"
#include "gstipgnetinstance.h"
#include "gstipgnetmeta.h"
#include "ipg.h"

/* DL Streamer names the output layers a detection came from; ours come
 * from the library's post-processing, not from one layer. */
#define IPGNET_LAYER_NAME "detections"
#define IPGNET_MAX_DETECTIONS 1000

struct _GstIpgNetDetect
{
  GstBaseTransform parent;

  /* properties, protected by the object lock */
  gchar *model_path;
  gchar *device;
  gdouble threshold;
  gdouble iou_threshold;
  guint max_detections;
  gchar *object_class;
  guint interval;
  gchar *input_size;
  gboolean post_messages;
  ipg_tiling_t tiling;     /* tile-* and max-tiles */
  gboolean params_changed; /* threshold & co. changed: apply them */
  GstIpgNetInferenceMode inference_mode;
  GstClockTime max_latency;
  gchar *model_instance_id;
  guint batch_size;
  guint batch_timeout; /* ms */

  /* read-only properties and latency, protected by the object lock */
  gchar *labels;
  guint64 n_inferred;
  guint64 n_skipped;
  guint64 n_batched; /* inferred in a batch with other streams' frames */
  gdouble total_ms;
  GstClockTime worst_ns;    /* longest inference since start */
  GstClockTime posted_ns;   /* worst_ns when a LATENCY message was posted */
  gint64 skip_message_us;   /* when the last skipped message was posted */
  guint64 skipped_reported; /* n_skipped in that message */
  /* every-frame or realtime once decided (caps or first buffer), auto
   * before; written by the streaming thread */
  GstIpgNetInferenceMode resolved;

  /* Held around every use of ctx: the worker's inference and set_caps'
   * prepare, so that a caps change never races an inference. */
  GMutex ctx_lock;

  /* realtime: the worker and the frames held behind an inference,
   * protected by rt_lock. Only the streaming thread adds to held, so
   * held holds buffers only: serialized events and queries wait until it is
   * empty (at most one inference) and then pass in order. */
  GMutex rt_lock;
  GCond rt_cond;
  GThread *worker;    /* infers */
  GThread *pusher;    /* pushes held frames once they are ready */
  GQueue held;        /* frames in stream order, oldest first */
  GstBuffer *pending; /* the held frame to infer: pushed once done */
  gboolean started;   /* the worker is inferring pending */
  gboolean orphaned;  /* pending was flushed: the worker frees it */
  gboolean pushing;   /* the worker is pushing a frame */
  gboolean flushing;
  gboolean quit;
  GstFlowReturn rt_flow; /* the last failed push, returned upstream */

  /* set in start(), freed in stop() */
  GstIpgNetInstance *instance; /* model-instance-id's: owns model */
  ipg_model_t *model;
  ipg_ctx_t *ctx;
  gboolean batching; /* batch-size > 1: frames go to seat */
  /* set in set_caps() under ctx_lock and the object lock (so that the
   * state change, holding only the latter, may use it) */
  GstIpgNetBatchSeat *seat;
  gboolean playing; /* in PLAYING; object lock */
  gchar *model_name;
  GQuark *label_quarks;
  gint32 input_width, input_height;
  gboolean tiled; /* the context tiles: detections carry tile, scale */
  guint64 frame_index;

  /* set in set_caps() */
  gboolean prepared;
  GstVideoInfo info;
  ipg_pixel_format_t format;
  ipg_yuv_matrix_t matrix;
  gint full_range;

  ipg_detection_t dets[IPGNET_MAX_DETECTIONS];
};

GST_DEBUG_CATEGORY_STATIC (gst_ipg_net_detect_debug);
#define GST_CAT_DEFAULT gst_ipg_net_detect_debug
/* The inference library's own log lines. */
GST_DEBUG_CATEGORY_STATIC (ipgnet_debug);

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_THRESHOLD,
  PROP_IOU_THRESHOLD,
  PROP_MAX_DETECTIONS,
  PROP_OBJECT_CLASS,
  PROP_INTERVAL,
  PROP_INPUT_SIZE,
  PROP_POST_MESSAGES,
  PROP_TILE_SIZE,
  PROP_TILE_OVERLAP,
  PROP_TILE_FULL_FRAME,
  PROP_TILE_MERGE,
  PROP_TILE_MATCH_METRIC,
  PROP_TILE_MATCH_THRESHOLD,
  PROP_MAX_TILES,
  PROP_INFERENCE_MODE,
  PROP_MAX_LATENCY,
  PROP_MODEL_INSTANCE_ID,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT,
  PROP_FRAMES_BATCHED,
  PROP_LABELS,
  PROP_LATENCY,
  PROP_FRAMES_INFERRED,
  PROP_FRAMES_SKIPPED,
  PROP_QOS,
};

#define DEFAULT_PROP_MODEL IPGNET_DEFAULT_MODEL
#define DEFAULT_PROP_DEVICE "auto"
#define DEFAULT_PROP_THRESHOLD 0.5
#define DEFAULT_PROP_IOU_THRESHOLD 0.5
#define DEFAULT_PROP_MAX_DETECTIONS 100
#define DEFAULT_PROP_OBJECT_CLASS ""
#define DEFAULT_PROP_INTERVAL 1
#define DEFAULT_PROP_INPUT_SIZE ""
#define DEFAULT_PROP_POST_MESSAGES FALSE
#define DEFAULT_PROP_TILE_SIZE ""
#define DEFAULT_PROP_TILE_OVERLAP 0.2
#define DEFAULT_PROP_TILE_FULL_FRAME TRUE
#define DEFAULT_PROP_TILE_MERGE IPG_TILE_MERGE_NMM
#define DEFAULT_PROP_TILE_MATCH_METRIC IPG_TILE_METRIC_IOS
#define DEFAULT_PROP_TILE_MATCH_THRESHOLD 0.5
#define DEFAULT_PROP_MAX_TILES IPG_MAX_TILES_DEFAULT
#define DEFAULT_PROP_INFERENCE_MODE GST_IPG_NET_INFERENCE_MODE_AUTO
#define DEFAULT_PROP_MAX_LATENCY GST_SECOND
#define DEFAULT_PROP_MODEL_INSTANCE_ID ""
#define DEFAULT_PROP_BATCH_SIZE 1
#define DEFAULT_PROP_BATCH_TIMEOUT 50
#define MAX_BATCH_TIMEOUT 10000

/* The "ipgnetdetect-skipped" message is posted at most this often. */
#define SKIPPED_MESSAGE_INTERVAL_US G_USEC_PER_SEC

#define DETECT_CAPS                                                  \
  GST_VIDEO_CAPS_MAKE ("{ RGB, BGR, RGBx, BGRx, xRGB, "              \
                       "xBGR, RGBA, BGRA, ARGB, ABGR, I420, NV12 }") \
  ", width = (int) [ 1, 8192 ], height = (int) [ 1, 8192 ]"

/* The formats of DETECT_CAPS and the library's name for each. */
static const struct
{
  GstVideoFormat video;
  ipg_pixel_format_t pixel;
} pixel_formats[] = {
  { GST_VIDEO_FORMAT_RGB, IPG_PIXEL_RGB },
  { GST_VIDEO_FORMAT_BGR, IPG_PIXEL_BGR },
  { GST_VIDEO_FORMAT_RGBx, IPG_PIXEL_RGBX },
  { GST_VIDEO_FORMAT_BGRx, IPG_PIXEL_BGRX },
  { GST_VIDEO_FORMAT_xRGB, IPG_PIXEL_XRGB },
  { GST_VIDEO_FORMAT_xBGR, IPG_PIXEL_XBGR },
  { GST_VIDEO_FORMAT_RGBA, IPG_PIXEL_RGBA },
  { GST_VIDEO_FORMAT_BGRA, IPG_PIXEL_BGRA },
  { GST_VIDEO_FORMAT_ARGB, IPG_PIXEL_ARGB },
  { GST_VIDEO_FORMAT_ABGR, IPG_PIXEL_ABGR },
  { GST_VIDEO_FORMAT_I420, IPG_PIXEL_I420 },
  { GST_VIDEO_FORMAT_NV12, IPG_PIXEL_NV12 },
};

static gboolean
pixel_format_from_video_format (GstVideoFormat video, ipg_pixel_format_t *pixel)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (pixel_formats); i++) {
    if (pixel_formats[i].video == video) {
      *pixel = pixel_formats[i].pixel;
      return TRUE;
    }
  }
  return FALSE;
}

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (DETECT_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (DETECT_CAPS));

static void gst_ipg_net_detect_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec);
static void gst_ipg_net_detect_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec);
static void gst_ipg_net_detect_finalize (GObject *object);
static gboolean gst_ipg_net_detect_start (GstBaseTransform *trans);
static gboolean gst_ipg_net_detect_stop (GstBaseTransform *trans);
static gboolean gst_ipg_net_detect_set_caps (GstBaseTransform *trans,
    GstCaps *incaps, GstCaps *outcaps);
static gboolean gst_ipg_net_detect_propose_allocation (GstBaseTransform *trans,
    GstQuery *decide_query, GstQuery *query);
static GstFlowReturn gst_ipg_net_detect_transform_ip (GstBaseTransform *trans,
    GstBuffer *buf);
static GstFlowReturn
gst_ipg_net_detect_submit_input_buffer (GstBaseTransform *trans,
    gboolean is_discont, GstBuffer *buf);
static GstFlowReturn
gst_ipg_net_detect_generate_output (GstBaseTransform *trans,
    GstBuffer **outbuf);
static gboolean gst_ipg_net_detect_sink_event (GstBaseTransform *trans,
    GstEvent *event);
static gboolean gst_ipg_net_detect_query (GstBaseTransform *trans,
    GstPadDirection direction, GstQuery *query);
static GstStateChangeReturn
gst_ipg_net_detect_change_state (GstElement *element,
    GstStateChange transition);
static void resolve_inference_mode (GstIpgNetDetect *self);
static gpointer realtime_worker (gpointer data);
static gpointer realtime_pusher (gpointer data);
static void realtime_stop_worker (GstIpgNetDetect *self);

#define gst_ipg_net_detect_parent_class parent_class
G_DEFINE_TYPE (GstIpgNetDetect, gst_ipg_net_detect, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (ipgnetdetect, "ipgnetdetect", GST_RANK_NONE,
    GST_TYPE_IPG_NET_DETECT);

/* The tile-merge and tile-match-metric enums: values are the library's, nicks
 * its names ("nmm", "nms"; "ios", "iou"). */
#define GST_TYPE_IPG_NET_TILE_MERGE (gst_ipg_net_tile_merge_get_type ())
static GType
gst_ipg_net_tile_merge_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { IPG_TILE_MERGE_NMM,
        "Greedy non-maximum merging: matched boxes become "
        "their union (SAHI's default)",
        "nmm" },
    { IPG_TILE_MERGE_NMS, "Greedy non-maximum suppression", "nms" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstIpgNetTileMerge", values));
  return type;
}

#define GST_TYPE_IPG_NET_TILE_METRIC (gst_ipg_net_tile_metric_get_type ())
static GType
gst_ipg_net_tile_metric_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { IPG_TILE_METRIC_IOS,
        "Intersection over the smaller box: a box cut by "
        "a tile border matches the whole one",
        "ios" },
    { IPG_TILE_METRIC_IOU, "Intersection over union", "iou" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstIpgNetTileMetric", values));
  return type;
}

#define GST_TYPE_IPG_NET_INFERENCE_MODE (gst_ipg_net_inference_mode_get_type ())
static GType
gst_ipg_net_inference_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_IPG_NET_INFERENCE_MODE_AUTO,
        "realtime when upstream is live, "
        "every-frame otherwise",
        "auto" },
    { GST_IPG_NET_INFERENCE_MODE_EVERY_FRAME,
        "Infer every candidate frame "
        "before passing it on",
        "every-frame" },
    { GST_IPG_NET_INFERENCE_MODE_REALTIME,
        "Frames flow at the source's rate; "
        "infer the newest frame whenever the engine is free",
        "realtime" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstIpgNetInferenceMode", values));
  return type;
}

/* ipg_log_set() is process-wide: installed once, from class_init. */
static void
ipgnet_log_forward (ipg_log_level_t level, const char *message, void *user_data)
{
  static const GstDebugLevel levels[] = { GST_LEVEL_ERROR, GST_LEVEL_WARNING,
    GST_LEVEL_INFO, GST_LEVEL_DEBUG };
  GstDebugLevel gst_level =
      (guint) level < G_N_ELEMENTS (levels) ? levels[level] : GST_LEVEL_LOG;

  GST_CAT_LEVEL_LOG (ipgnet_debug, gst_level, NULL, "%s", message);
}

static void
gst_ipg_net_detect_class_init (GstIpgNetDetectClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_ipg_net_detect_debug, "ipgnetdetect", 0,
      "IPG-Net object detection");
  GST_DEBUG_CATEGORY_INIT (ipgnet_debug, "ipgnet", 0, "ipg inference library");
  ipg_log_set (ipgnet_log_forward, NULL);

  gobject_class->set_property = gst_ipg_net_detect_set_property;
  gobject_class->get_property = gst_ipg_net_detect_get_property;
  gobject_class->finalize = gst_ipg_net_detect_finalize;

  /**
   * GstIpgNetDetect:model:
   *
   * Path of the IPG-Net model (.safetensors). Setting NULL or "" restores
   * the default location, where `meson install` puts the demo model
   * (<prefix>/share/ipgnet/models/ipgnet-demo.safetensors).
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of the IPG-Net model file (.safetensors)", DEFAULT_PROP_MODEL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:device:
   *
   * OpenCL device: "auto" (first GPU, else first CPU), "gpu", "cpu", an
   * index into the list of all devices ("2") or "platform:device" ("1:0").
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "OpenCL device: auto, gpu, cpu, an index (\"2\") or "
          "\"platform:device\" (\"1:0\")",
          DEFAULT_PROP_DEVICE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:threshold:
   *
   * Detections scoring below this are dropped. Changing it while playing
   * takes effect on the next inferred frame (nothing is rebuilt).
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Minimum confidence of a reported detection", 0.0, 1.0,
          DEFAULT_PROP_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetDetect:iou-threshold:
   *
   * Class-wise non-maximum suppression: of two boxes of the same class
   * overlapping by more than this intersection-over-union, the weaker one
   * is dropped.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_IOU_THRESHOLD,
      g_param_spec_double ("iou-threshold", "IoU threshold",
          "Intersection-over-union above which non-maximum suppression "
          "drops the weaker of two boxes of one class",
          0.0, 1.0, DEFAULT_PROP_IOU_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetDetect:max-detections:
   *
   * At most this many detections per frame, the highest scoring ones
   * (the model's own limit applies too).
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_MAX_DETECTIONS,
      g_param_spec_uint ("max-detections", "Max detections",
          "Maximum number of detections per frame", 1, IPGNET_MAX_DETECTIONS,
          DEFAULT_PROP_MAX_DETECTIONS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetDetect:object-class:
   *
   * Comma-separated labels to keep, e.g. "person,car"; empty keeps all.
   * A label the model does not know fails the start with an error that
   * lists the model's labels.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_OBJECT_CLASS,
      g_param_spec_string ("object-class", "Object class",
          "Comma-separated labels to keep (empty: all)",
          DEFAULT_PROP_OBJECT_CLASS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:interval:
   *
   * Infer every Nth frame (frames 0, N, 2N, ...); the frames in between
   * pass through unchanged and carry no new detections.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_INTERVAL,
      g_param_spec_uint ("interval", "Interval",
          "Run inference on every Nth frame only; the frames in between "
          "carry no new detections",
          1, 1000, DEFAULT_PROP_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetDetect:input-size:
   *
   * Network input size as "WxH" (multiples of 32, e.g. "640x384"),
   * overriding the model's; empty uses the model's size.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_INPUT_SIZE,
      g_param_spec_string ("input-size", "Input size",
          "Network input size \"WxH\", multiples of 32 "
          "(empty: the model's size)",
          DEFAULT_PROP_INPUT_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:post-messages:
   *
   * Post an element message "ipgnetdetect" listing the detections of each
   * inferred frame.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an element message with the detections of every inferred "
          "frame",
          DEFAULT_PROP_POST_MESSAGES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetDetect:tile-size:
   *
   * Tiled inference for small objects in large frames, as SAHI does it:
   * "WxH" in frame pixels cuts each frame into overlapping tiles of that
   * size (the last row and column shifted inward), letterboxes every tile
   * to the network input on the device (a tile smaller than the input is
   * enlarged, which is what finds the smallest objects), runs them with an
   * optional full-frame pass, and merges the detections across tiles. Each
   * detection then also carries `tile` (int, row-major, -1 for the
   * full-frame pass) and `scale` (double) in its "detection" param. Empty
   * (the default) turns tiling off.
   *
   * |[
   * gst-launch-1.0 filesrc location=1080p.mp4 ! decodebin ! videoconvert ! ipgnetdetect model=models/ipgnet-demo.safetensors tile-size=512x512 ! ipgnetoverlay ! videoconvert ! autovideosink
   * ]|
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_TILE_SIZE,
      g_param_spec_string ("tile-size", "Tile size",
          "Tiled inference: tile size \"WxH\" in frame pixels (empty: off)",
          DEFAULT_PROP_TILE_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:tile-overlap:
   *
   * Fraction of a tile shared with its neighbour, on both axes.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_TILE_OVERLAP,
      g_param_spec_double ("tile-overlap", "Tile overlap",
          "Fraction of a tile shared with its neighbour", 0.0, 0.9,
          DEFAULT_PROP_TILE_OVERLAP,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:tile-full-frame:
   *
   * With tiling, also run the whole frame (objects larger than a tile).
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_TILE_FULL_FRAME,
      g_param_spec_boolean ("tile-full-frame", "Tile full frame",
          "With tiling, also run the whole frame", DEFAULT_PROP_TILE_FULL_FRAME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:tile-merge:
   *
   * How detections of overlapping tiles are merged.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_TILE_MERGE,
      g_param_spec_enum ("tile-merge", "Tile merge",
          "How detections of overlapping tiles are merged",
          GST_TYPE_IPG_NET_TILE_MERGE, DEFAULT_PROP_TILE_MERGE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:tile-match-metric:
   *
   * When two boxes of one label from different tiles are the same object.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_TILE_MATCH_METRIC,
      g_param_spec_enum ("tile-match-metric", "Tile match metric",
          "Overlap measure deciding that two boxes are one object",
          GST_TYPE_IPG_NET_TILE_METRIC, DEFAULT_PROP_TILE_MATCH_METRIC,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:tile-match-threshold:
   *
   * Boxes of one label whose tile-match-metric exceeds this are merged (or
   * suppressed).
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_TILE_MATCH_THRESHOLD,
      g_param_spec_double ("tile-match-threshold", "Tile match threshold",
          "Boxes matching by more are one object", 0.0, 1.0,
          DEFAULT_PROP_TILE_MATCH_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:max-tiles:
   *
   * A frame needing more tiles than this is refused when caps are set
   * (an element error naming the numbers), never mid-stream.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_MAX_TILES,
      g_param_spec_uint ("max-tiles", "Max tiles",
          "Refuse frames needing more tiles than this", 1, IPG_MAX_TILES_LIMIT,
          DEFAULT_PROP_MAX_TILES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:inference-mode:
   *
   * `every-frame` infers every candidate frame (see #GstIpgNetDetect:interval)
   * in the streaming thread before passing it on: nothing is skipped, and a
   * source faster than the engine is slowed down to it. `realtime` lets the
   * frames flow at the source's rate: a worker thread infers a candidate
   * frame whenever it is free, holding that frame (and the frames that
   * arrive behind it, in order) until its detections are attached; the
   * candidates that arrive while it is busy are not inferred, carry
   * "GstIpgNetNotInferredMeta" and are counted in
   * #GstIpgNetDetect:frames-skipped. No frame waits for more than one
   * inference, and no frame or event is dropped or reordered. `auto` (the
   * default) picks `realtime` when upstream answers the LATENCY query as
   * live and `every-frame` otherwise, when caps are set; the choice is logged
   * at INFO level.
   *
   * Since: 0.3
   */
  g_object_class_install_property (gobject_class, PROP_INFERENCE_MODE,
      g_param_spec_enum ("inference-mode", "Inference mode",
          "every-frame: infer every candidate frame; realtime: frames flow "
          "at the source's rate and the engine infers the newest one when "
          "free; auto: realtime for live upstreams",
          GST_TYPE_IPG_NET_INFERENCE_MODE, DEFAULT_PROP_INFERENCE_MODE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:max-latency:
   *
   * The cap, in nanoseconds, on the latency the element reports: its LATENCY
   * answer adds the longest inference measured so far, at most this, as
   * the minimum, and in `realtime` this as the maximum (a frame is held for
   * at most one inference). The default, one second, covers the demo model
   * on a CPU at 1080p; set it to what the application accepts.
   *
   * Since: 0.3
   */
  g_object_class_install_property (gobject_class, PROP_MAX_LATENCY,
      g_param_spec_uint64 ("max-latency", "Max latency",
          "Cap on the latency reported to the pipeline, in nanoseconds", 0,
          G_MAXUINT64, DEFAULT_PROP_MAX_LATENCY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetDetect:model-instance-id:
   *
   * Elements of one process with the same id share one loaded model and
   * one OpenCL engine (context, program, weights uploaded once), as DL
   * Streamer's model-instance-id does. They must set the same `model` and
   * `device`: an element naming another fails to start with an error
   * naming both. Empty (the default): a model of the element's own.
   *
   * Since: 0.4
   */
  g_object_class_install_property (gobject_class, PROP_MODEL_INSTANCE_ID,
      g_param_spec_string ("model-instance-id", "Model instance id",
          "Elements with the same id share one model and device engine "
          "(same model and device required); empty: private. Example: "
          "ipgnetdetect model=m.safetensors model-instance-id=cams",
          DEFAULT_PROP_MODEL_INSTANCE_ID,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:batch-size:
   *
   * With a #GstIpgNetDetect:model-instance-id, the frames of up to this
   * many elements sharing it are inferred as one batch: a frame waits until
   * every other active stream of the batch has sent one, batch-size frames
   * are waiting, or #GstIpgNetDetect:batch-timeout has passed. Elements
   * batch together when their frames have the same size and format and
   * their thresholds, object-class, input-size, batch-size and
   * batch-timeout agree; changing a threshold while playing moves the
   * element to the batch of its new settings. A batch of fewer frames (a
   * stream at EOS, or late past the timeout) computes only those; the
   * buffers are allocated for batch-size frames, so set it to the number of
   * streams. 1 (the default): no batching. Not with tiling (tile-size): a tiled frame is
   * already a batch of its tiles; a two-stage (Faster R-CNN) model runs the
   * frames of a batch one after the other.
   *
   * Since: 0.4
   */
  g_object_class_install_property (gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint ("batch-size", "Batch size",
          "Frames of streams sharing a model-instance-id inferred together "
          "(1: no batching), e.g. for four cameras: ... ! ipgnetdetect "
          "model=m.safetensors model-instance-id=cams batch-size=4 ! ...",
          1, IPG_MAX_BATCH_FRAMES, DEFAULT_PROP_BATCH_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:batch-timeout:
   *
   * With #GstIpgNetDetect:batch-size > 1: the longest time, in
   * milliseconds, a frame waits for the other streams' frames before its
   * batch runs without them. It adds at most this to a frame's latency when
   * the streams' frames do not arrive together.
   *
   * Since: 0.4
   */
  g_object_class_install_property (gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_uint ("batch-timeout", "Batch timeout",
          "Milliseconds a frame waits for the other streams' frames of its "
          "batch",
          0, MAX_BATCH_TIMEOUT, DEFAULT_PROP_BATCH_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetDetect:frames-batched:
   *
   * Frames inferred in one batch with other streams' frames since the
   * element last started (see #GstIpgNetDetect:batch-size).
   *
   * Since: 0.4
   */
  g_object_class_install_property (gobject_class, PROP_FRAMES_BATCHED,
      g_param_spec_uint64 ("frames-batched", "Frames batched",
          "Frames inferred together with other streams' frames", 0, G_MAXUINT64,
          0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstIpgNetDetect:frames-inferred:
   *
   * Frames inferred since the element last started.
   *
   * Since: 0.3
   */
  g_object_class_install_property (gobject_class, PROP_FRAMES_INFERRED,
      g_param_spec_uint64 ("frames-inferred", "Frames inferred",
          "Frames inferred since the element started", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstIpgNetDetect:frames-skipped:
   *
   * Candidate frames that `realtime` did not infer because the engine was
   * busy, since the element last started (the frames between candidates,
   * with #GstIpgNetDetect:interval > 1, are not counted). While frames are
   * skipped the element also posts, at most once a second, an element
   * message "ipgnetdetect-skipped" with `frames-inferred` and
   * `frames-skipped` (#guint64, totals) and `timestamp` (#GstClockTime, the
   * PTS of the last skipped frame).
   *
   * Since: 0.3
   */
  g_object_class_install_property (gobject_class, PROP_FRAMES_SKIPPED,
      g_param_spec_uint64 ("frames-skipped", "Frames skipped",
          "Candidate frames not inferred because the engine was busy", 0,
          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstIpgNetDetect:labels:
   *
   * The loaded model's labels, comma-separated; NULL until a model has
   * been loaded.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_LABELS,
      g_param_spec_string ("labels", "Labels",
          "Comma-separated labels of the loaded model (NULL before loading)",
          NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstIpgNetDetect:latency:
   *
   * Mean inference time per inferred frame in milliseconds, since the
   * element last started.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_double ("latency", "Latency",
          "Mean inference time in milliseconds over the frames inferred "
          "so far",
          0.0, G_MAXDOUBLE, 0.0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /* GstBaseTransform's "qos" would let the base class drop late buffers;
   * this element never drops a frame, so the property reads FALSE and
   * ignores writes. */
  g_object_class_override_property (gobject_class, PROP_QOS, "qos");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_ipg_net_detect_change_state);
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "IPG-Net object detection", "Filter/Analyzer/Video",
      "Detects objects with an IPG-Net model through OpenCL and attaches "
      "GstVideoRegionOfInterestMeta",
      "ipgnet");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ipg_net_detect_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ipg_net_detect_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_ipg_net_detect_set_caps);
  trans_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_ipg_net_detect_propose_allocation);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_ipg_net_detect_transform_ip);
  trans_class->submit_input_buffer =
      GST_DEBUG_FUNCPTR (gst_ipg_net_detect_submit_input_buffer);
  trans_class->generate_output =
      GST_DEBUG_FUNCPTR (gst_ipg_net_detect_generate_output);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_ipg_net_detect_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_ipg_net_detect_query);
}

static void
gst_ipg_net_detect_init (GstIpgNetDetect *self)
{
  self->model_path = g_strdup (DEFAULT_PROP_MODEL);
  self->device = g_strdup (DEFAULT_PROP_DEVICE);
  self->threshold = DEFAULT_PROP_THRESHOLD;
  self->iou_threshold = DEFAULT_PROP_IOU_THRESHOLD;
  self->max_detections = DEFAULT_PROP_MAX_DETECTIONS;
  self->object_class = g_strdup (DEFAULT_PROP_OBJECT_CLASS);
  self->interval = DEFAULT_PROP_INTERVAL;
  self->input_size = g_strdup (DEFAULT_PROP_INPUT_SIZE);
  self->post_messages = DEFAULT_PROP_POST_MESSAGES;
  self->tiling = ipg_tiling_default ();
  self->inference_mode = DEFAULT_PROP_INFERENCE_MODE;
  self->max_latency = DEFAULT_PROP_MAX_LATENCY;
  self->model_instance_id = g_strdup (DEFAULT_PROP_MODEL_INSTANCE_ID);
  self->batch_size = DEFAULT_PROP_BATCH_SIZE;
  self->batch_timeout = DEFAULT_PROP_BATCH_TIMEOUT;
  self->resolved = GST_IPG_NET_INFERENCE_MODE_AUTO;
  g_mutex_init (&self->ctx_lock);
  g_mutex_init (&self->rt_lock);
  g_cond_init (&self->rt_cond);
  g_queue_init (&self->held);
  self->rt_flow = GST_FLOW_OK;

  /* Only metadata is added: the frame is read, never written. */
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);
}

static void
gst_ipg_net_detect_finalize (GObject *object)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (object);

  g_free (self->model_path);
  g_free (self->device);
  g_free (self->object_class);
  g_free (self->input_size);
  g_free (self->labels);
  g_free (self->model_instance_id);
  g_mutex_clear (&self->ctx_lock);
  g_mutex_clear (&self->rt_lock);
  g_cond_clear (&self->rt_cond);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_ipg_net_detect_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (object);
  const gchar *s;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_QOS:
      if (g_value_get_boolean (value))
        GST_WARNING_OBJECT (self, "qos stays off: ipgnetdetect never drops "
                                  "frames");
      break;
    case PROP_MODEL:
      s = g_value_get_string (value);
      g_free (self->model_path);
      self->model_path = g_strdup (s && *s ? s : DEFAULT_PROP_MODEL);
      /* The labels belong to the previous model. */
      g_clear_pointer (&self->labels, g_free);
      break;
    case PROP_DEVICE:
      s = g_value_get_string (value);
      g_free (self->device);
      self->device = g_strdup (s && *s ? s : DEFAULT_PROP_DEVICE);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      self->params_changed = TRUE;
      break;
    case PROP_IOU_THRESHOLD:
      self->iou_threshold = g_value_get_double (value);
      self->params_changed = TRUE;
      break;
    case PROP_MAX_DETECTIONS:
      self->max_detections = g_value_get_uint (value);
      self->params_changed = TRUE;
      break;
    case PROP_OBJECT_CLASS:
      s = g_value_get_string (value);
      g_free (self->object_class);
      self->object_class = g_strdup (s ? s : "");
      break;
    case PROP_INTERVAL:
      self->interval = g_value_get_uint (value);
      break;
    case PROP_INPUT_SIZE:
      s = g_value_get_string (value);
      g_free (self->input_size);
      self->input_size = g_strdup (s ? s : "");
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    case PROP_TILE_SIZE: {
      gint w = 0, h = 0;
      gchar tail;

      s = g_value_get_string (value);
      if (s == NULL || *s == '\0') {
        self->tiling.tile_width = self->tiling.tile_height = 0;
      } else if (sscanf (s, "%dx%d%c", &w, &h, &tail) == 2 && w >= 1 &&
                 h >= 1 && w <= 16384 && h <= 16384) {
        self->tiling.tile_width = w;
        self->tiling.tile_height = h;
      } else {
        g_warning ("ipgnetdetect: invalid tile-size \"%s\": expected \"WxH\" "
                   "with both sides in 1..16384 (e.g. \"512x512\"), or empty "
                   "for no "
                   "tiling; keeping the previous value",
            s);
      }
      break;
    }
    case PROP_TILE_OVERLAP:
      self->tiling.overlap = g_value_get_double (value);
      break;
    case PROP_TILE_FULL_FRAME:
      self->tiling.full_frame = g_value_get_boolean (value);
      break;
    case PROP_TILE_MERGE:
      self->tiling.merge = g_value_get_enum (value);
      break;
    case PROP_TILE_MATCH_METRIC:
      self->tiling.match_metric = g_value_get_enum (value);
      break;
    case PROP_TILE_MATCH_THRESHOLD:
      self->tiling.match_threshold = (gfloat) g_value_get_double (value);
      break;
    case PROP_MAX_TILES:
      self->tiling.max_tiles = (gint32) g_value_get_uint (value);
      break;
    case PROP_INFERENCE_MODE:
      self->inference_mode = g_value_get_enum (value);
      break;
    case PROP_MODEL_INSTANCE_ID:
      g_free (self->model_instance_id);
      self->model_instance_id = g_value_dup_string (value);
      if (self->model_instance_id == NULL)
        self->model_instance_id = g_strdup ("");
      break;
    case PROP_BATCH_SIZE:
      self->batch_size = g_value_get_uint (value);
      break;
    case PROP_BATCH_TIMEOUT:
      self->batch_timeout = g_value_get_uint (value);
      break;
    case PROP_MAX_LATENCY:
      self->max_latency = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ipg_net_detect_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_QOS:
      g_value_set_boolean (value, FALSE);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_DEVICE:
      g_value_set_string (value, self->device);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_IOU_THRESHOLD:
      g_value_set_double (value, self->iou_threshold);
      break;
    case PROP_MAX_DETECTIONS:
      g_value_set_uint (value, self->max_detections);
      break;
    case PROP_OBJECT_CLASS:
      g_value_set_string (value, self->object_class);
      break;
    case PROP_INTERVAL:
      g_value_set_uint (value, self->interval);
      break;
    case PROP_INPUT_SIZE:
      g_value_set_string (value, self->input_size);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_TILE_SIZE:
      if (self->tiling.tile_width > 0)
        g_value_take_string (value,
            g_strdup_printf ("%dx%d", self->tiling.tile_width,
                self->tiling.tile_height));
      else
        g_value_set_string (value, "");
      break;
    case PROP_TILE_OVERLAP:
      g_value_set_double (value, self->tiling.overlap);
      break;
    case PROP_TILE_FULL_FRAME:
      g_value_set_boolean (value, self->tiling.full_frame);
      break;
    case PROP_TILE_MERGE:
      g_value_set_enum (value, self->tiling.merge);
      break;
    case PROP_TILE_MATCH_METRIC:
      g_value_set_enum (value, self->tiling.match_metric);
      break;
    case PROP_TILE_MATCH_THRESHOLD:
      g_value_set_double (value, self->tiling.match_threshold);
      break;
    case PROP_MAX_TILES:
      g_value_set_uint (value, (guint) self->tiling.max_tiles);
      break;
    case PROP_LABELS:
      g_value_set_string (value, self->labels);
      break;
    case PROP_LATENCY:
      g_value_set_double (value,
          self->n_inferred ? self->total_ms / self->n_inferred : 0.0);
      break;
    case PROP_INFERENCE_MODE:
      g_value_set_enum (value, self->inference_mode);
      break;
    case PROP_MODEL_INSTANCE_ID:
      g_value_set_string (value, self->model_instance_id);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->batch_size);
      break;
    case PROP_BATCH_TIMEOUT:
      g_value_set_uint (value, self->batch_timeout);
      break;
    case PROP_FRAMES_BATCHED:
      g_value_set_uint64 (value, self->n_batched);
      break;
    case PROP_MAX_LATENCY:
      g_value_set_uint64 (value, self->max_latency);
      break;
    case PROP_FRAMES_INFERRED:
      g_value_set_uint64 (value, self->n_inferred);
      break;
    case PROP_FRAMES_SKIPPED:
      g_value_set_uint64 (value, self->n_skipped);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* "WxH", both multiples of 32 in 32..8192; "" = the model's (0x0). */
static gboolean
parse_input_size (const gchar *str, gint32 *width, gint32 *height)
{
  gchar *end = NULL;
  gint64 w, h;

  *width = *height = 0;
  if (str == NULL || *str == '\0')
    return TRUE;
  w = g_ascii_strtoll (str, &end, 10);
  if (end == str || (*end != 'x' && *end != 'X'))
    return FALSE;
  str = end + 1;
  h = g_ascii_strtoll (str, &end, 10);
  if (end == str || *end != '\0')
    return FALSE;
  if (w < G_MININT32 || w > G_MAXINT32 || h < G_MININT32 || h > G_MAXINT32 ||
      ipg_check_input_size ((gint32) w, (gint32) h, NULL, 0) != IPG_OK)
    return FALSE;
  *width = (gint32) w;
  *height = (gint32) h;
  return TRUE;
}

static gchar *
model_labels_string (const ipg_model_t *model)
{
  GString *s = g_string_new (NULL);
  gint32 i, n = ipg_model_num_labels (model);

  for (i = 0; i < n; i++) {
    if (i > 0)
      g_string_append_c (s, ',');
    g_string_append (s, ipg_model_label (model, i));
  }
  return g_string_free (s, FALSE);
}

/* The context parameters of the current properties; params->device and
 * params->classes point into *device and *object_class (g_free them). */
static void
context_params (GstIpgNetDetect *self, ipg_ctx_params_t *params, gchar **device,
    gchar **object_class)
{
  *params = ipg_ctx_params_default ();
  GST_OBJECT_LOCK (self);
  *device = g_strdup (self->device);
  params->score_threshold = (float) self->threshold;
  params->nms_threshold = (float) self->iou_threshold;
  /* The library filters classes before the cap, so that other classes do
   * not crowd out the wanted ones. */
  params->max_detections = (gint32) self->max_detections;
  *object_class = g_strdup (self->object_class);
  params->tiling = self->tiling;
  self->tiled = self->tiling.tile_width > 0;
  self->params_changed = FALSE;
  GST_OBJECT_UNLOCK (self);

  params->device = *device;
  params->classes = *object_class;
  params->input_width = self->input_width;
  params->input_height = self->input_height;
}

/* Creates self->ctx from the current properties, on the instance's engine
 * with a model-instance-id (with batch-size > 1 it is never prepared: it
 * checks the parameters now, and the frames go to the batcher). Posts the
 * element error. */
static gboolean
create_context (GstIpgNetDetect *self)
{
  ipg_ctx_params_t params;
  gchar err[1024] = "";
  gchar *device, *object_class;
  ipg_status_t st;

  context_params (self, &params, &device, &object_class);
  if (self->instance != NULL)
    st = ipg_ctx_init_shared (gst_ipg_net_instance_engine (self->instance),
        &params, &self->ctx, err, sizeof err);
  else
    st = ipg_ctx_init (self->model, &params, &self->ctx, err, sizeof err);
  if (st != IPG_OK) {
    if (st == IPG_ERR_INVALID_ARG)
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", err),
          ("ipg_ctx_init: %s (device \"%s\", object-class \"%s\")",
              ipg_status_name (st), device, object_class));
    else
      GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("%s", err),
          ("ipg_ctx_init: %s (device \"%s\")", ipg_status_name (st), device));
    g_free (device);
    g_free (object_class);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "running %s on %s",
      ipg_model_description (self->model), ipg_ctx_device_name (self->ctx));
  g_free (device);
  g_free (object_class);
  return TRUE;
}

/* Compiles and allocates for the negotiated frames. Posts the error. */
static gboolean
prepare_context (GstIpgNetDetect *self)
{
  ipg_status_t st;

  st = ipg_ctx_prepare_yuv (self->ctx, GST_VIDEO_INFO_WIDTH (&self->info),
      GST_VIDEO_INFO_HEIGHT (&self->info), self->format, self->matrix,
      self->full_range);
  if (st != IPG_OK) {
    if (st == IPG_ERR_INVALID_ARG)
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("%s", ipg_ctx_last_error (self->ctx)),
          ("ipg_ctx_prepare_yuv: %s", ipg_status_name (st)));
    else
      GST_ELEMENT_ERROR (self, LIBRARY, INIT,
          ("%s", ipg_ctx_last_error (self->ctx)),
          ("ipg_ctx_prepare_yuv: %s", ipg_status_name (st)));
    return FALSE;
  }
  return TRUE;
}

/* batch-size > 1: takes a seat at the batcher of the negotiated frames and
 * the current settings (leaving the previous one); the caller holds
 * ctx_lock. Posts the error. */
static gboolean
join_batcher (GstIpgNetDetect *self)
{
  GstIpgNetBatchShape shape;
  gchar *device, *object_class, *error = NULL;
  ipg_status_t st = IPG_OK;
  GstIpgNetBatchSeat *seat, *old;

  context_params (self, &shape.params, &device, &object_class);
  shape.width = GST_VIDEO_INFO_WIDTH (&self->info);
  shape.height = GST_VIDEO_INFO_HEIGHT (&self->info);
  shape.format = self->format;
  shape.matrix = self->matrix;
  shape.full_range = self->full_range;
  GST_OBJECT_LOCK (self);
  shape.batch_size = self->batch_size;
  shape.timeout_ms = self->batch_timeout;
  GST_OBJECT_UNLOCK (self);
  /* Leave the old seat first: this stream is no longer waited for there. */
  GST_OBJECT_LOCK (self);
  old = self->seat;
  self->seat = NULL;
  GST_OBJECT_UNLOCK (self);
  gst_ipg_net_batcher_leave (old);
  seat = gst_ipg_net_batcher_join (gst_ipg_net_instance_id (self->instance),
      gst_ipg_net_instance_engine (self->instance), &shape, FALSE, &st, &error);
  g_free (device);
  g_free (object_class);
  if (seat != NULL) {
    GST_OBJECT_LOCK (self);
    self->seat = seat;
    gst_ipg_net_batcher_set_playing (seat, self->playing);
    GST_OBJECT_UNLOCK (self);
  }
  if (seat == NULL) {
    if (st == IPG_ERR_INVALID_ARG)
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("%s", error),
          ("batcher: %s", ipg_status_name (st)));
    else
      GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("%s", error),
          ("batcher: %s", ipg_status_name (st)));
    g_free (error);
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_ipg_net_detect_start (GstBaseTransform *trans)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (trans);
  gchar *model_path, *input_size, *instance_id = NULL, *device = NULL;
  gchar err[1024] = "";
  ipg_status_t st;
  gint32 i, n_labels;
  guint batch_size;
  gboolean ret = FALSE, tiled;

  GST_OBJECT_LOCK (self);
  model_path = g_strdup (self->model_path);
  input_size = g_strdup (self->input_size);
  self->n_inferred = 0;
  self->n_skipped = 0;
  self->total_ms = 0.0;
  self->worst_ns = 0;
  self->posted_ns = 0;
  self->skip_message_us = 0;
  self->skipped_reported = 0;
  self->resolved = GST_IPG_NET_INFERENCE_MODE_AUTO;
  GST_OBJECT_UNLOCK (self);

  self->frame_index = 0;
  self->prepared = FALSE;

  if (!parse_input_size (input_size, &self->input_width, &self->input_height)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid input-size \"%s\": expected \"WxH\" with both sides "
         "multiples of 32 between 32 and %d (e.g. \"640x384\"), or "
         "empty for the model's size.",
            input_size, IPG_MAX_INPUT_SIDE),
        (NULL));
    goto done;
  }

  if (strcmp (model_path, DEFAULT_PROP_MODEL) == 0 &&
      !g_file_test (model_path, G_FILE_TEST_EXISTS)) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No model file at the default location %s: 'meson install' puts "
         "the demo model there. Set the 'model' property to an IPG-Net "
         ".safetensors file (the source tree has "
         "models/ipgnet-demo.safetensors).",
            model_path),
        (NULL));
    goto done;
  }

  GST_OBJECT_LOCK (self);
  instance_id = g_strdup (self->model_instance_id);
  device = g_strdup (self->device);
  self->batching = self->batch_size > 1;
  batch_size = self->batch_size;
  tiled = self->tiling.tile_width > 0;
  self->n_batched = 0;
  GST_OBJECT_UNLOCK (self);
  if (self->batching && *instance_id == '\0') {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("batch-size %u needs a model-instance-id: frames are batched across "
         "the elements that share one.",
            batch_size),
        (NULL));
    goto done;
  }
  if (self->batching && tiled) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("batch-size %u and tile-size cannot be combined: a tiled frame is "
         "already a batch of its tiles. Use batch-size 1 with tiling.",
            batch_size),
        (NULL));
    goto done;
  }

  if (*instance_id != '\0') {
    gchar *error = NULL;

    st = IPG_OK;
    self->instance = gst_ipg_net_instance_acquire (instance_id, model_path,
        device, &st, &error);
    if (self->instance != NULL) {
      /* The instance owns the model. */
      self->model = (ipg_model_t *) gst_ipg_net_instance_model (self->instance);
    } else {
      g_strlcpy (err, error, sizeof err);
      g_free (error);
    }
  } else {
    st = ipg_model_load_file (model_path, &self->model, err, sizeof err);
    /* The element's own model makes one engine, in create_context below
     * (start loads the model again): its upload frees the host weights
     * conv by conv, so the two copies never coexist. */
    if (st == IPG_OK)
      ipg_model_release_weights_on_upload (self->model);
  }
  if (st != IPG_OK) {
    if (st == IPG_ERR_IO && !g_file_test (model_path, G_FILE_TEST_EXISTS))
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("%s", err),
          ("model=%s: %s", model_path, ipg_status_name (st)));
    else if (st == IPG_ERR_IO)
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("%s", err),
          ("model=%s: %s", model_path, ipg_status_name (st)));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", err),
          ("model=%s: %s", model_path, ipg_status_name (st)));
    goto done;
  }

  n_labels = ipg_model_num_labels (self->model);
  self->label_quarks = g_new0 (GQuark, n_labels);
  for (i = 0; i < n_labels; i++)
    self->label_quarks[i] =
        g_quark_from_string (ipg_model_label (self->model, i));
  /* DL Streamer's model_name is the network's own name; the model format
   * has none, so the file's stem stands for it (ipgnet-demo.safetensors:
   * "ipgnet-demo"). */
  {
    gchar *base = g_path_get_basename (model_path);
    gchar *dot = strrchr (base, '.');

    if (dot != NULL && dot != base)
      *dot = '\0';
    self->model_name = base;
  }

  GST_OBJECT_LOCK (self);
  g_free (self->labels);
  self->labels = model_labels_string (self->model);
  GST_OBJECT_UNLOCK (self);

  if (!create_context (self))
    goto done;
  if (self->instance == NULL)
    ipg_model_release_weights (self->model); /* what is left: nothing */

  ret = TRUE;

done:
  g_free (model_path);
  g_free (input_size);
  g_free (instance_id);
  g_free (device);
  if (!ret)
    gst_ipg_net_detect_stop (trans);
  return ret;
}

static gboolean
gst_ipg_net_detect_stop (GstBaseTransform *trans)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (trans);

  /* The worker owns the context while it infers: join it first. */
  realtime_stop_worker (self);
  {
    GstIpgNetBatchSeat *seat;

    GST_OBJECT_LOCK (self);
    seat = self->seat;
    self->seat = NULL;
    GST_OBJECT_UNLOCK (self);
    gst_ipg_net_batcher_leave (seat);
  }
  g_clear_pointer (&self->ctx, ipg_ctx_free);
  if (self->instance != NULL) {
    self->model = NULL; /* the instance's */
    g_clear_pointer (&self->instance, gst_ipg_net_instance_release);
  }
  g_clear_pointer (&self->model, ipg_model_free);
  g_clear_pointer (&self->model_name, g_free);
  g_clear_pointer (&self->label_quarks, g_free);
  self->prepared = FALSE;
  return TRUE;
}

static gboolean
gst_ipg_net_detect_set_caps (GstBaseTransform *trans, GstCaps *incaps,
    GstCaps *outcaps)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (trans);
  GstVideoInfo info;
  ipg_pixel_format_t format;

  if (!gst_video_info_from_caps (&info, incaps)) {
    GST_ERROR_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }

  if (!pixel_format_from_video_format (GST_VIDEO_INFO_FORMAT (&info),
          &format)) {
    GST_ERROR_OBJECT (self, "unsupported format %s",
        GST_VIDEO_INFO_NAME (&info));
    return FALSE;
  }

  self->matrix = IPG_YUV_BT601;
  self->full_range = 0;
  if (GST_VIDEO_INFO_IS_YUV (&info)) {
    switch (info.colorimetry.matrix) {
      case GST_VIDEO_COLOR_MATRIX_BT601:
        self->matrix = IPG_YUV_BT601;
        break;
      case GST_VIDEO_COLOR_MATRIX_BT709:
        self->matrix = IPG_YUV_BT709;
        break;
      case GST_VIDEO_COLOR_MATRIX_BT2020:
        self->matrix = IPG_YUV_BT2020;
        break;
      default:
        GST_WARNING_OBJECT (self,
            "colour matrix %d is not supported, "
            "converting as BT.601",
            (gint) info.colorimetry.matrix);
        break;
    }
    self->full_range = info.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  }

  if (self->resolved == GST_IPG_NET_INFERENCE_MODE_AUTO)
    resolve_inference_mode (self);

  /* An inference flushed away may still run (realtime): it reads info. */
  g_mutex_lock (&self->ctx_lock);
  self->info = info;
  self->format = format;
  self->prepared = FALSE;
  if (self->ctx != NULL && self->batching) {
    if (join_batcher (self))
      self->prepared = TRUE;
  } else if (self->ctx != NULL && prepare_context (self)) {
    self->prepared = TRUE;
  }
  g_mutex_unlock (&self->ctx_lock);
  if (!self->prepared)
    return FALSE;
  GST_DEBUG_OBJECT (self, "prepared for %dx%d %s", info.width, info.height,
      GST_VIDEO_INFO_NAME (&info));
  return TRUE;
}

static gboolean
gst_ipg_net_detect_propose_allocation (GstBaseTransform *trans,
    GstQuery *decide_query, GstQuery *query)
{
  if (!GST_BASE_TRANSFORM_CLASS (parent_class)
           ->propose_allocation (trans, decide_query, query))
    return FALSE;
  /* gst_video_frame_map() honours padded strides and plane offsets. */
  if (!gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL))
    gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  return TRUE;
}

/* The pixel rectangle of a box normalised to [0, 1] as DL Streamer computes
 * it (v2025.1.2, src/monolithic/gst/inference_elements/common/
 * post_processor/coordinates_restorer.cpp:67-70): start and extent each
 * rounded half up on their own, so x + w may pass the corner by one. */
static guint
dls_pixels (gdouble v, gint size)
{
  return (guint) (v * size + 0.5);
}

static void
attach_detection (GstIpgNetDetect *self, GstBuffer *buf,
    const ipg_detection_t *d, GValue *objects)
{
  gint width = GST_VIDEO_INFO_WIDTH (&self->info);
  gint height = GST_VIDEO_INFO_HEIGHT (&self->info);
  const gchar *label = g_quark_to_string (self->label_quarks[d->label]);
  gdouble x_min = CLAMP ((gdouble) d->x1 / width, 0.0, 1.0);
  gdouble y_min = CLAMP ((gdouble) d->y1 / height, 0.0, 1.0);
  gdouble x_max = CLAMP ((gdouble) d->x2 / width, 0.0, 1.0);
  gdouble y_max = CLAMP ((gdouble) d->y2 / height, 0.0, 1.0);
  GstVideoRegionOfInterestMeta *roi;
  GstStructure *detection;
  guint x, y, w, h;

  x = dls_pixels (x_min, width);
  y = dls_pixels (y_min, height);
  w = dls_pixels (x_max - x_min, width);
  h = dls_pixels (y_max - y_min, height);
  roi = gst_buffer_add_video_region_of_interest_meta_id (buf,
      self->label_quarks[d->label], x, y, w, h);
  /* Unique in the process and never 0, as DL Streamer's meta_attacher.cpp
   * (:202) numbers its regions. */
  roi->id = (gint) gst_util_seqnum_next ();
  /* No "label": the roi_type is the label, and DL Streamer removes it from
   * a detection before attaching (meta_attacher.cpp:206). */
  detection = gst_structure_new ("detection", "x_min", G_TYPE_DOUBLE, x_min,
      "y_min", G_TYPE_DOUBLE, y_min, "x_max", G_TYPE_DOUBLE, x_max, "y_max",
      G_TYPE_DOUBLE, y_max, "confidence", G_TYPE_DOUBLE, (gdouble) d->score,
      "label_id", G_TYPE_INT, (gint) d->label, "rotation", G_TYPE_DOUBLE, 0.0,
      "layer_name", G_TYPE_STRING, IPGNET_LAYER_NAME, "model_name",
      G_TYPE_STRING, self->model_name, NULL);
  /* Tiling's provenance: the tile (-1: the full-frame pass) and the scale
   * from frame to network-input pixels the object was seen at, also as
   * DL Streamer's extra_params_json so that gvametaconvert writes them. */
  if (self->tiled) {
    gchar scale[G_ASCII_DTOSTR_BUF_SIZE];
    gchar *extra;

    g_ascii_dtostr (scale, sizeof (scale), (gdouble) d->scale);
    extra =
        g_strdup_printf ("{\"scale\":%s,\"tile\":%d}", scale, (gint) d->tile);
    gst_structure_set (detection, "tile", G_TYPE_INT, (gint) d->tile, "scale",
        G_TYPE_DOUBLE, (gdouble) d->scale, "extra_params_json", G_TYPE_STRING,
        extra, NULL);
    g_free (extra);
  }
  gst_video_region_of_interest_meta_add_param (roi, detection);

  if (objects != NULL) {
    GValue v = G_VALUE_INIT;

    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v,
        gst_structure_new ("object", "label", G_TYPE_STRING, label, "label-id",
            G_TYPE_INT, (gint) d->label, "confidence", G_TYPE_DOUBLE,
            (gdouble) d->score, "x", G_TYPE_INT, (gint) x, "y", G_TYPE_INT,
            (gint) y, "w", G_TYPE_INT, (gint) w, "h", G_TYPE_INT, (gint) h,
            NULL));
    gst_value_list_append_and_take_value (objects, &v);
  }
}

/* Infers one frame and attaches its detections; the caller holds ctx_lock.
 * Called from the streaming thread (every-frame) or the worker (realtime). */
static GstFlowReturn
infer_frame (GstIpgNetDetect *self, GstBuffer *buf)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstVideoFrame frame;
  ipg_frame_t in = { 0 };
  ipg_status_t st;
  gint32 i, n = 0, kept = 0;
  guint max_dets, batch_n = 1;
  gboolean post, thresholds_changed, post_latency = FALSE;
  gint64 t0, t1;
  GstClockTime took;
  guint p;

  GST_OBJECT_LOCK (self);
  max_dets = self->max_detections;
  post = self->post_messages;
  thresholds_changed = self->params_changed;
  GST_OBJECT_UNLOCK (self);

  if (thresholds_changed && self->batching) {
    /* Thresholds are a batch's: move to the batch of the new ones. */
    if (!join_batcher (self))
      return GST_FLOW_ERROR;
    thresholds_changed = FALSE;
  }
  if (thresholds_changed) {
    gfloat score, iou;
    gint32 cap;

    GST_OBJECT_LOCK (self);
    score = (gfloat) self->threshold;
    iou = (gfloat) self->iou_threshold;
    cap = (gint32) self->max_detections;
    self->params_changed = FALSE;
    GST_OBJECT_UNLOCK (self);
    GST_DEBUG_OBJECT (self, "thresholds changed: score %.3f, IoU %.3f", score,
        iou);
    st = ipg_ctx_set_thresholds (self->ctx, score, iou, cap);
    if (st != IPG_OK) {
      GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
          ("Could not apply the new thresholds: %s",
              ipg_ctx_last_error (self->ctx)),
          ("ipg_ctx_set_thresholds: %s", ipg_status_name (st)));
      return GST_FLOW_ERROR;
    }
  }

  if (!gst_video_frame_map (&frame, &self->info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("could not map the %" G_GSIZE_FORMAT "-byte buffer as a %dx%d %s "
         "frame",
            gst_buffer_get_size (buf), GST_VIDEO_INFO_WIDTH (&self->info),
            GST_VIDEO_INFO_HEIGHT (&self->info),
            GST_VIDEO_INFO_NAME (&self->info)));
    return GST_FLOW_ERROR;
  }
  if (ipg_pixel_format_is_planar (self->format)) {
    for (p = 0; p < GST_VIDEO_FRAME_N_PLANES (&frame) && p < 3; p++) {
      in.planes[p] = GST_VIDEO_FRAME_PLANE_DATA (&frame, p);
      in.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, p);
    }
  } else {
    in.data = GST_VIDEO_FRAME_PLANE_DATA (&frame, 0);
    in.stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
  }

  t0 = g_get_monotonic_time ();
  if (self->batching) {
    gchar *error = NULL;

    st = gst_ipg_net_batcher_infer (self->seat, &in, self->dets,
        IPGNET_MAX_DETECTIONS, &n, &batch_n, &error);
    if (st != IPG_OK) {
      gst_video_frame_unmap (&frame);
      GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("Inference failed: %s", error),
          ("gst_ipg_net_batcher_infer: %s", ipg_status_name (st)));
      g_free (error);
      return GST_FLOW_ERROR;
    }
  } else {
    st = ipg_ctx_run (self->ctx, &in, self->dets, IPGNET_MAX_DETECTIONS, &n);
  }
  t1 = g_get_monotonic_time ();
  gst_video_frame_unmap (&frame);
  if (st != IPG_OK) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
        ("Inference failed: %s", ipg_ctx_last_error (self->ctx)),
        ("ipg_ctx_run: %s", ipg_status_name (st)));
    return GST_FLOW_ERROR;
  }

  took = (GstClockTime) (t1 - t0) * GST_USECOND;
  GST_OBJECT_LOCK (self);
  self->n_inferred++;
  if (batch_n > 1)
    self->n_batched++;
  self->total_ms += (t1 - t0) / 1000.0;
  if (took > self->worst_ns)
    self->worst_ns = took;
  /* A longer inference raises the latency the element adds: let the
   * pipeline ask again (not for every small change). */
  if (self->worst_ns > self->posted_ns + self->posted_ns / 10) {
    self->posted_ns = self->worst_ns;
    post_latency = TRUE;
  }
  GST_OBJECT_UNLOCK (self);
  if (post_latency)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));

  {
    GValue objects = G_VALUE_INIT;

    if (post)
      g_value_init (&objects, GST_TYPE_LIST);
    for (i = 0; i < n && kept < (gint32) max_dets; i++) {
      const ipg_detection_t *d = &self->dets[i];

      if (d->label < 0 || d->label >= ipg_model_num_labels (self->model))
        continue;
      attach_detection (self, buf, d, post ? &objects : NULL);
      kept++;
    }
    GST_LOG_OBJECT (self, "%d of %d detections in %.2f ms", kept, n,
        (t1 - t0) / 1000.0);

    if (post) {
      GstClockTime pts = GST_BUFFER_PTS (buf);
      GstClockTime stream_time = GST_CLOCK_TIME_NONE;
      GstClockTime running_time = GST_CLOCK_TIME_NONE;
      GstStructure *s;

      /* In realtime the segment only changes once the held frames are out
       * (serialized events drain them), so the worker reads it safely. */
      if (trans->segment.format == GST_FORMAT_TIME) {
        stream_time =
            gst_segment_to_stream_time (&trans->segment, GST_FORMAT_TIME, pts);
        running_time =
            gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, pts);
      }
      s = gst_structure_new ("ipgnetdetect", "timestamp", G_TYPE_UINT64, pts,
          "stream-time", G_TYPE_UINT64, stream_time, "running-time",
          G_TYPE_UINT64, running_time, "width", G_TYPE_INT,
          GST_VIDEO_INFO_WIDTH (&self->info), "height", G_TYPE_INT,
          GST_VIDEO_INFO_HEIGHT (&self->info), NULL);

      gst_structure_take_value (s, "objects", &objects);
      gst_element_post_message (GST_ELEMENT (self),
          gst_message_new_element (GST_OBJECT (self), s));
    }
  }

  return GST_FLOW_OK;
}

static GstFlowReturn
gst_ipg_net_detect_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (trans);
  GstFlowReturn ret;
  guint interval;

  if (!self->prepared)
    return GST_FLOW_NOT_NEGOTIATED;

  GST_OBJECT_LOCK (self);
  interval = self->interval;
  GST_OBJECT_UNLOCK (self);

  if (self->frame_index++ % interval != 0) {
    /* Tells "not looked at" from "nothing found" downstream. */
    gst_buffer_add_custom_meta (buf, GST_IPG_NET_NOT_INFERRED_META);
    return GST_FLOW_OK;
  }

  g_mutex_lock (&self->ctx_lock);
  ret = infer_frame (self, buf);
  g_mutex_unlock (&self->ctx_lock);
  return ret;
}

/* Decides auto from upstream's live flag; starts the worker for realtime.
 * Streaming thread, at the first caps (or buffer) after start. */
static void
resolve_inference_mode (GstIpgNetDetect *self)
{
  GstIpgNetInferenceMode mode;
  GstQuery *query;
  gboolean live = FALSE;

  GST_OBJECT_LOCK (self);
  mode = self->inference_mode;
  GST_OBJECT_UNLOCK (self);

  if (mode == GST_IPG_NET_INFERENCE_MODE_AUTO) {
    query = gst_query_new_latency ();
    if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), query))
      gst_query_parse_latency (query, &live, NULL, NULL);
    gst_query_unref (query);
    mode = live ? GST_IPG_NET_INFERENCE_MODE_REALTIME
                : GST_IPG_NET_INFERENCE_MODE_EVERY_FRAME;
    GST_INFO_OBJECT (self, "inference-mode auto: upstream is %s, running %s",
        live ? "live" : "not live", live ? "realtime" : "every-frame");
  } else {
    GST_INFO_OBJECT (self, "inference-mode %s",
        mode == GST_IPG_NET_INFERENCE_MODE_REALTIME ? "realtime"
                                                    : "every-frame");
  }

  if (mode == GST_IPG_NET_INFERENCE_MODE_REALTIME && self->worker == NULL) {
    g_mutex_lock (&self->rt_lock);
    self->quit = FALSE;
    self->flushing = FALSE;
    self->rt_flow = GST_FLOW_OK;
    g_mutex_unlock (&self->rt_lock);
    self->worker = g_thread_new ("ipgnetdetect", realtime_worker, self);
    self->pusher = g_thread_new ("ipgnetdetect-push", realtime_pusher, self);
  }

  GST_OBJECT_LOCK (self);
  self->resolved = mode;
  GST_OBJECT_UNLOCK (self);
}

/* The pusher: pushes the held frames that are ready, oldest first. A
 * thread of its own, so that a downstream that blocks (a synchronised
 * sink) never keeps the engine idle. */
static gpointer
realtime_pusher (gpointer data)
{
  GstIpgNetDetect *self = data;
  GstPad *srcpad = GST_BASE_TRANSFORM_SRC_PAD (self);
  GstFlowReturn ret;
  GstBuffer *buf;

  g_mutex_lock (&self->rt_lock);
  while (!self->quit) {
    buf = g_queue_peek_head (&self->held);
    if (self->flushing || buf == NULL || buf == self->pending) {
      g_cond_wait (&self->rt_cond, &self->rt_lock);
      continue;
    }
    g_queue_pop_head (&self->held);
    self->pushing = TRUE;
    g_mutex_unlock (&self->rt_lock);
    ret = gst_pad_push (srcpad, buf);
    g_mutex_lock (&self->rt_lock);
    self->pushing = FALSE;
    /* Failures stick until a flush; a relinked pad recovers. */
    if (ret != GST_FLOW_OK || self->rt_flow == GST_FLOW_NOT_LINKED)
      self->rt_flow = ret;
    g_cond_broadcast (&self->rt_cond);
  }
  g_mutex_unlock (&self->rt_lock);
  return NULL;
}

/* The worker: infers the pending frame and attaches its detections; the
 * pusher then lets it and the frames behind it go. */
static gpointer
realtime_worker (gpointer data)
{
  GstIpgNetDetect *self = data;
  GstFlowReturn ret;
  GstBuffer *buf;

  g_mutex_lock (&self->rt_lock);
  while (!self->quit) {
    if (self->pending == NULL || self->started) {
      g_cond_wait (&self->rt_cond, &self->rt_lock);
      continue;
    }
    buf = self->pending;
    self->started = TRUE;
    g_mutex_unlock (&self->rt_lock);
    g_mutex_lock (&self->ctx_lock);
    ret = infer_frame (self, buf);
    g_mutex_unlock (&self->ctx_lock);
    g_mutex_lock (&self->rt_lock);
    if (self->orphaned)
      gst_buffer_unref (buf);
    self->orphaned = FALSE;
    self->pending = NULL;
    self->started = FALSE;
    if (ret != GST_FLOW_OK)
      self->rt_flow = ret;
    g_cond_broadcast (&self->rt_cond);
  }
  g_mutex_unlock (&self->rt_lock);
  return NULL;
}

/* Drops the held frames; the one being inferred is left to the worker,
 * which frees it. rt_lock held. */
static void
realtime_drop_held (GstIpgNetDetect *self)
{
  GstBuffer *buf;

  while ((buf = g_queue_pop_head (&self->held)) != NULL) {
    if (buf == self->pending && self->started)
      self->orphaned = TRUE;
    else
      gst_buffer_unref (buf);
  }
  if (!self->started)
    self->pending = NULL;
}

static void
realtime_flush_start (GstIpgNetDetect *self)
{
  g_mutex_lock (&self->rt_lock);
  self->flushing = TRUE;
  realtime_drop_held (self);
  g_cond_broadcast (&self->rt_cond);
  g_mutex_unlock (&self->rt_lock);
}

/* Waits for the flushed inference and push (FLUSH_START went downstream, so
 * the push returns), so that nothing from before the flush follows it. */
static void
realtime_flush_stop (GstIpgNetDetect *self)
{
  g_mutex_lock (&self->rt_lock);
  while (self->pending != NULL || self->pushing)
    g_cond_wait (&self->rt_cond, &self->rt_lock);
  self->flushing = FALSE;
  self->rt_flow = GST_FLOW_OK;
  g_mutex_unlock (&self->rt_lock);
}

/* Waits until every held frame is out: at most the inference in flight.
 * FALSE when flushing. */
static gboolean
realtime_drain (GstIpgNetDetect *self)
{
  gboolean ok;

  g_mutex_lock (&self->rt_lock);
  while (!self->flushing && (!g_queue_is_empty (&self->held) || self->pushing))
    g_cond_wait (&self->rt_cond, &self->rt_lock);
  ok = !self->flushing;
  g_mutex_unlock (&self->rt_lock);
  return ok;
}

static void
realtime_stop_worker (GstIpgNetDetect *self)
{
  if (self->worker == NULL)
    return;
  g_mutex_lock (&self->rt_lock);
  self->quit = TRUE;
  self->flushing = TRUE;
  realtime_drop_held (self);
  g_cond_broadcast (&self->rt_cond);
  g_mutex_unlock (&self->rt_lock);
  /* The worker finishes the inference in flight and frees its frame; the
   * pusher's push returns (the source pad is flushing or deactivated). */
  g_thread_join (self->worker);
  g_thread_join (self->pusher);
  self->worker = NULL;
  self->pusher = NULL;
  self->pending = NULL;
  self->started = FALSE;
  self->orphaned = FALSE;
  self->pushing = FALSE;
}

/* Counts a candidate frame the busy engine skipped and posts the
 * "ipgnetdetect-skipped" message at most once a second. */
static void
count_skipped (GstIpgNetDetect *self, GstClockTime pts)
{
  GstStructure *s = NULL;
  gint64 now = g_get_monotonic_time ();

  GST_OBJECT_LOCK (self);
  self->n_skipped++;
  if (self->skip_message_us == 0 ||
      now - self->skip_message_us >= SKIPPED_MESSAGE_INTERVAL_US) {
    self->skip_message_us = now;
    self->skipped_reported = self->n_skipped;
    s = gst_structure_new ("ipgnetdetect-skipped", "frames-inferred",
        G_TYPE_UINT64, self->n_inferred, "frames-skipped", G_TYPE_UINT64,
        self->n_skipped, "timestamp", G_TYPE_UINT64, pts, NULL);
  }
  GST_OBJECT_UNLOCK (self);
  if (s != NULL)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
}

/* realtime: the frame is inferred if it is a candidate and the engine is
 * free (then held until its result is attached), else marked not inferred;
 * it waits behind the held frames, or goes straight on when none are. */
static GstFlowReturn
realtime_chain (GstIpgNetDetect *self, GstBuffer *buf)
{
  GstFlowReturn ret;
  GstClockTime pts = GST_BUFFER_PTS (buf);
  gboolean candidate;
  guint interval;

  if (!self->prepared) {
    gst_buffer_unref (buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }

  GST_OBJECT_LOCK (self);
  interval = self->interval;
  GST_OBJECT_UNLOCK (self);
  candidate = self->frame_index++ % interval == 0;
  /* Metadata is added: a shared buffer is copied (not its memory). */
  buf = gst_buffer_make_writable (buf);

  g_mutex_lock (&self->rt_lock);
  if (self->flushing) {
    g_mutex_unlock (&self->rt_lock);
    gst_buffer_unref (buf);
    return GST_FLOW_FLUSHING;
  }
  ret = self->rt_flow;
  if (candidate && self->pending == NULL) {
    self->pending = buf;
    g_queue_push_tail (&self->held, buf);
    g_cond_broadcast (&self->rt_cond);
    g_mutex_unlock (&self->rt_lock);
    return ret;
  }
  gst_buffer_add_custom_meta (buf, GST_IPG_NET_NOT_INFERRED_META);
  if (!g_queue_is_empty (&self->held) || self->pushing) {
    g_queue_push_tail (&self->held, buf);
    g_cond_broadcast (&self->rt_cond);
    buf = NULL;
  }
  g_mutex_unlock (&self->rt_lock);

  if (candidate)
    count_skipped (self, pts);
  /* Nothing is held and only this thread adds to held: the worker is not
   * pushing, so pushing here keeps the order. */
  if (buf != NULL)
    ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), buf);
  return ret;
}

static GstFlowReturn
gst_ipg_net_detect_submit_input_buffer (GstBaseTransform *trans,
    gboolean is_discont, GstBuffer *buf)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (trans);

  if (self->resolved == GST_IPG_NET_INFERENCE_MODE_AUTO)
    resolve_inference_mode (self);
  if (self->resolved == GST_IPG_NET_INFERENCE_MODE_REALTIME)
    return realtime_chain (self, buf);
  return GST_BASE_TRANSFORM_CLASS (parent_class)
      ->submit_input_buffer (trans, is_discont, buf);
}

static GstFlowReturn
gst_ipg_net_detect_generate_output (GstBaseTransform *trans, GstBuffer **outbuf)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (trans);

  /* realtime pushes its frames itself (realtime_chain, the worker). */
  if (self->resolved == GST_IPG_NET_INFERENCE_MODE_REALTIME) {
    *outbuf = NULL;
    return GST_FLOW_OK;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)
      ->generate_output (trans, outbuf);
}

static gboolean
gst_ipg_net_detect_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (trans);

  if (self->resolved == GST_IPG_NET_INFERENCE_MODE_REALTIME) {
    switch (GST_EVENT_TYPE (event)) {
      case GST_EVENT_FLUSH_START:
        realtime_flush_start (self);
        break;
      case GST_EVENT_FLUSH_STOP:
        realtime_flush_stop (self);
        break;
      default:
        /* Caps, segment, gap, EOS, ...: after the frames before them. */
        if (GST_EVENT_IS_SERIALIZED (event) && !realtime_drain (self)) {
          gst_event_unref (event);
          return FALSE;
        }
        break;
    }
  }
  /* A stream at its end sends no more frames: its batch stops waiting for
   * it (its next frame, after a flush or seek, counts it again). */
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    GST_OBJECT_LOCK (self);
    gst_ipg_net_batcher_set_active (self->seat, FALSE);
    GST_OBJECT_UNLOCK (self);
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* Serialized sink queries (allocation, drain) wait for the held frames, as
 * serialized events do.
 * LATENCY: upstream's plus the longest inference measured so far, capped by
 * max-latency; realtime holds a frame for at most one inference, so it may
 * add up to max-latency, every-frame exactly what it measured. */
static gboolean
gst_ipg_net_detect_query (GstBaseTransform *trans, GstPadDirection direction,
    GstQuery *query)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (trans);
  GstClockTime min, max, ours_min, ours_max;
  gboolean live;

  if (direction == GST_PAD_SINK &&
      self->resolved == GST_IPG_NET_INFERENCE_MODE_REALTIME &&
      GST_QUERY_IS_SERIALIZED (query) && !realtime_drain (self))
    return FALSE;
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS (parent_class)
        ->query (trans, direction, query);

  if (!gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (trans), query))
    return FALSE;
  gst_query_parse_latency (query, &live, &min, &max);

  GST_OBJECT_LOCK (self);
  ours_min = MIN (self->worst_ns, self->max_latency);
  ours_max = self->resolved == GST_IPG_NET_INFERENCE_MODE_REALTIME
                 ? self->max_latency
                 : ours_min;
  GST_OBJECT_UNLOCK (self);

  GST_DEBUG_OBJECT (self,
      "upstream latency live %d min %" GST_TIME_FORMAT " max %" GST_TIME_FORMAT
      ", adding %" GST_TIME_FORMAT " / %" GST_TIME_FORMAT,
      live, GST_TIME_ARGS (min), GST_TIME_ARGS (max), GST_TIME_ARGS (ours_min),
      GST_TIME_ARGS (ours_max));
  min += ours_min;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += ours_max;
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

static GstStateChangeReturn
gst_ipg_net_detect_change_state (GstElement *element, GstStateChange transition)
{
  GstIpgNetDetect *self = GST_IPG_NET_DETECT (element);

  /* Wakes a streaming thread waiting on held frames, so that the sink pad
   * can be deactivated; stop() then joins the worker. */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    realtime_flush_start (self);
  /* A batch waits only for PLAYING streams (gstipgnetbatcher.h). */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING ||
      transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED) {
    GST_OBJECT_LOCK (self);
    self->playing = transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING;
    gst_ipg_net_batcher_set_playing (self->seat, self->playing);
    GST_OBJECT_UNLOCK (self);
  }

  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}
