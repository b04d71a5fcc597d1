"""Tiled inference in the reference (tools/ipgnet/tiling.py, issue 13): the grid,
the per-tile letterbox, batch = singles, provenance, and the merge on crafted
border and overlap cases (the algorithm is /work/briefs/tiling-spec.md, the
same in both engines)."""

import json
import os
import subprocess
import types

import numpy as np
import pytest
import torch

from conftest import TOOLS, small_config
from ipgnet.cli_train_eval import tile_options
from ipgnet.evaluate import tile_flags
from ipgnet.preprocess import letterbox
from ipgnet.random_model import random_images, random_model
from ipgnet.tiling import (TileOptions, TilingError, axis_positions, detect_tiled, detection_dicts,
                           map_detections, match_matrix, merge_detections, parse_tile_size,
                           run_batch, tile_batch, tile_grid, tile_views)


def grid(w, h, tw, th, overlap=0.2, max_tiles=64):
    return tile_grid(w, h, TileOptions(size=(tw, th), overlap=overlap, max_tiles=max_tiles))


# ---------------------------------------------------------------- grid

def test_frame_smaller_than_a_tile_is_one_tile_of_the_frame():
    assert grid(300, 200, 512, 512) == [(0, 0, 300, 200)]
    # one axis only: the other is still cut
    assert grid(300, 1000, 512, 512) == [(0, 0, 300, 512), (0, 410, 300, 512), (0, 488, 300, 512)]


def test_exactly_one_tile():
    assert grid(512, 512, 512, 512) == [(0, 0, 512, 512)]
    assert grid(640, 384, 640, 384, overlap=0.9) == [(0, 0, 640, 384)]


def test_one_pixel_frame():
    assert grid(1, 1, 512, 512) == [(0, 0, 1, 1)]
    assert grid(1, 1, 1, 1, overlap=0.9) == [(0, 0, 1, 1)]


def test_17x9():
    # x: step 8 - floor(0.25 * 8) = 6: 0, 6, then 12 + 8 >= 17 -> 17 - 8 = 9
    # y: step 4 - floor(0.25 * 4) = 3: 0, 3, then 6 + 4 >= 9 -> 9 - 4 = 5
    g = grid(17, 9, 8, 4, overlap=0.25)
    assert g == [(x, y, 8, 4) for y in (0, 3, 5) for x in (0, 6, 9)]
    assert grid(17, 9, 512, 512) == [(0, 0, 17, 9)]
    # 1-px tiles without overlap: every pixel, row-major
    assert grid(17, 9, 1, 1, overlap=0.0, max_tiles=17 * 9) == [(x, y, 1, 1) for y in range(9)
                                                                 for x in range(17)]


def test_4096x2160_fits_in_64_tiles():
    g = grid(4096, 2160, 512, 512)
    xs = [0, 410, 820, 1230, 1640, 2050, 2460, 2870, 3280, 3584]
    ys = [0, 410, 820, 1230, 1640, 1648]  # the last row is shifted inward, not padded
    assert g == [(x, y, 512, 512) for y in ys for x in xs]
    assert len(g) == 60


def test_8192x8192_is_refused_past_max_tiles():
    xs, _ = axis_positions(8192, 512, 0.2)
    assert len(xs) == 20
    with pytest.raises(TilingError) as e:
        grid(8192, 8192, 512, 512)
    assert str(e.value) == ("a 8192x8192 frame needs 400 tiles of 512x512 at overlap 0.2, "
                            "more than max-tiles 64")
    assert len(grid(8192, 8192, 512, 512, max_tiles=400)) == 400
    # 64 is allowed, 65 is not
    assert len(grid(8192, 8192, 1024, 1024, overlap=0.0)) == 64
    with pytest.raises(TilingError, match="needs 64 tiles of 1024x1024 at overlap 0, more than max-tiles 63"):
        grid(8192, 8192, 1024, 1024, overlap=0.0, max_tiles=63)


