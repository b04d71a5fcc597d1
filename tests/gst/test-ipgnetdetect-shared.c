/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ipgnetdetect-shared.c: several ipgnetdetect elements in one process
 * on one model-instance-id (shared model and engine) and batch-size (their
 * frames inferred together). Each stream is a GstHarness pushed from a
 * thread of its own, as separate pipelines' streaming threads would. Every
 * frame comes out, in order, with the detections a private element gives
 * it; batches really form; a stream that reaches EOS or stops early does
 * not hold the others up; elements naming another model or device on one
 * id, batching without an id and batching with tiling are refused. Needs
 * IPGNET_TEST_MODEL (tiny "dog","cat" model), IPGNET_TEST_DATA and an
 * OpenCL device; runs under the leaks tracer (meson.build). */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <math.h>
#include <string.h>

#define W 64
#define H 48
#define MAX_STREAMS 4
#define N_FRAMES 4

static const gchar *
test_model (void)
{
  const gchar *path = g_getenv ("IPGNET_TEST_MODEL");

  fail_unless (path != NULL, "IPGNET_TEST_MODEL is not set");
  return path;
}

static GstElement *
new_detect (const gchar *instance_id, guint batch_size, guint timeout_ms)
{
  GstElement *e = gst_element_factory_make ("ipgnetdetect", NULL);

  fail_unless (e != NULL);
  /* A harness's upstream answers as live: every-frame, so that every
   * frame is inferred. */
  gst_util_set_object_arg (G_OBJECT (e), "inference-mode", "every-frame");
  g_object_set (e, "model", test_model (), "threshold", 0.0, "batch-size",
      batch_size, "batch-timeout", timeout_ms, NULL);
  if (instance_id != NULL)
    g_object_set (e, "model-instance-id", instance_id, NULL);
  return gst_object_ref_sink (e);
}

static GstHarness *
new_harness (GstElement *e, gint w, gint h)
{
  GstHarness *hrn = gst_harness_new_with_element (e, "sink", "src");
  gchar *caps = g_strdup_printf ("video/x-raw,format=RGB,width=%d,height=%d,"
                                 "framerate=30/1",
      w, h);

  /* The caps event reaches the element now: it takes its batch seat. */
  gst_harness_set_src_caps_str (hrn, caps);
  g_free (caps);
  return hrn;
}

/* Stream s's frame i: gradients plus noise, different per stream and frame. */
static GstBuffer *
make_frame (guint s, guint i, gint w, gint h)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, (gsize) w * h * 3, NULL);
  GstMapInfo map;
  guint32 rng = (s * 31 + i) * 2654435761u + 12345u;
  gsize k;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (k = 0; k < map.size; k++) {
    rng = rng * 1664525u + 1013904223u;
    map.data[k] = (guint8) ((k % (w * 3)) * (3 + s) + (k / (w * 3)) * (5 + i) +
                            (rng >> 26));
  }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = i * GST_SECOND / 30;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  GST_BUFFER_OFFSET (buf) = i;
  return buf;
}

/* Every ROI of a frame, as "label x y w h confidence" lines. */
static gchar *
describe_rois (GstBuffer *buf)
{
  GString *s = g_string_new (NULL);
  gpointer state = NULL;
  GstMeta *meta;

  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    GstStructure *d =
        gst_video_region_of_interest_meta_get_param (roi, "detection");
    gdouble conf = -1;

    fail_unless (
        d != NULL && gst_structure_get_double (d, "confidence", &conf));
    /* Confidences to 1e-5: a batch equals single runs to 1e-4 relative. */
    g_string_append_printf (s, "%s %u %u %u %u %.5f\n",
        g_quark_to_string (roi->roi_type), roi->x, roi->y, roi->w, roi->h,
        conf);
  }
  return g_string_free (s, FALSE);
}

