/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtsp-serve.c: serves one clip over RTSP on 127.0.0.1 for the pipeline
 * tests (gst-rtsp-server). Usage: rtsp-serve CLIP.mp4 PORT
 * Prints "ready" once listening; exits after 120 s at the latest, so a
 * failed test never leaves it running. */
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

static gboolean
give_up (gpointer loop)
{
  g_printerr ("rtsp-serve: time limit reached\n");
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  if (argc != 3) {
    g_printerr ("usage: rtsp-serve CLIP.mp4 PORT\n");
    return 2;
  }
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  GstRTSPServer *server = gst_rtsp_server_new ();
  gst_rtsp_server_set_address (server, "127.0.0.1");
  gst_rtsp_server_set_service (server, argv[2]);

  GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new ();
  gchar *launch =
      g_strdup_printf ("( filesrc location=\"%s\" ! qtdemux ! h264parse "
                       "! rtph264pay name=pay0 pt=96 )",
          argv[1]);
  gst_rtsp_media_factory_set_launch (factory, launch);
  g_free (launch);
  GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points (server);
  gst_rtsp_mount_points_add_factory (mounts, "/clip", factory);
  g_object_unref (mounts);

  if (gst_rtsp_server_attach (server, NULL) == 0) {
    g_printerr ("rtsp-serve: cannot listen on 127.0.0.1:%s\n", argv[2]);
    return 1;
  }
  g_print ("ready\n");
  g_timeout_add_seconds (120, give_up, loop);
  g_main_loop_run (loop);
  g_object_unref (server);
  g_main_loop_unref (loop);
  return 0;
}
