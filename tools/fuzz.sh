#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every libFuzzer target (tests/fuzz) for SECONDS each (default 600)
# under ASan + UBSan, then merges the inputs that found new coverage into the
# corpus in git (tests/fuzz/corpus/TARGET; commit them), except the loader's
# (whole models, 150 KB each). Prints executions,
# coverage and findings per target, the figures docs/HARDENING.md records.
# A finding is left in the current directory (crash-*, leak-*, timeout-*,
# oom-*) and makes the exit status non-zero.
# Usage: tools/fuzz.sh [SECONDS [TARGET...]]   (needs clang: tools/setup-debian.sh)
# TARGET: json container config loader image (default: all of them).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
targets=(json container config loader image)
[ $# -gt 1 ] && targets=("${@:2}")
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/fuzz-$t.c" ] || { echo "fuzz.sh: no target '$t' (json container config loader image)" >&2; exit 2; }
done

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C build-fuzz "${targets[@]/#/tests/fuzz/fuzz-}" >/dev/null

export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
summary=""
for t in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/$t
  seeds=("$corpus")
  new=$(mktemp -d "${TMPDIR:-/tmp}/ipgnet-fuzz-$t-XXXXXX")
  log=$new.log
  rc=0
  build-fuzz/tests/fuzz/fuzz-"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$new" "${seeds[@]}" >"$log" 2>&1 || rc=$?
  before=$(ls "$corpus" | wc -l)
  # The loader's inputs are whole models (150 KB each): new ones stay out of
  # git; the other targets' inputs are a few hundred bytes.
  [ "$t" = loader ] || build-fuzz/tests/fuzz/fuzz-"$t" -merge=1 "$corpus" "$new" >/dev/null 2>&1 || true
  after=$(ls "$corpus" | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
  finding=none
  if [ $rc -ne 0 ]; then
    finding=$(grep -Eo '(crash|leak|timeout|oom|slow-unit)-[0-9a-f]+' "$log" | head -n 1)
    finding=${finding:-"exit status $rc, see $log"}
    status=1
  else
    rm -f "$log"
  fi
  summary+=$(printf '%-10s %10s executions  %-18s corpus %d -> %d  finding: %s' \
    "$t" "${execs:-?}" "${cov:-cov: ?}" "$before" "$after" "$finding")$'\n'
  rm -rf "$new"
done
printf '%s' "$summary"
exit $status
