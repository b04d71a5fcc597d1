/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetpublish.c: publishes each frame's gvametaconvert JSON over MQTT. */

/**
 * SECTION:element-ipgnetpublish
 * @title: ipgnetpublish
 * @see_also: ipgnetjson
 *
 * Publishes the message ipgnetjson writes for each frame (the same writer,
 * gvametaconvert's JSON, without the newline) to an MQTT broker with
 * libmosquitto, and passes the buffer through untouched.
 *
 * The element connects when it starts: a broker that cannot be reached
 * (refused, unknown host, TLS failure) or that refuses the client (wrong
 * password) fails the start with an element error naming the address.
 * While playing, messages wait in a queue of at most
 * #GstIpgNetPublish:max-queued until the broker has them (QoS 0: written
 * to the socket; QoS 1 and 2: acknowledged). When the broker goes away
 * the pipeline keeps running: the element reconnects in the background
 * with a growing delay (0.25 s doubling up to 8 s) and then sends what was
 * queued, in order; messages the broker had not acknowledged are sent
 * again (at least once). A full queue drops its oldest message: the drops
 * are counted (#GstIpgNetPublish:dropped) and reported by warning messages
 * on the bus, one when an outage starts dropping and one with the count
 * when the broker is back. At EOS the element waits up to 10 s for the
 * queue to empty, then warns with the number left.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! videoconvert ! ipgnetdetect model=model.safetensors ! ipgnetpublish address=localhost:1883 topic=cameras/gate ! fakesink
 * ]|
 *
 * Since: 0.2
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>

#include <mosquitto.h>

#include "gstipgnetjsonwriter.h"
#include "gstipgnetpublish.h"

#define BACKOFF_MIN_US (250 * G_TIME_SPAN_MILLISECOND)
#define BACKOFF_MAX_US (8 * G_TIME_SPAN_SECOND)
#define CONNECT_TIMEOUT_US (10 * G_TIME_SPAN_SECOND)
#define EOS_TIMEOUT_US (10 * G_TIME_SPAN_SECOND)
#define KEEPALIVE_S 10

typedef struct
{
  GBytes *payload;
  gint mid; /* libmosquitto's id once handed over, else 0 */
} Message;

struct _GstIpgNetPublish
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *address, *topic, *client_id, *username, *password_file;
  gchar *tls_ca_file, *tls_cert_file, *tls_key_file, *source, *tags;
  gint qos;
  guint max_queued;
  gboolean add_empty_results;

  gint width, height;
  GString *line;

  /* between start() and stop(); the queue and flags under lock */
  GMutex lock;
  GCond cond;
  GQueue queue; /* of Message, oldest first */
  guint64 dropped, dropped_outage;
  gboolean connected, stopping;
  gint connack; /* -1 until the broker answered */
  GThread *worker;
  struct mosquitto *mosq; /* the worker's, after start() */
  gchar *host;
  gint port;
};

GST_DEBUG_CATEGORY_STATIC (gst_ipg_net_publish_debug);
#define GST_CAT_DEFAULT gst_ipg_net_publish_debug

