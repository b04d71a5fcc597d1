/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ipgnetdetect-realtime.c: ipgnetdetect's inference-mode=realtime
 * (GstHarness, whose upstream answers LATENCY as live, and pipelines with a
 * live videotestsrc). They check function, never speed: where a test needs
 * the engine busy it holds the worker in a downstream probe. They need
 * IPGNET_TEST_MODEL (the tiny "dog","cat" model) and an OpenCL device, and
 * run under the leaks tracer (meson.build). IPGNET_RT_CYCLES sets the
 * number of start/stop cycles (tools/realtime-cycles.sh runs 200). */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <string.h>

#define W 64
#define H 64
#define NOT_INFERRED "GstIpgNetNotInferredMeta"

static const gchar *
test_model (void)
{
  const gchar *path = g_getenv ("IPGNET_TEST_MODEL");

  fail_unless (path != NULL, "IPGNET_TEST_MODEL is not set");
  return path;
}

static GstElement *
new_detect (const gchar *mode)
{
  GstElement *e = gst_element_factory_make ("ipgnetdetect", NULL);

  fail_unless (e != NULL);
  g_object_set (e, "model", test_model (), "threshold", 0.0, NULL);
  if (mode != NULL)
    gst_util_set_object_arg (G_OBJECT (e), "inference-mode", mode);
  return gst_object_ref_sink (e);
}

static GstHarness *
new_harness (GstElement *e)
{
  GstHarness *hrn = gst_harness_new_with_element (e, "sink", "src");

  gst_harness_set_src_caps_str (hrn, "video/x-raw,format=RGBA,width=64,"
                                     "height=64,framerate=30/1");
  return hrn;
}

/* Frame i: noise seeded by i (so that frames differ in their detections),
 * with timestamps, offsets and flags the element must keep. */
static GstBuffer *
make_frame (guint index)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, W * H * 4, NULL);
  GstMapInfo map;
  guint32 rng = index * 2654435761u + 777u;
  gsize i;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (i = 0; i < map.size; i++) {
    rng = rng * 1664525u + 1013904223u;
    map.data[i] =
        (guint8) ((i % (W * 4)) * 3 + (i / (W * 4)) * 5 + (rng >> 26));
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

static void
check_unaltered (GstBuffer *out, guint index)
{
  GstBuffer *ref = make_frame (index);
  GstMapInfo a, b;

  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (out), index);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (out), GST_BUFFER_PTS (ref));
  fail_unless_equals_uint64 (GST_BUFFER_DTS (out), GST_BUFFER_DTS (ref));
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (out),
      GST_BUFFER_DURATION (ref));
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (out), index + 1);
  fail_unless_equals_int (GST_BUFFER_FLAGS (out), GST_BUFFER_FLAGS (ref));
  fail_unless (gst_buffer_map (out, &a, GST_MAP_READ));
  fail_unless (gst_buffer_map (ref, &b, GST_MAP_READ));
  fail_unless (a.size == b.size && memcmp (a.data, b.data, a.size) == 0,
      "frame %u: bytes changed", index);
  gst_buffer_unmap (out, &a);
  gst_buffer_unmap (ref, &b);
  gst_buffer_unref (ref);
}

static gboolean
not_inferred (GstBuffer *buf)
{
  return gst_buffer_get_custom_meta (buf, NOT_INFERRED) != NULL;
}

/* The ROI metas of a frame as one string: what "same detections" means. */
static gchar *
rois_string (GstBuffer *buf)
{
  GString *s = g_string_new (NULL);
  gpointer state = NULL;
  GstMeta *meta;

  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    GstStructure *d =
        gst_video_region_of_interest_meta_get_param (roi, "detection");
    gdouble conf = -1.0;

    fail_unless (d != NULL);
    fail_unless (gst_structure_get_double (d, "confidence", &conf));
    g_string_append_printf (s, "%s %u %u %u %u %.6f;",
        g_quark_to_string (roi->roi_type), roi->x, roi->y, roi->w, roi->h,
        conf);
  }
  return g_string_free (s, FALSE);
}

static guint
n_rois (GstBuffer *buf)
{
  return gst_buffer_get_n_meta (buf,
      GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);
}

static guint64
get_u64 (GstElement *e, const gchar *name)
{
  guint64 v = G_MAXUINT64;

  g_object_get (e, name, &v, NULL);
  return v;
}

