/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ipgnettrack: stable object ids across frames (ByteTrack association).
 * Copyright (C) 2025 The ipgnet authors
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Lesser General Public License as published by
 * the Free Software Foundation; either version 2.1 of the License, or (at
 * your option) any later version.
 */

/**
 * SECTION:element-ipgnettrack
 * @title: ipgnettrack
 * @see_also: ipgnetdetect, ipgnetoverlay, ipgnetjson
 *
 * Follows the objects found by a detector from frame to frame and gives
 * each one a stable id. It reads the #GstVideoRegionOfInterestMeta of any
 * producer (ipgnetdetect, DL Streamer's gvadetect, ...) and associates them
 * to tracks as ByteTrack does: confident detections first, then the weak
 * ones (down to #GstIpgNetTrack:low-thresh) keep the tracks they overlap
 * alive; each track has a constant-velocity Kalman filter, and detections
 * are matched to tracks by intersection over union, optimally. The
 * association is the ipg-track library's (ipg/track/tracker.h).
 *
 * A detection that belongs to a confirmed track gets the track's id the way
 * DL Streamer's gvatrack writes it: a param structure named "object_id" with
 * an int field "id" (1, 2, 3, ...; unique and never reused while the element
 * runs). Detections that belong to no confirmed track (a tentative one, or
 * a weak detection) are left as they are, without "object_id".
 *
 * On a frame the detector did not infer (ipgnetdetect marks the frames its
 * #GstIpgNetDetect:interval skips with the custom meta
 * "GstIpgNetNotInferredMeta"), the tracks are moved on by their velocity
 * and each confirmed, currently tracked object is added as a new
 * #GstVideoRegionOfInterestMeta: roi_type the object's label, and params
 * "detection" (`x_min`, `y_min`, `x_max`, `y_max` normalised, `confidence`
 * of its last detection, `label_id` when the detector gave one, and
 * `tracked` = TRUE, which is ipgnet's own field: this box is predicted,
 * not detected; no `label`: as in DL Streamer, the label is the roi_type)
 * and "object_id". Region metas already marked `tracked` are
 * never taken for detections.
 *
 * Frames are never dropped, reordered or modified: only metadata is added.
 * A flush, EOS or a stop forgets every track.
 *
 * For ByteTrack's second association the detector must report weak
 * detections too: set its threshold to #GstIpgNetTrack:low-thresh.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! videoconvert ! ipgnetdetect model=model.safetensors threshold=0.1 interval=2 ! ipgnettrack ! ipgnetjson location=tracks.jsonl ! ipgnetoverlay ! videoconvert ! autovideosink
 * ]|
 *
 * Since: 0.1
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstipgnettrack.h"

#include <math.h>

#include <gst/video/video.h>

#include "gstipgnetmeta.h"
#include "tracker.h"

struct _GstIpgNetTrack
{
  GstBaseTransform parent;

  /* properties, under the object lock; applied when the element starts */
  gdouble track_thresh;
  gdouble low_thresh;
  gdouble new_track_thresh;
  gdouble match_thresh;
  guint min_hits;
  guint max_age;
  gboolean per_class;

  /* streaming thread, from start() to stop() */
  ipg_tracker_t *tracker;
  GHashTable *label_ids; /* roi_type quark -> label_id + 1 */
  GArray *dets;          /* ipg_track_det_t */
  GPtrArray *rois;       /* the meta of each entry of dets */
  GArray *ids;           /* gint32 */
  GArray *objects;       /* ipg_track_object_t */

  /* from caps */
  gint width, height;
};

GST_DEBUG_CATEGORY_STATIC (gst_ipg_net_track_debug);
#define GST_CAT_DEFAULT gst_ipg_net_track_debug

enum
{
  PROP_0,
  PROP_TRACK_THRESH,
  PROP_LOW_THRESH,
  PROP_NEW_TRACK_THRESH,
  PROP_MATCH_THRESH,
  PROP_MIN_HITS,
  PROP_MAX_AGE,
  PROP_PER_CLASS,
};

#define DEFAULT_TRACK_THRESH 0.5
#define DEFAULT_LOW_THRESH 0.1
#define DEFAULT_NEW_TRACK_THRESH 0.6
#define DEFAULT_MATCH_THRESH 0.8
#define DEFAULT_MIN_HITS 2
#define DEFAULT_MAX_AGE 30
#define DEFAULT_PER_CLASS TRUE

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

