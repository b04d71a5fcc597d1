/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ipgnetoverlay.c: ipgnetoverlay draws ROI metas in every format. */
#include <string.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

/* Mirrors the palette of gstipgnetoverlay.c: a class colour is
 * palette[label_id % 20] (the element documents this). */
static const guint32 palette[] = {
  0x1f77b4,
  0xff7f0e,
  0x2ca02c,
  0xd62728,
  0x9467bd,
  0x8c564b,
  0xe377c2,
  0x7f7f7f,
  0xbcbd22,
  0x17becf,
  0xaec7e8,
  0xffbb78,
  0x98df8a,
  0xff9896,
  0xc5b0d5,
  0xc49c94,
  0xf7b6d2,
  0xc7c7c7,
  0xdbdb8d,
  0x9edae5,
};

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

/* Background grey of the test frames, as RGB and as BT.601 YUV. */
#define BG_RGB 0x40
#define BG_Y 0x40
#define BG_UV 0x80

static GstHarness *
overlay_harness_new (const gchar *format, gint width, gint height,
    const gchar *props)
{
  GstHarness *h;
  gchar *desc = g_strdup_printf ("ipgnetoverlay %s", props ? props : "");

  h = gst_harness_new_parse (desc);
  g_free (desc);
  {
    gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,"
                                   "height=%d,framerate=30/1",
        format, width, height);
    gst_harness_set_src_caps_str (h, caps);
    g_free (caps);
  }
  return h;
}

/* A frame of uniform grey (and opaque alpha) in the given format. */
static GstBuffer *
grey_frame_new (const gchar *format, gint width, gint height)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  GstBuffer *buf;
  guint p;

  fail_unless (gst_video_info_set_format (&info,
      gst_video_format_from_string (format), width, height));
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE));
  if (GST_VIDEO_INFO_IS_YUV (&info)) {
    for (p = 0; p < GST_VIDEO_FRAME_N_PLANES (&frame); p++)
      memset (GST_VIDEO_FRAME_PLANE_DATA (&frame, p), p == 0 ? BG_Y : BG_UV,
          GST_VIDEO_FRAME_PLANE_STRIDE (&frame, p) *
              GST_VIDEO_FRAME_COMP_HEIGHT (&frame, p == 0 ? 0 : 1));
  } else {
    memset (GST_VIDEO_FRAME_PLANE_DATA (&frame, 0), BG_RGB,
        GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0) * height);
    if (GST_VIDEO_INFO_HAS_ALPHA (&info)) {
      gint x, y;
      for (y = 0; y < height; y++)
        for (x = 0; x < width; x++)
          *((guint8 *) GST_VIDEO_FRAME_COMP_DATA (&frame, 3) +
              y * GST_VIDEO_FRAME_COMP_STRIDE (&frame, 3) +
              x * GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, 3)) = 0xff;
    }
  }
  gst_video_frame_unmap (&frame);

  GST_BUFFER_PTS (buf) = 3 * GST_SECOND;
  GST_BUFFER_DTS (buf) = 2 * GST_SECOND;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

static void
add_detection (GstBuffer *buf, const gchar *label, gint label_id, guint x,
    guint y, guint w, guint h)
{
  GstVideoRegionOfInterestMeta *roi;

  roi = gst_buffer_add_video_region_of_interest_meta (buf, label, x, y, w, h);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("detection", "x_min", G_TYPE_DOUBLE, 0.0, "y_min",
          G_TYPE_DOUBLE, 0.0, "x_max", G_TYPE_DOUBLE, 0.0, "y_max",
          G_TYPE_DOUBLE, 0.0, "confidence", G_TYPE_DOUBLE, 0.875, "label_id",
          G_TYPE_INT, label_id, "rotation", G_TYPE_DOUBLE, 0.0, "label",
          G_TYPE_STRING, label, "model_name", G_TYPE_STRING, "test", NULL));
}