/* What left the element, in order: "b<offset>" per buffer, "e<name>" per
 * custom event, "gap", "eos". The harness's sticky events are left out. */
typedef struct
{
  GMutex lock;
  GPtrArray *items;
} Recorder;

static GstPadProbeReturn
record_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Recorder *r = data;
  gchar *item = NULL;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    item = g_strdup_printf ("b%" G_GUINT64_FORMAT,
        GST_BUFFER_OFFSET (GST_PAD_PROBE_INFO_BUFFER (info)));
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (ev) == GST_EVENT_EOS)
      item = g_strdup ("eos");
    else if (GST_EVENT_TYPE (ev) == GST_EVENT_CUSTOM_DOWNSTREAM)
      item = g_strdup_printf ("e%s",
          gst_structure_get_name (gst_event_get_structure (ev)));
    else if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP)
      item = g_strdup ("gap");
  }
  if (item == NULL)
    return GST_PAD_PROBE_OK;

  g_mutex_lock (&r->lock);
  g_ptr_array_add (r->items, item);
  g_mutex_unlock (&r->lock);
  return GST_PAD_PROBE_OK;
}

static Recorder *
recorder_new (GstElement *e)
{
  Recorder *r = g_new0 (Recorder, 1);
  GstPad *src = gst_element_get_static_pad (e, "src");

  g_mutex_init (&r->lock);
  r->items = g_ptr_array_new_with_free_func (g_free);
  gst_pad_add_probe (src,
      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      record_probe, r, NULL);
  gst_object_unref (src);
  return r;
}

/* Holds the worker inside the inference of the frame with PTS hold_pts:
 * it posts that frame's "ipgnetdetect" message from there. */
typedef struct
{
  GMutex lock;
  GCond cond;
  GstClockTime hold_pts;
  gboolean held; /* the worker is waiting */
  gboolean release;
} EngineHold;

static GstBusSyncReply
hold_engine (GstBus *bus, GstMessage *msg, gpointer data)
{
  EngineHold *h = data;
  const GstStructure *s = gst_message_get_structure (msg);
  guint64 pts;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_structure_has_name (s, "ipgnetdetect") &&
      gst_structure_get_uint64 (s, "timestamp", &pts) && pts == h->hold_pts) {
    g_mutex_lock (&h->lock);
    h->held = TRUE;
    g_cond_broadcast (&h->cond);
    while (!h->release)
      g_cond_wait (&h->cond, &h->lock);
    g_mutex_unlock (&h->lock);
  }
  return GST_BUS_PASS;
}

static gchar *
recorder_string (Recorder *r)
{
  gchar *s;

  g_mutex_lock (&r->lock);
  g_ptr_array_add (r->items, NULL);
  s = g_strjoinv (" ", (gchar **) r->items->pdata);
  g_ptr_array_remove_index (r->items, r->items->len - 1);
  g_mutex_unlock (&r->lock);
  return s;
}

static void
recorder_free (Recorder *r)
{
  g_ptr_array_unref (r->items);
  g_mutex_clear (&r->lock);
  g_free (r);
}

static GstEvent *
marker (const gchar *name)
{
  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
      gst_structure_new_empty (name));
}

/* With the engine held busy, candidates are skipped, counted, marked not
 * inferred, and still leave in order and unaltered; one skipped message.
 * The harness answers LATENCY as live, so auto picks realtime. */
