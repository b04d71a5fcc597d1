"""IPG-Faster R-CNN: torchvision's FasterRCNN on the IPG-guided ResNet-FPN backbone.

``IPGFasterRCNN`` (config.arch == "fasterrcnn") subclasses
``torchvision.models.detection.FasterRCNN`` so that torchvision's RPN
(RPNHead, AnchorGenerator, BoxCoder, ``filter_proposals``) and RoI heads
(MultiScaleRoIAlign, TwoMLPHead, FastRCNNPredictor, ``postprocess_detections``)
define the semantics.  As in IPGNet, torchvision's GeneralizedRCNNTransform is
*not* used: the model takes an already normalised, letterboxed batch
[N, 3, H, W] with H, W multiples of 32, and image_shapes = [(H, W)] per image.

Labels: the dataset's and the outputs' labels are 0-based class indices;
torchvision's are 1-based with 0 = background.  ``forward`` adds 1 to the
target labels in training, and every output (forward in eval mode,
forward_tensor) subtracts 1.

State-dict names (besides the backbone's, see model.py):
    backbone.fpn.inner_blocks.{0..3}.0.{weight,bias}   1x1 laterals on F2..F5
    backbone.fpn.layer_blocks.{0..3}.0.{weight,bias}   3x3 outputs P2..P5
        (P6 = max_pool2d(P5, kernel 1, stride 2): no parameters)
    rpn.head.conv.0.0.{weight,bias}       [C, C, 3, 3] + ReLU, shared by all levels
    rpn.head.cls_logits.{weight,bias}     [A, C, 1, 1]  objectness logits
    rpn.head.bbox_pred.{weight,bias}      [4A, C, 1, 1] deltas (dx, dy, dw, dh)
    roi_heads.box_head.fc6.{weight,bias}  [rep, C*s*s]  (input flattened (c, y, x))
    roi_heads.box_head.fc7.{weight,bias}  [rep, rep]
    roi_heads.box_predictor.cls_score.*   [K+1, rep]    class 0 = background
    roi_heads.box_predictor.bbox_pred.*   [4(K+1), rep] row 4k+j = delta j of class k
with C = fpn_channels, A = len(anchor_sizes[0]) * len(aspect_ratios),
s = roi_output_size, rep = representation_size, K = num_classes.

Inference (forward_tensor, torchvision eval semantics, image_shapes [(H, W)]):
  1. backbone -> P2..P6 (model.py).
  2. RPN head on each level: t = relu(conv(P)); cls = cls_logits(t) [1, A, h, w],
     box = bbox_pred(t) [1, 4A, h, w]; flattened per level as
     ((y*w + x)*A + a) like RetinaNet (concat_box_prediction_layers).
  3. anchors: AnchorGenerator(anchor_sizes, aspect_ratios) over P2..P6 (see
     model.py for the base anchors and the integer-division strides).
  4. proposals (RegionProposalNetwork.filter_proposals): per level the top
     min(rpn_pre_nms_top_n, n) objectness logits (torch.topk order), deltas
     decoded with BoxCoder weights (1, 1, 1, 1) (dw, dh clamped at
     log(1000/16)) against the anchors, clipped to [0, W] x [0, H], boxes with a side < 1e-3
     removed, sigmoid(objectness) >= rpn_score_thresh kept, batched_nms by
     level at rpn_nms_thresh, the first rpn_post_nms_top_n kept (score
     descending).  R proposals.
  5. MultiScaleRoIAlign over P2..P5 (output s x s, sampling_ratio
     roi_sampling_ratio, aligned=False): a box of area a goes to level
     k = clamp(floor(4 + log2(sqrt(a) / 224) + 1e-6), 2, 5), spatial scale
     2^-k (inferred from the feature sizes).
  6. box head: relu(fc6(flatten)) -> relu(fc7) -> cls_score [R, K+1],
     bbox_pred [R, 4(K+1)].
  7. RoIHeads.postprocess_detections: softmax over K+1, decode each class's
     deltas against its proposal with BoxCoder(box_weights) (default
     10, 10, 5, 5; deltas divided by the weights, then dw, dh clamped at
     log(1000/16)), clip; drop the background column; keep scores >
     score_thresh, remove boxes with a side < 1e-2, batched_nms by class at
     nms_thresh, keep detections_per_img; labels - 1.

Recorded stages (forward_tensor's ``record(name, tensor)``, in this order;
shapes before the recorder drops the batch dimension of 4-D tensors):
    input, pyramid.i*, backbone.stem, backbone.c*, ipg.g*/ipg.f*  (model.py)
    fpn.p2 .. fpn.p6                 [1, C, h, w]
    rpn.cls.p2 .. rpn.cls.p6         [1, A, h, w]   raw objectness conv output
    rpn.box.p2 .. rpn.box.p6         [1, 4A, h, w]  raw bbox_pred conv output
    rpn.proposals                    [1, R, 4]      step 4's boxes, in its order
    rpn.scores                       [1, 1, R]      their sigmoid objectness
    roi.features                     [C*s*s, 1, R]  RoIAlign output [R, C, s, s]
                                                    as features.flatten(1).t():
                                                    index (c*s + y)*s + x
    roi.cls                          [K+1, 1, R]    class_logits transposed
    roi.box                          [4(K+1), 1, R] box_regression transposed
    detections.boxes [N, 4], detections.scores [N], detections.labels [N] (0-based)
"""

