"""safetensors reading and writing, by hand (no safetensors package).

Why by hand: the reference runs on Debian's /usr/bin/python3, and Debian
(bookworm) packages no python3-safetensors (`apt-cache policy` knows none);
the PyPI package could only live in .venv, which the reference does not use.
The C side's one writer is ipg_st_write_header() in ipg/safetensors.c (the
same entries, with ", " and ": " separators).

Layout written:
    u64 LE  N                      header length (includes the padding)
    N bytes JSON header (UTF-8), padded with spaces to a multiple of 8:
        {"__metadata__": {...str: str...},
         "<name>": {"dtype": "F32"|"F16", "shape": [...], "data_offsets": [b, e]}, ...}
        compact separators, "__metadata__" first, tensors sorted by name
    data    tensors in name order, contiguous, row-major, little-endian;
            offsets relative to the start of the data section

Model files (``save_model``/``load_model``) carry metadata
    "format": "ipgnet", "format_version": "1",
    "config": Config.to_json(), "labels": JSON array of class names
and exactly the tensors of ``model_state`` (state_dict minus num_batches_tracked).

The reader (``read_safetensors``) validates like the C loader should: file at
least 8 bytes, header length within the file, header UTF-8 JSON object, each
entry an object with exactly dtype/shape/data_offsets, known dtype,
non-negative integer shape, 0 <= b <= e <= data length, e - b = numel * itemsize,
entries contiguous without gaps or overlap, covering the whole data section,
metadata a string -> string object.
"""

import json
import struct

import numpy as np
import torch

from .config import Config, ConfigError

FORMAT = "ipgnet"
FORMAT_VERSION = "1"
MAX_HEADER = 100 * 1024 * 1024

DTYPES = {
    "F32": (np.dtype("<f4"), torch.float32),
    "F16": (np.dtype("<f2"), torch.float16),
}


class ModelFileError(ValueError):
    """A file that is not a valid (ipgnet) safetensors file."""


def _to_numpy(t, dtype):
    if isinstance(t, torch.Tensor):
        t = t.detach().to("cpu", torch.float32).contiguous().numpy()
    a = np.asarray(t, dtype=np.float32)
    if dtype == "F16":
        if np.isfinite(a).all() and not np.isfinite(a.astype(np.float16)).all():
            raise ModelFileError("a tensor value does not fit in F16")
    return a.astype(DTYPES[dtype][0], order="C")