GST_START_TEST (test_skipped_counting)
{
  GstElement *e = new_detect (NULL);
  GstBus *bus = gst_bus_new ();
  GstHarness *hrn;
  Recorder *r;
  EngineHold hold = { 0 };
  GstMessage *msg;
  GstBuffer *out;
  guint i, n_msgs = 0;
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  gchar *order;

  g_mutex_init (&hold.lock);
  g_cond_init (&hold.cond);
  hold.hold_pts = GST_SECOND / 30 + 7; /* frame 1 (make_frame) */
  gst_bus_set_sync_handler (bus, hold_engine, &hold, NULL);
  g_object_set (e, "post-messages", TRUE, NULL);
  gst_element_set_bus (e, bus);
  r = recorder_new (e);
  hrn = new_harness (e);

  /* Frame 0 is inferred and out; frame 1 finds the engine free and is
   * held inside its inference; 2..9 arrive while it is busy. */
  fail_unless (gst_harness_push (hrn, make_frame (0)) == GST_FLOW_OK);
  out = gst_harness_pull (hrn);
  check_unaltered (out, 0);
  fail_if (not_inferred (out));
  gst_buffer_unref (out);
  fail_unless (gst_harness_push (hrn, make_frame (1)) == GST_FLOW_OK);
  g_mutex_lock (&hold.lock);
  while (!hold.held)
    fail_unless (g_cond_wait_until (&hold.cond, &hold.lock, end),
        "frame 1 was never inferred");
  g_mutex_unlock (&hold.lock);
  for (i = 2; i < 10; i++)
    fail_unless (gst_harness_push (hrn, make_frame (i)) == GST_FLOW_OK);
  fail_unless_equals_uint64 (get_u64 (e, "frames-skipped"), 8);
  g_mutex_lock (&hold.lock);
  hold.release = TRUE;
  g_cond_broadcast (&hold.cond);
  g_mutex_unlock (&hold.lock);
  fail_unless (gst_harness_push_event (hrn, gst_event_new_eos ()));

  for (i = 1; i < 10; i++) {
    out = gst_harness_pull (hrn);
    fail_unless (out != NULL);
    check_unaltered (out, i);
    if (i == 1) {
      fail_if (not_inferred (out), "frame 1 was inferred");
      fail_unless (n_rois (out) > 0, "frame 1: no detections");
    } else {
      fail_unless (not_inferred (out), "frame %u was skipped", i);
      fail_unless_equals_int (n_rois (out), 0);
    }
    gst_buffer_unref (out);
  }
  order = recorder_string (r);
  fail_unless_equals_string (order, "b0 b1 b2 b3 b4 b5 b6 b7 b8 b9 eos");
  g_free (order);
  fail_unless_equals_uint64 (get_u64 (e, "frames-inferred"), 2);
  fail_unless_equals_uint64 (get_u64 (e, "frames-skipped"), 8);

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);
    guint64 skipped = 0, inferred = 0;

    if (gst_structure_has_name (s, "ipgnetdetect-skipped")) {
      n_msgs++;
      fail_unless (gst_structure_get_uint64 (s, "frames-skipped", &skipped));
      fail_unless (gst_structure_get_uint64 (s, "frames-inferred", &inferred));
      fail_unless (skipped >= 1 && skipped <= 8);
      fail_unless (inferred <= 2);
    }
    gst_message_unref (msg);
  }
  /* The eight skips came within a second: one message. */
  fail_unless_equals_int (n_msgs, 1);

  gst_harness_teardown (hrn);
  gst_element_set_bus (e, NULL);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  recorder_free (r);
  g_mutex_clear (&hold.lock);
  g_cond_clear (&hold.cond);
}

GST_END_TEST;

/* Buffers and serialized events (custom, gap, EOS) leave in the order they
 * came, pushed as fast as the harness can, with every frame unaltered;
 * inferred + skipped = frames. */
GST_START_TEST (test_order_with_events)
{
  GstElement *e = new_detect ("realtime");
  GstHarness *hrn;
  Recorder *r;
  GString *expect = g_string_new (NULL);
  guint i;
  gchar *order;

  r = recorder_new (e);
  hrn = new_harness (e);
  for (i = 0; i < 30; i++) {
    fail_unless_equals_int (gst_harness_push (hrn, make_frame (i)),
        GST_FLOW_OK);
    g_string_append_printf (expect, "b%u ", i);
    if (i % 7 == 3) {
      gchar *name = g_strdup_printf ("marker-%u", i);

      fail_unless (gst_harness_push_event (hrn, marker (name)));
      g_string_append_printf (expect, "e%s ", name);
      g_free (name);
    }
    if (i == 20) {
      fail_unless (gst_harness_push_event (hrn,
          gst_event_new_gap (GST_SECOND, GST_SECOND / 30)));
      g_string_append (expect, "gap ");
    }
  }
  fail_unless (gst_harness_push_event (hrn, gst_event_new_eos ()));
  g_string_append (expect, "eos");

  for (i = 0; i < 30; i++) {
    GstBuffer *out = gst_harness_pull (hrn);

    fail_unless (out != NULL);
    check_unaltered (out, i);
    if (not_inferred (out))
      fail_unless_equals_int (n_rois (out), 0);
    gst_buffer_unref (out);
  }
  order = recorder_string (r);
  fail_unless_equals_string (order, expect->str);
  g_free (order);
  fail_unless_equals_uint64 (get_u64 (e, "frames-inferred") +
                                 get_u64 (e, "frames-skipped"),
      30);
  fail_unless (get_u64 (e, "frames-inferred") >= 1);

  g_string_free (expect, TRUE);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
  recorder_free (r);
}

