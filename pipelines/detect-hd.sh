#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Small objects in HD video: a 1080p clip of moving digits (26 px tall at the
# median; `ipgnet synth-video --size 1920x1080`) through ipgnetdetect with
# tiled inference (tile-size=512x512: 15 tiles + the full frame per frame),
# then the overlay -> H.264 MP4 + JSON Lines, a still of frame 20, and the
# precision and recall against the clip's ground truth. With TILE=off the
# same clip runs untiled (the frame shrinks to the model's 512x512), for
# comparison.
# Usage: detect-hd.sh [MODEL] [OUTDIR]
#   TILE (environment): tile size, default 512x512; "off" for no tiling
#   FRAMES (environment): clip length, default 40
#   IPGNET_THRESHOLD (environment): the score threshold, default 0.5
set -euo pipefail
source "$(dirname "$0")/common.sh"
model=$(default_model "${1:-}")
outdir=${2:-$root/build/hd}
tile=${TILE:-512x512}
frames=${FRAMES:-40}
threshold=${IPGNET_THRESHOLD:-0.5}
mkdir -p "$outdir"
clip=$outdir/clip-1080p-$frames.mp4
[ -f "$clip" ] || PYTHONPATH="$root/tools" /usr/bin/python3 -m ipgnet synth-video --out "$clip" --seed 1 \
  --frames "$frames" --size 1920x1080 --objects 20

name=tiled-$tile
tiling="tile-size=$tile"
if [ "$tile" = off ]; then name=untiled; tiling=""; fi
out=$outdir/$name.mp4
json=$outdir/$name.jsonl
# shellcheck disable=SC2086  # $tiling is one property or nothing
gst-launch-1.0 -e -q \
  filesrc location="$clip" ! decodebin ! videoconvert ! \
  ipgnetdetect model="$model" threshold="$threshold" $tiling ! \
  ipgnetjson location="$json" add-empty-results=true ! \
  ipgnetoverlay ! videoconvert ! \
  x264enc speed-preset=veryfast tune=zerolatency ! h264parse ! mp4mux ! \
  filesink location="$out"
echo "wrote $out and $json"
"$root/pipelines/still.sh" "$out" 20 "$outdir/$name-still.jpg"
/usr/bin/python3 "$root/tools/score_video.py" "$json" "${clip%.mp4}.gt.jsonl" "$threshold"