def encode_safetensors(tensors, metadata=None, dtype="F32"):
    """tensors: mapping name -> tensor/array.  Returns the file bytes."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError("metadata keys and values must be strings")
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("a tensor cannot be named __metadata__")
        a = _to_numpy(tensors[name], dtype)
        data = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_safetensors(path, tensors, metadata=None, dtype="F32"):
    data = encode_safetensors(tensors, metadata, dtype)
    with open(path, "wb") as f:
        f.write(data)


def decode_safetensors(buf, name="<buffer>"):
    """Strictly parse safetensors bytes.  Returns (tensors {name: float32 torch tensor}
    in header order, metadata dict)."""

    def fail(msg):
        raise ModelFileError(f"{name}: {msg}")

    buf = memoryview(buf)
    if len(buf) < 8:
        fail(f"file too short ({len(buf)} bytes) for a safetensors header")
    (n,) = struct.unpack("<Q", buf[:8])
    if n < 2:
        fail(f"header length {n} is too small")
    if n > MAX_HEADER:
        fail(f"header length {n} exceeds the limit of {MAX_HEADER}")
    if 8 + n > len(buf):
        fail(f"header length {n} runs past the end of the file ({len(buf)} bytes)")
    try:
        text = bytes(buf[8:8 + n]).decode("utf-8")
    except UnicodeDecodeError:
        fail("header is not valid UTF-8")
    if not text.startswith("{"):
        fail("header does not start with '{'")
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates)
    except ValueError as e:
        fail(f"header is not valid JSON ({e})")
    if not isinstance(header, dict):
        fail("header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        fail("__metadata__ must be an object of strings")
    data = buf[8 + n:]
    entries = []
    for tname, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            fail(f"tensor {tname!r}: entry must have exactly dtype, shape, data_offsets")
        dt = info["dtype"]
        if dt not in DTYPES:
            fail(f"tensor {tname!r}: unsupported dtype {dt!r} (expected F32 or F16)")
        shape = info["shape"]
        if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            fail(f"tensor {tname!r}: bad shape {shape!r}")
        offs = info["data_offsets"]
        if not isinstance(offs, list) or len(offs) != 2 or not all(
                isinstance(o, int) and not isinstance(o, bool) for o in offs):
            fail(f"tensor {tname!r}: bad data_offsets {offs!r}")
        b, e = offs
        if not 0 <= b <= e <= len(data):
            fail(f"tensor {tname!r}: data_offsets [{b}, {e}] outside the data section "
                 f"({len(data)} bytes)")
        numel = 1
        for d in shape:
            numel *= d
        size = numel * DTYPES[dt][0].itemsize
        if e - b != size:
            fail(f"tensor {tname!r}: {e - b} bytes for shape {shape} {dt} (expected {size})")
        entries.append((b, e, tname, dt, shape))
    pos = 0
    for b, e, tname, _, _ in sorted(entries, key=lambda t: (t[0], t[1])):
        if b < pos:
            fail(f"tensor {tname!r}: data overlaps the previous tensor")
        if b > pos:
            fail(f"tensor {tname!r}: gap of {b - pos} bytes before its data")
        pos = e
    if pos != len(data):
        fail(f"{len(data) - pos} trailing bytes after the last tensor")
    tensors = {}
    for b, e, tname, dt, shape in entries:
        a = np.frombuffer(data[b:e], dtype=DTYPES[dt][0]).astype(np.float32).reshape(shape)
        tensors[tname] = torch.from_numpy(a.copy())
    return tensors, metadata


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r}")
        d[k] = v
    return d


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    return decode_safetensors(buf, str(path))


# ---------------------------------------------------------------------------
# model files


def model_metadata(config, labels):
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config.to_json(),
        "labels": json.dumps(list(labels), ensure_ascii=False),
    }


def check_labels(labels, config):
    if not isinstance(labels, list) or not all(isinstance(s, str) for s in labels):
        raise ModelFileError("labels must be a list of strings")
    if len(labels) != config.num_classes:
        raise ModelFileError(f"{len(labels)} labels for num_classes = {config.num_classes}")


def save_model(model, config, labels, path, dtype="F32"):
    from .model import model_state

    labels = list(labels)
    check_labels(labels, config)
    write_safetensors(path, model_state(model), model_metadata(config, labels), dtype)


def load_model(path):
    """Read and validate a model file.  Returns (model in eval mode, config, labels)."""
    from .model import build_model, model_state

    tensors, meta = read_safetensors(path)

    def fail(msg):
        raise ModelFileError(f"{path}: {msg}")

    if meta.get("format") != FORMAT:
        fail(f"metadata format is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        fail(f"unsupported format_version {meta.get('format_version')!r} (expected {FORMAT_VERSION!r})")
    for k in ("config", "labels"):
        if k not in meta:
            fail(f"metadata has no {k!r}")
    try:
        config = Config.from_json(meta["config"])
    except ConfigError as e:
        fail(str(e))
    try:
        labels = json.loads(meta["labels"])
    except ValueError as e:
        fail(f"labels are not valid JSON ({e})")
    try:
        check_labels(labels, config)
    except ModelFileError as e:
        fail(str(e))
    model = build_model(config)
    expected = model_state(model)
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    if missing:
        fail(f"{len(missing)} missing tensor(s), first: {missing[0]}")
    if unexpected:
        fail(f"{len(unexpected)} unexpected tensor(s), first: {unexpected[0]}")
    for k, v in expected.items():
        if list(tensors[k].shape) != list(v.shape):
            fail(f"tensor {k}: shape {list(tensors[k].shape)} does not match the config "
                 f"(expected {list(v.shape)})")
        if not torch.isfinite(tensors[k]).all():
            fail(f"tensor {k}: contains NaN or infinity")
    model.load_state_dict(tensors, strict=False)
    model.eval()
    return model, config, labels