GST_END_TEST;

/* interval keeps its meaning: only frames 0, N, 2N, ... are candidates;
 * the others are marked but not counted as skipped. */
GST_START_TEST (test_interval)
{
  GstElement *e = new_detect ("realtime");
  GstHarness *hrn;
  guint i;

  g_object_set (e, "interval", 3, NULL);
  hrn = new_harness (e);
  for (i = 0; i < 9; i++) {
    GstBuffer *out;

    fail_unless_equals_int (gst_harness_push (hrn, make_frame (i)),
        GST_FLOW_OK);
    out = gst_harness_pull (hrn);
    check_unaltered (out, i);
    /* One at a time: the engine is free for every candidate. */
    fail_unless_equals_int (not_inferred (out), i % 3 != 0);
    gst_buffer_unref (out);
  }
  fail_unless_equals_uint64 (get_u64 (e, "frames-inferred"), 3);
  fail_unless_equals_uint64 (get_u64 (e, "frames-skipped"), 0);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
}

GST_END_TEST;

/* Detections of frame i as every-frame finds them, for i < n. */
static gchar **
reference_rois (guint n)
{
  GstElement *e = new_detect ("every-frame");
  GstHarness *hrn = new_harness (e);
  gchar **ref = g_new0 (gchar *, n + 1);
  guint i;

  for (i = 0; i < n; i++) {
    GstBuffer *out;

    fail_unless_equals_int (gst_harness_push (hrn, make_frame (i)),
        GST_FLOW_OK);
    out = gst_harness_pull (hrn);
    ref[i] = rois_string (out);
    gst_buffer_unref (out);
  }
  /* The test relies on frames having different detections. */
  fail_if (g_strcmp0 (ref[0], ref[1]) == 0);
  gst_harness_teardown (hrn);
  gst_object_unref (e);
  return ref;
}

/* A flushing seek while an inference is in flight: no hang, nothing from
 * before the flush after it, and every inferred frame carries the
 * detections of its own pixels. */
GST_START_TEST (test_flush_in_flight)
{
  gchar **ref = reference_rois (20);
  GstElement *e = new_detect ("realtime");
  GstHarness *hrn;
  GstSegment segment;
  GstBuffer *out;
  guint i, round, next;

  hrn = new_harness (e);
  for (round = 0; round < 2; round++) {
    for (i = round * 10; i < round * 10 + 10; i++)
      fail_unless (gst_harness_push (hrn, make_frame (i)) == GST_FLOW_OK);
    if (round == 0) {
      /* Frames 0..9 may be in flight: flush them. */
      fail_unless (gst_harness_push_event (hrn, gst_event_new_flush_start ()));
      fail_unless (
          gst_harness_push_event (hrn, gst_event_new_flush_stop (TRUE)));
      gst_segment_init (&segment, GST_FORMAT_TIME);
      fail_unless (
          gst_harness_push_event (hrn, gst_event_new_segment (&segment)));
    }
  }
  fail_unless (gst_harness_push_event (hrn, gst_event_new_eos ()));

  /* Whatever of 0..9 came out came first, in order; 10..19 all came. */
  next = 0;
  do {
    guint64 offset;

    out = gst_harness_pull (hrn);
    fail_unless (out != NULL, "frame %u never came", MAX (next, 10));
    offset = GST_BUFFER_OFFSET (out);
    fail_unless (offset >= next, "frame %" G_GUINT64_FORMAT " after %u", offset,
        next - 1);
    if (offset >= 10)
      fail_unless_equals_uint64 (offset, MAX (next, 10));
    check_unaltered (out, (guint) offset);
    if (!not_inferred (out)) {
      gchar *got = rois_string (out);

      fail_unless_equals_string (got, ref[offset]);
      g_free (got);
    }
    next = (guint) offset + 1;
    gst_buffer_unref (out);
  } while (next < 20);
  fail_unless_equals_int (next, 20);

  gst_harness_teardown (hrn);
  gst_object_unref (e);
  g_strfreev (ref);
}

GST_END_TEST;

/* LATENCY: upstream's plus the longest inference (capped by max-latency)
 * in both modes; a LATENCY message after the first inference. */
