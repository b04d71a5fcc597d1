"""Our tiling (tools/ipgnet/tiling.py) against SAHI's own functions, where SAHI
defines the behaviour: the grid (sahi.slicing.get_slice_bboxes) and the greedy
NMM / NMS merge (sahi.postprocess.combine, class-wise).  Needs sahi, which
tools/setup-venv.sh pins in .venv; tests/run-all.sh runs this file with
.venv/bin/python.  Two documented differences are asserted too: NMS with a
metric exactly at the threshold (SAHI suppresses at >=, ours at > as
torchvision's nms; NMM follows SAHI: a group at >=, a merge at >) and ties in
score (SAHI orders them by coordinates, ours by pool order)."""

import numpy as np
import pytest
import torch

try:
    from sahi.postprocess.combine import GreedyNMMPostprocess, NMSPostprocess
    from sahi.prediction import ObjectPrediction
    from sahi.slicing import get_slice_bboxes
except ImportError as e:
    pytest.skip(f"sahi is not importable by this python ({e}); tools/setup-venv.sh installs it into "
                ".venv and tests/run-all.sh runs this file with .venv/bin/python",
                allow_module_level=True)

from ipgnet.tiling import TileOptions, merge_detections, tile_grid


def ours_grid(w, h, tw, th, o):
    g = tile_grid(w, h, TileOptions(size=(tw, th), overlap=o, max_tiles=10 ** 9))
    return [[x0, y0, x0 + tw_, y0 + th_] for x0, y0, tw_, th_ in g]


def sahi_grid(w, h, tw, th, o):
    return get_slice_bboxes(image_height=h, image_width=w, slice_height=th, slice_width=tw,
                            auto_slice_resolution=False, overlap_height_ratio=o, overlap_width_ratio=o)


@pytest.mark.parametrize("w,h,tw,th,o", [
    (300, 200, 512, 512, 0.2), (512, 512, 512, 512, 0.2), (1, 1, 512, 512, 0.2), (17, 9, 8, 4, 0.25),
    (17, 9, 512, 512, 0.2), (4096, 2160, 512, 512, 0.2), (8192, 8192, 512, 512, 0.2),
    (1920, 1080, 512, 512, 0.2), (1920, 1080, 640, 360, 0.0), (1000, 1000, 100, 100, 0.9),
    (300, 1000, 512, 512, 0.2), (1025, 513, 512, 512, 0.1),
])
def test_grid_is_sahis(w, h, tw, th, o):
    assert ours_grid(w, h, tw, th, o) == sahi_grid(w, h, tw, th, o)


def test_grid_is_sahis_on_random_cases():
    rng = np.random.default_rng(0)
    for _ in range(300):
        w, h = (int(v) for v in rng.integers(1, 3000, 2))
        tw, th = (int(v) for v in rng.integers(1, 800, 2))
        o = float(rng.choice([0.0, 0.1, 0.2, 0.25, 0.5, 0.9, rng.uniform(0, 0.9)]))
        if len(ours_grid(w, h, tw, th, o)) > 20000:
            continue
        assert ours_grid(w, h, tw, th, o) == sahi_grid(w, h, tw, th, o), (w, h, tw, th, o)


# ---------------------------------------------------------------- merge

def pool_of(dets):
    return {
        "boxes": torch.tensor([d[0] for d in dets], dtype=torch.float64).view(-1, 4),
        "scores": torch.tensor([d[1] for d in dets], dtype=torch.float32),
        "labels": torch.tensor([d[2] for d in dets], dtype=torch.int64),
        "tile": torch.arange(len(dets)),
        "scale": torch.ones(len(dets), dtype=torch.float64),
    }


def ours(dets, merge, metric, t):
    out = merge_detections(pool_of(dets), merge, metric, t)
    return sorted((int(l), float(s), [float(v) for v in b]) for b, s, l in
                  zip(out["boxes"].tolist(), out["scores"].tolist(), out["labels"].tolist()))


