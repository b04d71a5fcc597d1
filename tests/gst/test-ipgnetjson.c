/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ipgnetjson.c: ipgnetjson writes what DL Streamer's gvametaconvert
 * writes (golden lines), one line per frame, and reports every write
 * error. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#define CAPS_320x240                              \
  "video/x-raw,format=RGBx,width=320,height=240," \
  "framerate=30/1"

static gchar *
tmp_dir_new (void)
{
  gchar *dir = g_dir_make_tmp ("ipgnetjson-XXXXXX", NULL);

  fail_unless (dir != NULL);
  return dir;
}

static void
tmp_done (gchar *dir, gchar *file)
{
  if (file != NULL) {
    g_remove (file);
    g_free (file);
  }
  fail_unless_equals_int (g_rmdir (dir), 0);
  g_free (dir);
}

static GstHarness *
json_harness_new (const gchar *location, const gchar *props)
{
  GstHarness *h = gst_harness_new ("ipgnetjson");
  GstElement *e = h->element;

  /* the harness starts its element: stop it to set location */
  gst_element_set_state (e, GST_STATE_NULL);
  if (location != NULL)
    g_object_set (e, "location", location, NULL);
  if (props != NULL) {
    gchar **pv = g_strsplit (props, ";", -1);
    guint i;

    for (i = 0; pv[i] != NULL; i++) {
      gchar **kv = g_strsplit (pv[i], "=", 2);

      gst_util_set_object_arg (G_OBJECT (e), kv[0], kv[1]);
      g_strfreev (kv);
    }
    g_strfreev (pv);
  }
  gst_harness_play (h);
  gst_harness_set_src_caps_str (h, CAPS_320x240);
  return h;
}

static GstBuffer *
frame_new (GstClockTime pts)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 320 * 240 * 4, NULL);

  gst_buffer_memset (buf, 0, 0x5a, 320 * 240 * 4);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

static void
add_detection (GstBuffer *buf, const gchar *roi_type, const gchar *label,
    gint label_id, gdouble confidence, guint x, guint y, guint w, guint h)
{
  GstVideoRegionOfInterestMeta *roi;

  roi =
      gst_buffer_add_video_region_of_interest_meta (buf, roi_type, x, y, w, h);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("detection", "x_min", G_TYPE_DOUBLE, x / 320.0,
          "y_min", G_TYPE_DOUBLE, y / 240.0, "x_max", G_TYPE_DOUBLE,
          (x + w) / 320.0, "y_max", G_TYPE_DOUBLE, (y + h) / 240.0,
          "confidence", G_TYPE_DOUBLE, confidence, "label_id", G_TYPE_INT,
          label_id, "rotation", G_TYPE_DOUBLE, 0.0, "label", G_TYPE_STRING,
          label, "model_name", G_TYPE_STRING, "test", NULL));
}

/* A region with its id and a "detection" of the given box. */
static GstVideoRegionOfInterestMeta *
add_roi (GstBuffer *buf, const gchar *roi_type, gint id, guint x, guint y,
    guint w, guint h, gdouble x_min, gdouble y_min, gdouble x_max,
    gdouble y_max)
{
  GstVideoRegionOfInterestMeta *roi;

  roi =
      gst_buffer_add_video_region_of_interest_meta (buf, roi_type, x, y, w, h);
  roi->id = id;
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("detection", "x_min", G_TYPE_DOUBLE, x_min, "y_min",
          G_TYPE_DOUBLE, y_min, "x_max", G_TYPE_DOUBLE, x_max, "y_max",
          G_TYPE_DOUBLE, y_max, NULL));
  return roi;
}

/* Runs the frames through ipgnetjson (props: "name=value;...", NULL for
 * none; a segment when @segment is not NULL) and returns the file. */
static gchar *
run_frames (const gchar *props, const GstSegment *segment, GstBuffer **frames,
    guint n)
{
  gchar *dir = tmp_dir_new ();
  gchar *path = g_build_filename (dir, "out.jsonl", NULL);
  GstHarness *h = json_harness_new (path, props);
  gchar *contents = NULL;
  guint i;

  if (segment != NULL)
    fail_unless (gst_harness_push_event (h, gst_event_new_segment (segment)));
  for (i = 0; i < n; i++)
    fail_unless_equals_int (gst_harness_push (h, frames[i]), GST_FLOW_OK);
  gst_harness_teardown (h);
  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  tmp_done (dir, path);
  return contents;
}

