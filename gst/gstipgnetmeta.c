/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetmeta.c: reading region-of-interest parameters, and the
 * registration of the plugin's marker meta. See gstipgnetmeta.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstipgnetmeta.h"

/* Reads a numeric field of any numeric type (producers differ: double,
 * float, int) as a double. FALSE when the field is absent or not a number. */
gboolean
gst_ipg_net_structure_get_number (const GstStructure *s, const gchar *field,
    gdouble *out)
{
  const GValue *v = gst_structure_get_value (s, field);
  GValue d = G_VALUE_INIT;

  if (v == NULL ||
      !g_value_type_transformable (G_VALUE_TYPE (v), G_TYPE_DOUBLE))
    return FALSE;
  g_value_init (&d, G_TYPE_DOUBLE);
  if (!g_value_transform (v, &d))
    return FALSE;
  *out = g_value_get_double (&d);
  return TRUE;
}

const gchar *
gst_ipg_net_roi_get_onnx_label (GstVideoRegionOfInterestMeta *roi,
    gdouble *score, gboolean *has_score)
{
  GstStructure *extra;
  const gchar *label;

  if (roi->roi_type != g_quark_from_static_string (GST_IPG_NET_ONNX_ROI_TYPE))
    return NULL;
  extra = gst_video_region_of_interest_meta_get_param (roi, "extra-data");
  if (extra == NULL ||
      (label = gst_structure_get_string (extra, "label")) == NULL)
    return NULL;
  *has_score = gst_ipg_net_structure_get_number (extra, "score", score);
  return label;
}

gboolean
gst_ipg_net_meta_register (void)
{
  static const gchar *no_tags[] = { NULL };
  static gsize registered = 0;

  /* A custom meta cannot be registered twice. */
  if (g_once_init_enter (&registered)) {
    const GstMetaInfo *info =
        gst_meta_register_custom (GST_IPG_NET_NOT_INFERRED_META, no_tags, NULL,
            NULL, NULL);

    g_once_init_leave (&registered, info != NULL ? 1 : 2);
  }
  return registered == 1;
}
