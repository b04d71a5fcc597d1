/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetjsonwriter.h: a frame's regions of interest as the JSON message
 * DL Streamer's gvametaconvert (format=json, json-indent=-1) writes for it.
 * The one writer behind ipgnetjson and ipgnetpublish. */
#ifndef __GST_IPG_NET_JSON_WRITER_H__
#define __GST_IPG_NET_JSON_WRITER_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* What gvametaconvert takes from its properties. */
typedef struct
{
  const gchar *source;        /* "source" string, NULL: none */
  const gchar *tags;          /* "tags", a JSON text; NULL or invalid: none */
  gboolean add_empty_results; /* write frames without objects */
} GstIpgNetJsonOptions;

/* Appends the message for @buf (one line, no newline) to @out and returns
 * TRUE, or returns FALSE and leaves @out alone when the frame has no object
 * and add_empty_results is FALSE. @segment converts the PTS to the stream
 * time written as "timestamp" (absent without a PTS). */
gboolean gst_ipg_net_json_write_frame (GString *out, GstBuffer *buf,
    const GstSegment *segment, gint width, gint height,
    const GstIpgNetJsonOptions *opts);

/* TRUE when @text is JSON that gvametaconvert would write as "tags". */
gboolean gst_ipg_net_json_tags_valid (const gchar *text);

G_END_DECLS

#endif /* __GST_IPG_NET_JSON_WRITER_H__ */
