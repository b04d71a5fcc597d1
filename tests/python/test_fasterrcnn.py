"""IPG-Faster R-CNN (arch "fasterrcnn"): config keys, state-dict names, the
recorded stages (the C engine's contract), equality with torchvision's own
FasterRCNN, the random model, training / export / detect / eval, and info's
conv_gflop."""

import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
from torchvision.models.detection import FasterRCNN
from torchvision.ops import MultiScaleRoIAlign

from conftest import ROOT, TOOLS, small_config
from ipgnet.__main__ import main
from ipgnet.config import Config, ConfigError
from ipgnet.fasterrcnn import IPGFasterRCNN
from ipgnet.model import IPGNet, build_model, model_state
from ipgnet.modelfile import load_model, read_safetensors, save_model
from ipgnet.random_model import random_images, random_model

RETINANET_KEYS = [
    "arch", "backbone", "width", "ipg_levels", "ipg_channels", "fpn_channels", "num_classes",
    "input", "mean", "std", "bn_eps", "anchor_sizes", "aspect_ratios", "score_thresh",
    "nms_thresh", "detections_per_img", "topk_candidates", "box_weights",
]
FASTERRCNN_KEYS = [
    "arch", "backbone", "width", "ipg_levels", "ipg_channels", "fpn_channels", "num_classes",
    "input", "mean", "std", "bn_eps", "anchor_sizes", "aspect_ratios", "score_thresh",
    "nms_thresh", "detections_per_img", "box_weights",
    "rpn_pre_nms_top_n", "rpn_post_nms_top_n", "rpn_nms_thresh", "rpn_score_thresh",
    "roi_output_size", "roi_sampling_ratio", "representation_size",
]
LEVELS = ["p2", "p3", "p4", "p5", "p6"]
VENV_PY = os.path.join(ROOT, ".venv", "bin", "python")


def frcnn_config(**kw):
    return small_config(arch="fasterrcnn", **kw)


@pytest.fixture(scope="module")
def frcnn():
    """K = 5, resnet18 width 0.25, FPN 32, input 128x96."""
    config = frcnn_config(num_classes=5)
    return random_model(config, seed=3), config


@pytest.fixture(autouse=True)
def _restore_determinism():
    # train() switches torch.use_deterministic_algorithms on; keep other tests unaffected
    before = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    yield
    torch.use_deterministic_algorithms(before)
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------
# config


def test_config_defaults():
    c = Config(backbone="resnet50", num_classes=80, arch="fasterrcnn")
    assert c.anchor_sizes == [[32], [64], [128], [256], [512]]
    assert c.aspect_ratios == [0.5, 1.0, 2.0] and c.num_anchors == 3
    assert c.box_weights == [10.0, 10.0, 5.0, 5.0]
    assert (c.score_thresh, c.nms_thresh, c.detections_per_img) == (0.05, 0.5, 100)
    assert (c.rpn_pre_nms_top_n, c.rpn_post_nms_top_n, c.rpn_nms_thresh, c.rpn_score_thresh) == \
        (1000, 1000, 0.7, 0.0)
    assert (c.roi_output_size, c.roi_sampling_ratio, c.representation_size) == (7, 2, 1024)
    assert c.topk_candidates is None
    # the retinanet defaults are unchanged
    r = Config(backbone="resnet50", num_classes=80)
    assert r.anchor_sizes[0] == [32, 40, 50] and r.box_weights == [1.0, 1.0, 1.0, 1.0]
    assert (r.detections_per_img, r.topk_candidates) == (300, 1000)
    assert r.rpn_pre_nms_top_n is None and r.representation_size is None


