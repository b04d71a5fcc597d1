"""``dump`` and ``compare``: named intermediates of the reference, for engine parity.

``dump`` writes an F32 safetensors file with every intermediate, 4-D ones as
[C, H, W] (batch dimension dropped), others as recorded, in execution order.
RetinaNet (arch "retinanet"):

    input                          normalised letterboxed network input
    pyramid.i4 .. pyramid.i{2^L}   image pyramid levels used (L = max guided
                                   level; none when ipg_levels is empty; I_2 is
                                   computed but not dumped)
    backbone.stem                  after the max pool
    backbone.c{l}                  raw layer{l-1} output, l = 2..5, each followed
                                   (for guided l) by ipg.g{l} (T_l output) and
                                   ipg.f{l} (fused F_l, the input of the next stage)
    fpn.p3 .. fpn.p7
    head.cls.p3 .. head.cls.p7     raw cls_logits conv output [A*K, h, w]
    head.box.p3 .. head.box.p7     raw bbox_reg conv output   [A*4, h, w]
    detections.boxes [N, 4]        network-input pixels, at config.score_thresh
    detections.scores [N]
    detections.labels [N]          as F32

Faster R-CNN (arch "fasterrcnn", see fasterrcnn.py): the same up to the
backbone's last stage, then (A anchors per location, R proposals, C FPN
channels, s = roi_output_size, K classes)

    fpn.p2 .. fpn.p6               [C, h, w]
    rpn.cls.p2 .. rpn.cls.p6       raw objectness conv output [A, h, w]
    rpn.box.p2 .. rpn.box.p6       raw bbox_pred conv output  [4A, h, w]
    rpn.proposals [1, R, 4]        proposals after filter_proposals (score order)
    rpn.scores [1, 1, R]           their sigmoid objectness
    roi.features [C*s*s, 1, R]     MultiScaleRoIAlign output, index (c*s + y)*s + x
    roi.cls [K+1, 1, R]            class logits (0 = background)
    roi.box [4(K+1), 1, R]         box regression (row 4k + j: delta j of class k)
    detections.boxes [N, 4], detections.scores [N], detections.labels [N]
                                   as above (labels 0-based, background excluded)

metadata: "format": "ipgnet-stages", "order": JSON array of the names above,
"scale": repr(s), "image", "width"/"height" (frame), "input" ("WxH").
``--tensor-out`` writes the input tensor [3, H, W] as raw little-endian float32.

``compare REF OURS`` walks REF's order; per stage d = max|ours - ref|,
m = max|ref|, ratio = d / m (0 when d = 0, inf when m = 0 < d).  A stage fails
when ratio > rtol, when its shape differs, or when OURS lacks it.
"""

import json
import math
import sys

import torch

from .modelfile import read_safetensors, write_safetensors
from .modelfile import load_model
from .preprocess import letterbox, load_image


def collect_stages(model, x):
    """Run forward_tensor on x [1, 3, H, W]; returns (OrderedDict name -> tensor, detections)."""
    stages = {}
    order = []

    def record(name, t):
        t = t.detach().to(torch.float32)
        if t.dim() == 4:
            t = t[0]
        stages[name] = t.clone().contiguous()
        order.append(name)

    _, det = model.forward_tensor(x, record)
    return {k: stages[k] for k in order}, det


def dump(model_path, image_path, out_path, tensor_out=None, input_size=None):
    torch.set_grad_enabled(False)
    model, config, _ = load_model(model_path)
    image = load_image(image_path)
    size = input_size or config.input
    x, s = letterbox(image, size, config.mean, config.std)
    stages, _ = collect_stages(model, x[None])
    h, w = image.shape[:2]
    meta = {
        "format": "ipgnet-stages",
        "order": json.dumps(list(stages)),
        "scale": repr(float(s)),
        "image": str(image_path),
        "width": str(w),
        "height": str(h),
        "input": f"{size[0]}x{size[1]}",
    }
    write_safetensors(out_path, stages, meta, "F32")
    if tensor_out:
        with open(tensor_out, "wb") as f:
            f.write(x.numpy().astype("<f4").tobytes())
    return stages


def stage_ratio(ref, ours):
    ref = ref.double()
    ours = ours.double()
    d = float((ours - ref).abs().max()) if ref.numel() else 0.0
    m = float(ref.abs().max()) if ref.numel() else 0.0
    if math.isnan(d):
        return d, m, math.inf
    if d == 0.0:
        return d, m, 0.0
    return d, m, (d / m if m > 0 else math.inf)


def compare(ref_path, ours_path, rtol=1e-4, out=None):
    if out is None:  # the current stdout, not the one of import time
        out = sys.stdout
    ref, ref_meta = read_safetensors(ref_path)
    ours, _ = read_safetensors(ours_path)
    if "order" in ref_meta:
        order = json.loads(ref_meta["order"])
    else:
        order = sorted(ref)
    first_bad = None
    missing = []
    print(f"{'stage':<22} {'max|a-b|':>12} {'max|b|':>12} {'ratio':>10}", file=out)
    for name in order:
        if name not in ref:
            print(f"{name:<22} (listed in REF's order but absent from REF)", file=out)
            continue
        if name not in ours:
            print(f"{name:<22} MISSING in {ours_path}", file=out)
            missing.append(name)
            continue
        a, b = ours[name], ref[name]
        if list(a.shape) != list(b.shape):
            print(f"{name:<22} SHAPE MISMATCH: ours {list(a.shape)} vs ref {list(b.shape)}", file=out)
            if first_bad is None:
                first_bad = (name, "shape mismatch")
            continue
        d, m, r = stage_ratio(b, a)
        flag = "" if r <= rtol else "  <-- exceeds rtol"
        print(f"{name:<22} {d:12.4e} {m:12.4e} {r:10.3e}{flag}", file=out)
        if r > rtol and first_bad is None:
            first_bad = (name, f"ratio {r:.3e} > rtol {rtol:g}")
    extra = [k for k in ours if k not in ref]
    if extra:
        print(f"stages only in {ours_path}: {', '.join(extra)}", file=out)
    if missing:
        print(f"{len(missing)} stage(s) missing in {ours_path}: {', '.join(missing)}", file=out)
    if first_bad is not None:
        print(f"first mismatch: {first_bad[0]} ({first_bad[1]})", file=out)
        return 1
    if missing:
        return 1
    print("all stages match", file=out)
    return 0
