#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The register check of the GPU kernel path (issue 17): compiles every kernel
# of kernels/, concatenated as the library builds them (kernels/meson.build's
# order, cl-runtime.h's -D constants), with clang's AMDGPU backend for gfx90a
# (CDNA2) and gfx1030 (RDNA2), and reads each kernel's VGPRs, spills and
# private (scratch) segment from the code object metadata.
# Fails when a kernel the GPU path runs spills or needs scratch. The CPU
# path's register-tile kernels (ipg_gemm_packed, ipg_conv3x3_direct[_u],
# ipg_conv_direct_s2, the four ipg_winograd_*) are
# printed for the record and expected to spill: they are not run on GPUs.
# Needs a clang with the amdgcn target whose LLVM version matches the ROCm
# device libraries (Debian 12: clang-15 and rocm-device-libs,
# tools/setup-debian.sh); without them it says so and exits 77 (skipped).
# Usage: tools/check-amdgpu-registers.sh [SOURCE_ROOT] [MCPU...]
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
shift || true
cpus=("$@")
[ ${#cpus[@]} -eq 0 ] && cpus=(gfx90a gfx1030)
libs=${ROCM_DEVICE_LIB_PATH:-/usr/lib/x86_64-linux-gnu/amdgcn/bitcode}
cpu_path_kernels=" ipg_gemm_packed ipg_conv3x3_direct ipg_conv3x3_direct_u ipg_conv_direct_s2 ipg_conv_direct_s2_c32 ipg_winograd_input ipg_winograd_gemm ipg_winograd_output ipg_winograd_fused "

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The sources in the library's order, each with a #line marker.
for f in $(grep -oE "'[a-z0-9-]+\.cl'" "$root/kernels/meson.build" | tr -d "'"); do
  printf '#line 1 "%s"\n' "$f"
  cat "$root/kernels/$f"
done > "$tmp/all.cl"
# The -D constants of cl-runtime.h (IPG_GEMM_*, IPG_RADIX_BINS, IPG_TILE_*).
defines=$(grep -E '^#define IPG_(GEMM_MR|GEMM_NR|RADIX_BINS|TILE_WM|TILE_WN|TILE_K) ' "$root/ipg/cl-runtime.h" |
  awk '{printf "-D%s=%s ", $2, $3}')

compile() {   # compiler mcpu -> $tmp/$mcpu.s
  "$1" -cl-std=CL1.2 -target amdgcn-amd-amdhsa -mcpu="$2" --rocm-device-lib-path="$libs" -O3 \
    -Xclang -finclude-default-header $defines -S -o "$tmp/$2.s" "$tmp/all.cl" 2> "$tmp/$2.log"
}

cc=""
for c in ${AMDGPU_CLANG:-clang-15 clang-16 clang-17 clang}; do
  command -v "$c" > /dev/null || continue
  "$c" -print-targets 2> /dev/null | grep -q amdgcn || continue
  if compile "$c" "${cpus[0]}"; then cc=$c; break; fi
done
if [ -z "$cc" ]; then
  echo "skipped: no clang with the amdgcn target that links the ROCm device libraries in $libs"
  echo "(Debian 12: apt-get install clang-15 rocm-device-libs; tools/setup-debian.sh)"
  exit 77
fi
echo "compiler: $cc ($("$cc" --version | head -n 1)); constants: $defines"

status=0
for mcpu in "${cpus[@]}"; do
  if ! compile "$cc" "$mcpu"; then
    echo "FAIL: $cc could not compile the kernels for $mcpu:"
    head -n 40 "$tmp/$mcpu.log"
    status=1
    continue
  fi
  echo "== $mcpu"
  printf '%-28s %5s %7s %7s %8s  %s\n' kernel vgprs vspills sspills scratch verdict
  # The amdhsa.kernels metadata: one block per kernel.
  awk '/^amdhsa.kernels:/ { k = 1 }
       k && /^ *\.name:/ { n = $2 }
       k && /\.private_segment_fixed_size:/ { p = $2 }
       k && /\.sgpr_spill_count:/ { ss = $2 }
       k && /\.vgpr_count:/ { v = $2 }
       k && /\.vgpr_spill_count:/ { vs = $2; print n, v, vs, ss, p }' "$tmp/$mcpu.s" > "$tmp/$mcpu.txt"
  if [ ! -s "$tmp/$mcpu.txt" ]; then
    echo "FAIL: no kernel metadata in the $mcpu assembly"
    status=1
    continue
  fi
  grep -q '^ipg_conv_tiled ' "$tmp/$mcpu.txt" || { echo "FAIL: ipg_conv_tiled missing for $mcpu"; status=1; }
  while read -r name vgpr vspill sspill priv; do
    verdict=ok
    if [ "$vspill" != 0 ] || [ "$sspill" != 0 ] || [ "$priv" != 0 ]; then
      if [[ "$cpu_path_kernels" == *" $name "* ]]; then
        verdict="spills (the CPU path's; no GPU row of the path table chooses it)"
      else
        verdict=FAIL
        status=1
      fi
    fi
    printf '%-28s %5s %7s %7s %8s  %s\n' "$name" "$vgpr" "$vspill" "$sspill" "$priv" "$verdict"
  done < "$tmp/$mcpu.txt"
done
exit $status