def test_config_defaults_are_torchvisions():
    import inspect

    from torchvision.models.detection.faster_rcnn import _default_anchorgen

    c = Config(backbone="resnet18", num_classes=2, arch="fasterrcnn")
    g = _default_anchorgen()
    assert [list(s) for s in g.sizes] == c.anchor_sizes
    assert [list(r) for r in g.aspect_ratios] == [c.aspect_ratios] * 5
    p = inspect.signature(FasterRCNN.__init__).parameters
    assert p["rpn_pre_nms_top_n_test"].default == c.rpn_pre_nms_top_n
    assert p["rpn_post_nms_top_n_test"].default == c.rpn_post_nms_top_n
    assert p["rpn_nms_thresh"].default == c.rpn_nms_thresh
    assert p["rpn_score_thresh"].default == c.rpn_score_thresh
    assert p["box_score_thresh"].default == c.score_thresh
    assert p["box_nms_thresh"].default == c.nms_thresh
    assert p["box_detections_per_img"].default == c.detections_per_img
    m = build_model(c)
    assert m.roi_heads.box_coder.weights == tuple(c.box_weights)  # torchvision's (10, 10, 5, 5)
    d = FasterRCNN(m.backbone, 3)
    assert m.roi_heads.box_coder.weights == d.roi_heads.box_coder.weights


def test_config_json_keys_and_round_trip():
    c = frcnn_config(num_classes=4, rpn_post_nms_top_n=300, rpn_nms_thresh=0.6, roi_output_size=5,
                     representation_size=128, box_weights=[10.0, 10.0, 5.0, 5.0])
    d = json.loads(c.to_json())
    assert list(d) == FASTERRCNN_KEYS
    assert d["rpn_nms_thresh"] == 0.6 and d["rpn_score_thresh"] == 0.0
    assert isinstance(d["rpn_score_thresh"], float)
    c2 = Config.from_json(c.to_json())
    assert c2 == c and c2.to_json() == c.to_json()
    # missing keys take the arch's defaults; integral JSON numbers for float fields
    c3 = Config.from_dict({"arch": "fasterrcnn", "backbone": "resnet18", "num_classes": 2,
                           "rpn_nms_thresh": 1})
    assert c3.rpn_nms_thresh == 1.0 and c3.box_weights == [10.0, 10.0, 5.0, 5.0]
    # a retinanet config writes exactly today's keys
    r = small_config()
    assert list(json.loads(r.to_json())) == RETINANET_KEYS == list(Config.KEYS)


@pytest.mark.parametrize("arch, key, value", [
    ("fasterrcnn", "topk_candidates", 1000),
    ("retinanet", "rpn_pre_nms_top_n", 1000),
    ("retinanet", "rpn_post_nms_top_n", 1000),
    ("retinanet", "rpn_nms_thresh", 0.7),
    ("retinanet", "rpn_score_thresh", 0.0),
    ("retinanet", "roi_output_size", 7),
    ("retinanet", "roi_sampling_ratio", 2),
    ("retinanet", "representation_size", 1024),
])
def test_config_rejects_the_other_archs_keys(arch, key, value):
    d = {"arch": arch, "backbone": "resnet18", "num_classes": 3, key: value}
    with pytest.raises(ConfigError, match=f"{key} belong to arch"):
        Config.from_dict(d)
    if arch == "retinanet":  # also when arch is left to its default
        del d["arch"]
        with pytest.raises(ConfigError, match=f"{key} belong to arch 'fasterrcnn', not to arch 'retinanet'"):
            Config.from_dict(d)
    with pytest.raises(ConfigError, match=f"{key} is a .* key, not valid for arch '{arch}'"):
        Config(backbone="resnet18", num_classes=3, arch=arch, **{key: value})
    # the same key is fine in its own arch
    other = "retinanet" if arch == "fasterrcnn" else "fasterrcnn"
    assert getattr(Config.from_dict(dict(d, arch=other)), key) == value


@pytest.mark.parametrize("change, message", [
    ({"anchor_sizes": [[32], [64], [128], [256]]}, r"5 lists \(one per level P2\.\.P6 of fasterrcnn\)"),
    ({"anchor_sizes": [[32], [64, 80], [128], [256], [512]]}, "same number"),
    ({"rpn_pre_nms_top_n": 0}, "rpn_pre_nms_top_n"),
    ({"rpn_post_nms_top_n": 2.5}, "rpn_post_nms_top_n"),
    ({"rpn_nms_thresh": 1.5}, "rpn_nms_thresh"),
    ({"rpn_score_thresh": -0.1}, "rpn_score_thresh"),
    ({"roi_output_size": 0}, "roi_output_size"),
    ({"roi_output_size": 65}, "roi_output_size"),
    ({"roi_sampling_ratio": 0}, "adaptive"),
    ({"roi_sampling_ratio": -1}, "roi_sampling_ratio"),
    ({"representation_size": 0}, "representation_size"),
    # the C engine's upper bounds (ipg/config.c), so a file Python writes is one C reads
    ({"rpn_pre_nms_top_n": 10001}, "rpn_pre_nms_top_n must be at most 10000"),
    ({"rpn_post_nms_top_n": 10001}, "rpn_post_nms_top_n must be at most 10000"),
    ({"representation_size": 65537}, "representation_size must be at most 65536"),
    ({"detections_per_img": None}, "null"),
])
def test_config_validation(change, message):
    d = frcnn_config().to_dict()
    d.update(change)
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(d)


