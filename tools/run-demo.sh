#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job: set up, build, make the sample video (moving handwritten
# digits over opencv-doc's street footage, `ipgnet synth-video`), and run the
# GStreamer pipeline filesrc ! decodebin ! ipgnetdetect ! ipgnetjson !
# ipgnetoverlay ! x264enc ! mp4mux on it. Writes build/demo/annotated.mp4 and
# build/demo/annotated.jsonl, then prints the detections of one sample photo
# through ipgnet-detect.
#
# Model: MODEL, else models/ipgnet-demo.safetensors once a trained model
# ships, else a seeded random model (boxes well-formed but meaningless).
# Usage: tools/run-demo.sh [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/setup-debian.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
source pipelines/common.sh
model=$(default_model "${1:-}")

mkdir -p build/demo
video=build/demo/sample.mp4
[ -f "$video" ] || PYTHONPATH=tools /usr/bin/python3 -m ipgnet synth-video --out "$video" --seed 0 --frames 250

./pipelines/detect-file.sh "$video" "$model" build/demo/annotated.mp4 build/demo/annotated.jsonl
./build/tools/cli/ipgnet-detect -m "$model" --threshold 0.5 --json /usr/share/pixmaps/faces/mountain.jpg