/* Component c of pixel (x, y), whatever the format's layout. */
static guint8
pixel_comp (GstVideoFrame *f, gint c, gint x, gint y)
{
  const GstVideoFormatInfo *fi = f->info.finfo;
  /* SCALE_WIDTH rounds up (it is meant for sizes); positions round down */
  gint cx = x >> GST_VIDEO_FORMAT_INFO_W_SUB (fi, c);
  gint cy = y >> GST_VIDEO_FORMAT_INFO_H_SUB (fi, c);

  return *((guint8 *) GST_VIDEO_FRAME_COMP_DATA (f, c) +
           cy * GST_VIDEO_FRAME_COMP_STRIDE (f, c) +
           cx * GST_VIDEO_FRAME_COMP_PSTRIDE (f, c));
}

/* Whether pixel (x, y) differs in any component between a and b. */
static gboolean
pixel_differs (GstVideoFrame *a, GstVideoFrame *b, gint x, gint y)
{
  guint c;

  for (c = 0; c < GST_VIDEO_FRAME_N_COMPONENTS (a); c++)
    if (pixel_comp (a, c, x, y) != pixel_comp (b, c, x, y))
      return TRUE;
  return FALSE;
}

/* Whether the YUV pixel (x, y) is rgb converted with the limited-range
 * matrix of coefficients kr, kb, within rounding. */
static gboolean
pixel_is_yuv (GstVideoFrame *f, gint x, gint y, gint r, gint g, gint b,
    gdouble kr, gdouble kb)
{
  gdouble kg = 1.0 - kr - kb;
  gdouble l = kr * r + kg * g + kb * b;
  gdouble ey = 16 + l * 219.0 / 255.0;
  gdouble eu = 128 + (b - l) / (2 * (1 - kb)) * 224.0 / 255.0;
  gdouble ev = 128 + (r - l) / (2 * (1 - kr)) * 224.0 / 255.0;

  return ABS (pixel_comp (f, 0, x, y) - ey) <= 3 &&
         ABS (pixel_comp (f, 1, x, y) - eu) <= 4 &&
         ABS (pixel_comp (f, 2, x, y) - ev) <= 4;
}

/* Whether pixel (x, y) shows colour rgb: exactly in RGB formats, within
 * rounding in YUV ones. GStreamer's blender converts overlays with the
 * BT.709 matrix whatever the caps' colorimetry, so accept BT.709 and
 * BT.601. */
static gboolean
pixel_is_colour (GstVideoFrame *f, gint x, gint y, guint32 rgb)
{
  gint r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;

  if (GST_VIDEO_INFO_IS_YUV (&(f)->info))
    return pixel_is_yuv (f, x, y, r, g, b, 0.2126, 0.0722) ||
           pixel_is_yuv (f, x, y, r, g, b, 0.299, 0.114);
  return pixel_comp (f, GST_VIDEO_COMP_R, x, y) == r &&
         pixel_comp (f, GST_VIDEO_COMP_G, x, y) == g &&
         pixel_comp (f, GST_VIDEO_COMP_B, x, y) == b;
}

static guint
count_changed (GstVideoFrame *a, GstVideoFrame *b)
{
  gint x, y;
  guint n = 0;

  for (y = 0; y < GST_VIDEO_FRAME_HEIGHT (a); y++)
    for (x = 0; x < GST_VIDEO_FRAME_WIDTH (a); x++)
      n += pixel_differs (a, b, x, y);
  return n;
}

/* Pushes in (taking it) and returns the output frame, mapped; the reference
 * frame ref is an untouched grey frame of the same format, mapped too. */
static GstBuffer *
push_and_map (GstHarness *h, GstBuffer *in, GstVideoFrame *out_frame)
{
  GstVideoInfo info;
  GstBuffer *out;
  GstCaps *caps;

  out = gst_harness_push_and_pull (h, in);
  fail_unless (out != NULL);
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (gst_video_info_from_caps (&info, caps));
  gst_caps_unref (caps);
  fail_unless (gst_video_frame_map (out_frame, &info, out, GST_MAP_READ));
  return out;
}