enum
{
  PROP_0,
  PROP_ADDRESS,
  PROP_TOPIC,
  PROP_CLIENT_ID,
  PROP_QOS,
  PROP_USERNAME,
  PROP_PASSWORD_FILE,
  PROP_TLS_CA_FILE,
  PROP_TLS_CERT_FILE,
  PROP_TLS_KEY_FILE,
  PROP_MAX_QUEUED,
  PROP_ADD_EMPTY_RESULTS,
  PROP_SOURCE,
  PROP_TAGS,
  PROP_DROPPED,
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

G_DEFINE_TYPE (GstIpgNetPublish, gst_ipg_net_publish, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (ipgnetpublish, "ipgnetpublish", GST_RANK_NONE,
    GST_TYPE_IPG_NET_PUBLISH);

static void
message_free (gpointer p)
{
  Message *m = p;

  g_bytes_unref (m->payload);
  g_free (m);
}

static void
gst_ipg_net_publish_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstIpgNetPublish *self = GST_IPG_NET_PUBLISH (object);
  gchar **str = NULL;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ADDRESS:
      str = &self->address;
      break;
    case PROP_TOPIC:
      str = &self->topic;
      break;
    case PROP_CLIENT_ID:
      str = &self->client_id;
      break;
    case PROP_USERNAME:
      str = &self->username;
      break;
    case PROP_PASSWORD_FILE:
      str = &self->password_file;
      break;
    case PROP_TLS_CA_FILE:
      str = &self->tls_ca_file;
      break;
    case PROP_TLS_CERT_FILE:
      str = &self->tls_cert_file;
      break;
    case PROP_TLS_KEY_FILE:
      str = &self->tls_key_file;
      break;
    case PROP_SOURCE:
      str = &self->source;
      break;
    case PROP_TAGS: {
      const gchar *tags = g_value_get_string (value);

      if (tags != NULL && !gst_ipg_net_json_tags_valid (tags)) {
        g_warning ("ipgnetpublish: tags \"%s\" are not JSON text; no tags "
                   "are written.",
            tags);
        g_clear_pointer (&self->tags, g_free);
      } else {
        str = &self->tags;
      }
      break;
    }
    case PROP_QOS:
      self->qos = g_value_get_int (value);
      break;
    case PROP_MAX_QUEUED:
      self->max_queued = g_value_get_uint (value);
      break;
    case PROP_ADD_EMPTY_RESULTS:
      self->add_empty_results = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  if (str != NULL) {
    g_free (*str);
    *str = g_value_dup_string (value);
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ipg_net_publish_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstIpgNetPublish *self = GST_IPG_NET_PUBLISH (object);

  if (prop_id == PROP_DROPPED) {
    g_mutex_lock (&self->lock);
    g_value_set_uint64 (value, self->dropped);
    g_mutex_unlock (&self->lock);
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_TOPIC:
      g_value_set_string (value, self->topic);
      break;
    case PROP_CLIENT_ID:
      g_value_set_string (value, self->client_id);
      break;
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    case PROP_PASSWORD_FILE:
      g_value_set_string (value, self->password_file);
      break;
    case PROP_TLS_CA_FILE:
      g_value_set_string (value, self->tls_ca_file);
      break;
    case PROP_TLS_CERT_FILE:
      g_value_set_string (value, self->tls_cert_file);
      break;
    case PROP_TLS_KEY_FILE:
      g_value_set_string (value, self->tls_key_file);
      break;
    case PROP_SOURCE:
      g_value_set_string (value, self->source);
      break;
    case PROP_TAGS:
      g_value_set_string (value, self->tags);
      break;
    case PROP_QOS:
      g_value_set_int (value, self->qos);
      break;
    case PROP_MAX_QUEUED:
      g_value_set_uint (value, self->max_queued);
      break;
    case PROP_ADD_EMPTY_RESULTS:
      g_value_set_boolean (value, self->add_empty_results);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ---- libmosquitto callbacks (the worker's thread, or start()'s) -------- */

static void
on_connect (struct mosquitto *mosq, void *ud, int rc)
{
  GstIpgNetPublish *self = ud;

  g_mutex_lock (&self->lock);
  self->connack = rc;
  self->connected = rc == 0;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static void
on_disconnect (struct mosquitto *mosq, void *ud, int rc)
{
  GstIpgNetPublish *self = ud;

  g_mutex_lock (&self->lock);
  self->connected = FALSE;
  g_mutex_unlock (&self->lock);
}

/* QoS 0: written; QoS 1 and 2: acknowledged. Messages are handed over in
 * order, so the one done is normally the oldest. */
static void
on_publish (struct mosquitto *mosq, void *ud, int mid)
{
  GstIpgNetPublish *self = ud;
  GList *l;

  g_mutex_lock (&self->lock);
  for (l = self->queue.head; l != NULL; l = l->next) {
    Message *m = l->data;

    if (m->mid == mid) {
      g_queue_delete_link (&self->queue, l);
      message_free (m);
      break;
    }
  }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* ---- connecting -------------------------------------------------------- */

/* @text without a final period, to sit inside our sentences
 * (libmosquitto's descriptions end with one). */
static gchar *
without_period (const gchar *text)
{
  gchar *d = g_strdup (text);
  gsize n = strlen (d);

  if (n > 0 && d[n - 1] == '.')
    d[n - 1] = '\0';
  return d;
}

/* libmosquitto's description of @rc (errno's for MOSQ_ERR_ERRNO). Call
 * right after the failing call, before errno changes. */
static gchar *
describe_rc (int rc)
{
  return without_period (
      rc == MOSQ_ERR_ERRNO ? g_strerror (errno) : mosquitto_strerror (rc));
}

static gboolean
parse_address (const gchar *address, gchar **host, gint *port)
{
  const gchar *colon = address != NULL ? strrchr (address, ':') : NULL;
  gchar *end;
  glong p;

  if (address == NULL || colon == NULL || colon == address)
    return FALSE;
  p = strtol (colon + 1, &end, 10);
  if (*end != '\0' || end == colon + 1 || p < 1 || p > 65535)
    return FALSE;
  *host = g_strndup (address, colon - address);
  *port = (gint) p;
  return TRUE;
}

/* A new client with the properties' identity and TLS, or NULL with a
 * sentence in @err. */
static struct mosquitto *
client_new (GstIpgNetPublish *self, gchar **err)
{
  struct mosquitto *mosq;
  gchar *password = NULL;
  int rc;

  GST_OBJECT_LOCK (self);
  mosq = mosquitto_new (self->client_id, TRUE, self);
  if (mosq == NULL) {
    *err = g_strdup_printf ("Could not create an MQTT client: %s.",
        g_strerror (errno));
    goto out;
  }
  mosquitto_int_option (mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  /* The queue is ours: libmosquitto may have every message in flight. */
  mosquitto_max_inflight_messages_set (mosq, 0);
  if (self->password_file != NULL) {
    GError *error = NULL;

    if (!g_file_get_contents (self->password_file, &password, NULL, &error)) {
      *err = g_strdup_printf ("Could not read the password file: %s.",
          error->message);
      g_error_free (error);
      goto fail;
    }
    g_strchomp (password);
  }
  if (self->username != NULL || password != NULL) {
    rc = mosquitto_username_pw_set (mosq, self->username, password);
    if (rc != MOSQ_ERR_SUCCESS) {
      gchar *why = describe_rc (rc);

      *err = g_strdup_printf ("Could not set the MQTT user name and "
                              "password: %s.",
          why);
      g_free (why);
      goto fail;
    }
  }
  if (self->tls_ca_file != NULL) {
    rc = mosquitto_tls_set (mosq, self->tls_ca_file, NULL, self->tls_cert_file,
        self->tls_key_file, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
      gchar *why = describe_rc (rc);

      *err = g_strdup_printf ("Could not use the TLS files (CA \"%s\", "
                              "certificate \"%s\", key \"%s\"): %s.",
          self->tls_ca_file, GST_STR_NULL (self->tls_cert_file),
          GST_STR_NULL (self->tls_key_file), why);
      g_free (why);
      goto fail;
    }
  } else if (self->tls_cert_file != NULL || self->tls_key_file != NULL) {
    *err = g_strdup ("A TLS client certificate or key needs tls-ca-file.");
    goto fail;
  }
  mosquitto_connect_callback_set (mosq, on_connect);
  mosquitto_disconnect_callback_set (mosq, on_disconnect);
  mosquitto_publish_callback_set (mosq, on_publish);
  goto out;

fail:
  mosquitto_destroy (mosq);
  mosq = NULL;
out:
  GST_OBJECT_UNLOCK (self);
  g_free (password);
  return mosq;
}

/* Connects and waits (bounded) for the broker's answer. On failure the
 * client is destroyed and @err says why. */
static struct mosquitto *
connect_client (GstIpgNetPublish *self, gchar **err)
{
  struct mosquitto *mosq = client_new (self, err);
  gint64 deadline = g_get_monotonic_time () + CONNECT_TIMEOUT_US;
  gchar *why;
  int rc;

  if (mosq == NULL)
    return NULL;
  g_mutex_lock (&self->lock);
  self->connack = -1;
  self->connected = FALSE;
  g_mutex_unlock (&self->lock);
  rc = mosquitto_connect (mosq, self->host, self->port, KEEPALIVE_S);
  for (;;) {
    gint connack;

    /* A refusal (wrong password) comes as a CONNACK code, and
     * mosquitto_loop() then also fails: the code says more. */
    g_mutex_lock (&self->lock);
    connack = self->connack;
    g_mutex_unlock (&self->lock);
    if (connack == 0)
      return mosq;
    if (connack > 0) {
      why = without_period (mosquitto_connack_string (connack));
      *err = g_strdup_printf ("The MQTT broker at %s:%d refused the "
                              "connection (%s).",
          self->host, self->port, why);
      g_free (why);
      mosquitto_destroy (mosq);
      return NULL;
    }
    if (rc != MOSQ_ERR_SUCCESS)
      break;
    if (g_get_monotonic_time () > deadline) {
      *err = g_strdup_printf ("The MQTT broker at %s:%d did not answer "
                              "within %d s.",
          self->host, self->port,
          (gint) (CONNECT_TIMEOUT_US / G_TIME_SPAN_SECOND));
      mosquitto_destroy (mosq);
      return NULL;
    }
    rc = mosquitto_loop (mosq, 100, 1);
  }
  why = describe_rc (rc);
  *err = g_strdup_printf ("Could not connect to the MQTT broker at %s:%d: "
                          "%s.",
      self->host, self->port, why);
  g_free (why);
  mosquitto_destroy (mosq);
  return NULL;
}

/* ---- the worker: sends, reconnects ------------------------------------- */

/* Hands the messages not yet handed over to libmosquitto, in order. */
static int
send_pending (GstIpgNetPublish *self, struct mosquitto *mosq, gint qos,
    const gchar *topic)
{
  GList *l;
  int rc = MOSQ_ERR_SUCCESS;

  g_mutex_lock (&self->lock);
  for (l = self->queue.head; l != NULL && rc == MOSQ_ERR_SUCCESS; l = l->next) {
    Message *m = l->data;
    gsize len;
    gconstpointer data;

    if (m->mid != 0)
      continue;
    data = g_bytes_get_data (m->payload, &len);
    rc = mosquitto_publish (mosq, &m->mid, topic, (int) len, data, qos, FALSE);
  }
  g_mutex_unlock (&self->lock);
  return rc;
}

static gpointer
worker (gpointer data)
{
  GstIpgNetPublish *self = data;
  struct mosquitto *mosq = self->mosq;
  gint64 backoff = BACKOFF_MIN_US;
  gchar *topic;
  gint qos;

  GST_OBJECT_LOCK (self);
  topic = g_strdup (self->topic);
  qos = self->qos;
  GST_OBJECT_UNLOCK (self);

  for (;;) {
    gboolean stopping, connected;
    int rc;

    g_mutex_lock (&self->lock);
    stopping = self->stopping;
    connected = self->connected;
    g_mutex_unlock (&self->lock);
    if (stopping)
      break;

    if (mosq == NULL) {
      gchar *err = NULL;
      guint64 dropped;

      mosq = connect_client (self, &err);
      if (mosq == NULL) {
        GST_INFO_OBJECT (self, "reconnecting in %" G_GINT64_FORMAT " ms: %s",
            backoff / 1000, err);
        g_free (err);
        g_mutex_lock (&self->lock);
        if (!self->stopping)
          g_cond_wait_until (&self->cond, &self->lock,
              g_get_monotonic_time () + backoff);
        g_mutex_unlock (&self->lock);
        backoff = MIN (backoff * 2, BACKOFF_MAX_US);
        continue;
      }
      backoff = BACKOFF_MIN_US;
      g_mutex_lock (&self->lock);
      dropped = self->dropped_outage;
      self->dropped_outage = 0;
      g_mutex_unlock (&self->lock);
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Reconnected to the MQTT broker at %s:%d; %" G_GUINT64_FORMAT
           " messages were dropped while it was away.",
              self->host, self->port, dropped),
          (NULL));
      continue;
    }

    rc = connected ? send_pending (self, mosq, qos, topic) : MOSQ_ERR_NO_CONN;
    if (rc == MOSQ_ERR_SUCCESS)
      rc = mosquitto_loop (mosq, 50, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      gchar *why = describe_rc (rc);
      GList *l;

      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Lost the MQTT broker at %s:%d (%s); reconnecting, messages are "
           "queued.",
              self->host, self->port, why),
          (NULL));
      g_free (why);
      /* A new client sends again what the broker did not acknowledge. */
      mosquitto_destroy (mosq);
      mosq = NULL;
      g_mutex_lock (&self->lock);
      self->connected = FALSE;
      for (l = self->queue.head; l != NULL; l = l->next)
        ((Message *) l->data)->mid = 0;
      g_mutex_unlock (&self->lock);
    }
  }

  if (mosq != NULL) {
    mosquitto_disconnect (mosq);
    mosquitto_loop (mosq, 50, 1);
    mosquitto_destroy (mosq);
  }
  g_free (topic);
  return NULL;
}

/* ---- element ----------------------------------------------------------- */

static gboolean
gst_ipg_net_publish_start (GstBaseTransform *trans)
{
  GstIpgNetPublish *self = GST_IPG_NET_PUBLISH (trans);
  gchar *address, *err = NULL;

  GST_OBJECT_LOCK (self);
  address = g_strdup (self->address);
  GST_OBJECT_UNLOCK (self);
  g_clear_pointer (&self->host, g_free);
  if (!parse_address (address, &self->host, &self->port)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid MQTT broker address \"%s\": expected host:port.",
            GST_STR_NULL (address)),
        (NULL));
    g_free (address);
    return FALSE;
  }
  g_free (address);

  self->dropped = self->dropped_outage = 0;
  self->stopping = FALSE;
  self->mosq = connect_client (self, &err);
  if (self->mosq == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("%s", err), (NULL));
    g_free (err);
    return FALSE;
  }
  if (self->line == NULL)
    self->line = g_string_sized_new (1024);
  self->width = self->height = 0;
  self->worker = g_thread_new ("ipgnetpublish", worker, self);
  return TRUE;
}

