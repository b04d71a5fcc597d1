/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetoverlay.h: draws GstVideoRegionOfInterestMeta boxes and labels. */
#ifndef __GST_IPG_NET_OVERLAY_H__
#define __GST_IPG_NET_OVERLAY_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_IPG_NET_OVERLAY (gst_ipg_net_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstIpgNetOverlay, gst_ipg_net_overlay, GST,
    IPG_NET_OVERLAY, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE (ipgnetoverlay);

G_END_DECLS

#endif /* __GST_IPG_NET_OVERLAY_H__ */
