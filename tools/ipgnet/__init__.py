"""ipgnet: the Python reference of the IPG-Net (IPG-RetinaNet) inference engine.

The OpenCL engine must match this package numerically; see /work/shared/IPGNET.md
(docs/ in the project) for the architecture contract.  Modules:

    config        Config dataclass (the model file's "config" metadata)
    resnet        ResNet from torchvision's blocks with a width multiplier
    guidance      image pyramid, IPG transformation and fusion modules
    model         IPGNet (torchvision RetinaNet subclass), forward_tensor
    preprocess    letterbox
    modelfile     safetensors writer / strict reader, save_model / load_model
    random_model  seeded calibrated random models
    detect        detect command
    stages        dump / compare commands (per-stage parity)
    export        training checkpoint -> model file
"""

from .config import Config, ConfigError

__all__ = ["Config", "ConfigError"]
__version__ = "0.1.0"