static void gst_ipg_net_track_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec);
static void gst_ipg_net_track_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec);
static gboolean gst_ipg_net_track_start (GstBaseTransform *trans);
static gboolean gst_ipg_net_track_stop (GstBaseTransform *trans);
static gboolean gst_ipg_net_track_set_caps (GstBaseTransform *trans,
    GstCaps *incaps, GstCaps *outcaps);
static gboolean gst_ipg_net_track_sink_event (GstBaseTransform *trans,
    GstEvent *event);
static GstFlowReturn gst_ipg_net_track_transform_ip (GstBaseTransform *trans,
    GstBuffer *buf);

G_DEFINE_TYPE (GstIpgNetTrack, gst_ipg_net_track, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (ipgnettrack, "ipgnettrack", GST_RANK_NONE,
    GST_TYPE_IPG_NET_TRACK);

static void
gst_ipg_net_track_class_init (GstIpgNetTrackClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags flags =
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_ipg_net_track_debug, "ipgnettrack", 0,
      "IPG-Net object tracking");

  gobject_class->set_property = gst_ipg_net_track_set_property;
  gobject_class->get_property = gst_ipg_net_track_get_property;

  /**
   * GstIpgNetTrack:track-thresh:
   *
   * Detections at least this confident are matched first and may start
   * tracks; weaker ones (down to #GstIpgNetTrack:low-thresh) only keep
   * existing tracks alive.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_TRACK_THRESH,
      g_param_spec_double ("track-thresh", "Track threshold",
          "Confidence of a high detection (matched first, may start a track)",
          0.0, 1.0, DEFAULT_TRACK_THRESH, flags));

  /**
   * GstIpgNetTrack:low-thresh:
   *
   * Detections less confident than this are ignored. At most
   * #GstIpgNetTrack:track-thresh (a higher value is used as track-thresh).
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_LOW_THRESH,
      g_param_spec_double ("low-thresh", "Low threshold",
          "Confidence below which a detection is ignored", 0.0, 1.0,
          DEFAULT_LOW_THRESH, flags));

  /**
   * GstIpgNetTrack:new-track-thresh:
   *
   * A high detection left unmatched starts a new (tentative) track only if
   * it is at least this confident (ByteTrack: track-thresh + 0.1).
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_NEW_TRACK_THRESH,
      g_param_spec_double ("new-track-thresh", "New track threshold",
          "Confidence an unmatched detection needs to start a track", 0.0, 1.0,
          DEFAULT_NEW_TRACK_THRESH, flags));

  /**
   * GstIpgNetTrack:match-thresh:
   *
   * ByteTrack's match_thresh: in the first association a detection and a
   * track match only when 1 - IoU <= this (0.8: IoU at least 0.2).
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_MATCH_THRESH,
      g_param_spec_double ("match-thresh", "Match threshold",
          "Largest 1 - IoU of a detection and the track it matches", 0.0, 1.0,
          DEFAULT_MATCH_THRESH, flags));

  /**
   * GstIpgNetTrack:min-hits:
   *
   * A new track is confirmed, and its detections get an id, after this many
   * consecutive inferred frames with a match (2 is ByteTrack's rule).
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_MIN_HITS,
      g_param_spec_uint ("min-hits", "Minimum hits",
          "Consecutive matched frames that confirm a track", 1, 100,
          DEFAULT_MIN_HITS, flags));

  /**
   * GstIpgNetTrack:max-age:
   *
   * A confirmed track without a match for more than this many frames
   * (frames not inferred included) is forgotten; until then the object
   * keeps its id when it is found again.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_MAX_AGE,
      g_param_spec_uint ("max-age", "Maximum age",
          "Frames a track is kept without a match", 0, 100000, DEFAULT_MAX_AGE,
          flags));

  /**
   * GstIpgNetTrack:per-class:
   *
   * Track each class on its own (a detection only continues a track of its
   * own label); FALSE lets a track follow a box whose label changes.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_PER_CLASS,
      g_param_spec_boolean ("per-class", "Per class",
          "Match detections only to tracks of the same label",
          DEFAULT_PER_CLASS, flags));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "IPG-Net object tracker", "Filter/Analyzer/Video",
      "Gives detected objects stable ids across frames (ByteTrack "
      "association, Kalman filter) and predicts them on frames that were "
      "not inferred",
      "ipgnet");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ipg_net_track_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ipg_net_track_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_ipg_net_track_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_ipg_net_track_sink_event);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_ipg_net_track_transform_ip);
}

static void
gst_ipg_net_track_init (GstIpgNetTrack *self)
{
  self->track_thresh = DEFAULT_TRACK_THRESH;
  self->low_thresh = DEFAULT_LOW_THRESH;
  self->new_track_thresh = DEFAULT_NEW_TRACK_THRESH;
  self->match_thresh = DEFAULT_MATCH_THRESH;
  self->min_hits = DEFAULT_MIN_HITS;
  self->max_age = DEFAULT_MAX_AGE;
  self->per_class = DEFAULT_PER_CLASS;

  /* Only metadata is added: the frame is never read or written. */
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);
}

