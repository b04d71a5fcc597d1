#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Long-run checks of the elements (issue 18), each in a process of its own
# under the leaks tracer (GST_TRACERS=leaks GST_DEBUG=GST_TRACER:7); a leak
# report fails the check like a wrong count or a hang (every wait has a
# timeout). The checks (tools/soak.py):
#   cycles   CYCLES NULL -> PLAYING -> NULL state cycles of one pipeline
#   frames   FRAMES frames through ipgnetdetect ! ipgnetjson ! ipgnetoverlay,
#            the caps (size and format) changing every CAPS_EVERY frames:
#            frames in = out = JSON lines, RSS at start vs end
#   seeks    SEEKS flushing seeks while ipgnetdetect is detecting
#   two      two pipelines at once on one model, TWO_FRAMES frames each
# Prints the figures of each check and "N passed, N failed". A count of 0
# skips that check (e.g. 0 10000 100 0 0 runs only the frames check).
# Usage: tools/soak.sh [BUILD_DIR [MODEL [CYCLES [FRAMES [CAPS_EVERY [SEEKS [TWO_FRAMES]]]]]]]
# Defaults: the full run, build, models/ipgnet-demo.safetensors, 1000 10000 100 40 1000.
# CI (tests/run-all.sh): tools/soak.sh build tests/data/tiny-r18.safetensors 100 1000 50 20 200
set -uo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
model=$(realpath "${2:-models/ipgnet-demo.safetensors}")
for n in "${@:3}"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "soak.sh: counts are whole numbers, got '$n'" >&2; exit 2; }
done
cycles=${3:-1000}
frames=${4:-10000}
caps_every=${5:-100}
seeks=${6:-40}
two_frames=${7:-1000}
[ "$frames" -eq 0 ] || [ "$caps_every" -gt 0 ] || { echo "soak.sh: CAPS_EVERY must be at least 1" >&2; exit 2; }

[ -f "$build/gst/libgstipgnet.so" ] || { echo "no plugin in $build/gst (ninja -C $build)"; exit 1; }
[ -f "$model" ] || { echo "$model: no such model file"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipgnet-soak-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Only this build's plugin besides the system's, and a registry of our own.
export GST_PLUGIN_PATH_1_0=$build/gst GST_REGISTRY=$tmp/registry.bin
export GST_TRACERS=leaks GST_DEBUG=GST_TRACER:7 GST_DEBUG_NO_COLOR=1
passed=0
failed=0
run() {   # run NAME COUNT ARGS...: one check, its figures, and its leak report
  local name=$1 rc
  shift
  if [ "$1" -eq 0 ]; then
    echo "$name: skipped (count 0)"
    return
  fi
  /usr/bin/python3 tools/soak.py "$model" "$name" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
  cat "$tmp/$name.out"
  # The tracer logs every object alive at gst_deinit() ("%s" is its format).
  if grep -E 'object-alive, type-name=\(string\)[^%]' "$tmp/$name.err" >"$tmp/$name.leaks"; then
    echo "FAIL: $name: $(wc -l <"$tmp/$name.leaks") objects leaked:"
    sed -E 's/.*object-alive, //' "$tmp/$name.leaks" | head -n 20
    rc=1
  fi
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
  else
    [ -s "$tmp/$name.out" ] || tail -n 20 "$tmp/$name.err"   # a crash: its last words
    failed=$((failed + 1))
  fi
}

echo "model $model"
run cycles "$cycles"
run frames "$frames" "$caps_every"
run seeks "$seeks"
run two "$two_frames"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
