#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one kernel test (its --small subset: oclgrind is ~1000x slower than
# PoCL) under oclgrind with API checks and data-race detection, and with the
# forced local sizes of IPG_FORCE_LWS (plan.c), so global sizes are rounded
# up and the kernels' bounds checks run. Fails on any oclgrind report, even
# when the test itself passes: oclgrind's exit status does not reflect them.
#
# --uninitialized KERNELS (comma-separated, may be empty): also track
# uninitialised values, and fail on every report except "Controlflow depends
# on uninitialized value" in one of KERNELS (the artefact below). The
# error limit is lifted (--max-errors), so that tolerated reports cannot
# hide others behind oclgrind's default cap of 1000.
#
# Known oclgrind artefacts (oclgrind 21.10, Debian 12), and what is done:
# - --uninitialized on test-ops: "control flow depends on uninitialized
#   value" at the fma calls of gemm.cl and conv-direct.cl. conv-direct.cl
#   does compute lanes from the never-written slack past a tensor
#   (IPG_TENSOR_SLACK; computed, never stored); gemm.cl's are not explained
#   (its operands are written in full by the host and conv-pack.cl). Those
#   two kernels are named to --uninitialized (meson.build, oclgrind-ops-
#   uninitialized); every other kernel of test-ops --small, the top-k
#   selects and the split im2col included, must be clean.
# - --uninitialized on test-two-stage: not a gate. oclgrind aborts its
#   uninitialised-value plugin on LLVM's `freeze` instruction
#   ("Unsupported instruction: freeze", in ipg_rpn_sort_decode), after which
#   everything computed from that kernel's outputs (ipg_nms_mask,
#   ipg_nms_scan_group) is reported; and it reports the partial selections'
#   positions read by ipg_rpn_select_merge (select-groups.cl), which every
#   partial writes in full (not yet explained).
# - a vector built by concatenating two swizzles, (float16) (lo.even,
#   hi.even), is reported uninitialised even when both halves were written
#   (a one-kernel oclgrind-kernel case with a filled input reproduces it);
#   conv-pack.cl's stride-2 copy uses one shuffle2 instead, which is clean.
# - data uploaded with clEnqueueWriteBufferRect is not marked initialised:
#   the kernel suites here upload with clEnqueueWriteBuffer; the context's
#   frame upload maps the buffer where the device shares host memory
#   (preprocess.c), and PoCL and oclgrind both do.
# - reports after buffers are freed and recreated in one process: each test
#   process here runs its cases one after another; none seen with
#   --check-api --data-races.
# Usage: run-oclgrind.sh [--uninitialized KERNELS] TEST-BINARY [ARGS...]
set -uo pipefail
uninit=
if [ "${1:-}" = "--uninitialized" ]; then
  uninit=",${2:-},"
  shift 2
fi
if ! command -v oclgrind >/dev/null; then
  echo "oclgrind is not installed (apt-get install oclgrind; tools/setup-debian.sh)"
  exit 77   # meson: skipped
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
flags=(--check-api --data-races)
[ -n "$uninit" ] && flags+=(--uninitialized --max-errors 100000000)
IPG_FORCE_LWS=${IPG_FORCE_LWS:-8,8,2} oclgrind "${flags[@]}" --log "$log" "$@"
rc=$?
if [ -s "$log" ]; then
  # One report per blank-line separated block: its first line says what,
  # its "Kernel:" line where. Only the tolerated artefact is dropped.
  bad=$(awk -v allowed="$uninit" 'BEGIN { RS = "" }
    {
      kernel = ""
      n = split($0, line, "\n")
      for (i = 1; i <= n; i++) if (line[i] ~ /Kernel:/) { kernel = line[i]; sub(/.*Kernel: */, "", kernel) }
      if (allowed != "" && line[1] == "Controlflow depends on uninitialized value" && kernel != "" &&
          index(allowed, "," kernel ",") > 0) { tolerated++; next }
      print $0 "\n"
    }
    END { if (tolerated) print "(" tolerated " tolerated artefact reports)" > "/dev/stderr" }' "$log")
  if [ -n "$bad" ]; then
    echo "oclgrind reported errors:"
    echo "$bad" | head -n 200
    exit 1
  fi
fi
exit $rc
