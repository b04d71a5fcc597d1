#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Creates .venv (Debian's python3 with its system packages: torch, torchvision,
# numpy, PIL, pytest) and installs pycocotools from PyPI into it, for
# `python -m ipgnet eval`, motmetrics + supervision (ByteTrack) for
# tools/track_eval.py, SAHI for tools/sahi_compare.py and the tests that
# check our tiling against SAHI's own functions, and onnxruntime + openvino
# (tools/bench.py's peers and the check of `ipgnet export-onnx`). Every PyPI
# package is pinned to a version whose wheel works with Debian's numpy 1.24 (numpy itself stays
# Debian's: a wheel that pulled numpy 2 would break torch). Idempotent: says
# nothing and returns at once when the venv already imports them all.
#   tools/setup-venv.sh [VENV_DIR]      (default: .venv in the repository root)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$root/.venv}"

check='import pycocotools.cocoeval, motmetrics, supervision, sahi.predict, onnxruntime, openvino; supervision.ByteTrack'
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-venv: creating $venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
echo "setup-venv: installing pycocotools, motmetrics, supervision, onnxruntime and openvino into $venv"
"$venv/bin/pip" install -q --disable-pip-version-check "pycocotools==2.0.11" \
  "numpy==$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')" \
  "motmetrics==1.4.0" "supervision==0.26.1" "opencv-python==4.11.0.86" \
  "scipy==1.15.3" "pandas==2.3.3" "matplotlib==3.10.9" \
  "onnxruntime==1.32.0" "flatbuffers==25.12.19" "protobuf==7.36.2" \
  "openvino==2026.4.1" "openvino-telemetry==2025.2.0"
# SAHI without its declared dependencies: its opencv-python needs numpy 2, and
# Debian's torch is built against numpy 1.24. What it imports, pinned, with numpy
# held at Debian's (the headless OpenCV 4.11 wheel still takes numpy 1.x).
echo "setup-venv: installing sahi into $venv"
pins=$(mktemp)
trap 'rm -f "$pins"' EXIT
echo "numpy==1.24.*" >"$pins"
"$venv/bin/pip" install -q --disable-pip-version-check -c "$pins" \
  "opencv-python-headless==4.11.0.86" "shapely==2.1.2" "tqdm==4.70.1"
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps "sahi==0.12.8"
"$venv/bin/python" -c "$check; import torch, numpy; assert numpy.__version__.startswith('1.24.'), numpy.__version__"
