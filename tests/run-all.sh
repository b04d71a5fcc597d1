#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sets up, builds and runs every test suite: the C suites through meson (the
# model-file suite a second time under AddressSanitizer and UBSan), and the
# Python reference's pytest suite. The last line sums them all:
# "N passed, N failed". Exit status non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

./tools/setup-debian.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
# pycocotools (PyPI) for the COCO evaluation tests, in .venv.
./tools/setup-venv.sh || { echo "venv setup failed"; echo "0 passed, 1 failed"; exit 1; }
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2

passed=0
failed=0
count_meson() {   # reads meson's summary block from a log
  local ok fail
  ok=$(grep -E '^Ok: ' "$1" | awk '{print $2}' | tail -n 1)
  fail=$(grep -E '^(Fail|Timeout|Unexpected Pass): ' "$1" | awk '{s += $2} END {print s + 0}')
  passed=$((passed + ${ok:-0}))
  failed=$((failed + fail))
}

build_ok=1
if [ ! -f build/build.ninja ]; then
  meson setup build >/tmp/ipgnet-setup.log 2>&1 || { cat /tmp/ipgnet-setup.log; build_ok=0; }
fi
[ $build_ok -eq 1 ] && { ninja -C build || build_ok=0; }
if [ $build_ok -eq 1 ]; then
  meson test -C build --print-errorlogs 2>&1 | tee /tmp/ipgnet-meson.log
  count_meson /tmp/ipgnet-meson.log
else
  echo "build failed"
  failed=$((failed + 1))
fi

# The distrustful parsers once more under the sanitizers (no OpenCL needed).
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/tmp/ipgnet-asan-setup.log 2>&1 \
    || cat /tmp/ipgnet-asan-setup.log
fi
if ninja -C build-asan tests/format/test-json tests/format/test-safetensors tests/format/test-config \
     tests/format/fuzz-safetensors tests/engine/fuzz-model >/tmp/ipgnet-asan-build.log 2>&1; then
  meson test -C build-asan --no-rebuild --print-errorlogs --suite format --suite fuzz 2>&1 | tee /tmp/ipgnet-asan.log
  count_meson /tmp/ipgnet-asan.log
else
  cat /tmp/ipgnet-asan-build.log
  echo "sanitizer build failed"
  failed=$((failed + 1))
fi

# The Python reference.
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python 2>&1 | tee /tmp/ipgnet-pytest.log
py_pass=$(grep -Eo '[0-9]+ passed' /tmp/ipgnet-pytest.log | tail -n 1 | awk '{print $1}')
py_fail=$(grep -Eo '[0-9]+ (failed|error|errors)' /tmp/ipgnet-pytest.log | awk '{s += $1} END {print s + 0}')
passed=$((passed + ${py_pass:-0}))
failed=$((failed + py_fail))
[ -z "${py_pass:-}" ] && [ "$py_fail" -eq 0 ] && failed=$((failed + 1))   # pytest ran nothing

# ONNX export against ONNX Runtime and OpenVINO: both are in .venv only (a skip there is a failure).
.venv/bin/python -m pytest -q -p no:cacheprovider tests/python/test_export_onnx.py 2>&1 | tee /tmp/ipgnet-pytest-onnx.log
onnx_pass=$(grep -Eo '[0-9]+ passed' /tmp/ipgnet-pytest-onnx.log | tail -n 1 | awk '{print $1}')
onnx_fail=$(grep -Eo '[0-9]+ (failed|error|errors|skipped)' /tmp/ipgnet-pytest-onnx.log | awk '{s += $1} END {print s + 0}')
passed=$((passed + ${onnx_pass:-0}))
failed=$((failed + onnx_fail))
[ -z "${onnx_pass:-}" ] && [ "$onnx_fail" -eq 0 ] && failed=$((failed + 1))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