static void
map_grey (const gchar *format, gint w, gint hgt, GstBuffer **buf,
    GstVideoFrame *frame)
{
  GstVideoInfo info;

  gst_video_info_set_format (&info, gst_video_format_from_string (format), w,
      hgt);
  *buf = grey_frame_new (format, w, hgt);
  fail_unless (gst_video_frame_map (frame, &info, *buf, GST_MAP_READ));
}

static void
unmap_unref (GstVideoFrame *frame, GstBuffer *buf)
{
  gst_video_frame_unmap (frame);
  gst_buffer_unref (buf);
}

/* Without metas every byte of every format and size passes unchanged. */
GST_START_TEST (test_no_meta_unchanged)
{
  static const gint sizes[][2] = { { 1, 1 }, { 17, 9 }, { 320, 240 } };
  guint f, s;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
      GstHarness *h =
          overlay_harness_new (formats[f], sizes[s][0], sizes[s][1], NULL);
      GstBuffer *in = grey_frame_new (formats[f], sizes[s][0], sizes[s][1]);
      GstBuffer *ref = gst_buffer_copy_deep (in);
      GstBuffer *out = gst_harness_push_and_pull (h, in);

      {
        GstMapInfo a, b;
        fail_unless (gst_buffer_map (out, &a, GST_MAP_READ));
        fail_unless (gst_buffer_map (ref, &b, GST_MAP_READ));
        fail_unless_equals_uint64 (a.size, b.size);
        fail_unless (memcmp (a.data, b.data, a.size) == 0,
            "%s %dx%d changed without metas", formats[f], sizes[s][0],
            sizes[s][1]);
        gst_buffer_unmap (out, &a);
        gst_buffer_unmap (ref, &b);
      }
      gst_buffer_unref (out);
      gst_buffer_unref (ref);
      gst_harness_teardown (h);
    }
  }
}

GST_END_TEST;

/* Checks, for one format and size, that the outline of box (x, y, w, h) has
 * the class colour and that everything more than 4 pixels below it is
 * untouched (tags go above boxes). */
static void
check_box_drawn (const gchar *format, gint fw, gint fh, guint x, guint y,
    guint w, guint h)
{
  GstHarness *hn = overlay_harness_new (format, fw, fh, "show-labels=false");
  GstBuffer *in = grey_frame_new (format, fw, fh), *out, *ref;
  GstVideoFrame of, rf;
  guint32 rgb = palette[3];
  gint px, py;

  add_detection (in, "person", 3, x, y, w, h);
  out = push_and_map (hn, in, &of);
  map_grey (format, fw, fh, &ref, &rf);

  /* corners and the middle of each side (line width 2, inside the box) */
  {
    gint pts[][2] = {
      { x, y },
      { x + w - 1, y },
      { x, y + h - 1 },
      { x + w - 1, y + h - 1 },
      { x + w / 2, y },
      { x + w / 2, y + h - 1 },
      { x, y + h / 2 },
      { x + w - 1, y + h / 2 },
      { x + 1, y + h / 2 },
      { x + w / 2, y + 1 },
    };
    guint i;

    for (i = 0; i < G_N_ELEMENTS (pts); i++)
      fail_unless (pixel_is_colour (&of, pts[i][0], pts[i][1], rgb),
          "%s %dx%d: outline pixel %d,%d is %02x %02x %02x, not the class "
          "colour %06x",
          format, fw, fh, pts[i][0], pts[i][1],
          pixel_comp (&of, 0, pts[i][0], pts[i][1]),
          pixel_comp (&of, 1, pts[i][0], pts[i][1]),
          pixel_comp (&of, 2, pts[i][0], pts[i][1]), rgb);
  }
  /* the box's inside, away from the outline */
  if (w > 8 && h > 8)
    fail_if (pixel_differs (&of, &rf, x + w / 2, y + h / 2),
        "%s: inside of the box changed", format);
  /* far from the box */
  for (py = y + h + 4; py < fh; py++)
    for (px = 0; px < fw; px++)
      fail_if (pixel_differs (&of, &rf, px, py),
          "%s %dx%d: pixel %d,%d far from the box changed", format, fw, fh, px,
          py);
  for (py = 0; py < fh; py++)
    for (px = x + w + 4; px < fw; px++)
      fail_if (pixel_differs (&of, &rf, px, py),
          "%s %dx%d: pixel %d,%d far from the box changed", format, fw, fh, px,
          py);

  unmap_unref (&of, out);
  unmap_unref (&rf, ref);
  gst_harness_teardown (hn);
}

