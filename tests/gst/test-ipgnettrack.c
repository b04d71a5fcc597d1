/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ipgnettrack.c: ipgnettrack element tests (GstHarness, gst-check):
 * ids stable along a moving box, new ids for new objects, predicted boxes
 * on frames the detector did not infer (also behind a real ipgnetdetect
 * with interval), frames and their order untouched, flush and EOS reset. */
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <string.h>

#define W 320
#define H 240
#define CAPS "video/x-raw,format=RGBx,width=320,height=240,framerate=30/1"
#define NOT_INFERRED "GstIpgNetNotInferredMeta"

typedef struct
{
  guint x, y, w, h;
  gint id; /* 0: no object_id */
  gboolean tracked;
  const gchar *label;
} Roi;

static GstHarness *
track_harness_new (const gchar *props)
{
  gchar *desc = g_strdup_printf ("ipgnettrack %s", props ? props : "");
  GstHarness *h = gst_harness_new_parse (desc);

  g_free (desc);
  gst_harness_set_src_caps_str (h, CAPS);
  return h;
}

static GstBuffer *
frame_new (guint index)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, W * H * 4, NULL);

  gst_buffer_memset (buf, 0, (guint8) (index * 37 + 11), W * H * 4);
  GST_BUFFER_PTS (buf) = index * GST_SECOND / 30;
  GST_BUFFER_DTS (buf) = GST_BUFFER_PTS (buf);
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  GST_BUFFER_OFFSET (buf) = index;
  return buf;
}

/* A detection as ipgnetdetect attaches it. */
static void
add_detection (GstBuffer *buf, const gchar *label, gint label_id,
    gdouble confidence, guint x, guint y, guint w, guint h)
{
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (buf, label, x, y, w, h);

  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("detection", "x_min", G_TYPE_DOUBLE, (gdouble) x / W,
          "y_min", G_TYPE_DOUBLE, (gdouble) y / H, "x_max", G_TYPE_DOUBLE,
          (gdouble) (x + w) / W, "y_max", G_TYPE_DOUBLE, (gdouble) (y + h) / H,
          "confidence", G_TYPE_DOUBLE, confidence, "label_id", G_TYPE_INT,
          label_id, "label", G_TYPE_STRING, label, NULL));
}

/* The region metas of a buffer, in order; returns how many (at most 16). */
static guint
read_rois (GstBuffer *buf, Roi *out)
{
  GstMeta *meta;
  gpointer state = NULL;
  guint n = 0;

  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    GstStructure *s;
    Roi r = { roi->x, roi->y, roi->w, roi->h, 0, FALSE,
      g_quark_to_string (roi->roi_type) };

    s = gst_video_region_of_interest_meta_get_param (roi, "object_id");
    if (s != NULL)
      fail_unless (gst_structure_get_int (s, "id", &r.id));
    s = gst_video_region_of_interest_meta_get_param (roi, "detection");
    if (s != NULL && gst_structure_has_field (s, "tracked"))
      fail_unless (gst_structure_get_boolean (s, "tracked", &r.tracked));
    fail_unless (n < 16);
    out[n++] = r;
  }
  return n;
}

/* Pushes one frame with a box per entry of xs (all 24x24 at y, "dog"),
 * or a frame marked not inferred when xs is NULL; pulls it and reads its
 * regions. */
static guint
push_frame (GstHarness *h, guint index, const guint *xs, guint n_xs, guint y,
    Roi *out)
{
  GstBuffer *buf = frame_new (index), *res;
  guint i, n;

  if (xs == NULL)
    gst_buffer_add_custom_meta (buf, NOT_INFERRED);
  for (i = 0; xs != NULL && i < n_xs; i++)
    add_detection (buf, "dog", 0, 0.9, xs[i], y, 24, 24);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  res = gst_harness_pull (h);
  fail_unless (res != NULL);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (res), index);
  n = read_rois (res, out);
  gst_buffer_unref (res);
  return n;
}

/* One box moving 4 px per frame: no id on the first frame (tentative),
 * then the same id on every frame. */