@pytest.mark.parametrize("w,h,tw,th,o", [(1920, 1080, 512, 512, 0.2), (1000, 700, 300, 200, 0.0),
                                         (777, 333, 100, 50, 0.9), (50, 60, 7, 9, 0.5)])
def test_tiles_cover_the_frame_inside_it(w, h, tw, th, o):
    g = grid(w, h, tw, th, overlap=o, max_tiles=100000)
    cover = np.zeros((h, w), dtype=bool)
    for x0, y0, tw_, th_ in g:
        assert (tw_, th_) == (min(tw, w), min(th, h))
        assert 0 <= x0 and x0 + tw_ <= w and 0 <= y0 and y0 + th_ <= h
        cover[y0:y0 + th_, x0:x0 + tw_] = True
    assert cover.all()
    # consecutive starts are one step apart, except the last, shifted inward
    xs = sorted({t[0] for t in g})
    step = tw - int(o * tw)
    assert all(b - a == step for a, b in zip(xs[:-2], xs[1:-1]))
    assert xs[-1] == w - min(tw, w)


def test_options_are_validated():
    TileOptions(size=(512, 512)).validate()
    bad = [dict(size=(0, 512)), dict(size=(512, 512), overlap=0.95), dict(size=(512, 512), overlap=-0.1),
           dict(size=(512, 512), merge="wbf"), dict(size=(512, 512), metric="giou"),
           dict(size=(512, 512), threshold=1.5), dict(size=(512, 512), max_tiles=0)]
    for kw in bad:
        with pytest.raises(TilingError):
            TileOptions(**kw).validate()
    assert parse_tile_size("640X360") == (640, 360)
    for text in ("512", "0x5", "ax5", "-3x4"):
        with pytest.raises(TilingError):
            parse_tile_size(text)


# ---------------------------------------------------------------- per tile

def test_each_tile_is_letterboxed_from_its_own_crop():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (90, 200, 3), dtype=np.uint8)
    opts = TileOptions(size=(64, 48), overlap=0.25)
    views = tile_views(200, 90, opts)
    assert views[0] == (-1, 0, 0, 200, 90)
    assert [v[0] for v in views[1:]] == list(range(len(views) - 1))
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    x, scales = tile_batch(image, views, (128, 96), mean, std)
    assert x.shape == (len(views), 3, 96, 128)
    for k, (_, x0, y0, w, h) in enumerate(views):
        ref, s = letterbox(image[y0:y0 + h, x0:x0 + w].copy(), (128, 96), mean, std)
        assert s == scales[k] == min(128 / w, 96 / h)
        assert torch.equal(x[k], ref)
    # a 64x48 tile is enlarged to the 128x96 input
    assert scales[1] == 2.0
    # the samples never read outside the tile: change every pixel around tile 4
    _, x0, y0, w, h = views[5]
    other = np.full_like(image, 255)
    other[y0:y0 + h, x0:x0 + w] = image[y0:y0 + h, x0:x0 + w]
    x2, _ = tile_batch(other, views[5:6], (128, 96), mean, std)
    assert torch.equal(x2[0], x[5])


@pytest.fixture(scope="module")
def retina():
    torch.manual_seed(0)
    config = small_config()
    return random_model(config, seed=1), config


@pytest.fixture(scope="module")
def frcnn():
    config = small_config(arch="fasterrcnn", num_classes=5)
    return random_model(config, seed=3), config


def _heads(model, x):
    with torch.no_grad():
        _, cls, box = model.run(x)
    return cls + box


