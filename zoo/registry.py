"""The model registry: one `ModelSpec` per name, filled by `register_model`.

Everything `list_models`, `model_info`, the CLI and the docs catalog show is
read from here, so a family becomes visible the moment it registers.

Example:

>>> import zoo
>>> zoo.list_models("resnet*", task="image_classification")[:2]
['resnet18', 'resnet20']
>>> zoo.registry.get_spec("resnet20").input_spec()["shape"]
[32, 32, 3]
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import importlib
import importlib.metadata
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from zoo import errors
from zoo.inputs import InputSpec

# Family packages: importing one registers its models and recipes. They are
# imported the first time the registry is read, so `import zoo` stays cheap.
# A new family in this repository is a folder plus one line here; an
# installed package adds its own through the `zoo.families` entry point group.
FAMILY_PACKAGES = ("zoo.vision", "zoo.nlp", "zoo.speech")
ENTRY_POINT_GROUP = "zoo.families"

_REGISTRY: dict[str, ModelSpec] = {}
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
        input: InputSpec. The kind of input (`zoo.inputs.ImageInput()`,
            `TokenInput(...)`, `AudioInput(...)`), completed from the builder
            arguments by `input_for`; pipelines, exports, tests and bench ask it.
        default_dataset: str or None. The dataset the recipe was tuned on.
        recipe: str or None. Name of the default training recipe.
        dataset_recipes: dict. Dataset name -> recipe tuned for this model on
            it (e.g. `{"digits": "digits_resnet"}`); `recipe_for` reads it.
        tags: tuple of str. Free-form labels (`"cifar"`, `"imagenet"`).
        description: str. One line for listings.
        paper: str. Reference for the architecture.
        tiny_kwargs: dict. Overrides that make the smallest model worth
            testing (small input, few classes); the registry-wide smoke test
            builds every name with them.
        weight_sources: dict. Source name -> `zoo.pretrained.WeightSource`:
            how this model reads weights published in another library's
            layout (`{"timm": ...}`); `get_model(weights=...)` asks them.
    """

    name: str
    family: str
    task: str
    builder: Callable[..., Any]
    fixed_kwargs: Mapping[str, Any]
    default_kwargs: Mapping[str, Any]
    input: InputSpec
    default_dataset: str | None = None
    recipe: str | None = None
    dataset_recipes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tags: tuple[str, ...] = ()
    description: str = ""
    paper: str = ""
    tiny_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    weight_sources: Mapping[str, Any] = dataclasses.field(default_factory=dict)

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

    @property
    def modality(self) -> str:
        """The kind of input (`"image"`, `"text"`, `"audio"`), from `input`."""
        return self.input.kind

    def input_for(self, overrides: Mapping[str, Any] | None = None) -> InputSpec:
        """The input spec of the model built with `overrides`.

        Args:
            overrides: dict or None. Overrides that may change the input.
        """
        return self.input.for_kwargs(self.resolve_kwargs(overrides or {}))

    def input_spec(self, overrides: Mapping[str, Any] | None = None) -> dict:
        """The model input as a JSON-friendly dict (see `InputSpec.to_dict`).

        Args:
            overrides: dict or None. Overrides that may change the input.
        """
        return self.input_for(overrides).to_dict()

    def recipe_for(self, dataset) -> str | None:
        """The recipe tuned for this model on `dataset`, else the default one.

        Args:
            dataset: str or Path. A dataset name or path (its last part counts).
        """
        return self.dataset_recipes.get(Path(str(dataset)).name, self.recipe)