/* What a private element (no id, no batching) finds in stream s's frames. */
static gchar **
private_results (guint s, guint n_frames, gint w, gint h)
{
  GstElement *e = new_detect (NULL, 1, 0);
  GstHarness *hrn = new_harness (e, w, h);
  gchar **out = g_new0 (gchar *, n_frames + 1);
  guint i;

  for (i = 0; i < n_frames; i++) {
    GstBuffer *buf;

    fail_unless_equals_int (gst_harness_push (hrn, make_frame (s, i, w, h)),
        GST_FLOW_OK);
    buf = gst_harness_pull (hrn);
    out[i] = describe_rois (buf);
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (hrn);
  gst_object_unref (e);
  return out;
}

typedef struct
{
  guint index;
  GstHarness *hrn;
  guint n_frames; /* frames to push */
  gboolean eos;   /* then send EOS */
  gint w, h;
  GstFlowReturn flow;
} Stream;

static gpointer
push_stream (gpointer data)
{
  Stream *st = data;
  guint i;

  st->flow = GST_FLOW_OK;
  for (i = 0; i < st->n_frames && st->flow == GST_FLOW_OK; i++)
    st->flow =
        gst_harness_push (st->hrn, make_frame (st->index, i, st->w, st->h));
  if (st->eos)
    fail_unless (gst_harness_push_event (st->hrn, gst_event_new_eos ()));
  return NULL;
}

/* Pushes every stream from its own thread, then checks that each frame came
 * out once, in order, untouched in timing, with the private detections. */
static void
run_streams (Stream *streams, guint n)
{
  GThread *threads[MAX_STREAMS];
  guint s, i;

  for (s = 0; s < n; s++)
    threads[s] = g_thread_new ("stream", push_stream, &streams[s]);
  for (s = 0; s < n; s++)
    g_thread_join (threads[s]);
  for (s = 0; s < n; s++) {
    gchar **want = private_results (streams[s].index, streams[s].n_frames,
        streams[s].w, streams[s].h);

    fail_unless_equals_int (streams[s].flow, GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_buffers_in_queue (streams[s].hrn),
        streams[s].n_frames);
    for (i = 0; i < streams[s].n_frames; i++) {
      GstBuffer *buf = gst_harness_pull (streams[s].hrn);
      gchar *got = describe_rois (buf);

      fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), i);
      fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), i * GST_SECOND / 30);
      fail_unless (*want[i] != '\0',
          "stream %u frame %u: no detections: "
          "the comparison would prove nothing",
          s, i);
      fail_unless_equals_string (got, want[i]);
      g_free (got);
      gst_buffer_unref (buf);
    }
    g_strfreev (want);
  }
}

static guint64
frames_batched (GstElement *e)
{
  guint64 n = 0;

  g_object_get (e, "frames-batched", &n, NULL);
  return n;
}

/* Three elements on one id without batching: each has the private results. */
GST_START_TEST (test_shared_model)
{
  GstElement *e[3];
  Stream streams[3];
  guint s;

  for (s = 0; s < 3; s++) {
    e[s] = new_detect ("shared", 1, 0);
    streams[s] = (Stream){ s, new_harness (e[s], W, H), N_FRAMES, FALSE, W, H,
      GST_FLOW_OK };
  }
  run_streams (streams, 3);
  for (s = 0; s < 3; s++) {
    fail_unless_equals_uint64 (frames_batched (e[s]), 0);
    gst_harness_teardown (streams[s].hrn);
    gst_object_unref (e[s]);
  }
}

GST_END_TEST;

/* Three streams (an odd batch) batched: every frame of each in a batch
 * with the others' (the timeout is long, so only the batch being full runs
 * it), with its private detections. */
GST_START_TEST (test_batched)
{
  GstElement *e[3];
  Stream streams[3];
  guint s;

  for (s = 0; s < 3; s++) {
    e[s] = new_detect ("batched", 3, 10000);
    streams[s] = (Stream){ s, new_harness (e[s], W, H), N_FRAMES, FALSE, W, H,
      GST_FLOW_OK };
  }
  run_streams (streams, 3);
  for (s = 0; s < 3; s++) {
    guint64 inferred = 0;

    g_object_get (e[s], "frames-inferred", &inferred, NULL);
    fail_unless_equals_uint64 (inferred, N_FRAMES);
    fail_unless_equals_uint64 (frames_batched (e[s]), N_FRAMES);
    gst_harness_teardown (streams[s].hrn);
    gst_object_unref (e[s]);
  }
}

GST_END_TEST;

/* Four streams, batch-size 4, a 10 s timeout: one stream sends one frame
 * and EOS, another one frame and then stops (to NULL). The other two go
 * on in batches of two without waiting out the timeout for them. */