def test_batch_equals_singles_on_the_head_outputs(retina):
    model, config = retina
    torch.manual_seed(7)
    x = random_images(5, 96, 128, config.mean, config.std)
    # the same convolution algorithm for any N (oneDNN off): bit for bit
    with torch.backends.mkldnn.flags(enabled=False):
        batched = _heads(model, x)
        for i in range(5):
            for a, b in zip(batched, _heads(model, x[i:i + 1])):
                assert torch.equal(a[i:i + 1], b)
    # oneDNN (the default) blocks its GEMMs differently for N = 5 and N = 1: float32
    # rounding only (measured: <= 3.5e-5 on logits up to 17, 2e-6 of the largest)
    batched = _heads(model, x)
    for i in range(5):
        for a, b in zip(batched, _heads(model, x[i:i + 1])):
            assert (a[i:i + 1] - b).abs().max() <= 5e-6 * b.abs().max() + 1e-6


@pytest.mark.parametrize("which", ["retina", "frcnn"])
def test_batch_equals_singles_on_the_detections(which, request):
    model, config = request.getfixturevalue(which)
    torch.manual_seed(7)
    x = random_images(5, 96, 128, config.mean, config.std)
    with torch.backends.mkldnn.flags(enabled=False):
        batched = run_batch(model, x)
        singles = [run_batch(model, x[i:i + 1])[0] for i in range(5)]
    for b, s in zip(batched, singles):
        assert len(s["scores"]) > 0
        if which == "retina":   # convolutions only: bit for bit with oneDNN off
            for k in ("boxes", "scores", "labels"):
                assert torch.equal(b[k], s[k]), k
            continue
        # Faster R-CNN's box head is a Linear over every RoI of the batch: the
        # CPU BLAS may block that GEMM differently for 5 images' RoIs than for
        # one image's (seen on AVX-512: boxes differ by <= 3.1e-5 px, scores by
        # <= 7e-7), so the same detections up to float32 rounding.
        assert torch.equal(b["labels"], s["labels"])
        assert (b["boxes"] - s["boxes"]).abs().max() <= 2e-6 * s["boxes"].abs().max() + 1e-6
        assert (b["scores"] - s["scores"]).abs().max() <= 1e-5
    # a single image through the batch path = forward_tensor (today's detect)
    with torch.backends.mkldnn.flags(enabled=False):
        _, det = model.forward_tensor(x[:1])
    for k in ("boxes", "scores", "labels"):
        assert torch.equal(det[k], singles[0][k]), k


def test_mapping_to_frame_pixels_and_provenance():
    det = {"boxes": torch.tensor([[10.0, 20.0, 30.0, 40.0], [0.0, 0.0, 250.0, 90.0], [1.0, 1.0, 2.0, 2.0],
                                  [3.0, 3.0, 4.0, 4.0]]),
           "scores": torch.tensor([0.8, 0.9, 0.3, 0.5]), "labels": torch.tensor([1, 2, 0, 0])}
    out = map_detections(det, (4, 100, 50, 64, 48), 2.0, 0.5)
    # score order; 0.3 is under the threshold, 0.5 is not (score >= threshold)
    assert out["scores"].tolist() == pytest.approx([0.9, 0.8, 0.5])
    assert out["labels"].tolist() == [2, 1, 0]
    assert out["boxes"].dtype == torch.float64
    # x / s + x0, clipped to the tile [100, 164] x [50, 98]
    assert out["boxes"].tolist() == [[100.0, 50.0, 164.0, 95.0], [105.0, 60.0, 115.0, 70.0],
                                     [101.5, 51.5, 102.0, 52.0]]
    assert out["tile"].tolist() == [4, 4, 4] and out["scale"].tolist() == [2.0, 2.0, 2.0]


def test_full_frame_pass_is_todays_untiled_run(retina):
    from ipgnet.detect import detect_image

    model, config = retina
    torch.manual_seed(3)
    img = (random_images(1, 110, 150, [0, 0, 0], [1, 1, 1])[0].permute(1, 2, 0).numpy() * 255 + 0.5)
    img = img.astype(np.uint8)
    labels = ["cat", "dog", "bird"]
    untiled = detect_image(model, config, labels, img, 0.3)
    # a tile larger than the frame and no full frame: the one tile is the frame
    # (merging nothing: nms by iou > 1)
    opts = TileOptions(size=(4096, 4096), full_frame=False, merge="nms", metric="iou", threshold=1.0)
    tiled = detection_dicts(detect_tiled(model, config, img, opts, 0.3), labels)
    assert untiled
    assert [{k: d[k] for k in untiled[0]} for d in tiled] == untiled
    assert {d["tile"] for d in tiled} == {0}


