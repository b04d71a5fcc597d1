"""Image pyramid guidance (IPG): the pyramid, the transformation and fusion modules.

Pyramid: I_1 is the normalised network input; I_{2s} = bilinear resize of I_s to
(h // 2, w // 2) with align_corners=False, no antialiasing -- on even sizes this
is exactly 2x2 average pooling.  I_4, I_8, I_16, I_32 guide C2, C3, C4, C5
(guided level l uses I_{2**l}).

T_l (IPGTransform): conv3x3(3 -> g, pad 1, no bias) -> BN -> ReLU -> torchvision
BasicBlock(g, g) (conv3x3-BN-ReLU-conv3x3-BN, + identity, ReLU).  Output G_l.

F_l (IPGFusion): F_l = C_l + BN(conv1x1(concat([C_l, G_l], dim=1)))  (no bias,
C + g -> C channels; input channels 0..C-1 are C_l, C..C+g-1 are G_l).  The BN
weight starts at zero so a pretrained backbone starts unchanged.  No ReLU after
the addition.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock


def downsample2(x):
    """One pyramid step: bilinear resize to (h // 2, w // 2), align_corners=False."""
    h, w = x.shape[-2:]
    return F.interpolate(x, size=(h // 2, w // 2), mode="bilinear", align_corners=False)


def image_pyramid(x, max_level=5):
    """Return {stride: I_stride} for strides 2, 4, ..., 2**max_level (I_1 = x excluded)."""
    out = {}
    cur = x
    for l in range(1, max_level + 1):
        cur = downsample2(cur)
        out[2 ** l] = cur
    return out


class IPGTransform(nn.Module):
    def __init__(self, g, bn_eps=1e-5):
        super().__init__()
        self.conv = nn.Conv2d(3, g, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(g, eps=bn_eps)
        self.relu = nn.ReLU(inplace=True)
        self.block = BasicBlock(g, g)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
                m.eps = bn_eps

    def forward(self, image):
        return self.block(self.relu(self.bn(self.conv(image))))


class IPGFusion(nn.Module):
    def __init__(self, c, g, bn_eps=1e-5):
        super().__init__()
        self.conv = nn.Conv2d(c + g, c, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(c, eps=bn_eps)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def forward(self, c, g):
        return c + self.bn(self.conv(torch.cat([c, g], dim=1)))


class Guidance(nn.Module):
    """Holds t{l} (IPGTransform) and f{l} (IPGFusion) for each guided level l."""

    def __init__(self, levels, stage_channels, ipg_channels, bn_eps=1e-5):
        super().__init__()
        self.levels = list(levels)
        for l in self.levels:
            g = ipg_channels[l - 2]
            c = stage_channels[l - 2]
            self.add_module(f"t{l}", IPGTransform(g, bn_eps))
            self.add_module(f"f{l}", IPGFusion(c, g, bn_eps))

    @property
    def max_level(self):
        return max(self.levels) if self.levels else 0

    def transform(self, level):
        return getattr(self, f"t{level}")

    def fusion(self, level):
        return getattr(self, f"f{level}")
