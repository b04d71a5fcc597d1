#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# realtime-cycles.sh: 200 start/stop cycles of ipgnetdetect in flight (a live
# pipeline taken PLAYING -> NULL mid-inference, and flushing seeks into a
# realtime element), under the leaks tracer: the long version of
# test_state_changes_in_flight in tests/gst/test-ipgnetdetect-realtime.c.
# Usage: tools/realtime-cycles.sh [build-dir] [cycles]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
cycles=${2:-200}
test_bin=$build/tests/gst/test-ipgnetdetect-realtime
[ -x "$test_bin" ] || { echo "no $test_bin: build first (ninja -C $build)"; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if GST_PLUGIN_PATH_1_0=$build/gst GST_REGISTRY=$build/registry-cycles.bin \
    GST_TRACERS=leaks GST_DEBUG=GST_TRACER:7 CK_DEFAULT_TIMEOUT=3600 \
    GST_CHECKS=test_state_changes_in_flight IPGNET_RT_CYCLES=$cycles \
    IPGNET_TEST_MODEL=$root/tests/data/tiny-r18.safetensors \
    "$test_bin" >"$log" 2>&1; then
  status=0
else
  status=1
fi
grep -v "GST_TRACER" "$log" | tail -n 5
leaks=$(grep -c "object-alive, type-name=(string)[^%]" "$log" || true)
echo "$cycles cycles: exit status $status, $leaks objects alive at exit"
[ "$status" -eq 0 ] && [ "$leaks" -eq 0 ]
