/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetjson.c: writes the regions of interest of each frame as a JSON
 * line, in the schema of DL Streamer's gvametaconvert. */

/**
 * SECTION:element-ipgnetjson
 * @title: ipgnetjson
 *
 * Writes the message DL Streamer's gvametaconvert (format=json,
 * json-indent=-1) makes of each frame's #GstVideoRegionOfInterestMeta, one
 * per line (JSON Lines), and passes the buffer through untouched. For a
 * 320x240 frame at 40 ms with one "car":
 *
 * |[
 * {"objects":[{"detection":{"bounding_box":{"x_max":0.3,"x_min":0.1,"y_max":0.3,"y_min":0.1},"confidence":0.5,"label":"car","label_id":2},"h":48,"region_id":7,"roi_type":"car","w":64,"x":32,"y":24}],"resolution":{"height":240,"width":320},"timestamp":40000000}
 * ]|
 *
 * Keys are sorted and separators compact, as nlohmann::json writes them.
 * "timestamp" is the stream time of the PTS in nanoseconds (absent without
 * a PTS). Frames without objects are written only with
 * #GstIpgNetJson:add-empty-results, and then without "objects". An object
 * tracked by ipgnettrack or gvatrack has its "id"; classification params
 * (a "label" and a "model_name") are entries named after them. Our extras
 * go where gvametaconvert puts a detector's extra parameters,
 * "extra_params": ipgnetdetect's tile provenance ("tile", "scale") and
 * ipgnettrack's "tracked": true on a predicted box. Regions from GStreamer's
 * onnxobjectdetector are written as DL Streamer detections. The rules, and
 * where each comes from in DL Streamer's sources, are in
 * gstipgnetjsonwriter.c; ipgnetpublish writes the same messages.
 *
 * Every line is flushed as soon as it is written, so that a consumer
 * reading a pipe or following the file sees each frame at once and a write
 * error is reported on the frame that caused it. Any write error is an
 * element error (RESOURCE/WRITE): results are never lost silently.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! videoconvert ! ipgnetdetect model=model.safetensors ! ipgnetjson location=detections.jsonl ! fakesink
 * ]|
 *
 * Since: 0.1
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gst/video/video.h>

#include "gstipgnetjson.h"
#include "gstipgnetjsonwriter.h"

struct _GstIpgNetJson
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *location;
  gboolean add_empty_results;
  gchar *source;
  gchar *tags;

  /* streaming state: the output between start() and stop() */
  FILE *file;            /* stdout when location is NULL */
  gboolean own_file;     /* fclose() it in stop() */
  gchar *file_name;      /* for error messages */
  gboolean write_failed; /* an error was posted since start() */
  gint width, height;    /* from caps */
  GString *line;         /* reused for every frame */
};

GST_DEBUG_CATEGORY_STATIC (gst_ipg_net_json_debug);
#define GST_CAT_DEFAULT gst_ipg_net_json_debug

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_ADD_EMPTY_RESULTS,
  PROP_SOURCE,
  PROP_TAGS,
};

#define DEFAULT_LOCATION NULL
#define DEFAULT_ADD_EMPTY_RESULTS FALSE

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

static void gst_ipg_net_json_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec);
static void gst_ipg_net_json_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec);
static void gst_ipg_net_json_finalize (GObject *object);
static gboolean gst_ipg_net_json_start (GstBaseTransform *trans);
static gboolean gst_ipg_net_json_stop (GstBaseTransform *trans);
static gboolean gst_ipg_net_json_set_caps (GstBaseTransform *trans,
    GstCaps *incaps, GstCaps *outcaps);
static gboolean gst_ipg_net_json_sink_event (GstBaseTransform *trans,
    GstEvent *event);
static GstFlowReturn gst_ipg_net_json_transform_ip (GstBaseTransform *trans,
    GstBuffer *buf);

