"""IPG-RetinaNet: torchvision's RetinaNet with an IPG-guided ResNet-FPN backbone.

Also the backbone shared with the two-stage IPG-Faster R-CNN (fasterrcnn.py)
and ``build_model(config)``, which builds the model of ``config.arch``
(IPGNet for "retinanet", fasterrcnn.IPGFasterRCNN for "fasterrcnn").

``IPGNet`` subclasses ``torchvision.models.detection.RetinaNet`` so that
torchvision's head, AnchorGenerator, BoxCoder and ``postprocess_detections``
define the semantics.  torchvision's GeneralizedRCNNTransform is *not* used:
the model takes an already normalised, letterboxed batch [N, 3, H, W] with H, W
multiples of 32 (any such size, not only ``config.input``).

State-dict names (what the C engine binds to):
    backbone.body.*                       torchvision ResNet names (no fc)
    backbone.guidance.t{l}.conv.weight    IPG transformation, guided levels only
    backbone.guidance.t{l}.bn.*
    backbone.guidance.t{l}.block.{conv1,bn1,conv2,bn2}.*
    backbone.guidance.f{l}.conv.weight    IPG fusion
    backbone.guidance.f{l}.bn.*
    backbone.fpn.inner_blocks.{0,1,2}.0.{weight,bias}   laterals on F3, F4, F5
    backbone.fpn.layer_blocks.{0,1,2}.0.{weight,bias}   3x3 outputs P3, P4, P5
    backbone.fpn.extra_blocks.p6.*, .p7.*               P6 = conv3x3/2(P5),
                                                        P7 = conv3x3/2(relu(P6))
    (fasterrcnn's two-stage neck instead: backbone.fpn.inner_blocks.{0..3}.0.*
    and layer_blocks.{0..3}.0.* on F2..F5, P6 = max_pool2d(P5, 1, stride 2),
    no extra-block parameters; see fasterrcnn.py)
    head.classification_head.conv.{0..3}.0.*, .cls_logits.*
    head.regression_head.conv.{0..3}.0.*, .bbox_reg.*
(``num_batches_tracked`` buffers exist in the module but are never written to
model files.)

Backbone forward (IPGBackbone.forward):
    stem = maxpool3x3/2(relu(bn1(conv1 7x7/2(x))))
    y = stem; for l = 2..5: y = layer{l-1}(y)  (= C_l);
        if l guided: G_l = t{l}(I_{2**l}); y = f{l}(C_l, G_l)  (= F_l)
    FPN(torchvision) on [F3, F4, F5] (F_l = C_l where not guided):
        inner5 = lateral2(F5); P5 = out2(inner5)
        inner4 = lateral1(F4) + nearest_upsample(inner5, size of F4); P4 = out1(inner4)
        inner3 = lateral0(F3) + nearest_upsample(inner4, size of F3); P3 = out0(inner3)
        (sizes are exact multiples of 2 here, so "nearest" is pixel replication)
        P6 = p6(P5) (3x3/2, pad 1), P7 = p7(relu(P6))
    Head towers: 4 x (conv3x3 + bias, ReLU), then cls_logits / bbox_reg conv3x3.

Head output layout (raw conv outputs, per level P3..P7):
    cls  [1, A*K, h, w]: channel a*K + k = logit of class k for anchor a
    box  [1, A*4, h, w]: channel a*4 + j = delta j (dx, dy, dw, dh) for anchor a
torchvision flattens them as index ((y*w + x)*A + a)*K + k.

Anchors (torchvision AnchorGenerator): for level i with grid (h, w) and input
(H, W) the stride is (H // h, W // w) -- integer division, so P6/P7 strides are
not powers of two when H/32 is odd (e.g. H = 288: P6 grid 5 -> stride 57).
Base anchors (float32): for ratio r and size s, hr = sqrt(r), wr = 1/hr,
ws = wr*s, hs = hr*s, anchor = round([-ws, -hs, ws, hs] / 2) (round half to
even), ordered ratio-major (a = ratio_index * n_sizes + size_index);
anchor(y, x, a) = base[a] + [x*sx, y*sy, x*sx, y*sy].

Post-processing = RetinaNet.postprocess_detections with image_shapes=[(H, W)]:
per level, scores = sigmoid(logits) over (anchor, class), keep > score_thresh,
top min(topk_candidates, n) by score, decode with BoxCoder(box_weights,
clip log(1000/16)), clip to [0, W] x [0, H]; concatenate levels;
batched_nms(nms_thresh) per class; keep detections_per_img.
"""

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models.detection import RetinaNet
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.ops.feature_pyramid_network import (FeaturePyramidNetwork, LastLevelMaxPool,
                                                     LastLevelP6P7)

