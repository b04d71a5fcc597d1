"""``export-onnx``: model file -> ONNX graph of the network (no pre- or post-processing).

Input ``input``: the normalised, letterboxed tensor [1, 3, H, W] (float32) at
the model's input size (or ``--input-size``), as ``dump`` records it as stage
``input``. Fixed shapes: no dynamic axes.

Outputs, named as the engine's stages (stages.py), raw conv outputs [1, C, h, w]:

    retinanet    head.cls.p3 .. head.cls.p7   [1, A*K, h, w]
                 head.box.p3 .. head.box.p7   [1, A*4, h, w]
    fasterrcnn   rpn.cls.p2 .. rpn.cls.p6     [1, A, h, w]
                 rpn.box.p2 .. rpn.box.p6     [1, 4A, h, w]

Covered: backbone, IPG (image pyramid, transform, fusion), FPN and the
dense head. Not covered: anchors, box decoding, NMS (RetinaNet's
post-processing), and for Faster R-CNN everything after the RPN head
(proposal filtering, RoIAlign, the box head and its post-processing).

``--box-head`` (Faster R-CNN only) writes the second stage's box head as a
graph of its own instead: input ``roi_features`` [R, C, s, s] (R RoIs, the
MultiScaleRoIAlign output), outputs ``class_logits`` [R, K+1] and
``box_regression`` [R, 4(K+1)] (torchvision's TwoMLPHead and
FastRCNNPredictor). The proposals and RoIAlign between the two graphs are
not covered.

Exported with torch.onnx.export (TorchScript tracing); opset 17 by default,
13..17 accepted (torch 1.13's exporter). Weights stay float32 whatever the
model file's dtype (load_model returns a float32 model).
"""

import warnings

import torch
from torch import nn

from .model import FPN_LEVELS, TWO_STAGE_FPN_LEVELS
from .modelfile import load_model

OPSETS = range(13, 18)


def output_names(config):
    """The ONNX output names of a config's network, in output order."""
    if config.arch == "fasterrcnn":
        return [f"rpn.{k}.{l}" for k in ("cls", "box") for l in TWO_STAGE_FPN_LEVELS]
    return [f"head.{k}.{l}" for k in ("cls", "box") for l in FPN_LEVELS]


class HeadNetwork(nn.Module):
    """The exported network: x [1, 3, H, W] -> tuple of head tensors (output_names order)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.two_stage = model.config.arch == "fasterrcnn"

    def forward(self, x):
        if self.two_stage:
            objectness, deltas = self.model.rpn.head(list(self.model.backbone(x).values()))
            return (*objectness, *deltas)
        _, cls, box = self.model.run(x)
        return (*cls, *box)


def head_outputs(model, x):
    """The reference's head tensors for x, by output name (what the ONNX graph must give)."""
    with torch.no_grad():
        outs = HeadNetwork(model).eval()(x)
    return dict(zip(output_names(model.config), outs))


def export_onnx(model_path, out_path, input_size=None, opset=17):
    """Write the ONNX graph of model_path's network to out_path.  Returns (config, [W, H])."""
    if opset not in OPSETS:
        raise ValueError(f"opset {opset} is outside what torch 1.13's exporter writes "
                         f"({OPSETS.start}..{OPSETS.stop - 1})")
    model, config, _ = load_model(model_path)
    model.eval()
    size = list(input_size or config.input)
    if size[0] % 32 or size[1] % 32:
        raise ValueError(f"input size {size[0]}x{size[1]} is not a multiple of 32")
    net = HeadNetwork(model).eval()
    x = torch.zeros(1, 3, size[1], size[0])
    with torch.no_grad(), warnings.catch_warnings():
        # the shapes are fixed on purpose: the tracer's warnings about Python
        # values taken from shapes (the multiple-of-32 check, interpolate sizes)
        # and the exporter's about constants' shape inference say nothing here
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        torch.onnx.export(net, (x,), out_path, input_names=["input"], output_names=output_names(config),
                          opset_version=opset, do_constant_folding=True)
    return config, size


BOX_HEAD_OUTPUTS = ["class_logits", "box_regression"]


class BoxHead(nn.Module):
    """The two-stage box head: roi_features [R, C, s, s] -> (class_logits, box_regression)."""

    def __init__(self, model):
        super().__init__()
        self.box_head = model.roi_heads.box_head
        self.box_predictor = model.roi_heads.box_predictor

    def forward(self, features):
        return self.box_predictor(self.box_head(features))


def box_head_outputs(model, features):
    """The reference's box head outputs for features [R, C, s, s], by output name."""
    with torch.no_grad():
        outs = BoxHead(model).eval()(features)
    return dict(zip(BOX_HEAD_OUTPUTS, outs))


def export_box_head_onnx(model_path, out_path, rois=1000, opset=17):
    """Write the ONNX graph of a Faster R-CNN model's box head for `rois` RoIs
    to out_path.  Returns (config, [R, C, s, s])."""
    if opset not in OPSETS:
        raise ValueError(f"opset {opset} is outside what torch 1.13's exporter writes "
                         f"({OPSETS.start}..{OPSETS.stop - 1})")
    if rois < 1:
        raise ValueError(f"--rois {rois}: at least one RoI")
    model, config, _ = load_model(model_path)
    if config.arch != "fasterrcnn":
        raise ValueError(f"--box-head needs a Faster R-CNN model; {model_path} is arch {config.arch!r}")
    model.eval()
    shape = [rois, config.fpn_channels, config.roi_output_size, config.roi_output_size]
    with torch.no_grad():
        torch.onnx.export(BoxHead(model).eval(), (torch.zeros(shape),), out_path, input_names=["roi_features"],
                          output_names=BOX_HEAD_OUTPUTS, opset_version=opset, do_constant_folding=True)
    return config, shape