def test_retinanet_anchor_levels_message():
    d = small_config().to_dict()
    d["anchor_sizes"] = d["anchor_sizes"][:4]
    with pytest.raises(ConfigError, match=r"P3\.\.P7 of retinanet"):
        Config.from_dict(d)


# ---------------------------------------------------------------------------
# model


def _shapes(sd):
    return {k: tuple(v.shape) for k, v in sd.items()}


def test_state_dict_names():
    c = frcnn_config(num_classes=4, roi_output_size=5, representation_size=96)
    model = build_model(c)
    assert isinstance(model, IPGFasterRCNN)
    keys = _shapes(model_state(model))
    C, P, A, K, s, rep = c.stage_channels, c.fpn_channels, 3, 4, 5, 96
    # the backbone body and the guidance are the retinanet's
    ret = _shapes(model_state(IPGNet(small_config(num_classes=4))))
    for k, v in ret.items():
        if k.startswith(("backbone.body.", "backbone.guidance.")):
            assert keys[k] == v
    head = {k: v for k, v in keys.items() if not k.startswith(("backbone.body.", "backbone.guidance."))}
    expected = {}
    for i in range(4):
        expected[f"backbone.fpn.inner_blocks.{i}.0.weight"] = (P, C[i], 1, 1)
        expected[f"backbone.fpn.inner_blocks.{i}.0.bias"] = (P,)
        expected[f"backbone.fpn.layer_blocks.{i}.0.weight"] = (P, P, 3, 3)
        expected[f"backbone.fpn.layer_blocks.{i}.0.bias"] = (P,)
    expected.update({
        "rpn.head.conv.0.0.weight": (P, P, 3, 3), "rpn.head.conv.0.0.bias": (P,),
        "rpn.head.cls_logits.weight": (A, P, 1, 1), "rpn.head.cls_logits.bias": (A,),
        "rpn.head.bbox_pred.weight": (4 * A, P, 1, 1), "rpn.head.bbox_pred.bias": (4 * A,),
        "roi_heads.box_head.fc6.weight": (rep, P * s * s), "roi_heads.box_head.fc6.bias": (rep,),
        "roi_heads.box_head.fc7.weight": (rep, rep), "roi_heads.box_head.fc7.bias": (rep,),
        "roi_heads.box_predictor.cls_score.weight": (K + 1, rep),
        "roi_heads.box_predictor.cls_score.bias": (K + 1,),
        "roi_heads.box_predictor.bbox_pred.weight": (4 * (K + 1), rep),
        "roi_heads.box_predictor.bbox_pred.bias": (4 * (K + 1),),
    })
    assert head == expected
    # the retinanet model is unchanged by the two-stage neck
    assert "backbone.fpn.extra_blocks.p6.weight" in ret and "backbone.fpn.inner_blocks.3.0.weight" not in ret


