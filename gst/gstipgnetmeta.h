/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetmeta.h: what the plugin's elements share about metadata:
 * reading the "detection" parameters of a #GstVideoRegionOfInterestMeta
 * (ipgnetoverlay, ipgnetjson, ipgnettrack), GStreamer's onnxobjectdetector
 * convention (ipgnetoverlay, ipgnetjson), and the plugin's marker meta.
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
#include <gst/video/video.h>

G_BEGIN_DECLS

gboolean gst_ipg_net_structure_get_number (const GstStructure *s,
    const gchar *field, gdouble *out);

/* GStreamer's own detector convention (onnxobjectdetector, gst-plugins-bad
 * 1.20+, ext/onnx/gstonnxobjectdetector.h): every region has the roi_type
 * "onnx-object_detector" and an "extra-data" param with the class as
 * string "label" and the score as double "score". Returns the label of
 * such a region (and its score in @score, @has_score TRUE when there is
 * one), or NULL for any other region. */
#define GST_IPG_NET_ONNX_ROI_TYPE "onnx-object_detector"
const gchar *gst_ipg_net_roi_get_onnx_label (GstVideoRegionOfInterestMeta *roi,
    gdouble *score, gboolean *has_score);

#define GST_IPG_NET_NOT_INFERRED_META "GstIpgNetNotInferredMeta"

/* Registers the plugin's metas; called once, from plugin_init. */
gboolean gst_ipg_net_meta_register (void);

G_END_DECLS

#endif /* __GST_IPG_NET_META_H__ */