static void
gst_ipg_net_track_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstIpgNetTrack *self = GST_IPG_NET_TRACK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_TRACK_THRESH:
      self->track_thresh = g_value_get_double (value);
      break;
    case PROP_LOW_THRESH:
      self->low_thresh = g_value_get_double (value);
      break;
    case PROP_NEW_TRACK_THRESH:
      self->new_track_thresh = g_value_get_double (value);
      break;
    case PROP_MATCH_THRESH:
      self->match_thresh = g_value_get_double (value);
      break;
    case PROP_MIN_HITS:
      self->min_hits = g_value_get_uint (value);
      break;
    case PROP_MAX_AGE:
      self->max_age = g_value_get_uint (value);
      break;
    case PROP_PER_CLASS:
      self->per_class = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ipg_net_track_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstIpgNetTrack *self = GST_IPG_NET_TRACK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_TRACK_THRESH:
      g_value_set_double (value, self->track_thresh);
      break;
    case PROP_LOW_THRESH:
      g_value_set_double (value, self->low_thresh);
      break;
    case PROP_NEW_TRACK_THRESH:
      g_value_set_double (value, self->new_track_thresh);
      break;
    case PROP_MATCH_THRESH:
      g_value_set_double (value, self->match_thresh);
      break;
    case PROP_MIN_HITS:
      g_value_set_uint (value, self->min_hits);
      break;
    case PROP_MAX_AGE:
      g_value_set_uint (value, self->max_age);
      break;
    case PROP_PER_CLASS:
      g_value_set_boolean (value, self->per_class);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_ipg_net_track_start (GstBaseTransform *trans)
{
  GstIpgNetTrack *self = GST_IPG_NET_TRACK (trans);
  ipg_track_params_t params = ipg_track_params_default ();
  ipg_track_status_t st;

  GST_OBJECT_LOCK (self);
  params.track_thresh = (float) self->track_thresh;
  /* The two ranges overlap: a low threshold above the high one would
   * leave no weak detections, which is what track-thresh alone means. */
  params.low_thresh = (float) MIN (self->low_thresh, self->track_thresh);
  params.new_track_thresh = (float) self->new_track_thresh;
  params.match_thresh = (float) self->match_thresh;
  params.min_hits = (int32_t) self->min_hits;
  params.max_age = (int32_t) self->max_age;
  params.per_class = self->per_class;
  GST_OBJECT_UNLOCK (self);

  st = ipg_track_init (&params, &self->tracker);
  if (st != IPG_TRACK_OK) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("Could not create the tracker: %s.", st == IPG_TRACK_ERR_NO_MEMORY
                                                  ? "out of memory"
                                                  : "invalid parameters"),
        ("ipg_track_init: %s", ipg_track_status_name (st)));
    return FALSE;
  }
  self->label_ids = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->dets = g_array_new (FALSE, FALSE, sizeof (ipg_track_det_t));
  self->rois = g_ptr_array_new ();
  self->ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  self->objects = g_array_new (FALSE, FALSE, sizeof (ipg_track_object_t));
  GST_DEBUG_OBJECT (self,
      "tracking: high %.2f, low %.2f, new %.2f, match "
      "%.2f, min-hits %d, max-age %d, %s",
      params.track_thresh, params.low_thresh, params.new_track_thresh,
      params.match_thresh, params.min_hits, params.max_age,
      params.per_class ? "per class" : "across classes");
  return TRUE;
}

static gboolean
gst_ipg_net_track_stop (GstBaseTransform *trans)
{
  GstIpgNetTrack *self = GST_IPG_NET_TRACK (trans);

  g_clear_pointer (&self->tracker, ipg_track_free);
  g_clear_pointer (&self->label_ids, g_hash_table_unref);
  g_clear_pointer (&self->dets, g_array_unref);
  g_clear_pointer (&self->rois, g_ptr_array_unref);
  g_clear_pointer (&self->ids, g_array_unref);
  g_clear_pointer (&self->objects, g_array_unref);
  self->width = self->height = 0;
  return TRUE;
}

