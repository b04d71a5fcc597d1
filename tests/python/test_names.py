"""State-dict names and shapes: the contract the C engine binds to."""

import re

import pytest
import torchvision

from conftest import small_config
from ipgnet.config import Config
from ipgnet.model import IPGNet, model_state
from ipgnet.resnet import ResNet


def _shapes(sd):
    return {k: tuple(v.shape) for k, v in sd.items()}


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50", "resnet101"])
def test_resnet_matches_torchvision(name):
    ours = _shapes(ResNet(name, 1.0).state_dict())
    ref = _shapes(getattr(torchvision.models, name)(weights=None).state_dict())
    ref = {k: v for k, v in ref.items() if not k.startswith("fc.")}
    assert ours == ref
    assert list(ours) == list(ref)


def test_width_multiplier():
    r = ResNet("resnet50", 0.5)
    sd = r.state_dict()
    assert sd["conv1.weight"].shape == (32, 3, 7, 7)
    assert sd["layer1.0.conv3.weight"].shape == (128, 32, 1, 1)
    assert sd["layer4.2.conv3.weight"].shape == (1024, 256, 1, 1)
    assert r.out_channels == [128, 256, 512, 1024]


def test_model_names():
    c = small_config(backbone="resnet50", num_classes=4)
    keys = _shapes(IPGNet(c).state_dict())
    body = {k[len("backbone.body."):]: v for k, v in keys.items() if k.startswith("backbone.body.")}
    assert body == _shapes(ResNet("resnet50", c.width).state_dict())
    C = c.stage_channels
    g = c.ipg_channels
    A, K, P = 9, 4, c.fpn_channels
    for l in (2, 3, 4, 5):
        t = f"backbone.guidance.t{l}."
        assert keys[t + "conv.weight"] == (g[l - 2], 3, 3, 3)
        for bn in ("bn", "block.bn1", "block.bn2"):
            for s in ("weight", "bias", "running_mean", "running_var"):
                assert keys[t + f"{bn}.{s}"] == (g[l - 2],)
        assert keys[t + "block.conv1.weight"] == (g[l - 2], g[l - 2], 3, 3)
        assert keys[t + "block.conv2.weight"] == (g[l - 2], g[l - 2], 3, 3)
        f = f"backbone.guidance.f{l}."
        assert keys[f + "conv.weight"] == (C[l - 2], C[l - 2] + g[l - 2], 1, 1)
        for s in ("weight", "bias", "running_mean", "running_var"):
            assert keys[f + f"bn.{s}"] == (C[l - 2],)
    for i in range(3):
        assert keys[f"backbone.fpn.inner_blocks.{i}.0.weight"] == (P, C[i + 1], 1, 1)
        assert keys[f"backbone.fpn.inner_blocks.{i}.0.bias"] == (P,)
        assert keys[f"backbone.fpn.layer_blocks.{i}.0.weight"] == (P, P, 3, 3)
    for e in ("p6", "p7"):
        assert keys[f"backbone.fpn.extra_blocks.{e}.weight"] == (P, P, 3, 3)
        assert keys[f"backbone.fpn.extra_blocks.{e}.bias"] == (P,)
    for h in ("classification_head", "regression_head"):
        for i in range(4):
            assert keys[f"head.{h}.conv.{i}.0.weight"] == (P, P, 3, 3)
            assert keys[f"head.{h}.conv.{i}.0.bias"] == (P,)
    assert keys["head.classification_head.cls_logits.weight"] == (A * K, P, 3, 3)
    assert keys["head.regression_head.bbox_reg.weight"] == (A * 4, P, 3, 3)
    # nothing else
    pattern = re.compile(r"^(backbone\.(body|guidance|fpn)|head\.(classification|regression)_head)\.")
    assert all(pattern.match(k) for k in keys)
    assert not any(k.endswith("num_batches_tracked") for k in model_state(IPGNet(c)))


def test_plain_fpn_has_no_guidance():
    c = small_config(ipg_levels=[])
    keys = IPGNet(c).state_dict()
    assert not any(".guidance." in k for k in keys)
    c2 = small_config(ipg_levels=[3, 5])
    keys2 = IPGNet(c2).state_dict()
    assert {k.split(".")[2] for k in keys2 if ".guidance." in k} == {"t3", "f3", "t5", "f5"}


def test_fusion_bn_starts_at_zero():
    m = IPGNet(small_config())
    for l in (2, 3, 4, 5):
        assert (getattr(m.backbone.guidance, f"f{l}").bn.weight == 0).all()
