#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One long-run check of the elements in this process (tools/soak.sh runs
each in a process of its own, under the leaks tracer, and reads its report).

Usage: soak.py MODEL CHECK COUNT...
  cycles N            N NULL -> PLAYING -> NULL cycles of one pipeline
  frames N K          N frames through ipgnetdetect ! ipgnetjson ! ipgnetoverlay,
                      the caps changing every K frames; frames in = out =
                      JSON lines; RSS after the first caps change vs at the
                      last frame (fails above IPGNET_SOAK_RSS_GROWTH_MIB, 32)
  seeks N             N flushing seeks while ipgnetdetect is detecting
  two N               two pipelines at once on one model, N frames each

Prints one line of figures, then "ok" or "FAIL: reason"; exit status 0 on ok.
Every wait has a timeout (IPGNET_SOAK_TIMEOUT seconds, default 60, without a
state change or a frame): a hang fails the check instead of blocking it.
"""

import gc
import os
import sys
import tempfile
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

TIMEOUT = float(os.environ.get("IPGNET_SOAK_TIMEOUT", "60"))
# Two sizes and two formats (a packed RGB one and a planar YUV one): every
# change reaches ipgnetdetect as new caps while playing.
CAPS = ["video/x-raw,format=RGB,width=320,height=240,framerate=30/1",
        "video/x-raw,format=I420,width=256,height=192,framerate=30/1"]


class Failed(Exception):
    pass


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Failed("no VmRSS in /proc/self/status")


def wait_state(pipe, state, what):
    """The pipeline's state change to STATE completes within the timeout."""
    ret = pipe.set_state(state)
    if ret == Gst.StateChangeReturn.FAILURE:
        raise Failed(f"{what}: the state change to {state.value_nick} failed{bus_error(pipe)}")
    ret, cur, _ = pipe.get_state(int(TIMEOUT * Gst.SECOND))
    if ret == Gst.StateChangeReturn.ASYNC:
        raise Failed(f"{what}: no {state.value_nick} after {TIMEOUT:.0f} s (hang)")
    if ret == Gst.StateChangeReturn.FAILURE or cur != state:
        raise Failed(f"{what}: the state change to {state.value_nick} failed{bus_error(pipe)}")


def bus_error(pipe):
    msg = pipe.get_bus().pop_filtered(Gst.MessageType.ERROR)
    if msg is None:
        return ""
    err, dbg = msg.parse_error()
    return f": {err.message} ({dbg})"


def wait_eos(pipe, what, progress):
    """EOS on the bus, the pipeline never standing still for the timeout
    (PROGRESS() counts its frames); an error message fails."""
    last, still = progress(), 0.0
    while True:
        msg = pipe.get_bus().timed_pop_filtered(Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if msg is not None:
            break
        now = progress()
        still = still + 1 if now == last else 0.0
        last = now
        if still >= TIMEOUT:
            raise Failed(f"{what}: no frame for {TIMEOUT:.0f} s after {now} frames (hang)")
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        raise Failed(f"{what}: {err.message} ({dbg})")


def json_empty_frames():
    """The ipgnetjson setting that writes a line for a frame without objects too."""
    json = Gst.ElementFactory.make("ipgnetjson", None)
    # add-empty-results (true) replaces skip-empty (false) on other branches.
    if json.find_property("add-empty-results") is not None:
        return "add-empty-results=true"
    return "skip-empty=false"


def check_cycles(model, n):
    pipe = Gst.parse_launch(f"videotestsrc is-live=true ! video/x-raw,width=320,height=240 ! "
                            f"ipgnetdetect model={model} ! fakesink")
    t0 = time.monotonic()
    try:
        for i in range(n):
            wait_state(pipe, Gst.State.PLAYING, f"cycle {i + 1}")
            wait_state(pipe, Gst.State.NULL, f"cycle {i + 1}")
    finally:
        pipe.set_state(Gst.State.NULL)
    print(f"cycles: {n} NULL->PLAYING->NULL in {time.monotonic() - t0:.1f} s")


def check_frames(model, n, k):
    if k < 1:
        raise Failed("the caps change interval must be at least 1 frame")
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = os.path.join(tmp, "soak.jsonl")
        pipe = Gst.parse_launch(
            f"videotestsrc name=src num-buffers={n} pattern=ball ! capsfilter name=cf caps={CAPS[0]} ! "
            f"ipgnetdetect model={model} ! ipgnetjson location={jsonl} {json_empty_frames()} ! "
            f"videoconvert ! ipgnetoverlay ! fakesink name=sink")
        cf = pipe.get_by_name("cf")
        state = {"in": 0, "out": 0, "caps": 0, "rss0": None, "rss1": None}

        def on_in(pad, info):
            state["in"] += 1
            if state["in"] % k == 0:
                # The next buffer is pushed with the other caps.
                state["caps"] += 1
                cf.set_property("caps", Gst.Caps.from_string(CAPS[state["caps"] % 2]))
            return Gst.PadProbeReturn.OK

        def on_out(pad, info):
            state["out"] += 1
            # Start after the first caps change: both configurations seen.
            if state["rss0"] is None and state["out"] == min(n, 2 * k):
                state["rss0"] = rss_kib()
            if state["out"] == n:   # the end, the model still loaded
                state["rss1"] = rss_kib()
            return Gst.PadProbeReturn.OK

        pipe.get_by_name("src").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_in)
        pipe.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_out)
        t0 = time.monotonic()
        try:
            pipe.set_state(Gst.State.PLAYING)
            wait_eos(pipe, "frames", lambda: state["out"])
        finally:
            pipe.set_state(Gst.State.NULL)
        elapsed = time.monotonic() - t0
        with open(jsonl) as f:
            lines = sum(1 for _ in f)
        rss0, rss1 = state["rss0"] or 0, state["rss1"] or 0
        print(f"frames: in {state['in']}, out {state['out']}, JSON lines {lines}, "
              f"caps changes {state['caps']}, {elapsed:.1f} s ({state['out'] / elapsed:.1f} fps), "
              f"RSS {rss0 // 1024} MiB after frame {min(n, 2 * k)} -> {rss1 // 1024} MiB at the end "
              f"({(rss1 - rss0) / 1024:+.1f} MiB)")
        if not (state["in"] == n and state["out"] == n and lines == n):
            raise Failed(f"frames in, out and JSON lines differ from {n}")
        limit = int(os.environ.get("IPGNET_SOAK_RSS_GROWTH_MIB", "32"))
        if rss1 - rss0 > limit * 1024:
            raise Failed(f"RSS grew by more than {limit} MiB")


