"""Static catalogues the emulated jobs draw from: engines, resource flavors and name words."""

from __future__ import annotations

from typing import NamedTuple


class Engine(NamedTuple):
    engine_type: int
    engine_name: str
    engine_id: int
    engine_version: str


class Spec(NamedTuple):
    spec_id: int
    spec_code: str
    core: str  # vCPUs, a String in the API
    cpu: str  # memory in GiB, also a String
    gpu_num: int
    gpu_type: str


# Engine type codes as documented for the version detail (modelarts_03_0047). The docs list the
# MindSpore-GPU engine name but give it no code; 13 is this emulator's choice, which also makes
# clients meet a code outside the documented mapping.
ENGINES: tuple[Engine, ...] = (
    Engine(1, "TensorFlow", 101, "TF-2.1.0-python3.6"),
    Engine(10, "PyTorch", 1001, "PyTorch-1.8.0-python3.7"),
    Engine(2, "MXNet", 201, "MXNet-1.2.1-python3.6"),
    Engine(13, "MindSpore-GPU", 1301, "MindSpore-1.7.0-python3.7"),
    Engine(9, "XGBoost-Sklearn", 901, "XGBoost-0.80-Sklearn-0.18.1-python3.6"),
    Engine(12, "Horovod", 1201, "horovod_0.20.0-pytorch_1.5.0-python3.7"),
    Engine(1, "TensorFlow", 102, "TF-1.13.1-python3.6"),
)
ENGINE_TENSORFLOW, ENGINE_PYTORCH, ENGINE_MXNET, ENGINE_MINDSPORE = 0, 1, 2, 3

SPECS: tuple[Spec, ...] = (
    Spec(1, "modelarts.vm.cpu.2u", "2", "8", 0, ""),
    Spec(2, "modelarts.vm.cpu.8u", "8", "32", 0, ""),
    Spec(5, "modelarts.vm.gpu.p100", "8", "64", 1, "P100"),
    Spec(6, "modelarts.vm.gpu.v100", "8", "64", 1, "Pnt1"),
    Spec(7, "modelarts.vm.gpu.v100.8", "64", "512", 8, "Pnt1"),
    Spec(8, "modelarts.vm.gpu.t4", "8", "32", 1, "T4"),
)
SPEC_CPU_8U, SPEC_GPU_P100, SPEC_GPU_V100, SPEC_GPU_V100_8 = 1, 2, 3, 4

NAME_WORDS: tuple[str, ...] = (
    "alexnet", "bert", "cifar", "coco", "deeplab", "efficientnet", "fasterrcnn", "gpt2", "imagenet",
    "lstm", "mnist", "mobilenet", "ocr", "pointnet", "resnet", "segnet", "squad", "t5", "unet",
    "vgg", "wav2vec", "xgboost", "yolov5", "ctr", "asr", "nmt", "gnn", "vit",
)  # fmt: skip

DESCRIPTIONS: tuple[str, ...] = (
    "",
    "nightly retrain",
    "hyper-parameter sweep",
    "baseline",
    "ablation study",
    "fine-tune on new labels",
    "Training job created by the emulator",
)