GST_START_TEST (test_stable_ids)
{
  GstHarness *h = track_harness_new (NULL);
  Roi r[16];
  guint f, x;

  for (f = 0; f < 12; f++) {
    x = 20 + 4 * f;
    fail_unless_equals_int (push_frame (h, f, &x, 1, 100, r), 1);
    fail_unless_equals_int (r[0].x, x);
    fail_unless (!r[0].tracked);
    fail_unless_equals_int (r[0].id, f == 0 ? 0 : 1);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A second object appearing later gets the next id; the first keeps its. */
GST_START_TEST (test_new_objects)
{
  GstHarness *h = track_harness_new (NULL);
  Roi r[16];
  guint f;

  for (f = 0; f < 10; f++) {
    guint xs[2] = { 20 + 3 * f, 250 - 3 * f };
    guint n = push_frame (h, f, xs, f < 5 ? 1 : 2, 60, r);

    fail_unless_equals_int (n, f < 5 ? 1 : 2);
    if (f >= 1)
      fail_unless_equals_int (r[0].id, 1);
    if (f == 5)
      fail_unless_equals_int (r[1].id, 0);
    if (f >= 6)
      fail_unless_equals_int (r[1].id, 2);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Frames marked not inferred get the predicted box of the live track,
 * marked tracked, with its id, moving on at the track's velocity; a frame
 * that was inferred and found nothing gets none. */
GST_START_TEST (test_predicted_boxes)
{
  GstHarness *h = track_harness_new (NULL);
  Roi r[16];
  guint f, x = 0;

  for (f = 0; f < 10; f++) {
    x = 20 + 4 * f;
    push_frame (h, f, &x, 1, 100, r);
  }
  for (f = 10; f < 13; f++) {
    gint want = 20 + 4 * f;

    fail_unless_equals_int (push_frame (h, f, NULL, 0, 0, r), 1);
    fail_unless (r[0].tracked, "frame %u: prediction not marked", f);
    fail_unless_equals_int (r[0].id, 1);
    fail_unless (ABS ((gint) r[0].x - want) <= 1, "frame %u: x %u, want %d", f,
        r[0].x, want);
    fail_unless (ABS ((gint) r[0].y - 100) <= 1);
    fail_unless (
        ABS ((gint) r[0].w - 24) <= 1 && ABS ((gint) r[0].h - 24) <= 1);
    fail_unless_equals_string (r[0].label, "dog");
  }
  /* Found again where predicted: same id, a detection again. */
  x = 20 + 4 * 13;
  fail_unless_equals_int (push_frame (h, 13, &x, 1, 100, r), 1);
  fail_unless_equals_int (r[0].id, 1);
  fail_unless (!r[0].tracked);
  /* Inferred, nothing found: the track is lost, nothing is invented. */
  fail_unless_equals_int (push_frame (h, 14, &x, 0, 100, r), 0);
  fail_unless_equals_int (push_frame (h, 15, NULL, 0, 0, r), 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* The predicted meta carries the full "detection" structure. */
GST_START_TEST (test_predicted_fields)
{
  GstHarness *h = track_harness_new (NULL);
  GstBuffer *buf, *res;
  GstVideoRegionOfInterestMeta *roi;
  GstStructure *s;
  gdouble conf, x_min;
  gint label_id;
  guint f, x = 40;
  Roi r[16];

  for (f = 0; f < 3; f++) {
    buf = frame_new (f);
    add_detection (buf, "cat", 1, 0.75, x, 50, 32, 32);
    gst_harness_push (h, buf);
    gst_buffer_unref (gst_harness_pull (h));
  }
  buf = frame_new (3);
  gst_buffer_add_custom_meta (buf, NOT_INFERRED);
  gst_harness_push (h, buf);
  res = gst_harness_pull (h);
  fail_unless_equals_int (read_rois (res, r), 1);
  roi = gst_buffer_get_video_region_of_interest_meta_id (res, 0);
  fail_unless (roi != NULL);
  fail_unless_equals_string (g_quark_to_string (roi->roi_type), "cat");
  s = gst_video_region_of_interest_meta_get_param (roi, "detection");
  fail_unless (s != NULL);
  fail_unless (gst_structure_get_double (s, "confidence", &conf));
  fail_unless (fabs (conf - 0.75) < 1e-6);
  fail_unless (gst_structure_get_int (s, "label_id", &label_id));
  fail_unless_equals_int (label_id, 1);
  /* DL Streamer's convention: the label is the roi_type, not a field. */
  fail_unless (!gst_structure_has_field (s, "label"));
  fail_unless (gst_structure_get_double (s, "x_min", &x_min));
  fail_unless (fabs (x_min - 40.0 / W) < 2.0 / W);
  gst_buffer_unref (res);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Every frame comes out once, in order, with its bytes, timestamps,
 * offsets and flags; metas of other kinds stay. */
GST_START_TEST (test_frames_untouched)
{
  GstHarness *h = track_harness_new (NULL);
  guint f;

  for (f = 0; f < 20; f++) {
    GstBuffer *in = frame_new (f), *out;
    GstMapInfo map;
    guint i;
    guint x = 10 + 2 * f;

    if (f % 4 == 3)
      gst_buffer_add_custom_meta (in, NOT_INFERRED);
    else
      add_detection (in, "dog", 0, 0.9, x, 30, 20, 20);
    if (f % 5 == 0)
      GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
    {
      GstCaps *ref = gst_caps_new_empty_simple ("timestamp/x-test");

      gst_buffer_add_reference_timestamp_meta (in, ref, f * 1000, 0);
      gst_caps_unref (ref);
    }
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    out = gst_harness_pull (h);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (out), f);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (out), f * GST_SECOND / 30);
    fail_unless_equals_uint64 (GST_BUFFER_DTS (out), f * GST_SECOND / 30);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (out), GST_SECOND / 30);
    fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (out,
                                GST_BUFFER_FLAG_DISCONT),
        f % 5 == 0);
    fail_unless (gst_buffer_get_reference_timestamp_meta (out, NULL) != NULL);
    fail_unless_equals_int (gst_buffer_get_reference_timestamp_meta (out, NULL)
                                ->timestamp,
        f * 1000);
    fail_unless_equals_int (gst_buffer_get_size (out), W * H * 4);
    fail_unless (gst_buffer_map (out, &map, GST_MAP_READ));
    for (i = 0; i < map.size; i++)
      if (map.data[i] != (guint8) (f * 37 + 11))
        break;
    fail_unless_equals_int (i, map.size);
    gst_buffer_unmap (out, &map);
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A flush forgets the tracks: no predictions after it, and the same box
 * starts a new track with a new id. EOS does the same. */
GST_START_TEST (test_flush_resets)
{
  GstHarness *h = track_harness_new (NULL);
  Roi r[16];
  guint f, x = 50;
  gint round;

  for (round = 0; round < 2; round++) {
    for (f = 0; f < 4; f++)
      push_frame (h, round * 10 + f, &x, 1, 80, r);
    fail_unless_equals_int (r[0].id, round + 1);
    if (round == 0) {
      fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
      fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
      gst_harness_set_src_caps_str (h, CAPS);
      {
        GstSegment seg;

        gst_segment_init (&seg, GST_FORMAT_TIME);
        fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
      }
    } else {
      GstSegment seg;

      /* EOS, then a new stream (stream-start clears the pad's EOS). */
      fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
      fail_unless (
          gst_harness_push_event (h, gst_event_new_stream_start ("second")));
      gst_harness_set_src_caps_str (h, CAPS);
      gst_segment_init (&seg, GST_FORMAT_TIME);
      fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
    }
    fail_unless_equals_int (push_frame (h, round * 10 + 4, NULL, 0, 0, r), 0);
    fail_unless_equals_int (push_frame (h, round * 10 + 5, &x, 1, 80, r), 1);
    fail_unless_equals_int (r[0].id, 0);
    if (round == 1)
      break;
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Behind a real ipgnetdetect with interval=3: skipped frames are marked,
 * and carry one predicted box per object of the last inferred frame, with
 * its id; the next inferred frame (same picture) gives the same ids. */
GST_START_TEST (test_behind_ipgnetdetect)
{
  const gchar *model = g_getenv ("IPGNET_TEST_MODEL");
  gchar *desc;
  GstHarness *h;
  GstBuffer *frame = NULL;
  GArray *ids0 = g_array_new (FALSE, FALSE, sizeof (gint));
  guint f, i;

  fail_unless (model != NULL, "IPGNET_TEST_MODEL is not set");
  /* The tiny random model scores low: take everything as a detection. */
  desc = g_strdup_printf ("ipgnetdetect model=%s threshold=0 interval=3 "
                          "max-detections=20 ! ipgnettrack track-thresh=0 "
                          "low-thresh=0 "
                          "new-track-thresh=0 min-hits=1",
      model);
  h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGBA,width=64,height=64,framerate=30/1");

  for (f = 0; f < 7; f++) {
    GstBuffer *in, *out;
    GstMapInfo map;
    guint n;
    gboolean marked;

    if (frame == NULL) {
      frame = gst_buffer_new_allocate (NULL, 64 * 64 * 4, NULL);
      fail_unless (gst_buffer_map (frame, &map, GST_MAP_WRITE));
      for (i = 0; i < map.size; i++)
        map.data[i] = (guint8) ((i * 7) ^ (i >> 5));
      gst_buffer_unmap (frame, &map);
    }
    in = gst_buffer_copy (frame);
    GST_BUFFER_PTS (in) = f * GST_SECOND / 30;
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    out = gst_harness_pull (h);
    marked = gst_buffer_get_custom_meta (out, NOT_INFERRED) != NULL;
    fail_unless_equals_int (marked, f % 3 != 0);
    {
      GstMeta *meta;
      gpointer state = NULL;

      n = 0;
      while ((meta = gst_buffer_iterate_meta_filtered (out, &state,
                  GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
        GstVideoRegionOfInterestMeta *roi =
            (GstVideoRegionOfInterestMeta *) meta;
        GstStructure *s =
            gst_video_region_of_interest_meta_get_param (roi, "object_id");
        GstStructure *d =
            gst_video_region_of_interest_meta_get_param (roi, "detection");
        gboolean tracked = FALSE;
        gint id = 0;

        gdouble x0, y0, x1, y1;

        if (s != NULL)
          gst_structure_get_int (s, "id", &id);
        if (d != NULL && gst_structure_has_field (d, "tracked"))
          gst_structure_get_boolean (d, "tracked", &tracked);
        fail_unless_equals_int (tracked, marked);
        fail_unless (d != NULL && gst_structure_get_double (d, "x_min", &x0) &&
                     gst_structure_get_double (d, "y_min", &y0) &&
                     gst_structure_get_double (d, "x_max", &x1) &&
                     gst_structure_get_double (d, "y_max", &y1));
        /* The random model also finds empty boxes on the frame's edge: the
         * tracker ignores those. */
        if (x1 <= x0 || y1 <= y0) {
          fail_unless_equals_int (id, 0);
          continue;
        }
        fail_unless (id > 0, "frame %u: object without id", f);
        if (f == 0)
          g_array_append_val (ids0, id);
        else
          fail_unless (n < ids0->len && g_array_index (ids0, gint, n) == id,
              "frame %u, object %u: id %d is not frame 0's", f, n, id);
        n++;
      }
    }
    fail_unless (ids0->len > 0, "the detector found nothing");
    fail_unless_equals_int (n, ids0->len);
    gst_buffer_unref (out);
  }
  gst_buffer_unref (frame);
  g_array_unref (ids0);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ipgnetjson writes the id as "id" (gvametaconvert's place, keys sorted)
 * and marks predictions "tracked": true in "extra_params". */
GST_START_TEST (test_json_ids)
{
  gchar *dir = g_dir_make_tmp ("ipgnettrack-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "out.jsonl", NULL);
  gchar *desc = g_strdup_printf ("ipgnettrack ! ipgnetjson location=%s", path);
  GstHarness *h = gst_harness_new_parse (desc);
  gchar *text = NULL, **lines;
  guint f, x = 30;
  Roi r[16];

  gst_harness_set_src_caps_str (h, CAPS);
  for (f = 0; f < 3; f++)
    push_frame (h, f, &x, 1, 40, r);
  push_frame (h, 3, NULL, 0, 0, r);
  gst_harness_teardown (h);

  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 5);
  fail_unless (strstr (lines[0], "\"id\"") == NULL, "%s", lines[0]);
  fail_unless (strstr (lines[1], "\"h\":24,\"id\":1,\"region_id\":0,"
                                 "\"roi_type\":\"dog\"") != NULL,
      "%s", lines[1]);
  fail_unless (strstr (lines[1], "tracked") == NULL, "%s", lines[1]);
  fail_unless (strstr (lines[3], "\"id\":1,") != NULL, "%s", lines[3]);
  fail_unless (strstr (lines[3], "\"extra_params\":{\"tracked\":true}") != NULL,
      "%s", lines[3]);
  /* The prediction's label comes from its roi_type. */
  fail_unless (strstr (lines[3], "\"label\":\"dog\"") != NULL, "%s", lines[3]);
  g_strfreev (lines);
  g_free (text);
  g_remove (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  g_free (desc);
}

GST_END_TEST;

static void
check_double_range (GObjectClass *klass, const gchar *name, gdouble min,
    gdouble max, gdouble def)
{
  GParamSpec *p = g_object_class_find_property (klass, name);

  fail_unless (p != NULL && G_IS_PARAM_SPEC_DOUBLE (p), "%s", name);
  fail_unless_equals_float (G_PARAM_SPEC_DOUBLE (p)->minimum, min);
  fail_unless_equals_float (G_PARAM_SPEC_DOUBLE (p)->maximum, max);
  fail_unless_equals_float (G_PARAM_SPEC_DOUBLE (p)->default_value, def);
}

static void
check_uint_range (GObjectClass *klass, const gchar *name, guint min, guint max,
    guint def)
{
  GParamSpec *p = g_object_class_find_property (klass, name);

  fail_unless (p != NULL && G_IS_PARAM_SPEC_UINT (p), "%s", name);
  fail_unless_equals_int (G_PARAM_SPEC_UINT (p)->minimum, min);
  fail_unless_equals_int (G_PARAM_SPEC_UINT (p)->maximum, max);
  fail_unless_equals_int (G_PARAM_SPEC_UINT (p)->default_value, def);
}

GST_START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make ("ipgnettrack", NULL);
  GObjectClass *klass = G_OBJECT_GET_CLASS (e);
  GParamSpec *p;

  check_double_range (klass, "track-thresh", 0.0, 1.0, 0.5);
  check_double_range (klass, "low-thresh", 0.0, 1.0, 0.1);
  check_double_range (klass, "new-track-thresh", 0.0, 1.0, 0.6);
  check_double_range (klass, "match-thresh", 0.0, 1.0, 0.8);
  check_uint_range (klass, "min-hits", 1, 100, 2);
  check_uint_range (klass, "max-age", 0, 100000, 30);
  p = g_object_class_find_property (klass, "per-class");
  fail_unless (p != NULL && G_PARAM_SPEC_BOOLEAN (p)->default_value);
  gst_object_unref (e);
}

GST_END_TEST;

/* per-class=false: a box whose label changes keeps its id. */
GST_START_TEST (test_across_classes)
{
  const gchar *labels[] = { "dog", "cat" };
  gint pc;

  for (pc = 0; pc < 2; pc++) {
    GstHarness *h =
        track_harness_new (pc ? "per-class=true" : "per-class=false");
    guint f;
    Roi r[16];

    for (f = 0; f < 6; f++) {
      GstBuffer *buf = frame_new (f), *res;

      add_detection (buf, labels[f >= 3], f >= 3, 0.9, 60 + f, 60, 30, 30);
      gst_harness_push (h, buf);
      res = gst_harness_pull (h);
      read_rois (res, r);
      gst_buffer_unref (res);
      if (f >= 1 && f != 3)
        fail_unless (r[0].id > 0);
      if (f == 5)
        fail_unless_equals_int (r[0].id, pc ? 2 : 1);
    }
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

static Suite *
ipgnettrack_suite (void)
{
  Suite *s = suite_create ("ipgnettrack");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_stable_ids);
  tcase_add_test (tc, test_new_objects);
  tcase_add_test (tc, test_predicted_boxes);
  tcase_add_test (tc, test_predicted_fields);
  tcase_add_test (tc, test_frames_untouched);
  tcase_add_test (tc, test_flush_resets);
  tcase_add_test (tc, test_behind_ipgnetdetect);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_across_classes);
  tcase_add_test (tc, test_json_ids);
  return s;
}

GST_CHECK_MAIN (ipgnettrack);
