#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Whole-network parity: the OpenCL engine (through ipgnet-detect) against the
PyTorch reference (tools/ipgnet), on the same model file and image, as
../shared/IPGNET.md "Parity" defines it:

- every named stage (input, pyramid, backbone, IPG modules, FPN, raw head
  outputs) within max|a - b| <= 1e-4 * max|b|;
- the final detections at the candidate threshold equal: labels equal, box
  corners within 0.05 network-input pixels, scores within 1e-4, except
  candidates whose fate is decided within 1e-4 of a threshold (score
  threshold, the top-k / detections-per-image cut-off) or of the NMS IoU
  threshold.

For the two-stage configs the stages include the RPN outputs, the proposals
(their count and order too), the RoI features and the box head's outputs.

Usage: test_parity.py IPGNET_DETECT SOURCE_ROOT [CONFIG_NAME...]
Prints one line per check and 'N passed, N failed'.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

SOURCE = sys.argv[2] if len(sys.argv) > 2 else "."
sys.path.insert(0, os.path.join(SOURCE, "tools"))

from ipgnet.modelfile import read_safetensors  # noqa: E402

# Overridable for a machine without Debian's packages (a GPU box whose torch
# lives elsewhere): IPGNET_PYTHON, IPGNET_FACES.
PY = os.environ.get("IPGNET_PYTHON", "/usr/bin/python3")
FACES = os.environ.get("IPGNET_FACES", "/usr/share/pixmaps/faces")   # gnome-control-center-data

# name: (random-model arguments, images). Images: a photo path, or
# ("random", w, h, seed) for uniform noise written as PNG.
CONFIGS = {
    "r18w05-352x288": (["--backbone", "resnet18", "--width", "0.5", "--num-classes", "7",
                        "--input", "352x288", "--seed", "3"],
                       [f"{FACES}/mountain.jpg", f"{FACES}/puppy.jpg", ("random", 301, 207, 1),
                        ("random", 352, 288, 2)]),
    "r50-512": (["--backbone", "resnet50", "--num-classes", "5", "--input", "512x512", "--seed", "4"],
                [f"{FACES}/cat.jpg", ("random", 512, 512, 3)]),
    "r34-plainfpn-256x192": (["--backbone", "resnet34", "--width", "0.5", "--ipg-levels", "",
                              "--num-classes", "4", "--input", "256x192", "--seed", "5"],
                             [f"{FACES}/surfer.jpg", ("random", 301, 207, 4)]),
    "r18w025-odd-letterbox": (["--backbone", "resnet18", "--width", "0.25", "--ipg-levels", "3,5",
                               "--fpn-channels", "32", "--num-classes", "13", "--input", "96x64",
                               "--seed", "6"],
                              [("random", 301, 207, 5), ("random", 17, 91, 6), ("random", 1, 1, 7),
                               ("random", 301, 207, 8, "160x128")]),
    # Two-stage (IPG-Faster R-CNN): RPN outputs, proposals, RoI features, box
    # head outputs and detections, on odd letterboxes and non-native sizes.
    "frcnn-r18w025-128x96": (["--arch", "fasterrcnn", "--backbone", "resnet18", "--width", "0.25",
                              "--fpn-channels", "32", "--num-classes", "5", "--input", "128x96", "--seed", "1"],
                             [f"{FACES}/cat.jpg", ("random", 301, 207, 9), ("random", 17, 91, 10),
                              ("random", 301, 207, 11, "224x160")]),
    "frcnn-r34-plainfpn-256x192": (["--arch", "fasterrcnn", "--backbone", "resnet34", "--width", "0.5",
                                    "--ipg-levels", "", "--fpn-channels", "48", "--num-classes", "12",
                                    "--input", "256x192", "--seed", "8"],
                                   [f"{FACES}/surfer.jpg", ("random", 352, 288, 12)]),
    # Bottleneck blocks, two guided levels, and every two-stage field off its
    # default: fewer proposals, 5x5 RoIs sampled 3x3, a narrow box head, an
    # FPN width that leaves RoIAlign a partial channel block.
    "frcnn-r50w025-fields-160x96": (["--arch", "fasterrcnn", "--backbone", "resnet50", "--width", "0.25",
                                     "--ipg-levels", "3,5", "--fpn-channels", "24", "--num-classes", "3",
                                     "--input", "160x96", "--seed", "9",
                                     "--set", "rpn_pre_nms_top_n=300", "--set", "rpn_post_nms_top_n=200",
                                     "--set", "rpn_nms_thresh=0.6", "--set", "roi_output_size=5",
                                     "--set", "roi_sampling_ratio=3", "--set", "representation_size=128"],
                                    [f"{FACES}/puppy.jpg", ("random", 97, 211, 13)]),
}

