/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetjsonwriter.c: gvametaconvert's JSON message for a frame. See
 * gstipgnetjsonwriter.h.
 *
 * What is copied, and from where (DL Streamer, tag v2025.1.2, the last
 * release that reads GstVideoRegionOfInterestMeta; jsonconverter.cpp is
 * src/monolithic/gst/elements/gvametaconvert/jsonconverter.cpp):
 * - the frame: "resolution", "source", "timestamp" (stream time of the PTS,
 *   absent when that is GST_CLOCK_TIME_NONE), "tags" (parsed when valid),
 *   "objects" only when there is one (jsonconverter.cpp:60-76, 354-356);
 *   no object and no add-empty-results: no message (:347-351);
 * - each object: x, y, w, h, region_id (the meta's id), id when the
 *   "object_id" param has a non-zero id, roi_type when not empty
 *   (:135-159; region_of_interest.h:129-139, 284-289);
 * - a "detection" param with double x_min, x_max, y_min, y_max: a
 *   "detection" with "bounding_box", "confidence" when a double, "label_id"
 *   when an int, "label" (the roi_type) when not empty, and "extra_params"
 *   parsed from its string "extra_params_json" (:164-207);
 * - any other param with string "label" and "model_name": an entry named by
 *   its "attribute_name" or its structure name, with "label",
 *   "model": {"name"}, "confidence" (double), "label_id" (int) (:209-232);
 * - nlohmann::json's dump(-1): object keys in byte order, the first of two
 *   equal keys kept (push_back inserts), no spaces, integers as integers,
 *   doubles as the shortest digits that read back with ".0" when whole and
 *   an exponent below 1e-4 or from 1e15 on (to_chars' kMinExp -4, kMaxExp
 *   digits10 = 15), non-finite doubles as null,
 *   strings with \" \\ \b \f \n \r \t and \u00xx for other control
 *   characters, everything else (DEL and UTF-8 included) as is.
 *
 * Ours, not gvametaconvert's (it never writes them):
 * - "tracked": true in "extra_params" for a box ipgnettrack predicted (its
 *   "detection" param has the boolean "tracked" set);
 * - GStreamer's onnxobjectdetector convention (roi_type
 *   "onnx-object_detector", an "extra-data" param with string "label" and
 *   double "score", gst-plugins-bad 1.22 ext/onnx/gstonnxobjectdetector.h):
 *   written as if its detector had used DL Streamer's, roi_type = label and
 *   a "detection" from the rectangle, the score as confidence;
 * - invalid UTF-8 in a string becomes U+FFFD (nlohmann throws and
 *   gvametaconvert writes nothing). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gst/video/video.h>

#include "gstipgnetjsonwriter.h"
#include "gstipgnetmeta.h"
#include "json.h"

/* ---- values ------------------------------------------------------------ */

/* nlohmann's string escapes (see above); @s is valid UTF-8. */
static void
append_string (GString *out, const gchar *s, gssize len)
{
  gchar *valid = g_utf8_make_valid (s, len);
  const guchar *p;

  g_string_append_c (out, '"');
  for (p = (const guchar *) valid; *p != '\0'; p++) {
    switch (*p) {
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '\b':
        g_string_append (out, "\\b");
        break;
      case '\f':
        g_string_append (out, "\\f");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      case '\r':
        g_string_append (out, "\\r");
        break;
      case '\t':
        g_string_append (out, "\\t");
        break;
      default:
        if (*p < 0x20)
          g_string_append_printf (out, "\\u%04x", *p);
        else
          g_string_append_c (out, (gchar) *p);
        break;
    }
  }
  g_string_append_c (out, '"');
  g_free (valid);
}

/* A double as nlohmann::json writes it: the shortest digits that read back
 * to @v, placed as its to_chars places them (decimal from 1e-4 below 1e15,
 * ".0" after a whole number, else d.ddde+XX). */
