/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetmeta.h: reading the "detection" parameters of a
 * #GstVideoRegionOfInterestMeta, shared by ipgnetoverlay and ipgnetjson. */
#ifndef __GST_IPG_NET_META_H__
#define __GST_IPG_NET_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

gboolean gst_ipg_net_structure_get_number (const GstStructure * s,
    const gchar * field, gdouble * out);

G_END_DECLS

#endif /* __GST_IPG_NET_META_H__ */