def test_provenance_of_a_tiled_run(retina):
    model, config = retina
    torch.manual_seed(4)
    img = (random_images(1, 200, 300, [0, 0, 0], [1, 1, 1])[0].permute(1, 2, 0).numpy() * 255 + 0.5)
    img = img.astype(np.uint8)
    opts = TileOptions(size=(100, 80), overlap=0.2, merge="nms", metric="iou", threshold=1.0)
    res = detect_tiled(model, config, img, opts, 0.2)
    views = {v[0]: v for v in tile_views(300, 200, opts)}
    assert len(res["scores"]) > 0
    assert set(res["tile"].tolist()) - {-1}, "some detections should come from tiles"
    for box, tile, s in zip(res["boxes"].tolist(), res["tile"].tolist(), res["scale"].tolist()):
        _, x0, y0, w, h = views[tile]
        assert s == min(128 / w, 96 / h)
        assert x0 <= box[0] <= box[2] <= x0 + w and y0 <= box[1] <= box[3] <= y0 + h
    scores = res["scores"].tolist()
    assert scores == sorted(scores, reverse=True)
    assert len(scores) <= config.detections_per_img


# ---------------------------------------------------------------- merge

def pool(*dets):
    """dets: (box, score, label, tile) tuples in pool order."""
    return {
        "boxes": torch.tensor([d[0] for d in dets], dtype=torch.float64).view(-1, 4),
        "scores": torch.tensor([d[1] for d in dets], dtype=torch.float32),
        "labels": torch.tensor([d[2] for d in dets], dtype=torch.int64),
        "tile": torch.tensor([d[3] for d in dets], dtype=torch.int64),
        "scale": torch.tensor([1.0 + d[3] for d in dets], dtype=torch.float64),
    }


WHOLE = [500.0, 100.0, 540.0, 130.0]   # an object across the inner border x = 512
LEFT = [500.0, 100.0, 512.0, 130.0]    # what tile 0 sees of it (IoU 0.3 with the whole)
RIGHT = [512.0, 100.0, 540.0, 130.0]   # what tile 1 sees (IoU 0.7)


def test_metrics():
    a = torch.tensor([WHOLE, LEFT, RIGHT, [0.0, 0.0, 0.0, 10.0]], dtype=torch.float64)
    iou = match_matrix(a, a, "iou")
    ios = match_matrix(a, a, "ios")
    assert iou[0, 1].item() == pytest.approx(0.3) and iou[0, 2].item() == pytest.approx(0.7)
    assert ios[0, 1].item() == 1.0 and ios[0, 2].item() == 1.0
    assert iou[1, 2].item() == 0.0 and ios[1, 2].item() == 0.0  # touching, no intersection
    # an empty box: zero denominators give 0, never NaN
    assert iou[3].tolist() == [0.0] * 4 and ios[3].tolist() == [0.0] * 4


def test_halves_in_two_tiles_and_whole_in_full_frame_give_one_box():
    p = pool((WHOLE, 0.8, 1, -1), (LEFT, 0.6, 1, 0), (RIGHT, 0.55, 1, 1))
    for merge in ("nmm", "nms"):
        out = merge_detections(p, merge, "ios", 0.5)
        assert out["boxes"].tolist() == [WHOLE], merge
        assert out["tile"].tolist() == [-1] and out["scores"].tolist() == [pytest.approx(0.8)]


def test_with_iou_the_small_half_survives():
    # IoU(whole, left) = 0.3 <= 0.5: the documented reason ios is the default
    p = pool((WHOLE, 0.8, 1, -1), (LEFT, 0.6, 1, 0), (RIGHT, 0.55, 1, 1))
    for merge in ("nms", "nmm"):
        out = merge_detections(p, merge, "iou", 0.5)
        assert out["boxes"].tolist() == [WHOLE, LEFT], merge
        assert out["tile"].tolist() == [-1, 0]


