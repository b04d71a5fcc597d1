#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A recorded file -> detect (every INTERVAL-th frame) -> track -> overlay ->
# H.264 MP4, plus one JSON line per frame with each object's "id". Frames the
# detector skips carry the tracker's predicted boxes ("tracked": true).
# Usage: track.sh [INPUT] [MODEL] [OUT.mp4] [OUT.jsonl]
#   INPUT  default: the sample video, build/demo/sample.mp4 (made on first
#          use by `ipgnet synth-video`)
#   IPGNET_INTERVAL (environment): infer every Nth frame, default 2
set -euo pipefail
source "$(dirname "$0")/common.sh"
input=${1:-$root/build/demo/sample.mp4}
model=$(default_model "${2:-}")
out=${3:-tracks.mp4}
json=${4:-${out%.mp4}.jsonl}
if [ ! -f "$input" ] && [ -z "${1:-}" ]; then
  mkdir -p "$(dirname "$input")"
  PYTHONPATH="$root/tools" /usr/bin/python3 -m ipgnet synth-video --out "$input" --frames 250 --size 640x360
fi
[ -f "$input" ] || { echo "track.sh: no such input: $input" >&2; exit 2; }

# threshold=0.1: ipgnettrack needs the weak detections (its low-thresh) to
# keep tracks alive through them (ByteTrack's second association).
gst-launch-1.0 -e \
  filesrc location="$input" ! decodebin ! videoconvert ! \
  ipgnetdetect model="$model" threshold=0.1 interval="${IPGNET_INTERVAL:-2}" ! \
  ipgnettrack ! \
  ipgnetjson location="$json" add-empty-results=true ! \
  ipgnetoverlay ! videoconvert ! \
  x264enc speed-preset=veryfast tune=zerolatency ! h264parse ! mp4mux ! \
  filesink location="$out"
echo "wrote $out and $json"