def register_model(
    name: str,
    *,
    family: str,
    task: str,
    input: InputSpec,
    fixed_kwargs: Mapping[str, Any] | None = None,
    default_kwargs: Mapping[str, Any] | None = None,
    default_dataset: str | None = None,
    recipe: str | None = None,
    dataset_recipes: Mapping[str, str] | None = None,
    tags: Iterable[str] = (),
    description: str = "",
    paper: str = "",
    tiny_kwargs: Mapping[str, Any] | None = None,
    weight_sources: Mapping[str, Any] | None = None,
) -> Callable:
    """Registers a builder under `name`; use as a decorator or call on a builder.

    The same builder can be registered under several names with different
    `fixed_kwargs` (e.g. one ResNet builder for every depth).

    Args:
        name: str. The public name. Must not be registered already.
        family, task, input, default_dataset, recipe, dataset_recipes, tags,
        description, paper, tiny_kwargs, weight_sources: see `ModelSpec`.
        fixed_kwargs: dict. Arguments the name pins.
        default_kwargs: dict. Overridable defaults.

    Returns:
        A decorator that records the builder and returns it unchanged.

    Example:

    >>> @zoo.register_model("tiny_cnn", family="cnn", task="image_classification",
    ...                     input=zoo.inputs.ImageInput(),
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
        if not isinstance(input, InputSpec):
            raise errors.InvalidArgumentError(
                f"register_model({name!r}): input must be a zoo.inputs.InputSpec (ImageInput, "
                f"TokenInput, AudioInput or a subclass). Received: input={input!r}."
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
            input=input,
            default_dataset=default_dataset,
            recipe=recipe,
            dataset_recipes=dict(dataset_recipes or {}),
            tags=tuple(tags),
            description=description,
            paper=paper,
            tiny_kwargs=dict(tiny_kwargs or {}),
            weight_sources=dict(weight_sources or {}),
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
    load_families()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise errors.UnknownModelError(name, _REGISTRY)
    return _REGISTRY[name]


def list_models(
    pattern: str | Iterable[str] | None = None,
    *,
    task: str | None = None,
    exclude: str | Iterable[str] | None = None,
) -> list[str]:
    """Lists registered names, sorted, filtered by wildcards and metadata.

    Args:
        pattern: str, list of str or None. fnmatch wildcards to include
            (`"resnet*"`); None includes everything.
        task: str or None. Keep only this task.
        exclude: str, list of str or None. Wildcards to drop.

    Example:

    >>> zoo.list_models("resnet*", exclude="resnet1*")
    ['resnet20', 'resnet32', 'resnet34', 'resnet44', 'resnet50', 'resnet56']
    """
    load_families()
    return filter_names({n: s.task for n, s in _REGISTRY.items()}, pattern, task, exclude)


def filter_names(tasks: Mapping[str, str], pattern=None, task=None, exclude=None) -> list[str]:
    """Names of `tasks` kept by `list_models`' filters, in natural order.

    Args:
        tasks: dict. Model name -> task (from the registry or `zoo.cards`).
        pattern, task, exclude: as for `list_models`.

    Example:

    >>> filter_names({"resnet110": "t", "resnet20": "t", "lstm": "u"}, "resnet*")
    ['resnet20', 'resnet110']
    """
    include = _as_patterns(pattern, "pattern") or ["*"]
    drop = _as_patterns(exclude, "exclude")
    if task is not None and task not in set(tasks.values()):
        raise errors.UnknownNameError("task", task, set(tasks.values()))
    names = [
        name
        for name, name_task in tasks.items()
        if any(fnmatch.fnmatchcase(name, p) for p in include)
        and not any(fnmatch.fnmatchcase(name, p) for p in drop)
        and (task is None or name_task == task)
    ]
    return sorted(names, key=_natural_key)


def only_builtin_families() -> bool:
    """True while the registry would hold exactly zoo's own families.

    Nothing registered yet in this process and no family installed through
    the `zoo.families` entry points: then `zoo.cards` (generated from zoo's
    families) answers listings without importing Keras.
    """
    if _families_loaded or _REGISTRY:
        return False
    return not importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


def list_families() -> dict[str, list[str]]:
    """Each family and its model names, in registration order.

    Example:

    >>> zoo.registry.list_families()["lstm"]
    ['lstm']
    """
    load_families()
    families: dict[str, list[str]] = {}
    for name, spec in _REGISTRY.items():
        families.setdefault(spec.family, []).append(name)
    return families


def load_families() -> None:
    """Imports every family package once (later calls do nothing).

    Importing a family registers its models, its recipes and its Keras
    classes, which `.keras` files name.

    Example:

    >>> zoo.registry.load_families()
    """
    global _families_loaded
    if not _families_loaded:
        _families_loaded = True
        for package in FAMILY_PACKAGES:
            importlib.import_module(package)
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            entry_point.load()


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
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _close_hint(key: str, accepted: list[str]) -> str:
    close = difflib.get_close_matches(key, accepted, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""
