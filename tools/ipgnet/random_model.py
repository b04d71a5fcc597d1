"""Seeded random models with non-trivial outputs (for engine parity tests).

RetinaNet recipe (all from one ``torch.manual_seed(seed)`` stream, one thread,
modules in ``named_modules`` order):
  * every Conv2d: Kaiming normal (fan_in, ReLU gain); conv biases (FPN, head)
    N(0, 0.1);
  * every BatchNorm (fusion BNs included, nonzero here unlike the training
    init): weight U(0.5, 1.5), bias N(0, 0.1);
  * calibration batch: ``CALIB_IMAGES`` random images at config.input
    (multi-octave noise + Gaussian blobs + rectangles, see ``random_images``);
  * one forward of the backbone in train mode with BN momentum 1.0, so running
    statistics = batch statistics (activations O(1) in eval mode); during that
    forward every FPN conv (laterals, outputs, P6, P7) is rescaled so its
    output has unit standard deviation;
  * head towers: each tower conv rescaled to unit output std (pooled over the
    five levels); bbox_reg weights scaled so W*x has std ``BOX_STD`` and its
    bias redrawn N(0, ``BOX_BIAS_STD``) (deltas ~0.1-0.3);
    cls_logits standardised and mapped to logits = CLS_GAIN * (z - q) where q is
    the (1 - CLS_POSITIVE) quantile, so ~CLS_POSITIVE of the (anchor, class)
    scores are above 0.5 and scores spread over (0, 1).

Faster R-CNN recipe (arch "fasterrcnn"; same stream, same order):
  * init and backbone calibration as above (the FPN here: 4 laterals and 4
    outputs, P6 a max pool); every Linear (fc6, fc7, cls_score, bbox_pred):
    Kaiming normal (fan_in, ReLU gain), bias N(0, 0.1);
  * RPN: the shared 3x3 conv rescaled to unit output std (pooled over P2..P6);
    cls_logits standardised to logits = RPN_CLS_STD * z (z of zero mean and
    unit std over all anchors of the calibration batch), so objectness logits
    spread over about (-4, 4) without saturating or tying (the engine's
    per-level top-k and NMS are tested against them); bbox_pred like the
    RetinaNet bbox_reg (deltas std BOX_STD, bias N(0, BOX_BIAS_STD));
  * calibration RoIs: the proposals of the calibrated RPN (eval mode,
    config's test-time top-n and NMS, rpn_score_thresh taken as 0) on the
    calibration batch, RoIAligned;
  * fc6 then fc7 rescaled to unit output std over those RoIs;
  * cls_score standardised to ROI_CLS_GAIN * z, then the background logit
    raised by the offset b (bisection, ``ROI_BISECT_STEPS`` steps) at which a
    fraction ROI_FG_ABOVE of the foreground (RoI, class) softmax scores is
    above 0.05: scores spread, a fair number above 0.05, a few above 0.3;
  * bbox_pred: raw deltas (before the division by box_weights) with std
    ROI_BOX_STD and bias N(0, ROI_BOX_BIAS_STD) (deltas ~1-2 at weights
    10, 10, 5, 5: centre shifts ~0.15 of the box, sizes x exp(+-0.3)).
Same arguments -> byte-identical file.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .config import Config
from .model import build_model

CALIB_IMAGES = 4
BOX_STD = 0.2
BOX_BIAS_STD = 0.15
CLS_GAIN = 2.0
CLS_POSITIVE = 0.005
# Faster R-CNN
RPN_CLS_STD = 1.0
ROI_CLS_GAIN = 1.5
ROI_FG_ABOVE = 0.05
ROI_BISECT_STEPS = 40
ROI_BOX_STD = 1.5
ROI_BOX_BIAS_STD = 0.5


def random_images(n, height, width, mean, std):
    """n random "natural-looking" images, normalised, [n, 3, H, W] (global RNG):
    multi-octave noise (amplitude ~ scale, a 1/f-like spectrum from coarse
    blobs down to per-pixel grain), Gaussian blobs and a few hard-edged
    rectangles, clamped to [0, 1]."""
    imgs = []
    yy = torch.arange(height, dtype=torch.float32).view(-1, 1)
    xx = torch.arange(width, dtype=torch.float32).view(1, -1)
    for _ in range(n):
        img = torch.full((3, height, width), 0.5)
        for octave in range(7):  # cell size 64, 32, ..., 1 pixels
            cell = 2 ** (6 - octave)
            amp = 0.35 * (cell / 64) ** 0.5
            low = torch.rand(1, 3, max(1, height // cell), max(1, width // cell)) * 2 - 1
            img = img + amp * F.interpolate(low, size=(height, width), mode="bilinear",
                                            align_corners=False)[0]
        for _ in range(8):
            cy = float(torch.rand(())) * height
            cx = float(torch.rand(())) * width
            sigma = 2.0 + float(torch.rand(())) * min(height, width) / 8
            color = torch.rand(3, 1, 1) * 2 - 1
            blob = torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma * sigma))
            img = img + 0.5 * color * blob
        for _ in range(4):
            y0, x0 = int(torch.randint(0, height, ())), int(torch.randint(0, width, ()))
            rh, rw = int(torch.randint(4, max(5, height // 4), ())), int(torch.randint(4, max(5, width // 4), ()))
            img[:, y0:y0 + rh, x0:x0 + rw] = torch.rand(3, 1, 1)
        imgs.append(img.clamp(0, 1))
    x = torch.stack(imgs)
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - m) / s


def _init(model):
    for _, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.normal_(m.bias, 0.0, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 0.0, 0.1)
        elif isinstance(m, nn.Linear):  # Faster R-CNN's box head and predictor
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.normal_(m.bias, 0.0, 0.1)


def _rescale(conv, factor):
    conv.weight.mul_(factor)
    if conv.bias is not None:
        conv.bias.mul_(factor)


@torch.no_grad()
def _calibrate_backbone(model, x):
    backbone = model.backbone
    fpn_convs = [m for m in backbone.fpn.modules() if isinstance(m, nn.Conv2d)]

    def hook(module, inputs, output):
        factor = 1.0 / float(output.std().clamp_min(1e-6))
        _rescale(module, factor)
        return output * factor

    handles = [c.register_forward_hook(hook) for c in fpn_convs]
    bns = [m for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.momentum = 1.0
        bn.reset_running_stats()
    backbone.train()
    try:
        backbone(x)
    finally:
        for h in handles:
            h.remove()
        backbone.eval()
        for bn in bns:
            bn.momentum = 0.1
            bn.num_batches_tracked.zero_()
            bn.running_var.clamp_(min=1e-4)


@torch.no_grad()
def _calibrate_head(model, x):
    feats = list(model.backbone(x).values())
    for tower, final in ((model.head.classification_head.conv, model.head.classification_head.cls_logits),
                         (model.head.regression_head.conv, model.head.regression_head.bbox_reg)):
        xs = feats
        for block in tower:
            conv = block[0]
            ys = [conv(t) for t in xs]
            factor = 1.0 / float(torch.cat([y.flatten() for y in ys]).std().clamp_min(1e-6))
            _rescale(conv, factor)
            xs = [F.relu(y * factor) for y in ys]
        z = torch.cat([final(t).flatten() for t in xs])
        if final is model.head.regression_head.bbox_reg:
            # weights: deltas with std BOX_STD; bias: a per-channel offset
            # N(0, BOX_BIAS_STD) so that even the tiny P6/P7 maps vary
            bias = torch.cat([(final(t) - final.bias.view(1, -1, 1, 1)).flatten() for t in xs])
            final.weight.mul_(BOX_STD / float(bias.std().clamp_min(1e-6)))
            final.bias.normal_(0.0, BOX_BIAS_STD)
        else:
            mu, sd = float(z.mean()), float(z.std().clamp_min(1e-6))
            k = max(1, min(z.numel(), int(round((1.0 - CLS_POSITIVE) * z.numel()))))
            q = (float(z.kthvalue(k).values) - mu) / sd
            gain = CLS_GAIN / sd
            final.weight.mul_(gain)
            final.bias.sub_(mu).mul_(gain).sub_(CLS_GAIN * q)


def _unit_std(layer, ys):
    """Rescale layer so that its outputs ys (computed before) have unit std;
    returns the rescaled outputs."""
    factor = 1.0 / float(torch.cat([y.flatten() for y in ys]).std().clamp_min(1e-6))
    _rescale(layer, factor)
    return [y * factor for y in ys]


def _delta_std(layer, x, std, bias_std):
    """Scale layer's weight so that W x has std `std`; redraw its bias N(0, bias_std)."""
    wx = torch.cat([(layer(t) - layer.bias.view(1, -1, *([1] * (t.dim() - 2)))).flatten() for t in x])
    layer.weight.mul_(std / float(wx.std().clamp_min(1e-6)))
    layer.bias.normal_(0.0, bias_std)