RTOL = 1e-4
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}")
    sys.stdout.flush()


def run(args, **kw):
    env = dict(os.environ, PYTHONPATH=os.path.join(SOURCE, "tools"), OMP_NUM_THREADS="2")
    return subprocess.run(args, env=env, capture_output=True, text=True, **kw)


def make_image(spec, tmp):
    """A photo path, or a seeded random image: multi-octave noise (coarse
    blobs down to per-pixel grain), so it has the spectrum of a picture.
    Pure white noise drives a random network into saturated scores of 1.0,
    where every detection ties and the comparison says nothing."""
    if isinstance(spec, str):
        return spec
    from PIL import Image
    w, h, seed = spec[1:4]
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3))
    for octave in range(6):
        gh, gw = max(1, h >> octave), max(1, w >> octave)
        layer = rng.random((gh, gw, 3)).astype(np.float32)
        up = np.stack([np.asarray(Image.fromarray(layer[..., c]).resize((w, h), Image.BILINEAR))
                       for c in range(3)], axis=-1)
        img += up * (0.3 + 0.2 * octave)
    img = (img - img.min()) / max(img.max() - img.min(), 1e-6)
    path = os.path.join(tmp, f"random-{w}x{h}-{seed}.png")
    Image.fromarray((img * 255).astype(np.uint8)).save(path)
    return path


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def borderline(det, dets, cut_score, nms_thresh, score_thresh, eps=1e-4):
    """May this detection's presence flip on an `eps` difference?"""
    box, score, label = det
    if abs(score - score_thresh) <= eps or (cut_score is not None and abs(score - cut_score) <= eps):
        return True
    for b2, s2, l2 in dets:
        if l2 == label and s2 >= score - eps and b2 is not box and abs(iou(box, b2) - nms_thresh) <= eps:
            return True
    return False


def compare_detections(name, ref, ours, scale, cfg, score_thresh=None, eps=1e-4):
    """ref/ours: lists of (box in network pixels, score, label). Scores must
    agree within eps; eps also sets how close to a threshold a detection must
    be to count as borderline."""
    if score_thresh is None:
        score_thresh = cfg["score_thresh"]
    tol = 0.05
    cap = cfg["detections_per_img"]
    ref_cut = ref[-1][1] if len(ref) >= cap else None
    ours_cut = ours[-1][1] if len(ours) >= cap else None
    used = [False] * len(ours)
    unmatched_ref = []
    for det in ref:
        found = False
        for j, o in enumerate(ours):
            if used[j] or o[2] != det[2] or abs(o[1] - det[1]) > eps:
                continue
            if max(abs(o[0][k] - det[0][k]) for k in range(4)) <= tol:
                used[j] = True
                found = True
                break
        if not found:
            unmatched_ref.append(det)
    unmatched_ours = [o for j, o in enumerate(ours) if not used[j]]
    bad_ref = [d for d in unmatched_ref
               if not borderline(d, ref, ref_cut, cfg["nms_thresh"], score_thresh, eps)]
    bad_ours = [d for d in unmatched_ours
                if not borderline(d, ours, ours_cut, cfg["nms_thresh"], score_thresh, eps)]
    n_borderline = len(unmatched_ref) + len(unmatched_ours) - len(bad_ref) - len(bad_ours)
    # Ties make a comparison vacuous: most detections must match outright.
    check(n_borderline <= 0.2 * max(len(ref), 1),
          f"{name}: at most 20% of detections borderline ({n_borderline})")
    check(not bad_ref and not bad_ours and len(ref) > 0,
          f"{name}: detections equal ({len(ref)} reference, {len(ours)} ours, "
          f"{len(unmatched_ref) + len(unmatched_ours)} borderline, "
          f"{len(bad_ref)} + {len(bad_ours)} real mismatches)")
    for d in (bad_ref + bad_ours)[:5]:
        print(f"     unmatched: label {d[2]} score {d[1]:.6f} box {[round(v, 3) for v in d[0]]}")