/* A box's outline takes the class colour in every format; far pixels stay. */
GST_START_TEST (test_box_outline_colour)
{
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    check_box_drawn (formats[f], 320, 240, 40, 30, 100, 80);
    check_box_drawn (formats[f], 17, 9, 2, 2, 8, 4);
  }
  check_box_drawn ("NV12", 1366, 768, 600, 300, 200, 120);
}

GST_END_TEST;

/* A 1x1 frame with a box covering it, or any box at all, does not crash. */
GST_START_TEST (test_tiny_frames)
{
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstHarness *h = overlay_harness_new (formats[f], 1, 1, NULL);
    GstBuffer *in = grey_frame_new (formats[f], 1, 1), *out;
    GstVideoFrame of;

    add_detection (in, "dot", 0, 0, 0, 1, 1);
    add_detection (in, "big", 1, 0, 0, 100, 100);
    add_detection (in, "empty", 2, 0, 0, 0, 0);
    out = push_and_map (h, in, &of);
    /* the box's outline (then overdrawn by the 1x1 tags) did change it */
    if (!GST_VIDEO_INFO_IS_YUV (&(&of)->info))
      fail_if (pixel_comp (&of, GST_VIDEO_COMP_R, 0, 0) == BG_RGB &&
               pixel_comp (&of, GST_VIDEO_COMP_G, 0, 0) == BG_RGB &&
               pixel_comp (&of, GST_VIDEO_COMP_B, 0, 0) == BG_RGB);
    unmap_unref (&of, out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* Boxes overhanging the frame are clipped, zero-size and outside ones are
 * skipped; none crashes, with or without tags, and the frame's size is
 * unchanged. */
GST_START_TEST (test_clipped_boxes)
{
  guint f, labels;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (labels = 0; labels < 2; labels++) {
      GstHarness *h = overlay_harness_new (formats[f], 17, 9,
          labels ? "show-labels=true" : "show-labels=false");
      GstBuffer *in = grey_frame_new (formats[f], 17, 9), *out;
      GstVideoFrame of;
      gsize size = gst_buffer_get_size (in);

      add_detection (in, "right", 1, 10, 2, 20, 4);
      add_detection (in, "bottom", 2, 2, 5, 4, 100);
      add_detection (in, "outside", 3, 17, 9, 5, 5);
      add_detection (in, "far", 4, G_MAXUINT - 1, G_MAXUINT - 1, 5, 5);
      add_detection (in, "huge", 5, 0, 0, G_MAXUINT, G_MAXUINT);
      add_detection (in, "zero-w", 6, 3, 3, 0, 5);
      add_detection (in, "zero-h", 7, 3, 3, 5, 0);
      out = push_and_map (h, in, &of);
      fail_unless_equals_uint64 (gst_buffer_get_size (out), size);
      /* the box overhanging the right edge is drawn up to it */
      if (!labels) {
        fail_unless (pixel_is_colour (&of, 16, 4, palette[1]) ||
                         GST_VIDEO_INFO_IS_YUV (&(&of)->info),
            "%s", formats[f]);
        fail_unless (pixel_is_colour (&of, 4, 8, palette[2]) ||
                         GST_VIDEO_INFO_IS_YUV (&(&of)->info),
            "%s", formats[f]);
      }
      gst_video_frame_unmap (&of);
      gst_buffer_unref (out);
      gst_harness_teardown (h);
    }
  }
}

GST_END_TEST;

/* A meta from another producer, without the "detection" structure, still
 * gets its box, in a palette colour that is the same on every frame. */
GST_START_TEST (test_foreign_meta)
{
  GstHarness *h = overlay_harness_new ("RGBA", 64, 48, "show-labels=false");
  GstBuffer *in, *out;
  GstVideoFrame of;
  guint32 first_rgb = 0;
  gint frame, i;

  for (frame = 0; frame < 2; frame++) {
    guint32 rgb;
    gboolean in_palette = FALSE;

    in = grey_frame_new ("RGBA", 64, 48);
    gst_buffer_add_video_region_of_interest_meta (in, "car", 4 + 20 * frame, 4,
        16, 16);
    out = push_and_map (h, in, &of);
    rgb = pixel_comp (&of, GST_VIDEO_COMP_R, 4 + 20 * frame, 4) << 16 |
          pixel_comp (&of, GST_VIDEO_COMP_G, 4 + 20 * frame, 4) << 8 |
          pixel_comp (&of, GST_VIDEO_COMP_B, 4 + 20 * frame, 4);
    for (i = 0; i < (gint) G_N_ELEMENTS (palette); i++)
      in_palette |= palette[i] == rgb;
    fail_unless (in_palette, "colour %06x not in the palette", rgb);
    if (frame == 0)
      first_rgb = rgb;
    else
      fail_unless_equals_int (rgb, first_rgb);
    unmap_unref (&of, out);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* GStreamer's onnxobjectdetector convention (roi_type
 * "onnx-object_detector", "extra-data" with label and score) draws exactly
 * what a DL Streamer meta of that label and confidence draws; without its
 * "extra-data" the detector's name is the label. */
static GstBuffer *
onnx_frame (gint kind)
{
  GstBuffer *in = grey_frame_new ("RGBA", 96, 64);
  GstVideoRegionOfInterestMeta *roi;

  if (kind == 0) {
    roi = gst_buffer_add_video_region_of_interest_meta (in,
        "onnx-object_detector", 20, 24, 40, 30);
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new ("extra-data", "label", G_TYPE_STRING, "car", "score",
            G_TYPE_DOUBLE, 0.875, NULL));
  } else if (kind == 1) {
    roi = gst_buffer_add_video_region_of_interest_meta (in, "car", 20, 24, 40,
        30);
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new ("detection", "confidence", G_TYPE_DOUBLE, 0.875,
            NULL));
  } else {
    gst_buffer_add_video_region_of_interest_meta (in, "onnx-object_detector",
        20, 24, 40, 30);
  }
  return in;
}