from .config import Config
from .guidance import Guidance, downsample2
from .resnet import ResNet

FPN_LEVELS = ("p3", "p4", "p5", "p6", "p7")              # retinanet neck
TWO_STAGE_FPN_LEVELS = ("p2", "p3", "p4", "p5", "p6")    # fasterrcnn neck


def _noop(name, tensor):
    pass


class IPGBackbone(nn.Module):
    """ResNet body + IPG guidance + FPN; returns OrderedDict p3..p7 (retinanet)
    or p2..p6 (fasterrcnn: FPN over F2..F5 + LastLevelMaxPool)."""

    def __init__(self, config: Config):
        super().__init__()
        self.config = config
        self.body = ResNet(config.backbone, config.width, config.bn_eps)
        c = self.body.out_channels
        self.guidance = Guidance(config.ipg_levels, c, config.ipg_channels, config.bn_eps)
        if config.arch == "fasterrcnn":
            self.inputs = (2, 3, 4, 5)
            self.levels = TWO_STAGE_FPN_LEVELS
            self.fpn = FeaturePyramidNetwork(
                in_channels_list=[c[0], c[1], c[2], c[3]],
                out_channels=config.fpn_channels,
                extra_blocks=LastLevelMaxPool(),
            )
        else:
            self.inputs = (3, 4, 5)
            self.levels = FPN_LEVELS
            self.fpn = FeaturePyramidNetwork(
                in_channels_list=[c[1], c[2], c[3]],
                out_channels=config.fpn_channels,
                extra_blocks=LastLevelP6P7(config.fpn_channels, config.fpn_channels),
            )
        self.out_channels = config.fpn_channels

    def forward(self, x, record=_noop):
        """x: normalised input [N, 3, H, W].  ``record(name, tensor)`` is called on
        every named intermediate in execution order (see stages.py)."""
        H, W = x.shape[-2:]
        if H % 32 or W % 32:
            raise ValueError(f"input size {W}x{H} is not a multiple of 32")
        record("input", x)
        levels = self.guidance.levels
        pyramid = {}
        if levels:
            cur = x
            for l in range(1, max(levels) + 1):
                cur = downsample2(cur)
                pyramid[l] = cur
                if l >= 2:
                    record(f"pyramid.i{2 ** l}", cur)
        y = self.body.stem(x)
        record("backbone.stem", y)
        feats = {}
        for i, layer in enumerate(self.body.stages):
            l = i + 2
            y = layer(y)
            record(f"backbone.c{l}", y)
            if l in levels:
                g = self.guidance.transform(l)(pyramid[l])
                record(f"ipg.g{l}", g)
                y = self.guidance.fusion(l)(y, g)
                record(f"ipg.f{l}", y)
            feats[l] = y
        p = self.fpn(OrderedDict((f"f{l}", feats[l]) for l in self.inputs))
        out = OrderedDict(zip(self.levels, p.values()))
        for k, v in out.items():
            record(f"fpn.{k}", v)
        return out


