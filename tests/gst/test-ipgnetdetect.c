/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ipgnetdetect.c: ipgnetdetect element tests (GstHarness, gst-check).
 * They need IPGNET_TEST_MODEL (the tiny 64x64 "dog","cat" model) and an
 * OpenCL device (pocl in CI). Run under the leaks tracer (meson.build). */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define N_LABELS 2

static const gchar *formats[] = {
  "RGB",
  "BGR",
  "RGBx",
  "BGRx",
  "xRGB",
  "xBGR",
  "RGBA",
  "BGRA",
  "ARGB",
  "ABGR",
  "I420",
  "NV12",
};

static const gchar *
test_model (void)
{
  const gchar *path = g_getenv ("IPGNET_TEST_MODEL");

  fail_unless (path != NULL, "IPGNET_TEST_MODEL is not set");
  return path;
}

/* An ipgnetdetect with the test model and threshold 0 (the tiny random
 * model scores low), owned by the caller (not floating). */
static GstElement *
new_detect (void)
{
  GstElement *e = gst_element_factory_make ("ipgnetdetect", NULL);

  fail_unless (e != NULL);
  g_object_set (e, "model", test_model (), "threshold", 0.0, NULL);
  return gst_object_ref_sink (e);
}

static GstHarness *
new_harness (GstElement *e, const gchar *format, gint w, gint h)
{
  GstHarness *hrn = gst_harness_new_with_element (e, "sink", "src");
  gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
                                 "framerate=30/1",
      format, w, h);

  gst_harness_set_src_caps_str (hrn, caps);
  g_free (caps);
  return hrn;
}

static void
set_caps (GstHarness *hrn, const gchar *format, gint w, gint h)
{
  gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
                                 "framerate=30/1",
      format, w, h);

  gst_harness_set_src_caps_str (hrn, caps);
  g_free (caps);
}

/* A frame of gradients plus noise, every byte (padding included) set. */
static GstBuffer *
make_frame (const gchar *format, gint w, gint h, guint seed, guint index)
{
  GstVideoInfo info;
  GstBuffer *buf;
  GstMapInfo map;
  guint32 rng = seed * 2654435761u + 12345u;
  gsize i, stride;

  gst_video_info_set_format (&info, gst_video_format_from_string (format), w,
      h);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  stride = GST_VIDEO_INFO_PLANE_STRIDE (&info, 0);
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (i = 0; i < map.size; i++) {
    rng = rng * 1664525u + 1013904223u;
    map.data[i] = (guint8) ((i % stride) * 3 + (i / stride) * 5 + (rng >> 27));
  }
  gst_buffer_unmap (buf, &map);

  GST_BUFFER_PTS (buf) = index * GST_SECOND / 30 + 7;
  GST_BUFFER_DTS (buf) = index * GST_SECOND / 30 + 3;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  GST_BUFFER_OFFSET (buf) = index;
  GST_BUFFER_OFFSET_END (buf) = index + 1;
  GST_BUFFER_FLAG_SET (buf,
      index == 0 ? GST_BUFFER_FLAG_DISCONT : GST_BUFFER_FLAG_DELTA_UNIT);
  return buf;
}

static gdouble
get_double (const GstStructure *s, const gchar *field)
{
  gdouble v = -1.0;

  fail_unless (gst_structure_get_double (s, field, &v), "no double %s", field);
  return v;
}

/* Checks every ROI meta of a w x h frame: exactly the "detection" fields,
 * consistent with the rectangle and the quark, confidence >= threshold and,
 * if only_label is set, that label. Returns the number of metas. */
static guint
check_rois (GstBuffer *buf, gint w, gint h, gdouble threshold,
    const gchar *only_label)
{
  gpointer state = NULL;
  GstMeta *meta;
  guint n = 0;
  gchar *model_name = g_path_get_basename (test_model ());
  static GHashTable *ids = NULL;

  /* DL Streamer's model_name: the network's name, here the file's stem. */
  *strrchr (model_name, '.') = '\0';
  if (ids == NULL)
    ids = g_hash_table_new (NULL, NULL);

  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    GstStructure *s;
    gdouble x_min, y_min, x_max, y_max, conf, rot;
    gint label_id;
    const gchar *label;

    fail_unless_equals_int (g_list_length (roi->params), 1);
    s = gst_video_region_of_interest_meta_get_param (roi, "detection");
    fail_unless (s != NULL);
    /* Tiled detections add tile, scale and extra_params_json. */
    fail_unless_equals_int (gst_structure_n_fields (s),
        gst_structure_has_field (s, "tile") ? 12 : 9);
    fail_unless (gst_structure_has_field_typed (s, "x_min", G_TYPE_DOUBLE));
    fail_unless (gst_structure_has_field_typed (s, "y_min", G_TYPE_DOUBLE));
    fail_unless (gst_structure_has_field_typed (s, "x_max", G_TYPE_DOUBLE));
    fail_unless (gst_structure_has_field_typed (s, "y_max", G_TYPE_DOUBLE));
    fail_unless (
        gst_structure_has_field_typed (s, "confidence", G_TYPE_DOUBLE));
    fail_unless (gst_structure_has_field_typed (s, "label_id", G_TYPE_INT));
    fail_unless (gst_structure_has_field_typed (s, "rotation", G_TYPE_DOUBLE));
    /* No label in the detection: DL Streamer's Tensor::label() refuses a
     * detection with one; the label is the roi_type. */
    fail_if (gst_structure_has_field (s, "label"));
    fail_unless_equals_string (gst_structure_get_string (s, "layer_name"),
        "detections");
    fail_unless (
        gst_structure_has_field_typed (s, "model_name", G_TYPE_STRING));

    x_min = get_double (s, "x_min");
    y_min = get_double (s, "y_min");
    x_max = get_double (s, "x_max");
    y_max = get_double (s, "y_max");
    conf = get_double (s, "confidence");
    rot = get_double (s, "rotation");
    fail_unless (gst_structure_get_int (s, "label_id", &label_id));
    label = g_quark_to_string (roi->roi_type);

    fail_unless (0.0 <= x_min && x_min <= x_max && x_max <= 1.0);
    fail_unless (0.0 <= y_min && y_min <= y_max && y_max <= 1.0);
    fail_unless (0.0 <= conf && conf <= 1.0, "confidence %f", conf);
    fail_unless (conf >= threshold - 1e-6, "confidence %f < threshold %f", conf,
        threshold);
    fail_unless (rot == 0.0);
    fail_unless (label_id >= 0 && label_id < N_LABELS);
    fail_unless_equals_string (label, label_id == 0 ? "dog" : "cat");
    /* Ids unique in the process and never 0 (gst_util_seqnum_next, as
     * DL Streamer's meta_attacher.cpp:202). */
    fail_unless (roi->id != 0);
    fail_if (g_hash_table_contains (ids, GINT_TO_POINTER (roi->id)),
        "id %d seen before", roi->id);
    g_hash_table_add (ids, GINT_TO_POINTER (roi->id));
    fail_unless_equals_string (gst_structure_get_string (s, "model_name"),
        model_name);
    if (only_label)
      fail_unless_equals_string (label, only_label);

    /* The pixel rectangle is DL Streamer's (coordinates_restorer.cpp:67-70,
     * v2025.1.2): start and extent rounded half up, each on its own. */
    fail_unless_equals_int (roi->x, (guint) (x_min * w + 0.5));
    fail_unless_equals_int (roi->y, (guint) (y_min * h + 0.5));
    fail_unless_equals_int (roi->w, (guint) ((x_max - x_min) * w + 0.5));
    fail_unless_equals_int (roi->h, (guint) ((y_max - y_min) * h + 0.5));
    n++;
  }
  g_free (model_name);
  return n;
}

