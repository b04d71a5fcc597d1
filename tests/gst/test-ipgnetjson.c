/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ipgnetjson.c: ipgnetjson writes one valid JSON line per frame, in
 * DL Streamer's gvametaconvert schema, and reports every write error. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#define CAPS_320x240 "video/x-raw,format=RGBx,width=320,height=240," \
    "framerate=30/1"

/* Reads the file back with Python's json module, checks the exact key sets
 * of the schema, and prints one summary line per JSON line; strings as
 * UTF-8 hex, so the comparison is byte-exact. */
static const gchar *json_check_py =
    "import json, sys\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "assert data == b'' or data.endswith(b'\\n'), 'last line unterminated'\n"
    "for raw in data.split(b'\\n')[:-1]:\n"
    "    o = json.loads(raw.decode('utf-8'))\n"
    "    assert set(o) == {'timestamp', 'resolution', 'objects'}, o\n"
    "    r = o['resolution']\n"
    "    assert set(r) == {'width', 'height'}, r\n"
    "    out = ['ts=%s' % o['timestamp'],\n"
    "           'res=%dx%d' % (r['width'], r['height']),\n"
    "           'n=%d' % len(o['objects'])]\n"
    "    for ob in o['objects']:\n"
    "        assert set(ob) == {'x', 'y', 'w', 'h', 'roi_type', 'detection'}\n"
    "        d = ob['detection']\n"
    "        assert set(d) <= {'bounding_box', 'confidence', 'label_id',\n"
    "                          'label'} and 'label' in d, d\n"
    "        b = d['bounding_box']\n"
    "        assert set(b) == {'x_min', 'y_min', 'x_max', 'y_max'}, b\n"
    "        s = '[%d,%d,%d,%d %s bb=%.6f,%.6f,%.6f,%.6f' % (ob['x'], ob['y'],\n"
    "            ob['w'], ob['h'], ob['roi_type'].encode().hex(),\n"
    "            b['x_min'], b['y_min'], b['x_max'], b['y_max'])\n"
    "        if 'confidence' in d:\n"
    "            s += ' conf=%.6f' % d['confidence']\n"
    "        if 'label_id' in d:\n"
    "            assert isinstance(d['label_id'], int), d\n"
    "            s += ' id=%d' % d['label_id']\n"
    "        out.append(s + ' label=%s]' % d['label'].encode().hex())\n"
    "    print(' '.join(out))\n";

/* The summary lines of a JSON-lines file, as json_check_py prints them. */
static gchar *
json_summary (const gchar * path)
{
  gchar *python = g_find_program_in_path ("python3");
  gchar *out = NULL, *err = NULL;
  gint status;
  GError *error = NULL;

  fail_unless (python != NULL, "python3 not found");
  {
    const gchar *argv[] = { python, "-c", json_check_py, path, NULL };

    fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
            G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error),
        "%s", error ? error->message : "");
  }
  fail_unless (g_spawn_check_wait_status (status, NULL),
      "invalid JSON lines in %s:\n%s", path, err);
  g_free (err);
  g_free (python);
  return out;
}

static gchar *
hex (const gchar * s)
{
  GString *h = g_string_new (NULL);

  for (; *s; s++)
    g_string_append_printf (h, "%02x", (guint8) * s);
  return g_string_free (h, FALSE);
}

/* A temporary directory for one test's output; remove with tmp_done(). */
static gchar *
tmp_dir_new (void)
{
  gchar *dir = g_dir_make_tmp ("ipgnetjson-XXXXXX", NULL);

  fail_unless (dir != NULL);
  return dir;
}

static void
tmp_done (gchar * dir, gchar * file)
{
  if (file != NULL) {
    g_remove (file);
    g_free (file);
  }
  fail_unless_equals_int (g_rmdir (dir), 0);
  g_free (dir);
}

