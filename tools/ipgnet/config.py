"""Model configuration (the ``config`` entry of a model file's metadata).

Every architectural and post-processing number of IPG-Net lives here; the C
engine reads the same JSON.  ``to_json`` always writes every key of the
config's arch (``Config.keys_for(arch)``), in this order:

    common        arch, backbone, width, ipg_levels, ipg_channels, fpn_channels,
                  num_classes, input, mean, std, bn_eps, anchor_sizes,
                  aspect_ratios, score_thresh, nms_thresh, detections_per_img,
    retinanet     ... detections_per_img, topk_candidates, box_weights
                  (exactly ``Config.KEYS``, the one-stage order of format 1)
    fasterrcnn    ... detections_per_img, box_weights, then rpn_pre_nms_top_n,
                  rpn_post_nms_top_n, rpn_nms_thresh, rpn_score_thresh,
                  roi_output_size, roi_sampling_ratio, representation_size

``from_json``/``from_dict`` reject unknown keys, keys of the other arch and
wrong types, and fill a missing key with its default (``backbone`` and
``num_classes`` have no default and are required).

Arch-dependent defaults (a field left unset / None is resolved in __post_init__):
                        retinanet (P3..P7)            fasterrcnn (P2..P6)
    anchor_sizes        torchvision RetinaNet's       [[32], [64], [128], [256], [512]]
                        (3 scales per level)
    box_weights         [1, 1, 1, 1]                  [10, 10, 5, 5]
    detections_per_img  300                           100
    topk_candidates     1000                          (not a fasterrcnn key)
    rpn_pre_nms_top_n   (not a retinanet key)         1000 (per level, test time)
    rpn_post_nms_top_n                                1000 (test time)
    rpn_nms_thresh                                    0.7
    rpn_score_thresh                                  0.0
    roi_output_size                                   7 (1..64)
    roi_sampling_ratio                                2 (1..64; torchvision's
                                                      adaptive <= 0 is not supported)
    representation_size                               1024
aspect_ratios [0.5, 1, 2], score_thresh 0.05 and nms_thresh 0.5 for both.

Channel arithmetic (Python's ``round``, i.e. round-half-to-even):
    stem channels      = round(64 * width)
    stage planes[i]    = round(64 * 2**i * width)          i = 0..3 (layer1..4)
    C_{i+2} channels   = planes[i] * expansion              (1 basic, 4 bottleneck)
    ipg_channels[l-2]  = max(1, C_l // 4) for bottleneck, max(1, C_l // 2) for basic
"""

import json
import math
from dataclasses import dataclass, field
from typing import List, Optional

ARCHS = ("retinanet", "fasterrcnn")

# backbone name -> (block kind, blocks per stage)
BACKBONES = {
    "resnet18": ("basic", [2, 2, 2, 2]),
    "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]),
    "resnet101": ("bottleneck", [3, 4, 23, 3]),
}

EXPANSION = {"basic": 1, "bottleneck": 4}

# FPN levels of the one-stage (RetinaNet) neck: P3..P7
RETINANET_LEVELS = (3, 4, 5, 6, 7)
# FPN levels of the two-stage (Faster R-CNN) neck: P2..P6 (P6 = max pool of P5)
FASTERRCNN_LEVELS = (2, 3, 4, 5, 6)
ARCH_LEVELS = {"retinanet": RETINANET_LEVELS, "fasterrcnn": FASTERRCNN_LEVELS}

# keys every arch has, in JSON order (box_weights is written last of them)
COMMON_KEYS = (
    "arch", "backbone", "width", "ipg_levels", "ipg_channels", "fpn_channels",
    "num_classes", "input", "mean", "std", "bn_eps", "anchor_sizes",
    "aspect_ratios", "score_thresh", "nms_thresh", "detections_per_img",
    "box_weights",
)
# keys only one arch has
ARCH_KEYS = {
    "retinanet": ("topk_candidates",),
    "fasterrcnn": ("rpn_pre_nms_top_n", "rpn_post_nms_top_n", "rpn_nms_thresh",
                   "rpn_score_thresh", "roi_output_size", "roi_sampling_ratio",
                   "representation_size"),
}
ALL_KEYS = COMMON_KEYS + ARCH_KEYS["retinanet"] + ARCH_KEYS["fasterrcnn"]

