#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""multistream_bench.py: several cameras on one model (issue 14 part 3).

Each configuration runs in a child process of its own (so its peak RSS is
its own), one pipeline with S branches, one streaming thread each:
    videotestsrc num-buffers=F ! video/x-raw,format=RGB,WxH
      ! ipgnetdetect inference-mode=every-frame [model-instance-id=cams
        batch-size=B] ! fakesink
The configurations, run alternately for --rounds rounds:
    1-private    one stream, the model of its own
    4-private    four streams, each element with its own model and context
                 (model loaded, program built, weights uploaded four times)
    4-shared     four streams on one model-instance-id, batch-size 1: one
                 model, program and weights; four contexts run separately
    4-batched    the same with batch-size 4: the four streams' frames run
                 as one batch of four
It reports, per configuration, the median over the rounds of: peak RSS (MB,
the whole process: Python, GStreamer, PoCL), start-up (PLAYING to the first
frame of every stream at its sink: model load, OpenCL context, program,
weights, prepare, first inference) and total frames per second after
start-up (frames after each stream's first, over the time from the last
first frame to EOS). Then the ratios the issue asks for, each taken within a
round (the configurations of a round run back to back, so a ratio sees one
load) and given as the median and range over the rounds. Last, the engine
alone, without GStreamer or threads: ipgnet-detect --bench on one frame of
the same size, batch-frames 1 and 4 alternately, per-frame time ratios.
Usage: tools/multistream_bench.py [--build build] [--model M] [--frames 8]
       [--size 640x480] [--rounds 3]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = [("1-private", 1, None, 1), ("4-private", 4, None, 1), ("4-shared", 4, "cams", 1),
           ("4-batched", 4, "cams", 4)]


