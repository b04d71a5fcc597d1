#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A recorded file -> detect -> one gvametaconvert JSON message per frame to
# an MQTT broker (ipgnetpublish), optionally also as JSON Lines in a file.
# Usage: publish.sh [INPUT] [MODEL] [ADDRESS] [TOPIC] [OUT.jsonl]
#   INPUT    default: opencv-doc's vtest.avi (apt-get install opencv-doc)
#   ADDRESS  the broker, host:port, default localhost:1883 (Debian: mosquitto)
#   TOPIC    default ipgnet/detections
#   OUT.jsonl  also write the messages here, one line each (default: none)
#   IPGNET_THRESHOLD (environment): the score threshold, default 0.5
#   IPGNET_PUBLISH_OPTS (environment): more ipgnetpublish properties, e.g.
#     "qos=2 username=cam password-file=pw.txt tls-ca-file=ca.crt"
# Frames without objects are published too (add-empty-results), with the
# input's path as "source". Exits non-zero if the broker cannot be reached.
set -euo pipefail
source "$(dirname "$0")/common.sh"
input=${1:-/usr/share/doc/opencv-doc/examples/data/vtest.avi}
model=$(default_model "${2:-}")
address=${3:-localhost:1883}
topic=${4:-ipgnet/detections}
json=${5:-}
[ -f "$input" ] || { echo "publish.sh: no such input: $input" >&2; exit 2; }

tojson=()
if [ -n "$json" ]; then
  tojson=(ipgnetjson location="$json" add-empty-results=true source="$input" !)
fi
read -r -a opts <<< "${IPGNET_PUBLISH_OPTS:-}"
gst-launch-1.0 -e \
  filesrc location="$input" ! decodebin ! videoconvert ! \
  ipgnetdetect model="$model" threshold="${IPGNET_THRESHOLD:-0.5}" ! \
  "${tojson[@]}" \
  ipgnetpublish address="$address" topic="$topic" add-empty-results=true \
    source="$input" "${opts[@]}" ! \
  fakesink
echo "published $input's detections to $address, topic $topic"
