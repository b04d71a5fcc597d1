#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# gst-inspect-1.0 loads ipgnetdetect from this build (GST_PLUGIN_PATH_1_0 set
# by meson) and lists every property.
# Usage: $0 [path/to/gst-inspect-1.0 [plugin directory it must come from]]
set -eu
inspect=${1:-gst-inspect-1.0}
out=$("$inspect" ipgnetdetect) || { echo "gst-inspect-1.0 ipgnetdetect failed" >&2; exit 1; }
if [ $# -ge 2 ] && ! printf '%s\n' "$out" | grep -q "Filename  *$2/"; then
  echo "ipgnetdetect is not loaded from $2" >&2
  exit 1
fi
for prop in model device threshold iou-threshold max-detections object-class \
    interval input-size post-messages tile-size tile-overlap tile-full-frame \
    tile-merge tile-match-metric tile-match-threshold max-tiles inference-mode \
    max-latency frames-inferred frames-skipped labels latency \
    model-instance-id batch-size batch-timeout frames-batched; do
  if ! printf '%s\n' "$out" | grep -q "^  $prop *: "; then
    echo "property $prop is not listed" >&2
    exit 1
  fi
done
printf '%s\n' "$out" | grep -q 'IPG-Net object detection' || {
  echo "long name missing" >&2; exit 1; }
# Issue 18: the project's name, no invented organisation or address.
printf '%s\n' "$out" | grep -q '^  Origin URL  *ipgnet$' || {
  echo "origin is not the project's name" >&2; exit 1; }
printf '%s\n' "$out" | grep -q '^  Author  *ipgnet$' || {
  echo "author is not the project's name" >&2; exit 1; }
echo "ipgnetdetect: all properties listed"
