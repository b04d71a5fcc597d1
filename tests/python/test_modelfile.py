import json
import struct

import pytest
import torch

from conftest import small_config
from ipgnet.model import model_state
from ipgnet.modelfile import (ModelFileError, decode_safetensors, encode_safetensors, load_model,
                              read_safetensors, save_model)
from ipgnet.random_model import random_images


def test_round_trip(model_file, small_random_model):
    model, config = small_random_model
    loaded, config2, labels = load_model(model_file)
    assert config2 == config
    assert labels == ["cat", "dog", "bird"]
    ref = model_state(model)
    got = model_state(loaded)
    assert list(ref) == list(got)
    for k in ref:
        assert torch.equal(ref[k], got[k]), k
    x = random_images(1, 96, 128, config.mean, config.std)
    h1, d1 = model.forward_tensor(x)
    h2, d2 = loaded.forward_tensor(x)
    for a, b in zip(h1["cls_logits"] + h1["bbox_regression"], h2["cls_logits"] + h2["bbox_regression"]):
        assert torch.equal(a, b)
    for k in d1:
        assert torch.equal(d1[k], d2[k])


def test_layout(model_file):
    buf = open(model_file, "rb").read()
    (n,) = struct.unpack("<Q", buf[:8])
    assert n % 8 == 0
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__")
    assert meta["format"] == "ipgnet" and meta["format_version"] == "1"
    assert json.loads(meta["labels"]) == ["cat", "dog", "bird"]
    names = list(header)
    assert names == sorted(names)
    assert not any(k.endswith("num_batches_tracked") for k in names)
    pos = 0
    for k in names:
        assert header[k]["dtype"] == "F32"
        b, e = header[k]["data_offsets"]
        assert b == pos
        pos = e
    assert 8 + n + pos == len(buf)


def test_f16(tmp_path, small_random_model):
    model, config = small_random_model
    p = tmp_path / "h.safetensors"
    save_model(model, config, ["a", "b", "c"], str(p), "F16")
    loaded, _, _ = load_model(str(p))
    ref, got = model_state(model), model_state(loaded)
    for k in ref:
        assert torch.equal(ref[k].half().float(), got[k]), k
    assert p.stat().st_size < 0.6 * (sum(v.numel() for v in ref.values()) * 4)


def _rewrite_header(buf, fn):
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    fn(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + buf[8 + n:]


def _first_tensor(h):
    return sorted(k for k in h if k != "__metadata__")[0]


CORRUPTIONS = {
    "truncated": (lambda b: b[:-4], "trailing|outside|bytes"),
    "tiny": (lambda b: b[:5], "too short"),
    "header too long": (lambda b: struct.pack("<Q", len(b)) + b[8:], "past the end"),
    "bad json": (lambda b: b[:9] + b"x" + b[10:], "not valid JSON"),
    "not an object start": (lambda b: b[:8] + b"[" + b[9:], "start with"),
    "bad dtype": (lambda b: _rewrite_header(b, lambda h: h[_first_tensor(h)].update(dtype="I8")), "dtype"),
    "overlap": (lambda b: _rewrite_header(
        b, lambda h: h[sorted(h)[2]].update(data_offsets=h[sorted(h)[1]]["data_offsets"])), "overlap|bytes for shape|gap"),
    "shape vs size": (lambda b: _rewrite_header(b, lambda h: h[_first_tensor(h)].update(shape=[1, 2, 3])), "bytes for shape"),
    "wrong format": (lambda b: _rewrite_header(b, lambda h: h["__metadata__"].update(format="other")), "format"),
    "labels count": (lambda b: _rewrite_header(b, lambda h: h["__metadata__"].update(labels='["a"]')), "labels"),
    "bad config": (lambda b: _rewrite_header(
        b, lambda h: h["__metadata__"].update(config=h["__metadata__"]["config"].replace('"input": [128, 96]', '"input": [100, 96]'))),
        "multiples of 32"),
    "config mismatch": (lambda b: _rewrite_header(
        b, lambda h: h["__metadata__"].update(config=h["__metadata__"]["config"].replace('"fpn_channels": 32', '"fpn_channels": 16'))),
        "shape"),
}


@pytest.mark.parametrize("case", [k for k in CORRUPTIONS])
def test_reader_refuses_corrupt_files(tmp_path, model_file, case):
    fn, msg = CORRUPTIONS[case]
    p = tmp_path / "bad.safetensors"
    p.write_bytes(fn(open(model_file, "rb").read()))
    with pytest.raises(ModelFileError, match=msg):
        load_model(str(p))


def test_missing_and_unexpected_tensors(tmp_path, small_random_model):
    model, config = small_random_model
    from ipgnet.modelfile import model_metadata, write_safetensors

    state = dict(model_state(model))
    meta = model_metadata(config, ["a", "b", "c"])
    gone = state.pop("head.regression_head.bbox_reg.bias")
    write_safetensors(tmp_path / "m.safetensors", state, meta)
    with pytest.raises(ModelFileError, match="missing tensor.*bbox_reg.bias"):
        load_model(str(tmp_path / "m.safetensors"))
    state["head.regression_head.bbox_reg.bias"] = gone
    state["extra.weight"] = torch.zeros(2)
    write_safetensors(tmp_path / "u.safetensors", state, meta)
    with pytest.raises(ModelFileError, match="unexpected tensor.*extra.weight"):
        load_model(str(tmp_path / "u.safetensors"))


def test_generic_round_trip_with_empty_tensor():
    t = {"b": torch.arange(6.0).view(2, 3), "a": torch.zeros(0, 4), "c": torch.tensor(1.5)}
    out, meta = decode_safetensors(encode_safetensors(t, {"k": "v"}))
    assert meta == {"k": "v"}
    assert list(out) == ["a", "b", "c"]
    for k in t:
        assert torch.equal(out[k], t[k])