G_DEFINE_TYPE (GstIpgNetJson, gst_ipg_net_json, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (ipgnetjson, "ipgnetjson", GST_RANK_NONE,
    GST_TYPE_IPG_NET_JSON);

static void
gst_ipg_net_json_class_init (GstIpgNetJsonClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_ipg_net_json_debug, "ipgnetjson", 0,
      "IPG-Net detections as JSON lines");

  gobject_class->set_property = gst_ipg_net_json_set_property;
  gobject_class->get_property = gst_ipg_net_json_get_property;
  gobject_class->finalize = gst_ipg_net_json_finalize;

  /**
   * GstIpgNetJson:location:
   *
   * File to write the JSON lines to, truncated when the element starts.
   * NULL (the default) writes to standard output.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "File to write the JSON lines to (NULL: standard output)",
          DEFAULT_LOCATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstIpgNetJson:add-empty-results:
   *
   * Also write frames without any region of interest (gvametaconvert's
   * add-empty-results); their line has no "objects".
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_ADD_EMPTY_RESULTS,
      g_param_spec_boolean ("add-empty-results", "Add empty results",
          "Also write frames without objects", DEFAULT_ADD_EMPTY_RESULTS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetJson:source:
   *
   * Written as the "source" of every line (gvametaconvert's source), e.g.
   * the input's URI. NULL (the default) writes none.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_SOURCE,
      g_param_spec_string ("source", "Source",
          "Written as \"source\" in every line (NULL: none)", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetJson:tags:
   *
   * A JSON text written as the "tags" of every line (gvametaconvert's
   * tags), e.g. {"camera":"gate-2"}. Text that is not JSON is refused with
   * a warning and writes no tags.
   *
   * Since: 0.2
   */
  g_object_class_install_property (gobject_class, PROP_TAGS,
      g_param_spec_string ("tags", "Tags",
          "JSON written as \"tags\" in every line (NULL: none)", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "IPG-Net JSON writer",
      "Filter/Video/Metadata",
      "Writes the regions of interest of each frame as a JSON line, "
      "as DL Streamer's gvametaconvert writes them",
      "ipgnet");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ipg_net_json_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ipg_net_json_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_ipg_net_json_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_ipg_net_json_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_ipg_net_json_transform_ip);
  trans_class->passthrough_on_same_caps = TRUE;
  trans_class->transform_ip_on_passthrough = TRUE;
}

static void
gst_ipg_net_json_init (GstIpgNetJson *self)
{
  self->location = g_strdup (DEFAULT_LOCATION);
  self->add_empty_results = DEFAULT_ADD_EMPTY_RESULTS;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}

static void
gst_ipg_net_json_finalize (GObject *object)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (object);

  g_free (self->location);
  g_free (self->source);
  g_free (self->tags);
  g_free (self->file_name);
  if (self->line != NULL)
    g_string_free (self->line, TRUE);

  G_OBJECT_CLASS (gst_ipg_net_json_parent_class)->finalize (object);
}

static void
gst_ipg_net_json_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    case PROP_ADD_EMPTY_RESULTS:
      self->add_empty_results = g_value_get_boolean (value);
      break;
    case PROP_SOURCE:
      g_free (self->source);
      self->source = g_value_dup_string (value);
      break;
    case PROP_TAGS: {
      const gchar *tags = g_value_get_string (value);

      g_free (self->tags);
      self->tags = NULL;
      if (tags != NULL && !gst_ipg_net_json_tags_valid (tags))
        g_warning ("ipgnetjson: tags \"%s\" are not JSON text; no tags "
                   "are written.",
            tags);
      else
        self->tags = g_strdup (tags);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ipg_net_json_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_ADD_EMPTY_RESULTS:
      g_value_set_boolean (value, self->add_empty_results);
      break;
    case PROP_SOURCE:
      g_value_set_string (value, self->source);
      break;
    case PROP_TAGS:
      g_value_set_string (value, self->tags);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_ipg_net_json_start (GstBaseTransform *trans)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (trans);
  gchar *location;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  GST_OBJECT_UNLOCK (self);

  g_free (self->file_name);
  if (location == NULL || *location == '\0') {
    self->file = stdout;
    self->own_file = FALSE;
    self->file_name = g_strdup ("<stdout>");
  } else {
    self->file = fopen (location, "w");
    if (self->file == NULL) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("Could not open file \"%s\" for writing.", location),
          GST_ERROR_SYSTEM);
      self->file_name = NULL;
      g_free (location);
      return FALSE;
    }
    self->own_file = TRUE;
    self->file_name = g_strdup (location);
  }
  GST_DEBUG_OBJECT (self, "writing to %s", self->file_name);
  g_free (location);

  if (self->line == NULL)
    self->line = g_string_sized_new (1024);
  self->width = self->height = 0;
  self->write_failed = FALSE;

  return TRUE;
}