def child(a):
    """One configuration in this process; prints one JSON line."""
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    Gst.init(None)
    w, h = (int(v) for v in a.size.split("x"))
    branches = []
    for s in range(a.streams):
        share = f"model-instance-id={a.instance} batch-size={a.batch} " if a.instance else ""
        branches.append(f"videotestsrc num-buffers={a.frames} pattern=ball ! "
                        f"video/x-raw,format=RGB,width={w},height={h},framerate=30/1 ! "
                        f"ipgnetdetect name=d{s} model={a.model} threshold=0.3 inference-mode=every-frame "
                        f"{share}! fakesink name=s{s} sync=false")
    pipeline = Gst.parse_launch("  ".join(branches))
    first = [None] * a.streams
    count = [0] * a.streams

    def probe(pad, info, s):
        if first[s] is None:
            first[s] = time.monotonic()
        count[s] += 1
        return Gst.PadProbeReturn.OK

    for s in range(a.streams):
        pipeline.get_by_name(f"s{s}").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe, s)
    bus = pipeline.get_bus()
    t0 = time.monotonic()
    pipeline.set_state(Gst.State.PLAYING)
    msg = bus.timed_pop_filtered(900 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    t_end = time.monotonic()
    if msg is None or msg.type != Gst.MessageType.EOS:
        pipeline.set_state(Gst.State.NULL)
        sys.exit(f"the pipeline did not reach EOS: {msg.parse_error() if msg else 'timeout'}")
    batched = sum(pipeline.get_by_name(f"d{s}").get_property("frames-batched") for s in range(a.streams))
    pipeline.set_state(Gst.State.NULL)
    if count != [a.frames] * a.streams:
        sys.exit(f"frames out {count}, expected {a.frames} per stream")
    last_first = max(first)
    print(json.dumps({
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "startup_s": last_first - t0,
        "fps": (sum(count) - a.streams) / (t_end - last_first),
        "batched": batched,
    }))


def run_config(a, streams, instance, batch):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--streams", str(streams), "--batch", str(batch),
           "--model", a.model, "--frames", str(a.frames), "--size", a.size]
    if instance:
        cmd += ["--instance", instance]
    env = dict(os.environ, GST_PLUGIN_PATH_1_0=os.path.join(os.path.abspath(a.build), "gst"))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def engine_batch(a):
    """Per-frame median ms of the CLI's --bench at batch-frames 1 and 4, alternately."""
    w, h = (int(v) for v in a.size.split("x"))
    image = os.path.join(os.path.abspath(a.build), "bench", f"multistream-{w}x{h}.png")
    if not os.path.exists(image):
        from PIL import Image

        os.makedirs(os.path.dirname(image), exist_ok=True)
        Image.open(os.path.join(ROOT, "docs", "demo-still.jpg")).convert("RGB").resize((w, h)).save(image)
    tool = os.path.join(os.path.abspath(a.build), "tools", "cli", "ipgnet-detect")
    per_frame = {1: [], 4: []}
    ratios = []
    for r in range(a.rounds):
        for k in (1, 4) if r % 2 == 0 else (4, 1):
            out = subprocess.run([tool, "-m", a.model, "--bench", "5", "--batch-frames", str(k), image],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"ipgnet-detect --batch-frames {k} failed:\n{out.stderr}")
            ms = float(out.stdout.split("median_ms_per_frame=")[1].split()[0])
            per_frame[k].append(ms)
            print(f"round {r + 1} engine batch-frames {k}: {ms:.1f} ms per frame", flush=True)
        ratios.append(per_frame[1][-1] / per_frame[4][-1])
    ratios.sort()
    print(f"engine alone, per frame: single {statistics.median(per_frame[1]):.1f} ms, batch of 4 "
          f"{statistics.median(per_frame[4]):.1f} ms (medians); batch / single throughput median "
          f"{statistics.median(ratios):.2f} (rounds {ratios[0]:.2f}..{ratios[-1]:.2f})")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--model", default=os.path.join(ROOT, "models", "ipgnet-demo.safetensors"))
    p.add_argument("--frames", type=int, default=8, help="frames per stream")
    p.add_argument("--size", default="640x480")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--streams", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--instance", default=None, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return child(a)
    results = {name: [] for name, *_ in CONFIGS}
    for r in range(a.rounds):
        # Alternate the order each round, so that drifting load on the shared
        # machine falls on every configuration alike.
        order = CONFIGS if r % 2 == 0 else CONFIGS[::-1]
        for name, streams, instance, batch in order:
            res = run_config(a, streams, instance, batch)
            results[name].append(res)
            print(f"round {r + 1} {name}: {json.dumps(res)}", flush=True)
    med = {name: {k: statistics.median(x[k] for x in runs) for k in runs[0]} for name, runs in results.items()}
    print(f"\n{a.size} RGB, {a.frames} frames per stream, {a.rounds} rounds, medians:")
    print("| configuration | peak RSS MB | start-up s | total fps | frames batched |")
    print("| --- | --- | --- | --- | --- |")
    for name, m in med.items():
        print(f"| {name} | {m['rss_mb']:.0f} | {m['startup_s']:.2f} | {m['fps']:.2f} | {m['batched']:.0f} |")
    one, priv = med["1-private"], med["4-private"]
    print(f"\nRSS above 1 stream: private +{priv['rss_mb'] - one['rss_mb']:.0f} MB, "
          f"shared +{med['4-shared']['rss_mb'] - one['rss_mb']:.0f} MB, "
          f"batched +{med['4-batched']['rss_mb'] - one['rss_mb']:.0f} MB")

    def ratio(what, num, den, key):
        r = sorted(x[key] / y[key] for x, y in zip(results[num], results[den]))
        print(f"{what}: {num} / {den} median {statistics.median(r):.2f} (rounds {r[0]:.2f}..{r[-1]:.2f})")

    for n in ("4-private", "4-shared", "4-batched"):
        ratio("RSS", n, "1-private", "rss_mb")
    for n in ("4-private", "4-shared", "4-batched"):
        ratio("start-up", n, "1-private", "startup_s")
    ratio("total fps", "4-batched", "4-private", "fps")
    ratio("total fps", "4-batched", "4-shared", "fps")
    ratio("total fps", "4-shared", "4-private", "fps")
    ratio("total fps", "4-private", "1-private", "fps")
    engine_batch(a)


if __name__ == "__main__":
    main()