# arch-dependent defaults of the fields left None
ARCH_DEFAULTS = {
    "retinanet": dict(
        anchor_sizes=lambda: default_anchor_sizes(),
        box_weights=lambda: [1.0, 1.0, 1.0, 1.0],
        detections_per_img=lambda: 300,
        topk_candidates=lambda: 1000,
    ),
    "fasterrcnn": dict(
        anchor_sizes=lambda: default_fasterrcnn_anchor_sizes(),
        box_weights=lambda: [10.0, 10.0, 5.0, 5.0],
        detections_per_img=lambda: 100,
        rpn_pre_nms_top_n=lambda: 1000,
        rpn_post_nms_top_n=lambda: 1000,
        rpn_nms_thresh=lambda: 0.7,
        rpn_score_thresh=lambda: 0.0,
        roi_output_size=lambda: 7,
        roi_sampling_ratio=lambda: 2,
        representation_size=lambda: 1024,
    ),
}

# fields whose dataclass default None stands for the arch's default
NONE_DEFAULT_KEYS = tuple(sorted({k for v in ARCH_DEFAULTS.values() for k in v}))

FLOAT_KEYS = ("width", "bn_eps", "score_thresh", "nms_thresh", "rpn_nms_thresh", "rpn_score_thresh")
FLOAT_LIST_KEYS = ("mean", "std", "aspect_ratios", "box_weights")


def default_anchor_sizes():
    """torchvision's RetinaNet anchors: 3 scales per level P3..P7."""
    return [[x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))] for x in [32, 64, 128, 256, 512]]


def default_fasterrcnn_anchor_sizes():
    """torchvision's Faster R-CNN FPN anchors: one size per level P2..P6."""
    return [[32], [64], [128], [256], [512]]


class ConfigError(ValueError):
    """Raised for an invalid configuration."""


def stem_channels(width):
    return int(round(64 * width))


def stage_planes(width):
    return [int(round(64 * 2 ** i * width)) for i in range(4)]


def stage_channels(backbone, width):
    kind, _ = BACKBONES[backbone]
    return [p * EXPANSION[kind] for p in stage_planes(width)]


