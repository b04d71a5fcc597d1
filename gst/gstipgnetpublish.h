/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef __GST_IPG_NET_PUBLISH_H__
#define __GST_IPG_NET_PUBLISH_H__

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_IPG_NET_PUBLISH (gst_ipg_net_publish_get_type ())
G_DECLARE_FINAL_TYPE (GstIpgNetPublish, gst_ipg_net_publish, GST,
    IPG_NET_PUBLISH, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (ipgnetpublish);

G_END_DECLS

#endif /* __GST_IPG_NET_PUBLISH_H__ */