static gboolean
gst_ipg_net_track_set_caps (GstBaseTransform *trans, GstCaps *incaps,
    GstCaps *outcaps)
{
  GstIpgNetTrack *self = GST_IPG_NET_TRACK (trans);
  GstVideoInfo info;

  if (!gst_video_info_from_caps (&info, incaps)) {
    GST_ERROR_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  self->width = GST_VIDEO_INFO_WIDTH (&info);
  self->height = GST_VIDEO_INFO_HEIGHT (&info);
  return TRUE;
}

static gboolean
gst_ipg_net_track_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstIpgNetTrack *self = GST_IPG_NET_TRACK (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_EOS:
      /* What comes next does not continue what the tracks have seen. */
      if (self->tracker != NULL) {
        GST_DEBUG_OBJECT (self, "%s: forgetting every track",
            GST_EVENT_TYPE_NAME (event));
        ipg_track_reset (self->tracker);
      }
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_ipg_net_track_parent_class)
      ->sink_event (trans, event);
}

/* The detection a region meta describes, in frame pixels. FALSE for a
 * prediction of a tracker (ours or another ipgnettrack upstream). */
static gboolean
roi_to_det (GstIpgNetTrack *self, GstVideoRegionOfInterestMeta *roi,
    ipg_track_det_t *d)
{
  GstStructure *det =
      gst_video_region_of_interest_meta_get_param (roi, "detection");
  gdouble x_min, y_min, x_max, y_max, confidence = 1.0, label_id;
  gboolean tracked = FALSE;

  if (det != NULL && gst_structure_get_boolean (det, "tracked", &tracked) &&
      tracked)
    return FALSE;

  if (det != NULL && gst_ipg_net_structure_get_number (det, "x_min", &x_min) &&
      gst_ipg_net_structure_get_number (det, "y_min", &y_min) &&
      gst_ipg_net_structure_get_number (det, "x_max", &x_max) &&
      gst_ipg_net_structure_get_number (det, "y_max", &y_max)) {
    d->box.x1 = (float) (x_min * self->width);
    d->box.y1 = (float) (y_min * self->height);
    d->box.x2 = (float) (x_max * self->width);
    d->box.y2 = (float) (y_max * self->height);
  } else {
    d->box.x1 = (float) roi->x;
    d->box.y1 = (float) roi->y;
    d->box.x2 = (float) roi->x + roi->w;
    d->box.y2 = (float) roi->y + roi->h;
  }
  /* A meta without a confidence is a sure detection (DL Streamer's
   * tracker treats it the same). */
  if (det != NULL)
    gst_ipg_net_structure_get_number (det, "confidence", &confidence);
  d->score = (float) confidence;
  /* The class is the roi_type (the label, for ipgnetdetect and DL
   * Streamer); remember its label_id for the boxes we predict. */
  d->label = (int32_t) roi->roi_type;
  if (det != NULL &&
      gst_ipg_net_structure_get_number (det, "label_id", &label_id) &&
      label_id >= 0.0 && label_id < G_MAXINT)
    g_hash_table_insert (self->label_ids, GUINT_TO_POINTER (roi->roi_type),
        GINT_TO_POINTER ((gint) label_id + 1));
  return TRUE;
}

static void
set_object_id (GstVideoRegionOfInterestMeta *roi, gint id)
{
  GstStructure *s =
      gst_video_region_of_interest_meta_get_param (roi, "object_id");

  /* An id from a tracker upstream is replaced, not duplicated. */
  if (s != NULL)
    gst_structure_set (s, "id", G_TYPE_INT, id, NULL);
  else
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new ("object_id", "id", G_TYPE_INT, id, NULL));
}

