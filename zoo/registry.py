"""The model registry: one `ModelSpec` per name, filled by `register_model`.

Everything `list_models`, `model_info`, the CLI and the docs catalog show is
read from here, so a family becomes visible the moment it registers.

Example:

>>> import zoo
>>> zoo.list_models("resnet*", task="image_classification")[:2]
['resnet18', 'resnet20']
>>> model = zoo.get_model("resnet20", num_classes=10)
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from zoo import errors

# Modules that call `register_model` at import time. They are imported the
# first time the registry is read, so `import zoo` itself stays cheap.
_FAMILY_MODULES = ("zoo.vision.resnet", "zoo.nlp.lstm", "zoo.nlp.transformer", "zoo.nlp.bert")

_REGISTRY: dict[str, "ModelSpec"] = {}
_families_loaded = False


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model name.

    Args:
        name: str. The registered name, e.g. `"resnet20"`.
        family: str. The architecture family, e.g. `"resnet"`.
        task: str. e.g. `"image_classification"`.
        builder: callable. Returns a `keras.Model` from keyword arguments.
        fixed_kwargs: dict. Arguments the name pins (e.g. `depth=20`); they
            cannot be overridden, since they define what the name means.
        default_kwargs: dict. Arguments a user may override.
        modality: str. `"image"`, `"text"` or `"audio"`; tells pipelines
            and exporters what the input is.
        default_dataset: str or None. The dataset the recipe was tuned on.
        recipe: str or None. Name of the default training recipe.
        tags: tuple of str. Free-form labels (`"cifar"`, `"imagenet"`).
        description: str. One line for listings.
        paper: str. Reference for the architecture.
        tiny_kwargs: dict. Overrides that make the smallest model worth
            testing (small input, few classes); the registry-wide smoke test
            builds every name with them.
    """

    name: str
    family: str
    task: str
    builder: Callable[..., Any]
    fixed_kwargs: Mapping[str, Any]
    default_kwargs: Mapping[str, Any]
    modality: str
    default_dataset: str | None = None
    recipe: str | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    paper: str = ""
    tiny_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def accepted_kwargs(self) -> list[str]:
        """Names a user may pass to `get_model(name, **overrides)`."""
        params = inspect.signature(self.builder).parameters
        return sorted(p for p in params if p not in self.fixed_kwargs)

    def resolve_kwargs(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Merges overrides into the defaults, rejecting unknown keywords.

        Args:
            overrides: dict. What the user passed.

        Returns:
            The full keyword arguments for `builder`.
        """
        accepted = self.accepted_kwargs()
        for key, value in overrides.items():
            if key in self.fixed_kwargs:
                raise errors.InvalidArgumentError(
                    f"Model {self.name!r} fixes {key}={self.fixed_kwargs[key]!r}; "
                    f"it cannot be overridden. Received: {key}={value!r}. Pick "
                    f"another registered name instead (zoo.list_models"
                    f"('{self.family}*')). Accepted overrides: {', '.join(accepted)}."
                )
            if key not in accepted:
                hint = _close_hint(key, accepted)
                raise errors.InvalidArgumentError(
                    f"Unknown keyword for model {self.name!r}: {key}={value!r}.{hint} "
                    f"Accepted overrides: {', '.join(accepted)}."
                )
        return {**self.default_kwargs, **overrides, **self.fixed_kwargs}

    def input_spec(self, overrides: Mapping[str, Any] | None = None) -> dict:
        """The model input as pipelines and exporters need it.

        Args:
            overrides: dict or None. Overrides that may change the input.

        Returns:
            A JSON-friendly dict: modality, shape (without batch), dtype and,
            for images, the raw value range the model expects.
        """
        kwargs = self.resolve_kwargs(overrides or {})
        if self.modality == "image":
            return {
                "modality": "image",
                "shape": [int(d) for d in kwargs["input_shape"]],
                "dtype": "float32",
                "value_range": [0.0, 255.0],
            }
        if self.modality == "text" and self.family == "bert":
            return {
                "modality": "text",
                "tokenizer": "wordpiece",
                "input_names": ["token_ids", "segment_ids", "padding_mask"],
                "dtype": "int32",
                "sequence_length": int(kwargs["sequence_length"]),
                "vocabulary_size": int(kwargs["vocabulary_size"]),
                "padding_id": 0,
            }
        if self.modality == "text":
            return {
                "modality": "text",
                "tokenizer": "word",
                "input_name": "token_ids",
                "dtype": "int32",
                "sequence_length": int(kwargs["sequence_length"]),
                "vocabulary_size": int(kwargs["vocabulary_size"]),
                "padding_id": 0,
            }
        return {"modality": self.modality}


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """What `model_info` returns: the spec plus figures computed from it.

    Args:
        name, family, task, description, paper, default_dataset, recipe,
        tags: as in `ModelSpec`.
        input_spec: dict. See `ModelSpec.input_spec`.
        default_kwargs: dict. Every argument the builder receives.
        accepted_overrides: list of str. Keywords `get_model` accepts.
        num_params: int. Trainable parameters at the default arguments.
        weights: list of dict. Pretrained weights from `pretrained/`.
    """

    name: str
    family: str
    task: str
    description: str
    paper: str
    input_spec: dict
    default_kwargs: dict
    accepted_overrides: list
    num_params: int
    default_dataset: str | None
    recipe: str | None
    tags: tuple
    weights: list

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        rows = [
            ("name", self.name),
            ("family", self.family),
            ("task", self.task),
            ("description", self.description),
            ("paper", self.paper),
            ("input", _format_input(self.input_spec)),
            ("parameters", f"{self.num_params:,} trainable"),
            ("defaults", _format_kwargs(self.default_kwargs)),
            ("overrides", ", ".join(self.accepted_overrides)),
            ("dataset", self.default_dataset or "-"),
            ("recipe", self.recipe or "-"),
            ("tags", ", ".join(self.tags) or "-"),
            ("weights", ", ".join(w["name"] for w in self.weights) or "-"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def register_model(
    name: str,
    *,
    family: str,
    task: str,
    modality: str,
    fixed_kwargs: Mapping[str, Any] | None = None,
    default_kwargs: Mapping[str, Any] | None = None,
    default_dataset: str | None = None,
    recipe: str | None = None,
    tags: Iterable[str] = (),
    description: str = "",
    paper: str = "",
    tiny_kwargs: Mapping[str, Any] | None = None,
) -> Callable:
    """Registers a builder under `name`; use as a decorator or call on a builder.

    The same builder can be registered under several names with different
    `fixed_kwargs` (e.g. one ResNet builder for every depth).

    Args:
        name: str. The public name. Must not be registered already.
        family, task, modality, default_dataset, recipe, tags, description,
        paper, tiny_kwargs: see `ModelSpec`.
        fixed_kwargs: dict. Arguments the name pins.
        default_kwargs: dict. Overridable defaults.

    Returns:
        A decorator that records the builder and returns it unchanged.

    Example:

    >>> @zoo.register_model("tiny_cnn", family="cnn", task="image_classification",
    ...                     modality="image",
    ...                     default_kwargs={"num_classes": 10, "input_shape": (28, 28, 1)})
    ... def tiny_cnn(num_classes, input_shape):
    ...     ...
    """

    def decorator(builder: Callable) -> Callable:
        if name in _REGISTRY:
            raise errors.InvalidArgumentError(
                f"Model name {name!r} is already registered (family "
                f"{_REGISTRY[name].family!r}). Pick a new name."
            )
        params = inspect.signature(builder).parameters
        unknown = [
            k
            for k in {**(fixed_kwargs or {}), **(default_kwargs or {}), **(tiny_kwargs or {})}
            if k not in params
        ]
        if unknown:
            raise errors.InvalidArgumentError(
                f"register_model({name!r}): {unknown} are not arguments of "
                f"{builder.__name__}. Accepted: {sorted(params)}."
            )
        _REGISTRY[name] = ModelSpec(
            name=name,
            family=family,
            task=task,
            builder=builder,
            fixed_kwargs=dict(fixed_kwargs or {}),
            default_kwargs=dict(default_kwargs or {}),
            modality=modality,
            default_dataset=default_dataset,
            recipe=recipe,
            tags=tuple(tags),
            description=description,
            paper=paper,
            tiny_kwargs=dict(tiny_kwargs or {}),
        )
        return builder

    return decorator


def get_spec(name: str) -> ModelSpec:
    """Returns the `ModelSpec` registered under `name`.

    Args:
        name: str. A registered model name.

    Example:

    >>> zoo.registry.get_spec("resnet20").family
    'resnet'
    """
    _load_families()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise errors.UnknownModelError(name, _REGISTRY)
    return _REGISTRY[name]


def get_model(name: str, *, weights: str | None = None, **overrides):
    """Builds the model registered under `name` as a plain `keras.Model`.

    Args:
        name: str. A registered name (see `list_models`).
        weights: str or None. A pretrained tag of this model (`"digits"` or
            `"resnet20.digits"`) or a path to a `.weights.h5` file.
        **overrides: builder arguments, e.g. `num_classes=100`,
            `input_shape=(64, 64, 3)`, `dropout=0.2`.

    Returns:
        A `keras.Model` that takes raw images in [0, 255] (for image models)
        and returns class probabilities.

    Example:

    >>> model = zoo.get_model("resnet20", num_classes=100)
    >>> model.output_shape
    (None, 100)
    """
    spec = get_spec(name)
    if weights is not None:
        from zoo import pretrained

        return pretrained.build_with_weights(spec, weights, overrides)
    return spec.builder(**spec.resolve_kwargs(overrides))


def list_models(
    pattern: str | Iterable[str] | None = None,
    *,
    task: str | None = None,
    exclude: str | Iterable[str] | None = None,
    pretrained: bool | None = None,
) -> list[str]:
    """Lists registered names, sorted, filtered by wildcards and metadata.

    Args:
        pattern: str, list of str or None. fnmatch wildcards to include
            (`"resnet*"`); None includes everything.
        task: str or None. Keep only this task.
        exclude: str, list of str or None. Wildcards to drop.
        pretrained: bool or None. True keeps models with pretrained weights,
            False those without.

    Example:

    >>> zoo.list_models("resnet*", exclude="resnet1*")
    ['resnet20', 'resnet32', 'resnet34', 'resnet44', 'resnet50', 'resnet56']
    """
    _load_families()
    include = _as_patterns(pattern, "pattern") or ["*"]
    drop = _as_patterns(exclude, "exclude")
    known_tasks = {s.task for s in _REGISTRY.values()}
    if task is not None and task not in known_tasks:
        raise errors.UnknownNameError("task", task, known_tasks)
    if pretrained not in (None, True, False):
        raise errors.InvalidArgumentError(
            f"pretrained must be True, False or None. Received: pretrained={pretrained!r}."
        )
    weighted = _names_with_weights() if pretrained is not None else set()
    names = []
    for name, spec in _REGISTRY.items():
        if not any(fnmatch.fnmatchcase(name, p) for p in include):
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in drop):
            continue
        if task is not None and spec.task != task:
            continue
        if pretrained is not None and (name in weighted) != pretrained:
            continue
        names.append(name)
    return sorted(names, key=_natural_key)


def model_info(name: str) -> ModelCard:
    """Returns the card of a registered model.

    Builds the model once at its default arguments to count parameters.

    Args:
        name: str. A registered name.

    Example:

    >>> card = zoo.model_info("resnet20")
    >>> card.num_params
    269722
    """
    spec = get_spec(name)
    from zoo import pretrained

    return ModelCard(
        name=spec.name,
        family=spec.family,
        task=spec.task,
        description=spec.description,
        paper=spec.paper,
        input_spec=spec.input_spec(),
        default_kwargs=_jsonable(spec.resolve_kwargs({})),
        accepted_overrides=spec.accepted_kwargs(),
        num_params=_count_params(name),
        default_dataset=spec.default_dataset,
        recipe=spec.recipe,
        tags=spec.tags,
        weights=[w.to_dict() for w in pretrained.weights_for(name)],
    )


@functools.lru_cache(maxsize=None)
def _count_params(name: str) -> int:
    import keras

    model = get_model(name)
    count = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    keras.backend.clear_session(free_memory=True)
    return count


def _load_families() -> None:
    global _families_loaded
    if not _families_loaded:
        _families_loaded = True
        for module in _FAMILY_MODULES:
            importlib.import_module(module)


def _names_with_weights() -> set[str]:
    from zoo import pretrained

    return {w.model for w in pretrained.all_weights()}


def _as_patterns(value, argname: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        values = list(value)
    except TypeError:
        values = [value]  # reported below
    if not all(isinstance(v, str) for v in values):
        raise errors.InvalidArgumentError(
            f"{argname} must be a string or a list of strings. Received: {argname}={value!r}."
        )
    return values


def _natural_key(name: str):
    # "resnet20" < "resnet110": compare digit runs as numbers.
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _close_hint(key: str, accepted: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, accepted, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _jsonable(kwargs: Mapping[str, Any]) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}


def _format_input(spec: dict) -> str:
    if spec.get("modality") == "image":
        lo, hi = spec["value_range"]
        return f"image {tuple(spec['shape'])} {spec['dtype']} in [{lo:g}, {hi:g}]"
    return str(spec)


def _format_kwargs(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
