#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The OpenCL engine against PyTorch CPU on the same model file, the same frame
# and 2 threads, alternating the two, one config per line:
#   config  ours_ms  torch_ms  ratio(ours/torch)  conv_GFLOP  ours_GFLOP/s
# Usage: tools/bench.sh [RUNS] [DEVICE]   (after a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
device=${2:-auto}
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 PYTHONPATH=tools
mkdir -p build/bench
py=/usr/bin/python3
detect=./build/tools/cli/ipgnet-detect

configs=(
  "r50-512x512|--backbone resnet50 --num-classes 80 --input 512x512 --seed 11"
  "r18w05-352x288|--backbone resnet18 --width 0.5 --num-classes 7 --input 352x288 --seed 3"
)
printf "%-16s %10s %10s %8s %10s %12s\n" config ours_ms torch_ms ratio conv_GFLOP ours_GFLOP/s
for entry in "${configs[@]}"; do
  name=${entry%%|*}
  args=${entry#*|}
  model=build/bench/$name.safetensors
  [ -f "$model" ] || $py -m ipgnet random $args -o "$model" >/dev/null
  size=$(echo "$args" | sed -E 's/.*--input ([0-9]+x[0-9]+).*/\1/')
  image=build/bench/frame-$size.png
  [ -f "$image" ] || $py -c "
from PIL import Image
im = Image.open('/usr/share/pixmaps/faces/mountain.jpg').convert('RGB').resize(tuple(map(int, '$size'.split('x'))), Image.BILINEAR)
im.save('$image')"
  ours=() torch=()
  for round in 1 2; do   # alternate, so drift hits both alike
    o=$($detect -m "$model" --device "$device" --bench "$runs" "$image")
    ours+=("$(echo "$o" | sed -n 's/^median_ms=//p')")
    gflop=$(echo "$o" | sed -n 's/^conv_gflop=\([0-9.]*\).*/\1/p')
    t=$($py -m ipgnet bench -m "$model" "$image" --runs "$runs" --threads 2)
    torch+=("$(echo "$t" | sed -n 's/^median_ms=//p')")
  done
  $py - "$name" "${ours[*]}" "${torch[*]}" "$gflop" <<'PY'
import statistics, sys
name, ours, torch, gflop = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), float(sys.argv[4])
o = statistics.median(map(float, ours)); t = statistics.median(map(float, torch))
print(f"{name:<16} {o:10.1f} {t:10.1f} {o / t:8.2f} {gflop:10.2f} {gflop / (o * 1e-3):12.1f}")
PY
done
