#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A recorded file -> detect -> overlay -> H.264 MP4, plus one JSON line per
# frame. Every frame of the input comes out, annotated.
# Usage: detect-file.sh [INPUT] [MODEL] [OUT.mp4] [OUT.jsonl]
#   INPUT  default: opencv-doc's vtest.avi (apt-get install opencv-doc)
#   IPGNET_THRESHOLD (environment): the score threshold, default 0.5
set -euo pipefail
source "$(dirname "$0")/common.sh"
input=${1:-/usr/share/doc/opencv-doc/examples/data/vtest.avi}
model=$(default_model "${2:-}")
out=${3:-detections.mp4}
json=${4:-${out%.mp4}.jsonl}
[ -f "$input" ] || { echo "detect-file.sh: no such input: $input" >&2; exit 2; }

gst-launch-1.0 -e \
  filesrc location="$input" ! decodebin ! videoconvert ! \
  ipgnetdetect model="$model" threshold="${IPGNET_THRESHOLD:-0.5}" ! \
  ipgnetjson location="$json" add-empty-results=true ! \
  ipgnetoverlay ! videoconvert ! \
  x264enc speed-preset=veryfast tune=zerolatency ! h264parse ! mp4mux ! \
  filesink location="$out"
echo "wrote $out and $json"