GST_START_TEST (test_stream_leaves_early)
{
  GstElement *e[4];
  Stream streams[4];
  GThread *threads[4];
  gint64 t0;
  guint s;

  for (s = 0; s < 4; s++) {
    e[s] = new_detect ("leaving", 4, 10000);
    streams[s] = (Stream){ s, new_harness (e[s], W, H), s < 2 ? N_FRAMES : 1,
      s == 2, W, H, GST_FLOW_OK };
  }
  t0 = g_get_monotonic_time ();
  /* Stream 3 sends its frame with the others' first ones, then stops. */
  threads[3] = g_thread_new ("stream", push_stream, &streams[3]);
  for (s = 0; s < 3; s++)
    threads[s] = g_thread_new ("stream", push_stream, &streams[s]);
  g_thread_join (threads[3]);
  {
    GstBuffer *buf = gst_harness_pull (streams[3].hrn);

    gst_buffer_unref (buf);
  }
  fail_unless_equals_int (gst_element_set_state (e[3], GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  for (s = 0; s < 3; s++)
    g_thread_join (threads[s]);
  /* Three frames after the first batch: waiting out the timeout for the
   * streams that left would take 30 s. */
  fail_unless (g_get_monotonic_time () - t0 < 10 * G_USEC_PER_SEC,
      "the streams waited for the ones that left");
  for (s = 0; s < 3; s++) {
    guint i;
    gchar **want = private_results (s, streams[s].n_frames, W, H);

    fail_unless_equals_int (streams[s].flow, GST_FLOW_OK);
    for (i = 0; i < streams[s].n_frames; i++) {
      GstBuffer *buf = gst_harness_pull (streams[s].hrn);
      gchar *got = describe_rois (buf);

      fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), i);
      fail_unless_equals_string (got, want[i]);
      g_free (got);
      gst_buffer_unref (buf);
    }
    g_strfreev (want);
  }
  /* The first frames ran as one batch of four... */
  fail_unless (frames_batched (e[2]) == 1);
  /* ...and the two streams left went on together. */
  fail_unless_equals_uint64 (frames_batched (e[0]), N_FRAMES);
  for (s = 0; s < 4; s++) {
    gst_harness_teardown (streams[s].hrn);
    gst_object_unref (e[s]);
  }
}

GST_END_TEST;

/* Streams of one id with other frame sizes batch apart and never wait for
 * each other (each batcher has one active stream). */
GST_START_TEST (test_other_caps_batch_apart)
{
  GstElement *e[2];
  Stream streams[2];
  guint s;

  for (s = 0; s < 2; s++) {
    e[s] = new_detect ("sizes", 2, 10000);
    streams[s] = (Stream){ s, new_harness (e[s], s ? 40 : W, s ? 40 : H), 2,
      FALSE, s ? 40 : W, s ? 40 : H, GST_FLOW_OK };
  }
  run_streams (streams, 2);
  for (s = 0; s < 2; s++) {
    fail_unless_equals_uint64 (frames_batched (e[s]), 0);
    gst_harness_teardown (streams[s].hrn);
    gst_object_unref (e[s]);
  }
}

GST_END_TEST;

/* Drives a lone element to PAUSED, which must fail with an element error;
 * returns its message. The element ends in NULL. */
static gchar *
start_failure (GstElement *e)
{
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;
  gchar *message;

  gst_element_set_bus (e, bus);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message");
  gst_message_parse_error (msg, &err, NULL);
  message = g_strdup (err->message);
  g_error_free (err);
  gst_message_unref (msg);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  return message;
}

/* A second element naming another model or device on a used id fails to
 * start, naming both; the first keeps running. */
GST_START_TEST (test_mismatch_refused)
{
  GstElement *owner = new_detect ("mismatch", 1, 0);
  GstElement *other = new_detect ("mismatch", 1, 0);
  GstHarness *hrn = new_harness (owner, W, H);
  gchar *two_stage = g_build_filename (g_getenv ("IPGNET_TEST_DATA"),
      "tiny-frcnn.safetensors", NULL);
  gchar *msg;
  GstBuffer *buf;

  g_object_set (other, "model", two_stage, NULL);
  msg = start_failure (other);
  fail_unless (strstr (msg, "tiny-r18.safetensors") != NULL, "%s", msg);
  fail_unless (strstr (msg, "tiny-frcnn.safetensors") != NULL, "%s", msg);
  fail_unless (strstr (msg, "\"mismatch\"") != NULL, "%s", msg);
  g_free (msg);

  g_object_set (other, "model", test_model (), "device", "cpu", NULL);
  msg = start_failure (other);
  fail_unless (strstr (msg, "device auto") != NULL, "%s", msg);
  fail_unless (strstr (msg, "device cpu") != NULL, "%s", msg);
  g_free (msg);

  fail_unless_equals_int (gst_harness_push (hrn, make_frame (0, 0, W, H)),
      GST_FLOW_OK);
  buf = gst_harness_pull (hrn);
  gst_buffer_unref (buf);
  gst_harness_teardown (hrn);
  gst_object_unref (owner);
  gst_object_unref (other);
  g_free (two_stage);
}

GST_END_TEST;

/* batch-size > 1 needs an id, and does not combine with tiling. */
GST_START_TEST (test_batch_settings_refused)
{
  GstElement *e = new_detect (NULL, 2, 50);
  gchar *msg = start_failure (e);

  fail_unless (strstr (msg, "model-instance-id") != NULL, "%s", msg);
  g_free (msg);
  g_object_set (e, "model-instance-id", "tiled", "tile-size", "32x32", NULL);
  msg = start_failure (e);
  fail_unless (strstr (msg, "tile-size") != NULL, "%s", msg);
  g_free (msg);
  gst_object_unref (e);
}

GST_END_TEST;

/* A two-stage model batched (its frames run one after the other inside the
 * batch): the same detections as private elements. */
