#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The checks to run when a GPU machine is lent (docs/PERFORMANCE.md, "GPU").
#
#   tools/gpu-check.sh prepare   here, after a build: copies what the GPU
#                                machine lacks into .dev/ (ICD loader,
#                                libturbojpeg, libpng, the parity photos,
#                                opencv-doc's data for `ipgnet synth`)
#   tools/gpu-check.sh run       there (with .dev/ and build/{ipg,tools/cli,
#                                tests/engine} carried over): the engine's
#                                kernel tests, the parity suite and the
#                                benchmark against PyTorch CUDA, on the GPU's
#                                OpenCL driver. Logs go to $OUT (or /tmp/gpu-check).
#
# The GPU machine is not Debian: its python3 holds PyTorch with CUDA, and it
# has no opencv-doc, gnome-control-center-data or OpenCL ICD entry for the
# NVIDIA driver. So "run" points the ICD loader at the driver's
# libnvidia-opencl itself, with the driver's folder on the library path, and
# prints the loader's own diagnostics when no GPU shows up.
set -uo pipefail
cd "$(dirname "$0")/.."
R=$PWD

prepare() {
    set -e
    [ -x build/tools/cli/ipgnet-detect ] || { echo "gpu-check: build first (meson setup build && ninja -C build)" >&2; exit 1; }
    mkdir -p .dev/lib .dev/opencv .dev/faces
    grep -qx "/.dev/" .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo "/.dev/" >> .git/info/exclude; }
    for l in libOpenCL.so.1 libturbojpeg.so.0 libpng16.so.16; do cp -L "/lib/x86_64-linux-gnu/$l" .dev/lib/; done
    cp /usr/share/pixmaps/faces/{cat,mountain,puppy,surfer}.jpg .dev/faces/
    PYTHONPATH=tools /usr/bin/python3 -c "
import shutil, ipgnet.synth as s
for n in (s.DIGITS_FILE,) + s.BACKGROUND_FILES:
    shutil.copy(s.DATA_DIR + '/' + n, '.dev/opencv/')"
    du -sh .dev
    echo "carry: .dev build/ipg build/tools/cli build/tests/engine; then: bash tools/gpu-check.sh run"
}

run() {
    local out=${OUT:-/tmp/gpu-check} py nvdir nv
    mkdir -p "$out"
    exec > >(tee "$out/gpu-check.txt") 2>&1
    py=$(command -v python3)
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    local dirs="/usr/local/nvidia /usr/lib /usr/lib64 /lib /usr/local/lib"
    # shellcheck disable=SC2086
    nv=$(find $dirs -name 'libnvidia-opencl.so.1' 2>/dev/null | head -1)
    # shellcheck disable=SC2086
    [ -n "$nv" ] || nv=$(find $dirs -name 'libnvidia-opencl.so*' 2>/dev/null | head -1)
    nvdir=$(dirname "${nv:-/nonexistent/x}")
    echo "NVIDIA OpenCL library: ${nv:-none}"
    # GPU containers often get the driver's library but not its ICD entry
    # (nvidia-container-toolkit issue 682): name it both ways.
    export OCL_ICD_FILENAMES=$nv
    if [ -n "$nv" ]; then
        { mkdir -p /etc/OpenCL/vendors && echo "$nv" > /etc/OpenCL/vendors/nvidia.icd; } 2>/dev/null ||
            echo "(could not write /etc/OpenCL/vendors/nvidia.icd)"
    fi
    export LD_LIBRARY_PATH=$R/.dev/lib:$nvdir:${LD_LIBRARY_PATH:-}
    export IPGNET_PYTHON=$py IPGNET_FACES=$R/.dev/faces PYTHONPATH=$R/tools
    local detect=build/tools/cli/ipgnet-detect
    $detect --list-devices
    if ! $detect --list-devices | grep -q "(gpu)"; then
        echo "gpu-check: no GPU OpenCL device; the loader's view:"
        [ -n "$nv" ] && ldd "$nv" | grep -i "not found"
        OCL_ICD_DEBUG=15 $detect --list-devices 2>&1 | head -40
        exit 1
    fi
    local fails=0
    for t in "test-ops" "test-two-stage" "test-ctx tests/data/tiny-r18.safetensors" \
             "test-ctx tests/data/tiny-frcnn.safetensors"; do
        echo "--- $t"
        # shellcheck disable=SC2086
        timeout 120 build/tests/engine/$t > "$out/t.txt" 2>&1 || fails=$((fails + 1))
        grep -v "^ok" "$out/t.txt" | tail -6
    done
    rm -f "$out/t.txt"
    echo "--- parity"
    OMP_NUM_THREADS=8 timeout 400 "$py" tests/parity/test_parity.py $detect "$R" > "$out/parity.txt" 2>&1 ||
        fails=$((fails + 1))
    grep -v "^ok" "$out/parity.txt" | tail -20
    echo "--- bench against PyTorch CUDA"
    timeout 300 "$py" tools/bench.py --runs 10 --device gpu --peer cuda 2>&1 | tee "$out/bench.txt" | tail -40
    echo "gpu-check: $fails failed step(s)"
    [ "$fails" -eq 0 ]
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: tools/gpu-check.sh prepare|run" >&2; exit 2 ;;
esac
