/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetinstance.h: the process-wide registry behind ipgnetdetect's
 * model-instance-id (DL Streamer's property of that name): elements naming
 * one id share one loaded model and one ipg_engine_t (OpenCL context,
 * program, weights), and their batchers (gstipgnetbatcher.h). */
#ifndef __GST_IPG_NET_INSTANCE_H__
#define __GST_IPG_NET_INSTANCE_H__

#include <gst/gst.h>

#include "ipg.h"

G_BEGIN_DECLS

typedef struct _GstIpgNetInstance GstIpgNetInstance;

/* The instance named `id`, made (model loaded, engine created) by the first
 * caller and shared by later ones, which must name the same model file and
 * device. On failure returns NULL with *status and a message in *error
 * (g_free it): the model's or device's own error, or a mismatch naming both
 * models and devices. */
GstIpgNetInstance *gst_ipg_net_instance_acquire (const gchar *id,
    const gchar *model_path, const gchar *device, ipg_status_t *status,
    gchar **error);
void gst_ipg_net_instance_release (GstIpgNetInstance *inst);

const gchar *gst_ipg_net_instance_id (GstIpgNetInstance *inst);
const ipg_model_t *gst_ipg_net_instance_model (GstIpgNetInstance *inst);
ipg_engine_t *gst_ipg_net_instance_engine (GstIpgNetInstance *inst);

G_END_DECLS

#endif /* __GST_IPG_NET_INSTANCE_H__ */
