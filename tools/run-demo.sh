#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job, for now: set up, build, make a seeded random IPG-RetinaNet
# model with the PyTorch reference, and run the OpenCL engine on a sample
# photo. The random model's detections are meaningless: a trained model comes
# with the issue "A model that detects". Output: JSON Lines on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/setup-debian.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
model=build/demo-r18w05-352x288.safetensors
if [ ! -f "$model" ]; then
  PYTHONPATH=tools /usr/bin/python3 -m ipgnet random --backbone resnet18 --width 0.5 \
    --num-classes 7 --input 352x288 --seed 3 -o "$model"
fi
image=${1:-/usr/share/pixmaps/faces/mountain.jpg}
./build/tools/cli/ipgnet-detect -m "$model" --threshold 0.5 --json "$image"
