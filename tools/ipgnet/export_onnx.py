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

``--two-stage-full`` (Faster R-CNN only) writes the whole inference up to the
box predictor as one graph (TwoStageNetwork, fasterrcnn.py's steps 1-6):
input ``input`` [1, 3, H, W] as above -> backbone with IPG -> FPN -> RPN head
-> the model's own proposal selection (torchvision's AnchorGenerator,
BoxCoder decode and RegionProposalNetwork.filter_proposals with the config's
rpn_pre_nms_top_n per level, rpn_post_nms_top_n, rpn_nms_thresh and
rpn_score_thresh: top-k per level, clipping, small-box removal, score
threshold, NMS by level) -> MultiScaleRoIAlign (the model's box_roi_pool,
aligned=False) -> TwoMLPHead -> FastRCNNPredictor. Outputs

    proposals        [R, 4]       (x1, y1, x2, y2), network-input pixels, in the reference's order
    class_logits     [R, K+1]
    box_regression   [R, 4(K+1)]

with R dynamic (dynamic axis "R"); the input size stays fixed (anchors,
clipping and RoIAlign's scales are constants of the graph). Not covered:
RoIHeads.postprocess_detections (softmax, per-class decode, score threshold,
final NMS), as the one-stage graphs stop at the raw head outputs. The ops it
adds: TopK, NonMaxSuppression (batched_nms's coordinate trick: torchvision
takes that path when tracing), RoiAlign, ScatterElements (the RoIAlign levels'
merge). torchvision 0.14 registers a roi_align symbolic for opset 11 only,
which writes no coordinate_transformation_mode: at opset 16 and 17 RoiAlign's
default became half_pixel, i.e. aligned=True, and the RoI features would be
pooled half a pixel off. The export registers its own RoiAlign-16 symbolic
for its duration (output_half_pixel for aligned=False); at 13..15 RoiAlign-10
has aligned=False semantics already. The proposals agree with the reference
within float noise, so their order can differ where two proposals' scores
(nearly) tie, and a box whose IoU sits at rpn_nms_thresh can go either way.

Exported with torch.onnx.export (TorchScript tracing); opset 17 by default,
13..17 accepted (torch 1.13's exporter). Weights stay float32 whatever the
model file's dtype (load_model returns a float32 model).
"""

import warnings
from contextlib import contextmanager

import torch
from torch import nn
from torch.onnx.symbolic_helper import parse_args
from torchvision.models.detection.image_list import ImageList

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


TWO_STAGE_OUTPUTS = ["proposals", "class_logits", "box_regression"]


class TwoStageNetwork(nn.Module):
    """A Faster R-CNN model's inference up to its box predictor, forward_tensor's steps 1-6 (fasterrcnn.py):
    x [1, 3, H, W] -> (proposals [R, 4], class_logits [R, K+1], box_regression [R, 4(K+1)]).  The image
    size (anchors, clipping, RoIAlign's scales) is fixed: image_size = (H, W)."""

    def __init__(self, model, image_size):
        super().__init__()
        self.model = model
        self.image_sizes = [(int(image_size[0]), int(image_size[1]))]

    def forward(self, x):
        m, rh = self.model, self.model.roi_heads
        feats = m.backbone(x)
        levels = list(feats.values())
        objectness, deltas = m.rpn.head(levels)
        images = ImageList(x, self.image_sizes)
        boxes, _ = m.proposals(images, levels, objectness, deltas)
        features = rh.box_roi_pool(feats, boxes, images.image_sizes)
        class_logits, box_regression = rh.box_predictor(rh.box_head(features))
        return boxes[0], class_logits, box_regression


def two_stage_outputs(model, x):
    """The reference's own proposals, class_logits and box_regression for x (forward_tensor), by output name."""
    heads, _ = model.forward_tensor(x)
    return {name: heads[name] for name in TWO_STAGE_OUTPUTS}


@parse_args("v", "v", "f", "i", "i", "i", "i")
def _roi_align_opset16(g, features, rois, spatial_scale, pooled_height, pooled_width, sampling_ratio, aligned):
    """torchvision::roi_align -> ONNX RoiAlign-16.  rois [R, 5] = (batch index, x1, y1, x2, y2).  RoiAlign-16's
    default coordinate_transformation_mode is half_pixel (torchvision's aligned=True); aligned=False is
    output_half_pixel, RoiAlign-10's only behaviour (no half-pixel shift, RoI sides at least 1)."""
    batch = g.op("Cast", g.op("Gather", rois, g.op("Constant", value_t=torch.tensor(0)), axis_i=1), to_i=7)  # int64
    boxes = g.op("Gather", rois, g.op("Constant", value_t=torch.tensor([1, 2, 3, 4])), axis_i=1)
    return g.op("RoiAlign", features, boxes, batch, coordinate_transformation_mode_s="half_pixel" if aligned
                else "output_half_pixel", output_height_i=pooled_height, output_width_i=pooled_width,
                sampling_ratio_i=max(sampling_ratio, 0), spatial_scale_f=spatial_scale)


@contextmanager
def _roi_align_symbolic():
    """torchvision 0.14 registers its roi_align symbolic for opset 11 only, and that one writes no
    coordinate_transformation_mode: exported at opset 16 or later, RoiAlign would take its new default,
    half_pixel, and pool half a pixel off for aligned=False.  This registers _roi_align_opset16 for the
    export's duration."""
    torch.onnx.register_custom_op_symbolic("torchvision::roi_align", _roi_align_opset16, 16)
    try:
        yield
    finally:
        torch.onnx.unregister_custom_op_symbolic("torchvision::roi_align", 16)


def export_two_stage_onnx(model_path, out_path, input_size=None, opset=17):
    """Write the ONNX graph of a Faster R-CNN model from the input tensor to its box predictor
    (TwoStageNetwork) to out_path.  Returns (config, [W, H])."""
    if opset not in OPSETS:
        raise ValueError(f"opset {opset} is outside what torch 1.13's exporter writes "
                         f"({OPSETS.start}..{OPSETS.stop - 1})")
    model, config, _ = load_model(model_path)
    if config.arch != "fasterrcnn":
        raise ValueError(f"--two-stage-full needs a Faster R-CNN model; {model_path} is arch {config.arch!r}")
    model.eval()
    size = list(input_size or config.input)
    if size[0] % 32 or size[1] % 32:
        raise ValueError(f"input size {size[0]}x{size[1]} is not a multiple of 32")
    net = TwoStageNetwork(model, (size[1], size[0])).eval()
    x = torch.zeros(1, 3, size[1], size[0])
    dynamic = {name: {0: "R"} for name in TWO_STAGE_OUTPUTS}
    with torch.no_grad(), warnings.catch_warnings(), _roi_align_symbolic():
        # as export_onnx: the input size is fixed on purpose (anchors, clipping and RoIAlign's scales are
        # constants of the graph); only R, the proposals that survive, is dynamic
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        # the exporter warns that advanced indexing goes wrong with negative indices: all of this graph's are
        # topk, where and NMS outputs, never negative
        warnings.filterwarnings("ignore", message="Exporting aten::index operator of advanced indexing")
        torch.onnx.export(net, (x,), out_path, input_names=["input"], output_names=TWO_STAGE_OUTPUTS,
                          dynamic_axes=dynamic, opset_version=opset, do_constant_folding=True)
    return config, size