/* Pushes one frame, pulls it back, checks bytes, timestamps, flags and
 * metas; returns the number of ROI metas. */
static guint
push_and_check (GstHarness *hrn, const gchar *format, gint w, gint h,
    guint index, gdouble threshold)
{
  GstBuffer *in = make_frame (format, w, h, index + w * 31 + h, index);
  GstBuffer *out;
  GstMapInfo map;
  gsize size;
  guint8 *copy;
  GstClockTime pts = GST_BUFFER_PTS (in), dts = GST_BUFFER_DTS (in);
  GstClockTime duration = GST_BUFFER_DURATION (in);
  guint64 offset = GST_BUFFER_OFFSET (in),
          offset_end = GST_BUFFER_OFFSET_END (in);
  GstBufferFlags flags = GST_BUFFER_FLAGS (in);
  guint n;

  fail_unless (gst_buffer_map (in, &map, GST_MAP_READ));
  size = map.size;
  copy = g_memdup2 (map.data, map.size);
  gst_buffer_unmap (in, &map);

  fail_unless_equals_int (gst_harness_push (hrn, in), GST_FLOW_OK);
  out = gst_harness_pull (hrn);
  fail_unless (out != NULL);

  fail_unless_equals_uint64 (GST_BUFFER_PTS (out), pts);
  fail_unless_equals_uint64 (GST_BUFFER_DTS (out), dts);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (out), duration);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (out), offset);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (out), offset_end);
  fail_unless_equals_int (GST_BUFFER_FLAGS (out), flags);

  fail_unless (gst_buffer_map (out, &map, GST_MAP_READ));
  fail_unless_equals_uint64 (map.size, size);
  fail_unless (memcmp (map.data, copy, size) == 0, "%s %dx%d: bytes changed",
      format, w, h);
  gst_buffer_unmap (out, &map);
  g_free (copy);

  n = check_rois (out, w, h, threshold, NULL);
  gst_buffer_unref (out);
  return n;
}

/* Every format and size passes through unchanged, with well-formed ROIs. */
GST_START_TEST (test_formats_and_sizes)
{
  static const gint sizes[][2] = { { 1, 1 }, { 17, 9 }, { 64, 64 } };
  guint f, s, i, total = 0;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstElement *e = new_detect ();
    GstHarness *hrn = new_harness (e, formats[f], sizes[0][0], sizes[0][1]);
    guint n_fmt = 0;

    for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
      set_caps (hrn, formats[f], sizes[s][0], sizes[s][1]);
      for (i = 0; i < 2; i++)
        n_fmt +=
            push_and_check (hrn, formats[f], sizes[s][0], sizes[s][1], i, 0.0);
    }
    GST_INFO ("%s: %u detections", formats[f], n_fmt);
    fail_unless (n_fmt > 0, "%s: no detections at threshold 0", formats[f]);
    total += n_fmt;
    gst_harness_teardown (hrn);
    gst_object_unref (e);
  }
  fail_unless (total > 0);
}

GST_END_TEST;

/* Large planar frames (odd chroma strides, a 4K upload) pass unchanged. */
GST_START_TEST (test_large_planar)
{
  GstElement *e = new_detect ();
  GstHarness *hrn = new_harness (e, "NV12", 1366, 768);

  fail_unless (push_and_check (hrn, "NV12", 1366, 768, 0, 0.0) > 0);
  fail_unless (push_and_check (hrn, "NV12", 1366, 768, 1, 0.0) > 0);
  set_caps (hrn, "I420", 4096, 2160);
  fail_unless (push_and_check (hrn, "I420", 4096, 2160, 0, 0.0) > 0);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* Colorimetry of planar caps (BT.709/BT.2020, full range) is accepted. */
GST_START_TEST (test_colorimetry)
{
  static const gchar *colorimetries[] = {
    "bt709",
    "bt2020",
    "bt601",
    "1:4:0:0",
    "smpte240m",
  };
  GstElement *e = new_detect ();
  GstHarness *hrn = new_harness (e, "I420", 64, 48);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (colorimetries); i++) {
    gchar *caps = g_strdup_printf ("video/x-raw,format=I420,width=64,"
                                   "height=48,framerate=30/1,colorimetry=%s",
        colorimetries[i]);

    gst_harness_set_src_caps_str (hrn, caps);
    g_free (caps);
    fail_unless (push_and_check (hrn, "I420", 64, 48, i, 0.0) > 0);
  }
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

typedef struct
{
  gint label_id;
  guint x, y, w, h;
  gdouble conf;
} Det;

static GArray *
collect_dets (GstBuffer *buf)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (Det));
  gpointer state = NULL;
  GstMeta *meta;

  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    GstStructure *s =
        gst_video_region_of_interest_meta_get_param (roi, "detection");
    Det d = { 0, roi->x, roi->y, roi->w, roi->h, get_double (s, "confidence") };

    fail_unless (gst_structure_get_int (s, "label_id", &d.label_id));
    g_array_append_val (a, d);
  }
  return a;
}

