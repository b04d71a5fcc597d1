#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The checks to run when a GPU machine is lent (docs/PERFORMANCE.md, "GPU",
# has the plan for the 15 minutes). One command on that machine may run
# 600 s at most, so "run" is split into steps, each one command well within
# that (its time-outs add up to at most the figure given):
#
#   tools/gpu-check.sh prepare          here, after a build: copies what the GPU
#                                       machine lacks into .dev/ (ICD loader,
#                                       CLBlast, libturbojpeg, libpng, the parity
#                                       photos, opencv-doc's data for `ipgnet synth`)
#   tools/gpu-check.sh run devices      there: device list, the kernel tests
#                                       (every kernel path; also with
#                                       IPG_FORCE_LWS) and test-ctx per path     <= 300 s
#   tools/gpu-check.sh run profile      device time per layer group and kernel
#                                       path (gpu, clblast, cpu), per model      <= 240 s
#   tools/gpu-check.sh run bench        the bench against PyTorch CUDA          <= 360 s
#   tools/gpu-check.sh run parity       the parity suite (the device's path)    <= 420 s
#   tools/gpu-check.sh run parity-paths a parity subset on the clblast and cpu
#                                       paths                                   <= 400 s
#
# (carried: .dev build/ipg build/tools/cli build/tests/engine). Logs go to
# $OUT (or /tmp/gpu-check), one file per step. GPU_CHECK_DEVICE (default
# gpu) names the OpenCL device: GPU_CHECK_DEVICE=cpu is the dry run on a
# CPU-only machine (no NVIDIA driver needed; the bench step then compares
# against PyTorch on the CPU).
#
# The GPU machine is not Debian: its python3 holds PyTorch with CUDA, and it
# has no opencv-doc, gnome-control-center-data or OpenCL ICD entry for the
# NVIDIA driver. So the steps point the ICD loader at the driver's
# libnvidia-opencl itself, with the driver's folder on the library path, and
# print the loader's own diagnostics when no GPU shows up.
set -uo pipefail
cd "$(dirname "$0")/.."
R=$PWD

prepare() {
    set -e
    [ -x build/tools/cli/ipgnet-detect ] || { echo "gpu-check: build first (meson setup build && ninja -C build)" >&2; exit 1; }
    mkdir -p .dev/lib .dev/opencv .dev/faces
    grep -qx "/.dev/" .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo "/.dev/" >> .git/info/exclude; }
    for l in libOpenCL.so.1 libclblast.so.1 libturbojpeg.so.0 libpng16.so.16; do cp -L "/lib/x86_64-linux-gnu/$l" .dev/lib/; done
    cp /usr/share/pixmaps/faces/{cat,mountain,puppy,surfer}.jpg .dev/faces/
    PYTHONPATH=tools /usr/bin/python3 -c "
import shutil, ipgnet.synth as s
for n in (s.DIGITS_FILE,) + s.BACKGROUND_FILES:
    shutil.copy(s.DATA_DIR + '/' + n, '.dev/opencv/')"
    du -sh .dev
    echo "carry: .dev build/ipg build/tools/cli build/tests/engine; then: bash tools/gpu-check.sh run"
}

# Environment shared by the steps: the NVIDIA OpenCL library found and
# named to the ICD loader, the carried libraries, the Python with PyTorch.
setup() {
    out=${OUT:-/tmp/gpu-check}
    dev=${GPU_CHECK_DEVICE:-gpu}
    mkdir -p "$out"
    py=$(command -v python3)
    detect=build/tools/cli/ipgnet-detect
    export IPGNET_PYTHON=$py IPGNET_FACES=$R/.dev/faces PYTHONPATH=$R/tools IPG_TEST_DEVICE=$dev
    export LD_LIBRARY_PATH=$R/.dev/lib:${LD_LIBRARY_PATH:-}
    [ "$dev" = gpu ] || return 0
    local dirs="/usr/local/nvidia /usr/lib /usr/lib64 /lib /usr/local/lib" nv
    # shellcheck disable=SC2086
    nv=$(find $dirs -name 'libnvidia-opencl.so.1' 2>/dev/null | head -1)
    # shellcheck disable=SC2086
    [ -n "$nv" ] || nv=$(find $dirs -name 'libnvidia-opencl.so*' 2>/dev/null | head -1)
    echo "NVIDIA OpenCL library: ${nv:-none}"
    # GPU containers often get the driver's library but not its ICD entry
    # (nvidia-container-toolkit issue 682): name it both ways.
    if [ -n "$nv" ]; then
        export OCL_ICD_FILENAMES=$nv
        { mkdir -p /etc/OpenCL/vendors && echo "$nv" > /etc/OpenCL/vendors/nvidia.icd; } 2>/dev/null ||
            echo "(could not write /etc/OpenCL/vendors/nvidia.icd)"
        export LD_LIBRARY_PATH=$(dirname "$nv"):$LD_LIBRARY_PATH
    fi
}

