/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetoverlay.c: draws region-of-interest boxes and labels in place. */

/**
 * SECTION:element-ipgnetoverlay
 * @title: ipgnetoverlay
 *
 * Draws every #GstVideoRegionOfInterestMeta of a frame onto the frame: the
 * box outline, and above it a tag with the label and the confidence. Metas
 * from any producer are drawn; those without the "detection" parameter
 * structure (the one ipgnetdetect attaches, DL Streamer convention) get
 * their box and their roi_type name, except GStreamer's onnxobjectdetector
 * convention (roi_type "onnx-object_detector", the "label" and "score" in
 * an "extra-data" param), whose label and score are drawn. A meta with an
 * "object_id" param (an id from ipgnettrack or DL Streamer's gvatrack) is
 * tagged "id: label".
 *
 * Each class gets a stable colour from a fixed palette: the "label_id" of
 * the "detection" structure when there is one, otherwise an FNV-1a hash of
 * the label (or of the roi_type name). The same class is the same colour on
 * every frame and in every stream.
 *
 * Tags are rendered into small ARGB surfaces (text through Pango/Cairo, the
 * layout kept between frames) and blended into the frame with GStreamer's
 * own blender (gst_video_overlay_composition_blend()), which handles every
 * supported format, packed RGB and planar YUV alike. Box outlines are
 * opaque, so they are written straight into the frame's planes in the
 * component values that the same blender gives each class colour (worked
 * out once per caps): GStreamer's blender converts a whole frame row for
 * every row of a rectangle, which for the tall sides of many boxes costs
 * far more than the boxes themselves. No full-frame surface is made. Tags
 * are drawn after all boxes, so no box line crosses a label.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! videoconvert ! ipgnetdetect model=model.safetensors ! ipgnetoverlay ! videoconvert ! autovideosink
 * ]|
 *
 * Since: 0.1
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <pango/pangocairo.h>

#include "gstipgnetoverlay.h"
#include "gstipgnetmeta.h"

/* Number of class colours (palette[] below). */
#define PALETTE_SIZE 20

struct _GstIpgNetOverlay
{
  GstVideoFilter parent;

  /* properties, under the object lock */
  guint line_width;
  gboolean show_labels;
  gboolean show_confidence;
  gchar *font;
  gboolean font_changed;

  /* palette[i] as component values of the negotiated format (set_info) */
  guint8 colours[PALETTE_SIZE][GST_VIDEO_MAX_COMPONENTS];

  /* text rendering, streaming thread only; made on the first label */
  PangoFontMap *font_map;
  PangoContext *pango_context;
  PangoLayout *layout;
};

GST_DEBUG_CATEGORY_STATIC (gst_ipg_net_overlay_debug);
#define GST_CAT_DEFAULT gst_ipg_net_overlay_debug

enum
{
  PROP_0,
  PROP_LINE_WIDTH,
  PROP_SHOW_LABELS,
  PROP_SHOW_CONFIDENCE,
  PROP_FONT,
};

#define DEFAULT_LINE_WIDTH 2
#define MIN_LINE_WIDTH 1
#define MAX_LINE_WIDTH 32
#define DEFAULT_SHOW_LABELS TRUE
#define DEFAULT_SHOW_CONFIDENCE TRUE
#define DEFAULT_FONT "Sans 10"

/* Padding between the tag's edge and its text, in pixels. */
#define TAG_PADDING 2

/* Class colours, 0xRRGGBB: saturated and far apart, so that neighbouring
 * class ids differ at a glance (the 20 colours of matplotlib's tab20, dark
 * shades first). */
static const guint32 palette[PALETTE_SIZE] = {
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

#define OVERLAY_CAPS                                    \
  GST_VIDEO_CAPS_MAKE ("{ RGB, BGR, RGBx, BGRx, xRGB, " \
                       "xBGR, RGBA, BGRA, ARGB, ABGR, I420, NV12 }")

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (OVERLAY_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (OVERLAY_CAPS));

static void gst_ipg_net_overlay_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec);
static void gst_ipg_net_overlay_get_property (GObject *object, guint prop_id,
    GValue *value, GParamSpec *pspec);
