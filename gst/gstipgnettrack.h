/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnettrack.h: assigns stable ids to detected objects across frames. */
#ifndef __GST_IPG_NET_TRACK_H__
#define __GST_IPG_NET_TRACK_H__

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_IPG_NET_TRACK (gst_ipg_net_track_get_type ())
G_DECLARE_FINAL_TYPE (GstIpgNetTrack, gst_ipg_net_track, GST, IPG_NET_TRACK,
    GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (ipgnettrack);

G_END_DECLS

#endif /* __GST_IPG_NET_TRACK_H__ */