from collections import OrderedDict

import torch
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RPNHead, concat_box_prediction_layers
from torchvision.ops import MultiScaleRoIAlign

from .config import Config
from .model import TWO_STAGE_FPN_LEVELS, IPGBackbone, _noop

ROI_LEVELS = ("p2", "p3", "p4", "p5")


class IPGFasterRCNN(FasterRCNN):
    def __init__(self, config: Config):
        config.validate()
        if config.arch != "fasterrcnn":
            raise ValueError(f"IPGFasterRCNN needs arch 'fasterrcnn', got {config.arch!r}")
        backbone = IPGBackbone(config)
        sizes = tuple(tuple(int(s) for s in lvl) for lvl in config.anchor_sizes)
        ratios = (tuple(float(r) for r in config.aspect_ratios),) * len(sizes)
        anchor_generator = AnchorGenerator(sizes, ratios)
        C, s, rep = config.fpn_channels, config.roi_output_size, config.representation_size
        super().__init__(
            backbone,
            num_classes=None,
            rpn_anchor_generator=anchor_generator,
            rpn_head=RPNHead(C, config.num_anchors),
            rpn_pre_nms_top_n_test=config.rpn_pre_nms_top_n,
            rpn_post_nms_top_n_test=config.rpn_post_nms_top_n,
            rpn_nms_thresh=config.rpn_nms_thresh,
            rpn_score_thresh=config.rpn_score_thresh,
            box_roi_pool=MultiScaleRoIAlign(list(ROI_LEVELS), s, config.roi_sampling_ratio),
            box_head=TwoMLPHead(C * s * s, rep),
            box_predictor=FastRCNNPredictor(rep, config.num_classes + 1),
            box_score_thresh=config.score_thresh,
            box_nms_thresh=config.nms_thresh,
            box_detections_per_img=config.detections_per_img,
            bbox_reg_weights=tuple(float(w) for w in config.box_weights),
        )
        # no GeneralizedRCNNTransform: inputs are normalised and letterboxed outside
        del self.transform
        self.config = config

    # ------------------------------------------------------------------
    @staticmethod
    def _check_input(x):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected a batch [N, 3, H, W], got {list(x.shape)}")
        H, W = x.shape[-2:]
        if H % 32 or W % 32:
            raise ValueError(f"input size {W}x{H} is not a multiple of 32")

    @staticmethod
    def _image_list(x):
        H, W = x.shape[-2:]
        return ImageList(x, [(int(H), int(W))] * x.shape[0])

    def proposals(self, images, feats, objectness, deltas):
        """torchvision's RPN inference on raw per-level head outputs.
        Returns (boxes per image, sigmoid scores per image)."""
        feats = list(feats)
        anchors = self.rpn.anchor_generator(images, feats)
        num_anchors_per_level = [o[0].numel() for o in objectness]
        obj, d = concat_box_prediction_layers(objectness, deltas)
        boxes = self.rpn.box_coder.decode(d.detach(), anchors).view(len(anchors), -1, 4)
        return self.rpn.filter_proposals(boxes, obj, images.image_sizes, num_anchors_per_level)

    @torch.no_grad()
    def forward_tensor(self, x, record=_noop):
        """x: normalised [1, 3, H, W].  Returns (head_outputs, detections):
        head_outputs = {"rpn_cls": [5 x [1, A, h, w]], "rpn_box": [5 x [1, 4A, h, w]],
                        "proposals": [R, 4], "proposal_scores": [R],
                        "class_logits": [R, K+1], "box_regression": [R, 4(K+1)]}
        detections = {"boxes" [N, 4] (network-input pixels, clipped to (H, W)),
                      "scores" [N], "labels" [N] (int64, 0-based)}.
        ``record`` sees the stages listed in the module docstring."""
        if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
            raise ValueError(f"forward_tensor expects [1, 3, H, W], got {list(x.shape)}")
        if self.training:
            raise RuntimeError("forward_tensor needs eval mode (call model.eval())")
        self._check_input(x)
        images = self._image_list(x)
        feats = self.backbone(x, record)
        levels = list(feats.values())
        objectness, deltas = self.rpn.head(levels)
        for name, c in zip(TWO_STAGE_FPN_LEVELS, objectness):
            record(f"rpn.cls.{name}", c)
        for name, b in zip(TWO_STAGE_FPN_LEVELS, deltas):
            record(f"rpn.box.{name}", b)
        boxes, scores = self.proposals(images, levels, objectness, deltas)
        R = boxes[0].shape[0]
        record("rpn.proposals", boxes[0].view(1, R, 4))
        record("rpn.scores", scores[0].view(1, 1, R))

        rh = self.roi_heads
        features = rh.box_roi_pool(feats, boxes, images.image_sizes)  # [R, C, s, s]
        n = features.shape[1] * features.shape[2] * features.shape[3]  # C*s*s, also when R = 0
        record("roi.features", features.flatten(1).t().reshape(n, 1, R))
        class_logits, box_regression = rh.box_predictor(rh.box_head(features))
        record("roi.cls", class_logits.t().reshape(class_logits.shape[1], 1, R))
        record("roi.box", box_regression.t().reshape(box_regression.shape[1], 1, R))
        b, s, l = rh.postprocess_detections(class_logits, box_regression, boxes, images.image_sizes)
        det = {"boxes": b[0], "scores": s[0], "labels": l[0] - 1}
        record("detections.boxes", det["boxes"])
        record("detections.scores", det["scores"])
        record("detections.labels", det["labels"])
        heads = {"rpn_cls": objectness, "rpn_box": deltas, "proposals": boxes[0],
                 "proposal_scores": scores[0], "class_logits": class_logits,
                 "box_regression": box_regression}
        return heads, det

    def forward(self, x, targets=None):
        """x: normalised [N, 3, H, W].  Training: torchvision's loss dict
        {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"}
        (targets: boxes in network-input pixels, 0-based labels).  Eval: list of
        detection dicts per image (0-based labels)."""
        self._check_input(x)
        images = self._image_list(x)
        if self.training:
            if targets is None:
                raise ValueError("targets are required in training mode")
            targets = [{"boxes": t["boxes"], "labels": t["labels"].to(torch.int64) + 1} for t in targets]
        else:
            targets = None
        feats = self.backbone(x)
        proposals, rpn_losses = self.rpn(images, feats, targets)
        dets, roi_losses = self.roi_heads(feats, proposals, images.image_sizes, targets)
        if self.training:
            losses = OrderedDict()
            losses.update(roi_losses)
            losses.update(rpn_losses)
            return losses
        return [dict(d, labels=d["labels"] - 1) for d in dets]