static void gst_ipg_net_overlay_finalize (GObject *object);
static gboolean gst_ipg_net_overlay_stop (GstBaseTransform *trans);
static gboolean gst_ipg_net_overlay_set_info (GstVideoFilter *filter,
    GstCaps *incaps, GstVideoInfo *in_info, GstCaps *outcaps,
    GstVideoInfo *out_info);
static GstFlowReturn
gst_ipg_net_overlay_transform_frame_ip (GstVideoFilter *filter,
    GstVideoFrame *frame);

G_DEFINE_TYPE (GstIpgNetOverlay, gst_ipg_net_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (ipgnetoverlay, "ipgnetoverlay", GST_RANK_NONE,
    GST_TYPE_IPG_NET_OVERLAY);

static void
gst_ipg_net_overlay_class_init (GstIpgNetOverlayClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_ipg_net_overlay_debug, "ipgnetoverlay", 0,
      "IPG-Net detection overlay");

  gobject_class->set_property = gst_ipg_net_overlay_set_property;
  gobject_class->get_property = gst_ipg_net_overlay_get_property;
  gobject_class->finalize = gst_ipg_net_overlay_finalize;

  /**
   * GstIpgNetOverlay:line-width:
   *
   * Width of the box outline in pixels, drawn inside the box.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_LINE_WIDTH,
      g_param_spec_uint ("line-width", "Line width",
          "Width of the box outline in pixels", MIN_LINE_WIDTH, MAX_LINE_WIDTH,
          DEFAULT_LINE_WIDTH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetOverlay:show-labels:
   *
   * Draw a tag with the label (and the confidence, see
   * #GstIpgNetOverlay:show-confidence) above each box. When FALSE no text
   * is drawn at all.
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_SHOW_LABELS,
      g_param_spec_boolean ("show-labels", "Show labels",
          "Draw a text tag with the label above each box", DEFAULT_SHOW_LABELS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetOverlay:show-confidence:
   *
   * Append the detection confidence to the tag's text (only for metas that
   * carry one, and only while #GstIpgNetOverlay:show-labels is TRUE).
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_SHOW_CONFIDENCE,
      g_param_spec_boolean ("show-confidence", "Show confidence",
          "Append the confidence to the label text", DEFAULT_SHOW_CONFIDENCE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstIpgNetOverlay:font:
   *
   * Pango font description of the tag text, e.g. "Sans Bold 12".
   *
   * Since: 0.1
   */
  g_object_class_install_property (gobject_class, PROP_FONT,
      g_param_spec_string ("font", "Font",
          "Pango font description of the label text", DEFAULT_FONT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "IPG-Net detection overlay", "Filter/Effect/Video",
      "Draws region-of-interest boxes with their labels and confidences",
      "ipgnet");

  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ipg_net_overlay_stop);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_ipg_net_overlay_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_ipg_net_overlay_transform_frame_ip);
}

static void
gst_ipg_net_overlay_init (GstIpgNetOverlay *self)
{
  self->line_width = DEFAULT_LINE_WIDTH;
  self->show_labels = DEFAULT_SHOW_LABELS;
  self->show_confidence = DEFAULT_SHOW_CONFIDENCE;
  self->font = g_strdup (DEFAULT_FONT);
  self->font_changed = TRUE;
}

static void
gst_ipg_net_overlay_free_text (GstIpgNetOverlay *self)
{
  g_clear_object (&self->layout);
  g_clear_object (&self->pango_context);
  g_clear_object (&self->font_map);
}

static void
gst_ipg_net_overlay_finalize (GObject *object)
{
  GstIpgNetOverlay *self = GST_IPG_NET_OVERLAY (object);

  gst_ipg_net_overlay_free_text (self);
  g_free (self->font);

  G_OBJECT_CLASS (gst_ipg_net_overlay_parent_class)->finalize (object);
}