ROI_STAGES = ("rpn.proposals", "rpn.scores", "roi.features", "roi.cls", "roi.box")
# Two-stage: the RoI features are bilinear samples at the proposals'
# coordinates, which carry the RPN's ~1e-6-relative differences; on a deep
# random network's steep feature maps that grows to ~5e-4 of the largest
# feature, and the box head passes it on (measured: R50 width 0.25, roi.cls
# 1.6e-4, roi.box 2.3e-4). Everything after the proposals is therefore
# checked twice: each stage alone against torchvision on the engine's own
# inputs (RoIAlign, box head, post-processing: the contract's tolerances or
# tighter), and end to end with 1e-3 for the stages and the scores.
STAGE_RTOL = {"roi.features": 1e-3, "roi.cls": 1e-3, "roi.box": 1e-3}
TWO_STAGE_SCORE_EPS = 1e-3


def box_head_isolated(model, ours_t, cfg):
    """The box head and predictor (torch) on our roi.features, against our
    roi.cls and roi.box: max ratio of the two."""
    import torch
    feats = np.asarray(ours_t["roi.features"])
    R, C, S = feats.shape[-1], cfg["fpn_channels"], cfg["roi_output_size"]
    x = torch.as_tensor(feats).reshape(-1, R).t().reshape(R, C, S, S)
    with torch.no_grad():
        cls, box = model.roi_heads.box_predictor(model.roi_heads.box_head(x))
    worst = 0.0
    for name, ref in (("roi.cls", cls), ("roi.box", box)):
        ref = ref.t().numpy()
        ours = np.asarray(ours_t[name]).reshape(ref.shape)
        m = np.abs(ref).max() if ref.size else 0.0
        worst = max(worst, (np.abs(ours - ref).max() / m) if m > 0 else 0.0)
    return worst


def postprocess_isolated(model, ours_t, input_hw):
    """torchvision's RoIHeads.postprocess_detections on our roi.cls, roi.box
    and proposals: the detections the engine should report, (box, score,
    label) in network pixels."""
    import torch
    R = ours_t["roi.cls"].shape[-1]
    cls = torch.as_tensor(np.asarray(ours_t["roi.cls"])).reshape(-1, R).t()
    box = torch.as_tensor(np.asarray(ours_t["roi.box"])).reshape(-1, R).t()
    props = torch.as_tensor(np.asarray(ours_t["rpn.proposals"])).reshape(-1, 4)
    with torch.no_grad():
        boxes, scores, labels = model.roi_heads.postprocess_detections(cls, box, [props], [input_hw])
    return [(list(map(float, b)), float(s), int(l) - 1) for b, s, l in zip(boxes[0], scores[0], labels[0])]


def roi_align_isolated(ours_t, cfg, input_hw):
    """Our roi.features against torchvision's MultiScaleRoIAlign run on our
    own P2..P5 and proposals: RoIAlign alone, max|a - b| / max|b|."""
    import torch
    from collections import OrderedDict
    from torchvision.ops import MultiScaleRoIAlign
    feats = OrderedDict((f"p{l}", torch.as_tensor(np.asarray(ours_t[f"fpn.p{l}"]))[None]) for l in range(2, 6))
    props = torch.as_tensor(np.asarray(ours_t["rpn.proposals"])).reshape(-1, 4)
    pool = MultiScaleRoIAlign(list(feats), cfg["roi_output_size"], cfg["roi_sampling_ratio"])
    with torch.no_grad():
        ref = pool(feats, [props], [input_hw]).flatten(1).t().numpy()
    ours = np.asarray(ours_t["roi.features"]).reshape(ref.shape)
    m = np.abs(ref).max() if ref.size else 0.0
    return (np.abs(ours - ref).max() / m) if m > 0 else 0.0


