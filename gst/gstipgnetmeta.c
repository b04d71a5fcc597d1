/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetmeta.c: registers the plugin's marker meta; see gstipgnetmeta.h */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstipgnetmeta.h"

gboolean
gst_ipg_net_meta_register (void)
{
  static const gchar *no_tags[] = { NULL };
  static gsize registered = 0;

  /* A custom meta cannot be registered twice. */
  if (g_once_init_enter (&registered)) {
    const GstMetaInfo *info = gst_meta_register_custom
        (GST_IPG_NET_NOT_INFERRED_META, no_tags, NULL, NULL, NULL);

    g_once_init_leave (&registered, info != NULL ? 1 : 2);
  }
  return registered == 1;
}