static void
gst_ipg_net_overlay_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstIpgNetOverlay *self = GST_IPG_NET_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LINE_WIDTH:
      self->line_width = g_value_get_uint (value);
      break;
    case PROP_SHOW_LABELS:
      self->show_labels = g_value_get_boolean (value);
      break;
    case PROP_SHOW_CONFIDENCE:
      self->show_confidence = g_value_get_boolean (value);
      break;
    case PROP_FONT:
      g_free (self->font);
      self->font = g_value_dup_string (value);
      if (self->font == NULL)
        self->font = g_strdup (DEFAULT_FONT);
      self->font_changed = TRUE;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ipg_net_overlay_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstIpgNetOverlay *self = GST_IPG_NET_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LINE_WIDTH:
      g_value_set_uint (value, self->line_width);
      break;
    case PROP_SHOW_LABELS:
      g_value_set_boolean (value, self->show_labels);
      break;
    case PROP_SHOW_CONFIDENCE:
      g_value_set_boolean (value, self->show_confidence);
      break;
    case PROP_FONT:
      g_value_set_string (value, self->font);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_ipg_net_overlay_stop (GstBaseTransform *trans)
{
  GstIpgNetOverlay *self = GST_IPG_NET_OVERLAY (trans);

  gst_ipg_net_overlay_free_text (self);
  GST_OBJECT_LOCK (self);
  self->font_changed = TRUE;
  GST_OBJECT_UNLOCK (self);

  return TRUE;
}

/* What one meta asks to draw, read out of the meta and its "detection"
 * parameter structure. */
typedef struct
{
  gint64 x, y, w, h;  /* box in frame pixels, may overhang */
  const gchar *label; /* never NULL */
  gint id;            /* the "object_id" param's id; 0: none */
  gboolean has_confidence;
  gdouble confidence;
  guint colour; /* index into palette[] */
} RoiDrawInfo;

/* FNV-1a: a fixed, documented hash, so colours do not depend on the GLib
 * version (g_str_hash's algorithm is not part of its contract). */
static guint32
hash_label (const gchar *s)
{
  guint32 h = 2166136261u;

  for (; *s; s++) {
    h ^= (guint8) *s;
    h *= 16777619u;
  }
  return h;
}

static void
roi_draw_info_init (RoiDrawInfo *info, GstVideoRegionOfInterestMeta *meta)
{
  GstStructure *det;
  const gchar *label = NULL;
  gdouble label_id = -1.0;

  info->x = meta->x;
  info->y = meta->y;
  info->w = meta->w;
  info->h = meta->h;
  info->has_confidence = FALSE;
  info->confidence = 0.0;
  info->id = 0;
  det = gst_video_region_of_interest_meta_get_param (meta, "object_id");
  if (det != NULL && !gst_structure_get_int (det, "id", &info->id))
    info->id = 0;

  /* GStreamer's onnxobjectdetector: the class and score are in
   * "extra-data"; the roi_type is the detector's name. */
  label = gst_ipg_net_roi_get_onnx_label (meta, &info->confidence,
      &info->has_confidence);
  det = gst_video_region_of_interest_meta_get_param (meta, "detection");
  if (label == NULL && det != NULL) {
    label = gst_structure_get_string (det, "label");
    info->has_confidence =
        gst_ipg_net_structure_get_number (det, "confidence", &info->confidence);
    if (!gst_ipg_net_structure_get_number (det, "label_id", &label_id))
      label_id = -1.0;
  }
  if (label == NULL || *label == '\0')
    label = g_quark_to_string (meta->roi_type);
  if (label == NULL)
    label = "";
  info->label = label;

  if (label_id >= 0.0)
    info->colour = (guint64) label_id % PALETTE_SIZE;
  else
    info->colour = hash_label (label) % PALETTE_SIZE;
}

/* A buffer of premultiplied native-endian ARGB (cairo's ARGB32, which is
 * GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB) with its video meta. */
static GstBuffer *
argb_buffer_new (gint width, gint height)
{
  GstBuffer *buf;

  buf = gst_buffer_new_allocate (NULL, (gsize) width * height * 4, NULL);
  gst_buffer_add_video_meta (buf, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB, width, height);
  return buf;
}