def match_proposals(ref_t, ours_t, cfg):
    """Two-stage: pairs each reference proposal with ours. Proposals are
    sorted by score, so a 1e-7 difference between two near-equal scores
    swaps them, and an IoU or score at a threshold may change the set. Rows
    pair by score (within 1e-4) and box (within 0.05 pixels); an unpaired
    row must be borderline: its score within 1e-4 of the post-NMS cut or of
    a level's pre-NMS top-n cut, or an IoU with another proposal within 1e-3
    of rpn_nms_thresh. Returns
    (pairs [(ref row, ours row)] usable for the RoI stages, list of real
    mismatches)."""
    rb = np.asarray(ref_t["rpn.proposals"], dtype=np.float64).reshape(-1, 4)
    ob = np.asarray(ours_t["rpn.proposals"], dtype=np.float64).reshape(-1, 4)
    rs = np.asarray(ref_t["rpn.scores"], dtype=np.float64).reshape(-1)
    os_ = np.asarray(ours_t["rpn.scores"], dtype=np.float64).reshape(-1)
    used = np.zeros(len(ob), bool)
    pairs, unpaired_ref = [], []
    for i in range(len(rb)):
        cand = np.nonzero(~used & (np.abs(os_ - rs[i]) <= 1e-4))[0]
        close = [j for j in cand if np.abs(ob[j] - rb[i]).max() <= 0.05]
        if close:
            used[close[0]] = True
            pairs.append((i, close[0]))
        else:
            unpaired_ref.append(i)
    cap = cfg["rpn_post_nms_top_n"]
    # A level with more anchors than rpn_pre_nms_top_n keeps its top n logits:
    # a candidate whose probability sits within 1e-4 of that level's n-th may
    # be in one engine's set and not the other's.
    k = cfg["rpn_pre_nms_top_n"]
    cuts = []
    for name in [n for n in ref_t if n.startswith("rpn.cls.")]:
        v = np.sort(np.asarray(ref_t[name], dtype=np.float64).ravel())[::-1]
        if v.size > k:
            cuts.append(1.0 / (1.0 + np.exp(-v[k - 1])))

    def borderline(box, score, boxes, scores):
        if len(scores) >= cap and abs(score - scores[-1]) <= 1e-4:
            return True
        if any(abs(score - c) <= 1e-4 for c in cuts):
            return True
        return any(abs(iou(box, b) - cfg["rpn_nms_thresh"]) <= 1e-3 for b in boxes)

    bad = [("ref", i) for i in unpaired_ref if not borderline(rb[i], rs[i], np.concatenate([rb, ob]), rs)]
    bad += [("ours", j) for j in np.nonzero(~used)[0] if not borderline(ob[j], os_[j], np.concatenate([rb, ob]), os_)]
    # RoIs whose pyramid level (floor(4 + log2(sqrt(area) / 224))) sits within
    # 1e-4 of a level boundary may pool from another level in either engine.
    def level_edge(b):
        area = max((b[2] - b[0]) * (b[3] - b[1]), 1e-12)
        v = 4 + np.log2(np.sqrt(area) / 224)
        return abs(v - round(v)) <= 1e-4
    pairs = [(i, j) for i, j in pairs if not level_edge(rb[i])]
    return pairs, bad


_models = {}


def torch_model(path):
    """The reference model of a file, loaded once."""
    if path not in _models:
        from ipgnet.modelfile import load_model
        _models[path] = load_model(path)[0].eval()
    return _models[path]


