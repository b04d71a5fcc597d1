#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a libFuzzer target for SECONDS on its seed corpora without writing
# into them: new inputs go to a scratch directory that is removed afterwards.
# Fails on any crash, leak, sanitizer report or timeout (the finding is left
# in the current directory as crash-*, leak-* or timeout-*).
# Usage: run-fuzz.sh TARGET SECONDS SEED_DIR...
set -eu
target=$1 seconds=$2
shift 2
scratch=$(mktemp -d "${TMPDIR:-/tmp}/ipgnet-fuzz-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
  "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  "$scratch" "$@"
