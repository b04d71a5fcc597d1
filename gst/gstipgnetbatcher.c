/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetbatcher.c: cross-stream batching. Each element's thread (the
 * streaming thread, or the realtime worker) hands its frame to the batcher
 * and waits. The batch runs when batch_size frames are waiting, or every
 * expected seat has one waiting, or the oldest has waited timeout_ms; the
 * thread that finds it ready runs it (no thread of the batcher's own), so
 * one batch runs at a time on the batcher's context. A seat is expected
 * while its element is PLAYING and not at EOS: nothing waits for a stream
 * that left or ended, nor for one prerolling (in PAUSED its thread is held
 * by the sink until the whole pipeline has prerolled, so waiting for its
 * next frame would only wait out the timeout). Each element sends one frame at a
 * time, so a batch never holds two frames of one stream, and each frame's
 * detections go to the thread that sent it: nothing is dropped or
 * reordered. */
#include "gstipgnetbatcher.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_ipg_net_batcher_debug);
#define GST_CAT_DEFAULT gst_ipg_net_batcher_debug

typedef struct _GstIpgNetBatcher GstIpgNetBatcher;

/* A frame waiting for its batch, on its sender's stack. */
typedef struct
{
  const ipg_frame_t *frame;
  ipg_detection_t *dets;
  gint32 max_dets;
  gint32 n_dets;
  guint batch_n;
  ipg_status_t status;
  gchar *error;
  gboolean done;
} BatchRequest;

struct _GstIpgNetBatcher
{
  gchar *key;
  ipg_engine_t *engine;
  ipg_ctx_t *ctx; /* batch_frames = batch_size, prepared */
  guint batch_size;
  gint64 timeout_us;
  guint seats; /* under the registry lock */

  GMutex lock;
  GCond cond;
  GPtrArray *pending; /* BatchRequest *, oldest first */
  gint64 deadline;    /* when pending's oldest stops waiting */
  gboolean running;   /* a thread runs a batch on ctx */
  guint expected;     /* seats active and playing: a batch waits for them */
  guint64 batches, frames;
};

struct _GstIpgNetBatchSeat
{
  GstIpgNetBatcher *batcher;
  gboolean active;  /* not at EOS; under batcher->lock */
  gboolean playing; /* its element is PLAYING; under batcher->lock */
};

/* Sets a seat's state, keeping the batcher's count of expected seats;
 * wakes the waiting threads when that count changes (a waiting batch may
 * be complete now). Called with the batcher's lock. */
static void
seat_set_locked (GstIpgNetBatchSeat *seat, gboolean active, gboolean playing)
{
  GstIpgNetBatcher *b = seat->batcher;
  gboolean was = seat->active && seat->playing, is = active && playing;

  seat->active = active;
  seat->playing = playing;
  if (was == is)
    return;
  if (is)
    b->expected++;
  else
    b->expected--;
  g_cond_broadcast (&b->cond);
}

static GMutex registry_lock;
static GHashTable *registry; /* key -> GstIpgNetBatcher */

/* Everything that must agree for frames to share a batch. */
static gchar *
shape_key (const gchar *instance_id, const GstIpgNetBatchShape *s)
{
  const ipg_ctx_params_t *p = &s->params;

  return g_strdup_printf ("%s|%dx%d fmt %d yuv %d/%d|input %dx%d|score %a "
                          "iou %a max %d|classes %s|batch %u timeout %u",
      instance_id, s->width, s->height, (gint) s->format, (gint) s->matrix,
      s->full_range, p->input_width, p->input_height,
      (double) p->score_threshold, (double) p->nms_threshold, p->max_detections,
      p->classes ? p->classes : "", s->batch_size, s->timeout_ms);
}

static void
batcher_free (GstIpgNetBatcher *b)
{
  ipg_ctx_free (b->ctx);
  ipg_engine_unref (b->engine);
  g_ptr_array_unref (b->pending);
  g_mutex_clear (&b->lock);
  g_cond_clear (&b->cond);
  g_free (b->key);
  g_free (b);
}

static GstIpgNetBatcher *
batcher_new (gchar *key, ipg_engine_t *engine, const GstIpgNetBatchShape *shape,
    ipg_status_t *status, gchar **error)
{
  GstIpgNetBatcher *b = g_new0 (GstIpgNetBatcher, 1);
  ipg_ctx_params_t params = shape->params;
  gchar err[1024] = "";
  ipg_status_t st;

  b->key = key;
  b->engine = ipg_engine_ref (engine);
  b->batch_size = shape->batch_size;
  b->timeout_us = (gint64) shape->timeout_ms * 1000;
  b->pending = g_ptr_array_new ();
  g_mutex_init (&b->lock);
  g_cond_init (&b->cond);
  params.batch_frames = (gint32) shape->batch_size;
  st = ipg_ctx_init_shared (engine, &params, &b->ctx, err, sizeof err);
  if (st == IPG_OK) {
    st = ipg_ctx_prepare_yuv (b->ctx, shape->width, shape->height,
        shape->format, shape->matrix, shape->full_range);
    if (st != IPG_OK)
      g_strlcpy (err, ipg_ctx_last_error (b->ctx), sizeof err);
  }
  if (st != IPG_OK) {
    *status = st;
    *error = g_strdup (err);
    batcher_free (b);
    return NULL;
  }
  GST_INFO ("batcher %s: %s", b->key, ipg_ctx_device_name (b->ctx));
  return b;
}

GstIpgNetBatchSeat *
gst_ipg_net_batcher_join (const gchar *instance_id, ipg_engine_t *engine,
    const GstIpgNetBatchShape *shape, gboolean playing, ipg_status_t *status,
    gchar **error)
{
  gchar *key = shape_key (instance_id, shape);
  GstIpgNetBatcher *b;
  GstIpgNetBatchSeat *seat;

  g_mutex_lock (&registry_lock);
  if (registry == NULL) {
    GST_DEBUG_CATEGORY_INIT (gst_ipg_net_batcher_debug, "ipgnetbatcher", 0,
        "ipgnetdetect's cross-stream batching");
    registry = g_hash_table_new (g_str_hash, g_str_equal);
  }
  b = g_hash_table_lookup (registry, key);
  if (b != NULL) {
    g_free (key);
  } else {
    b = batcher_new (key, engine, shape, status, error);
    if (b == NULL) {
      g_mutex_unlock (&registry_lock);
      return NULL;
    }
    g_hash_table_insert (registry, b->key, b);
  }
  b->seats++;
  seat = g_new0 (GstIpgNetBatchSeat, 1);
  seat->batcher = b;
  g_mutex_lock (&b->lock);
  seat_set_locked (seat, TRUE, playing);
  g_mutex_unlock (&b->lock);
  g_mutex_unlock (&registry_lock);
  return seat;
}

void
gst_ipg_net_batcher_set_active (GstIpgNetBatchSeat *seat, gboolean active)
{
  GstIpgNetBatcher *b;

  if (seat == NULL)
    return;
  b = seat->batcher;
  g_mutex_lock (&b->lock);
  seat_set_locked (seat, active, seat->playing);
  g_mutex_unlock (&b->lock);
}

void
gst_ipg_net_batcher_set_playing (GstIpgNetBatchSeat *seat, gboolean playing)
{
  GstIpgNetBatcher *b;

  if (seat == NULL)
    return;
  b = seat->batcher;
  g_mutex_lock (&b->lock);
  seat_set_locked (seat, seat->active, playing);
  g_mutex_unlock (&b->lock);
}

void
gst_ipg_net_batcher_leave (GstIpgNetBatchSeat *seat)
{
  GstIpgNetBatcher *b;

  if (seat == NULL)
    return;
  b = seat->batcher;
  gst_ipg_net_batcher_set_active (seat, FALSE);
  g_free (seat);
  g_mutex_lock (&registry_lock);
  if (--b->seats > 0) {
    g_mutex_unlock (&registry_lock);
    return;
  }
  g_hash_table_remove (registry, b->key);
  if (g_hash_table_size (registry) == 0)
    g_clear_pointer (&registry, g_hash_table_unref);
  g_mutex_unlock (&registry_lock);
  GST_INFO ("batcher %s: %" G_GUINT64_FORMAT " frames in %" G_GUINT64_FORMAT
            " batches",
      b->key, b->frames, b->batches);
  batcher_free (b);
}

/* Runs the oldest waiting frames (at most batch_size) as one batch. Called
 * and returns with b->lock held; drops it while the batch runs. */
static void
run_batch_locked (GstIpgNetBatcher *b)
{
  ipg_batch_item_t items[IPG_MAX_BATCH_FRAMES];
  BatchRequest *batch[IPG_MAX_BATCH_FRAMES];
  guint k, n = MIN (b->pending->len, b->batch_size);
  ipg_status_t st;
  const gchar *err;

  for (k = 0; k < n; k++) {
    batch[k] = g_ptr_array_index (b->pending, k);
    items[k] = (ipg_batch_item_t){ .frame = batch[k]->frame,
      .dets = batch[k]->dets,
      .max_dets = batch[k]->max_dets };
  }
  g_ptr_array_remove_range (b->pending, 0, n);
  /* Frames left behind have waited already: they go next. */
  b->deadline = g_get_monotonic_time ();
  b->running = TRUE;
  g_mutex_unlock (&b->lock);

  st = ipg_ctx_run_batch (b->ctx, items, (gint32) n);
  err = ipg_ctx_last_error (b->ctx);
  GST_LOG ("batcher %s: ran %u frames: %s", b->key, n, ipg_status_name (st));

  g_mutex_lock (&b->lock);
  for (k = 0; k < n; k++) {
    batch[k]->n_dets = items[k].n_dets;
    batch[k]->batch_n = n;
    batch[k]->status = st;
    if (st != IPG_OK)
      batch[k]->error = g_strdup (err);
    batch[k]->done = TRUE;
  }
  b->batches++;
  b->frames += n;
  b->running = FALSE;
  g_cond_broadcast (&b->cond);
}

ipg_status_t
gst_ipg_net_batcher_infer (GstIpgNetBatchSeat *seat, const ipg_frame_t *frame,
    ipg_detection_t *dets, gint32 max_dets, gint32 *n_dets, guint *batch_n,
    gchar **error)
{
  GstIpgNetBatcher *b = seat->batcher;
  BatchRequest r = { .frame = frame, .dets = dets, .max_dets = max_dets };

  g_mutex_lock (&b->lock);
  seat_set_locked (seat, TRUE, seat->playing);
  if (b->pending->len == 0)
    b->deadline = g_get_monotonic_time () + b->timeout_us;
  g_ptr_array_add (b->pending, &r);
  g_cond_broadcast (&b->cond);
  while (!r.done) {
    guint want = MIN (b->batch_size, MAX (b->expected, 1));
    gboolean full = b->pending->len >= want;

    if (!b->running && b->pending->len > 0 &&
        (full || g_get_monotonic_time () >= b->deadline)) {
      run_batch_locked (b);
    } else if (b->running || full || b->pending->len == 0) {
      g_cond_wait (&b->cond, &b->lock);
    } else {
      g_cond_wait_until (&b->cond, &b->lock, b->deadline);
    }
  }
  g_mutex_unlock (&b->lock);
  *n_dets = r.n_dets;
  *batch_n = r.batch_n;
  *error = r.error;
  return r.status;
}
