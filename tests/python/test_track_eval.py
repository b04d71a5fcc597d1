"""Ground truth with identities (ipgnet synth-video) and the tracking scorer (tools/track_eval.py)."""

import json
import os
import shutil
import subprocess

import pytest

from ipgnet.__main__ import main

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EVAL = os.path.join(ROOT, "tools", "track_eval.py")
VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
PLUGIN = os.path.join(ROOT, "build", "gst", "libgstipgnet.so")
DEMO = os.path.join(ROOT, "models", "ipgnet-demo.safetensors")

needs_gst = pytest.mark.skipif(not shutil.which("gst-launch-1.0"), reason="GStreamer tools not installed")


def _scorer_python():
    """An interpreter that has motmetrics and supervision (.venv, see tools/setup-venv.sh)."""
    if os.path.exists(VENV_PYTHON):
        r = subprocess.run([VENV_PYTHON, "-c", "import motmetrics, supervision; supervision.ByteTrack"],
                           capture_output=True, timeout=120)
        if r.returncode == 0:
            return VENV_PYTHON
    pytest.skip("no .venv with motmetrics and supervision (tools/setup-venv.sh)")


@needs_gst
def test_synth_video_ids(tmp_path):
    """Every digit has one id, 1..N, on every frame, and the id follows its box."""
    out = tmp_path / "v.mp4"
    assert main(["synth-video", "--out", str(out), "--frames", "12", "--size", "128x96", "--seed", "5",
                 "--objects", "3", "--background", "photo"]) == 0
    prev = None
    for line in (tmp_path / "v.gt.jsonl").read_text().splitlines():
        rec = json.loads(line)
        ids = [o["id"] for o in rec["objects"]]
        assert sorted(ids) == [1, 2, 3]
        boxes = {o["id"]: (o["box"], o["label_id"]) for o in rec["objects"]}
        assert all(set(o) == {"label", "label_id", "box", "id"} for o in rec["objects"])
        if prev is not None:
            for i, (box, label) in boxes.items():
                assert label == prev[i][1]
                assert max(abs(u - v) for u, v in zip(box, prev[i][0])) <= 4
        prev = boxes


def _write(path, lines):
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))


def _gt_frame(i, objs):
    return {"frame": i, "pts": i / 25, "width": 100, "height": 100,
            "objects": [{"label": "digit1", "label_id": 1, "box": b, "id": k} for k, b in objs]}


def _track_frame(objs):
    return {"timestamp": 0, "resolution": {"width": 100, "height": 100},
            "objects": [{"x": 0, "y": 0, "w": 1, "h": 1, "id": k, "roi_type": "digit1",
                         "detection": {"bounding_box": {"x_min": b[0] / 100, "y_min": b[1] / 100,
                                                        "x_max": b[2] / 100, "y_max": b[3] / 100},
                                       "confidence": 0.9, "label_id": 1, "label": "digit1"}} for k, b in objs]}


def _score(tmp_path, gt, tracks):
    _write(tmp_path / "gt.jsonl", gt)
    _write(tmp_path / "tracks.jsonl", tracks)
    out = tmp_path / "res.json"
    r = subprocess.run([_scorer_python(), EVAL, "--gt", str(tmp_path / "gt.jsonl"), "--tracks",
                        str(tmp_path / "tracks.jsonl"), "--json", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())[0]


def test_scorer_perfect_and_switch(tmp_path):
    """Exact tracks score MOTA = IDF1 = 1; swapping ids halfway is one switch per object."""
    a = lambda i: [10 + i, 10, 30 + i, 30]  # noqa: E731
    b = lambda i: [60, 50 + i, 80, 70 + i]  # noqa: E731
    gt = [_gt_frame(i, [(1, a(i)), (2, b(i))]) for i in range(10)]
    m = _score(tmp_path, gt, [_track_frame([(7, a(i)), (9, b(i))]) for i in range(10)])
    assert m["mota"] == pytest.approx(1.0) and m["idf1"] == pytest.approx(1.0) and m["id_switches"] == 0

    swapped = [_track_frame([(7, a(i)), (9, b(i))] if i < 5 else [(9, a(i)), (7, b(i))]) for i in range(10)]
    m = _score(tmp_path, gt, swapped)
    assert m["id_switches"] == 2
    assert m["idf1"] == pytest.approx(0.5)
    assert m["mota"] == pytest.approx(0.9)   # 1 - 2 switches / 20 objects

    # Objects without an id (untracked detections) are not the tracker's.
    untracked = [_track_frame([(None, a(i)), (9, b(i))]) for i in range(10)]
    for t in untracked:
        del t["objects"][0]["id"]
    m = _score(tmp_path, gt, untracked)
    assert m["recall"] == pytest.approx(0.5)


@needs_gst
@pytest.mark.skipif(not os.path.exists(PLUGIN), reason="build/gst/libgstipgnet.so not built")
def test_scorer_on_a_clip(tmp_path):
    """The whole path on a short clip: synth-video, the pipeline with ipgnettrack, ours and the peer scored."""
    py = _scorer_python()
    out = tmp_path / "c.mp4"
    assert main(["synth-video", "--out", str(out), "--frames", "30", "--size", "320x192", "--seed", "1",
                 "--objects", "4", "--background", "photo"]) == 0
    res = tmp_path / "res.json"
    r = subprocess.run([py, EVAL, "--video", str(out), "--model", DEMO, "--interval", "2",
                        "--build", os.path.join(ROOT, "build"), "--json", str(res)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = json.loads(res.read_text())
    assert [row["tracker"] for row in rows] == ["ipgnettrack (per class)", "ipgnettrack (across classes)",
                                                "supervision ByteTrack 0.26.1"]
    for row in rows:
        assert row["interval"] == 2 and row["gt_ids"] == 4
        assert 0.0 <= row["idf1"] <= 1.0 and row["mota"] <= 1.0
    # The demo model finds the digits: our tracks cover some of them.
    assert rows[0]["recall"] > 0.2
