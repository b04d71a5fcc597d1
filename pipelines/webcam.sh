#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A webcam -> detect -> overlay -> a window.
# Usage: webcam.sh [DEVICE] [MODEL]     DEVICE default: /dev/video0
set -euo pipefail
source "$(dirname "$0")/common.sh"
device=${1:-/dev/video0}
model=$(default_model "${2:-}")
[ -e "$device" ] || { echo "webcam.sh: no such camera: $device" >&2; exit 2; }

gst-launch-1.0 \
  v4l2src device="$device" ! videoconvert ! \
  ipgnetdetect model="$model" ! \
  ipgnetoverlay ! videoconvert ! autovideosink sync=false
