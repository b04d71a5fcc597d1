import torch

from conftest import small_config
from ipgnet.__main__ import main
from ipgnet.model import model_state
from ipgnet.modelfile import ModelFileError, load_model
from ipgnet.random_model import random_model

import pytest


def _checkpoint(model, config, labels, prefix=""):
    return {"model": {prefix + k: v for k, v in model.state_dict().items()},
            "config": config.to_dict(), "labels": labels, "epoch": 3}


def test_export_checkpoint_and_run_dir(tmp_path):
    config = small_config(ipg_levels=[3, 4])
    model = random_model(config, seed=4)
    ckpt = tmp_path / "epoch3.pt"
    torch.save(_checkpoint(model, config, ["a", "b", "c"]), ckpt)
    out = tmp_path / "m.safetensors"
    assert main(["export", str(ckpt), "-o", str(out)]) == 0
    loaded, config2, labels = load_model(str(out))
    assert config2 == config and labels == ["a", "b", "c"]
    for k, v in model_state(model).items():
        assert torch.equal(v, model_state(loaded)[k])

    run = tmp_path / "run"
    run.mkdir()
    torch.save(_checkpoint(model, config, ["a", "b", "c"], prefix="module."), run / "last.pt")
    out16 = tmp_path / "m16.safetensors"
    assert main(["export", str(run), "-o", str(out16), "--dtype", "f16"]) == 0
    loaded16, _, _ = load_model(str(out16))
    w = "backbone.guidance.f3.conv.weight"
    assert torch.equal(model_state(loaded16)[w], model_state(model)[w].half().float())


def test_export_refuses_mismatched_checkpoint(tmp_path):
    config = small_config()
    model = random_model(config, seed=4)
    ck = _checkpoint(model, config, ["a", "b", "c"])
    del ck["model"]["head.regression_head.bbox_reg.bias"]
    torch.save(ck, tmp_path / "bad.pt")
    from ipgnet.export import export

    with pytest.raises(ModelFileError, match="bbox_reg.bias"):
        export(str(tmp_path / "bad.pt"), str(tmp_path / "o.safetensors"))
