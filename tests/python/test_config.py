import json

import pytest

from ipgnet.config import Config, ConfigError, default_anchor_sizes


def test_defaults_and_channels():
    c = Config(backbone="resnet50", num_classes=80)
    assert c.arch == "retinanet"
    assert c.ipg_levels == [2, 3, 4, 5]
    assert c.stage_channels == [256, 512, 1024, 2048]
    assert c.ipg_channels == [64, 128, 256, 512]
    assert c.anchor_sizes == [[32, 40, 50], [64, 80, 101], [128, 161, 203], [256, 322, 406], [512, 645, 812]]
    assert c.num_anchors == 9
    r18 = Config(backbone="resnet18", num_classes=3)
    assert r18.stage_channels == [64, 128, 256, 512]
    assert r18.ipg_channels == [32, 64, 128, 256]
    half = Config(backbone="resnet18", num_classes=3, width=0.5)
    assert half.stem_channels == 32 and half.planes == [32, 64, 128, 256]
    assert half.ipg_channels == [16, 32, 64, 128]


def test_json_round_trip():
    c = Config(backbone="resnet34", num_classes=5, width=0.75, ipg_levels=[3, 5], input=[320, 256],
               fpn_channels=64, box_weights=[1.0, 1.0, 2.0, 2.0], score_thresh=0.1)
    d = json.loads(c.to_json())
    assert list(d) == list(Config.KEYS)
    c2 = Config.from_json(c.to_json())
    assert c2 == c
    assert c2.to_json() == c.to_json()
    # integral JSON numbers are accepted for float fields
    d["width"] = 1
    assert Config.from_dict(d).width == 1.0


@pytest.mark.parametrize("change, message", [
    ({"input": [100, 96]}, "multiples of 32"),
    ({"backbone": "vgg16"}, "backbone"),
    ({"ipg_levels": [1, 2]}, "ipg_levels"),
    ({"ipg_levels": [3, 2]}, "increasing"),
    ({"ipg_channels": [8, 8, 8]}, "ipg_channels"),
    ({"num_classes": 0}, "num_classes"),
    ({"arch": "yolo"}, "not supported"),
    ({"arch": "fasterrcnn"}, "topk_candidates belong to arch 'retinanet'"),
    ({"anchor_sizes": [[32], [64, 80], [128], [256], [512]]}, "same number"),
    ({"std": [1.0, 0.0, 1.0]}, "std"),
    ({"nms_thresh": 1.5}, "nms_thresh"),
    ({"width": True}, "width"),
    ({"bogus": 1}, "unknown key"),
])
def test_validation(change, message):
    d = Config(backbone="resnet18", num_classes=3, input=[64, 64]).to_dict()
    d.update(change)
    with pytest.raises(ConfigError, match=message):
        Config.from_dict(d)


def test_missing_required_key():
    with pytest.raises(ConfigError, match="num_classes"):
        Config.from_json('{"backbone": "resnet18"}')
    with pytest.raises(ConfigError, match="JSON"):
        Config.from_json("{not json")


def test_default_anchor_sizes_match_torchvision():
    from torchvision.models.detection.retinanet import _default_anchorgen

    assert [list(s) for s in _default_anchorgen().sizes] == default_anchor_sizes()
