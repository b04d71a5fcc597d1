#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""realtime_bench.py: ipgnetdetect inference-mode=realtime behind a live source.

For each size, runs
    videotestsrc is-live=true num-buffers=N ! video/x-raw,format=NV12,WxH,30/1
      ! ipgnetdetect inference-mode=realtime ! fakesink sync=true
and reports: frames out (must be N), wall time from PLAYING to EOS against the
video's duration, the start-up (PLAYING to the first frame at the sink), the
latency the element adds (its LATENCY answer: the longest inference), and
frames inferred / skipped. The check the issue asks for:
    wall <= duration + start-up + one inference
Usage: tools/realtime_bench.py [--build build] [--model M] [--frames 150]
       [--sizes 1280x720,1920x1080]
"""
import argparse
import os
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def run(model, width, height, frames):
    desc = (f"videotestsrc is-live=true num-buffers={frames} ! "
            f"video/x-raw,format=NV12,width={width},height={height},"
            f"framerate=30/1 ! ipgnetdetect name=d inference-mode=realtime "
            f"model={model} ! fakesink name=s sync=true")
    pipeline = Gst.parse_launch(desc)
    detect = pipeline.get_by_name("d")
    sink = pipeline.get_by_name("s")
    seen = {"n": 0, "first": None, "last_pts": -1, "ordered": True}

    def probe(pad, info):
        buf = info.get_buffer()
        if seen["first"] is None:
            seen["first"] = time.monotonic()
        if buf.pts <= seen["last_pts"]:
            seen["ordered"] = False
        seen["last_pts"] = buf.pts
        seen["n"] += 1
        return Gst.PadProbeReturn.OK

    sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
    bus = pipeline.get_bus()
    t0 = time.monotonic()
    pipeline.set_state(Gst.State.PLAYING)
    msg = bus.timed_pop_filtered(120 * Gst.SECOND,
                                 Gst.MessageType.EOS | Gst.MessageType.ERROR)
    wall = time.monotonic() - t0
    if msg is None or msg.type != Gst.MessageType.EOS:
        pipeline.set_state(Gst.State.NULL)
        sys.exit(f"{width}x{height}: the pipeline did not reach EOS: {msg}")

    # The element's own share of the latency: its answer minus upstream's.
    q_out, q_in = Gst.Query.new_latency(), Gst.Query.new_latency()
    added = 0.0
    if (detect.get_static_pad("src").query(q_out)
            and detect.get_static_pad("sink").peer_query(q_in)):
        added = (q_out.parse_latency()[1] - q_in.parse_latency()[1]) / 1e9
    inferred = detect.get_property("frames-inferred")
    skipped = detect.get_property("frames-skipped")
    mean_ms = detect.get_property("latency")
    pipeline.set_state(Gst.State.NULL)

    duration = frames / 30.0
    startup = (seen["first"] - t0) if seen["first"] else float("nan")
    bound = duration + startup + added
    return {
        "size": f"{width}x{height}", "frames_out": seen["n"],
        "ordered": seen["ordered"], "wall": wall, "duration": duration,
        "startup": startup, "inference_worst": added,
        "inference_mean": mean_ms / 1000.0, "inferred": inferred,
        "skipped": skipped, "bound": bound,
        "ok": seen["n"] == frames and seen["ordered"] and wall <= bound,
    }


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(root, "build"))
    ap.add_argument("--model",
                    default=os.path.join(root, "models",
                                         "ipgnet-demo.safetensors"))
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--sizes", default="1280x720,1920x1080")
    args = ap.parse_args()

    os.environ["GST_PLUGIN_PATH_1_0"] = os.path.join(args.build, "gst")
    Gst.init(None)
    if Gst.ElementFactory.find("ipgnetdetect") is None:
        sys.exit(f"ipgnetdetect is not in {args.build}/gst: build first")

    print("| size | frames out | wall s | video s | start-up s | inference "
          "s (worst / mean) | inferred | skipped | wall <= video + start-up "
          "+ one inference |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    failed = False
    for size in args.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        r = run(args.model, w, h, args.frames)
        failed |= not r["ok"]
        print(f"| {r['size']} | {r['frames_out']}/{args.frames}"
              f"{'' if r['ordered'] else ' (reordered!)'} | {r['wall']:.2f} "
              f"| {r['duration']:.2f} | {r['startup']:.2f} | "
              f"{r['inference_worst']:.3f} / {r['inference_mean']:.3f} | "
              f"{r['inferred']} | {r['skipped']} | "
              f"{'yes' if r['ok'] else 'NO'} ({r['bound']:.2f}) |",
              flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