def test_nmm_merges_a_higher_scoring_half_into_the_union():
    # the tile-0 half outscores the whole: nmm keeps its score and provenance, grows
    # to the union; nms keeps the half as it is
    p = pool((WHOLE, 0.7, 2, -1), ([500.0, 100.0, 515.0, 130.0], 0.9, 2, 0))
    out = merge_detections(p, "nmm", "ios", 0.5)
    assert out["boxes"].tolist() == [WHOLE]
    assert out["tile"].tolist() == [0] and out["scale"].tolist() == [1.0]
    assert out["scores"].tolist() == [pytest.approx(0.9)]
    out = merge_detections(p, "nms", "ios", 0.5)
    assert out["boxes"].tolist() == [[500.0, 100.0, 515.0, 130.0]]


def test_nmm_groups_against_the_first_box_before_merging():
    # both halves outscore the whole: the left half takes the whole (IoS 1) but not
    # the right half (it only touches the left one), so the right half stays apart
    p = pool((WHOLE, 0.5, 0, -1), (LEFT, 0.9, 0, 0), (RIGHT, 0.8, 0, 1))
    out = merge_detections(p, "nmm", "ios", 0.5)
    assert out["boxes"].tolist() == [WHOLE, RIGHT]
    assert out["tile"].tolist() == [0, 1]


def test_nmm_merge_check_uses_the_growing_box():
    # b and c are both in a's group (IoU 0.54 and 0.43 > 0.4); after the union with
    # b, c no longer matches the merged box (IoU 0.35) and does not widen it
    a = [10.0, 0.0, 20.0, 10.0]
    b = [13.0, 0.0, 23.0, 10.0]     # IoU(a, b) = 70 / 130
    c = [6.0, 0.0, 16.0, 10.0]      # IoU(a, c) = 60 / 140; IoU(a + b, c) = 60 / 170
    out = merge_detections(pool((a, 0.9, 0, -1), (b, 0.8, 0, 0), (c, 0.7, 0, 1)), "nmm", "iou", 0.4)
    assert out["boxes"].tolist() == [[10.0, 0.0, 23.0, 10.0]]
    assert out["tile"].tolist() == [-1]
    # the group is walked in score order: c first widens the box to 6..20, then b
    # (IoU 70 / 170 = 0.41) still matches
    out = merge_detections(pool((a, 0.9, 0, -1), (c, 0.8, 0, 0), (b, 0.7, 0, 1)), "nmm", "iou", 0.4)
    assert out["boxes"].tolist() == [[6.0, 0.0, 23.0, 10.0]]


def test_only_the_same_label_matches():
    p = pool((WHOLE, 0.8, 1, -1), (WHOLE, 0.7, 2, 0), (WHOLE, 0.6, 1, 1))
    for merge in ("nms", "nmm"):
        for metric in ("iou", "ios"):
            out = merge_detections(p, merge, metric, 0.5)
            assert out["labels"].tolist() == [1, 2] and out["tile"].tolist() == [-1, 0]


def test_threshold_comparisons():
    # metric exactly t: NMS does not suppress (torchvision's nms rule); NMM
    # takes the box into the group (>=, SAHI's greedy_nmm) but does not merge
    # it (>, SAHI's has_match): it is absorbed and the first box stays as it was
    a, b = [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0]     # IoU 0.5, IoS 1
    for metric, t in (("iou", 0.5), ("ios", 1.0)):
        assert len(merge_detections(pool((a, 0.9, 0, -1), (b, 0.8, 0, 0)), "nms", metric, t)["scores"]) == 2
        out = merge_detections(pool((a, 0.9, 0, -1), (b, 0.8, 0, 0)), "nmm", metric, t)
        assert len(out["scores"]) == 1 and out["boxes"][0].tolist() == a
    for merge in ("nms", "nmm"):
        assert len(merge_detections(pool((a, 0.9, 0, -1), (b, 0.8, 0, 0)), merge, "ios", 0.99)["scores"]) == 1
    # just above t: no match in either mode
    c = [0.0, 0.0, 10.0, 4.0]                                 # IoU 0.4
    for merge in ("nms", "nmm"):
        assert len(merge_detections(pool((a, 0.9, 0, -1), (c, 0.8, 0, 0)), merge, "iou", 0.5)["scores"]) == 2


