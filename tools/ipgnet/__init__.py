"""ipgnet: the Python reference of the IPG-Net inference engine (IPG-RetinaNet,
config arch "retinanet", and IPG-Faster R-CNN, arch "fasterrcnn").

The OpenCL engine must match this package numerically; see /work/shared/IPGNET.md
(docs/ in the project) for the architecture contract.  Modules:

    config        Config dataclass (the model file's "config" metadata)
    resnet        ResNet from torchvision's blocks with a width multiplier
    guidance      image pyramid, IPG transformation and fusion modules
    model         IPGBackbone (ResNet + IPG + FPN), IPGNet (torchvision RetinaNet
                  subclass), forward_tensor; build_model(config) by config.arch
    fasterrcnn    IPGFasterRCNN (torchvision FasterRCNN subclass), forward_tensor
    preprocess    letterbox
    modelfile     safetensors writer / strict reader, save_model / load_model
    random_model  seeded calibrated random models
    detect        detect command
    stages        dump / compare commands (per-stage parity)
    export        training checkpoint -> model file
    info          parameters and conv_gflop of a model file
    train, data   training on COCO-format data; evaluate: COCO AP
"""

from .config import Config, ConfigError

__all__ = ["Config", "ConfigError"]
__version__ = "0.1.0"