class IPGNet(RetinaNet):
    def __init__(self, config: Config):
        config.validate()
        if config.arch != "retinanet":
            raise ValueError(f"IPGNet is the retinanet arch, got {config.arch!r} (use build_model)")
        backbone = IPGBackbone(config)
        sizes = tuple(tuple(int(s) for s in lvl) for lvl in config.anchor_sizes)
        ratios = (tuple(float(r) for r in config.aspect_ratios),) * len(sizes)
        anchor_generator = AnchorGenerator(sizes, ratios)
        head = RetinaNetHead(config.fpn_channels, config.num_anchors, config.num_classes)
        super().__init__(
            backbone,
            config.num_classes,
            anchor_generator=anchor_generator,
            head=head,
            score_thresh=config.score_thresh,
            nms_thresh=config.nms_thresh,
            detections_per_img=config.detections_per_img,
            topk_candidates=config.topk_candidates,
        )
        # no GeneralizedRCNNTransform: inputs are normalised and letterboxed outside
        del self.transform
        self.box_coder = det_utils.BoxCoder(weights=tuple(float(w) for w in config.box_weights))
        self.head.regression_head.box_coder = self.box_coder
        self.config = config

    # ------------------------------------------------------------------
    def run(self, x, record=_noop):
        """Backbone + head.  Returns (features [P3..P7], cls [per level raw
        [N, A*K, h, w]], box [per level raw [N, A*4, h, w]])."""
        feats = list(self.backbone(x, record).values())
        ch, rh = self.head.classification_head, self.head.regression_head
        cls, box = [], []
        for name, f in zip(FPN_LEVELS, feats):
            c = ch.cls_logits(ch.conv(f))
            record(f"head.cls.{name}", c)
            cls.append(c)
        for name, f in zip(FPN_LEVELS, feats):
            b = rh.bbox_reg(rh.conv(f))
            record(f"head.box.{name}", b)
            box.append(b)
        return feats, cls, box

    @staticmethod
    def flatten_level(t, last):
        """[N, A*last, h, w] -> [N, h*w*A, last] exactly like torchvision's head."""
        N, _, H, W = t.shape
        return t.view(N, -1, last, H, W).permute(0, 3, 4, 1, 2).reshape(N, -1, last)

    def anchors(self, x, feats):
        H, W = x.shape[-2:]
        images = ImageList(x, [(H, W)] * x.shape[0])
        return self.anchor_generator(images, feats)

    def postprocess(self, x, feats, cls, box):
        """torchvision's RetinaNet post-processing on raw per-level head outputs."""
        N = x.shape[0]
        H, W = x.shape[-2:]
        K = self.config.num_classes
        anchors = self.anchors(x, feats)
        counts = [f.shape[-2] * f.shape[-1] * self.config.num_anchors for f in feats]
        split = {
            "cls_logits": [self.flatten_level(c, K) for c in cls],
            "bbox_regression": [self.flatten_level(b, 4) for b in box],
        }
        split_anchors = [list(a.split(counts)) for a in anchors]
        return self.postprocess_detections(split, split_anchors, [(int(H), int(W))] * N)

    @torch.no_grad()
    def forward_tensor(self, x, record=_noop):
        """x: normalised [1, 3, H, W].  Returns (head_outputs, detections):
        head_outputs = {"cls_logits": [5 x [1, A*K, h, w]], "bbox_regression": [5 x [1, A*4, h, w]]}
        detections = {"boxes" [N, 4] (network-input pixels, clipped to (H, W)),
                      "scores" [N], "labels" [N] (int64, 0-based)}."""
        if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
            raise ValueError(f"forward_tensor expects [1, 3, H, W], got {list(x.shape)}")
        if self.training:
            raise RuntimeError("forward_tensor needs eval mode (call model.eval())")
        feats, cls, box = self.run(x, record)
        det = self.postprocess(x, feats, cls, box)[0]
        record("detections.boxes", det["boxes"])
        record("detections.scores", det["scores"])
        record("detections.labels", det["labels"])
        return {"cls_logits": cls, "bbox_regression": box}, det

    def forward(self, x, targets=None):
        """x: normalised [N, 3, H, W].  Training: returns torchvision's RetinaNet
        loss dict (targets boxes in network-input pixels).  Eval: list of
        detection dicts per image."""
        feats, cls, box = self.run(x)
        if self.training:
            if targets is None:
                raise ValueError("targets are required in training mode")
            K = self.config.num_classes
            head_outputs = {
                "cls_logits": torch.cat([self.flatten_level(c, K) for c in cls], dim=1),
                "bbox_regression": torch.cat([self.flatten_level(b, 4) for b in box], dim=1),
            }
            return self.compute_loss(targets, head_outputs, self.anchors(x, feats))
        return self.postprocess(x, feats, cls, box)


def build_model(config: Config):
    """The model of config.arch: IPGNet (retinanet) or IPGFasterRCNN (fasterrcnn)."""
    if config.arch == "fasterrcnn":
        from .fasterrcnn import IPGFasterRCNN

        return IPGFasterRCNN(config)
    return IPGNet(config)


def model_state(model):
    """The tensors a model file holds: state_dict minus num_batches_tracked."""
    return OrderedDict((k, v) for k, v in model.state_dict().items()
                       if not k.endswith("num_batches_tracked"))