static void
composition_add (GstVideoOverlayComposition **comp, GstBuffer *pixels, gint x,
    gint y, gint width, gint height)
{
  GstVideoOverlayRectangle *rect;

  rect = gst_video_overlay_rectangle_new_raw (pixels, x, y, width, height,
      GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
  gst_buffer_unref (pixels);
  if (*comp == NULL)
    *comp = gst_video_overlay_composition_new (rect);
  else
    gst_video_overlay_composition_add_rectangle (*comp, rect);
  gst_video_overlay_rectangle_unref (rect);
}

/* Fills the part of rectangle (x, y, w, h) inside the frame with the
 * component values comps. Every supported format has 8-bit components; in
 * subsampled planes a chroma sample partly covered is set too. */
static void
fill_rect (GstVideoFrame *frame, gint64 x, gint64 y, gint64 w, gint64 h,
    const guint8 *comps)
{
  const GstVideoFormatInfo *fi = frame->info.finfo;
  gint64 x0 = MAX (x, 0), y0 = MAX (y, 0);
  gint64 x1 = MIN (x + w, GST_VIDEO_FRAME_WIDTH (frame));
  gint64 y1 = MIN (y + h, GST_VIDEO_FRAME_HEIGHT (frame));
  guint c;

  if (x1 <= x0 || y1 <= y0)
    return;

  for (c = 0; c < GST_VIDEO_FRAME_N_COMPONENTS (frame); c++) {
    guint ws = GST_VIDEO_FORMAT_INFO_W_SUB (fi, c);
    guint hs = GST_VIDEO_FORMAT_INFO_H_SUB (fi, c);
    gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, c);
    gint stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, c);
    guint8 *data = GST_VIDEO_FRAME_COMP_DATA (frame, c);
    gint64 cx, cy;

    for (cy = y0 >> hs; cy <= (y1 - 1) >> hs; cy++) {
      guint8 *row = data + cy * stride;

      for (cx = x0 >> ws; cx <= (x1 - 1) >> ws; cx++)
        row[cx * ps] = comps[c];
    }
  }
}

/* Draws the outline of a box, inside the box so that a box touching the
 * frame's edge keeps all four sides visible. A box too small for two lines
 * is filled. The lines are opaque, so they are written directly: blending
 * them would cost a full frame row per line row. */
static void
draw_box (GstVideoFrame *frame, const RoiDrawInfo *info, gint64 lw,
    const guint8 *comps)
{
  gint64 x = info->x, y = info->y, w = info->w, h = info->h;

  if (w <= 2 * lw || h <= 2 * lw) {
    fill_rect (frame, x, y, w, h, comps);
    return;
  }
  fill_rect (frame, x, y, w, lw, comps);
  fill_rect (frame, x, y + h - lw, w, lw, comps);
  fill_rect (frame, x, y + lw, lw, h - 2 * lw, comps);
  fill_rect (frame, x + w - lw, y + lw, lw, h - 2 * lw, comps);
}

/* The component values GStreamer's blender gives opaque colour rgb in the
 * format of info: found by blending it into a 2x2 frame, so that boxes
 * (written directly) and tags (blended) are the very same colour, whatever
 * the format, its alpha and the blender's RGB to YUV matrix. */
