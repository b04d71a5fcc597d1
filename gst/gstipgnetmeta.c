/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetmeta.c: reading region-of-interest parameters. See
 * gstipgnetmeta.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstipgnetmeta.h"

/* Reads a numeric field of any numeric type (producers differ: double,
 * float, int) as a double. FALSE when the field is absent or not a number. */
gboolean
gst_ipg_net_structure_get_number (const GstStructure * s, const gchar * field,
    gdouble * out)
{
  const GValue *v = gst_structure_get_value (s, field);
  GValue d = G_VALUE_INIT;

  if (v == NULL || !g_value_type_transformable (G_VALUE_TYPE (v),
          G_TYPE_DOUBLE))
    return FALSE;
  g_value_init (&d, G_TYPE_DOUBLE);
  if (!g_value_transform (v, &d))
    return FALSE;
  *out = g_value_get_double (&d);
  return TRUE;
}