def test_ties_keep_pool_order():
    # equal scores: the earlier image in the pool (full frame first) wins
    p = pool((LEFT, 0.5, 0, -1), (WHOLE, 0.5, 0, 0), (RIGHT, 0.5, 0, 3))
    out = merge_detections(p, "nms", "iou", 0.25)
    assert out["tile"].tolist() == [-1, 3]
    out = merge_detections(p, "nmm", "ios", 0.5)
    assert out["tile"].tolist() == [-1, 3]
    p = pool((WHOLE, 0.5, 0, 0), (LEFT, 0.5, 0, -1))
    assert merge_detections(p, "nms", "ios", 0.5)["tile"].tolist() == [0]


def test_nms_iou_matches_the_plain_greedy_loop():
    # batched_nms (with ranks for the ties) = the spec's loop, on random crowded pools
    g = torch.Generator().manual_seed(0)
    for trial in range(20):
        n = 60
        xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 100
        wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * 30 + 1
        boxes = torch.cat([xy, xy + wh], 1)
        scores = (torch.rand(n, generator=g) * 8).floor() / 8  # many ties
        labels = torch.randint(0, 3, (n,), generator=g)
        p = {"boxes": boxes, "scores": scores, "labels": labels, "tile": torch.arange(n),
             "scale": torch.ones(n, dtype=torch.float64)}
        got = merge_detections(p, "nms", "iou", 0.3)["tile"].tolist()
        order = torch.sort(scores, descending=True, stable=True).indices.tolist()
        m = match_matrix(boxes, boxes, "iou")
        kept = []
        for i in order:
            if all(not (labels[k] == labels[i] and m[k, i] > 0.3) for k in kept):
                kept.append(i)
        assert got == kept, trial


def test_cap_after_the_merge():
    boxes = [[float(10 * i), 0.0, float(10 * i + 5), 5.0] for i in range(10)]
    p = pool(*[(b, 0.9 - 0.01 * i, 0, i) for i, b in enumerate(boxes)])
    out = merge_detections(p, "nmm", "ios", 0.5, max_detections=4)
    assert out["tile"].tolist() == [0, 1, 2, 3]


def test_empty_pool():
    out = merge_detections(pool(), "nmm", "ios", 0.5)
    assert out["boxes"].shape == (0, 4) and len(out["tile"]) == 0
    assert merge_detections(pool(), "nms", "iou", 0.5)["boxes"].shape == (0, 4)


# ---------------------------------------------------------------- end to end, crafted

class BlobDetector(torch.nn.Module):
    """A stand-in detector: each image's one blob of channel-0 pixels > 0.5, as
    its box, label 0; score 0.9 when the blob is clear of the content's edges,
    0.6 when it touches one (a cut object)."""

    def forward(self, x):
        out = []
        for img in x:
            ys, xs = (img[0] > 0.5).nonzero(as_tuple=True)
            if len(xs) == 0:
                out.append({"boxes": torch.zeros(0, 4), "scores": torch.zeros(0),
                            "labels": torch.zeros(0, dtype=torch.int64)})
                continue
            content = (img.abs().sum(0) > 0) | (img[0] > 0)
            cy, cx = content.nonzero(as_tuple=True)
            box = torch.tensor([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=torch.float32)
            cut = (xs.min() == cx.min() or ys.min() == cy.min() or xs.max() == cx.max()
                   or ys.max() == cy.max())
            out.append({"boxes": box, "scores": torch.tensor([0.6 if cut else 0.9]),
                        "labels": torch.zeros(1, dtype=torch.int64)})
        return out


BLOB_CONFIG = types.SimpleNamespace(input=[128, 128], mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0],
                                    detections_per_img=100)


