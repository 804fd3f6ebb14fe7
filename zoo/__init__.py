"""zoo: a Keras 3 / TensorFlow model zoo.

Pick a model by name, train it on its paired tensorflow-datasets pipeline with
a tested recipe (on one CPU or many GPUs), and export it as a verified
SavedModel or ONNX file.

Example:

>>> import zoo
>>> model = zoo.get_model("resnet20", num_classes=10)
>>> train, val = zoo.get_dataset("digits", model="resnet20", batch_size=64)
>>> recipe = zoo.get_recipe("resnet20")
>>> recipe.compile(model, steps_per_epoch=len(train))
>>> model.fit(train, validation_data=val, epochs=2)
>>> images, _ = next(iter(val))
>>> print(zoo.export(model, "out/resnet20", inputs=images))
>>> model.save("resnet20.keras")
>>> model = zoo.load_model("resnet20.keras")   # in this or a fresh process

Importing zoo is cheap: TensorFlow and the export runtimes are imported by
the first call that needs them (attributes below resolve lazily).
"""

from __future__ import annotations

import importlib
import importlib.util

from zoo.errors import (
    AudioFileError,
    DataFileError,
    DatasetNotAvailableError,
    ExportError,
    ExportVerificationError,
    InvalidArgumentError,
    ModelFileError,
    RunDirError,
    StrategyError,
    TrainingDivergedError,
    UnknownDatasetError,
    UnknownModelError,
    UnknownNameError,
    UnknownRecipeError,
    UnsafeModelError,
    WeightsError,
    ZooError,
)
from zoo.factory import get_model, list_models, model_info
from zoo.registry import ModelSpec, register_model

__version__ = "0.1.0"

# name -> "module:attribute"; resolved on first access (PEP 562).
_LAZY = {
    "load_model": "zoo.saving:load_model",
    "get_dataset": "zoo.data:get_dataset",
    "dataset_info": "zoo.data:dataset_info",
    "list_datasets": "zoo.data:list_datasets",
    "pretrained_tokenizer": "zoo.data:pretrained_tokenizer",
    "get_recipe": "zoo.recipes:get_recipe",
    "list_recipes": "zoo.recipes:list_recipes",
    "Recipe": "zoo.recipes:Recipe",
    "export": "zoo.exporting:export",
    "train": "zoo.runs:train",
    "pretrain": "zoo.runs:pretrain",
    "evaluate": "zoo.runs:evaluate",
    "distribute": "zoo.distribute",
}

__all__ = [
    "AudioFileError",
    "DataFileError",
    "DatasetNotAvailableError",
    "ExportError",
    "ExportVerificationError",
    "InvalidArgumentError",
    "ModelFileError",
    "ModelSpec",
    "RunDirError",
    "TrainingDivergedError",
    "StrategyError",
    "UnknownDatasetError",
    "UnknownModelError",
    "UnknownNameError",
    "UnknownRecipeError",
    "UnsafeModelError",
    "WeightsError",
    "ZooError",
    "get_model",
    "list_models",
    "model_info",
    "register_model",
    *_LAZY,
]


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None and not name.startswith("_") and importlib.util.find_spec(f"zoo.{name}"):
        target = f"zoo.{name}"  # a submodule: `zoo.data.get_tokenizer` works after `import zoo`
    if target is None:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attr) if attr else module
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
