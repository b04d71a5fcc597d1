/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetjson.h: writes one JSON line of detections per frame. */
#ifndef __GST_IPG_NET_JSON_H__
#define __GST_IPG_NET_JSON_H__

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_IPG_NET_JSON (gst_ipg_net_json_get_type ())
G_DECLARE_FINAL_TYPE (GstIpgNetJson, gst_ipg_net_json, GST, IPG_NET_JSON,
    GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (ipgnetjson);

G_END_DECLS

#endif /* __GST_IPG_NET_JSON_H__ */