def blob_frame(x1, y1, x2, y2, w=256, h=128):
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[..., 1] = 40  # content everywhere, so the letterbox padding is told apart
    img[y1:y2, x1:x2, 0] = 255
    return img


def test_object_on_an_inner_tile_border():
    model = BlobDetector().eval()
    # tiles at x = 0 and 128 (no overlap); the object spans 116..136 across the border
    img = blob_frame(116, 50, 136, 70)
    opts = dict(size=(128, 128), overlap=0.0)
    res = detect_tiled(model, BLOB_CONFIG, img, TileOptions(**opts), 0.5)
    assert res["boxes"].tolist() == [[116.0, 50.0, 136.0, 70.0]]
    assert res["tile"].tolist() == [-1] and res["scale"].tolist() == [0.5]
    res = detect_tiled(model, BLOB_CONFIG, img, TileOptions(merge="nms", **opts), 0.5)
    assert res["boxes"].tolist() == [[116.0, 50.0, 136.0, 70.0]]
    # iou: the 8-px right half has IoU 0.4 with the whole and survives
    res = detect_tiled(model, BLOB_CONFIG, img, TileOptions(metric="iou", merge="nms", **opts), 0.5)
    assert res["boxes"].tolist() == [[116.0, 50.0, 136.0, 70.0], [128.0, 50.0, 136.0, 70.0]]
    assert res["tile"].tolist() == [-1, 1]
    # no full frame, no overlap: nothing sees it whole, the halves stay apart
    res = detect_tiled(model, BLOB_CONFIG, img, TileOptions(full_frame=False, **opts), 0.5)
    assert res["boxes"].tolist() == [[116.0, 50.0, 128.0, 70.0], [128.0, 50.0, 136.0, 70.0]]
    # with overlap the middle tile (x 96..224) sees it whole: one box from that tile
    res = detect_tiled(model, BLOB_CONFIG, img, TileOptions(size=(128, 128), overlap=0.25,
                                                            full_frame=False), 0.5)
    assert tile_grid(256, 128, TileOptions(size=(128, 128), overlap=0.25)) == [
        (0, 0, 128, 128), (96, 0, 128, 128), (128, 0, 128, 128)]
    assert res["boxes"].tolist() == [[116.0, 50.0, 136.0, 70.0]]
    assert res["tile"].tolist() == [1]


def test_object_in_an_overlap_is_found_once():
    model = BlobDetector().eval()
    img = blob_frame(100, 20, 120, 40)  # whole in tiles 0 and 1 (x 0..128, 96..224)
    for merge in ("nms", "nmm"):
        for metric in ("iou", "ios"):
            opts = TileOptions(size=(128, 128), overlap=0.25, merge=merge, metric=metric)
            res = detect_tiled(model, BLOB_CONFIG, img, opts, 0.5)
            assert res["boxes"].tolist() == [[100.0, 20.0, 120.0, 40.0]], (merge, metric)
            # three images score it 0.9: the full frame is first in the pool
            assert res["tile"].tolist() == [-1]
            opts = TileOptions(size=(128, 128), overlap=0.25, merge=merge, metric=metric,
                               full_frame=False)
            res = detect_tiled(model, BLOB_CONFIG, img, opts, 0.5)
            assert res["boxes"].tolist() == [[100.0, 20.0, 120.0, 40.0]]
            assert res["tile"].tolist() == [0] and res["scale"].tolist() == [1.0]


# ---------------------------------------------------------------- command line