static void
append_double (GString *out, gdouble v)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE], fmt[8], digits[24];
  gint prec, k = 0, n, e, i;
  const gchar *p;

  if (!isfinite (v)) {
    g_string_append (out, "null");
    return;
  }
  if (signbit (v))
    g_string_append_c (out, '-');
  v = fabs (v);
  if (v == 0.0) {
    g_string_append (out, "0.0");
    return;
  }
  for (prec = 1; prec <= 17; prec++) {
    g_snprintf (fmt, sizeof (fmt), "%%.%de", prec - 1);
    g_ascii_formatd (buf, sizeof (buf), fmt, v);
    if (g_ascii_strtod (buf, NULL) == v)
      break;
  }
  /* buf is "d.ddde[+-]XX": the digits, and the exponent of the first. */
  for (p = buf; *p != 'e'; p++)
    if (g_ascii_isdigit (*p))
      digits[k++] = *p;
  e = atoi (p + 1);
  n = k + (e - (k - 1)); /* where the decimal point goes */
  if (k <= n && n <= 15) {
    g_string_append_len (out, digits, k);
    for (i = k; i < n; i++)
      g_string_append_c (out, '0');
    g_string_append (out, ".0");
  } else if (0 < n && n <= 15) {
    g_string_append_len (out, digits, n);
    g_string_append_c (out, '.');
    g_string_append_len (out, digits + n, k - n);
  } else if (-4 < n && n <= 0) {
    g_string_append (out, "0.");
    for (i = 0; i < -n; i++)
      g_string_append_c (out, '0');
    g_string_append_len (out, digits, k);
  } else {
    g_string_append_c (out, digits[0]);
    if (k > 1) {
      g_string_append_c (out, '.');
      g_string_append_len (out, digits + 1, k - 1);
    }
    g_string_append_printf (out, "e%c%02d", n - 1 < 0 ? '-' : '+', ABS (n - 1));
  }
}

/* ---- objects: members kept in insertion order, written sorted ---------- */

typedef struct
{
  gchar *key;
  GString *value;
} Member;

static void
member_clear (gpointer p)
{
  Member *m = p;

  g_free (m->key);
  g_string_free (m->value, TRUE);
}

static GArray *
object_new (void)
{
  GArray *o = g_array_new (FALSE, FALSE, sizeof (Member));

  g_array_set_clear_func (o, member_clear);
  return o;
}

/* The value's text for a new member @key, or NULL when @key is taken (the
 * first stays, as nlohmann's push_back does). */
static GString *
object_add (GArray *o, const gchar *key)
{
  Member m;
  guint i;

  for (i = 0; i < o->len; i++)
    if (strcmp (g_array_index (o, Member, i).key, key) == 0)
      return NULL;
  m.key = g_strdup (key);
  m.value = g_string_new (NULL);
  g_array_append_val (o, m);
  return m.value;
}

static gint
member_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (((const Member *) a)->key, ((const Member *) b)->key);
}

/* Appends the object to @out and frees it. */
static void
object_finish (GArray *o, GString *out)
{
  guint i;

  g_array_sort (o, member_cmp);
  g_string_append_c (out, '{');
  for (i = 0; i < o->len; i++) {
    Member *m = &g_array_index (o, Member, i);

    if (i > 0)
      g_string_append_c (out, ',');
    append_string (out, m->key, -1);
    g_string_append_c (out, ':');
    g_string_append_len (out, m->value->str, m->value->len);
  }
  g_string_append_c (out, '}');
  g_array_unref (o);
}

static void
add_string (GArray *o, const gchar *key, const gchar *v)
{
  GString *s = object_add (o, key);

  if (s != NULL)
    append_string (s, v, -1);
}

static void
add_double (GArray *o, const gchar *key, gdouble v)
{
  GString *s = object_add (o, key);

  if (s != NULL)
    append_double (s, v);
}

static void
add_int (GArray *o, const gchar *key, gint64 v)
{
  GString *s = object_add (o, key);

  if (s != NULL)
    g_string_append_printf (s, "%" G_GINT64_FORMAT, v);
}

/* A parsed JSON value as nlohmann::json::parse then dump(-1) write it. */
static void
append_parsed (GString *out, const ipg_json_value_t *v)
{
  size_t i;

  switch (v->type) {
    case IPG_JSON_NULL:
      g_string_append (out, "null");
      break;
    case IPG_JSON_BOOL:
      g_string_append (out, v->u.boolean ? "true" : "false");
      break;
    case IPG_JSON_NUMBER:
      if (v->u.number.is_int)
        g_string_append_printf (out, "%" G_GINT64_FORMAT, v->u.number.i64);
      else
        append_double (out, v->u.number.value);
      break;
    case IPG_JSON_STRING:
      append_string (out, v->u.string.ptr, v->u.string.len);
      break;
    case IPG_JSON_ARRAY:
      g_string_append_c (out, '[');
      for (i = 0; i < v->u.array.count; i++) {
        if (i > 0)
          g_string_append_c (out, ',');
        append_parsed (out, &v->u.array.items[i]);
      }
      g_string_append_c (out, ']');
      break;
    case IPG_JSON_OBJECT: {
      GArray *o = object_new ();

      for (i = 0; i < v->u.object.count; i++) {
        GString *s = object_add (o, v->u.object.members[i].key);

        if (s != NULL)
          append_parsed (s, &v->u.object.members[i].value);
      }
      object_finish (o, out);
      break;
    }
  }
}

