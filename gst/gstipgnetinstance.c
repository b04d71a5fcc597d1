/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gstipgnetinstance.c: model-instance-id -> one model and one engine,
 * shared by every ipgnetdetect naming that id in this process, freed with
 * the last element's stop(). The registry is a hash table under one mutex;
 * an instance is made under it, so two elements starting at once never load
 * the model twice. */
#include "gstipgnetinstance.h"

#include <string.h>

struct _GstIpgNetInstance
{
  gchar *id;
  gchar *model_path; /* canonical, as compared */
  gchar *device;     /* "auto" for NULL and "" */
  ipg_model_t *model;
  ipg_engine_t *engine;
  guint refs; /* under registry_lock */
};

static GMutex registry_lock;
static GHashTable *registry; /* id -> GstIpgNetInstance */

static gchar *
canonical_device (const gchar *device)
{
  return g_strdup (device && *device ? device : "auto");
}

static void
instance_free (GstIpgNetInstance *inst)
{
  g_clear_pointer (&inst->engine, ipg_engine_unref);
  g_clear_pointer (&inst->model, ipg_model_free);
  g_free (inst->id);
  g_free (inst->model_path);
  g_free (inst->device);
  g_free (inst);
}

GstIpgNetInstance *
gst_ipg_net_instance_acquire (const gchar *id, const gchar *model_path,
    const gchar *device, ipg_status_t *status, gchar **error)
{
  GstIpgNetInstance *inst;
  gchar *path, *dev;
  gchar err[1024] = "";
  ipg_status_t st;

  g_return_val_if_fail (id != NULL && *id != '\0', NULL);
  path = g_canonicalize_filename (model_path, NULL);
  dev = canonical_device (device);
  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    registry = g_hash_table_new (g_str_hash, g_str_equal);
  inst = g_hash_table_lookup (registry, id);
  if (inst != NULL) {
    if (strcmp (inst->model_path, path) != 0 ||
        strcmp (inst->device, dev) != 0) {
      *status = IPG_ERR_INVALID_ARG;
      *error = g_strdup_printf (
          "model-instance-id \"%s\" is already used "
          "with model %s on device %s; this element names model %s on "
          "device %s. Elements sharing an id must name the same model and "
          "device (or use another id).",
          id, inst->model_path, inst->device, path, dev);
      inst = NULL;
    } else {
      inst->refs++;
    }
    goto done;
  }

  inst = g_new0 (GstIpgNetInstance, 1);
  inst->id = g_strdup (id);
  inst->model_path = g_strdup (path);
  inst->device = g_strdup (dev);
  inst->refs = 1;
  st = ipg_model_load_file (model_path, &inst->model, err, sizeof err);
  /* The instance makes one engine from the model: its upload frees the
   * host weights conv by conv, so the two copies never coexist. */
  if (st == IPG_OK)
    ipg_model_release_weights_on_upload (inst->model);
  if (st == IPG_OK)
    st = ipg_engine_create (inst->model, strcmp (dev, "auto") == 0 ? NULL : dev,
        NULL, &inst->engine, err, sizeof err);
  /* The instance's one engine holds the weights on its device: the host
   * copy goes (the instance never makes another engine from the model). */
  if (st == IPG_OK)
    ipg_model_release_weights (inst->model);
  if (st != IPG_OK) {
    *status = st;
    *error = g_strdup (err);
    instance_free (inst);
    inst = NULL;
    goto done;
  }
  g_hash_table_insert (registry, inst->id, inst);

done:
  g_mutex_unlock (&registry_lock);
  g_free (path);
  g_free (dev);
  return inst;
}

void
gst_ipg_net_instance_release (GstIpgNetInstance *inst)
{
  if (inst == NULL)
    return;
  g_mutex_lock (&registry_lock);
  if (--inst->refs > 0) {
    g_mutex_unlock (&registry_lock);
    return;
  }
  g_hash_table_remove (registry, inst->id);
  if (g_hash_table_size (registry) == 0)
    g_clear_pointer (&registry, g_hash_table_unref);
  g_mutex_unlock (&registry_lock);
  instance_free (inst);
}

const gchar *
gst_ipg_net_instance_id (GstIpgNetInstance *inst)
{
  return inst->id;
}

const ipg_model_t *
gst_ipg_net_instance_model (GstIpgNetInstance *inst)
{
  return inst->model;
}

ipg_engine_t *
gst_ipg_net_instance_engine (GstIpgNetInstance *inst)
{
  return inst->engine;
}
