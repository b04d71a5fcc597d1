/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetjson.c: writes the regions of interest of each frame as a JSON
 * line, in the schema of DL Streamer's gvametaconvert. */

/**
 * SECTION:element-ipgnetjson
 * @title: ipgnetjson
 *
 * Writes one line of JSON per frame describing its
 * #GstVideoRegionOfInterestMeta, and passes the buffer through untouched.
 * The schema is the one of DL Streamer's gvametaconvert:
 *
 * |[
 * {"timestamp": 40000000, "resolution": {"width": 640, "height": 480},
 *  "objects": [{"x": 12, "y": 40, "w": 64, "h": 32, "roi_type": "car",
 *               "detection": {"bounding_box": {"x_min": 0.01875,
 *                 "y_min": 0.0833, "x_max": 0.11875, "y_max": 0.15},
 *               "confidence": 0.91, "label_id": 2, "label": "car"}}]}
 * ]|
 *
 * (wrapped here; the element writes each frame on a single line).
 * "timestamp" is the buffer PTS in nanoseconds, or null when the buffer has
 * none. x, y, w, h are pixels; the bounding box is normalised to the frame.
 * The bounding box, confidence, label_id and label come from the meta's
 * "detection" parameter structure (as attached by ipgnetdetect); for a meta
 * without one the bounding box is derived from x, y, w, h, the label is the
 * roi_type name, and confidence and label_id are left out. Objects are
 * listed in the order their metas were attached. An object with an
 * "object_id" param (ipgnettrack, DL Streamer's gvatrack) has its id as
 * "id" after "h", as gvametaconvert writes it; a box that ipgnettrack
 * predicted on a frame the detector did not infer has "tracked": true in
 * its "detection".
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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/video/video.h>

#include "gstipgnetjson.h"
#include "gstipgnetmeta.h"
#include "json.h"

struct _GstIpgNetJson
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *location;
  gboolean skip_empty;

  /* streaming state: the output between start() and stop() */
  FILE *file;                   /* stdout when location is NULL */
  gboolean own_file;            /* fclose() it in stop() */
  gchar *file_name;             /* for error messages */
  gboolean write_failed;        /* an error was posted since start() */
  gint width, height;           /* from caps */
  GString *line;                /* reused for every frame */
};

GST_DEBUG_CATEGORY_STATIC (gst_ipg_net_json_debug);
#define GST_CAT_DEFAULT gst_ipg_net_json_debug

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_SKIP_EMPTY,
};

#define DEFAULT_LOCATION NULL
#define DEFAULT_SKIP_EMPTY FALSE

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

static void gst_ipg_net_json_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_ipg_net_json_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_ipg_net_json_finalize (GObject * object);
static gboolean gst_ipg_net_json_start (GstBaseTransform * trans);
static gboolean gst_ipg_net_json_stop (GstBaseTransform * trans);
static gboolean gst_ipg_net_json_set_caps (GstBaseTransform * trans,
    GstCaps * incaps, GstCaps * outcaps);
static gboolean gst_ipg_net_json_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static GstFlowReturn gst_ipg_net_json_transform_ip (GstBaseTransform * trans,
    GstBuffer * buf);

G_DEFINE_TYPE (GstIpgNetJson, gst_ipg_net_json, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (ipgnetjson, "ipgnetjson", GST_RANK_NONE,
    GST_TYPE_IPG_NET_JSON);

static void
gst_ipg_net_json_class_init (GstIpgNetJsonClass * klass)
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
   * GstIpgNetJson:skip-empty:
   *
   * Write no line for frames without any region of interest.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_SKIP_EMPTY,
      g_param_spec_boolean ("skip-empty", "Skip empty",
          "Write no line for frames without objects", DEFAULT_SKIP_EMPTY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "IPG-Net JSON writer", "Filter/Video/Metadata",
      "Writes the regions of interest of each frame as a JSON line "
      "(DL Streamer gvametaconvert schema)", "ipgnet");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ipg_net_json_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ipg_net_json_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_ipg_net_json_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_ipg_net_json_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_ipg_net_json_transform_ip);
  trans_class->passthrough_on_same_caps = TRUE;
  trans_class->transform_ip_on_passthrough = TRUE;
}

