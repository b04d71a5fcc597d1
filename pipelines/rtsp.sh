#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An RTSP camera -> detect -> overlay -> a window, or an MP4 file when OUT is
# given (runs to the end of the stream).
# Usage: rtsp.sh URL [MODEL] [OUT.mp4]
set -euo pipefail
source "$(dirname "$0")/common.sh"
url=${1:?usage: rtsp.sh URL [MODEL] [OUT.mp4]}
model=$(default_model "${2:-}")
out=${3:-}

if [ -n "$out" ]; then
  sink="x264enc speed-preset=veryfast tune=zerolatency ! h264parse ! mp4mux ! filesink location=$out"
else
  sink="autovideosink sync=false"
fi
# shellcheck disable=SC2086
gst-launch-1.0 -e \
  rtspsrc location="$url" latency=200 ! decodebin ! videoconvert ! \
  ipgnetdetect model="$model" ! \
  ipgnetoverlay ! videoconvert ! $sink