static GArray *
detect_once (GstHarness *hrn, guint seed)
{
  GstBuffer *out;
  GArray *a;

  fail_unless_equals_int (gst_harness_push (hrn,
                              make_frame ("RGB", 64, 64, seed, 0)),
      GST_FLOW_OK);
  out = gst_harness_pull (hrn);
  check_rois (out, 64, 64, 0.0, NULL);
  a = collect_dets (out);
  gst_buffer_unref (out);
  return a;
}

/* Detections of `out` equal `ref` (labels, rectangles, confidences). */
static void
assert_same_dets (GArray *ref, GstBuffer *out, const gchar *what)
{
  GArray *got = collect_dets (out);
  guint i;

  fail_unless_equals_int (got->len, ref->len);
  for (i = 0; i < ref->len; i++) {
    const Det *a = &g_array_index (ref, Det, i),
              *b = &g_array_index (got, Det, i);

    fail_unless (a->label_id == b->label_id && a->x == b->x && a->y == b->y &&
                     a->w == b->w && a->h == b->h &&
                     fabs (a->conf - b->conf) < 1e-6,
        "%s: detection %u differs", what, i);
  }
  g_array_unref (got);
}

/* Packs the RGB pixels `rgb` (w * h * 3) into a frame of a packed format;
 * X/A bytes and row padding get noise, which must be ignored. */
static GstBuffer *
pack_rgb (const gchar *format, gint w, gint h, const guint8 *rgb)
{
  GstVideoInfo info;
  GstBuffer *buf;
  GstVideoFrame frame;
  gint bpp = strlen (format), x, y, c;
  guint32 rng = 99;

  gst_video_info_set_format (&info, gst_video_format_from_string (format), w,
      h);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE));
  for (y = 0; y < h; y++) {
    guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
                  y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);

    for (x = 0; x < GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0); x++) {
      rng = rng * 1664525u + 1013904223u;
      row[x] = rng >> 24;
    }
    for (x = 0; x < w; x++)
      for (c = 0; c < bpp; c++) {
        const gchar *rgb_pos = strchr ("RGB", format[c]);

        if (rgb_pos)
          row[x * bpp + c] = rgb[(y * w + x) * 3 + (rgb_pos - "RGB")];
      }
  }
  gst_video_frame_unmap (&frame);
  return buf;
}

/* The same picture in every packed byte order gives the same detections:
 * the element maps each GStreamer format to the right ipg layout. */
GST_START_TEST (test_packed_formats_agree)
{
  const gint w = 45, h = 31;
  guint8 *rgb = g_malloc (w * h * 3);
  GstElement *e = new_detect ();
  GstHarness *hrn = new_harness (e, "RGB", w, h);
  GArray *ref = NULL;
  GstBuffer *out;
  gint i, f;

  for (i = 0; i < w * h * 3; i++)
    rgb[i] = (guint8) ((i % (w * 3)) * 4 + (i / (w * 3)) * 3 + (i % 3) * 60);
  for (f = 0; f < 10; f++) {
    set_caps (hrn, formats[f], w, h);
    fail_unless_equals_int (gst_harness_push (hrn,
                                pack_rgb (formats[f], w, h, rgb)),
        GST_FLOW_OK);
    out = gst_harness_pull (hrn);
    if (ref == NULL) {
      ref = collect_dets (out);
      fail_unless (ref->len > 0);
    } else {
      assert_same_dets (ref, out, formats[f]);
    }
    gst_buffer_unref (out);
  }
  g_array_unref (ref);
  g_free (rgb);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* A 4:2:0 frame with the given planes as I420 or NV12, with colorimetry. */
static GstBuffer *
pack_yuv (const gchar *format, gint w, gint h, const guint8 *y_plane,
    const guint8 *u_plane, const guint8 *v_plane)
{
  GstVideoInfo info;
  GstBuffer *buf;
  GstVideoFrame frame;
  gint cw = (w + 1) / 2, ch = (h + 1) / 2, x, y;
  gboolean nv12 = strcmp (format, "NV12") == 0;

  gst_video_info_set_format (&info, gst_video_format_from_string (format), w,
      h);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE));
  for (y = 0; y < h; y++)
    memcpy ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
                y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0),
        y_plane + y * w, w);
  for (y = 0; y < ch; y++)
    for (x = 0; x < cw; x++) {
      if (nv12) {
        guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 1) +
                      y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 1);
        row[2 * x] = u_plane[y * cw + x];
        row[2 * x + 1] = v_plane[y * cw + x];
      } else {
        ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame,
            1))[y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 1) + x] =
            u_plane[y * cw + x];
        ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame,
            2))[y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 2) + x] =
            v_plane[y * cw + x];
      }
    }
  gst_video_frame_unmap (&frame);
  return buf;
}

static GArray *
detect_yuv (GstHarness *hrn, const gchar *format, const gchar *colorimetry,
    gint w, gint h, const guint8 *yp, const guint8 *up, const guint8 *vp)
{
  gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
                                 "framerate=30/1,colorimetry=%s",
      format, w, h, colorimetry);
  GstBuffer *out;
  GArray *dets;

  gst_harness_set_src_caps_str (hrn, caps);
  g_free (caps);
  fail_unless_equals_int (gst_harness_push (hrn,
                              pack_yuv (format, w, h, yp, up, vp)),
      GST_FLOW_OK);
  out = gst_harness_pull (hrn);
  check_rois (out, w, h, 0.0, NULL);
  dets = collect_dets (out);
  gst_buffer_unref (out);
  return dets;
}

