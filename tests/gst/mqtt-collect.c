/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mqtt-collect.c: the subscriber of the ipgnetpublish tests (libmosquitto).
 * Usage: mqtt-collect PORT TOPIC CLIENT_ID COUNT SECONDS
 * Subscribes to TOPIC at QoS 1 on 127.0.0.1:PORT with a persistent session
 * (clean session off), prints each message's payload as one line on
 * stdout, and prints "ready" on stderr once subscribed. Unlike mosquitto_sub
 * it reconnects at once (every 0.1 s) when the broker goes away, so that a
 * restarted broker hands it the messages it kept for the session. Exits
 * after COUNT messages (0: no limit), on SIGINT or SIGTERM, or after SECONDS
 * (exit status 3), so a failed test never leaves it running. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

static volatile sig_atomic_t stop;
static const char *topic;
static long count, received;
static int subscribed;

static void
on_signal (int sig)
{
  (void) sig;
  stop = 1;
}

static void
on_connect (struct mosquitto *mosq, void *ud, int rc)
{
  (void) ud;
  if (rc != 0) {
    fprintf (stderr, "mqtt-collect: the broker refused the connection: %s\n",
        mosquitto_connack_string (rc));
    return;
  }
  /* The persistent session keeps the subscription; subscribing again after
   * a reconnect covers a broker that lost it. */
  rc = mosquitto_subscribe (mosq, NULL, topic, 1);
  if (rc != MOSQ_ERR_SUCCESS)
    fprintf (stderr, "mqtt-collect: could not subscribe to %s: %s\n", topic,
        mosquitto_strerror (rc));
}

static void
on_subscribe (struct mosquitto *mosq, void *ud, int mid, int n,
    const int *granted)
{
  (void) mosq;
  (void) ud;
  (void) mid;
  if (n < 1 || granted[0] > 2) {
    fprintf (stderr, "mqtt-collect: the broker refused the subscription\n");
    stop = 1;
    return;
  }
  if (!subscribed) {
    subscribed = 1;
    fprintf (stderr, "ready\n");
    fflush (stderr);
  }
}

static void
on_message (struct mosquitto *mosq, void *ud,
    const struct mosquitto_message *msg)
{
  (void) mosq;
  (void) ud;
  fwrite (msg->payload, 1, (size_t) msg->payloadlen, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
  if (count > 0 && ++received >= count)
    stop = 1;
}

int
main (int argc, char **argv)
{
  struct mosquitto *mosq;
  time_t deadline;
  int rc, status = 0;

  if (argc != 6) {
    fprintf (stderr,
        "usage: mqtt-collect PORT TOPIC CLIENT_ID COUNT SECONDS\n");
    return 2;
  }
  topic = argv[2];
  count = atol (argv[4]);
  deadline = time (NULL) + atol (argv[5]);
  signal (SIGINT, on_signal);
  signal (SIGTERM, on_signal);

  mosquitto_lib_init ();
  mosq = mosquitto_new (argv[3], false, NULL);
  if (mosq == NULL) {
    fprintf (stderr, "mqtt-collect: could not create a client\n");
    return 1;
  }
  mosquitto_connect_callback_set (mosq, on_connect);
  mosquitto_subscribe_callback_set (mosq, on_subscribe);
  mosquitto_message_callback_set (mosq, on_message);
  rc = mosquitto_connect (mosq, "127.0.0.1", atoi (argv[1]), 60);
  while (!stop) {
    if (time (NULL) > deadline) {
      fprintf (stderr,
          "mqtt-collect: time limit reached after %ld "
          "messages\n",
          received);
      status = 3;
      break;
    }
    if (rc == MOSQ_ERR_SUCCESS)
      rc = mosquitto_loop (mosq, 100, 1);
    if (rc != MOSQ_ERR_SUCCESS && !stop) {
      struct timespec pause = { 0, 100 * 1000 * 1000 };

      nanosleep (&pause, NULL);
      rc = mosquitto_reconnect (mosq);
    }
  }
  if (rc == MOSQ_ERR_SUCCESS) {
    mosquitto_disconnect (mosq);
    mosquitto_loop (mosq, 100, 1);
  }
  mosquitto_destroy (mosq);
  mosquitto_lib_cleanup ();
  return status;
}