GST_START_TEST (test_latency_query)
{
  static const gchar *modes[] = { "realtime", "every-frame" };
  guint m;

  for (m = 0; m < G_N_ELEMENTS (modes); m++) {
    GstElement *e = new_detect (modes[m]);
    GstBus *bus = gst_bus_new ();
    GstHarness *hrn;
    GstClockTime lat;
    GstMessage *msg;
    GstBuffer *out;

    gst_element_set_bus (e, bus);
    hrn = new_harness (e);
    gst_harness_set_upstream_latency (hrn, 5 * GST_MSECOND);
    fail_unless_equals_uint64 (gst_harness_query_latency (hrn),
        5 * GST_MSECOND);

    fail_unless (gst_harness_push (hrn, make_frame (0)) == GST_FLOW_OK);
    out = gst_harness_pull (hrn);
    gst_buffer_unref (out);
    lat = gst_harness_query_latency (hrn);
    fail_unless (lat > 5 * GST_MSECOND && lat <= 5 * GST_MSECOND + GST_SECOND,
        "%s: latency %" GST_TIME_FORMAT, modes[m], GST_TIME_ARGS (lat));
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_LATENCY);
    fail_unless (msg != NULL, "%s: no LATENCY message", modes[m]);
    gst_message_unref (msg);

    /* The cap: an inference takes more than a nanosecond. */
    g_object_set (e, "max-latency", (guint64) 1, NULL);
    fail_unless_equals_uint64 (gst_harness_query_latency (hrn),
        5 * GST_MSECOND + 1);

    gst_harness_teardown (hrn);
    gst_element_set_bus (e, NULL);
    gst_object_unref (bus);
    gst_object_unref (e);
  }
}

GST_END_TEST;

typedef struct
{
  guint n;
  GstClockTime last_pts;
  gboolean ordered;
} Counter;

static GstPadProbeReturn
count_probe (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Counter *c = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  if (c->n > 0 && GST_BUFFER_PTS (buf) <= c->last_pts)
    c->ordered = FALSE;
  c->last_pts = GST_BUFFER_PTS (buf);
  c->n++;
  return GST_PAD_PROBE_OK;
}

/* Runs desc ("... ! ipgnetdetect name=d ! fakesink name=s") to EOS and
 * returns the detect element (a ref) and what reached the sink. */
static GstElement *
run_pipeline (const gchar *desc, Counter *c)
{
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *sink, *detect;
  GstBus *bus;
  GstMessage *msg;
  GstPad *pad;

  fail_unless (pipeline != NULL);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "s");
  detect = gst_bin_get_by_name (GST_BIN (pipeline), "d");
  pad = gst_element_get_static_pad (sink, "sink");
  memset (c, 0, sizeof *c);
  c->ordered = TRUE;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, c, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  bus = gst_element_get_bus (pipeline);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
               GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "timeout");
  fail_unless (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "error");
  gst_message_unref (msg);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return detect;
}

/* A live 30 fps source with a synchronised sink: every frame out, in order;
 * a non-live source in auto mode infers every frame. */
GST_START_TEST (test_live_pipeline)
{
  gchar *desc;
  GstElement *d;
  Counter c;

  desc = g_strdup_printf (
      "videotestsrc is-live=true num-buffers=30 ! "
      "video/x-raw,format=RGBA,width=160,height=120,framerate=30/1 ! "
      "ipgnetdetect name=d model=\"%s\" threshold=0.0 ! "
      "fakesink name=s sync=true",
      test_model ());
  d = run_pipeline (desc, &c);
  fail_unless_equals_int (c.n, 30);
  fail_unless (c.ordered);
  fail_unless_equals_uint64 (get_u64 (d, "frames-inferred") +
                                 get_u64 (d, "frames-skipped"),
      30);
  fail_unless (get_u64 (d, "frames-inferred") >= 1);
  gst_object_unref (d);
  g_free (desc);

  desc = g_strdup_printf ("videotestsrc num-buffers=10 ! "
                          "video/x-raw,format=RGBA,width=160,height=120 ! "
                          "ipgnetdetect name=d model=\"%s\" threshold=0.0 ! "
                          "fakesink name=s",
      test_model ());
  d = run_pipeline (desc, &c);
  fail_unless_equals_int (c.n, 10);
  fail_unless_equals_uint64 (get_u64 (d, "frames-inferred"), 10);
  fail_unless_equals_uint64 (get_u64 (d, "frames-skipped"), 0);
  gst_object_unref (d);
  g_free (desc);
}

