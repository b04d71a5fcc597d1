#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The GStreamer element tests (GstHarness, gst-check) once more with the
# plugin, the library and the tests built with ASan + UBSan (BUILD_DIR, set
# up with -Db_sanitize=address,undefined -Db_lundef=false). Any sanitizer
# report fails its test: ASan aborts, UBSan halts on the first error, LSan
# reports leaks at exit (tests/gst/lsan.supp lists the one-time system
# allocations it may ignore, each with why), and the leaks tracer still
# checks every GstObject and GstMiniObject.
#
# The registry is scanned in the test process (GST_REGISTRY_FORK=no, so that
# the sanitizers see the plugin being loaded); that process would load every
# system plugin, and their libraries' own allocations (GLib types, udev,
# fontconfig) would read as leaks. The system plugin path is therefore a
# temporary folder holding links to the few plugins the tests use, and each
# test's registry is scanned afresh: one written with every system plugin
# (by another run) loads enough quarks into GLib's table to make it grow,
# and GLib leaks the table's first block by design (16 KiB, allocated in
# its constructor, where no suppression can name it without debug symbols).
# CK_FORK=no: one process per suite, so LSan's exit check covers all of it.
# Prints meson's summary. Usage: tests/gst/run-sanitized.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
tests=(ipgnetdetect ipgnetdetect-shared ipgnetoverlay ipgnetjson ipgnettrack)
# fakesink, capsfilter (coreelements) and videotestsrc: what the tests' pipelines name.
plugins=(coreelements videotestsrc)

ninja -C "$build" gst/libgstipgnet.so "${tests[@]/#/tests/gst/test-}" >/dev/null
system=$(pkg-config --variable=pluginsdir gstreamer-1.0)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipgnet-gst-asan-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for t in "${tests[@]}"; do rm -f "$build/tests/gst/registry-$t.bin"; done
for p in "${plugins[@]}"; do
  ln -s "$system/libgst$p.so" "$tmp/"
done

export GST_PLUGIN_SYSTEM_PATH_1_0=$tmp GST_REGISTRY_FORK=no CK_FORK=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1}
export LSAN_OPTIONS=suppressions=$here/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
meson test -C "$build" --no-rebuild --print-errorlogs "${@:2}" "${tests[@]/#/gst-}"