def detect_json(cfg_name, model, image, detect, s, cfg, extra=(), eps=1e-4):
    """Both command-line detectors at threshold 0.3 give the same JSON Lines:
    same image fields, and detections equal by the rules above (compared in
    network pixels, with 0.3 as the threshold for borderline cases)."""
    tag = f"{cfg_name} {os.path.basename(image)} {' '.join(extra)} JSON".strip()
    a = run([PY, "-m", "ipgnet", "detect", "-m", model, "--threshold", "0.3", "--json", *extra, image])
    b = run([detect, "-m", model, "--threshold", "0.3", "--json", *extra, image])
    check(a.returncode == 0 and b.returncode == 0, f"{tag}: both detect commands ran")
    if a.returncode or b.returncode:
        print(a.stderr, b.stderr)
        return
    ra, rb = json.loads(a.stdout), json.loads(b.stdout)
    check(all(ra[k] == rb[k] for k in ("image", "width", "height")) and
          all(set(d) == {"label", "label_id", "score", "box"} for d in ra["detections"] + rb["detections"]),
          f"{tag}: same record fields")
    labels_ok = all(d["label"] == f"class{d['label_id']}" for d in ra["detections"] + rb["detections"])
    check(labels_ok, f"{tag}: label names follow label ids")
    as_net = lambda dets: [([v * s for v in d["box"]], d["score"], d["label_id"]) for d in dets]
    compare_detections(tag, as_net(ra["detections"]), as_net(rb["detections"]), s, cfg, 0.3, eps)


def tiled_json(tag, model, image, detect, cfg, tile_args, eps=1e-4):
    """Tiled inference (docs/TILING.md) in both command-line detectors at
    threshold 0.3: the same records, every detection with the same tile and
    scale, and the merged detections equal by the rules above, each compared
    in the network pixels of the image it came from (box * its scale), so
    that 0.05 network pixels stays the tolerance."""
    a = run([PY, "-m", "ipgnet", "detect", "-m", model, "--threshold", "0.3", "--json", *tile_args, image])
    b = run([detect, "-m", model, "--threshold", "0.3", "--json", *tile_args, image])
    check(a.returncode == 0 and b.returncode == 0, f"{tag}: both detect commands ran")
    if a.returncode or b.returncode:
        print(a.stderr, b.stderr)
        return
    ra, rb = json.loads(a.stdout), json.loads(b.stdout)
    fields = {"label", "label_id", "score", "box", "tile", "scale"}
    check(all(ra[k] == rb[k] for k in ("image", "width", "height")) and
          all(set(d) == fields for d in ra["detections"] + rb["detections"]),
          f"{tag}: same record fields, with tile and scale")
    # The provenance is part of the label: a detection must come from the
    # same tile (or the full frame, -1) in both engines.
    as_net = lambda dets: [([v * d["scale"] for v in d["box"]], d["score"], d["label_id"] * 10000 + d["tile"] + 1)
                           for d in dets]
    scales = {(d["tile"], round(d["scale"], 5)) for d in ra["detections"]}
    check(all((d["tile"], round(d["scale"], 5)) in scales or d["tile"] not in {t for t, _ in scales}
              for d in rb["detections"]), f"{tag}: the same scale for each tile")
    compare_detections(tag, as_net(ra["detections"]), as_net(rb["detections"]), None, cfg, 0.3, eps)


# Tiled parity: (config, image spec, tiling flags). Random models on odd
# frames with tiles smaller and larger than the input, both merges and
# metrics, with and without the full frame; the trained demo model on a
# synthetic high-resolution image of digits (tiled_trained below).
TILED = [
    ("r18w05-352x288", ("random", 301, 207, 11), ["--tile", "128x96"]),
    ("r18w05-352x288", ("random", 640, 360, 12), ["--tile", "400x300", "--tile-overlap", "0.3",
                                                  "--tile-merge", "nms", "--tile-match-metric", "iou"]),
    ("r18w025-odd-letterbox", ("random", 301, 207, 13), ["--tile", "77x45", "--no-full-frame",
                                                         "--tile-match-threshold", "0.6"]),
    ("frcnn-r18w025-128x96", ("random", 301, 207, 14), ["--tile", "150x100", "--tile-merge", "nms"]),
]


def tiled_parity(detect, tmp):
    for cfg_name, spec, flags in TILED:
        args, _ = CONFIGS[cfg_name]
        model = os.path.join(tmp, f"{cfg_name}.safetensors")
        if not os.path.exists(model):
            r = run([PY, "-m", "ipgnet", "random", *args, "-o", model])
            check(r.returncode == 0, f"{cfg_name}: random model written")
            if r.returncode:
                continue
        _, meta = read_safetensors(model)
        cfg = json.loads(meta["config"])
        image = make_image(spec, tmp)
        tiled_json(f"{cfg_name} {os.path.basename(image)} {' '.join(flags)} tiled", model, image, detect, cfg,
                   flags, TWO_STAGE_SCORE_EPS if cfg.get("arch") == "fasterrcnn" else 1e-4)


