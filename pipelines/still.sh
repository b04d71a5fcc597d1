#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One frame of a video as a JPEG (e.g. a still of detect-file.sh's output).
# Usage: still.sh VIDEO FRAME_INDEX OUT.jpg
#   FRAME_INDEX  0-based; the video is decoded up to that frame only.
set -euo pipefail
video=${1:?usage: still.sh VIDEO FRAME_INDEX OUT.jpg}
index=${2:?usage: still.sh VIDEO FRAME_INDEX OUT.jpg}
out=${3:?usage: still.sh VIDEO FRAME_INDEX OUT.jpg}
[ -f "$video" ] || { echo "still.sh: no such video: $video" >&2; exit 2; }
case $index in ''|*[!0-9]*) echo "still.sh: FRAME_INDEX must be a number, got '$index'" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# identity's eos-after stops decoding shortly after the frame (a threaded
# decoder may push a few more); multifilesink names the files by frame index.
gst-launch-1.0 -q filesrc location="$video" ! decodebin ! videoconvert ! \
  identity eos-after=$((index + 2)) ! jpegenc quality=90 ! \
  multifilesink location="$tmp/frame-%05d.jpg" >/dev/null
want=$tmp/frame-$(printf %05d "$index").jpg
if [ ! -f "$want" ]; then
  last=$(ls "$tmp"/frame-*.jpg 2>/dev/null | tail -n 1)
  n=0; [ -n "$last" ] && { n=$(basename "$last" .jpg); n=$((10#${n#frame-} + 1)); }
  echo "still.sh: $video has only $n frames (asked for frame $index)" >&2
  exit 1
fi
cp "$want" "$out"
echo "wrote $out (frame $index of $video)"