static gboolean
gst_ipg_net_publish_stop (GstBaseTransform *trans)
{
  GstIpgNetPublish *self = GST_IPG_NET_PUBLISH (trans);

  if (self->worker != NULL) {
    g_mutex_lock (&self->lock);
    self->stopping = TRUE;
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
    g_thread_join (self->worker);
    self->worker = NULL;
  }
  self->mosq = NULL;
  g_queue_clear_full (&self->queue, message_free);
  return TRUE;
}

static gboolean
gst_ipg_net_publish_set_caps (GstBaseTransform *trans, GstCaps *incaps,
    GstCaps *outcaps)
{
  GstIpgNetPublish *self = GST_IPG_NET_PUBLISH (trans);
  GstStructure *s = gst_caps_get_structure (incaps, 0);

  if (!gst_structure_get_int (s, "width", &self->width) ||
      !gst_structure_get_int (s, "height", &self->height) || self->width <= 0 ||
      self->height <= 0) {
    GST_ERROR_OBJECT (self,
        "caps without a valid width and height: %" GST_PTR_FORMAT, incaps);
    return FALSE;
  }
  return TRUE;
}

/* EOS waits, bounded, until the broker has every queued message. */
static gboolean
gst_ipg_net_publish_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstIpgNetPublish *self = GST_IPG_NET_PUBLISH (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->worker != NULL) {
    gint64 deadline = g_get_monotonic_time () + EOS_TIMEOUT_US;
    guint left;

    g_mutex_lock (&self->lock);
    while (self->queue.length > 0 &&
           g_cond_wait_until (&self->cond, &self->lock, deadline))
      ;
    left = self->queue.length;
    g_mutex_unlock (&self->lock);
    if (left > 0)
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("%u messages were not acknowledged by the MQTT broker at %s:%d "
           "within %d s of the end of the stream.",
              left, self->host, self->port,
              (gint) (EOS_TIMEOUT_US / G_TIME_SPAN_SECOND)),
          (NULL));
  }
  return GST_BASE_TRANSFORM_CLASS (gst_ipg_net_publish_parent_class)
      ->sink_event (trans, event);
}