@torch.no_grad()
def _calibrate_rpn(model, x):
    head = model.rpn.head
    feats = list(model.backbone(x).values())
    conv = head.conv[0][0]
    ts = [F.relu(y) for y in _unit_std(conv, [conv(f) for f in feats])]
    z = torch.cat([head.cls_logits(t).flatten() for t in ts])
    mu, sd = float(z.mean()), float(z.std().clamp_min(1e-6))
    gain = RPN_CLS_STD / sd
    head.cls_logits.weight.mul_(gain)
    head.cls_logits.bias.sub_(mu).mul_(gain)
    _delta_std(head.bbox_pred, ts, BOX_STD, BOX_BIAS_STD)


def _fg_above(logits, bg, thresh=0.05):
    z = logits.clone()
    z[:, 0] += bg
    return float((F.softmax(z, -1)[:, 1:] > thresh).float().mean())


@torch.no_grad()
def _calibrate_roi(model, x):
    model.eval()
    images = model._image_list(x)
    feats = model.backbone(x)
    levels = list(feats.values())
    score_thresh = model.rpn.score_thresh
    model.rpn.score_thresh = 0.0  # calibration RoIs whatever rpn_score_thresh is
    try:
        boxes, _ = model.proposals(images, levels, *model.rpn.head(levels))
    finally:
        model.rpn.score_thresh = score_thresh
    rh = model.roi_heads
    f = rh.box_roi_pool(feats, boxes, images.image_sizes).flatten(1)
    if f.shape[0] < 2:
        raise ValueError(f"random model: the calibration batch gave {f.shape[0]} proposal(s), "
                         "too few to calibrate the box head")
    h = f
    for fc in (rh.box_head.fc6, rh.box_head.fc7):
        h = F.relu(_unit_std(fc, [fc(h)])[0])
    cls = rh.box_predictor.cls_score
    z = cls(h)
    mu, sd = float(z.mean()), float(z.std().clamp_min(1e-6))
    gain = ROI_CLS_GAIN / sd
    cls.weight.mul_(gain)
    cls.bias.sub_(mu).mul_(gain)
    logits = cls(h)
    lo, hi = -20.0, 20.0  # fg_above decreases as the background offset grows
    for _ in range(ROI_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        if _fg_above(logits, mid) > ROI_FG_ABOVE:
            lo = mid
        else:
            hi = mid
    cls.bias[0] += 0.5 * (lo + hi)
    _delta_std(rh.box_predictor.bbox_pred, [h], ROI_BOX_STD, ROI_BOX_BIAS_STD)


def random_model(config: Config, seed=0):
    """Build a calibrated random model of config.arch (eval mode): IPGNet or
    IPGFasterRCNN."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        model = build_model(config)
        _init(model)
        x = random_images(CALIB_IMAGES, config.input[1], config.input[0], config.mean, config.std)
        _calibrate_backbone(model, x)
        if config.arch == "fasterrcnn":
            _calibrate_rpn(model, x)
            _calibrate_roi(model, x)
        else:
            _calibrate_head(model, x)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    return model


def default_labels(n):
    return [f"class{i}" for i in range(n)]