/* The golden lines below are gvametaconvert's output (DL Streamer
 * v2025.1.2, src/monolithic/gst/elements/gvametaconvert/jsonconverter.cpp
 * with nlohmann::json's dump(-1)) for the same metas, derived by hand from
 * those sources: keys sorted, compact, region_id always, "label" the
 * roi_type, doubles that are whole as 1.0. Fixed text, never our writer's
 * output. */

/* The example, byte for byte. */
GST_START_TEST (test_golden_one)
{
  GstBuffer *f = frame_new (40 * GST_MSECOND);
  GstVideoRegionOfInterestMeta *roi;
  gchar *text;

  roi = add_roi (f, "car", 0, 32, 24, 64, 48, 0.1, 0.1, 0.3, 0.3);
  gst_structure_set (gst_video_region_of_interest_meta_get_param (roi,
                         "detection"),
      "confidence", G_TYPE_DOUBLE, 0.5, "label_id", G_TYPE_INT, 2, NULL);
  text = run_frames (NULL, NULL, &f, 1);
  fail_unless_equals_string (text,
      "{\"objects\":[{\"detection\":"
      "{\"bounding_box\":{\"x_max\":0.3,\"x_min\":0.1,\"y_max\":0.3,"
      "\"y_min\":0.1},\"confidence\":0.5,\"label\":\"car\",\"label_id\":2},"
      "\"h\":48,\"region_id\":0,\"roi_type\":\"car\",\"w\":64,\"x\":32,"
      "\"y\":24}],\"resolution\":{\"height\":240,\"width\":320},"
      "\"timestamp\":40000000}\n");
  g_free (text);
}

GST_END_TEST;

/* Several objects in attach order: a tracked id, classification params
 * (named by attribute_name, else by structure name), extra_params_json,
 * whole doubles, a foreign meta without params; source and tags. Ours:
 * "tracked": true in extra_params for ipgnettrack's predicted box. */