GST_END_TEST;

static guint
n_cycles (guint dflt)
{
  const gchar *s = g_getenv ("IPGNET_RT_CYCLES");

  return s != NULL && *s != '\0' ? (guint) g_ascii_strtoull (s, NULL, 10)
                                 : dflt;
}

/* PLAYING -> NULL of a live pipeline while inferences are in flight, and
 * flushing seeks into a realtime element: no hang, no leak (leaks tracer).
 * IPGNET_RT_CYCLES overrides the count. */
GST_START_TEST (test_state_changes_in_flight)
{
  gchar *desc = g_strdup_printf (
      "videotestsrc is-live=true ! "
      "video/x-raw,format=NV12,width=320,height=240,framerate=30/1 ! "
      "ipgnetdetect model=\"%s\" threshold=0.0 ! fakesink sync=true",
      test_model ());
  gchar *seek_desc = g_strdup_printf (
      "videotestsrc ! "
      "video/x-raw,format=RGBA,width=320,height=240,framerate=30/1 ! "
      "ipgnetdetect inference-mode=realtime model=\"%s\" threshold=0.0 ! "
      "fakesink sync=true",
      test_model ());
  guint i, k, cycles = n_cycles (10);

  for (i = 0; i < cycles; i++) {
    GstElement *pipeline = gst_parse_launch (i % 2 ? seek_desc : desc, NULL);
    GstBus *bus = gst_element_get_bus (pipeline);
    GstMessage *msg;

    fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
                 GST_STATE_CHANGE_FAILURE);
    fail_unless (gst_element_get_state (pipeline, NULL, NULL,
                     30 * GST_SECOND) == GST_STATE_CHANGE_SUCCESS,
        "cycle %u", i);
    g_usleep ((i % 5) * 20 * 1000);
    if (i % 2)
      for (k = 0; k < 3; k++)
        fail_unless (gst_element_seek_simple (pipeline, GST_FORMAT_TIME,
                         GST_SEEK_FLAG_FLUSH, k * GST_SECOND / 10),
            "cycle %u", i);
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    fail_unless (msg == NULL, "cycle %u ended in an error", i);
    fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    gst_object_unref (bus);
    gst_object_unref (pipeline);
  }
  g_free (desc);
  g_free (seek_desc);
}

GST_END_TEST;

/* The properties: enum nicks, default auto, READY-only; counters
 * read-only. */
GST_START_TEST (test_properties)
{
  GstElement *e = new_detect (NULL);
  GObjectClass *klass = G_OBJECT_GET_CLASS (e);
  GParamSpec *p;
  gchar *s;
  guint64 max;

  p = g_object_class_find_property (klass, "inference-mode");
  fail_unless (p != NULL && (p->flags & GST_PARAM_MUTABLE_READY));
  s = gst_value_serialize (g_param_spec_get_default_value (p));
  fail_unless_equals_string (s, "auto");
  g_free (s);
  gst_util_set_object_arg (G_OBJECT (e), "inference-mode", "every-frame");
  gst_util_set_object_arg (G_OBJECT (e), "inference-mode", "realtime");
  g_object_get (e, "max-latency", &max, NULL);
  fail_unless_equals_uint64 (max, GST_SECOND);
  fail_unless ((g_object_class_find_property (klass, "frames-inferred")->flags &
                   G_PARAM_WRITABLE) == 0);
  fail_unless ((g_object_class_find_property (klass, "frames-skipped")->flags &
                   G_PARAM_WRITABLE) == 0);
  fail_unless_equals_uint64 (get_u64 (e, "frames-inferred"), 0);
  fail_unless_equals_uint64 (get_u64 (e, "frames-skipped"), 0);
  gst_object_unref (e);
}

GST_END_TEST;

static Suite *
ipgnetdetect_realtime_suite (void)
{
  Suite *s = suite_create ("ipgnetdetect-realtime");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_skipped_counting);
  tcase_add_test (tc, test_order_with_events);
  tcase_add_test (tc, test_interval);
  tcase_add_test (tc, test_flush_in_flight);
  tcase_add_test (tc, test_latency_query);
  tcase_add_test (tc, test_live_pipeline);
  tcase_add_test (tc, test_state_changes_in_flight);
  return s;
}

GST_CHECK_MAIN (ipgnetdetect_realtime);