static ipg_json_doc_t *
parse (const gchar *text)
{
  ipg_json_doc_t *doc = NULL;

  if (text == NULL || ipg_json_parse (text, strlen (text), &doc, NULL, 0) != 0)
    return NULL;
  return doc;
}

gboolean
gst_ipg_net_json_tags_valid (const gchar *text)
{
  ipg_json_doc_t *doc = parse (text);

  ipg_json_free (doc);
  return doc != NULL;
}

/* ---- one object -------------------------------------------------------- */

/* gst_structure_get's rule: the field exists with exactly this type. */
static gboolean
get_double (const GstStructure *s, const gchar *field, gdouble *v)
{
  return gst_structure_get (s, field, G_TYPE_DOUBLE, v, NULL);
}

/* "extra_params": the producer's extra_params_json, and ours. */
static void
add_extra_params (GArray *obj, const GstStructure *det)
{
  const gchar *text = gst_structure_get_string (det, "extra_params_json");
  ipg_json_doc_t *doc = NULL;
  gboolean tracked = FALSE;
  GString *s;

  if (text != NULL && *text != '\0') {
    doc = parse (text);
    if (doc == NULL)
      GST_WARNING ("extra_params_json is not JSON, left out: %s", text);
  }
  gst_structure_get_boolean (det, "tracked", &tracked);
  if (doc == NULL && !tracked)
    return;
  s = object_add (obj, "extra_params");
  if (s == NULL) {
    ipg_json_free (doc);
    return;
  }
  if (tracked &&
      (doc == NULL || ipg_json_root (doc)->type == IPG_JSON_OBJECT)) {
    const ipg_json_value_t *root = doc != NULL ? ipg_json_root (doc) : NULL;
    GArray *o = object_new ();
    size_t i;

    GString *t;

    for (i = 0; root != NULL && i < root->u.object.count; i++) {
      GString *m = object_add (o, root->u.object.members[i].key);

      if (m != NULL)
        append_parsed (m, &root->u.object.members[i].value);
    }
    t = object_add (o, "tracked");
    if (t != NULL)
      g_string_append (t, "true");
    object_finish (o, s);
  } else {
    append_parsed (s, ipg_json_root (doc));
  }
  ipg_json_free (doc);
}

static void
add_detection (GArray *obj, const GstStructure *det, const gchar *label)
{
  gdouble x_min, x_max, y_min, y_max, confidence;
  gint label_id;
  GArray *d, *box;
  GString *s;

  if (!get_double (det, "x_min", &x_min) ||
      !get_double (det, "x_max", &x_max) ||
      !get_double (det, "y_min", &y_min) || !get_double (det, "y_max", &y_max))
    return;
  d = object_new ();
  box = object_new ();
  add_double (box, "x_min", x_min);
  add_double (box, "x_max", x_max);
  add_double (box, "y_min", y_min);
  add_double (box, "y_max", y_max);
  object_finish (box, object_add (d, "bounding_box"));
  if (get_double (det, "confidence", &confidence))
    add_double (d, "confidence", confidence);
  if (gst_structure_get (det, "label_id", G_TYPE_INT, &label_id, NULL))
    add_int (d, "label_id", label_id);
  if (*label != '\0')
    add_string (d, "label", label);
  s = object_add (obj, "detection");
  if (s != NULL)
    object_finish (d, s);
  else
    g_array_unref (d);
  add_extra_params (obj, det);
}

static void
add_classification (GArray *obj, const GstStructure *s)
{
  const gchar *label = NULL, *model_name = NULL, *name;
  gdouble confidence;
  gint label_id;
  GArray *c, *model;
  GString *out;

  if (!gst_structure_has_field_typed (s, "label", G_TYPE_STRING) ||
      !gst_structure_has_field_typed (s, "model_name", G_TYPE_STRING))
    return;
  label = gst_structure_get_string (s, "label");
  model_name = gst_structure_get_string (s, "model_name");
  if (label == NULL || model_name == NULL)
    return;
  name = gst_structure_get_string (s, "attribute_name");
  if (name == NULL)
    name = gst_structure_get_name (s);
  out = object_add (obj, name);
  if (out == NULL)
    return;
  c = object_new ();
  add_string (c, "label", label);
  model = object_new ();
  add_string (model, "name", model_name);
  object_finish (model, object_add (c, "model"));
  if (get_double (s, "confidence", &confidence))
    add_double (c, "confidence", confidence);
  if (gst_structure_get (s, "label_id", G_TYPE_INT, &label_id, NULL))
    add_int (c, "label_id", label_id);
  object_finish (c, out);
}