GST_START_TEST (test_golden_objects)
{
  GstBuffer *f = frame_new (GST_SECOND);
  GstVideoRegionOfInterestMeta *roi;
  gchar *text;

  roi = add_roi (f, "person", 11, 10, 20, 30, 40, 0.0, 0.25, 1.0, 0.5);
  gst_structure_set (gst_video_region_of_interest_meta_get_param (roi,
                         "detection"),
      "confidence", G_TYPE_DOUBLE, 1.0, "label_id", G_TYPE_INT, 0,
      "extra_params_json", G_TYPE_STRING, "{\"tile\": 3, \"scale\": 0.5}",
      NULL);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("object_id", "id", G_TYPE_INT, 5, NULL));
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("color", "label", G_TYPE_STRING, "red", "model_name",
          G_TYPE_STRING, "colornet", "confidence", G_TYPE_DOUBLE, 0.75,
          "label_id", G_TYPE_INT, 1, NULL));
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("classification_layer_name:out", "attribute_name",
          G_TYPE_STRING, "age", "label", G_TYPE_STRING, "adult", "model_name",
          G_TYPE_STRING, "agenet", NULL));
  /* no model_name: not a classification */
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("other", "label", G_TYPE_STRING, "x", NULL));

  roi = add_roi (f, "car", 12, 160, 120, 80, 60, 0.5, 0.5, 0.75, 0.75);
  gst_structure_set (gst_video_region_of_interest_meta_get_param (roi,
                         "detection"),
      "confidence", G_TYPE_DOUBLE, 0.125, "label_id", G_TYPE_INT, 2, "tracked",
      G_TYPE_BOOLEAN, TRUE, NULL);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("object_id", "id", G_TYPE_INT, 6, NULL));

  gst_buffer_add_video_region_of_interest_meta (f, "thing", 1, 2, 3, 4);

  text = run_frames ("source=rtsp://cam/1;"
                     "tags={\"site\": \"gate \\\"2\\\"\", \"a\": [1, 2.5e0, "
                     "true, null]}",
      NULL, &f, 1);
  fail_unless_equals_string (text,
      "{\"objects\":["
      "{\"age\":{\"label\":\"adult\",\"model\":{\"name\":\"agenet\"}},"
      "\"color\":{\"confidence\":0.75,\"label\":\"red\",\"label_id\":1,"
      "\"model\":{\"name\":\"colornet\"}},"
      "\"detection\":{\"bounding_box\":{\"x_max\":1.0,\"x_min\":0.0,"
      "\"y_max\":0.5,\"y_min\":0.25},\"confidence\":1.0,\"label\":\"person\","
      "\"label_id\":0},\"extra_params\":{\"scale\":0.5,\"tile\":3},"
      "\"h\":40,\"id\":5,\"region_id\":11,\"roi_type\":\"person\",\"w\":30,"
      "\"x\":10,\"y\":20},"
      "{\"detection\":{\"bounding_box\":{\"x_max\":0.75,\"x_min\":0.5,"
      "\"y_max\":0.75,\"y_min\":0.5},\"confidence\":0.125,\"label\":\"car\","
      "\"label_id\":2},\"extra_params\":{\"tracked\":true},\"h\":60,\"id\":6,"
      "\"region_id\":12,\"roi_type\":\"car\",\"w\":80,\"x\":160,\"y\":120},"
      "{\"h\":4,\"region_id\":0,\"roi_type\":\"thing\",\"w\":3,\"x\":1,"
      "\"y\":2}],"
      "\"resolution\":{\"height\":240,\"width\":320},\"source\":"
      "\"rtsp://cam/1\",\"tags\":{\"a\":[1,2.5,true,null],\"site\":"
      "\"gate \\\"2\\\"\"},\"timestamp\":1000000000}\n");
  g_free (text);
}

GST_END_TEST;

/* gst_structure_get's types: a float confidence, a uint label_id or a
 * float corner leave those out (gvametaconvert asks for double and int). */
GST_START_TEST (test_golden_types)
{
  GstBuffer *f = frame_new (0);
  GstVideoRegionOfInterestMeta *roi;
  gchar *text;

  roi = add_roi (f, "a", 1, 0, 0, 8, 8, 0.0, 0.0, 0.025, 0.03125);
  gst_structure_set (gst_video_region_of_interest_meta_get_param (roi,
                         "detection"),
      "confidence", G_TYPE_FLOAT, 0.5f, "label_id", G_TYPE_UINT, 2, NULL);
  roi = gst_buffer_add_video_region_of_interest_meta (f, "b", 0, 0, 8, 8);
  roi->id = 2;
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("detection", "x_min", G_TYPE_FLOAT, 0.0f, "y_min",
          G_TYPE_DOUBLE, 0.0, "x_max", G_TYPE_DOUBLE, 0.025, "y_max",
          G_TYPE_DOUBLE, 0.03125, NULL));
  text = run_frames (NULL, NULL, &f, 1);
  fail_unless_equals_string (text,
      "{\"objects\":["
      "{\"detection\":{\"bounding_box\":{\"x_max\":0.025,\"x_min\":0.0,"
      "\"y_max\":0.03125,\"y_min\":0.0},\"label\":\"a\"},\"h\":8,"
      "\"region_id\":1,\"roi_type\":\"a\",\"w\":8,\"x\":0,\"y\":0},"
      "{\"h\":8,\"region_id\":2,\"roi_type\":\"b\",\"w\":8,\"x\":0,\"y\":0}],"
      "\"resolution\":{\"height\":240,\"width\":320},\"timestamp\":0}\n");
  g_free (text);
}

GST_END_TEST;

/* Doubles as nlohmann's to_chars places the shortest digits: decimal while
 * the point falls within 15 digits (kMaxExp = digits10) and from 1e-4 on
 * (kMinExp), else an exponent with a sign and at least two digits; 1e15 is
 * "1e+15" where Python would write 1000000000000000.0. */
