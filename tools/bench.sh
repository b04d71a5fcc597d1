#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The performance referee (tools/bench.py): the OpenCL engine against PyTorch
# CPU on the same model files, frames and 2 threads; the SGEMM ceiling, layer
# groups, start-up, peak RSS and the GStreamer pipeline against the bare engine.
# Usage: tools/bench.sh [RUNS] [DEVICE]   (after a build in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 tools/bench.py --runs "${1:-5}" --device "${2:-auto}"
