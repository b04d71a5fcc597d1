import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.path.join(ROOT, "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))

from ipgnet.config import Config  # noqa: E402


def small_config(**kw):
    args = dict(backbone="resnet18", width=0.25, num_classes=3, input=[128, 96], fpn_channels=32)
    args.update(kw)
    return Config(**args)


@pytest.fixture(scope="session")
def small_random_model():
    from ipgnet.random_model import random_model

    config = small_config()
    return random_model(config, seed=1), config


@pytest.fixture(scope="session")
def model_file(tmp_path_factory, small_random_model):
    from ipgnet.modelfile import save_model

    model, config = small_random_model
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    save_model(model, config, ["cat", "dog", "bird"], str(path))
    return str(path)


@pytest.fixture(scope="session")
def png_image(tmp_path_factory):
    """A 150x110 RGB PNG with smooth content (generated)."""
    from PIL import Image

    from ipgnet.random_model import random_images

    torch.manual_seed(5)
    x = random_images(1, 110, 150, [0, 0, 0], [1, 1, 1])[0]
    a = (x.permute(1, 2, 0).numpy() * 255 + 0.5).astype("uint8")
    path = tmp_path_factory.mktemp("img") / "frame.png"
    Image.fromarray(a).save(str(path))
    return str(path)
