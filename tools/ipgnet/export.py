"""``export``: training checkpoint -> model file.

A checkpoint is a ``torch.save``'d dict with keys "model" (state_dict),
"config" (Config.to_dict()) and "labels" (list of class names); a directory
means its ``last.pt``.  A "module." prefix on every key (DataParallel /
DistributedDataParallel) is stripped.  ``num_batches_tracked`` entries may be
present or absent; every other tensor must match the model built from the
config (``build_model``: any arch) exactly.
"""

import os

import torch

from .config import Config
from .model import build_model, model_state
from .modelfile import ModelFileError, save_model


def load_checkpoint(path):
    if os.path.isdir(path):
        path = os.path.join(path, "last.pt")
    # our own checkpoint: it holds RNG states, which torch >= 2.6 refuses by default
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or not {"model", "config", "labels"} <= set(ckpt):
        raise ModelFileError(f"{path}: not a checkpoint (need a dict with model, config, labels)")
    config = Config.from_dict(ckpt["config"])
    state = dict(ckpt["model"])
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    model = build_model(config)
    expected = model_state(model)
    given = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    if missing or unexpected:
        raise ModelFileError(f"{path}: state_dict does not match the config "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    for k, v in expected.items():
        if tuple(given[k].shape) != tuple(v.shape):
            raise ModelFileError(f"{path}: tensor {k} has shape {list(given[k].shape)}, "
                                 f"expected {list(v.shape)}")
    model.load_state_dict({k: v.float() for k, v in given.items()}, strict=False)
    model.eval()
    return model, config, list(ckpt["labels"])


def export(path, out, dtype="F32"):
    model, config, labels = load_checkpoint(path)
    save_model(model, config, labels, out, dtype)
    return model, config, labels