GST_START_TEST (test_onnx_convention)
{
  GstHarness *h = overlay_harness_new ("RGBA", 96, 64, NULL);
  GstBuffer *out[3];
  GstVideoFrame of[3];
  gint k;

  for (k = 0; k < 3; k++)
    out[k] = push_and_map (h, onnx_frame (k), &of[k]);
  fail_unless (count_changed (&of[0], &of[1]) == 0,
      "onnx convention drawn differently from DL Streamer's");
  fail_unless (count_changed (&of[0], &of[2]) > 0,
      "the onnx label was not drawn");
  for (k = 0; k < 3; k++)
    unmap_unref (&of[k], out[k]);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* The same class keeps its colour from frame to frame; another class gets
 * another colour. */
GST_START_TEST (test_stable_colour)
{
  GstHarness *h = overlay_harness_new ("BGRx", 160, 120, NULL);
  gint frame;

  for (frame = 0; frame < 2; frame++) {
    GstBuffer *in = grey_frame_new ("BGRx", 160, 120), *out;
    GstVideoFrame of;

    /* the two swap places on the second frame */
    add_detection (in, "person", 7, 10 + 80 * frame, 60, 30, 40);
    add_detection (in, "dog", 8, 90 - 80 * frame, 60, 30, 40);
    out = push_and_map (h, in, &of);
    fail_unless (pixel_is_colour (&of, 10 + 80 * frame, 99, palette[7]));
    fail_unless (pixel_is_colour (&of, 90 - 80 * frame, 99, palette[8]));
    unmap_unref (&of, out);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Labels draw text: more pixels change with show-labels than without, and
 * show-confidence lengthens the tag. */
GST_START_TEST (test_show_labels)
{
  const gchar *props[] = {
    "show-labels=false",
    "show-labels=true show-confidence=false",
    "show-labels=true show-confidence=true",
  };
  guint changed[3], i, f, c;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    for (i = 0; i < G_N_ELEMENTS (props); i++) {
      GstHarness *h = overlay_harness_new (formats[f], 320, 240, props[i]);
      GstBuffer *in = grey_frame_new (formats[f], 320, 240), *out, *ref;
      GstVideoFrame of, rf;

      add_detection (in, "person", 3, 40, 60, 100, 80);
      out = push_and_map (h, in, &of);
      map_grey (formats[f], 320, 240, &ref, &rf);
      changed[i] = count_changed (&of, &rf);
      /* with a tag, the text itself shows: changed pixels above the box
       * that are not the tag's background */
      if (i > 0) {
        guint glyph = 0;

        for (gint y = 0; y < 60; y++)
          for (gint x = 0; x < 320; x++)
            glyph += pixel_differs (&of, &rf, x, y) &&
                     !pixel_is_colour (&of, x, y, palette[3]);
        fail_unless (glyph > 20, "%s: no text drawn", formats[f]);
        /* the tag's background (its padding, just above the box) is
         * exactly the colour of the box's line */
        for (c = 0; c < GST_VIDEO_FRAME_N_COMPONENTS (&of); c++)
          fail_unless_equals_int (pixel_comp (&of, c, 40, 59),
              pixel_comp (&of, c, 40, 60));
      }
      /* nothing changes below the box */
      for (gint y = 145; y < 240; y++)
        for (gint x = 0; x < 320; x++)
          fail_if (pixel_differs (&of, &rf, x, y), "%s: %d,%d changed",
              formats[f], x, y);
      unmap_unref (&of, out);
      unmap_unref (&rf, ref);
      gst_harness_teardown (h);
    }
    /* outline only: 2 * 100 * 2 + 2 * 76 * 2 pixels (also in YUV: the box
     * and the line width are even, so chroma blocks are not shared) */
    fail_unless_equals_int (changed[0], 2 * 100 * 2 + 2 * 76 * 2);
    fail_unless (changed[1] > changed[0], "%s: %u vs %u", formats[f],
        changed[1], changed[0]);
    fail_unless (changed[2] > changed[1], "%s: %u vs %u", formats[f],
        changed[2], changed[1]);
  }
}

GST_END_TEST;

/* line-width widens the outline. */
GST_START_TEST (test_line_width)
{
  GstHarness *h =
      overlay_harness_new ("RGB", 100, 100, "show-labels=false line-width=5");
  GstBuffer *in = grey_frame_new ("RGB", 100, 100), *out;
  GstVideoFrame of;

  add_detection (in, "a", 0, 20, 20, 50, 50);
  out = push_and_map (h, in, &of);
  fail_unless (pixel_is_colour (&of, 24, 45, palette[0]));
  fail_unless (pixel_is_colour (&of, 45, 24, palette[0]));
  fail_if (pixel_is_colour (&of, 25, 45, palette[0]));
  fail_if (pixel_is_colour (&of, 45, 25, palette[0]));
  unmap_unref (&of, out);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A font change while running applies to the next frame. */
GST_START_TEST (test_font_change)
{
  GstHarness *h = overlay_harness_new ("RGBx", 320, 240, "font=\"Sans 8\"");
  guint changed[2];
  gint i;

  for (i = 0; i < 2; i++) {
    GstBuffer *in = grey_frame_new ("RGBx", 320, 240), *out, *ref;
    GstVideoFrame of, rf;

    if (i == 1) {
      GstElement *e = gst_harness_find_element (h, "ipgnetoverlay");

      g_object_set (e, "font", "Sans Bold 24", NULL);
      gst_object_unref (e);
    }
    add_detection (in, "person", 3, 40, 100, 100, 80);
    out = push_and_map (h, in, &of);
    map_grey ("RGBx", 320, 240, &ref, &rf);
    changed[i] = count_changed (&of, &rf);
    unmap_unref (&of, out);
    unmap_unref (&rf, ref);
  }
  fail_unless (changed[1] > changed[0], "%u vs %u", changed[1], changed[0]);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* PTS, DTS and duration pass through. */
GST_START_TEST (test_timestamps)
{
  GstHarness *h = overlay_harness_new ("I420", 64, 48, NULL);
  GstBuffer *in = grey_frame_new ("I420", 64, 48), *out;

  add_detection (in, "person", 1, 4, 4, 30, 30);
  out = gst_harness_push_and_pull (h, in);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 3 * GST_SECOND);
  fail_unless_equals_uint64 (GST_BUFFER_DTS (out), 2 * GST_SECOND);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (out), GST_SECOND / 30);
  fail_unless_equals_int (gst_buffer_get_n_meta (out,
                              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE),
      1);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Properties have the documented ranges and defaults. */
GST_START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make ("ipgnetoverlay", NULL);
  GObjectClass *klass = G_OBJECT_GET_CLASS (e);
  GParamSpecUInt *lw;
  gboolean b;
  gchar *font;

  fail_unless (e != NULL);
  lw = G_PARAM_SPEC_UINT (g_object_class_find_property (klass, "line-width"));
  fail_unless_equals_int (lw->minimum, 1);
  fail_unless_equals_int (lw->maximum, 32);
  fail_unless_equals_int (lw->default_value, 2);
  g_object_get (e, "show-labels", &b, NULL);
  fail_unless (b);
  g_object_get (e, "show-confidence", &b, NULL);
  fail_unless (b);
  g_object_get (e, "font", &font, NULL);
  fail_unless_equals_string (font, "Sans 10");
  g_free (font);

  g_object_set (e, "line-width", 32, "font", "Serif 20", NULL);
  g_object_get (e, "font", &font, NULL);
  fail_unless_equals_string (font, "Serif 20");
  g_free (font);
  gst_object_unref (e);
}

GST_END_TEST;

/* Formats outside the list are refused. */
GST_START_TEST (test_caps_refused)
{
  GstHarness *h = gst_harness_new ("ipgnetoverlay");
  GstCaps *caps = gst_caps_from_string ("video/x-raw,format=YUY2,width=16,"
                                        "height=16,framerate=30/1");

  fail_if (gst_pad_query_accept_caps (h->srcpad->peer, caps));
  gst_caps_unref (caps);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
ipgnetoverlay_suite (void)
{
  Suite *s = suite_create ("ipgnetoverlay");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_no_meta_unchanged);
  tcase_add_test (tc, test_box_outline_colour);
  tcase_add_test (tc, test_tiny_frames);
  tcase_add_test (tc, test_clipped_boxes);
  tcase_add_test (tc, test_foreign_meta);
  tcase_add_test (tc, test_onnx_convention);
  tcase_add_test (tc, test_stable_colour);
  tcase_add_test (tc, test_show_labels);
  tcase_add_test (tc, test_line_width);
  tcase_add_test (tc, test_font_change);
  tcase_add_test (tc, test_timestamps);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_caps_refused);
  return s;
}

GST_CHECK_MAIN (ipgnetoverlay);
