#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scores ipgnettrack against ground truth with identities, and against a
peer tracker (supervision's ByteTrack) fed the SAME detections.

    .venv/bin/python tools/track_eval.py --video CLIP.mp4 --model models/ipgnet-demo.safetensors \\
        [--gt CLIP.gt.jsonl] [--interval 1 3] [--build build] [--out-dir DIR]

runs, per interval, one pipeline

    filesrc ! decodebin ! videoconvert ! ipgnetdetect threshold=LOW interval=N ! tee
      -> ipgnettrack per-class=true  ! ipgnetjson   (ours)
      -> ipgnettrack per-class=false ! ipgnetjson   (ours, across classes)

so that every tracker sees the detections of one detector run. The peer
tracker is given the detections found in that JSON (the objects not marked
"tracked"), on the inferred frames only (it has no prediction of its own for
frames the detector skipped). `--tracks FILE.jsonl --gt GT` scores an
existing ipgnetjson output instead (objects with an "id" are the tracker's).

Metrics are py-motmetrics' CLEAR-MOT and identity metrics (MOTA, IDF1, ID
switches, precision, recall), with a ground-truth box and a hypothesis
matched when their IoU is at least 0.5. The ground truth is `ipgnet
synth-video`'s (one "id" per moving digit). Needs .venv (tools/setup-venv.sh:
motmetrics, supervision, pinned to work with Debian's numpy 1.24).
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

# ByteTrack's settings, shared by ours (the element's defaults) and the peer;
# --track-thresh changes the high score for both (a new track needs 0.1 more,
# as in ByteTrack).
TRACK_THRESH = 0.5
LOW_THRESH = 0.1
MATCH_THRESH = 0.8
MAX_AGE = 30
IOU_MATCH = 0.5


class EvalError(Exception):
    pass


def load_gt(path):
    """Frames of [(id, [x1, y1, x2, y2])] from an `ipgnet synth-video` ground truth."""
    frames = []
    with open(path) as f:
        for n, line in enumerate(f):
            rec = json.loads(line)
            if rec["frame"] != n:
                raise EvalError(f"{path}: line {n + 1} is frame {rec['frame']}, expected {n}")
            objs = []
            for o in rec.get("objects", []):
                if "id" not in o:
                    raise EvalError(f"{path}: frame {n} has an object without \"id\" "
                                    "(made by an older ipgnet synth-video? make the clip again)")
                objs.append((int(o["id"]), [float(v) for v in o["box"]]))
            frames.append(objs)
    return frames


def load_ipgnetjson(path):
    """Frames of objects from ipgnetjson's output: dicts with box (pixels),
    confidence, label_id, id (None without one) and tracked."""
    frames = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            w, h = rec["resolution"]["width"], rec["resolution"]["height"]
            objs = []
            for o in rec.get("objects", []):
                d = o["detection"]
                b = d["bounding_box"]
                objs.append({"box": [b["x_min"] * w, b["y_min"] * h, b["x_max"] * w, b["y_max"] * h],
                             "confidence": d.get("confidence", 1.0), "label_id": d.get("label_id", 0),
                             "id": o.get("id"), "tracked": bool(o.get("extra_params", {}).get("tracked", False))})
            frames.append(objs)
    return frames


def run_pipeline(video, model, interval, outputs, build, threshold=LOW_THRESH):
    """One detector run, teed to one ipgnettrack + ipgnetjson per (properties, path) in outputs."""
    gst = shutil.which("gst-launch-1.0")
    if gst is None:
        raise EvalError("gst-launch-1.0 not found (install gstreamer1.0-tools)")
    args = [gst, "-q", "filesrc", f"location={video}", "!", "decodebin", "!", "videoconvert", "!",
            "ipgnetdetect", f"model={model}", f"threshold={threshold}", f"interval={interval}",
            "!", "tee", "name=t"]
    for props, path in outputs:
        args += ["t.", "!", "queue", "!", "ipgnettrack"] + props + ["!", "ipgnetjson", f"location={path}", "add-empty-results=true",
                                                                  "!", "fakesink", "sync=false"]
    env = dict(os.environ)
    env["GST_PLUGIN_PATH_1_0"] = os.path.join(os.path.abspath(build), "gst")
    r = subprocess.run(args, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise EvalError(f"the pipeline failed ({r.returncode}): {' '.join(args)}\n{r.stderr.strip()[-2000:]}")


def ours(frames):
    """The tracker's output: every object with an id (detections it tracks, boxes it predicted)."""
    return [[(o["id"], o["box"]) for o in objs if o["id"] is not None] for objs in frames]


def peer_bytetrack(frames, interval, track_thresh=TRACK_THRESH):
    """supervision's ByteTrack on the detections of the inferred frames, same settings as ours."""
    import numpy as np
    import supervision as sv

    # Same time before a lost track is dropped: MAX_AGE frames of video.
    tracker = sv.ByteTrack(track_activation_threshold=track_thresh,
                           lost_track_buffer=max(1, math.ceil(MAX_AGE / interval)),
                           minimum_matching_threshold=MATCH_THRESH, frame_rate=30,
                           minimum_consecutive_frames=1)
    out = []
    for i, objs in enumerate(frames):
        if i % interval != 0:
            out.append([])
            continue
        dets = [o for o in objs if not o["tracked"]]
        if dets:
            d = sv.Detections(xyxy=np.array([o["box"] for o in dets], dtype=np.float32),
                              confidence=np.array([o["confidence"] for o in dets], dtype=np.float32),
                              class_id=np.array([int(o["label_id"]) for o in dets], dtype=int))
        else:
            d = sv.Detections.empty()
        t = tracker.update_with_detections(d)
        # tracker_id -1: not confirmed yet (minimum_consecutive_frames)
        out.append([(int(tid), [float(v) for v in box]) for tid, box in zip(t.tracker_id, t.xyxy) if tid >= 0])
    return out


def score(gt, hyp):
    """py-motmetrics summary of one tracker's frames against the ground truth."""
    import motmetrics as mm
    import numpy as np

    if len(hyp) != len(gt):
        raise EvalError(f"{len(hyp)} frames of tracks for {len(gt)} frames of ground truth")
    acc = mm.MOTAccumulator(auto_id=True)

    def xywh(boxes):
        a = np.array(boxes, dtype=np.float64).reshape(-1, 4)
        a[:, 2:] -= a[:, :2]
        return a

    for g, h in zip(gt, hyp):
        dist = mm.distances.iou_matrix(xywh([b for _, b in g]), xywh([b for _, b in h]), max_iou=1.0 - IOU_MATCH)
        acc.update([i for i, _ in g], [i for i, _ in h], dist)
    mh = mm.metrics.create()
    s = mh.compute(acc, metrics=["mota", "idf1", "num_switches", "precision", "recall", "num_unique_objects",
                                 "mostly_tracked"], name="x")
    row = s.loc["x"]
    return {"mota": float(row["mota"]), "idf1": float(row["idf1"]), "id_switches": int(row["num_switches"]),
            "precision": float(row["precision"]), "recall": float(row["recall"]),
            "ids": len({i for f in hyp for i, _ in f}), "gt_ids": int(row["num_unique_objects"]),
            "mostly_tracked": int(row["mostly_tracked"])}


def table(rows):
    lines = ["| tracker | interval | MOTA | IDF1 | ID switches | precision | recall | ids (gt) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, interval, m in rows:
        lines.append(f"| {name} | {interval} | {m['mota']:.3f} | {m['idf1']:.3f} | {m['id_switches']} | "
                     f"{m['precision']:.3f} | {m['recall']:.3f} | {m['ids']} ({m['gt_ids']}) |")
    return "\n".join(lines)


def evaluate(video, model, gt_path, intervals, build, out_dir, track_thresh=TRACK_THRESH):
    gt = load_gt(gt_path)
    rows = []
    thresholds = [f"track-thresh={track_thresh}", f"new-track-thresh={min(1.0, track_thresh + 0.1)}"]
    for interval in intervals:
        paths = {name: os.path.join(out_dir, f"{name}-i{interval}.jsonl") for name in ("ours", "ours-any")}
        run_pipeline(video, model, interval, [(["per-class=true"] + thresholds, paths["ours"]),
                                              (["per-class=false"] + thresholds, paths["ours-any"])], build)
        frames = load_ipgnetjson(paths["ours"])
        rows.append(("ipgnettrack (per class)", interval, score(gt, ours(frames))))
        rows.append(("ipgnettrack (across classes)", interval, score(gt, ours(load_ipgnetjson(paths["ours-any"])))))
        rows.append(("supervision ByteTrack 0.26.1", interval, score(gt, peer_bytetrack(frames, interval, track_thresh))))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", help="clip from `ipgnet synth-video` (runs the pipeline)")
    ap.add_argument("--gt", help="ground truth JSON Lines (default: VIDEO with .gt.jsonl)")
    ap.add_argument("--tracks", help="score this ipgnetjson output instead of running a pipeline")
    ap.add_argument("--model", default="models/ipgnet-demo.safetensors")
    ap.add_argument("--interval", type=int, nargs="+", default=[1, 3], help="ipgnetdetect interval(s)")
    ap.add_argument("--build", default="build", help="meson build directory (its gst/ holds the plugin)")
    ap.add_argument("--out-dir", help="keep the JSON Lines here (default: a temporary directory)")
    ap.add_argument("--track-thresh", type=float, default=TRACK_THRESH,
                    help="high score of both trackers (ByteTrack's default 0.5)")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args(argv)
    try:
        import motmetrics  # noqa: F401
    except ImportError:
        print("track_eval: motmetrics is not installed: run tools/setup-venv.sh and use .venv/bin/python",
              file=sys.stderr)
        return 2
    try:
        if a.tracks:
            if not a.gt:
                raise EvalError("--tracks needs --gt")
            rows = [("tracks", a.interval[0], score(load_gt(a.gt), ours(load_ipgnetjson(a.tracks))))]
        else:
            if not a.video:
                raise EvalError("give --video (run a pipeline) or --tracks and --gt")
            gt = a.gt or (a.video[:-4] if a.video.lower().endswith(".mp4") else a.video) + ".gt.jsonl"
            with tempfile.TemporaryDirectory() as tmp:
                out_dir = a.out_dir or tmp
                os.makedirs(out_dir, exist_ok=True)
                rows = evaluate(a.video, a.model, gt, a.interval, a.build, out_dir, a.track_thresh)
    except (EvalError, OSError, ValueError, KeyError) as e:
        print(f"track_eval: {e}", file=sys.stderr)
        return 1
    print(table(rows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"tracker": n, "interval": i, **m} for n, i, m in rows], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
