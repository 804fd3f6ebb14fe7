"""Loading weights into a model built with other arguments: a new head, other channels.

Transfer learning starts from weights trained for another task. timm's rule
(`timm.models._builder.load_pretrained`) is followed: every weight whose
shape matches is loaded; the classification head is left freshly
initialised when the number of classes differs, and said so; the first
convolution is adapted when the number of input channels differs (timm's
`adapt_input_conv`), and a text encoder built for another sequence length
gets the trained rows of the position table (a longer one keeps its fresh
rows beyond them). Any other shape difference is an error naming the
variable and both shapes. A different spatial input size
needs nothing: a convolutional network's weights do not depend on it.

The weights are first loaded into a model built with the arguments they were
trained with (so the file is checked as a whole by Keras), then copied into
the requested model variable by variable. Both models come from the same
builder, so their variables pair up in order; their paths must agree too
(a pre-activation ResNet has as many variables of the same shapes as a v1
one, in other places).

Example:

>>> model = zoo.get_model("resnet20", weights="digits", num_classes=2,
...                       input_shape=(16, 16, 3))
>>> model.transfer_report.skipped
('logits/kernel', 'logits/bias')
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings

import numpy as np

from zoo.errors import WeightsError

# The layer of a zoo (and keras-hub) classifier whose weights depend on the
# number of classes (zoo.models.Classifier names it so; BertTextClassifier too).
HEAD_LAYERS = ("logits",)


@dataclasses.dataclass(frozen=True)
class TransferReport:
    """What loading weights into a differently built model did.

    `get_model(..., weights=...)` stores it on the model as
    `model.transfer_report` when the model's arguments differ from the
    weights' (and warns when something was skipped or adapted).

    Args:
        weights: str. The weights' name (`"resnet20.digits"`) or file.
        loaded: tuple of str. Variable paths copied unchanged.
        skipped: tuple of str. Head variables left freshly initialised.
        adapted: tuple of str. Variables converted (first convolution).
        changed: dict. Argument -> `(weights' value, model's value)`.
    """

    weights: str
    loaded: tuple
    skipped: tuple
    adapted: tuple
    changed: dict

    def message(self) -> str:
        """One paragraph for a warning or a log line."""
        parts = [f"Weights {self.weights!r} loaded with changed arguments "]
        parts.append(", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in self.changed.items()))
        parts.append(f". Loaded {len(self.loaded)} variables")
        if self.skipped:
            parts.append(f"; skipped (re-initialised): {', '.join(self.skipped)}")
        if self.adapted:
            parts.append(f"; adapted (input channels, position table): {', '.join(self.adapted)}")
        return "".join(parts) + "."


def adapt_input_conv(kernel, channels: int):
    """A conv kernel (`(..., in, out)`, Keras layout) adapted to `channels` inputs.

    As timm's `adapt_input_conv`: to one channel, the kernel is summed over
    its input channels (a gray image then gives the response the model gave
    to the same gray image in every channel); to more channels, it is tiled
    and scaled by `in / channels`, so the response to an image whose
    channels are equal stays the same.

    Args:
        kernel: array. Convolution kernel, input channels on axis -2.
        channels: int. The new number of input channels.

    Example:

    >>> adapt_input_conv(np.ones((3, 3, 3, 16)), 1).shape
    (3, 3, 1, 16)
    """
    kernel = np.asarray(kernel)
    old = kernel.shape[-2]
    if channels == 1:
        return kernel.sum(axis=-2, keepdims=True)
    repeats = [1] * kernel.ndim
    repeats[-2] = math.ceil(channels / old)
    tiled = np.tile(kernel, repeats)[..., :channels, :]
    return tiled * (old / channels)


def normalization_for(source, channels: int) -> dict:
    """`mean`/`std` arguments that carry `source`'s input normalization to `channels`.

    An image classifier normalizes per channel in its graph; the default
    statistics depend on the channel count (ImageNet's for 3, 0.5 else), so
    a 1-channel digits model rebuilt for 3 channels would see other
    numbers. One channel's statistics are repeated; several are averaged to
    one.

    Args:
        source: keras.Model. The model the weights were trained in.
        channels: int. The new number of input channels.

    Returns:
        `{"mean": [...], "std": [...]}`, or `{}` when `source` has no
        per-channel statistics.
    """
    mean, std = getattr(source, "mean", None), getattr(source, "std", None)
    if mean is None or std is None:
        return {}
    mean, std = list(mean), list(std)
    if len(mean) == 1:
        return {"mean": mean * channels, "std": std * channels}
    if channels == 1:
        return {"mean": [float(np.mean(mean))], "std": [float(np.mean(std))]}
    return {}  # e.g. RGB -> 4 channels: no faithful choice; the defaults stand


def build_adapted(spec, path, trained_kwargs: dict, overrides: dict, *, name: str):
    """Builds `spec`'s model with `overrides` and loads weights trained with other arguments.

    Args:
        spec: ModelSpec. The registered model.
        path: str or Path. The weights file (`.weights.h5`).
        trained_kwargs: dict. The builder arguments the weights were trained with.
        overrides: dict. The user's builder arguments; they win.
        name: str. The weights' name, for messages.

    Returns:
        The model, with `model.transfer_report` (a `TransferReport`).

    Example:

    >>> build_adapted(spec, "resnet20.digits.weights.h5", {"num_classes": 10},
    ...               {"num_classes": 2}, name="resnet20.digits")
    """
    source = spec.builder(**spec.resolve_kwargs(trained_kwargs))
    try:
        source.load_weights(str(path))
    except Exception as err:  # h5py and Keras raise many types for a bad file
        raise WeightsError(f"Cannot load weights {str(path)!r} into {spec.name!r}: {err}") from err
    return adapt_from(spec, source, trained_kwargs, overrides, name=name)


def adapt_from(spec, source, trained_kwargs: dict, overrides: dict, *, name: str):
    """Builds `spec`'s model with `overrides` and copies what fits from `source`.

    Args:
        spec: ModelSpec. The registered model.
        source: keras.Model. Built with `trained_kwargs`, weights loaded
            (from a zoo file, or converted from another library's layout).
        trained_kwargs: dict. The builder arguments of `source`.
        overrides: dict. The user's builder arguments; they win.
        name: str. The weights' name, for messages.

    Returns:
        The model, with `model.transfer_report` (a `TransferReport`).

    Example:

    >>> imagenet = zoo.get_model("resnet50", weights="a1_in1k")
    >>> model = adapt_from(spec, imagenet, {"num_classes": 1000}, {"num_classes": 10},
    ...                    name="resnet50.a1_in1k")
    """
    trained = spec.resolve_kwargs(trained_kwargs)
    kwargs = {**trained_kwargs, **overrides}
    old_channels = _channels(trained.get("input_shape"))
    new_channels = _channels(spec.resolve_kwargs(kwargs).get("input_shape"))
    if old_channels != new_channels and not {"mean", "std"} & set(overrides):
        carried = normalization_for(source, new_channels)
        kwargs.update({k: v for k, v in carried.items() if k in spec.accepted_kwargs()})
    target = spec.builder(**spec.resolve_kwargs(kwargs))
    wanted = spec.resolve_kwargs(kwargs)
    changed = {
        key: (trained.get(key), value)
        for key, value in wanted.items()
        if _plain(trained.get(key)) != _plain(value)
    }
    target.transfer_report = transfer_weights(source, target, name=name, changed=changed)
    return target


def transfer_weights(source, target, *, name: str, changed: dict) -> TransferReport:
    """Copies `source`'s weights into `target`, adapting the head and input conv.

    Args:
        source: keras.Model. Holds the trained weights.
        target: keras.Model. Built by the same builder with other arguments.
        name: str. The weights' name, for messages.
        changed: dict. Argument -> `(weights' value, model's value)`.

    Returns:
        A `TransferReport`; also warns (`UserWarning`) when a variable was
        skipped or adapted.

    Raises:
        WeightsError: the two models have different variables, or a
            variable's shape differs for another reason than the head or the
            input channels.
    """
    sources, targets = source.weights, target.weights
    if len(sources) != len(targets):
        raise WeightsError(
            f"Weights {name!r} hold {len(sources)} variables but the model built with "
            f"{_describe(changed)} has {len(targets)}: these arguments change the "
            f"architecture. Drop them, or train new weights."
        )
    head = {id(v) for layer in _head_layers(target) for v in layer.weights}
    first_kernel = next((v for v in targets if len(v.shape) >= 3), None)
    loaded, skipped, adapted = [], [], []
    for src, dst in zip(sources, targets):
        if _unnumbered(src.path) != _unnumbered(dst.path):
            raise WeightsError(
                f"Weights {name!r} do not pair with the model built with {_describe(changed)}: "
                f"variable {src.path!r} meets {dst.path!r}. Drop the changed arguments."
            )
        old, new = tuple(src.shape), tuple(dst.shape)
        if old == new:
            dst.assign(src.value)
            loaded.append(dst.path)
        elif id(dst) in head:
            skipped.append(dst.path)  # the fresh initialisation of the new head stays
        elif dst is first_kernel and old[:-2] == new[:-2] and old[-1] == new[-1]:
            dst.assign(adapt_input_conv(np.asarray(src.value), new[-2]))
            adapted.append(dst.path)
        elif _is_position_table(dst.path) and new[1:] == old[1:]:
            dst.assign(_position_rows(np.asarray(src.value), np.asarray(dst.value)))
            adapted.append(dst.path)
        else:
            raise WeightsError(
                f"Cannot load weights {name!r} into the model built with {_describe(changed)}: "
                f"variable {dst.path!r} has shape {new} in the model but {old} in the "
                f"weights. Only the head (num_classes), the first convolution's input "
                f"channels and the position table (sequence_length) are adapted; drop the "
                f"other changed arguments."
            )
    report = TransferReport(name, tuple(loaded), tuple(skipped), tuple(adapted), dict(changed))
    if skipped or adapted:
        warnings.warn(report.message(), UserWarning, stacklevel=2)
    return report


def _position_rows(trained, fresh):
    """A position table of `fresh`'s length from a `trained` one of another length.

    Positions 0..n-1 mean the same in both: a shorter table keeps the first
    rows; a longer one takes all trained rows and keeps its own fresh
    initialisation for the positions the weights never saw.
    """
    if len(fresh) <= len(trained):
        return trained[: len(fresh)]
    return np.concatenate([trained, fresh[len(trained) :]])


def _is_position_table(path: str) -> bool:
    # keras-hub's PositionEmbedding (zoo's Transformer encoders, BERT) names it so.
    return path.endswith("position_embedding/embeddings")


def _unnumbered(path: str) -> str:
    # Keras numbers auto-named layers per session (`dense_3`): two builds of
    # one model differ there and only there.
    return re.sub(r"_\d+(?=/|$)", "", path)


def _channels(input_shape):
    return None if not input_shape else int(list(input_shape)[-1])


def _plain(value):
    return list(value) if isinstance(value, (tuple, list)) else value


def _head_layers(model):
    for layer_name in HEAD_LAYERS:
        try:
            yield model.get_layer(layer_name)
        except ValueError:  # Keras' answer for an unknown layer name
            continue


def _describe(changed: dict) -> str:
    return ", ".join(f"{k}={b!r} (weights: {a!r})" for k, (a, b) in changed.items()) or "them"