static gboolean
probe_colour (const GstVideoInfo *info, guint32 rgb,
    guint8 comps[GST_VIDEO_MAX_COMPONENTS])
{
  GstVideoOverlayComposition *comp = NULL;
  GstVideoInfo probe_info;
  GstVideoFrame frame;
  GstBuffer *probe, *px;
  GstMapInfo map;
  gboolean ok = FALSE;
  guint c;

  if (!gst_video_info_set_format (&probe_info, GST_VIDEO_INFO_FORMAT (info), 2,
          2))
    return FALSE;
  probe_info.colorimetry = info->colorimetry;
  probe =
      gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&probe_info), NULL);
  gst_buffer_memset (probe, 0, 0, GST_VIDEO_INFO_SIZE (&probe_info));

  px = argb_buffer_new (2, 2);
  gst_buffer_map (px, &map, GST_MAP_WRITE);
  for (c = 0; c < 4; c++)
    ((guint32 *) map.data)[c] = 0xff000000u | rgb;
  gst_buffer_unmap (px, &map);
  composition_add (&comp, px, 0, 0, 2, 2);

  if (gst_video_frame_map (&frame, &probe_info, probe, GST_MAP_READWRITE)) {
    ok = gst_video_overlay_composition_blend (comp, &frame);
    for (c = 0; c < GST_VIDEO_FRAME_N_COMPONENTS (&frame); c++)
      comps[c] = *(guint8 *) GST_VIDEO_FRAME_COMP_DATA (&frame, c);
    gst_video_frame_unmap (&frame);
  }
  gst_video_overlay_composition_unref (comp);
  gst_buffer_unref (probe);
  return ok;
}

static gboolean
gst_ipg_net_overlay_set_info (GstVideoFilter *filter, GstCaps *incaps,
    GstVideoInfo *in_info, GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstIpgNetOverlay *self = GST_IPG_NET_OVERLAY (filter);
  guint i;

  for (i = 0; i < PALETTE_SIZE; i++) {
    if (!probe_colour (in_info, palette[i], self->colours[i])) {
      GST_ERROR_OBJECT (self, "cannot blend into %s",
          gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (in_info)));
      return FALSE;
    }
  }
  GST_DEBUG_OBJECT (self, "class colours ready for %s %dx%d",
      gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (in_info)),
      GST_VIDEO_INFO_WIDTH (in_info), GST_VIDEO_INFO_HEIGHT (in_info));

  return TRUE;
}

static gboolean
gst_ipg_net_overlay_ensure_layout (GstIpgNetOverlay *self)
{
  gchar *font = NULL;

  if (self->layout == NULL) {
    self->font_map = pango_cairo_font_map_new ();
    self->pango_context = pango_font_map_create_context (self->font_map);
    self->layout = pango_layout_new (self->pango_context);
    GST_OBJECT_LOCK (self);
    self->font_changed = TRUE;
    GST_OBJECT_UNLOCK (self);
  }

  GST_OBJECT_LOCK (self);
  if (self->font_changed) {
    font = g_strdup (self->font);
    self->font_changed = FALSE;
  }
  GST_OBJECT_UNLOCK (self);

  if (font != NULL) {
    PangoFontDescription *desc = pango_font_description_from_string (font);

    GST_DEBUG_OBJECT (self, "font \"%s\"", font);
    pango_layout_set_font_description (self->layout, desc);
    pango_font_description_free (desc);
    g_free (font);
  }
  return self->layout != NULL;
}

/* Adds the tag (label and confidence on the class colour) just above the
 * box, or inside its top when there is no room above, kept inside the
 * frame. */
