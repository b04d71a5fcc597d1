"""``info``: what a model file holds, and what it costs.

    python3 -m ipgnet info -m MODEL [--input-size WxH] [--json]

Prints the config summary, the labels, the number of parameters (every
parameter of the PyTorch module, BatchNorm affine parameters included, running
statistics not) and the convolution cost at the input size: 2 x multiply-adds
of every Conv2d (the stem, the backbone, the IPG modules, the FPN, the head),
which is what the engine's ``conv_gflop`` counts (it folds BN into the convs,
so BN, ReLU, pooling and additions are in neither figure; biases neither).

Faster R-CNN (arch "fasterrcnn"): every Conv2d as above -- the FPN on F2..F5,
and the RPN head (3x3 conv, cls_logits, bbox_pred) on each of P2..P6 -- plus
the box head's and predictor's Linear layers fc6, fc7, cls_score and bbox_pred
at R = rpn_post_nms_top_n rows: 2 x R x in_features x out_features each.  R is
the maximum number of proposals, whatever number a forward really produces
(the engine always computes the maximum), so the figure does not depend on the
image's content; RoIAlign, top-k and NMS are not counted.
"""

import json
import sys

import torch

from .modelfile import load_model


def conv_flop(model, x):
    """2 x MACs of every Conv2d in one forward of x [1, 3, H, W]."""
    total = [0]

    def hook(m, inp, out):
        cin = m.in_channels // m.groups
        kh, kw = m.kernel_size
        total[0] += 2 * out.numel() * cin * kh * kw

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad():
            model.forward_tensor(x)
    finally:
        for h in handles:
            h.remove()
    return total[0]


def linear_flop(model):
    """Faster R-CNN's RoI head: 2 x R x in x out for fc6, fc7, cls_score and
    bbox_pred at R = config.rpn_post_nms_top_n; 0 for RetinaNet."""
    if model.config.arch != "fasterrcnn":
        return 0
    R = model.config.rpn_post_nms_top_n
    rh = model.roi_heads
    layers = (rh.box_head.fc6, rh.box_head.fc7, rh.box_predictor.cls_score, rh.box_predictor.bbox_pred)
    return sum(2 * R * m.in_features * m.out_features for m in layers)


def info(path, input_size=None):
    torch.set_grad_enabled(False)
    model, config, labels = load_model(path)
    W, H = input_size or config.input
    if W % 32 or H % 32 or min(W, H) < 32:
        raise ValueError(f"--input-size {W}x{H} must be multiples of 32")
    params = sum(p.numel() for p in model.parameters())
    flop = conv_flop(model, torch.zeros(1, 3, H, W)) + linear_flop(model)
    d = config.to_dict()
    return {
        "model": path, "arch": d.get("arch", "retinanet"), "backbone": config.backbone,
        "width": config.width, "ipg_levels": list(config.ipg_levels),
        "fpn_channels": config.fpn_channels, "input": [W, H], "num_classes": config.num_classes,
        "labels": list(labels), "parameters": int(params), "conv_gflop": flop * 1e-9,
    }


def cmd_info(args):
    try:
        r = info(args.model, args.input_size)
    except ValueError as e:
        print(f"ipgnet info: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(r))
        return 0
    levels = ",".join(str(v) for v in r["ipg_levels"]) or "none (plain FPN)"
    print(f"model: {r['model']}")
    print(f"arch: {r['arch']}, {r['backbone']} width {r['width']}, IPG levels {levels}, "
          f"FPN {r['fpn_channels']}")
    print(f"input: {r['input'][0]}x{r['input'][1]}")
    print(f"classes: {r['num_classes']} ({', '.join(r['labels'])})")
    print(f"parameters: {r['parameters']} ({r['parameters'] / 1e6:.3f} M)")
    print(f"conv_gflop: {r['conv_gflop']:.3f}")
    return 0
