#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Headless throughput: N frames of videotestsrc through ipgnetdetect into
# fakesink, as fast as they go; prints frames per second.
# Usage: throughput.sh [MODEL] [N] [WxH] [DEVICE]
set -euo pipefail
source "$(dirname "$0")/common.sh"
model=$(default_model "${1:-}")
n=${2:-100}
size=${3:-640x480}
device=${4:-auto}
w=${size%x*}
h=${size#*x}

start=$(date +%s.%N)
gst-launch-1.0 -q \
  videotestsrc num-buffers="$n" pattern=ball ! video/x-raw,format=RGB,width="$w",height="$h" ! \
  ipgnetdetect model="$model" device="$device" ! fakesink sync=false
end=$(date +%s.%N)
python3 -c "import sys; n, t = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f'{n} frames {sys.argv[4]} in {t:.2f} s: fps={n / t:.2f}')" "$n" "$start" "$end" "$size"