static void
add_tag (GstIpgNetOverlay *self, GstVideoOverlayComposition **comp,
    const RoiDrawInfo *info, gboolean show_confidence, gint frame_w,
    gint frame_h)
{
  PangoRectangle logical;
  cairo_surface_t *surface;
  cairo_t *cr;
  GstBuffer *buf;
  GstMapInfo map;
  gchar *text;
  gint64 tx, ty;
  gint tw, th;
  gdouble r, g, b, luma;

  if (show_confidence && info->has_confidence) {
    gchar num[G_ASCII_DTOSTR_BUF_SIZE];

    g_ascii_formatd (num, sizeof (num), "%.2f", info->confidence);
    text = *info->label ? g_strconcat (info->label, " ", num, NULL)
                        : g_strdup (num);
  } else {
    text = g_strdup (info->label);
  }
  if (info->id > 0) {
    gchar *with_id = *text ? g_strdup_printf ("%d: %s", info->id, text)
                           : g_strdup_printf ("%d", info->id);

    g_free (text);
    text = with_id;
  }
  if (*text == '\0' || !gst_ipg_net_overlay_ensure_layout (self)) {
    g_free (text);
    return;
  }

  pango_layout_set_text (self->layout, text, -1);
  pango_layout_get_pixel_extents (self->layout, NULL, &logical);
  tw = MIN (logical.width + 2 * TAG_PADDING, frame_w);
  th = MIN (logical.height + 2 * TAG_PADDING, frame_h);
  if (tw <= 0 || th <= 0) {
    g_free (text);
    return;
  }

  tx = CLAMP (info->x, 0, frame_w - tw);
  ty = info->y >= th ? info->y - th : info->y;
  ty = CLAMP (ty, 0, frame_h - th);

  buf = argb_buffer_new (tw, th);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  surface = cairo_image_surface_create_for_data (map.data, CAIRO_FORMAT_ARGB32,
      tw, th, tw * 4);
  cr = cairo_create (surface);

  r = ((palette[info->colour] >> 16) & 0xff) / 255.0;
  g = ((palette[info->colour] >> 8) & 0xff) / 255.0;
  b = (palette[info->colour] & 0xff) / 255.0;
  cairo_set_source_rgb (cr, r, g, b);
  cairo_paint (cr);

  /* Black on light colours, white on dark ones (BT.601 luma). */
  luma = 0.299 * r + 0.587 * g + 0.114 * b;
  if (luma > 0.55)
    cairo_set_source_rgb (cr, 0, 0, 0);
  else
    cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_move_to (cr, TAG_PADDING - logical.x, TAG_PADDING - logical.y);
  pango_cairo_show_layout (cr, self->layout);

  cairo_destroy (cr);
  cairo_surface_flush (surface);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    GST_WARNING_OBJECT (self, "cairo: %s",
        cairo_status_to_string (cairo_surface_status (surface)));
  cairo_surface_destroy (surface);
  gst_buffer_unmap (buf, &map);

  GST_LOG_OBJECT (self,
      "tag \"%s\" %dx%d at %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT, text, tw,
      th, tx, ty);
  g_free (text);
  composition_add (comp, buf, tx, ty, tw, th);
}

static GstFlowReturn
gst_ipg_net_overlay_transform_frame_ip (GstVideoFilter *filter,
    GstVideoFrame *frame)
{
  GstIpgNetOverlay *self = GST_IPG_NET_OVERLAY (filter);
  GstVideoOverlayComposition *comp = NULL;
  GstMeta *meta;
  gpointer state = NULL;
  gint frame_w = GST_VIDEO_FRAME_WIDTH (frame);
  gint frame_h = GST_VIDEO_FRAME_HEIGHT (frame);
  guint line_width;
  gboolean show_labels, show_confidence;

  GST_OBJECT_LOCK (self);
  line_width = self->line_width;
  show_labels = self->show_labels;
  show_confidence = self->show_confidence;
  GST_OBJECT_UNLOCK (self);

  /* Metas iterate in the order they were attached, so a later detection's
   * tag lies on top of an earlier one's. */
  while ((meta = gst_buffer_iterate_meta_filtered (frame->buffer, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    RoiDrawInfo info;

    roi_draw_info_init (&info, (GstVideoRegionOfInterestMeta *) meta);
    GST_LOG_OBJECT (self,
        "roi %s %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT " %" G_GINT64_FORMAT
        "x%" G_GINT64_FORMAT,
        info.label, info.x, info.y, info.w, info.h);
    if (info.w == 0 || info.h == 0 || info.x >= frame_w || info.y >= frame_h)
      continue;
    draw_box (frame, &info, line_width, self->colours[info.colour]);
    if (show_labels)
      add_tag (self, &comp, &info, show_confidence, frame_w, frame_h);
  }

  if (comp != NULL) {
    if (!gst_video_overlay_composition_blend (comp, frame))
      GST_WARNING_OBJECT (self, "blending into %s failed",
          GST_VIDEO_FRAME_FORMAT (frame) == GST_VIDEO_FORMAT_UNKNOWN
              ? "?"
              : gst_video_format_to_string (GST_VIDEO_FRAME_FORMAT (frame)));
    gst_video_overlay_composition_unref (comp);
  }

  return GST_FLOW_OK;
}
