"""ResNet backbone built from torchvision's own blocks, with a width multiplier.

Parameter names are torchvision's (conv1, bn1, relu, maxpool, layer1..layer4;
no avgpool/fc), so at width 1.0 torchvision's ImageNet weights load unchanged
(minus ``fc.*``).  Blocks are ``torchvision.models.resnet.BasicBlock`` /
``Bottleneck`` (stride on the 3x3 conv, "ResNet v1.5"), groups 1, base width 64,
no dilation.  Downsample = conv1x1(stride) + BN on the first block of a stage
when the stride or channel count changes (torchvision's rule).

The stem and the four stages are exposed separately (``stem``, ``layer1..4``)
so that the IPG fusion can be inserted between stages by the model.
"""

from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, conv1x1

from .config import BACKBONES, stage_planes, stem_channels

BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    def __init__(self, backbone="resnet50", width=1.0, bn_eps=1e-5):
        super().__init__()
        kind, layers = BACKBONES[backbone]
        block = BLOCKS[kind]
        self.block = block
        self.inplanes = stem_channels(width)
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        planes = stage_planes(width)
        self.layer1 = self._make_layer(block, planes[0], layers[0])
        self.layer2 = self._make_layer(block, planes[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, planes[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, planes[3], layers[3], stride=2)
        self.out_channels = [p * block.expansion for p in planes]  # C2..C5

        # torchvision's initialisation
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
                m.eps = bn_eps

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    @property
    def stages(self):
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def stem(self, x):
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward(self, x):
        """Plain (unguided) forward: returns [C2, C3, C4, C5]."""
        x = self.stem(x)
        out = []
        for layer in self.stages:
            x = layer(x)
            out.append(x)
        return out
