/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetbatcher.h: frames of several ipgnetdetect elements inferred
 * together (batch-size, batch-timeout). Elements of one model-instance-id
 * whose frames and settings agree sit at one batcher: one ipg_ctx_t
 * prepared for batch-size frames, on the instance's engine. */
#ifndef __GST_IPG_NET_BATCHER_H__
#define __GST_IPG_NET_BATCHER_H__

#include <gst/gst.h>

#include "ipg.h"

G_BEGIN_DECLS

/* One element's place at a batcher. */
typedef struct _GstIpgNetBatchSeat GstIpgNetBatchSeat;

/* What a batch's frames share: the frame format and the context's
 * parameters (thresholds, classes, input size). Elements that differ in any
 * of these sit at different batchers (they still share the engine). */
typedef struct
{
  gint width, height;
  ipg_pixel_format_t format;
  ipg_yuv_matrix_t matrix;
  gint full_range;
  ipg_ctx_params_t params; /* tiling off; batch_frames is batch_size */
  guint batch_size;        /* 2..IPG_MAX_BATCH_FRAMES */
  guint timeout_ms;        /* how long a frame waits for the others */
} GstIpgNetBatchShape;

/* A seat at the batcher of (instance_id, shape), made with its context on
 * `engine` by the first element; `playing`: its element's state is PLAYING
 * (see set_playing). On failure NULL, *status, and *error (a sentence;
 * g_free it). */
GstIpgNetBatchSeat *gst_ipg_net_batcher_join (const gchar *instance_id,
    ipg_engine_t *engine, const GstIpgNetBatchShape *shape, gboolean playing,
    ipg_status_t *status, gchar **error);
/* Leaves (the last one frees the batcher). Never while inside infer(). */
void gst_ipg_net_batcher_leave (GstIpgNetBatchSeat *seat);
/* An element at EOS sends no frames: the others stop waiting for it. It is
 * active again with its next frame. */
void gst_ipg_net_batcher_set_active (GstIpgNetBatchSeat *seat, gboolean active);
/* Only the seats of PLAYING elements are waited for: a prerolling element's
 * thread is held by its sink until every sink of the pipeline has a frame,
 * so its next frame cannot come before the others' batch has run. */
void gst_ipg_net_batcher_set_playing (GstIpgNetBatchSeat *seat,
    gboolean playing);

/* Infers one frame, in a batch with the frames the other seats send within
 * timeout_ms of the first one (or as soon as every expected seat, active
 * and playing, has sent one, or batch_size are there). Blocks until its detections are written.
 * *batch_n: the frames of the batch it ran in. On failure *error (g_free). */
ipg_status_t gst_ipg_net_batcher_infer (GstIpgNetBatchSeat *seat,
    const ipg_frame_t *frame, ipg_detection_t *dets, gint32 max_dets,
    gint32 *n_dets, guint *batch_n, gchar **error);

G_END_DECLS

#endif /* __GST_IPG_NET_BATCHER_H__ */