/* Posts the write error once: the data still buffered makes the flushes
 * at EOS and in stop() fail again, and one message per failure is
 * enough. */
static void
gst_ipg_net_json_post_write_error (GstIpgNetJson *self, int err)
{
  if (self->write_failed) {
    GST_WARNING_OBJECT (self, "writing to %s failed again: %s", self->file_name,
        g_strerror (err));
    return;
  }
  self->write_failed = TRUE;
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
      ("Could not write to file \"%s\".", self->file_name),
      ("system error: %s", g_strerror (err)));
}

/* Flushes the output; posts an element error and returns FALSE on
 * failure. */
static gboolean
gst_ipg_net_json_flush (GstIpgNetJson *self)
{
  if (self->file == NULL)
    return TRUE;
  if (fflush (self->file) != 0) {
    gst_ipg_net_json_post_write_error (self, errno);
    clearerr (self->file);
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_ipg_net_json_stop (GstBaseTransform *trans)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (trans);
  gboolean flushed;

  if (self->file == NULL)
    return TRUE;

  /* A failure here is posted as an element error, but the element still
   * stops: the file is closed either way. */
  flushed = gst_ipg_net_json_flush (self);
  if (self->own_file && fclose (self->file) != 0 && flushed)
    gst_ipg_net_json_post_write_error (self, errno);
  self->file = NULL;
  self->own_file = FALSE;

  return TRUE;
}

static gboolean
gst_ipg_net_json_set_caps (GstBaseTransform *trans, GstCaps *incaps,
    GstCaps *outcaps)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (trans);
  GstStructure *s = gst_caps_get_structure (incaps, 0);
  gint width, height;

  /* Only the size is needed, so any format and memory work (no
   * GstVideoInfo, which would reject formats it does not know). */
  if (!gst_structure_get_int (s, "width", &width) ||
      !gst_structure_get_int (s, "height", &height) || width <= 0 ||
      height <= 0) {
    GST_ERROR_OBJECT (self,
        "caps without a valid width and height: %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  self->width = width;
  self->height = height;
  GST_DEBUG_OBJECT (self, "frame size %dx%d", width, height);

  return TRUE;
}

static gboolean
gst_ipg_net_json_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    if (!gst_ipg_net_json_flush (self)) {
      gst_event_unref (event);
      return FALSE;
    }
  }

  return GST_BASE_TRANSFORM_CLASS (gst_ipg_net_json_parent_class)
      ->sink_event (trans, event);
}

static GstFlowReturn
gst_ipg_net_json_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (trans);
  GString *line = self->line;
  GstIpgNetJsonOptions opts;
  gboolean written;

  if (self->file == NULL || self->width <= 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("buffer before caps or start"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  g_string_truncate (line, 0);
  GST_OBJECT_LOCK (self);
  opts.source = self->source;
  opts.tags = self->tags;
  opts.add_empty_results = self->add_empty_results;
  written = gst_ipg_net_json_write_frame (line, buf, &trans->segment,
      self->width, self->height, &opts);
  GST_OBJECT_UNLOCK (self);
  if (!written)
    return GST_FLOW_OK;
  g_string_append_c (line, '\n');

  if (fwrite (line->str, 1, line->len, self->file) != line->len) {
    gst_ipg_net_json_post_write_error (self, errno);
    clearerr (self->file);
    return GST_FLOW_ERROR;
  }
  if (!gst_ipg_net_json_flush (self))
    return GST_FLOW_ERROR;

  return GST_FLOW_OK;
}