GST_START_TEST (test_golden_doubles)
{
  static const gdouble v[] = { 1e-05, 0.0001, 1e16, 1e15, 0.1 + 0.2, -0.0,
    1.2345678901234568e+17, 123.456, 5e-324, 1.7976931348623157e308,
    123456789012345.0 };
  static const gchar *golden[] = { "1e-05", "0.0001", "1e+16", "1e+15",
    "0.30000000000000004", "-0.0", "1.2345678901234568e+17", "123.456",
    "5e-324", "1.7976931348623157e+308", "123456789012345.0" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (v); i++) {
    GstBuffer *f = frame_new (0);
    GstVideoRegionOfInterestMeta *roi;
    gchar *text, *expected;

    roi = add_roi (f, "a", 1, 0, 0, 1, 1, 0.0, 0.0, 0.5, 0.5);
    gst_structure_set (gst_video_region_of_interest_meta_get_param (roi,
                           "detection"),
        "confidence", G_TYPE_DOUBLE, v[i], NULL);
    text = run_frames (NULL, NULL, &f, 1);
    expected = g_strdup_printf (
        "{\"objects\":[{\"detection\":"
        "{\"bounding_box\":{\"x_max\":0.5,\"x_min\":0.0,\"y_max\":0.5,"
        "\"y_min\":0.0},\"confidence\":%s,\"label\":\"a\"},\"h\":1,"
        "\"region_id\":1,\"roi_type\":\"a\",\"w\":1,\"x\":0,\"y\":0}],"
        "\"resolution\":{\"height\":240,\"width\":320},\"timestamp\":0}\n",
        golden[i]);
    fail_unless_equals_string (text, expected);
    g_free (expected);
    g_free (text);
  }
}

GST_END_TEST;

/* "timestamp" is the stream time of the PTS: absent without a PTS or
 * before the segment, shifted by a segment that starts later. */
GST_START_TEST (test_golden_timestamps)
{
  GstBuffer *f[3];
  GstSegment seg;
  gchar *text;
  guint i;

  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.start = 10 * GST_SECOND;
  seg.time = 2 * GST_SECOND;
  f[0] = frame_new (GST_CLOCK_TIME_NONE);
  f[1] = frame_new (10 * GST_SECOND + 500 * GST_MSECOND);
  f[2] = frame_new (9 * GST_SECOND);
  for (i = 0; i < 3; i++)
    gst_buffer_add_video_region_of_interest_meta (f[i], "a", 1, 2, 3, 4);
  text = run_frames (NULL, &seg, f, 3);
  fail_unless_equals_string (text,
      "{\"objects\":[{\"h\":4,\"region_id\":0,\"roi_type\":\"a\",\"w\":3,"
      "\"x\":1,\"y\":2}],\"resolution\":{\"height\":240,\"width\":320}}\n"
      "{\"objects\":[{\"h\":4,\"region_id\":0,\"roi_type\":\"a\",\"w\":3,"
      "\"x\":1,\"y\":2}],\"resolution\":{\"height\":240,\"width\":320},"
      "\"timestamp\":2500000000}\n"
      "{\"objects\":[{\"h\":4,\"region_id\":0,\"roi_type\":\"a\",\"w\":3,"
      "\"x\":1,\"y\":2}],\"resolution\":{\"height\":240,\"width\":320}}\n");
  g_free (text);
}

GST_END_TEST;

/* Frames without objects: no line by default; with add-empty-results a
 * line without "objects". */
GST_START_TEST (test_golden_empty)
{
  GstBuffer *f[3];
  gchar *text;

  f[0] = frame_new (7);
  f[1] = frame_new (8);
  gst_buffer_add_video_region_of_interest_meta (f[1], "a", 1, 2, 3, 4);
  f[2] = frame_new (9);
  text = run_frames (NULL, NULL, f, 3);
  fail_unless_equals_string (text,
      "{\"objects\":[{\"h\":4,\"region_id\":0,\"roi_type\":\"a\",\"w\":3,"
      "\"x\":1,\"y\":2}],\"resolution\":{\"height\":240,\"width\":320},"
      "\"timestamp\":8}\n");
  g_free (text);

  f[0] = frame_new (7);
  f[1] = frame_new (8);
  text = run_frames ("add-empty-results=true", NULL, f, 2);
  fail_unless_equals_string (text,
      "{\"resolution\":{\"height\":240,\"width\":320},\"timestamp\":7}\n"
      "{\"resolution\":{\"height\":240,\"width\":320},\"timestamp\":8}\n");
  g_free (text);
}