def sahis(dets, merge, metric, t):
    preds = [ObjectPrediction(bbox=list(b), category_id=int(l), score=float(np.float32(s)))
             for b, s, l in dets]
    cls = GreedyNMMPostprocess if merge == "nmm" else NMSPostprocess
    out = cls(match_threshold=t, match_metric=metric.upper(), class_agnostic=False)(preds)
    return sorted((int(p.category.id), float(p.score.value), [float(v) for v in p.bbox.to_xyxy()])
                  for p in out)


WHOLE = [500.0, 100.0, 540.0, 130.0]
LEFT = [500.0, 100.0, 512.0, 130.0]
RIGHT = [512.0, 100.0, 540.0, 130.0]

CRAFTED = [
    # halves in two tiles, whole in the full frame
    [(WHOLE, 0.8, 1), (LEFT, 0.6, 1), (RIGHT, 0.55, 1)],
    # halves outscoring the whole
    [(WHOLE, 0.5, 0), (LEFT, 0.9, 0), (RIGHT, 0.8, 0)],
    # a half outscoring the whole, other labels around
    [(WHOLE, 0.7, 2), ([500.0, 100.0, 515.0, 130.0], 0.9, 2), (WHOLE, 0.75, 1), (LEFT, 0.3, 1)],
    # the growing box: a+b no longer matches c by iou
    [([10.0, 0.0, 20.0, 10.0], 0.9, 0), ([13.0, 0.0, 23.0, 10.0], 0.8, 0), ([6.0, 0.0, 16.0, 10.0], 0.7, 0)],
]


@pytest.mark.parametrize("case", range(len(CRAFTED)))
@pytest.mark.parametrize("merge", ["nmm", "nms"])
@pytest.mark.parametrize("metric", ["ios", "iou"])
def test_merge_is_sahis_on_crafted_cases(case, merge, metric):
    t = 0.4 if case == 3 else 0.5
    assert ours(CRAFTED[case], merge, metric, t) == sahis(CRAFTED[case], merge, metric, t)


@pytest.mark.parametrize("merge", ["nmm", "nms"])
@pytest.mark.parametrize("metric", ["ios", "iou"])
def test_merge_is_sahis_on_random_crowds(merge, metric):
    rng = np.random.default_rng(1)
    for trial in range(40):
        n = int(rng.integers(1, 60))
        # clusters of jittered boxes, as tiles and the full frame give
        centres = rng.uniform(60, 200, (max(1, n // 4), 2))  # boxes stay >= 0 (sahi clips)
        dets = []
        scores = rng.permutation(np.arange(1, n + 1)) / (n + 1)  # distinct: no ties
        for i in range(n):
            cx, cy = centres[rng.integers(len(centres))] + rng.normal(0, 4, 2)
            w, h = rng.uniform(4, 40, 2)
            box = [float(cx - w / 2), float(cy - h / 2), float(cx + w / 2), float(cy + h / 2)]
            dets.append((box, float(np.float32(scores[i])), int(rng.integers(0, 3))))
        t = float(rng.choice([0.3, 0.5, 0.7]))
        assert ours(dets, merge, metric, t) == sahis(dets, merge, metric, t), trial


def test_documented_difference_at_the_threshold():
    # IoU exactly 0.5: SAHI's NMS suppresses at >= t, ours (like torchvision's
    # nms) only at > t. NMM is SAHI's on both sides: b joins a's group (>=) but
    # does not merge into it (has_match is >): one box, a unchanged.
    a, b = [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0]
    dets = [(a, 0.9, 0), (b, 0.8, 0)]
    assert len(sahis(dets, "nms", "iou", 0.5)) == 1
    assert len(ours(dets, "nms", "iou", 0.5)) == 2
    assert ours(dets, "nmm", "iou", 0.5) == sahis(dets, "nmm", "iou", 0.5)
    assert len(ours(dets, "nmm", "iou", 0.5)) == 1


def test_documented_difference_on_ties():
    # equal scores: SAHI takes the smaller x1 first, we take pool order (full frame
    # first, then tiles in order)
    dets = [(WHOLE, 0.5, 0), ([499.0, 100.0, 512.0, 130.0], 0.5, 0)]
    assert sahis(dets, "nms", "ios", 0.5) == [(0, 0.5, [499.0, 100.0, 512.0, 130.0])]
    assert ours(dets, "nms", "ios", 0.5) == [(0, 0.5, WHOLE)]
