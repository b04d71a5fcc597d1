import pytest
import torch

from conftest import small_config
from ipgnet.__main__ import main
from ipgnet.random_model import random_images, random_model


def test_random_is_deterministic(tmp_path):
    args = ["random", "--backbone", "resnet18", "--width", "0.25", "--num-classes", "3",
            "--input", "128x96", "--fpn-channels", "32", "--seed"]
    a, b, c = tmp_path / "a.safetensors", tmp_path / "b.safetensors", tmp_path / "c.safetensors"
    assert main(args + ["3", "-o", str(a)]) == 0
    assert main(args + ["3", "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert main(args + ["4", "-o", str(c)]) == 0
    assert a.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("backbone, width", [("resnet18", 0.25), ("resnet50", 0.125)])
def test_random_is_not_trivial(backbone, width):
    c = small_config(backbone=backbone, width=width, num_classes=5, input=[160, 128])
    model = random_model(c, seed=11)
    torch.manual_seed(1234)  # a different image from the calibration batch
    x = random_images(1, 128, 160, c.mean, c.std)
    stats = {}
    heads, det = model.forward_tensor(x, lambda n, t: stats.__setitem__(n, t))
    for name, t in stats.items():
        if t.dim() == 4:
            s = float(t.std())
            assert 0.1 <= s <= 10, f"{name}: std {s}"
    scores = det["scores"]
    assert len(scores) >= 24
    assert float(scores.max()) > 0.9
    assert float(scores.max() - scores.min()) > 0.1
    assert len(set(det["labels"].tolist())) >= 3
    sig = torch.cat([torch.sigmoid(t).flatten() for t in heads["cls_logits"]])
    assert int((sig > 0.05).sum()) >= 100  # candidates at the 0.05 threshold
    frac = float((sig > 0.5).float().mean())
    assert 0.0005 < frac < 0.1
    assert float(sig.median()) < 0.05  # most (anchor, class) pairs are background
    hist = torch.histc(sig, bins=10, min=0, max=1)
    assert (hist > 0).all()  # scores spread over (0, 1)
    wh = det["boxes"][:, 2:] - det["boxes"][:, :2]
    assert (wh > 0).float().mean() > 0.8