GST_END_TEST;

/* Strings as nlohmann writes them: short escapes, \u00xx for the other
 * control characters, DEL and UTF-8 as they are; an empty roi_type is left
 * out. Invalid UTF-8 (nlohmann throws) becomes U+FFFD: ours. */
GST_START_TEST (test_golden_escaping)
{
  GstBuffer *f = frame_new (0);
  gchar *text;

  gst_buffer_add_video_region_of_interest_meta (f,
      "q\"b\\n\n\t\x01\x1f\x7f\xc3\xa9\xff", 0, 0, 1, 1);
  gst_buffer_add_video_region_of_interest_meta (f, "", 0, 0, 1, 1);
  text = run_frames (NULL, NULL, &f, 1);
  fail_unless_equals_string (text,
      "{\"objects\":[{\"h\":1,\"region_id\":0,\"roi_type\":"
      "\"q\\\"b\\\\n\\n\\t\\u0001\\u001f\x7f\xc3\xa9\xef\xbf\xbd\",\"w\":1,"
      "\"x\":0,\"y\":0},{\"h\":1,\"region_id\":0,\"w\":1,\"x\":0,\"y\":0}],"
      "\"resolution\":{\"height\":240,\"width\":320},\"timestamp\":0}\n");
  g_free (text);
}

GST_END_TEST;

/* GStreamer's onnxobjectdetector (1.22): roi_type "onnx-object_detector"
 * and an "extra-data" param with label and score become a DL Streamer
 * object with that label and the score as confidence. Ours: gvametaconvert
 * would write only the rectangle and "onnx-object_detector". */
GST_START_TEST (test_golden_onnx)
{
  GstBuffer *f = frame_new (40 * GST_MSECOND);
  GstVideoRegionOfInterestMeta *roi;
  gchar *text;

  roi = gst_buffer_add_video_region_of_interest_meta (f, "onnx-object_detector",
      32, 24, 64, 48);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("extra-data", "label", G_TYPE_STRING, "car", "score",
          G_TYPE_DOUBLE, 0.5, NULL));
  text = run_frames (NULL, NULL, &f, 1);
  fail_unless_equals_string (text,
      "{\"objects\":[{\"detection\":"
      "{\"bounding_box\":{\"x_max\":0.3,\"x_min\":0.1,\"y_max\":0.3,"
      "\"y_min\":0.1},\"confidence\":0.5,\"label\":\"car\"},"
      "\"h\":48,\"region_id\":0,\"roi_type\":\"car\",\"w\":64,\"x\":32,"
      "\"y\":24}],\"resolution\":{\"height\":240,\"width\":320},"
      "\"timestamp\":40000000}\n");
  g_free (text);
}

GST_END_TEST;

GST_START_TEST (test_passthrough)
{
  gchar *dir = tmp_dir_new ();
  gchar *path = g_build_filename (dir, "out.jsonl", NULL);
  GstHarness *h = json_harness_new (path, NULL);
  GstBuffer *in = frame_new (5 * GST_SECOND), *out;

  GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT);
  add_detection (in, "car", "car", 2, 0.5, 32, 24, 64, 48);
  gst_buffer_ref (in);
  out = gst_harness_push_and_pull (h, in);
  fail_unless (out == in);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 5 * GST_SECOND);
  fail_unless_equals_uint64 (GST_BUFFER_DTS (out), 5 * GST_SECOND);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (out), GST_SECOND / 30);
  fail_unless (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DISCONT));
  fail_unless_equals_int (gst_buffer_get_n_meta (out,
                              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE),
      1);
  {
    GstMapInfo map;
    gsize i;

    fail_unless (gst_buffer_map (out, &map, GST_MAP_READ));
    fail_unless_equals_uint64 (map.size, 320 * 240 * 4);
    for (i = 0; i < map.size; i++)
      if (map.data[i] != 0x5a)
        fail ("byte %" G_GSIZE_FORMAT " changed", i);
    gst_buffer_unmap (out, &map);
  }
  gst_buffer_unref (out);
  gst_buffer_unref (in);
  gst_harness_teardown (h);
  tmp_done (dir, path);
}

