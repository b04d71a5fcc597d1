/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetmeta.h: what the plugin's elements share about metadata:
 * reading the "detection" parameters of a #GstVideoRegionOfInterestMeta
 * (ipgnetoverlay, ipgnetjson, ipgnettrack), and the plugin's marker meta.
 *
 * A buffer that ipgnetdetect let through without inferring it (the frames
 * between two inferred ones with #GstIpgNetDetect:interval > 1) carries a
 * #GstCustomMeta named GST_IPG_NET_NOT_INFERRED_META, with an empty
 * structure. Without it, a frame with no region-of-interest meta means "the
 * detector ran and found nothing"; with it, "the detector did not look".
 * ipgnettrack reads it to fill such frames with predicted boxes.
 *
 * Any producer may attach it: gst_buffer_add_custom_meta (buf,
 * GST_IPG_NET_NOT_INFERRED_META), after the plugin is loaded (the plugin
 * registers it). It has no tags, so elements that copy untagged metas
 * (videoconvert, tee, queue) keep it. */
#ifndef __GST_IPG_NET_META_H__
#define __GST_IPG_NET_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

gboolean gst_ipg_net_structure_get_number (const GstStructure * s,
    const gchar * field, gdouble * out);

#define GST_IPG_NET_NOT_INFERRED_META "GstIpgNetNotInferredMeta"

/* Registers the plugin's metas; called once, from plugin_init. */
gboolean gst_ipg_net_meta_register (void);

G_END_DECLS

#endif /* __GST_IPG_NET_META_H__ */
