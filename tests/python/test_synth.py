"""The synthetic small-object set (ipgnet synth) and sample video (ipgnet synth-video)."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from ipgnet import synth
from ipgnet.__main__ import main

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(synth.DATA_DIR, synth.DIGITS_FILE)),
    reason="opencv-doc's example data is not installed")

SIZE = 160


@pytest.fixture(scope="module")
def glyphs():
    return synth.load_glyphs()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "a"
    assert main(["synth", "--out", str(out), "--seed", "3", "--train-images", "6", "--val-images", "3",
                 "--size", str(SIZE), "--workers", "1"]) == 0
    return out


def _load(out, split):
    with open(os.path.join(out, "annotations", f"instances_{split}.json"), "rb") as f:
        raw = f.read()
    return raw, json.loads(raw)


def test_glyph_layout(glyphs):
    assert len(glyphs) == 5000
    assert [g[0] for g in glyphs[::500]] == list(range(10))
    assert all(g[0] == i // 500 for i, g in enumerate(glyphs))
    train = synth.split_glyphs(glyphs, "train")
    val = synth.split_glyphs(glyphs, "val")
    for k in range(10):
        assert set(train[k]).isdisjoint(val[k])
        assert len(val[k]) >= 90 and len(train[k]) >= 360
        assert all(i % 5 == 0 for i in val[k]) and all(i % 5 != 0 for i in train[k])


def test_coco_schema_and_boxes(dataset):
    for split, n in (("train", 6), ("val", 3)):
        _, coco = _load(dataset, split)
        assert [c["id"] for c in coco["categories"]] == list(range(1, 11))
        assert [c["name"] for c in coco["categories"]] == [f"digit{i}" for i in range(10)]
        assert len(coco["images"]) == n
        ids = {im["id"] for im in coco["images"]}
        for im in coco["images"]:
            assert (im["width"], im["height"]) == (SIZE, SIZE)
            assert os.path.isfile(os.path.join(dataset, split, im["file_name"]))
        per_image = {}
        ann_ids = set()
        for a in coco["annotations"]:
            assert a["id"] not in ann_ids
            ann_ids.add(a["id"])
            assert a["image_id"] in ids and a["iscrowd"] == 0 and 1 <= a["category_id"] <= 10
            x, y, w, h = a["bbox"]
            assert all(isinstance(v, float) for v in a["bbox"])
            assert x >= 0 and y >= 0 and x + w <= SIZE and y + h <= SIZE
            assert w > 0 and h > 0 and 8 <= max(w, h) <= 48
            assert a["area"] == pytest.approx(w * h)
            assert a["glyph_id"] // 500 == a["category_id"] - 1
            per_image.setdefault(a["image_id"], []).append(a["bbox"])
        assert len(per_image) == n
        for boxes in per_image.values():
            assert 1 <= len(boxes) <= 15
            for i, (x0, y0, w0, h0) in enumerate(boxes):  # objects never overlap
                for x1, y1, w1, h1 in boxes[i + 1:]:
                    assert x0 + w0 <= x1 or x1 + w1 <= x0 or y0 + h0 <= y1 or y1 + h1 <= y0


def test_val_glyphs_unseen_in_train(dataset):
    _, train = _load(dataset, "train")
    _, val = _load(dataset, "val")
    tg = {a["glyph_id"] for a in train["annotations"]}
    vg = {a["glyph_id"] for a in val["annotations"]}
    assert tg and vg and tg.isdisjoint(vg)
    assert all(g % 5 == 0 for g in vg) and all(g % 5 != 0 for g in tg)


def test_deterministic(dataset, tmp_path):
    out = tmp_path / "b"
    # more workers, same bytes
    synth.generate(str(out), seed=3, train_images=6, val_images=3, size=SIZE, workers=2)
    for split in ("train", "val"):
        assert _load(dataset, split)[0] == _load(out, split)[0]
    other = tmp_path / "c"
    synth.generate(str(other), seed=4, train_images=6, val_images=3, size=SIZE, workers=1)
    assert _load(dataset, "train")[0] != _load(other, "train")[0]


def test_boxes_are_exact(glyphs):
    photos = synth.load_backgrounds()
    pool = synth.split_glyphs(glyphs, "train")
    rng = np.random.Generator(np.random.PCG64(11))
    n_obj = 0
    for _ in range(4):
        img, bg, objects = synth.render_image(rng, photos, glyphs, pool, 256, camera_noise=False)
        inside = np.zeros(img.shape[:2], bool)
        for o in objects:
            x0, y0, x1, y1 = o["box"]
            a = o["alpha"]
            assert a.shape == (y1 - y0, x1 - x0)
            # tight: ink touches all four sides of the box
            assert a[0].max() > 0 and a[-1].max() > 0 and a[:, 0].max() > 0 and a[:, -1].max() > 0
            inside[y0:y1, x0:x1] = True
            # the object really changed the pixels under its strongest ink
            ref = np.clip(bg[y0:y1, x0:x1] + 0.5, 0, 255).astype(np.uint8).astype(int)
            diff = np.abs(img[y0:y1, x0:x1].astype(int) - ref).sum(-1)
            assert diff[a > 0.5].mean() > 30
            n_obj += 1
        # outside every box the image is exactly the background
        ref = np.clip(bg + 0.5, 0, 255).astype(np.uint8)
        assert np.array_equal(img[~inside], ref[~inside])
    assert n_obj >= 12


def test_size_distribution(glyphs):
    rng = np.random.Generator(np.random.PCG64(5))
    sides = []
    for i in range(300):
        label = i % 10
        alpha = synth.render_glyph(rng, glyphs[label * 500 + 1 + i][1], synth.sample_side(rng))
        sides.append(max(alpha.shape))
    sides = np.array(sides)
    assert sides.min() >= 7 and sides.max() <= 50
    assert (sides < 32).mean() >= 0.6


needs_gst = pytest.mark.skipif(not shutil.which("gst-launch-1.0") or not shutil.which("gst-discoverer-1.0"),
                               reason="GStreamer tools not installed")


@needs_gst
@pytest.mark.parametrize("background", ["auto", "photo"])
def test_synth_video(tmp_path, background):
    out = tmp_path / "v.mp4"
    args = ["synth-video", "--out", str(out), "--frames", "10", "--size", "128x96", "--seed", "2",
            "--objects", "3", "--background", background]
    assert main(args) == 0
    assert out.stat().st_size > 0
    r = subprocess.run(["gst-discoverer-1.0", str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "H.264" in r.stdout
    gt = tmp_path / "v.gt.jsonl"
    lines = gt.read_text().splitlines()
    assert len(lines) == 10
    prev = None
    for i, line in enumerate(lines):
        rec = json.loads(line)
        assert rec["frame"] == i and (rec["width"], rec["height"]) == (128, 96)
        assert len(rec["objects"]) == 3
        for o in rec["objects"]:
            x0, y0, x1, y1 = o["box"]
            assert 0 <= x0 < x1 <= 128 and 0 <= y0 < y1 <= 96
            assert o["label"] == f"digit{o['label_id']}"
        boxes = [o["box"] for o in rec["objects"]]
        if prev is not None:  # smooth motion: a few pixels per frame at most
            for a, b in zip(prev, boxes):
                assert max(abs(u - v) for u, v in zip(a, b)) <= 4
        prev = boxes
    # deterministic ground truth
    out2 = tmp_path / "w.mp4"
    args[2] = str(out2)
    assert main(args) == 0
    assert (tmp_path / "w.gt.jsonl").read_bytes() == gt.read_bytes()
