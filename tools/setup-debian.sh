#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what ipgnet needs on Debian 12 (as root, or through sudo). Runs
# apt-get update and install only when a package is missing, so a second run
# costs a second.
set -euo pipefail

packages=(
  # build
  build-essential meson ninja-build pkg-config
  # OpenCL: headers, ICD loader, and PoCL so that every machine has a device
  ocl-icd-opencl-dev opencl-c-headers opencl-headers pocl-opencl-icd clinfo
  # CLBlast: the clblast kernel path (ipg/clblast-path.c)
  libclblast-dev
  # the kernel suites under the OpenCL simulator (tests suite "oclgrind")
  oclgrind
  # the GPU path's register check (tools/check-amdgpu-registers.sh): clang's
  # AMDGPU backend with the ROCm device libraries of the same LLVM version
  clang-15 rocm-device-libs
  # libFuzzer targets (tests/fuzz, tools/fuzz.sh): clang and its runtime
  clang libclang-rt-14-dev
  # the C sources' formatting, checked in CI (tools/format.sh)
  clang-format
  # image decoding for ipgnet-detect
  libturbojpeg0-dev libpng-dev
  # the GStreamer plugin, its tests and the example pipelines
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev libpango1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-base-apps gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp
  # ipgnetpublish (MQTT) and its tests: the client library, a broker, the CLI clients
  libmosquitto-dev mosquitto mosquitto-clients
  # the PyTorch reference and its tests
  python3-torch python3-torchvision python3-numpy python3-pil python3-pytest
  # OpenBLAS: the benchmark's fp32 ceiling (tools/bench.py) is its SGEMM
  libopenblas0-pthread
  # sample photographs (/usr/share/pixmaps/faces) for the demo and parity
  # tests; a sample video (vtest.avi) for the pipeline tests
  gnome-control-center-data opencv-doc
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