GST_END_TEST;

/* Every line is in the file once EOS has passed, before the element
 * stops; the next start truncates the file. */
GST_START_TEST (test_eos_flushes)
{
  gchar *dir = tmp_dir_new ();
  gchar *path = g_build_filename (dir, "out.jsonl", NULL);
  GstHarness *h = json_harness_new (path, "add-empty-results=true");
  gchar *contents;
  GstEvent *ev;
  gint i;

  for (i = 0; i < 50; i++)
    fail_unless_equals_int (gst_harness_push (h, frame_new (i)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  /* EOS went downstream after the flush */
  while ((ev = gst_harness_try_pull_event (h)) != NULL) {
    gboolean eos = GST_EVENT_TYPE (ev) == GST_EVENT_EOS;

    gst_event_unref (ev);
    if (eos)
      break;
  }
  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  {
    gchar **lines = g_strsplit (contents, "\n", -1);

    fail_unless_equals_int (g_strv_length (lines), 51);
    fail_unless_equals_string (lines[50], "");
    g_strfreev (lines);
  }
  g_free (contents);

  gst_harness_teardown (h);

  /* a new start truncates the file */
  h = json_harness_new (path, "add-empty-results=true");
  fail_unless_equals_int (gst_harness_push (h, frame_new (0)), GST_FLOW_OK);
  gst_element_set_state (h->element, GST_STATE_NULL);
  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  fail_unless_equals_string (contents,
      "{\"resolution\":{\"height\":240,\"width\":320},\"timestamp\":0}\n");
  g_free (contents);

  gst_harness_teardown (h);
  tmp_done (dir, path);
}

GST_END_TEST;

/* Without location the lines go to standard output. */
GST_START_TEST (test_stdout)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("ipgnetjson-stdout-XXXXXX", &path, NULL);
  gint saved;
  GstHarness *h;
  gchar *contents;

  fail_unless (fd >= 0);
  fflush (stdout);
  saved = dup (STDOUT_FILENO);
  fail_unless (dup2 (fd, STDOUT_FILENO) >= 0);

  h = json_harness_new (NULL, "add-empty-results=true");
  fail_unless_equals_int (gst_harness_push (h, frame_new (7)), GST_FLOW_OK);
  gst_harness_teardown (h);

  fflush (stdout);
  dup2 (saved, STDOUT_FILENO);
  close (saved);
  close (fd);

  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  fail_unless_equals_string (contents,
      "{\"resolution\":{\"height\":240,\"width\":320},\"timestamp\":7}\n");
  g_free (contents);
  g_remove (path);
  g_free (path);
}

GST_END_TEST;

/* Writing to a full device is an element error (RESOURCE/WRITE) and a flow
 * error on that frame, never a silent loss; it is reported once. */
GST_START_TEST (test_write_error)
{
  GstHarness *h;
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;
  gchar *dbg = NULL;

  if (!g_file_test ("/dev/full", G_FILE_TEST_EXISTS)) {
    gst_object_unref (bus);
    return;
  }
  h = json_harness_new ("/dev/full", "add-empty-results=true");
  gst_element_set_bus (h->element, bus);
  fail_unless_equals_int (gst_harness_push (h, frame_new (0)), GST_FLOW_ERROR);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message");
  gst_message_parse_error (msg, &err, &dbg);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
                   GST_RESOURCE_ERROR_WRITE),
      "%s", err->message);
  fail_unless (strstr (err->message, "/dev/full") != NULL, "%s", err->message);
  g_error_free (err);
  g_free (dbg);
  gst_message_unref (msg);

  /* EOS and stop flush again, without a second message */
  gst_harness_push_event (h, gst_event_new_eos ());
  gst_element_set_state (h->element, GST_STATE_NULL);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A location that cannot be opened (a directory) fails the start with
 * RESOURCE/OPEN_WRITE naming the file. */