static GstFlowReturn
gst_ipg_net_publish_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstIpgNetPublish *self = GST_IPG_NET_PUBLISH (trans);
  GstIpgNetJsonOptions opts;
  gboolean written, first_drop = FALSE;
  guint max_queued;
  Message *m;

  if (self->worker == NULL || self->width <= 0) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("buffer before caps or start"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  g_string_truncate (self->line, 0);
  GST_OBJECT_LOCK (self);
  opts.source = self->source;
  opts.tags = self->tags;
  opts.add_empty_results = self->add_empty_results;
  max_queued = self->max_queued;
  written = gst_ipg_net_json_write_frame (self->line, buf, &trans->segment,
      self->width, self->height, &opts);
  GST_OBJECT_UNLOCK (self);
  if (!written)
    return GST_FLOW_OK;

  m = g_new0 (Message, 1);
  m->payload = g_bytes_new (self->line->str, self->line->len);
  g_mutex_lock (&self->lock);
  /* Never block the pipeline: past max-queued the oldest goes. */
  while (self->queue.length >= max_queued) {
    message_free (g_queue_pop_head (&self->queue));
    first_drop |= self->dropped_outage == 0;
    self->dropped++;
    self->dropped_outage++;
  }
  g_queue_push_tail (&self->queue, m);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  if (first_drop)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("The MQTT broker at %s:%d is not taking messages and %u are "
         "queued: dropping the oldest.",
            self->host, self->port, max_queued),
        (NULL));
  return GST_FLOW_OK;
}

