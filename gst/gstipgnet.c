/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnet.c: the plugin: registers its elements, nothing else. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstipgnetdetect.h"
#include "gstipgnetjson.h"
#include "gstipgnetmeta.h"
#include "gstipgnetoverlay.h"
#include "gstipgnettrack.h"
#include "gstipgnetpublish.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ret = FALSE;

  if (!gst_ipg_net_meta_register ())
    return FALSE;
  ret |= GST_ELEMENT_REGISTER (ipgnetdetect, plugin);
  ret |= GST_ELEMENT_REGISTER (ipgnetoverlay, plugin);
  ret |= GST_ELEMENT_REGISTER (ipgnetjson, plugin);
  ret |= GST_ELEMENT_REGISTER (ipgnettrack, plugin);
  ret |= GST_ELEMENT_REGISTER (ipgnetpublish, plugin);

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, ipgnet,
    "IPG-Net small-object detection through OpenCL", plugin_init, VERSION,
    GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