GST_START_TEST (test_two_stage_batched)
{
  gchar *two_stage = g_build_filename (g_getenv ("IPGNET_TEST_DATA"),
      "tiny-frcnn.safetensors", NULL);
  GstElement *e[2];
  Stream streams[2];
  guint s, i;

  for (s = 0; s < 2; s++) {
    e[s] = new_detect ("frcnn", 2, 10000);
    g_object_set (e[s], "model", two_stage, NULL);
    streams[s] =
        (Stream){ s, new_harness (e[s], W, H), 2, FALSE, W, H, GST_FLOW_OK };
  }
  {
    GThread *threads[2];

    for (s = 0; s < 2; s++)
      threads[s] = g_thread_new ("stream", push_stream, &streams[s]);
    for (s = 0; s < 2; s++)
      g_thread_join (threads[s]);
  }
  for (s = 0; s < 2; s++) {
    GstElement *p = new_detect (NULL, 1, 0);
    GstHarness *ph;

    g_object_set (p, "model", two_stage, NULL);
    ph = new_harness (p, W, H);
    fail_unless_equals_int (streams[s].flow, GST_FLOW_OK);
    for (i = 0; i < 2; i++) {
      GstBuffer *got, *want;
      gchar *a, *b;

      fail_unless_equals_int (gst_harness_push (ph, make_frame (s, i, W, H)),
          GST_FLOW_OK);
      want = gst_harness_pull (ph);
      got = gst_harness_pull (streams[s].hrn);
      a = describe_rois (got);
      b = describe_rois (want);
      fail_unless_equals_string (a, b);
      g_free (a);
      g_free (b);
      gst_buffer_unref (got);
      gst_buffer_unref (want);
    }
    fail_unless_equals_uint64 (frames_batched (e[s]), 2);
    gst_harness_teardown (ph);
    gst_object_unref (p);
    gst_harness_teardown (streams[s].hrn);
    gst_object_unref (e[s]);
  }
  g_free (two_stage);
}

GST_END_TEST;

/* realtime (the worker thread infers) batched: every frame leaves once, in
 * order, and each inferred one has its private detections. */
GST_START_TEST (test_realtime_batched)
{
  GstElement *e[2];
  Stream streams[2];
  GThread *threads[2];
  guint s, i;

  for (s = 0; s < 2; s++) {
    e[s] = new_detect ("realtime", 2, 200);
    gst_util_set_object_arg (G_OBJECT (e[s]), "inference-mode", "realtime");
    streams[s] = (Stream){ s, new_harness (e[s], W, H), N_FRAMES, TRUE, W, H,
      GST_FLOW_OK };
  }
  for (s = 0; s < 2; s++)
    threads[s] = g_thread_new ("stream", push_stream, &streams[s]);
  for (s = 0; s < 2; s++)
    g_thread_join (threads[s]);
  for (s = 0; s < 2; s++) {
    gchar **want = private_results (s, N_FRAMES, W, H);
    guint64 inferred = 0, skipped = 0, seen = 0;

    fail_unless_equals_int (streams[s].flow, GST_FLOW_OK);
    /* EOS drained the held frames: all are out. */
    fail_unless_equals_int (gst_harness_buffers_in_queue (streams[s].hrn),
        N_FRAMES);
    for (i = 0; i < N_FRAMES; i++) {
      GstBuffer *buf = gst_harness_pull (streams[s].hrn);

      fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), i);
      if (gst_buffer_get_custom_meta (buf, "GstIpgNetNotInferredMeta") ==
          NULL) {
        gchar *got = describe_rois (buf);

        fail_unless_equals_string (got, want[i]);
        g_free (got);
        seen++;
      }
      gst_buffer_unref (buf);
    }
    g_object_get (e[s], "frames-inferred", &inferred, "frames-skipped",
        &skipped, NULL);
    fail_unless (inferred >= 1 && inferred == seen);
    fail_unless_equals_uint64 (inferred + skipped, N_FRAMES);
    g_strfreev (want);
    gst_harness_teardown (streams[s].hrn);
    gst_object_unref (e[s]);
  }
}

GST_END_TEST;

static Suite *
ipgnetdetect_shared_suite (void)
{
  Suite *s = suite_create ("ipgnetdetect-shared");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_batch_settings_refused);
  tcase_add_test (tc, test_mismatch_refused);
  tcase_add_test (tc, test_shared_model);
  tcase_add_test (tc, test_batched);
  tcase_add_test (tc, test_other_caps_batch_apart);
  tcase_add_test (tc, test_stream_leaves_early);
  tcase_add_test (tc, test_two_stage_batched);
  tcase_add_test (tc, test_realtime_batched);
  return s;
}

GST_CHECK_MAIN (ipgnetdetect_shared);