static void
gst_ipg_net_publish_finalize (GObject *object)
{
  GstIpgNetPublish *self = GST_IPG_NET_PUBLISH (object);

  g_free (self->address);
  g_free (self->topic);
  g_free (self->client_id);
  g_free (self->username);
  g_free (self->password_file);
  g_free (self->tls_ca_file);
  g_free (self->tls_cert_file);
  g_free (self->tls_key_file);
  g_free (self->source);
  g_free (self->tags);
  g_free (self->host);
  if (self->line != NULL)
    g_string_free (self->line, TRUE);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (gst_ipg_net_publish_parent_class)->finalize (object);
}

static void
install_string (GObjectClass *klass, guint id, const gchar *name,
    const gchar *blurb, const gchar *def)
{
  g_object_class_install_property (klass, id,
      g_param_spec_string (name, name, blurb, def,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
}

static void
gst_ipg_net_publish_class_init (GstIpgNetPublishClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_ipg_net_publish_debug, "ipgnetpublish", 0,
      "IPG-Net detections over MQTT");
  mosquitto_lib_init ();

  gobject_class->set_property = gst_ipg_net_publish_set_property;
  gobject_class->get_property = gst_ipg_net_publish_get_property;
  gobject_class->finalize = gst_ipg_net_publish_finalize;

  install_string (gobject_class, PROP_ADDRESS, "address",
      "MQTT broker as host:port", "localhost:1883");
  install_string (gobject_class, PROP_TOPIC, "topic",
      "MQTT topic the messages are published to", "ipgnet");
  install_string (gobject_class, PROP_CLIENT_ID, "client-id",
      "MQTT client id (NULL: a random one)", NULL);
  install_string (gobject_class, PROP_USERNAME, "username",
      "MQTT user name (NULL: none)", NULL);
  install_string (gobject_class, PROP_PASSWORD_FILE, "password-file",
      "File holding the MQTT password (trailing newline ignored)", NULL);
  install_string (gobject_class, PROP_TLS_CA_FILE, "tls-ca-file",
      "CA certificate (PEM) that signed the broker's: enables TLS", NULL);
  install_string (gobject_class, PROP_TLS_CERT_FILE, "tls-cert-file",
      "Client certificate (PEM) for TLS client authentication", NULL);
  install_string (gobject_class, PROP_TLS_KEY_FILE, "tls-key-file",
      "Client private key (PEM) of tls-cert-file", NULL);
  g_object_class_install_property (gobject_class, PROP_QOS,
      g_param_spec_int ("qos", "QoS", "MQTT quality of service (0, 1, 2)", 0, 2,
          1,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUED,
      g_param_spec_uint ("max-queued", "Max queued",
          "Messages held while the broker is away; past it the oldest are "
          "dropped",
          1, G_MAXINT, 1000,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ADD_EMPTY_RESULTS,
      g_param_spec_boolean ("add-empty-results", "Add empty results",
          "Also publish frames without objects", FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));
  install_string (gobject_class, PROP_SOURCE, "source",
      "Written as \"source\" in every message (NULL: none)", NULL);
  install_string (gobject_class, PROP_TAGS, "tags",
      "JSON written as \"tags\" in every message (NULL: none)", NULL);
  g_object_class_install_property (gobject_class, PROP_DROPPED,
      g_param_spec_uint64 ("dropped", "Dropped",
          "Messages dropped since the start because max-queued was reached", 0,
          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "IPG-Net MQTT publisher", "Filter/Video/Metadata",
      "Publishes the regions of interest of each frame as gvametaconvert "
      "JSON to an MQTT broker",
      "ipgnet");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ipg_net_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ipg_net_publish_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_ipg_net_publish_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_ipg_net_publish_sink_event);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_ipg_net_publish_transform_ip);
  trans_class->passthrough_on_same_caps = TRUE;
  trans_class->transform_ip_on_passthrough = TRUE;
}

static void
gst_ipg_net_publish_init (GstIpgNetPublish *self)
{
  self->address = g_strdup ("localhost:1883");
  self->topic = g_strdup ("ipgnet");
  self->qos = 1;
  self->max_queued = 1000;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->queue);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}