static GstFlowReturn
track_detections (GstIpgNetTrack *self, GstBuffer *buf)
{
  GstMeta *meta;
  gpointer state = NULL;
  ipg_track_status_t st;
  guint i, n_tracked = 0;

  g_array_set_size (self->dets, 0);
  g_ptr_array_set_size (self->rois, 0);
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    ipg_track_det_t d;

    if (roi_to_det (self, roi, &d)) {
      g_array_append_val (self->dets, d);
      g_ptr_array_add (self->rois, roi);
    }
  }

  g_array_set_size (self->ids, self->dets->len);
  st = ipg_track_update (self->tracker,
      (const ipg_track_det_t *) (gpointer) self->dets->data,
      (int32_t) self->dets->len, (int32_t *) (gpointer) self->ids->data);
  if (st != IPG_TRACK_OK) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
        ("Tracking failed on a frame with %u detections: %s.", self->dets->len,
            st == IPG_TRACK_ERR_NO_MEMORY ? "out of memory"
                                          : "invalid detections"),
        ("ipg_track_update: %s", ipg_track_status_name (st)));
    return GST_FLOW_ERROR;
  }
  for (i = 0; i < self->dets->len; i++) {
    gint32 id = g_array_index (self->ids, gint32, i);

    if (id > 0) {
      set_object_id (g_ptr_array_index (self->rois, i), id);
      n_tracked++;
    }
  }
  GST_LOG_OBJECT (self, "%u of %u detections tracked", n_tracked,
      self->dets->len);
  return GST_FLOW_OK;
}

/* Rounded pixel span [a0, a1) inside [0, size), as ipgnetdetect rounds. */
static void
clamp_span (gfloat a0, gfloat a1, gint size, guint *pos, guint *len)
{
  glong p0 = lroundf (a0), p1 = lroundf (a1);

  p0 = CLAMP (p0, 0, size - 1);
  p1 = CLAMP (p1, p0, size);
  *pos = (guint) p0;
  *len = (guint) (p1 - p0);
}

static void
add_predictions (GstIpgNetTrack *self, GstBuffer *buf)
{
  gint32 total, i;

  ipg_track_predict (self->tracker);
  total = ipg_track_get_objects (self->tracker, NULL, 0);
  g_array_set_size (self->objects, total);
  ipg_track_get_objects (self->tracker,
      (ipg_track_object_t *) (gpointer) self->objects->data, total);

  for (i = 0; i < total; i++) {
    const ipg_track_object_t *o =
        &g_array_index (self->objects, ipg_track_object_t, i);
    GQuark label = (GQuark) o->label;
    GstVideoRegionOfInterestMeta *roi;
    GstStructure *det;
    gpointer label_id;
    guint x, y, w, h;

    /* Predicted out of the frame: nothing to show. */
    if (o->box.x2 <= 0.0f || o->box.y2 <= 0.0f || o->box.x1 >= self->width ||
        o->box.y1 >= self->height)
      continue;
    clamp_span (o->box.x1, o->box.x2, self->width, &x, &w);
    clamp_span (o->box.y1, o->box.y2, self->height, &y, &h);
    roi = gst_buffer_add_video_region_of_interest_meta_id (buf, label, x, y, w,
        h);
    det = gst_structure_new ("detection", "x_min", G_TYPE_DOUBLE,
        CLAMP ((gdouble) o->box.x1 / self->width, 0.0, 1.0), "y_min",
        G_TYPE_DOUBLE, CLAMP ((gdouble) o->box.y1 / self->height, 0.0, 1.0),
        "x_max", G_TYPE_DOUBLE,
        CLAMP ((gdouble) o->box.x2 / self->width, 0.0, 1.0), "y_max",
        G_TYPE_DOUBLE, CLAMP ((gdouble) o->box.y2 / self->height, 0.0, 1.0),
        "confidence", G_TYPE_DOUBLE, (gdouble) o->score, NULL);
    if (g_hash_table_lookup_extended (self->label_ids, GUINT_TO_POINTER (label),
            NULL, &label_id))
      gst_structure_set (det, "label_id", G_TYPE_INT,
          GPOINTER_TO_INT (label_id) - 1, NULL);
    /* No "label": DL Streamer's Tensor::label() refuses a detection
     * with one; the roi_type is the label. */
    gst_structure_set (det, "tracked", G_TYPE_BOOLEAN, TRUE, NULL);
    gst_video_region_of_interest_meta_add_param (roi, det);
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new ("object_id", "id", G_TYPE_INT, o->id, NULL));
  }
  GST_LOG_OBJECT (self, "frame not inferred: %d predicted objects", total);
}

static GstFlowReturn
gst_ipg_net_track_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstIpgNetTrack *self = GST_IPG_NET_TRACK (trans);

  if (self->tracker == NULL || self->width <= 0 || self->height <= 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("buffer before caps or start"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  if (gst_buffer_get_custom_meta (buf, GST_IPG_NET_NOT_INFERRED_META)) {
    add_predictions (self, buf);
    return GST_FLOW_OK;
  }
  return track_detections (self, buf);
}