def default_ipg_channels(backbone, width):
    kind, _ = BACKBONES[backbone]
    div = 4 if kind == "bottleneck" else 2
    return [max(1, c // div) for c in stage_channels(backbone, width)]


@dataclass
class Config:
    backbone: str
    num_classes: int
    arch: str = "retinanet"
    width: float = 1.0
    ipg_levels: List[int] = field(default_factory=lambda: [2, 3, 4, 5])
    ipg_channels: Optional[List[int]] = None  # None -> default for backbone/width
    fpn_channels: int = 256
    input: List[int] = field(default_factory=lambda: [512, 512])  # [W, H]
    mean: List[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: List[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    bn_eps: float = 1e-5
    # None -> the arch's default (ARCH_DEFAULTS)
    anchor_sizes: Optional[List[List[int]]] = None
    aspect_ratios: List[float] = field(default_factory=lambda: [0.5, 1.0, 2.0])
    score_thresh: float = 0.05
    nms_thresh: float = 0.5
    detections_per_img: Optional[int] = None
    topk_candidates: Optional[int] = None           # retinanet only
    box_weights: Optional[List[float]] = None
    rpn_pre_nms_top_n: Optional[int] = None         # fasterrcnn only, from here on
    rpn_post_nms_top_n: Optional[int] = None
    rpn_nms_thresh: Optional[float] = None
    rpn_score_thresh: Optional[float] = None
    roi_output_size: Optional[int] = None
    roi_sampling_ratio: Optional[int] = None
    representation_size: Optional[int] = None

    # JSON key order of a retinanet config (the order of the contract, not of
    # the dataclass fields); keys_for(arch) gives any arch's
    KEYS = COMMON_KEYS[:-1] + ARCH_KEYS["retinanet"] + COMMON_KEYS[-1:]

    @staticmethod
    def keys_for(arch):
        """The JSON keys of a config of this arch, in to_json order."""
        if arch == "fasterrcnn":
            return COMMON_KEYS + ARCH_KEYS["fasterrcnn"]
        return Config.KEYS

    def __post_init__(self):
        if self.arch in ARCHS and not isinstance(self.arch, bool):
            for other, keys in ARCH_KEYS.items():
                if other == self.arch:
                    continue
                given = [k for k in keys if getattr(self, k) is not None]
                if given:
                    raise ConfigError(
                        f"invalid config: {', '.join(given)} {'is a' if len(given) == 1 else 'are'} "
                        f"{other} key{'' if len(given) == 1 else 's'}, not valid for arch {self.arch!r}")
            for k, make in ARCH_DEFAULTS[self.arch].items():
                if getattr(self, k) is None:
                    setattr(self, k, make())
        if self.backbone in BACKBONES and isinstance(self.width, (int, float)) \
                and not isinstance(self.width, bool) and self.width > 0 and self.ipg_channels is None:
            self.ipg_channels = default_ipg_channels(self.backbone, self.width)
        self.validate()

    # ----- derived quantities -------------------------------------------
    @property
    def block(self):
        return BACKBONES[self.backbone][0]

    @property
    def layers(self):
        return list(BACKBONES[self.backbone][1])

    @property
    def expansion(self):
        return EXPANSION[self.block]

    @property
    def stem_channels(self):
        return stem_channels(self.width)

    @property
    def planes(self):
        return stage_planes(self.width)

    @property
    def stage_channels(self):
        """Channels of C2..C5."""
        return stage_channels(self.backbone, self.width)

    @property
    def num_anchors(self):
        """Anchors per location A (the same on every level)."""
        return len(self.anchor_sizes[0]) * len(self.aspect_ratios)

    @property
    def levels(self):
        """FPN levels of the arch's neck: (3..7) retinanet, (2..6) fasterrcnn."""
        return ARCH_LEVELS[self.arch]

    @property
    def input_width(self):
        return self.input[0]

    @property
    def input_height(self):
        return self.input[1]

    # ----- validation ------------------------------------------------------
    def validate(self):
        def fail(msg):
            raise ConfigError("invalid config: " + msg)

        def is_int(v):
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v):
            return (isinstance(v, (int, float)) and not isinstance(v, bool)
                    and math.isfinite(v))

        def int_list(name, v, n=None, minimum=None):
            if not isinstance(v, list) or not all(is_int(x) for x in v):
                fail(f"{name} must be a list of integers, got {v!r}")
            if n is not None and len(v) != n:
                fail(f"{name} must have {n} entries, got {len(v)}")
            if minimum is not None and any(x < minimum for x in v):
                fail(f"{name} entries must be >= {minimum}, got {v!r}")

        def num_list(name, v, n=None):
            if not isinstance(v, list) or not all(is_num(x) for x in v):
                fail(f"{name} must be a list of finite numbers, got {v!r}")
            if n is not None and len(v) != n:
                fail(f"{name} must have {n} entries, got {len(v)}")

        if self.arch not in ARCHS:
            fail(f"arch {self.arch!r} is not supported (supported: {', '.join(ARCHS)})")
        if self.backbone not in BACKBONES:
            fail(f"backbone {self.backbone!r} is not one of {', '.join(BACKBONES)}")
        if not is_num(self.width) or self.width <= 0:
            fail(f"width must be a positive number, got {self.width!r}")
        if stem_channels(self.width) < 1 or min(stage_planes(self.width)) < 1:
            fail(f"width {self.width} gives a stage with no channels")
        int_list("ipg_levels", self.ipg_levels)
        if any(l not in (2, 3, 4, 5) for l in self.ipg_levels):
            fail(f"ipg_levels must be taken from 2, 3, 4, 5, got {self.ipg_levels!r}")
        if list(self.ipg_levels) != sorted(set(self.ipg_levels)):
            fail(f"ipg_levels must be increasing without repeats, got {self.ipg_levels!r}")
        int_list("ipg_channels", self.ipg_channels, 4, 1)
        if not is_int(self.fpn_channels) or self.fpn_channels < 1:
            fail(f"fpn_channels must be a positive integer, got {self.fpn_channels!r}")
        if not is_int(self.num_classes) or self.num_classes < 1:
            fail(f"num_classes must be a positive integer, got {self.num_classes!r}")
        int_list("input", self.input, 2, 32)
        if any(v % 32 for v in self.input):
            fail(f"input [W, H] must be multiples of 32, got {self.input!r}")
        num_list("mean", self.mean, 3)
        num_list("std", self.std, 3)
        if any(v <= 0 for v in self.std):
            fail(f"std entries must be > 0, got {self.std!r}")
        if not is_num(self.bn_eps) or self.bn_eps <= 0:
            fail(f"bn_eps must be > 0, got {self.bn_eps!r}")
        levels = ARCH_LEVELS[self.arch]
        if not isinstance(self.anchor_sizes, list) or len(self.anchor_sizes) != len(levels):
            fail(f"anchor_sizes must be a list of {len(levels)} lists (one per level "
                 f"P{levels[0]}..P{levels[-1]} of {self.arch}), got {self.anchor_sizes!r}")
        for i, sizes in enumerate(self.anchor_sizes):
            int_list(f"anchor_sizes[{i}]", sizes, None, 1)
            if len(sizes) == 0:
                fail(f"anchor_sizes[{i}] is empty")
            if len(sizes) != len(self.anchor_sizes[0]):
                fail("every level of anchor_sizes must have the same number of sizes "
                     f"(the head predicts the same number of anchors per level), got {self.anchor_sizes!r}")
        num_list("aspect_ratios", self.aspect_ratios)
        if len(self.aspect_ratios) == 0 or any(v <= 0 for v in self.aspect_ratios):
            fail(f"aspect_ratios must be a non-empty list of positive numbers, got {self.aspect_ratios!r}")
        for name in ("score_thresh", "nms_thresh"):
            v = getattr(self, name)
            if not is_num(v) or not 0.0 <= v <= 1.0:
                fail(f"{name} must be a number in [0, 1], got {v!r}")
        positive = ["detections_per_img"]
        if self.arch == "retinanet":
            positive.append("topk_candidates")
        else:
            positive += ["rpn_pre_nms_top_n", "rpn_post_nms_top_n", "representation_size"]
        # Upper bounds as the C engine's (ipg/config.c): prepare-time buffers
        # grow with them.
        upper = {"rpn_pre_nms_top_n": 10000, "rpn_post_nms_top_n": 10000, "representation_size": 65536}
        for name in positive:
            v = getattr(self, name)
            if not is_int(v) or v < 1:
                fail(f"{name} must be a positive integer, got {v!r}")
            if name in upper and v > upper[name]:
                fail(f"{name} must be at most {upper[name]}, got {v!r}")
        num_list("box_weights", self.box_weights, 4)
        if any(v <= 0 for v in self.box_weights):
            fail(f"box_weights entries must be > 0, got {self.box_weights!r}")
        if self.arch == "fasterrcnn":
            for name in ("rpn_nms_thresh", "rpn_score_thresh"):
                v = getattr(self, name)
                if not is_num(v) or not 0.0 <= v <= 1.0:
                    fail(f"{name} must be a number in [0, 1], got {v!r}")
            for name in ("roi_output_size", "roi_sampling_ratio"):
                v = getattr(self, name)
                if not is_int(v) or not 1 <= v <= 64:
                    fail(f"{name} must be an integer in 1..64, got {v!r}"
                         + (" (torchvision's adaptive sampling, <= 0, is not supported)"
                            if name == "roi_sampling_ratio" and is_int(v) and v <= 0 else ""))

    # ----- serialisation -----------------------------------------------------
    def to_dict(self):
        d = {}
        for k in self.keys_for(self.arch):
            v = getattr(self, k)
            if k in FLOAT_KEYS:
                v = float(v)
            elif k in FLOAT_LIST_KEYS:
                v = [float(x) for x in v]
            elif k == "anchor_sizes":
                v = [list(s) for s in v]
            elif isinstance(v, list):
                v = list(v)
            d[k] = v
        return d

    def to_json(self):
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict):
            raise ConfigError(f"invalid config: expected a JSON object, got {type(d).__name__}")
        unknown = sorted(set(d) - set(ALL_KEYS))
        if unknown:
            raise ConfigError(f"invalid config: unknown key(s) {', '.join(unknown)}")
        for k in ("backbone", "num_classes"):
            if k not in d:
                raise ConfigError(f"invalid config: missing required key {k!r}")
        arch = d.get("arch", "retinanet")
        if isinstance(arch, str) and arch in ARCHS:
            foreign = [k for k in ALL_KEYS if k in d and k not in cls.keys_for(arch)]
            if foreign:
                owner = sorted({a for a, keys in ARCH_KEYS.items() for k in foreign if k in keys})
                raise ConfigError(f"invalid config: key(s) {', '.join(foreign)} belong to arch "
                                  f"{', '.join(repr(a) for a in owner)}, not to arch {arch!r}")
        kwargs = {}
        for k, v in d.items():
            if v is None and k in NONE_DEFAULT_KEYS:
                # None means "the arch's default" to the dataclass; JSON must give a value
                raise ConfigError(f"invalid config: {k} must not be null")
            # JSON has one number type; accept integral values for float fields
            if k in FLOAT_KEYS and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)
            if k in FLOAT_LIST_KEYS and isinstance(v, list):
                v = [float(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in v]
            if isinstance(v, list):
                v = [list(x) if isinstance(x, list) else x for x in v]
            kwargs[k] = v
        return cls(**kwargs)

    @classmethod
    def from_json(cls, s):
        try:
            d = json.loads(s)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"invalid config: not valid JSON ({e})") from None
        return cls.from_dict(d)


def parse_size(text):
    """Parse 'WxH' into [W, H]."""
    try:
        w, h = text.lower().split("x")
        return [int(w), int(h)]
    except ValueError:
        raise ValueError(f"size must be WxH (e.g. 512x384), got {text!r}") from None