def _run(*args):
    env = dict(os.environ, PYTHONPATH=TOOLS)
    return subprocess.run(["/usr/bin/python3", "-m", "ipgnet", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_detect_cli_tiled(model_file, png_image):
    r = _run("detect", "-m", model_file, "--json", "--threshold", "0.2", "--tile", "64x48",
             "--tile-overlap", "0.25", "--tile-merge", "nms", "--tile-match-metric", "iou",
             "--tile-match-threshold", "0.6", png_image)
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["detections"]
    for d in rec["detections"]:
        assert list(d) == ["label", "label_id", "score", "box", "tile", "scale"]
        assert d["tile"] >= -1 and d["scale"] > 0
    r2 = _run("detect", "-m", model_file, "--json", "--threshold", "0.2", png_image)
    assert "tile" not in r2.stdout


@pytest.mark.parametrize("args,msg", [
    (["--tile", "0x48"], "at least 1 px"),
    (["--tile", "64"], "WxH"),
    (["--tile", "64x48", "--tile-overlap", "0.95"], "tile overlap 0.95 is outside [0, 0.9]"),
    (["--tile", "64x48", "--tile-match-threshold", "1.5"], "tile match threshold 1.5 is outside [0, 1]"),
    (["--tile", "64x48", "--max-tiles", "0"], "max tiles 0"),
    (["--tile", "64x48", "--tile-merge", "wbf"], "invalid choice"),
    (["--tile-overlap", "0.3"], "--tile-overlap needs --tile WxH"),
    (["--no-full-frame"], "--no-full-frame needs --tile WxH"),
])
def test_detect_cli_refuses_bad_tiling(model_file, png_image, args, msg):
    r = _run("detect", "-m", model_file, *args, png_image)
    assert r.returncode != 0
    assert msg in r.stderr
    assert r.stdout == ""


def test_detect_cli_frame_over_max_tiles(model_file, png_image):
    # x: 0, 13, .., 130, then 134 (12); y: 0, 13, .., 91, then 94 (9)
    r = _run("detect", "-m", model_file, "--tile", "16x16", "--max-tiles", "4", png_image)
    assert r.returncode == 1
    assert "a 150x110 frame needs 108 tiles of 16x16 at overlap 0.2, more than max-tiles 4" in r.stderr


def test_eval_passes_the_same_flags_to_ipgnet_detect():
    args = types.SimpleNamespace(tile=[512, 256], tile_overlap=0.3, no_full_frame=True, tile_merge="nms",
                                 tile_match_metric=None, tile_match_threshold=0.45, max_tiles=None)
    opts = tile_options(args)
    assert opts == TileOptions(size=(512, 256), overlap=0.3, full_frame=False, merge="nms",
                               threshold=0.45)
    assert tile_flags(opts) == ["--tile", "512x256", "--tile-overlap", "0.3", "--tile-merge", "nms",
                                "--tile-match-metric", "ios", "--tile-match-threshold", "0.45",
                                "--max-tiles", "64", "--no-full-frame"]


# ---------------------------------------------------------------- the high-resolution set

def test_synth_wide_frames_keep_the_object_sizes(tmp_path):
    from ipgnet import synth

    out = tmp_path / "hd"
    synth.generate(str(out), seed=5, train_images=0, val_images=2, size=(320, 128), workers=1,
                   objects_range=(20, 30))
    coco = json.load(open(out / "annotations" / "instances_val.json"))
    assert [(im["width"], im["height"]) for im in coco["images"]] == [(320, 128)] * 2
    from PIL import Image

    assert Image.open(out / "val" / "000000.jpg").size == (320, 128)
    sides = [max(a["bbox"][2], a["bbox"][3]) for a in coco["annotations"]]
    assert len(sides) >= 20  # more than the default 3..15 per image
    assert min(sides) >= synth.MIN_SIDE and max(sides) <= synth.MAX_SIDE
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        assert 0 <= x and x + w <= 320 and 0 <= y and y + h <= 128
    # an int size is the square it always was
    assert synth.image_size(512) == (512, 512) and synth.image_size([1920, 1080]) == (1920, 1080)