def check_seeks(model, n):
    # A queue: the seek flushes a streaming thread that is inside detection.
    pipe = Gst.parse_launch(f"videotestsrc ! video/x-raw,width=320,height=240,framerate=30/1 ! queue ! "
                            f"ipgnetdetect model={model} ! fakesink name=sink sync=false")
    frames = {"n": 0}
    pipe.get_by_name("sink").get_static_pad("sink").add_probe(
        Gst.PadProbeType.BUFFER, lambda pad, info: frames.__setitem__("n", frames["n"] + 1) or Gst.PadProbeReturn.OK)
    t0 = time.monotonic()
    try:
        wait_state(pipe, Gst.State.PLAYING, "seeks")
        for i in range(n):
            before = frames["n"]
            deadline = time.monotonic() + TIMEOUT
            while frames["n"] == before:   # detection running when the seek comes
                if time.monotonic() > deadline:
                    raise Failed(f"seek {i + 1}: no frame after {TIMEOUT:.0f} s (hang)")
                time.sleep(0.005)
            position = (i % 10) * Gst.SECOND // 3
            if not pipe.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.ACCURATE, position):
                raise Failed(f"seek {i + 1} was refused")
            ret, _, _ = pipe.get_state(int(TIMEOUT * Gst.SECOND))
            if ret != Gst.StateChangeReturn.SUCCESS:
                raise Failed(f"seek {i + 1}: not prerolled after {TIMEOUT:.0f} s (hang){bus_error(pipe)}")
        wait_state(pipe, Gst.State.NULL, "seeks")
    finally:
        pipe.set_state(Gst.State.NULL)
    print(f"seeks: {n} flushing seeks while detecting, {frames['n']} frames, {time.monotonic() - t0:.1f} s")


def check_two(model, n):
    pipes = [Gst.parse_launch(f"videotestsrc num-buffers={n} pattern={p} ! "
                              f"video/x-raw,width=320,height=240 ! ipgnetdetect model={model} ! "
                              f"fakesink name=sink") for p in ("ball", "smpte")]
    counts = [0, 0]
    for j, pipe in enumerate(pipes):
        pipe.get_by_name("sink").get_static_pad("sink").add_probe(
            Gst.PadProbeType.BUFFER,
            lambda pad, info, j=j: counts.__setitem__(j, counts[j] + 1) or Gst.PadProbeReturn.OK)
    t0 = time.monotonic()
    try:
        for pipe in pipes:
            pipe.set_state(Gst.State.PLAYING)
        for j, pipe in enumerate(pipes):
            wait_eos(pipe, f"pipeline {j + 1}", lambda: counts[j])
    finally:
        for pipe in pipes:
            pipe.set_state(Gst.State.NULL)
    print(f"two: 2 pipelines at once, {counts[0]} + {counts[1]} frames, {time.monotonic() - t0:.1f} s")
    if counts != [n, n]:
        raise Failed(f"each pipeline should have passed {n} frames")


CHECKS = {"cycles": (check_cycles, 1), "frames": (check_frames, 2), "seeks": (check_seeks, 1),
          "two": (check_two, 1)}


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in CHECKS or len(sys.argv) != 3 + CHECKS[sys.argv[2]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    Gst.init(None)
    if Gst.ElementFactory.find("ipgnetdetect") is None:
        print("FAIL: ipgnetdetect is not in the plugin path (GST_PLUGIN_PATH_1_0)")
        return 1
    fn = CHECKS[sys.argv[2]][0]
    status = 0
    try:
        fn(sys.argv[1], *(int(a) for a in sys.argv[3:]))
        print("ok")
    except Failed as e:
        print(f"FAIL: {e}")
        status = 1
    # Every pipeline released before gst_deinit(): the leaks tracer then
    # reports only what the elements themselves leaked.
    gc.collect()
    Gst.deinit()
    return status


if __name__ == "__main__":
    sys.exit(main())
