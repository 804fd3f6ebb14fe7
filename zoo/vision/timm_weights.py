"""ImageNet ResNet weights from timm's safetensors checkpoints.

timm publishes its ResNets on the Hugging Face Hub as `model.safetensors`
plus `config.json` (e.g. `timm/resnet50.a1_in1k`). Their architecture is
zoo's ResNet v1.5 (torchvision layout: stride on the 3x3 convolution,
projection shortcuts, no convolution bias), so converting is renaming and
transposing:

    timm (PyTorch)                          zoo (Keras)
    conv1.weight (O, I, 7, 7)               stem_conv kernel (7, 7, I, O)
    bn1.{weight, bias, running_mean/var}    stem_bn {gamma, beta, moving_mean/variance}
    layer{s}.{b}.conv{i} / bn{i}            stage{s}_block{b+1}_{i}_conv / _bn
    layer{s}.{b}.downsample.0 / .1          stage{s}_block{b+1}_shortcut_conv / _bn
    fc.weight (C, F), fc.bias               logits kernel (F, C), bias

`num_batches_tracked` counters have no Keras counterpart and are skipped.
timm's preprocessing (`pretrained_cfg` mean/std, input size) becomes the
model's in-graph normalization and input shape.

Example:

>>> model = zoo.get_model("resnet50", weights="a1_in1k")          # Hub, cached
>>> model = zoo.get_model("resnet18", weights="/data/resnet18.a1_in1k")  # a local folder
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from zoo import pretrained
from zoo.errors import WeightsError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
# Part of the converted-cache key: bump it when the conversion changes.
CONVERTER_VERSION = 1
SKIPPED_SUFFIXES = (".num_batches_tracked",)
_BLOCK = re.compile(r"stage(\d+)_block(\d+)_(\d+|shortcut)_(conv|bn)")


def timm_prefix(layer_name: str) -> str | None:
    """timm's module name for a zoo ResNet layer, or None for layers without one.

    Args:
        layer_name: str. A layer of zoo's ImageNet ResNet (`stage2_block1_shortcut_conv`).

    Example:

    >>> timm_prefix("stage2_block1_shortcut_bn")
    'layer2.0.downsample.1'
    >>> timm_prefix("stage1_block2_3_conv")
    'layer1.1.conv3'
    """
    fixed = {"stem_conv": "conv1", "stem_bn": "bn1", "logits": "fc"}
    if layer_name in fixed:
        return fixed[layer_name]
    match = _BLOCK.fullmatch(layer_name)
    if match is None:
        return None
    stage, block, part, kind = match.groups()
    prefix = f"layer{stage}.{int(block) - 1}"
    if part == "shortcut":
        return f"{prefix}.downsample.{0 if kind == 'conv' else 1}"
    return f"{prefix}.{kind}{part}"


def conversion_plan(model) -> list:
    """`(keras variable, timm tensor name, transform)` for every weight of `model`.

    Args:
        model: keras.Model. A zoo ImageNet ResNet classifier (v1, not preact).

    Raises:
        WeightsError: a weighted layer has no timm counterpart (a model
            this converter does not cover, e.g. `preact=True`).
    """
    transpose_conv = lambda x: np.transpose(x, (2, 3, 1, 0))  # noqa: E731  OIHW -> HWIO
    plan = []
    layers = [*model.backbone.layers, model.get_layer("logits")]
    for layer in layers:
        if not layer.weights:
            continue
        prefix = timm_prefix(layer.name)
        if prefix is None:
            raise WeightsError(
                f"Layer {layer.name!r} of {model.name!r} has no timm counterpart; timm "
                f"weights fit zoo's ImageNet ResNet v1.5 (preact=False). Received: {model.name!r}"
            )
        if layer.name == "logits":
            plan += [(layer.kernel, "fc.weight", np.transpose), (layer.bias, "fc.bias", None)]
        elif layer.name.endswith("_conv"):
            plan.append((layer.kernel, f"{prefix}.weight", transpose_conv))
        else:
            for variable, key in (
                (layer.gamma, "weight"),
                (layer.beta, "bias"),
                (layer.moving_mean, "running_mean"),
                (layer.moving_variance, "running_var"),
            ):
                plan.append((variable, f"{prefix}.{key}", None))
    return plan


def copy_timm_tensors(model, tensors: dict, source: str = "checkpoint") -> None:
    """Assigns timm `tensors` to `model`, after checking names and shapes.

    Nothing is assigned unless every variable has its tensor, every tensor
    (but `num_batches_tracked`) a variable, and every shape matches.

    Args:
        model: keras.Model. A zoo ImageNet ResNet classifier.
        tensors: dict. timm tensor name -> numpy array (a timm state dict).
        source: str. Names the checkpoint in messages.

    Raises:
        WeightsError: missing, unexpected or mis-shaped tensors (listed).
    """
    plan = conversion_plan(model)
    used = {key for _, key, _ in plan}
    missing = sorted(used - set(tensors))
    unexpected = sorted(k for k in tensors if k not in used and not k.endswith(SKIPPED_SUFFIXES))
    values, mismatched = [], []
    for variable, key, transform in plan:
        if key not in tensors:
            continue
        value = np.asarray(tensors[key])
        value = transform(value) if transform is not None else value
        if tuple(value.shape) != tuple(variable.shape):
            mismatched.append(f"{key} {tuple(value.shape)} -> {variable.path} {variable.shape}")
        values.append((variable, value))
    if missing or unexpected or mismatched:
        raise WeightsError(
            f"The timm checkpoint {source} does not fit {model.name!r}: "
            f"missing {_few(missing)}, unexpected {_few(unexpected)}, shape mismatches "
            f"{_few(mismatched)}. Pass the checkpoint of the same architecture "
            f"(config.json 'architecture' = {model.name!r}) and 3 input channels."
        )
    for variable, value in values:
        variable.assign(value.astype(variable.dtype))


def read_config(location) -> tuple[Path, dict]:
    """`(model.safetensors path, config.json dict or {})` of a timm folder or file.

    Args:
        location: str or Path. A folder with `model.safetensors` (and usually
            `config.json`), or the `.safetensors` file itself (a
            `config.json` beside it is read if present).
    """
    location = Path(location)
    path = location / WEIGHTS_FILE if location.is_dir() else location
    if not path.is_file():
        raise WeightsError(
            f"No timm checkpoint at {str(path)!r}. Received: weights={str(location)!r}; pass a "
            f"folder holding {WEIGHTS_FILE} and {CONFIG_FILE}, or the .safetensors file."
        )
    config_path = path.with_name(CONFIG_FILE)
    if not config_path.is_file():
        return path, {}
    try:
        return path, json.loads(config_path.read_text())
    except ValueError as err:
        raise WeightsError(f"Cannot read timm config {str(config_path)!r}: {err}") from err


def builder_kwargs(config: dict, path: Path) -> dict:
    """The builder arguments timm's config asks for: classes, input size, mean/std.

    Args:
        config: dict. timm's `config.json` (may be empty).
        path: Path. The checkpoint, read for the class count without a config.
    """
    try:
        return _builder_kwargs(config, path)
    except Exception as err:
        # safetensors raises its own error types for a bad header; a config.json
        # with odd values fails in int()/float()/unpacking. Either way the user
        # gets the file and the reason, not a library traceback.
        raise WeightsError(
            f"Cannot read the timm checkpoint {str(path)!r} (config {config!r:.200}): "
            f"{type(err).__name__}: {err}. Accepted: a timm folder (config.json + "
            f"model.safetensors) or a .safetensors file as timm publishes them."
        ) from err


def _builder_kwargs(config: dict, path: Path) -> dict:
    kwargs = {}
    if "num_classes" in config:
        kwargs["num_classes"] = int(config["num_classes"])
    else:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            if "fc.weight" in handle.keys():
                kwargs["num_classes"] = int(handle.get_slice("fc.weight").get_shape()[0])
    cfg = config.get("pretrained_cfg") or {}
    if "input_size" in cfg:
        channels, height, width = cfg["input_size"]
        kwargs["input_shape"] = [int(height), int(width), int(channels)]
    for key in ("mean", "std"):
        if key in cfg:
            kwargs[key] = [float(v) for v in cfg[key]]
    return kwargs


class TimmResNet(pretrained.WeightSource):
    """Reads timm ResNet checkpoints into zoo's ImageNet ResNets (`weight_sources["timm"]`).

    Example:

    >>> register_model("resnet50", ..., weight_sources={"timm": TimmResNet()})
    """

    name = "timm"
    accepts = "a timm folder (config.json + model.safetensors) or a .safetensors file"

    def recognizes(self, weights):
        path = Path(weights)
        if path.is_dir():
            return (path / WEIGHTS_FILE).is_file()
        return path.suffix == ".safetensors" and path.is_file()

    def build(self, spec, location, overrides, entry):
        path, config = read_config(location)
        if entry is not None:
            name, weights_kwargs = entry.name, dict(entry.kwargs)
        else:
            name, weights_kwargs = str(location), builder_kwargs(config, path)
            architecture = config.get("architecture", spec.name)
            if architecture != spec.name:
                raise WeightsError(
                    f"The timm checkpoint {name!r} is a {architecture!r}, not a {spec.name!r}. "
                    f"Load it with zoo.get_model({architecture!r}, weights=...)."
                )
        # Convolutions take any image size; another head or channel count is
        # a transfer from the model the weights fit (zoo.transfer, as timm does).
        same_head = {k: v for k, v in overrides.items() if k not in ("num_classes", "input_shape")}
        kwargs = {**weights_kwargs, **same_head}
        if "input_shape" in overrides and _channels(overrides["input_shape"]) == _channels(
            weights_kwargs.get("input_shape")
        ):
            kwargs["input_shape"] = overrides["input_shape"]
        model = spec.builder(**spec.resolve_kwargs(kwargs))
        key = f"{spec.name}-timm{CONVERTER_VERSION}-{pretrained.sha256_of(path)[:16]}"
        pretrained.load_or_convert(
            model, key, lambda m: copy_timm_tensors(m, _read_tensors(path), repr(name))
        )
        if _listed(spec.resolve_kwargs(kwargs)) == _listed(
            spec.resolve_kwargs({**kwargs, **overrides})
        ):
            return model
        from zoo import transfer

        return transfer.adapt_from(spec, model, kwargs, overrides, name=name)


def _listed(kwargs: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}


def _channels(input_shape) -> int | None:
    return None if input_shape is None else list(input_shape)[-1]


def _read_tensors(path: Path) -> dict:
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as err:  # safetensors raises its own error types for bad files
        raise WeightsError(f"Cannot read the safetensors file {str(path)!r}: {err}") from err


def _few(items, limit=5) -> str:
    if not items:
        return "none"
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more