# Step 1 (<= 300 s): the devices, then the kernel tests as they are (test-ops
# runs its convolutions on every kernel path itself), with forced local
# sizes (rounded-up ranges, IPG_FORCE_LWS), and test-ctx on each path.
step_devices() {
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    timeout 30 "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    $detect --list-devices
    if [ "$dev" = gpu ] && ! $detect --list-devices | grep -q "(gpu)"; then
        echo "gpu-check: no GPU OpenCL device; the loader's view:"
        [ -n "${OCL_ICD_FILENAMES:-}" ] && ldd "$OCL_ICD_FILENAMES" | grep -i "not found"
        OCL_ICD_DEBUG=15 $detect --list-devices 2>&1 | head -40
        return 1
    fi
    IPG_LOG=4 timeout 20 build/tests/engine/test-ops --small 2>&1 |
        grep -E "device|limits|private|path|passed" | head -30
    local fails=0 t
    for t in "test-ops" "test-two-stage" "FORCE test-ops" "FORCE test-two-stage" \
             "test-ctx tests/data/tiny-r18.safetensors" "test-ctx tests/data/tiny-frcnn.safetensors" \
             "CLBLAST test-ctx tests/data/tiny-r18.safetensors" "CLBLAST test-ctx tests/data/tiny-frcnn.safetensors" \
             "CPU test-ctx tests/data/tiny-r18.safetensors"; do
        echo "--- $t"
        local env=()
        [ "${t%% *}" = FORCE ] && { env=(IPG_FORCE_LWS=8,8,2); t=${t#FORCE }; }
        [ "${t%% *}" = CLBLAST ] && { env=(IPG_PATH=clblast); t=${t#CLBLAST }; }
        [ "${t%% *}" = CPU ] && { env=(IPG_PATH=cpu); t=${t#CPU }; }
        # shellcheck disable=SC2086
        env "${env[@]}" timeout 40 build/tests/engine/$t > "$out/t.txt" 2>&1 || fails=$((fails + 1))
        grep -v "^ok" "$out/t.txt" | tail -6
    done
    rm -f "$out/t.txt"
    echo "gpu-check devices: $fails failed test(s)"
    [ "$fails" -eq 0 ]
}

# Step 4 (<= 420 s): the engine against the reference, stage by stage, on
# the device's own kernel path (the table: gpu on GPUs).
step_parity() {
    OMP_NUM_THREADS=8 timeout 420 "$py" tests/parity/test_parity.py $detect "$R" \
        > "$out/parity-full.txt" 2>&1
    local rc=$?
    grep -v "^ok" "$out/parity-full.txt" | tail -20
    return $rc
}

# Step 2 (<= 240 s): device time per layer group and per kernel path
# (--device-path: the GPU-tiled kernels, CLBlast, and the CPU register tiles
# for the ratio) on the shipped model at 1280x736 and the tiny two-stage
# model at 512x512 (--profile), and the kernels' private memory.
step_profile() {
    local m size path rc=0
    "$py" -c "
import sys; w, h = 1280, 720
sys.stdout.buffer.write(b'P6 %d %d 255\\n' % (w, h) + bytes((i * 7) % 256 for i in range(w * h * 3)))" > "$out/frame.ppm"
    for run in "models/ipgnet-demo.safetensors 1280x736 gpu clblast cpu" \
               "tests/data/tiny-frcnn.safetensors 512x512 gpu clblast"; do
        set -- $run
        m=$1 size=$2
        shift 2
        for path in "$@"; do
            echo "--- $m $size --device-path $path"
            timeout 35 $detect -d "$dev" -m "$m" --device-path "$path" --input-size "$size" --bench 10 --profile \
                "$out/frame.ppm" 2>&1 | tail -25 || rc=1
        done
    done
    IPG_LOG=4 timeout 30 $detect -d "$dev" -m tests/data/tiny-r18.safetensors "$out/frame.ppm" 2>&1 |
        grep -E "limits|private|path"
    return $rc
}

# Step 3 (<= 360 s): ours against PyTorch on the same models (CUDA on a
# GPU), on the device's kernel path.
step_bench() {
    local peer=cuda
    [ "$dev" = gpu ] || peer=cpu
    timeout 360 "$py" tools/bench.py --runs 10 --device "$dev" --peer "$peer" 2>&1 | tail -40
}

# Step 5 (<= 400 s): two parity configurations (one- and two-stage) on the
# paths the device does not choose by itself: CLBlast, and the CPU register
# tiles run on the GPU.
step_parity_paths() {
    local path rc=0
    for path in clblast cpu; do
        echo "--- IPG_PATH=$path"
        IPG_PATH=$path OMP_NUM_THREADS=8 timeout 200 "$py" tests/parity/test_parity.py $detect "$R" \
            r18w05-352x288 frcnn-r18w025-128x96 > "$out/parity-$path.txt" 2>&1 || rc=1
        grep -v "^ok" "$out/parity-$path.txt" | tail -10
    done
    return $rc
}

run() {
    setup
    local step=${1:-}
    case "$step" in
        devices|profile|bench|parity|parity-paths) ;;
        *) echo "usage: tools/gpu-check.sh run devices|profile|bench|parity|parity-paths (one command each)" >&2
           return 2 ;;
    esac
    "step_${step/-/_}" 2>&1 | tee "$out/$step.txt"
    return "${PIPESTATUS[0]}"
}

case "${1:-}" in
    prepare) prepare ;;
    run) shift; run "$@" ;;
    *) echo "usage: tools/gpu-check.sh prepare | run devices|profile|bench|parity|parity-paths" >&2; exit 2 ;;
esac