/* GStreamer's onnxobjectdetector: the label and score of "extra-data" as a
 * DL Streamer detection of the meta's rectangle. */
static gboolean
add_onnx_object (GArray *obj, GstVideoRegionOfInterestMeta *roi, gint width,
    gint height)
{
  gdouble score;
  gboolean has_score;
  const gchar *label = gst_ipg_net_roi_get_onnx_label (roi, &score, &has_score);
  GArray *d, *box;

  if (label == NULL)
    return FALSE;
  if (*label != '\0')
    add_string (obj, "roi_type", label);
  d = object_new ();
  box = object_new ();
  add_double (box, "x_min", (gdouble) roi->x / width);
  add_double (box, "x_max", ((gdouble) roi->x + roi->w) / width);
  add_double (box, "y_min", (gdouble) roi->y / height);
  add_double (box, "y_max", ((gdouble) roi->y + roi->h) / height);
  object_finish (box, object_add (d, "bounding_box"));
  if (has_score)
    add_double (d, "confidence", score);
  if (*label != '\0')
    add_string (d, "label", label);
  object_finish (d, object_add (obj, "detection"));
  return TRUE;
}

static void
append_object (GString *out, GstVideoRegionOfInterestMeta *roi, gint width,
    gint height)
{
  GArray *obj = object_new ();
  GstStructure *object_id;
  const gchar *roi_type = g_quark_to_string (roi->roi_type);
  gint id = 0;
  GList *l;

  if (roi_type == NULL)
    roi_type = "";
  add_int (obj, "x", roi->x);
  add_int (obj, "y", roi->y);
  add_int (obj, "w", roi->w);
  add_int (obj, "h", roi->h);
  add_int (obj, "region_id", roi->id);
  object_id = gst_video_region_of_interest_meta_get_param (roi, "object_id");
  if (object_id != NULL)
    gst_structure_get_int (object_id, "id", &id);
  if (id != 0)
    add_int (obj, "id", id);

  if (!add_onnx_object (obj, roi, width, height)) {
    if (*roi_type != '\0')
      add_string (obj, "roi_type", roi_type);
    for (l = roi->params; l != NULL; l = l->next) {
      const GstStructure *s = l->data;

      if (gst_structure_has_name (s, "detection"))
        add_detection (obj, s, roi_type);
      else
        add_classification (obj, s);
    }
  }
  object_finish (obj, out);
}

/* ---- the frame --------------------------------------------------------- */

gboolean
gst_ipg_net_json_write_frame (GString *out, GstBuffer *buf,
    const GstSegment *segment, gint width, gint height,
    const GstIpgNetJsonOptions *opts)
{
  GArray *frame;
  GString *objects, *s;
  GstMeta *meta;
  gpointer state = NULL;
  guint64 timestamp;
  guint n = 0;
  ipg_json_doc_t *tags;

  objects = g_string_new ("[");
  /* Metas iterate in the order they were attached (the detector's). */
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    if (n++ > 0)
      g_string_append_c (objects, ',');
    append_object (objects, (GstVideoRegionOfInterestMeta *) meta, width,
        height);
  }
  g_string_append_c (objects, ']');
  if (n == 0 && !opts->add_empty_results) {
    g_string_free (objects, TRUE);
    return FALSE;
  }

  frame = object_new ();
  s = object_add (frame, "resolution");
  g_string_append_printf (s, "{\"height\":%d,\"width\":%d}", height, width);
  if (opts->source != NULL)
    add_string (frame, "source", opts->source);
  timestamp = gst_segment_to_stream_time (segment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (buf));
  if (timestamp != GST_CLOCK_TIME_NONE)
    g_string_append_printf (object_add (frame, "timestamp"),
        "%" G_GUINT64_FORMAT, timestamp);
  tags = parse (opts->tags);
  if (tags != NULL)
    append_parsed (object_add (frame, "tags"), ipg_json_root (tags));
  ipg_json_free (tags);
  if (n > 0) {
    s = object_add (frame, "objects");
    g_string_append_len (s, objects->str, objects->len);
  }
  g_string_free (objects, TRUE);
  object_finish (frame, out);
  return TRUE;
}
