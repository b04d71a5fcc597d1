/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetdetect.h: runs IPG-Net on video frames and attaches
 * GstVideoRegionOfInterestMeta per detection. */
#ifndef __GST_IPG_NET_DETECT_H__
#define __GST_IPG_NET_DETECT_H__

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_IPG_NET_DETECT (gst_ipg_net_detect_get_type ())
G_DECLARE_FINAL_TYPE (GstIpgNetDetect, gst_ipg_net_detect, GST,
    IPG_NET_DETECT, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (ipgnetdetect);

G_END_DECLS

#endif /* __GST_IPG_NET_DETECT_H__ */