GST_START_TEST (test_open_error)
{
  gchar *dir = tmp_dir_new ();
  GstElement *e = gst_element_factory_make ("ipgnetjson", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;
  gchar *dbg = NULL;

  fail_unless (e != NULL);
  gst_element_set_bus (e, bus);
  g_object_set (e, "location", dir, NULL);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message");
  gst_message_parse_error (msg, &err, &dbg);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
                   GST_RESOURCE_ERROR_OPEN_WRITE),
      "%s", err->message);
  fail_unless (strstr (err->message, dir) != NULL, "%s", err->message);
  g_error_free (err);
  g_free (dbg);
  gst_message_unref (msg);

  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  tmp_done (dir, NULL);
}

GST_END_TEST;

/* Any video/x-raw is accepted, whatever the format or memory; other media
 * types are refused. */
GST_START_TEST (test_caps)
{
  GstHarness *h = gst_harness_new ("ipgnetjson");
  const gchar *ok[] = {
    "video/x-raw,format=NV12,width=16,height=16",
    "video/x-raw(memory:DMABuf),format=NV12,width=16,height=16",
    "video/x-raw,format=GRAY8,width=1,height=1",
  };
  GstCaps *caps;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (ok); i++) {
    caps = gst_caps_from_string (ok[i]);
    fail_unless (gst_pad_query_accept_caps (h->srcpad->peer, caps), "%s",
        ok[i]);
    gst_caps_unref (caps);
  }
  caps = gst_caps_from_string ("audio/x-raw,format=S16LE,rate=8000");
  fail_if (gst_pad_query_accept_caps (h->srcpad->peer, caps));
  gst_caps_unref (caps);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Properties have the documented defaults; tags that are not JSON are
 * refused with a warning. */
GST_START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make ("ipgnetjson", NULL);
  gchar *location = (gchar *) "x", *source = (gchar *) "x";
  gchar *tags = (gchar *) "x";
  gboolean add_empty = TRUE;

  fail_unless (e != NULL);
  g_object_get (e, "location", &location, "add-empty-results", &add_empty,
      "source", &source, "tags", &tags, NULL);
  fail_unless (location == NULL && source == NULL && tags == NULL);
  fail_if (add_empty);
  g_object_set (e, "location", "/tmp/x.jsonl", "add-empty-results", TRUE,
      "source", "cam", "tags", "{\"a\":1}", NULL);
  g_object_get (e, "location", &location, "add-empty-results", &add_empty,
      "source", &source, "tags", &tags, NULL);
  fail_unless_equals_string (location, "/tmp/x.jsonl");
  fail_unless_equals_string (source, "cam");
  fail_unless_equals_string (tags, "{\"a\":1}");
  fail_unless (add_empty);
  g_free (location);
  g_free (source);
  g_free (tags);
  ASSERT_WARNING (g_object_set (e, "tags", "{a:1}", NULL));
  g_object_get (e, "tags", &tags, NULL);
  fail_unless (tags == NULL);
  gst_object_unref (e);
}

GST_END_TEST;

static Suite *
ipgnetjson_suite (void)
{
  Suite *s = suite_create ("ipgnetjson");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_golden_one);
  tcase_add_test (tc, test_golden_objects);
  tcase_add_test (tc, test_golden_types);
  tcase_add_test (tc, test_golden_doubles);
  tcase_add_test (tc, test_golden_timestamps);
  tcase_add_test (tc, test_golden_empty);
  tcase_add_test (tc, test_golden_escaping);
  tcase_add_test (tc, test_golden_onnx);
  tcase_add_test (tc, test_passthrough);
  tcase_add_test (tc, test_eos_flushes);
  tcase_add_test (tc, test_stdout);
  tcase_add_test (tc, test_write_error);
  tcase_add_test (tc, test_open_error);
  tcase_add_test (tc, test_caps);
  tcase_add_test (tc, test_properties);
  return s;
}

GST_CHECK_MAIN (ipgnetjson);