def tiled_trained(detect, tmp):
    """The shipped demo model, tiled 512x512 (the defaults: overlap 0.2, full
    frame, NMM + IoS 0.5), on a 1280x720 image of the synthetic data set
    (digits of 8-48 px over a photograph)."""
    model = os.path.join(SOURCE, "models", "ipgnet-demo.safetensors")
    if not os.path.exists(model):
        check(False, f"tiled parity on the demo model: {model} is missing")
        return
    out = os.path.join(tmp, "synth-720p")
    r = run([PY, "-m", "ipgnet", "synth", "--out", out, "--seed", "7", "--train-images", "0", "--val-images", "1",
             "--size", "1280x720", "--objects", "12,12", "--workers", "1"])
    images = [os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs if f.endswith((".jpg", ".png"))]
    check(r.returncode == 0 and len(images) == 1, "a 1280x720 synthetic image written")
    if r.returncode or len(images) != 1:
        print(r.stderr[-2000:])
        return
    _, meta = read_safetensors(model)
    cfg = json.loads(meta["config"])
    tiled_json("demo model 1280x720 --tile 512x512 tiled", model, images[0], detect, cfg, ["--tile", "512x512"])


def parity(cfg_name, detect, tmp):
    args, images = CONFIGS[cfg_name]
    model = os.path.join(tmp, f"{cfg_name}.safetensors")
    r = run([PY, "-m", "ipgnet", "random", *args, "-o", model])
    check(r.returncode == 0, f"{cfg_name}: random model written")
    if r.returncode != 0:
        print(r.stderr)
        return
    cfg = json.loads(read_safetensors(model)[1]["config"])
    for spec in images:
        image = make_image(spec, tmp)
        if not os.path.exists(image):
            check(False, f"{cfg_name}: sample photo {image} exists (apt-get install gnome-control-center-data)")
            continue
        tag = f"{cfg_name} {os.path.basename(image)}"
        ref_path = os.path.join(tmp, "ref.safetensors")
        ours_path = os.path.join(tmp, "ours.safetensors")
        size = ["--input-size", spec[4]] if not isinstance(spec, str) and len(spec) > 4 else []
        if size:
            tag += f" at {spec[4]}"
        r = run([PY, "-m", "ipgnet", "dump", "-m", model, image, "-o", ref_path, *size])
        check(r.returncode == 0, f"{tag}: reference dump")
        if r.returncode != 0:
            print(r.stderr)
            continue
        r = run([detect, "-m", model, "--threshold", "0", "--json", "--dump-stages", ours_path, *size, image])
        check(r.returncode == 0, f"{tag}: ipgnet-detect ran")
        if r.returncode != 0:
            print(r.stderr)
            continue
        ref_t, ref_meta = read_safetensors(ref_path)
        ours_t, _ = read_safetensors(ours_path)
        order = json.loads(ref_meta["order"])
        worst = (0.0, "")
        bad = []
        pairs = None
        two_stage = "rpn.proposals" in ref_t and "rpn.proposals" in ours_t
        if two_stage:
            hw = tuple(ref_t["input"].shape[-2:])
            iso = roi_align_isolated(ours_t, cfg, hw)
            check(iso <= 1e-5, f"{tag}: RoIAlign on our own P2..P5 and proposals = torchvision's "
                               f"(ratio {iso:.2e})")
            iso = box_head_isolated(torch_model(model), ours_t, cfg)
            check(iso <= 1e-5, f"{tag}: box head on our own RoI features = torchvision's (ratio {iso:.2e})")
            pairs, mismatched = match_proposals(ref_t, ours_t, cfg)
            check(not mismatched and len(pairs) >= 0.8 * ref_t["rpn.proposals"].shape[1],
                  f"{tag}: proposals equal ({ref_t['rpn.proposals'].shape[1]} reference, "
                  f"{ours_t['rpn.proposals'].shape[1]} ours, {len(pairs)} paired, "
                  f"{len(mismatched)} real mismatches)")
        for stage in order:
            if stage.startswith("detections."):
                continue
            a, b = ours_t.get(stage), ref_t[stage]
            if a is not None and pairs is not None and stage in ROI_STAGES:
                # The RoI axis is the last but for the proposal boxes: compare paired RoIs.
                axis = 1 if stage == "rpn.proposals" else -1
                ri = [i for i, _ in pairs]
                oi = [j for _, j in pairs]
                a, b = np.take(np.asarray(a), oi, axis=axis), np.take(np.asarray(b), ri, axis=axis)
            if a is None or tuple(a.shape) != tuple(b.shape):
                bad.append(f"{stage} missing or shape {None if a is None else tuple(a.shape)} != {tuple(b.shape)}")
                continue
            a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
            m = np.abs(b).max() if b.size else 0.0
            d = np.abs(a - b).max() if b.size else 0.0
            ratio = d / m if m > 0 else d
            rtol = STAGE_RTOL.get(stage, RTOL)
            if ratio / rtol > worst[0] / STAGE_RTOL.get(worst[1], RTOL):
                worst = (ratio, stage)
            if not ratio <= rtol:
                bad.append(f"{stage} ratio {ratio:.3e} (tolerance {rtol:g})")
        check(not bad, f"{tag}: {len(order) - 3} stages within {RTOL:g} relative"
                       + (" (RoI features 1e-3)" if pairs is not None else "") + " "
                       f"(worst {worst[0]:.2e} at {worst[1]})" + (f"; first divergence: {bad[0]}" if bad else ""))
        # Final detections, in network-input pixels.
        s = float(ref_meta["scale"])
        rb = np.asarray(ref_t["detections.boxes"], dtype=np.float64).reshape(-1, 4)
        rs = np.asarray(ref_t["detections.scores"], dtype=np.float64).reshape(-1)
        rl = np.asarray(ref_t["detections.labels"]).reshape(-1).astype(int)
        ref = [(list(rb[i]), float(rs[i]), int(rl[i])) for i in range(len(rs))]
        line = json.loads(r.stdout.strip().splitlines()[-1])
        ours = []
        for d in line["detections"]:
            # Frame pixels back to network pixels; boxes were clipped to the
            # frame, which inside the letterboxed area is the network clip.
            ours.append(([v * s for v in d["box"]], d["score"], d["label_id"]))
        # Reference boxes clipped to the frame the same way.
        fw, fh = line["width"], line["height"]
        ref = [([min(max(b[0] / s, 0), fw) * s, min(max(b[1] / s, 0), fh) * s,
                 min(max(b[2] / s, 0), fw) * s, min(max(b[3] / s, 0), fh) * s], sc, lb) for b, sc, lb in ref]
        if two_stage:
            # post-processing alone: torchvision on our own box head outputs
            # and proposals, clipped to the frame like ours
            alone = [([min(max(b[0] / s, 0), fw) * s, min(max(b[1] / s, 0), fh) * s,
                       min(max(b[2] / s, 0), fw) * s, min(max(b[3] / s, 0), fh) * s], sc, lb)
                     for b, sc, lb in postprocess_isolated(torch_model(model), ours_t, hw)]
            compare_detections(tag + " (post-processing on our own head outputs)", alone, ours, s, cfg)
        compare_detections(tag + (" (end to end)" if two_stage else ""), ref, ours, s, cfg,
                           eps=TWO_STAGE_SCORE_EPS if two_stage else 1e-4)
        if spec is images[0] or size:
            detect_json(cfg_name, model, image, detect, s, cfg, size, TWO_STAGE_SCORE_EPS if two_stage else 1e-4)


def main():
    detect = sys.argv[1]
    names = sys.argv[3:] or list(CONFIGS)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            parity(name, detect, tmp)
        if not sys.argv[3:]:
            tiled_parity(detect, tmp)
            tiled_trained(detect, tmp)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
