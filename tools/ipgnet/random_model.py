"""Seeded random models with non-trivial outputs (for engine parity tests).

Recipe (all from one ``torch.manual_seed(seed)`` stream, one thread, modules in
``named_modules`` order):
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
Same arguments -> byte-identical file.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .config import Config
from .model import IPGNet

CALIB_IMAGES = 4
BOX_STD = 0.2
BOX_BIAS_STD = 0.15
CLS_GAIN = 2.0
CLS_POSITIVE = 0.005


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


def random_model(config: Config, seed=0):
    """Build a calibrated random IPGNet (eval mode)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        model = IPGNet(config)
        _init(model)
        x = random_images(CALIB_IMAGES, config.input[1], config.input[0], config.mean, config.std)
        _calibrate_backbone(model, x)
        _calibrate_head(model, x)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    return model


def default_labels(n):
    return [f"class{i}" for i in range(n)]
