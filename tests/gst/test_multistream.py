#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Four cameras on one model, as gst-launch-1.0 pipelines in one process.

One gst-launch-1.0 process runs four branches
    videotestsrc pattern=P num-buffers=N ! ipgnetdetect ... ! ipgnetjson location=sK.jsonl
first with private elements, then with model-instance-id=cams (batch-size 1,
then 4). The JSON Lines of every stream must be the same in all three runs
(one line per frame, in order, the same objects); stream 3 has fewer frames
(its EOS comes first and the others go on without waiting out the 10 s
batch-timeout for it, nor for the streams held in their sinks' preroll). A fourth run names another model on the same id
and must fail with both models named. Last, start/stop cycles: three live
branches batched (realtime mode), stopped at random moments, and a stream
stopped alone while the others run; every state change returns at once.

Usage: test_multistream.py SOURCE_ROOT. Prints one line per check and
'N passed, N failed'.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

root = sys.argv[1]
model = os.environ.get("IPGNET_TEST_MODEL", os.path.join(root, "tests", "data", "tiny-r18.safetensors"))
other = os.path.join(root, "tests", "data", "tiny-frcnn.safetensors")
FRAMES = [6, 6, 6, 2]
PATTERNS = ["ball", "smpte", "snow", "pinwheel"]
passed = failed = 0


def check(ok, what):
    global passed, failed
    passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
    print(("ok   " if ok else "FAIL ") + what)
    sys.stdout.flush()


def launch(tmp, tag, share, models=None):
    """Runs the four branches; returns (returncode, stderr, seconds, [lines per stream])."""
    args = ["gst-launch-1.0", "-q"]
    outs = []
    for s, (n, pattern) in enumerate(zip(FRAMES, PATTERNS)):
        out = os.path.join(tmp, f"{tag}-s{s}.jsonl")
        outs.append(out)
        m = models[s] if models else model
        args += ["videotestsrc", f"pattern={pattern}", f"num-buffers={n}", "!",
                 "video/x-raw,format=RGB,width=96,height=72,framerate=30/1", "!",
                 "ipgnetdetect", f"model={m}", "threshold=0", "inference-mode=every-frame", *share, "!",
                 "ipgnetjson", f"location={out}", "add-empty-results=true", "!", "fakesink"]
    t0 = time.monotonic()
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    took = time.monotonic() - t0
    lines = []
    for out in outs:
        try:
            with open(out) as f:
                lines.append([json.loads(line) for line in f])
        except (OSError, ValueError):
            lines.append(None)
    return r.returncode, r.stderr, took, lines


def objects(line):
    return [(o["detection"]["label"], round(o["detection"]["confidence"], 4), o["x"], o["y"], o["w"], o["h"])
            for o in line.get("objects", [])]


def cycles(n_cycles=8):
    """Live batched branches stopped mid-stream; returns the longest NULL transition in s, or None on error."""
    import random

    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    Gst.init(None)
    rng = random.Random(14)
    worst = 0.0
    for c in range(n_cycles):
        desc = "  ".join(
            f"videotestsrc is-live=true pattern={p} ! video/x-raw,format=NV12,width=96,height=72,framerate=30/1 ! "
            f"ipgnetdetect name=d{s} model={model} model-instance-id=cycles batch-size=3 batch-timeout=10000 ! "
            f"fakesink name=k{s} sync=true" for s, p in enumerate(PATTERNS[:3]))
        pipe = Gst.parse_launch(desc)
        bus = pipe.get_bus()
        pipe.set_state(Gst.State.PLAYING)
        time.sleep(rng.uniform(0.2, 0.8))
        if c % 2:
            # One branch stops alone; the others must go on.
            for name in ("d2", "k2"):
                e = pipe.get_by_name(name)
                e.set_locked_state(True)
                t0 = time.monotonic()
                e.set_state(Gst.State.NULL)
                worst = max(worst, time.monotonic() - t0)
            time.sleep(0.3)
        t0 = time.monotonic()
        pipe.set_state(Gst.State.NULL)
        worst = max(worst, time.monotonic() - t0)
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        if msg is not None:
            print(f"cycle {c}: {msg.parse_error()}")
            return None
    return worst


def main():
    with tempfile.TemporaryDirectory() as tmp:
        rc, err, _, private = launch(tmp, "private", [])
        check(rc == 0, f"private elements: exit 0 {err[-300:]!r}")
        check(all(p is not None and len(p) == n for p, n in zip(private, FRAMES)),
              f"private: one JSON line per frame {[len(p or []) for p in private]}")
        check(sum(len(objects(line)) for p in private for line in p or []) > 0,
              "private: the streams have detections (else equality proves nothing)")
        for tag, share in [("shared", ["model-instance-id=cams"]),
                           ("batched", ["model-instance-id=cams", "batch-size=4", "batch-timeout=10000"])]:
            rc, err, took, got = launch(tmp, tag, share)
            check(rc == 0, f"{tag}: exit 0 {err[-300:]!r}")
            for s in range(4):
                ok = got[s] is not None and len(got[s]) == FRAMES[s] and all(
                    objects(a) == objects(b) and a.get("timestamp") == b.get("timestamp")
                    for a, b in zip(got[s], private[s]))
                check(ok, f"{tag}: stream {s}: {FRAMES[s]} frames in order, the private elements' objects")
            if tag == "batched":
                # Frames 3..6 of streams 0-2 follow stream 3's EOS, and the
                # first frames wait in the sinks' preroll: waiting out the
                # 10 s timeout for either would take 10 s or more.
                check(took < 8, f"batched: no wait for an ended or prerolling stream ({took:.1f} s)")
        rc, err, _, _ = launch(tmp, "mismatch", ["model-instance-id=cams"], [model, model, model, other])
        check(rc != 0 and "tiny-r18.safetensors" in err and "tiny-frcnn.safetensors" in err
              and "model-instance-id" in err, f"another model on the id: error naming both {err[-400:]!r}")
    worst = cycles()
    # A stream leaving must not stall the others: no state change waits out
    # the 10 s batch-timeout.
    check(worst is not None and worst < 8, f"start/stop cycles: no error, longest stop {worst} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