static GstHarness *
json_harness_new (const gchar * location, const gchar * props)
{
  GstHarness *h = gst_harness_new ("ipgnetjson");
  GstElement *e = h->element;

  /* the harness starts its element: stop it to set location */
  gst_element_set_state (e, GST_STATE_NULL);
  if (location != NULL)
    g_object_set (e, "location", location, NULL);
  if (props != NULL) {
    gchar **kv = g_strsplit (props, "=", 2);
    gst_util_set_object_arg (G_OBJECT (e), kv[0], kv[1]);
    g_strfreev (kv);
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
add_detection (GstBuffer * buf, const gchar * roi_type, const gchar * label,
    gint label_id, gdouble confidence, guint x, guint y, guint w, guint h)
{
  GstVideoRegionOfInterestMeta *roi;

  roi = gst_buffer_add_video_region_of_interest_meta (buf, roi_type, x, y, w,
      h);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("detection",
          "x_min", G_TYPE_DOUBLE, x / 320.0, "y_min", G_TYPE_DOUBLE, y / 240.0,
          "x_max", G_TYPE_DOUBLE, (x + w) / 320.0,
          "y_max", G_TYPE_DOUBLE, (y + h) / 240.0,
          "confidence", G_TYPE_DOUBLE, confidence,
          "label_id", G_TYPE_INT, label_id,
          "rotation", G_TYPE_DOUBLE, 0.0,
          "label", G_TYPE_STRING, label,
          "model_name", G_TYPE_STRING, "test", NULL));
}

/* The summary of one object, as json_check_py prints it. */
static gchar *
object_summary (guint x, guint y, guint w, guint h, const gchar * roi_type,
    gboolean with_det, gdouble confidence, gint label_id, const gchar * label)
{
  gchar *rt = hex (roi_type), *lb = hex (label), *s;

  if (with_det)
    s = g_strdup_printf ("[%u,%u,%u,%u %s bb=%.6f,%.6f,%.6f,%.6f conf=%.6f "
        "id=%d label=%s]", x, y, w, h, rt, x / 320.0, y / 240.0,
        (x + w) / 320.0, (y + h) / 240.0, confidence, label_id, lb);
  else
    s = g_strdup_printf ("[%u,%u,%u,%u %s bb=%.6f,%.6f,%.6f,%.6f "
        "label=%s]", x, y, w, h, rt, x / 320.0, y / 240.0, (x + w) / 320.0,
        (y + h) / 240.0, lb);
  g_free (rt);
  g_free (lb);
  return s;
}

/* Metas become objects with the exact fields and values, in the order they
 * were attached, one line per frame; a foreign meta gets a derived box and
 * no confidence or label_id. */
GST_START_TEST (test_objects)
{
  gchar *dir = tmp_dir_new ();
  gchar *path = g_build_filename (dir, "out.jsonl", NULL);
  GstHarness *h = json_harness_new (path, NULL);
  GstBuffer *buf;
  gchar *got, *o1, *o2, *o3, *o4, *want;

  buf = frame_new (0);
  add_detection (buf, "person", "person", 0, 0.875, 10, 20, 30, 40);
  add_detection (buf, "car", "car", 2, 0.5, 100, 120, 64, 32);
  gst_buffer_add_video_region_of_interest_meta (buf, "face", 8, 16, 32, 24);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  buf = frame_new (GST_SECOND / 30);
  add_detection (buf, "dog", "dog", 16, 0.25, 0, 0, 320, 240);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));

  got = json_summary (path);
  o1 = object_summary (10, 20, 30, 40, "person", TRUE, 0.875, 0, "person");
  o2 = object_summary (100, 120, 64, 32, "car", TRUE, 0.5, 2, "car");
  o3 = object_summary (8, 16, 32, 24, "face", FALSE, 0, 0, "face");
  o4 = object_summary (0, 0, 320, 240, "dog", TRUE, 0.25, 16, "dog");
  want = g_strdup_printf ("ts=0 res=320x240 n=3 %s %s %s\n"
      "ts=33333333 res=320x240 n=1 %s\n", o1, o2, o3, o4);
  fail_unless_equals_string (got, want);

  g_free (o1);
  g_free (o2);
  g_free (o3);
  g_free (o4);
  g_free (want);
  g_free (got);
  gst_harness_teardown (h);
  tmp_done (dir, path);
}

GST_END_TEST;

/* The line itself has gvametaconvert's layout, byte for byte. */
GST_START_TEST (test_exact_line)
{
  gchar *dir = tmp_dir_new ();
  gchar *path = g_build_filename (dir, "out.jsonl", NULL);
  GstHarness *h = json_harness_new (path, NULL);
  GstBuffer *buf = frame_new (40 * GST_MSECOND);
  gchar *contents;

  add_detection (buf, "car", "car", 2, 0.5, 32, 24, 64, 48);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  gst_harness_teardown (h);

  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  fail_unless_equals_string (contents, "{\"timestamp\": 40000000, "
      "\"resolution\": {\"width\": 320, \"height\": 240}, \"objects\": "
      "[{\"x\": 32, \"y\": 24, \"w\": 64, \"h\": 48, \"roi_type\": \"car\", "
      "\"detection\": {\"bounding_box\": {\"x_min\": 0.1, \"y_min\": 0.1, "
      "\"x_max\": 0.3, \"y_max\": 0.3}, \"confidence\": 0.5, "
      "\"label_id\": 2, \"label\": \"car\"}}]}\n");
  g_free (contents);
  tmp_done (dir, path);
}

GST_END_TEST;

/* Frames without objects write a line, unless skip-empty; a buffer without
 * PTS writes a null timestamp. */
