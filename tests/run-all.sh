#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sets up, builds and runs every test suite: the C suites through meson (the
# model-file suite and the GStreamer element tests a second time under
# AddressSanitizer and UBSan), the libFuzzer targets briefly, the long-run
# checks at reduced counts, and the Python reference's pytest suite. The last line sums them all:
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
# The GStreamer element tests with the plugin and the library under ASan +
# UBSan (not the pipeline scripts: they add minutes and no code of ours).
tests/gst/run-sanitized.sh build-asan >/tmp/ipgnet-gst-asan.log 2>&1
cat /tmp/ipgnet-gst-asan.log
if grep -qE '^Ok: ' /tmp/ipgnet-gst-asan.log; then
  count_meson /tmp/ipgnet-gst-asan.log
else
  echo "sanitized element tests did not run"
  failed=$((failed + 1))
fi

# The libFuzzer targets, 10 s each on their corpora, built by clang with
# ASan + UBSan in a build directory of their own (tools/fuzz.sh runs longer).
if command -v clang >/dev/null; then
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false \
      >/tmp/ipgnet-fuzz-setup.log 2>&1 || cat /tmp/ipgnet-fuzz-setup.log
  fi
  if ninja -C build-fuzz tests/fuzz/fuzz-json tests/fuzz/fuzz-container tests/fuzz/fuzz-config \
       tests/fuzz/fuzz-loader tests/fuzz/fuzz-image >/tmp/ipgnet-fuzz-build.log 2>&1; then
    meson test -C build-fuzz --no-rebuild --print-errorlogs --suite libfuzzer 2>&1 | tee /tmp/ipgnet-fuzz.log
    count_meson /tmp/ipgnet-fuzz.log
  else
    cat /tmp/ipgnet-fuzz-build.log
    echo "libFuzzer build failed"
    failed=$((failed + 1))
  fi
else
  echo "clang missing: libFuzzer targets not run"
  failed=$((failed + 1))
fi

# The long-run checks (tools/soak.sh) at reduced counts on the tiny model:
# state cycles under the leaks tracer, a frame soak with caps changes,
# flushing seeks, two pipelines at once. Each check counts as one test.
if [ $build_ok -eq 1 ]; then
  tools/soak.sh build tests/data/tiny-r18.safetensors 100 1000 50 20 200 2>&1 | tee /tmp/ipgnet-soak.log
  soak_pass=$(tail -n 1 /tmp/ipgnet-soak.log | grep -Eo '^[0-9]+ passed' | awk '{print $1}')
  soak_fail=$(tail -n 1 /tmp/ipgnet-soak.log | grep -Eo '[0-9]+ failed' | awk '{print $1}')
  passed=$((passed + ${soak_pass:-0}))
  failed=$((failed + ${soak_fail:-1}))   # no summary line: the script itself failed
fi

# The Python reference.
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python 2>&1 | tee /tmp/ipgnet-pytest.log
py_pass=$(grep -Eo '[0-9]+ passed' /tmp/ipgnet-pytest.log | tail -n 1 | awk '{print $1}')
py_fail=$(grep -Eo '[0-9]+ (failed|error|errors)' /tmp/ipgnet-pytest.log | awk '{s += $1} END {print s + 0}')
passed=$((passed + ${py_pass:-0}))
failed=$((failed + py_fail))
[ -z "${py_pass:-}" ] && [ "$py_fail" -eq 0 ] && failed=$((failed + 1))   # pytest ran nothing

# Our tiling against SAHI's own functions: sahi is in .venv only (a skip there is a failure).
.venv/bin/python -m pytest -q -p no:cacheprovider tests/python/test_tiling_sahi.py 2>&1 | tee /tmp/ipgnet-pytest-sahi.log
sahi_pass=$(grep -Eo '[0-9]+ passed' /tmp/ipgnet-pytest-sahi.log | tail -n 1 | awk '{print $1}')
sahi_fail=$(grep -Eo '[0-9]+ (failed|error|errors|skipped)' /tmp/ipgnet-pytest-sahi.log | awk '{s += $1} END {print s + 0}')
passed=$((passed + ${sahi_pass:-0}))
failed=$((failed + sahi_fail))
[ -z "${sahi_pass:-}" ] && [ "$sahi_fail" -eq 0 ] && failed=$((failed + 1))

# ONNX export against ONNX Runtime and OpenVINO: both are in .venv only (a skip there is a failure).
.venv/bin/python -m pytest -q -p no:cacheprovider tests/python/test_export_onnx.py 2>&1 | tee /tmp/ipgnet-pytest-onnx.log
onnx_pass=$(grep -Eo '[0-9]+ passed' /tmp/ipgnet-pytest-onnx.log | tail -n 1 | awk '{print $1}')
onnx_fail=$(grep -Eo '[0-9]+ (failed|error|errors|skipped)' /tmp/ipgnet-pytest-onnx.log | awk '{s += $1} END {print s + 0}')
passed=$((passed + ${onnx_pass:-0}))
failed=$((failed + onnx_fail))
[ -z "${onnx_pass:-}" ] && [ "$onnx_fail" -eq 0 ] && failed=$((failed + 1))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
