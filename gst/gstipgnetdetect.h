/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetdetect.h: runs IPG-Net on video frames and attaches
 * GstVideoRegionOfInterestMeta per detection. */
#ifndef __GST_IPG_NET_DETECT_H__
#define __GST_IPG_NET_DETECT_H__

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/**
 * GstIpgNetInferenceMode:
 * @GST_IPG_NET_INFERENCE_MODE_AUTO: realtime when upstream is live,
 *   every-frame otherwise
 * @GST_IPG_NET_INFERENCE_MODE_EVERY_FRAME: infer every candidate frame in
 *   the streaming thread; the pipeline runs at the engine's pace
 * @GST_IPG_NET_INFERENCE_MODE_REALTIME: infer on a worker thread whenever
 *   it is free; frames flow at the source's rate
 *
 * Since: 0.3
 */
typedef enum
{
  GST_IPG_NET_INFERENCE_MODE_AUTO,
  GST_IPG_NET_INFERENCE_MODE_EVERY_FRAME,
  GST_IPG_NET_INFERENCE_MODE_REALTIME,
} GstIpgNetInferenceMode;

#define GST_TYPE_IPG_NET_DETECT (gst_ipg_net_detect_get_type ())
G_DECLARE_FINAL_TYPE (GstIpgNetDetect, gst_ipg_net_detect, GST, IPG_NET_DETECT,
    GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (ipgnetdetect);

G_END_DECLS

#endif /* __GST_IPG_NET_DETECT_H__ */