static gboolean
dets_equal (GArray *a, GArray *b)
{
  guint i;

  if (a->len != b->len)
    return FALSE;
  for (i = 0; i < a->len; i++) {
    const Det *p = &g_array_index (a, Det, i), *q = &g_array_index (b, Det, i);

    if (p->label_id != q->label_id || p->x != q->x || p->y != q->y ||
        p->w != q->w || p->h != q->h || fabs (p->conf - q->conf) >= 1e-6)
      return FALSE;
  }
  return TRUE;
}

/* I420 and NV12 of the same picture agree; the caps' matrix and range are
 * used (BT.709 and full range change the result), and an unsupported
 * matrix (SMPTE 240M) falls back to BT.601. */
GST_START_TEST (test_planar_colorimetry)
{
  const gint w = 37, h = 23, cw = 19, ch = 12;
  guint8 *yp = g_malloc (w * h), *up = g_malloc (cw * ch),
         *vp = g_malloc (cw * ch);
  GstElement *e = new_detect ();
  GstHarness *hrn = new_harness (e, "I420", w, h);
  GArray *i420_601, *nv12_601, *i420_709, *i420_full, *i420_240m, *i420_2020;
  gint i;

  for (i = 0; i < w * h; i++)
    yp[i] = 16 + (i % w) * 5 + (i / w) * 3;
  for (i = 0; i < cw * ch; i++) {
    up[i] = 40 + (i % cw) * 9;
    vp[i] = 220 - (i / cw) * 8;
  }
  i420_601 = detect_yuv (hrn, "I420", "bt601", w, h, yp, up, vp);
  nv12_601 = detect_yuv (hrn, "NV12", "bt601", w, h, yp, up, vp);
  i420_709 = detect_yuv (hrn, "I420", "bt709", w, h, yp, up, vp);
  i420_2020 = detect_yuv (hrn, "I420", "bt2020", w, h, yp, up, vp);
  i420_full = detect_yuv (hrn, "I420", "1:4:0:0", w, h, yp, up, vp);
  i420_240m = detect_yuv (hrn, "I420", "smpte240m", w, h, yp, up, vp);

  fail_unless (i420_601->len > 0);
  fail_unless (dets_equal (i420_601, nv12_601), "I420 and NV12 differ");
  fail_unless (dets_equal (i420_601, i420_240m), "no BT.601 fallback");
  fail_if (dets_equal (i420_601, i420_709), "BT.709 ignored");
  fail_if (dets_equal (i420_709, i420_2020), "BT.2020 ignored");
  fail_if (dets_equal (i420_601, i420_full), "full range ignored");

  g_array_unref (i420_601);
  g_array_unref (nv12_601);
  g_array_unref (i420_709);
  g_array_unref (i420_2020);
  g_array_unref (i420_full);
  g_array_unref (i420_240m);
  g_free (yp);
  g_free (up);
  g_free (vp);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* Confidences respect the threshold; raising it (while playing) keeps a
 * subset of the detections. */
GST_START_TEST (test_threshold)
{
  GstElement *e = new_detect ();
  GstHarness *hrn = new_harness (e, "RGB", 64, 64);
  GArray *low, *high;
  gdouble t;
  guint i, j;

  g_object_set (e, "max-detections", 1000, NULL);
  low = detect_once (hrn, 5);
  fail_unless (low->len >= 4, "only %u detections", low->len);
  /* The median confidence splits the detections. */
  t = g_array_index (low, Det, low->len / 2).conf;
  g_object_set (e, "threshold", t, NULL);
  high = detect_once (hrn, 5);
  fail_unless (high->len > 0 && high->len < low->len, "%u of %u", high->len,
      low->len);
  for (i = 0; i < high->len; i++) {
    const Det *h = &g_array_index (high, Det, i);
    gboolean found = FALSE;

    fail_unless (h->conf >= t);
    for (j = 0; j < low->len && !found; j++) {
      const Det *l = &g_array_index (low, Det, j);
      found = l->label_id == h->label_id && l->x == h->x && l->y == h->y &&
              l->w == h->w && l->h == h->h && l->conf == h->conf;
    }
    fail_unless (found, "detection %u at threshold %f is new", i, t);
  }
  g_array_unref (low);
  g_array_unref (high);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* object-class=cat keeps only cats (and some exist). */
GST_START_TEST (test_object_class)
{
  GstElement *e = new_detect ();
  GstHarness *hrn;
  GstBuffer *out;
  guint i, n = 0;

  g_object_set (e, "object-class", " cat ,", NULL);
  hrn = new_harness (e, "RGB", 64, 64);
  for (i = 0; i < 3; i++) {
    fail_unless_equals_int (gst_harness_push (hrn,
                                make_frame ("RGB", 64, 64, i, i)),
        GST_FLOW_OK);
    out = gst_harness_pull (hrn);
    n += check_rois (out, 64, 64, 0.0, "cat");
    gst_buffer_unref (out);
  }
  fail_unless (n > 0);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* Drives a lone element to PAUSED, which must fail with an element error;
 * returns that error. The element ends in NULL. */
static GError *
expect_start_failure (GstElement *e)
{
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;
  gchar *dbg = NULL;

  gst_element_set_bus (e, bus);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message");
  fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (e));
  gst_message_parse_error (msg, &err, &dbg);
  GST_INFO ("error: %s (%s)", err->message, dbg);
  g_free (dbg);
  gst_message_unref (msg);
  /* No stray warnings or second errors. */
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
  fail_unless (msg == NULL);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  return err;
}

/* An unknown object-class fails the start naming it and the labels. */
GST_START_TEST (test_unknown_class)
{
  GstElement *e = new_detect ();
  GError *err;

  g_object_set (e, "object-class", "cat,horse", NULL);
  err = expect_start_failure (e);
  fail_unless (
      g_error_matches (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
  fail_unless (strstr (err->message, "\"horse\"") != NULL, "%s", err->message);
  fail_unless (strstr (err->message, "dog,cat") != NULL, "%s", err->message);
  g_error_free (err);
  gst_object_unref (e);
}

GST_END_TEST;

/* An invalid input-size fails the start; a valid one runs. */
GST_START_TEST (test_input_size)
{
  static const gchar *bad[] = {
    "64",
    "64x",
    "x64",
    "65x64",
    "64x48",
    "0x0",
    "64x64x",
    "-64x64",
    "8224x64",
  };
  GstElement *e;
  GstHarness *hrn;
  GError *err;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    e = new_detect ();
    g_object_set (e, "input-size", bad[i], NULL);
    err = expect_start_failure (e);
    fail_unless (
        g_error_matches (err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
    fail_unless (strstr (err->message, "input-size") != NULL);
    g_error_free (err);
    gst_object_unref (e);
  }

  e = new_detect ();
  g_object_set (e, "input-size", "96x64", NULL);
  hrn = new_harness (e, "BGRx", 80, 40);
  push_and_check (hrn, "BGRx", 80, 40, 0, 0.0);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* interval=3 infers frames 0, 3, 6, ... only; the others carry no meta. */
GST_START_TEST (test_interval)
{
  GstElement *e = new_detect ();
  GstHarness *hrn;
  guint i, n;

  g_object_set (e, "interval", 3, NULL);
  hrn = new_harness (e, "RGBA", 64, 64);
  for (i = 0; i < 9; i++) {
    n = push_and_check (hrn, "RGBA", 64, 64, i, 0.0);
    if (i % 3 == 0)
      fail_unless (n > 0, "frame %u: no detections", i);
    else
      fail_unless_equals_int (n, 0);
  }
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* max-detections caps the metas per frame. */
GST_START_TEST (test_max_detections)
{
  GstElement *e = new_detect ();
  GstHarness *hrn;
  guint i;

  g_object_set (e, "max-detections", 3, NULL);
  hrn = new_harness (e, "BGR", 64, 64);
  for (i = 0; i < 2; i++)
    fail_unless_equals_int (push_and_check (hrn, "BGR", 64, 64, i, 0.0), 3);
  g_object_set (e, "max-detections", 1, NULL);
  fail_unless_equals_int (push_and_check (hrn, "BGR", 64, 64, 2, 0.0), 1);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* post-messages=true posts one well-formed element message per inferred
 * frame, matching the metas. */
GST_START_TEST (test_post_messages)
{
  GstElement *e = new_detect ();
  GstBus *bus = gst_bus_new ();
  GstHarness *hrn;
  GstMessage *msg;
  guint i, n_msgs = 0;

  g_object_set (e, "post-messages", TRUE, "interval", 2, NULL);
  gst_element_set_bus (e, bus);
  hrn = new_harness (e, "xRGB", 40, 30);
  for (i = 0; i < 4; i++) {
    GstBuffer *in = make_frame ("xRGB", 40, 30, i, i);
    GstBuffer *out;
    guint n_rois;

    fail_unless_equals_int (gst_harness_push (hrn, in), GST_FLOW_OK);
    out = gst_harness_pull (hrn);
    n_rois = check_rois (out, 40, 30, 0.0, NULL);

    while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
      const GstStructure *s = gst_message_get_structure (msg);
      const GValue *objects;
      GstClockTime ts, st, rt;
      gint w, h;
      guint j;

      fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (e));
      fail_unless (gst_structure_has_name (s, "ipgnetdetect"));
      fail_unless_equals_int (i % 2, 0);
      fail_unless (gst_structure_get_clock_time (s, "timestamp", &ts));
      fail_unless (gst_structure_get_clock_time (s, "stream-time", &st));
      fail_unless (gst_structure_get_clock_time (s, "running-time", &rt));
      fail_unless_equals_uint64 (ts, GST_BUFFER_PTS (out));
      fail_unless_equals_uint64 (st, GST_BUFFER_PTS (out));
      fail_unless_equals_uint64 (rt, GST_BUFFER_PTS (out));
      fail_unless (gst_structure_get_int (s, "width", &w) && w == 40);
      fail_unless (gst_structure_get_int (s, "height", &h) && h == 30);
      objects = gst_structure_get_value (s, "objects");
      fail_unless (objects != NULL && GST_VALUE_HOLDS_LIST (objects));
      fail_unless_equals_int (gst_value_list_get_size (objects), n_rois);
      fail_unless (n_rois > 0);
      for (j = 0; j < gst_value_list_get_size (objects); j++) {
        const GstStructure *o =
            gst_value_get_structure (gst_value_list_get_value (objects, j));
        gint label_id, x, y, ow, oh;
        gdouble conf;

        fail_unless (gst_structure_has_name (o, "object"));
        fail_unless_equals_int (gst_structure_n_fields (o), 7);
        fail_unless (gst_structure_get_int (o, "label-id", &label_id));
        fail_unless_equals_string (gst_structure_get_string (o, "label"),
            label_id == 0 ? "dog" : "cat");
        fail_unless (gst_structure_get_double (o, "confidence", &conf));
        fail_unless (conf >= 0.0 && conf <= 1.0);
        fail_unless (gst_structure_get_int (o, "x", &x));
        fail_unless (gst_structure_get_int (o, "y", &y));
        fail_unless (gst_structure_get_int (o, "w", &ow));
        fail_unless (gst_structure_get_int (o, "h", &oh));
        fail_unless (x >= 0 && y >= 0 && x + ow <= 40 && y + oh <= 30);
      }
      n_msgs++;
      gst_message_unref (msg);
    }
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (n_msgs, 2);
  gst_harness_teardown (hrn);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
}

GST_END_TEST;

/* A missing model fails READY->PAUSED with RESOURCE/NOT_FOUND naming the
 * file, and the element still cycles NULL<->READY. */
GST_START_TEST (test_missing_model)
{
  GstElement *e = new_detect ();
  GError *err;
  guint i;

  g_object_set (e, "model", "/nonexistent/dir/missing.safetensors", NULL);
  for (i = 0; i < 3; i++) {
    fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
        GST_STATE_CHANGE_SUCCESS);
    fail_unless_equals_int (gst_element_set_state (e, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
  }
  err = expect_start_failure (e);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
                   GST_RESOURCE_ERROR_NOT_FOUND),
      "%s", err->message);
  fail_unless (strstr (err->message, "missing.safetensors") != NULL, "%s",
      err->message);
  g_error_free (err);
  /* labels stay NULL: no model was loaded */
  {
    gchar *labels = NULL;

    g_object_get (e, "labels", &labels, NULL);
    fail_unless (labels == NULL);
  }
  gst_object_unref (e);
}

GST_END_TEST;

/* The default model location, when nothing is installed there (an
 * uninstalled build), fails with a message that says so and names the
 * 'model' property. */
GST_START_TEST (test_default_model_missing)
{
  GstElement *e =
      gst_object_ref_sink (gst_element_factory_make ("ipgnetdetect", NULL));
  gchar *path = NULL;
  GError *err;

  g_object_get (e, "model", &path, NULL);
  fail_unless (path != NULL && g_str_has_suffix (path, ".safetensors"));
  if (g_file_test (path, G_FILE_TEST_EXISTS)) {
    GST_INFO ("a default model is installed at %s, skipping", path);
  } else {
    err = expect_start_failure (e);
    fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
        GST_RESOURCE_ERROR_NOT_FOUND));
    fail_unless (strstr (err->message, path) != NULL, "%s", err->message);
    fail_unless (strstr (err->message, "'model'") != NULL, "%s", err->message);
    g_error_free (err);
  }
  g_free (path);
  gst_object_unref (e);
}

GST_END_TEST;

/* A corrupt model file fails READY->PAUSED with an element error. */
GST_START_TEST (test_corrupt_model)
{
  static const guint8 garbage[] = "\x10\0\0\0\0\0\0\0{\"a\": nonsense} 1234";
  GstElement *e = new_detect ();
  GError *err = NULL;
  gchar *path;
  gint fd;

  fd = g_file_open_tmp ("ipgnet-corrupt-XXXXXX.safetensors", &path, &err);
  fail_unless (fd >= 0);
  g_close (fd, NULL);
  fail_unless (g_file_set_contents (path, (const gchar *) garbage,
      sizeof garbage, NULL));

  g_object_set (e, "model", path, NULL);
  err = expect_start_failure (e);
  fail_unless (
      err->domain == GST_RESOURCE_ERROR || err->domain == GST_LIBRARY_ERROR);
  fail_unless (err->message != NULL && strlen (err->message) > 10);
  g_error_free (err);

  g_unlink (path);
  g_free (path);
  gst_object_unref (e);
}

GST_END_TEST;

/* A device that does not exist fails the start; the message lists the
 * available devices. */
GST_START_TEST (test_bad_device)
{
  GstElement *e = new_detect ();
  GError *err;

  g_object_set (e, "device", "99:99", NULL);
  err = expect_start_failure (e);
  fail_unless (g_error_matches (err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT),
      "%s", err->message);
  fail_unless (strstr (err->message, "99:99") != NULL, "%s", err->message);
  g_error_free (err);
  gst_object_unref (e);
}

GST_END_TEST;

static gboolean
run_to_eos (GstElement *pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  gboolean eos;

  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
               GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "timeout");
  eos = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
  gst_message_unref (msg);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
  return eos;
}

/* 200 NULL->PLAYING->NULL cycles of a small pipeline: no crash, no leak. */
GST_START_TEST (test_state_cycles)
{
  gchar *desc =
      g_strdup_printf ("videotestsrc num-buffers=2 ! "
                       "video/x-raw,format=NV12,width=32,height=24 ! "
                       "ipgnetdetect model=\"%s\" threshold=0.0 ! fakesink",
          test_model ());
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  guint i;

  fail_unless (pipeline != NULL);
  for (i = 0; i < 200; i++)
    fail_unless (run_to_eos (pipeline), "cycle %u ended in an error", i);
  gst_object_unref (pipeline);
  g_free (desc);
}

GST_END_TEST;

/* Ten caps changes mid-stream (sizes and formats) re-prepare cleanly. */
GST_START_TEST (test_caps_changes)
{
  static const struct
  {
    const gchar *format;
    gint w, h;
  } caps[] = {
    { "RGB", 64, 64 },
    { "NV12", 33, 17 },
    { "BGRx", 320, 240 },
    { "I420", 7, 5 },
    { "ARGB", 1, 1 },
    { "NV12", 640, 360 },
    { "RGB", 17, 9 },
    { "I420", 64, 64 },
    { "ABGR", 100, 3 },
    { "RGBA", 3, 100 },
    { "RGB", 64, 64 },
  };
  GstElement *e = new_detect ();
  GstHarness *hrn = new_harness (e, caps[0].format, caps[0].w, caps[0].h);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (caps); i++) {
    set_caps (hrn, caps[i].format, caps[i].w, caps[i].h);
    push_and_check (hrn, caps[i].format, caps[i].w, caps[i].h, i, 0.0);
  }
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* Caps outside the template (size, format) are refused. */
GST_START_TEST (test_accept_caps)
{
  GstElement *e = new_detect ();
  GstHarness *hrn = new_harness (e, "RGB", 64, 64);
  GstPad *sink = gst_element_get_static_pad (e, "sink");
  GstCaps *caps;

  caps = gst_caps_from_string ("video/x-raw,format=RGB,width=8192,"
                               "height=8192,framerate=30/1");
  fail_unless (gst_pad_query_accept_caps (sink, caps));
  gst_caps_unref (caps);
  caps = gst_caps_from_string ("video/x-raw,format=RGB,width=8193,"
                               "height=64,framerate=30/1");
  fail_if (gst_pad_query_accept_caps (sink, caps));
  gst_caps_unref (caps);
  caps = gst_caps_from_string ("video/x-raw,format=YUY2,width=64,"
                               "height=64,framerate=30/1");
  fail_if (gst_pad_query_accept_caps (sink, caps));
  gst_caps_unref (caps);
  gst_object_unref (sink);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

static void
check_double_range (GObjectClass *klass, const gchar *name, gdouble min,
    gdouble max, gdouble def)
{
  GParamSpec *p = g_object_class_find_property (klass, name);
  GParamSpecDouble *d = G_PARAM_SPEC_DOUBLE (p);

  fail_unless (p != NULL, "%s", name);
  fail_unless (d->minimum == min && d->maximum == max, "%s", name);
  fail_unless (d->default_value == def, "%s", name);
}

static void
check_uint_range (GObjectClass *klass, const gchar *name, guint min, guint max,
    guint def)
{
  GParamSpec *p = g_object_class_find_property (klass, name);
  GParamSpecUInt *u = G_PARAM_SPEC_UINT (p);

  fail_unless (p != NULL, "%s", name);
  fail_unless (u->minimum == min && u->maximum == max, "%s", name);
  fail_unless (u->default_value == def, "%s", name);
}

/* Property ranges and defaults; out-of-range values are refused. */
GST_START_TEST (test_property_ranges)
{
  GstElement *e = new_detect ();
  GObjectClass *klass = G_OBJECT_GET_CLASS (e);
  gdouble t;
  gchar *s;
  gboolean b;

  check_double_range (klass, "threshold", 0.0, 1.0, 0.5);
  check_double_range (klass, "iou-threshold", 0.0, 1.0, 0.5);
  check_uint_range (klass, "max-detections", 1, 1000, 100);
  check_uint_range (klass, "interval", 1, 1000, 1);
  fail_unless ((g_object_class_find_property (klass, "labels")->flags &
                   G_PARAM_WRITABLE) == 0);
  fail_unless ((g_object_class_find_property (klass, "latency")->flags &
                   G_PARAM_WRITABLE) == 0);
  fail_unless (g_object_class_find_property (klass, "model")->flags &
               GST_PARAM_MUTABLE_READY);

  g_object_set (e, "threshold", 0.25, NULL);
  ASSERT_WARNING (g_object_set (e, "threshold", 2.0, NULL));
  g_object_get (e, "threshold", &t, NULL);
  fail_unless_equals_float (t, 0.25);

  g_object_get (e, "device", &s, "post-messages", &b, NULL);
  fail_unless_equals_string (s, "auto");
  fail_if (b);
  g_free (s);
  g_object_get (e, "object-class", &s, NULL);
  fail_unless (s == NULL || *s == '\0');
  g_free (s);
  g_object_get (e, "input-size", &s, NULL);
  fail_unless (s == NULL || *s == '\0');
  g_free (s);
  gst_object_unref (e);
}

GST_END_TEST;

/* The tiling properties: defaults, ranges, enum nicks, READY-only, and a
 * bad tile-size refused with a warning that keeps the old value. */
GST_START_TEST (test_tiling_properties)
{
  static const gchar *bad[] = {
    "512",
    "512x",
    "x512",
    "0x512",
    "-5x5",
    "512x512x",
    "16385x16",
    "axb",
  };
  static const gchar *tile_props[] = {
    "tile-size",
    "tile-overlap",
    "tile-full-frame",
    "tile-merge",
    "tile-match-metric",
    "tile-match-threshold",
    "max-tiles",
  };
  GstElement *e = new_detect ();
  GObjectClass *klass = G_OBJECT_GET_CLASS (e);
  gchar *s;
  gboolean full;
  guint i;

  check_double_range (klass, "tile-overlap", 0.0, 0.9, 0.2);
  check_double_range (klass, "tile-match-threshold", 0.0, 1.0, 0.5);
  check_uint_range (klass, "max-tiles", 1, 1024, 64);
  for (i = 0; i < G_N_ELEMENTS (tile_props); i++)
    fail_unless (g_object_class_find_property (klass, tile_props[i])->flags &
                     GST_PARAM_MUTABLE_READY,
        "%s", tile_props[i]);

  g_object_get (e, "tile-size", &s, "tile-full-frame", &full, NULL);
  fail_unless (s == NULL || *s == '\0', "tiling is off by default");
  fail_unless (full);
  g_free (s);
  /* The enums by nick, as gst-launch-1.0 sets them. */
  gst_util_set_object_arg (G_OBJECT (e), "tile-merge", "nms");
  gst_util_set_object_arg (G_OBJECT (e), "tile-match-metric", "iou");
  {
    gint m, k;

    g_object_get (e, "tile-merge", &m, "tile-match-metric", &k, NULL);
    fail_unless_equals_int (m, 1); /* "nms" */
    fail_unless_equals_int (k, 1); /* "iou" */
  }

  g_object_set (e, "tile-size", "640x360", NULL);
  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    ASSERT_WARNING (g_object_set (e, "tile-size", bad[i], NULL));
    g_object_get (e, "tile-size", &s, NULL);
    fail_unless_equals_string (s, "640x360");
    g_free (s);
  }
  ASSERT_WARNING (g_object_set (e, "tile-overlap", 0.95, NULL));
  g_object_set (e, "tile-size", "", NULL);
  g_object_get (e, "tile-size", &s, NULL);
  fail_unless (s == NULL || *s == '\0');
  g_free (s);
  gst_object_unref (e);
}

GST_END_TEST;

/* labels is NULL before start and "dog,cat" after; latency > 0 after a
 * frame. */
/* qos stays off whatever is set: the base class must never drop a frame. */
GST_START_TEST (test_qos_stays_off)
{
  GstElement *e = gst_element_factory_make ("ipgnetdetect", NULL);
  gboolean qos = TRUE;

  fail_unless (e != NULL);
  g_object_set (e, "qos", TRUE, NULL);
  g_object_get (e, "qos", &qos, NULL);
  fail_unless (!qos);
  fail_unless (!gst_base_transform_is_qos_enabled (GST_BASE_TRANSFORM (e)));
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_labels_and_latency)
{
  GstElement *e = new_detect ();
  GstHarness *hrn;
  gchar *labels = NULL;
  gdouble latency = -1.0;

  g_object_get (e, "labels", &labels, "latency", &latency, NULL);
  fail_unless (labels == NULL);
  fail_unless_equals_float (latency, 0.0);

  hrn = new_harness (e, "RGB", 64, 64);
  g_object_get (e, "labels", &labels, NULL);
  fail_unless_equals_string (labels, "dog,cat");
  g_free (labels);
  push_and_check (hrn, "RGB", 64, 64, 0, 0.0);
  g_object_get (e, "latency", &latency, NULL);
  fail_unless (latency > 0.0, "latency %f", latency);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* Tiling on every format: 97x61 frames in 48x40 tiles (origins 0, 39, 49 across
 * and 0, 21 down: odd, so planar chroma is sampled at odd positions) plus the
 * full frame; the frame passes unchanged, the ROIs are well formed and each
 * carries its tile (-1..5) and a positive scale. */
GST_START_TEST (test_tiled_formats)
{
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstElement *e = new_detect ();
    GstHarness *hrn;
    GstBuffer *out;
    GstMeta *meta;
    gpointer state = NULL;
    guint n = 0;

    g_object_set (e, "tile-size", "48x40", "threshold", 0.0, NULL);
    hrn = new_harness (e, formats[f], 97, 61);
    fail_unless (push_and_check (hrn, formats[f], 97, 61, 0, 0.0) > 0,
        "%s: no detections at threshold 0", formats[f]);
    fail_unless_equals_int (gst_harness_push (hrn,
                                make_frame (formats[f], 97, 61, 5, 1)),
        GST_FLOW_OK);
    out = gst_harness_pull (hrn);
    while ((meta = gst_buffer_iterate_meta_filtered (out, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      GstStructure *s = gst_video_region_of_interest_meta_get_param (
          (GstVideoRegionOfInterestMeta *) meta, "detection");
      gint tile = -2;
      gdouble scale = 0.0;

      fail_unless (s != NULL && gst_structure_get_int (s, "tile", &tile) &&
                       gst_structure_get_double (s, "scale", &scale),
          "%s", formats[f]);
      fail_unless (tile >= -1 && tile <= 5 && scale > 0.0,
          "%s: tile %d scale %g", formats[f], tile, scale);
      n++;
    }
    fail_unless (n > 0, "%s: no tiled detections", formats[f]);
    gst_buffer_unref (out);
    gst_harness_teardown (hrn);
    gst_object_unref (e);
  }
}

GST_END_TEST;

/* A tiled run attaches the tiling provenance to every detection: `tile`
 * (-1: the full-frame pass), `scale` and the two again as
 * extra_params_json (where gvametaconvert takes extra params from), and
 * nothing else differs from an untiled detection. */
GST_START_TEST (test_tiled_extras)
{
  GstElement *e = new_detect ();
  GstHarness *hrn;
  GstBuffer *out;
  GstMeta *meta;
  gpointer state = NULL;
  gboolean seen_tile = FALSE, seen_full = FALSE;

  g_object_set (e, "tile-size", "64x64", "tile-full-frame", TRUE, NULL);
  hrn = new_harness (e, "RGBA", 128, 128);
  fail_unless_equals_int (gst_harness_push (hrn,
                              make_frame ("RGBA", 128, 128, 7, 0)),
      GST_FLOW_OK);
  out = gst_harness_pull (hrn);
  fail_unless (out != NULL);
  while ((meta = gst_buffer_iterate_meta_filtered (out, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    GstStructure *s =
        gst_video_region_of_interest_meta_get_param (roi, "detection");
    gchar scale_text[G_ASCII_DTOSTR_BUF_SIZE], *extra;
    gdouble scale;
    gint tile;

    fail_unless (s != NULL);
    fail_unless_equals_int (gst_structure_n_fields (s), 12);
    fail_if (gst_structure_has_field (s, "label"));
    fail_unless (gst_structure_get_int (s, "tile", &tile));
    fail_unless (gst_structure_get_double (s, "scale", &scale));
    fail_unless (tile >= -1, "tile %d", tile);
    fail_unless (scale > 0.0, "scale %f", scale);
    seen_tile |= tile >= 0;
    seen_full |= tile == -1;
    g_ascii_dtostr (scale_text, sizeof (scale_text), scale);
    extra = g_strdup_printf ("{\"scale\":%s,\"tile\":%d}", scale_text, tile);
    fail_unless_equals_string (gst_structure_get_string (s,
                                   "extra_params_json"),
        extra);
    g_free (extra);
  }
  fail_unless (seen_tile, "no detection from a tile");
  fail_unless (seen_full, "no detection from the full-frame pass");
  gst_buffer_unref (out);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

static Suite *
ipgnetdetect_suite (void)
{
  Suite *s = suite_create ("ipgnetdetect");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_property_ranges);
  tcase_add_test (tc, test_tiling_properties);
  tcase_add_test (tc, test_labels_and_latency);
  tcase_add_test (tc, test_qos_stays_off);
  tcase_add_test (tc, test_formats_and_sizes);
  tcase_add_test (tc, test_large_planar);
  tcase_add_test (tc, test_colorimetry);
  tcase_add_test (tc, test_packed_formats_agree);
  tcase_add_test (tc, test_planar_colorimetry);
  tcase_add_test (tc, test_threshold);
  tcase_add_test (tc, test_object_class);
  tcase_add_test (tc, test_unknown_class);
  tcase_add_test (tc, test_input_size);
  tcase_add_test (tc, test_interval);
  tcase_add_test (tc, test_max_detections);
  tcase_add_test (tc, test_post_messages);
  tcase_add_test (tc, test_missing_model);
  tcase_add_test (tc, test_default_model_missing);
  tcase_add_test (tc, test_corrupt_model);
  tcase_add_test (tc, test_bad_device);
  tcase_add_test (tc, test_accept_caps);
  tcase_add_test (tc, test_caps_changes);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_tiled_extras);
  tcase_add_test (tc, test_tiled_formats);
  return s;
}

GST_CHECK_MAIN (ipgnetdetect);