static void
gst_ipg_net_json_init (GstIpgNetJson * self)
{
  self->location = g_strdup (DEFAULT_LOCATION);
  self->skip_empty = DEFAULT_SKIP_EMPTY;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}

static void
gst_ipg_net_json_finalize (GObject * object)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (object);

  g_free (self->location);
  g_free (self->file_name);
  if (self->line != NULL)
    g_string_free (self->line, TRUE);

  G_OBJECT_CLASS (gst_ipg_net_json_parent_class)->finalize (object);
}

static void
gst_ipg_net_json_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    case PROP_SKIP_EMPTY:
      self->skip_empty = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ipg_net_json_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_SKIP_EMPTY:
      g_value_set_boolean (value, self->skip_empty);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_ipg_net_json_start (GstBaseTransform * trans)
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
gst_ipg_net_json_post_write_error (GstIpgNetJson * self, int err)
{
  if (self->write_failed) {
    GST_WARNING_OBJECT (self, "writing to %s failed again: %s",
        self->file_name, g_strerror (err));
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
gst_ipg_net_json_flush (GstIpgNetJson * self)
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
gst_ipg_net_json_stop (GstBaseTransform * trans)
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
gst_ipg_net_json_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (trans);
  GstStructure *s = gst_caps_get_structure (incaps, 0);
  gint width, height;

  /* Only the size is needed, so any format and memory work (no
   * GstVideoInfo, which would reject formats it does not know). */
  if (!gst_structure_get_int (s, "width", &width) ||
      !gst_structure_get_int (s, "height", &height) ||
      width <= 0 || height <= 0) {
    GST_ERROR_OBJECT (self, "caps without a valid width and height: %"
        GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  self->width = width;
  self->height = height;
  GST_DEBUG_OBJECT (self, "frame size %dx%d", width, height);

  return TRUE;
}

static gboolean
gst_ipg_net_json_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    if (!gst_ipg_net_json_flush (self)) {
      gst_event_unref (event);
      return FALSE;
    }
  }

  return GST_BASE_TRANSFORM_CLASS (gst_ipg_net_json_parent_class)->sink_event
      (trans, event);
}

static void
json_append_sink (void *ud, const char *bytes, size_t n)
{
  g_string_append_len ((GString *) ud, bytes, (gssize) n);
}

/* Appends a JSON string literal. Control characters, quotes and
 * backslashes are escaped; UTF-8 stays UTF-8, and invalid UTF-8 becomes
 * U+FFFD: JSON text must be valid Unicode. */
static void
json_append_string (GString * out, const gchar * s)
{
  ipg_json_write_string (s, strlen (s), FALSE, json_append_sink, out);
}

/* Appends a number in the shortest form that reads back to the same double,
 * independent of the locale. JSON has no NaN or infinity: those are null. */
static void
json_append_double (GString * out, gdouble v)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (v)) {
    g_string_append (out, "null");
    return;
  }
  g_ascii_formatd (buf, sizeof (buf), "%.15g", v);
  if (g_ascii_strtod (buf, NULL) != v)
    g_ascii_formatd (buf, sizeof (buf), "%.17g", v);
  g_string_append (out, buf);
}