GST_START_TEST (test_empty_frames)
{
  gint skip;

  for (skip = 0; skip < 2; skip++) {
    gchar *dir = tmp_dir_new ();
    gchar *path = g_build_filename (dir, "out.jsonl", NULL);
    GstHarness *h = json_harness_new (path,
        skip ? "skip-empty=true" : "skip-empty=false");
    GstBuffer *buf;
    gchar *got, *o, *want;

    fail_unless_equals_int (gst_harness_push (h, frame_new (0)), GST_FLOW_OK);
    buf = frame_new (GST_SECOND);
    add_detection (buf, "cat", "cat", 1, 0.75, 1, 2, 3, 4);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_push (h,
            frame_new (GST_CLOCK_TIME_NONE)), GST_FLOW_OK);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));

    got = json_summary (path);
    o = object_summary (1, 2, 3, 4, "cat", TRUE, 0.75, 1, "cat");
    if (skip)
      want = g_strdup_printf ("ts=1000000000 res=320x240 n=1 %s\n", o);
    else
      want = g_strdup_printf ("ts=0 res=320x240 n=0\n"
          "ts=1000000000 res=320x240 n=1 %s\n"
          "ts=None res=320x240 n=0\n", o);
    fail_unless_equals_string (got, want);
    g_free (o);
    g_free (want);
    g_free (got);
    gst_harness_teardown (h);
    tmp_done (dir, path);
  }
}

GST_END_TEST;

/* Labels and roi_type names with quotes, backslashes, control characters,
 * non-ASCII and invalid UTF-8 still give valid JSON that reads back to the
 * same text (invalid UTF-8 as U+FFFD). */
GST_START_TEST (test_escaping)
{
  gchar *dir = tmp_dir_new ();
  gchar *path = g_build_filename (dir, "out.jsonl", NULL);
  GstHarness *h = json_harness_new (path, NULL);
  const gchar *label = "a \"quoted\" \\back\\slash\n\t\r\b\f\x01\x1f\x7f "
      "caf\xc3\xa9 \xe6\xbc\xa2 /";
  const gchar *bad = "bad \xff\xfe utf8";
  gchar *bad_fixed = g_utf8_make_valid (bad, -1);
  GstBuffer *buf = frame_new (0);
  gchar *got, *o1, *o2, *want;

  add_detection (buf, label, label, 7, 1.0, 5, 6, 7, 8);
  gst_buffer_add_video_region_of_interest_meta (buf, bad, 1, 1, 1, 1);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  gst_harness_teardown (h);

  got = json_summary (path);
  o1 = object_summary (5, 6, 7, 8, label, TRUE, 1.0, 7, label);
  o2 = object_summary (1, 1, 1, 1, bad_fixed, FALSE, 0, 0, bad_fixed);
  want = g_strdup_printf ("ts=0 res=320x240 n=2 %s %s\n", o1, o2);
  fail_unless_equals_string (got, want);
  g_free (o1);
  g_free (o2);
  g_free (want);
  g_free (got);
  g_free (bad_fixed);
  tmp_done (dir, path);
}

GST_END_TEST;

/* Buffers pass through untouched: the same GstBuffer, bytes, timestamps,
 * flags and metas. */
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
          GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE), 1);
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
  GstHarness *h = json_harness_new (path, NULL);
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
  h = json_harness_new (path, NULL);
  fail_unless_equals_int (gst_harness_push (h, frame_new (0)), GST_FLOW_OK);
  gst_element_set_state (h->element, GST_STATE_NULL);
  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  fail_unless_equals_string (contents, "{\"timestamp\": 0, \"resolution\": "
      "{\"width\": 320, \"height\": 240}, \"objects\": []}\n");
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

  h = json_harness_new (NULL, NULL);
  fail_unless_equals_int (gst_harness_push (h, frame_new (7)), GST_FLOW_OK);
  gst_harness_teardown (h);

  fflush (stdout);
  dup2 (saved, STDOUT_FILENO);
  close (saved);
  close (fd);

  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  fail_unless_equals_string (contents, "{\"timestamp\": 7, \"resolution\": "
      "{\"width\": 320, \"height\": 240}, \"objects\": []}\n");
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
  h = json_harness_new ("/dev/full", NULL);
  gst_element_set_bus (h->element, bus);
  fail_unless_equals_int (gst_harness_push (h, frame_new (0)),
      GST_FLOW_ERROR);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message");
  gst_message_parse_error (msg, &err, &dbg);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_WRITE), "%s", err->message);
  fail_unless (strstr (err->message, "/dev/full") != NULL, "%s",
      err->message);
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
          GST_RESOURCE_ERROR_OPEN_WRITE), "%s", err->message);
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

/* Properties have the documented defaults. */
GST_START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make ("ipgnetjson", NULL);
  gchar *location = (gchar *) "x";
  gboolean skip = TRUE;

  fail_unless (e != NULL);
  g_object_get (e, "location", &location, "skip-empty", &skip, NULL);
  fail_unless (location == NULL);
  fail_if (skip);
  g_object_set (e, "location", "/tmp/x.jsonl", "skip-empty", TRUE, NULL);
  g_object_get (e, "location", &location, "skip-empty", &skip, NULL);
  fail_unless_equals_string (location, "/tmp/x.jsonl");
  fail_unless (skip);
  g_free (location);
  gst_object_unref (e);
}

GST_END_TEST;

static Suite *
ipgnetjson_suite (void)
{
  Suite *s = suite_create ("ipgnetjson");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_objects);
  tcase_add_test (tc, test_exact_line);
  tcase_add_test (tc, test_empty_frames);
  tcase_add_test (tc, test_escaping);
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