def test_forward_tensor_records_the_contract(frcnn):
    model, c = frcnn
    torch.manual_seed(9)
    x = random_images(1, 96, 128, c.mean, c.std)
    rec = []
    heads, det = model.forward_tensor(x, lambda n, t: rec.append((n, t.clone())))
    names = [n for n, _ in rec]
    shapes = {n: tuple(t.shape) for n, t in rec}
    R = heads["proposals"].shape[0]
    assert R > 50
    A, C, s, K = 3, 32, 7, 5
    grid = {"p2": (24, 32), "p3": (12, 16), "p4": (6, 8), "p5": (3, 4), "p6": (2, 2)}
    tail = ([f"fpn.{l}" for l in LEVELS] + [f"rpn.cls.{l}" for l in LEVELS] + [f"rpn.box.{l}" for l in LEVELS]
            + ["rpn.proposals", "rpn.scores", "roi.features", "roi.cls", "roi.box",
               "detections.boxes", "detections.scores", "detections.labels"])
    assert names[:6] == ["input", "pyramid.i4", "pyramid.i8", "pyramid.i16", "pyramid.i32", "backbone.stem"]
    assert names[6:18] == [f"{p}{l}" for l in (2, 3, 4, 5) for p in ("backbone.c", "ipg.g", "ipg.f")]
    assert names[18:] == tail
    for l in LEVELS:
        assert shapes[f"fpn.{l}"] == (1, C) + grid[l]
        assert shapes[f"rpn.cls.{l}"] == (1, A) + grid[l]
        assert shapes[f"rpn.box.{l}"] == (1, 4 * A) + grid[l]
    assert shapes["rpn.proposals"] == (1, R, 4)
    assert shapes["rpn.scores"] == (1, 1, R)
    assert shapes["roi.features"] == (C * s * s, 1, R)
    assert shapes["roi.cls"] == (K + 1, 1, R)
    assert shapes["roi.box"] == (4 * (K + 1), 1, R)
    N = len(det["scores"])
    assert N >= 1
    assert shapes["detections.boxes"] == (N, 4) and shapes["detections.scores"] == (N,)
    assert shapes["detections.labels"] == (N,)
    t = dict(rec)
    # P6 is the 1x1 stride-2 max pool of P5 (LastLevelMaxPool)
    assert torch.equal(t["fpn.p6"], t["fpn.p5"][:, :, ::2, ::2])
    # contents: the heads' raw outputs, the proposals, and the layouts
    for i, l in enumerate(LEVELS):
        assert torch.equal(t[f"rpn.cls.{l}"], heads["rpn_cls"][i])
        hd = model.rpn.head
        with torch.no_grad():
            assert torch.equal(t[f"rpn.box.{l}"], hd.bbox_pred(hd.conv(t[f"fpn.{l}"])))
    assert torch.equal(t["rpn.proposals"][0], heads["proposals"])
    assert torch.equal(t["rpn.scores"][0, 0], heads["proposal_scores"])
    assert (heads["proposal_scores"][:-1] >= heads["proposal_scores"][1:]).all()  # score order
    feats = {l: t[f"fpn.{l}"] for l in LEVELS}
    with torch.no_grad():
        pooled = model.roi_heads.box_roi_pool(feats, [heads["proposals"]], [(96, 128)])
    rf = t["roi.features"]
    for r, ch, y, xx in [(0, 0, 0, 0), (R - 1, C - 1, s - 1, s - 1), (R // 2, 5, 3, 2)]:
        assert rf[(ch * s + y) * s + xx, 0, r] == pooled[r, ch, y, xx]
    assert torch.equal(t["roi.cls"][:, 0, :].t(), heads["class_logits"])
    assert torch.equal(t["roi.box"][:, 0, :].t(), heads["box_regression"])
    assert torch.equal(t["detections.labels"], det["labels"])
    assert det["labels"].dtype == torch.int64 and det["labels"].min() >= 0 and det["labels"].max() < K


def test_no_proposals_records_empty_stages():
    """rpn_score_thresh 1.0: no proposal passes; every RoI stage is recorded
    with R = 0 (and the random model still calibrates its box head)."""
    c = frcnn_config(num_classes=3, fpn_channels=16, input=[64, 64], rpn_score_thresh=1.0)
    model = random_model(c, seed=1)
    assert all(torch.isfinite(v).all() for v in model_state(model).values())
    rec = {}
    _, det = model.forward_tensor(torch.zeros(1, 3, 64, 64), lambda n, t: rec.__setitem__(n, tuple(t.shape)))
    assert rec["rpn.proposals"] == (1, 0, 4) and rec["rpn.scores"] == (1, 1, 0)
    assert rec["roi.features"] == (16 * 49, 1, 0)
    assert rec["roi.cls"] == (4, 1, 0) and rec["roi.box"] == (16, 1, 0)
    assert rec["detections.boxes"] == (0, 4) and len(det["labels"]) == 0


def _torchvision_fasterrcnn(model, x):
    """torchvision's own FasterRCNN eval forward over the same weights, built
    from the config, with a transform that is the identity at this size."""
    H, W = x.shape[-2:]
    c = model.config
    tv = FasterRCNN(
        model.backbone, None, min_size=min(H, W), max_size=max(H, W),
        image_mean=[0.0, 0.0, 0.0], image_std=[1.0, 1.0, 1.0],
        rpn_anchor_generator=model.rpn.anchor_generator, rpn_head=model.rpn.head,
        rpn_pre_nms_top_n_test=c.rpn_pre_nms_top_n, rpn_post_nms_top_n_test=c.rpn_post_nms_top_n,
        rpn_nms_thresh=c.rpn_nms_thresh, rpn_score_thresh=c.rpn_score_thresh,
        box_roi_pool=MultiScaleRoIAlign(["p2", "p3", "p4", "p5"], c.roi_output_size, c.roi_sampling_ratio),
        box_head=model.roi_heads.box_head, box_predictor=model.roi_heads.box_predictor,
        box_score_thresh=c.score_thresh, box_nms_thresh=c.nms_thresh,
        box_detections_per_img=c.detections_per_img, bbox_reg_weights=tuple(c.box_weights))
    tv.eval()
    with torch.no_grad():
        return tv([x[0]])[0]


def test_forward_tensor_equals_torchvision_fasterrcnn():
    c = frcnn_config(num_classes=4, rpn_pre_nms_top_n=300, rpn_post_nms_top_n=150, rpn_nms_thresh=0.6,
                     rpn_score_thresh=0.2, roi_output_size=5, roi_sampling_ratio=3,
                     representation_size=96, detections_per_img=40, score_thresh=0.06, nms_thresh=0.45,
                     box_weights=[8.0, 9.0, 4.0, 6.0])
    model = random_model(c, seed=7)
    torch.manual_seed(3)
    # a size other than config.input: the model is fully convolutional
    x = random_images(1, 160, 96, c.mean, c.std)
    heads, det = model.forward_tensor(x)
    ref = _torchvision_fasterrcnn(model, x)
    assert 10 < len(det["scores"]) <= 40
    assert len(heads["proposals"]) == 150
    assert torch.equal(det["labels"], ref["labels"] - 1)
    assert torch.equal(det["scores"], ref["scores"])
    assert torch.equal(det["boxes"], ref["boxes"])
    assert (det["boxes"][:, 0::2] <= 96).all() and (det["boxes"][:, 1::2] <= 160).all()
    # the model's own batched eval forward gives the same
    with torch.no_grad():
        out = model(x)[0]
    assert torch.equal(out["labels"], det["labels"]) and torch.equal(out["boxes"], det["boxes"])
    assert torch.equal(out["scores"], det["scores"])


def test_training_forward_shifts_labels_and_gives_losses():
    c = frcnn_config(num_classes=3, representation_size=64)
    torch.manual_seed(0)
    model = build_model(c).train()
    seen = []
    model.roi_heads.register_forward_pre_hook(lambda m, inp: seen.append([t["labels"].clone() for t in inp[3]]))
    x = torch.randn(2, 3, 96, 128)
    targets = [{"boxes": torch.tensor([[10.0, 10.0, 50.0, 40.0], [60.0, 20.0, 100.0, 90.0]]),
                "labels": torch.tensor([0, 2])},
               {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
    with torch.enable_grad():  # other tests' commands turn autograd off process-wide
        losses = model(x, targets)
        sum(losses.values()).backward()
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"}
    assert all(torch.isfinite(v) for v in losses.values())
    assert seen[0][0].tolist() == [1, 2 + 1] and seen[0][1].tolist() == []
    assert targets[0]["labels"].tolist() == [0, 2]  # the caller's targets are untouched
    assert model.roi_heads.box_predictor.cls_score.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="targets"):
        model(x)


# ---------------------------------------------------------------------------
# random model


RANDOM_ARGS = ["random", "--arch", "fasterrcnn", "--backbone", "resnet18", "--width", "0.25",
               "--num-classes", "5", "--input", "128x96", "--fpn-channels", "32"]


def test_random_is_deterministic(tmp_path):
    a, b, c = (tmp_path / f"{n}.safetensors" for n in "abc")
    assert main(RANDOM_ARGS + ["--seed", "3", "-o", str(a)]) == 0
    assert main(RANDOM_ARGS + ["--seed", "3", "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert main(RANDOM_ARGS + ["--seed", "4", "-o", str(c)]) == 0
    assert a.read_bytes() != c.read_bytes()
    model, config, labels = load_model(str(a))
    assert isinstance(model, IPGFasterRCNN) and config.arch == "fasterrcnn"
    assert json.loads(read_safetensors(str(a))[1]["config"])["arch"] == "fasterrcnn"
    assert labels == [f"class{i}" for i in range(5)]


def test_random_is_not_degenerate(frcnn):
    model, c = frcnn
    torch.manual_seed(1234)  # not the calibration batch, and another size
    x = random_images(1, 192, 256, c.mean, c.std)
    stats = {}
    heads, det = model.forward_tensor(x, lambda n, t: stats.__setitem__(n, t))
    for name, t in stats.items():
        if t.dim() == 4 and not name.startswith("rpn.box"):
            s = float(t.std())
            assert 0.1 <= s <= 10, f"{name}: std {s}"
    obj = torch.cat([t.flatten() for t in heads["rpn_cls"]])
    assert float(obj.abs().max()) < 12  # not saturated
    assert float((obj.abs() < 4).float().mean()) > 0.98  # spread over about (-4, 4)
    assert float(obj.std()) > 0.5
    assert obj.unique().numel() >= obj.numel() - 2  # no ties for the top-k
    deltas = torch.cat([t.flatten() for t in heads["rpn_box"]])
    assert 0.1 <= float(deltas.std()) <= 0.5
    R = heads["proposals"].shape[0]
    assert R > 50
    ps = heads["proposal_scores"]
    assert ps.unique().numel() == R  # distinct scores: NMS order is well defined
    p = torch.softmax(heads["class_logits"], -1)[:, 1:]
    assert int((p > 0.05).sum()) >= 50
    assert 1 <= int((p > 0.3).sum()) < p.numel() // 4
    assert 0.7 <= float(heads["box_regression"].std()) <= 3.0
    assert len(det["scores"]) >= 1 and float(det["scores"].min()) > 0.05
    assert len(set(det["labels"].tolist())) >= 2
    wh = det["boxes"][:, 2:] - det["boxes"][:, :2]
    assert (wh > 0).all()


def test_retinanet_random_model_is_unchanged(tmp_path):
    """The RetinaNet path of `random` (no --arch, and --arch retinanet) writes
    the same bytes as before the two-stage arch existed: same init and
    calibration stream, same config JSON."""
    args = ["random", "--backbone", "resnet18", "--width", "0.25", "--num-classes", "3",
            "--input", "64x64", "--fpn-channels", "16", "--seed", "2"]
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    assert main(args + ["-o", str(a)]) == 0
    assert main(args + ["--arch", "retinanet", "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    meta = read_safetensors(str(a))[1]
    assert list(json.loads(meta["config"])) == RETINANET_KEYS
    assert isinstance(load_model(str(a))[0], IPGNet)


# ---------------------------------------------------------------------------
# dump / compare, info


def test_dump_and_compare(frcnn, png_image, tmp_path, capsys):
    model, config = frcnn
    path = tmp_path / "m.safetensors"
    save_model(model, config, [f"c{i}" for i in range(5)], str(path))
    out = tmp_path / "stages.safetensors"
    assert main(["dump", "-m", str(path), png_image, "-o", str(out)]) == 0
    stages, meta = read_safetensors(str(out))
    order = json.loads(meta["order"])
    assert order[18:] == ([f"fpn.{l}" for l in LEVELS] + [f"rpn.cls.{l}" for l in LEVELS]
                          + [f"rpn.box.{l}" for l in LEVELS]
                          + ["rpn.proposals", "rpn.scores", "roi.features", "roi.cls", "roi.box",
                             "detections.boxes", "detections.scores", "detections.labels"])
    R = stages["rpn.proposals"].shape[1]
    assert stages["rpn.cls.p2"].shape == (3, 24, 32) and stages["rpn.box.p6"].shape == (12, 2, 2)
    assert stages["rpn.proposals"].shape == (1, R, 4) and stages["rpn.scores"].shape == (1, 1, R)
    assert stages["roi.features"].shape == (32 * 49, 1, R)
    assert stages["roi.cls"].shape == (6, 1, R) and stages["roi.box"].shape == (24, 1, R)
    from ipgnet.stages import compare

    text = io.StringIO()
    assert compare(str(out), str(out), out=text) == 0
    assert "all stages match" in text.getvalue()


def test_info_conv_gflop_formula(tmp_path):
    """conv_gflop = every Conv2d (backbone, FPN, RPN head on P2..P6) + fc6, fc7,
    cls_score, bbox_pred at R = rpn_post_nms_top_n rows, whatever R a forward gives."""
    from ipgnet.info import conv_flop, linear_flop

    W, H = 128, 96
    for R in (1000, 37):
        c = frcnn_config(num_classes=4, roi_output_size=5, representation_size=96, rpn_post_nms_top_n=R,
                         input=[W, H])
        model = random_model(c, seed=1)
        C, A, K, s, rep = c.fpn_channels, c.num_anchors, c.num_classes, 5, 96
        # the backbone (body, guidance, FPN): its convs counted on a forward of the backbone alone
        total = [0]

        def hook(m, inp, out):
            total[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

        hs = [m.register_forward_hook(hook) for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d)]
        with torch.no_grad():
            model.backbone(torch.zeros(1, 3, H, W))
        for h in hs:
            h.remove()
        backbone = total[0]
        # by hand: the RPN head on P2..P6 (strides 4..64; P6 = ceil(P5 / 2))
        grids = [(H // 4, W // 4), (H // 8, W // 8), (H // 16, W // 16), (H // 32, W // 32),
                 ((H // 32 + 1) // 2, (W // 32 + 1) // 2)]
        rpn = sum(2 * h * w * (9 * C * C + C * A + C * 4 * A) for h, w in grids)
        heads = 2 * R * (C * s * s * rep + rep * rep + rep * (K + 1) + rep * 4 * (K + 1))
        assert linear_flop(model) == heads
        x = torch.zeros(1, 3, H, W)
        assert conv_flop(model, x) == backbone + rpn
        path = str(tmp_path / f"m{R}.safetensors")
        save_model(model, c, ["a", "b", "c", "d"], path)
        from ipgnet.info import info

        js = info(path)
        assert js["arch"] == "fasterrcnn"
        assert js["conv_gflop"] == pytest.approx((backbone + rpn + heads) * 1e-9, rel=1e-12)
        # R proposals or not: the zeros input gives far fewer than 1000
        with torch.no_grad():
            got = model.forward_tensor(x)[0]["proposals"].shape[0]
        assert R == 37 or got < R


# ---------------------------------------------------------------------------
# training, export, detect, eval


FRCNN_TINY = {
    "arch": "fasterrcnn", "backbone": "resnet18", "width": 0.125, "fpn_channels": 16, "input": [128, 128],
    "anchor_sizes": [[8], [16], [32], [64], [128]], "representation_size": 64, "rpn_post_nms_top_n": 300,
}


@pytest.fixture(scope="module")
def tiny_frcnn(tmp_path_factory):
    from tinycoco import make_tiny_coco

    root = tmp_path_factory.mktemp("frcnn")
    data = make_tiny_coco(str(root / "data"), splits=(("train", 8), ("val", 4)))
    cfg = root / "frcnn.json"
    cfg.write_text(json.dumps(FRCNN_TINY))
    run = root / "run"
    before = torch.are_deterministic_algorithms_enabled()
    try:
        assert main(["train", "--data", data, "--config", str(cfg), "--out", str(run), "--epochs", "2",
                     "--batch-size", "4", "--lr", "0.002", "--warmup-iters", "1", "--seed", "0",
                     "--log-every", "1000"]) == 0
    finally:
        torch.use_deterministic_algorithms(before)
    model = str(root / "m.safetensors")
    assert main(["export", str(run), "-o", model]) == 0
    return data, run, model


def test_train_export_detect(tiny_frcnn, capsys):
    data, run, path = tiny_frcnn
    ck = torch.load(run / "last.pt")
    assert ck["config"]["arch"] == "fasterrcnn" and ck["config"]["num_classes"] == 2
    assert ck["iteration"] == 4
    assert "topk_candidates" not in ck["config"]
    m = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in m] == [1, 2, 3, 4]
    for r in m:
        assert r["loss"] == pytest.approx(r["cls"] + r["box"], rel=1e-5) and r["cls"] > 0 and r["box"] > 0
    model, config, labels = load_model(path)
    assert isinstance(model, IPGFasterRCNN) and labels == ["square", "disc"]
    assert config.to_dict() == ck["config"]
    from ipgnet.data import CocoData

    img = CocoData(data, "val").path(CocoData(data, "val").images[0])
    capsys.readouterr()
    assert main(["detect", "-m", path, "--json", "--threshold", "0.05", img]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["detections"], "softmax over 3 classes starts near 1/3: detections at 0.05"
    assert len(rec["detections"]) <= config.detections_per_img
    assert all(d["label"] in ("square", "disc") and d["label_id"] in (0, 1) for d in rec["detections"])


def test_train_init_from_a_fasterrcnn_file(tiny_frcnn, tmp_path):
    """--init with other labels: the box predictor starts fresh, the RPN's
    objectness (rpn.head.cls_logits) and the rest are copied."""
    data, _, path = tiny_frcnn
    src = load_model(path)[0].state_dict()
    other = tmp_path / "other"
    shutil.copytree(data, other)
    ann = other / "annotations" / "instances_train.json"
    js = json.loads(ann.read_text())
    for c in js["categories"]:
        c["name"] = "x" + c["name"]
    ann.write_text(json.dumps(js))
    out = tmp_path / "ft"
    assert main(["train", "--data", str(other), "--init", path, "--out", str(out), "--max-iters", "1",
                 "--lr", "0", "--weight-decay", "0", "--batch-size", "4", "--log-every", "1000"]) == 0
    got = torch.load(str(out / "last.pt"), map_location="cpu")["model"]
    weights = [k for k in src if k.endswith(".weight")]
    fresh = [k for k in weights if k.startswith("roi_heads.box_predictor.")]
    assert len(fresh) == 2 and all(not torch.equal(got[k], src[k]) for k in fresh)
    assert torch.equal(got["rpn.head.cls_logits.weight"], src["rpn.head.cls_logits.weight"])
    assert all(torch.equal(got[k], src[k]) for k in weights if k not in fresh)


def test_train_init_refuses_the_other_arch(tiny_frcnn, tmp_path):
    data, _, _ = tiny_frcnn
    c = small_config(num_classes=2, width=0.125, fpn_channels=16, input=[128, 128])
    ret = str(tmp_path / "ret.safetensors")
    save_model(random_model(c, seed=0), c, ["square", "disc"], ret)
    cfg = tmp_path / "frcnn.json"
    cfg.write_text(json.dumps(FRCNN_TINY))
    with pytest.raises(SystemExit, match="different architecture"):
        main(["train", "--data", data, "--config", str(cfg), "--init", ret, "--out", str(tmp_path / "r"),
              "--max-iters", "1"])


def _coco_python():
    for py in (sys.executable, VENV_PY):
        if os.path.exists(py) and subprocess.run([py, "-c", "import pycocotools.cocoeval"],
                                                 capture_output=True).returncode == 0:
            return py
    pytest.skip("pycocotools missing (run tools/setup-venv.sh)")


def test_eval_runs(tiny_frcnn, tmp_path):
    data, _, path = tiny_frcnn
    py = _coco_python()
    mj = tmp_path / "m.json"
    r = subprocess.run([py, "-m", "ipgnet", "eval", "-m", path, "--data", data, "--metrics-json", str(mj)],
                       env=dict(os.environ, PYTHONPATH=TOOLS), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert [l.split()[0] for l in r.stdout.strip().splitlines()] == ["AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L"]
    m = json.loads(mj.read_text())
    assert all(-1 <= v <= 1 for v in m.values())
    assert re.search(r"Average Precision", r.stderr)