static void
json_append_object (GstIpgNetJson * self, GString * out,
    GstVideoRegionOfInterestMeta * roi)
{
  GstStructure *det;
  const gchar *roi_type = g_quark_to_string (roi->roi_type);
  const gchar *label = NULL;
  gdouble x_min, y_min, x_max, y_max, confidence, label_id;
  gboolean has_box, tracked = FALSE;
  GstStructure *object_id;
  gint id;

  if (roi_type == NULL)
    roi_type = "";

  g_string_append_printf (out, "{\"x\": %u, \"y\": %u, \"w\": %u, "
      "\"h\": %u, ", roi->x, roi->y, roi->w, roi->h);
  object_id = gst_video_region_of_interest_meta_get_param (roi, "object_id");
  if (object_id != NULL && gst_structure_get_int (object_id, "id", &id))
    g_string_append_printf (out, "\"id\": %d, ", id);
  g_string_append (out, "\"roi_type\": ");
  json_append_string (out, roi_type);

  det = gst_video_region_of_interest_meta_get_param (roi, "detection");
  has_box = det != NULL &&
      gst_ipg_net_structure_get_number (det, "x_min", &x_min) &&
      gst_ipg_net_structure_get_number (det, "y_min", &y_min) &&
      gst_ipg_net_structure_get_number (det, "x_max", &x_max) &&
      gst_ipg_net_structure_get_number (det, "y_max", &y_max);
  if (!has_box) {
    x_min = (gdouble) roi->x / self->width;
    y_min = (gdouble) roi->y / self->height;
    x_max = ((gdouble) roi->x + roi->w) / self->width;
    y_max = ((gdouble) roi->y + roi->h) / self->height;
  }

  g_string_append (out, ", \"detection\": {\"bounding_box\": {\"x_min\": ");
  json_append_double (out, x_min);
  g_string_append (out, ", \"y_min\": ");
  json_append_double (out, y_min);
  g_string_append (out, ", \"x_max\": ");
  json_append_double (out, x_max);
  g_string_append (out, ", \"y_max\": ");
  json_append_double (out, y_max);
  g_string_append_c (out, '}');

  if (det != NULL) {
    if (gst_ipg_net_structure_get_number (det, "confidence", &confidence)) {
      g_string_append (out, ", \"confidence\": ");
      json_append_double (out, confidence);
    }
    if (gst_ipg_net_structure_get_number (det, "label_id", &label_id)) {
      g_string_append (out, ", \"label_id\": ");
      json_append_double (out, label_id);
    }
    label = gst_structure_get_string (det, "label");
    if (gst_structure_get_boolean (det, "tracked", &tracked) && tracked)
      g_string_append (out, ", \"tracked\": true");
  }
  g_string_append (out, ", \"label\": ");
  json_append_string (out, label != NULL ? label : roi_type);
  g_string_append (out, "}}");
}

static GstFlowReturn
gst_ipg_net_json_transform_ip (GstBaseTransform * trans, GstBuffer * buf)
{
  GstIpgNetJson *self = GST_IPG_NET_JSON (trans);
  GString *line = self->line;
  GstMeta *meta;
  gpointer state = NULL;
  gboolean skip_empty;
  guint n_objects = 0;

  if (self->file == NULL || self->width <= 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("buffer before caps or start"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  GST_OBJECT_LOCK (self);
  skip_empty = self->skip_empty;
  GST_OBJECT_UNLOCK (self);

  g_string_truncate (line, 0);
  g_string_append (line, "{\"timestamp\": ");
  if (GST_BUFFER_PTS_IS_VALID (buf))
    g_string_append_printf (line, "%" G_GUINT64_FORMAT, GST_BUFFER_PTS (buf));
  else
    g_string_append (line, "null");
  g_string_append_printf (line, ", \"resolution\": {\"width\": %d, "
      "\"height\": %d}, \"objects\": [", self->width, self->height);
  /* Metas iterate in the order they were attached (the detector's). */
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    if (n_objects++ > 0)
      g_string_append (line, ", ");
    json_append_object (self, line, (GstVideoRegionOfInterestMeta *) meta);
  }
  g_string_append (line, "]}\n");

  if (n_objects == 0 && skip_empty)
    return GST_FLOW_OK;

  if (fwrite (line->str, 1, line->len, self->file) != line->len) {
    gst_ipg_net_json_post_write_error (self, errno);
    clearerr (self->file);
    return GST_FLOW_ERROR;
  }
  if (!gst_ipg_net_json_flush (self))
    return GST_FLOW_ERROR;

  return GST_FLOW_OK;
}
